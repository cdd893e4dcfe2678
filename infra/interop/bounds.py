"""The limits every imported file is held to, and the checks that name what broke them.

Why: a file can hold anything. Without bounds, a JSON document opening a hundred thousand
arrays makes the streaming parser build ever longer paths (minutes, not an error), a value
nested a few hundred deep overflows the recursion of the libraries downstream (orjson refuses to
write past 255 levels, ocdsmerge recurses), and a spreadsheet cell past the csv module's limit
raises a bare `_csv.Error`. Each limit is far above what a real publisher writes, and each
refusal names the file, the record and the field, in one line.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MAX_DEPTH = 64  # JSON nesting: OCDS releases need about 8, native events 4
MAX_CELL = 131_072  # characters in a CSV cell (the csv module's own default limit)
MAX_TEXT = 100_000  # characters in one JSON string of a source record
MAX_LINE = 1 << 22  # bytes in one line of a native or JSON Lines file (4 MiB)
MAX_INT = 1 << 63  # orjson writes integers of 64 bits at most
JSON_BUFFER = 4096  # ijson reads this much at a time: a deep document is caught within it


def one_line(text: str, limit: int = 200) -> str:
    """A library's message (yajl's spans three lines with a caret) as one short line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def visible(text: str) -> str:
    """Text for a one-line message: control, format and line-separator characters (a NUL, an
    escape sequence, a right-to-left override, a CR in an id) written as `\\x..` escapes, so
    what a file holds cannot break the line or repaint the terminal."""
    if text.isprintable():
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
        else c
        for c in text
    )


def json_problem(value: Any, prefix: str = "") -> tuple[str, str] | None:
    found = _json_problem(value, prefix)
    return None if found is None else (shorten(found[0]), found[1])


def shorten(path: str, limit: int = 80) -> str:
    """A long field path cut in the middle, so a refusal stays one readable line."""
    return path if len(path) <= limit else path[: limit // 2] + "..." + path[-(limit // 2) :]


def _json_problem(value: Any, prefix: str = "") -> tuple[str, str] | None:
    """(field path, what is wrong) of the first part of a parsed JSON value beyond the bounds:
    nesting deeper than `MAX_DEPTH`, a string longer than `MAX_TEXT`, an integer orjson cannot
    write; None when it is within them. Iterative, so a deep value cannot overflow it."""
    stack: list[tuple[Any, str, int]] = [(value, prefix, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                return (
                    path or "(the record)",
                    f"nested deeper than {MAX_DEPTH} levels; expected at most {MAX_DEPTH}",
                )
            for key, child in item.items():
                if isinstance(key, str) and len(key) > MAX_TEXT:
                    return path or "(the record)", f"a key longer than {MAX_TEXT:,} characters"
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(item, list):
            if depth >= MAX_DEPTH:
                return (
                    path or "(the record)",
                    f"nested deeper than {MAX_DEPTH} levels; expected at most {MAX_DEPTH}",
                )
            for i, child in enumerate(item):
                stack.append((child, f"{path}[{i}]", depth + 1))
        elif isinstance(item, str):
            if len(item) > MAX_TEXT:
                return path, f"is {len(item):,} characters long; expected at most {MAX_TEXT:,}"
        elif isinstance(item, int) and not -MAX_INT <= item < 2 * MAX_INT:
            return path, "is an integer beyond 64 bits; expected a number of at most 19 digits"
    return None


def readable(prefix: str, limit: int = 80) -> str:
    """An ijson path (`releases.item.awards.item`) as a field path (`releases[].awards[]`),
    shortened in the middle when long."""
    path = prefix.replace(".item", "[]")
    if path.startswith("item"):
        path = "[]" + path[4:]
    return shorten(path, limit) or "(top)"


def too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels; expected at most {MAX_DEPTH}"


def parse_events(stream: Any, **kwargs: Any) -> Iterator[tuple[str, str, Any]]:
    """`ijson.parse`, reading small buffers and stopping at `MAX_DEPTH` (raises `TooDeep`):
    the C parser builds every event of a buffer (with its full path) before handing one over,
    so a buffer of `[`s only costs what its own nesting costs."""
    import ijson

    depth = 0
    for prefix, event, value in ijson.parse(stream, buf_size=JSON_BUFFER, **kwargs):
        if event == "start_map" or event == "start_array":
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep(prefix)
        elif event == "end_map" or event == "end_array":
            depth -= 1
        yield prefix, event, value


class TooDeep(Exception):
    """A JSON document nested beyond `MAX_DEPTH`, at `path`."""

    def __init__(self, path: str):
        super().__init__(too_deep())
        self.path = readable(path)


@contextmanager
def wide_csv_cells() -> Iterator[None]:
    """Let the csv module read cells up to 8 x `MAX_CELL`, so a long cell is refused by
    `cell_problem` naming its column rather than by the module naming nothing; restored
    after (the limit is the process's)."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, 8 * MAX_CELL))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def cell_problem(cells: list[str], header: list[str]) -> tuple[str, str] | None:
    """(column, what is wrong) of the first cell longer than `MAX_CELL` or holding a NUL
    (never text: a file in another encoding, or damaged), or None."""
    for i, cell in enumerate(cells):
        column = header[i] if i < len(header) and header[i] else f"column {i + 1}"
        if len(cell) > MAX_CELL:
            return column, f"is {len(cell):,} characters long; expected at most {MAX_CELL:,}"
        if "\x00" in cell:
            return column, (
                "holds a NUL character; expected text (is the file UTF-16 without a "
                "byte-order mark, or damaged?)"
            )
    return None


def csv_refusal(err: csv.Error) -> str:
    """The csv module's complaint about a row as what the user should fix."""
    text = one_line(str(err))
    if "field larger than field limit" in text:
        return f"a cell longer than {8 * MAX_CELL:,} characters; expected at most {MAX_CELL:,}"
    return f"cannot be read as CSV ({text})"
