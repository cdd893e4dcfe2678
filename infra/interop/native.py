"""The native JSON Lines format (FORMAT.md): import all-or-nothing, export in recorded order."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from domain.catalogue import LedgerEvent, parse_event
from domain.errors import InvalidFieldError, LedgerError
from domain.ledger import Ledger
from domain.recording import RecordReport

Progress = Callable[[int], None]  # called with how many lines were just done


class ImportRefused(LedgerError):
    """An import that stored nothing, naming the file, line and what was wrong."""

    def __init__(self, path: str, line: int, message: str, event_id: str | None = None):
        self.path, self.line = path, line
        where = f"{path}:{line}"
        if event_id:
            where += f" (event '{event_id}')"
        super().__init__(f"{where}: {message}; nothing was imported")


@contextmanager
def paused_gc() -> Iterator[None]:
    """An import allocates millions of small objects that all live until it ends: the cyclic
    collector would scan them again and again for nothing (a third of the time, measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class ParsedLine:
    line: int
    event: LedgerEvent


def read_events(path: Path, *, progress: Progress | None = None) -> list[ParsedLine]:
    """Parse every line of a native file, or refuse naming the first bad line."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise LedgerError(f"{name}: cannot open ({err.strerror})") from None
    parsed: list[ParsedLine] = []
    with handle, paused_gc():
        for number, raw in enumerate(handle, start=1):
            if progress:
                progress(1)
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                raise ImportRefused(
                    name, number, f"malformed JSON ({err}); expected one JSON object per line"
                ) from None
            try:
                parsed.append(ParsedLine(number, parse_event(obj)))
            except InvalidFieldError as err:
                event_id = obj.get("event_id") if isinstance(obj, dict) else None
                raise ImportRefused(
                    name, number, str(err), event_id if isinstance(event_id, str) else None
                ) from None
    return parsed


def import_events(
    ledger: Ledger, path: Path, lines: list[ParsedLine], *, progress: Progress | None = None
) -> RecordReport:
    """Check every event against the ledger and each other, then store all in one transaction."""
    with paused_gc():
        uow = ledger.begin()
        uow.prefetch(p.event for p in lines)
        for p in lines:
            try:
                uow.add(p.event)
            except LedgerError as err:
                raise ImportRefused(str(path), p.line, str(err), p.event.event_id) from None
            if progress:
                progress(1)
        return ledger.commit(uow)


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def export_lines(ledger: Ledger) -> Iterator[bytes]:
    """Every native event, in the order the ledger recorded it, one JSON object a line."""
    for fact in ledger.facts():
        yield orjson.dumps(fact.event.to_record()) + b"\n"


def write_export(lines: Iterable[bytes], out: IO[bytes]) -> int:
    n = 0
    for line in lines:
        out.write(line)
        n += 1
    return n
