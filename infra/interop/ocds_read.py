"""Streaming readers of OCDS files: release packages, record packages, releases and records, as
one JSON document (possibly huge, possibly several concatenated) or JSON Lines.

Why streamed: publishers' bulk files run to gigabytes. A JSON document is walked with ijson's
event parser and only one release is ever built at a time; a JSON Lines file is read a line at a
time. Package metadata (`uri`, `version`) may come before or after the releases: it is kept on a
`Document` the releases point to, complete once the file has been read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from infra.interop.bounds import TooDeep, one_line, parse_events
from infra.interop.encoding import open_utf8
from infra.interop.report import RecordRefused

PEEK = 1 << 20
_SCALARS = frozenset({"string", "number", "integer", "double", "boolean", "null"})
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


@dataclass
class Document:
    """A top-level JSON value of a file: its package metadata once read."""

    number: int
    meta: dict[str, Any] = field(default_factory=dict)
    package: bool = False  # a package or record: its metadata applies to its releases

    @property
    def uri(self) -> str | None:
        uri = self.meta.get("uri")
        return uri if isinstance(uri, str) and uri.strip() else None

    @property
    def version(self) -> str | None:
        version = self.meta.get("version")
        return version if isinstance(version, str) else None


@dataclass(frozen=True)
class FoundRelease:
    path: str
    position: str  # where in the file: "releases[3]", "line 7", "records[2].compiledRelease"
    release: dict[str, Any]
    document: Document
    compiled: bool = False  # a record's compiled release, used when its releases are only links


def read_releases(
    path: Path, encoding: str, *, progress: Callable[[int], None] | None = None
) -> Iterator[FoundRelease]:
    """Every embedded release of an OCDS file, in file order."""
    name = str(path)
    with open_utf8(path, encoding) as stream:
        head = stream.peek(PEEK)[:PEEK]  # type: ignore[attr-defined]
        first = head.split(b"\n", 1)[0].strip()
        if b"\n" in head and first and _parses(first):
            yield from _json_lines(name, stream, progress)
        else:
            yield from _json_document(name, stream, progress)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _json_lines(
    name: str, stream: IO[bytes], progress: Callable[[int], None] | None
) -> Iterator[FoundRelease]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise RecordRefused(
                name,
                f"line {number}",
                f"malformed JSON ({one_line(str(err))}); expected one JSON value a line",
            ) from None
        document = Document(number)
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = f"line {number}" + (f" [{i}]" if isinstance(value, list) else "")
            yield from _dispatch(name, where, item, document, progress)


def _dispatch(
    name: str,
    where: str,
    value: Any,
    document: Document,
    progress: Callable[[int], None] | None,
) -> Iterator[FoundRelease]:
    """A whole JSON value: a package, a record or a release."""
    if not isinstance(value, dict):
        raise RecordRefused(name, where, "expected a JSON object (a package, record or release)")
    if isinstance(value.get("records"), list) or isinstance(value.get("releases"), list):
        document.package = True
    if isinstance(value.get("records"), list):
        document.meta.update({k: v for k, v in value.items() if k != "records"})
        for i, record in enumerate(value["records"]):
            yield from _record(name, f"{where} records[{i}]", record, document, progress)
    elif isinstance(value.get("releases"), list) and "ocid" in value:
        yield from _record(name, where, value, document, progress)
    elif isinstance(value.get("releases"), list):
        document.meta.update({k: v for k, v in value.items() if k != "releases"})
        for i, release in enumerate(value["releases"]):
            yield _release(name, f"{where} releases[{i}]", release, document, progress)
    else:
        yield _release(name, where, value, document, progress)


def _record(
    name: str,
    where: str,
    record: Any,
    document: Document,
    progress: Callable[[int], None] | None,
) -> Iterator[FoundRelease]:
    if not isinstance(record, dict):
        raise RecordRefused(name, where, "expected a record object")
    embedded = [(i, r) for i, r in enumerate(record.get("releases") or []) if not _is_linked(r)]
    for i, release in embedded:
        yield _release(name, f"{where}.releases[{i}]", release, document, progress)
    if not embedded and isinstance(record.get("compiledRelease"), dict):
        # only links to releases published elsewhere: the compiled release is what we have
        yield _release(
            name, f"{where}.compiledRelease", record["compiledRelease"], document, progress, True
        )


def _is_linked(release: Any) -> bool:
    return isinstance(release, dict) and "url" in release and len(release) <= 3


def _release(
    name: str,
    where: str,
    release: Any,
    document: Document,
    progress: Callable[[int], None] | None,
    compiled: bool = False,
) -> FoundRelease:
    if not isinstance(release, dict):
        raise RecordRefused(name, where, "expected a release object")
    if progress:
        progress(1)
    return FoundRelease(name, where, release, document, compiled)


def _json_document(
    name: str, stream: IO[bytes], progress: Callable[[int], None] | None
) -> Iterator[FoundRelease]:
    """Walk one JSON document (or several concatenated) event by event, building only releases,
    records and the small top-level fields."""
    base = ""  # "item" inside a top-level array, whose elements are the documents
    documents = 0
    document = Document(0)
    top: dict[str, Any] = {}
    key = ""
    yielded = 0
    counters = {"releases": 0, "records": 0}
    builder: ijson.ObjectBuilder | None = None
    depth = 0
    target = ""

    def join(*parts: str) -> str:
        return ".".join(p for p in parts if p)

    try:
        for prefix, event, value in parse_events(stream, multiple_values=True, use_float=True):
            if builder is not None:
                builder.event(event, value)
                depth += 1 if event in _OPEN else -1 if event in _CLOSE else 0
                if depth:
                    continue
                built, builder = builder.value, None
                where = f"{'document ' + str(document.number) + ' ' if documents > 1 else ''}"
                if target in counters:
                    index = counters[target]
                    counters[target] += 1
                    where += f"{target}[{index}]"
                    if target == "releases":
                        yield _release(name, where, built, document, progress)
                        yielded += 1
                    else:
                        for found in _record(name, where, built, document, progress):
                            yielded += 1
                            yield found
                else:
                    top[target] = built
                    if target not in ("releases", "records"):
                        document.meta[target] = built
                continue
            if prefix == "" and event == "start_array" and not base:
                base = "item"
                continue
            if prefix == "" and event == "end_array" and base:
                base = ""
                continue
            if prefix == base and event == "start_map":
                documents += 1
                document, top, yielded = Document(documents), {}, 0
                counters = {"releases": 0, "records": 0}
                continue
            if prefix == base and event == "end_map":
                if not yielded and top and not document.package:
                    where = f"document {document.number}" if documents > 1 else "(the document)"
                    yield from _dispatch(name, where, top, document, progress)
                continue
            if prefix == base and event == "map_key":
                key = value
                continue
            if event == "start_map" and prefix in (
                join(base, "releases.item"),
                join(base, "records.item"),
            ):
                builder, depth = ijson.ObjectBuilder(), 1
                builder.event(event, value)
                target = "releases" if prefix.endswith("releases.item") else "records"
                continue
            if (
                prefix == join(base, key)
                and key in ("releases", "records")
                and event
                in (
                    "start_array",
                    "end_array",
                )
            ):
                document.package = True
                continue
            if prefix == join(base, key):
                if event in _SCALARS:
                    top[key] = value
                    document.meta[key] = value
                elif event in _OPEN:
                    builder, depth, target = ijson.ObjectBuilder(), 1, key
                    builder.event(event, value)
                continue
            if prefix == "" and event in _SCALARS:
                raise RecordRefused(name, "(the document)", "expected a JSON object or array")
    except TooDeep as deep:
        where = f"document {documents}" if documents else "(the document)"
        raise RecordRefused(name, where, str(deep), deep.path) from None
    except (ijson.JSONError, ValueError) as err:  # ValueError: a number Python cannot hold
        where = f"document {documents}" if documents else "(the document)"
        raise RecordRefused(
            name,
            f"{where}, after {sum(counters.values())} releases or records",
            f"malformed JSON ({one_line(str(err))})",
        ) from None
