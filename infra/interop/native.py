"""The native JSON Lines format (FORMAT.md): import all-or-nothing, export in recorded order.

An import streams the file a slice at a time through the bulk path (`Ledger.begin_bulk`): each
slice parsed, checked and written inside one transaction that only the last line commits, so a
file of any size is stored whole or not at all, in memory that follows the slice and the compact
state of the subjects it names, not the file. The first bad line in file order (malformed, or
breaking a rule given the lines before it) refuses the whole file.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import orjson

from domain.bulk import BulkUnitOfWork
from domain.catalogue import LedgerEvent, parse_event
from domain.errors import InvalidFieldError, LedgerError
from domain.ledger import Ledger
from domain.recording import RecordReport
from infra.interop.bounds import json_problem, one_line, visible

Progress = Callable[[int], None]  # called with how many lines were just done


class ImportRefused(LedgerError):
    """An import that stored nothing, naming the file, line and what was wrong."""

    def __init__(self, path: str, line: int, message: str, event_id: str | None = None):
        self.path, self.line = path, line
        where = f"{path}:{line}"
        if event_id:
            where += f" (event '{event_id}')"
        super().__init__(visible(f"{where}: {message}; nothing was imported"))


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
            parsed.append(ParsedLine(number, parse_line(name, number, raw)))
    return parsed


SLICE = 20_000  # events checked and written at a time: memory follows the slice, not the file


class ImportProgress(Protocol):
    """Told, as an import goes, how many events were checked and written, and bytes read."""

    def __call__(self, *, checked: int, written: int, read: int) -> None: ...


def import_file(
    ledger: Ledger,
    path: Path,
    *,
    progress: ImportProgress | None = None,
    slice_size: int = SLICE,
) -> RecordReport:
    """Stream a native file into the ledger: each slice parsed, checked and written in one
    transaction, committed at the end; the first bad line (in file order) refuses it all."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as err:
        raise LedgerError(f"{name}: cannot open ({err.strerror})") from None
    with handle, paused_gc():
        uow = ledger.begin_bulk()
        try:
            read = 0
            for batch, refused, read in _slices(handle, name, slice_size):
                _check(uow, name, batch, progress, read)
                uow.flush()
                if progress:
                    progress(
                        checked=uow.report.recorded + uow.report.already_present,
                        written=uow.written,
                        read=read,
                    )
                if refused is not None:
                    raise refused
            report = uow.commit()
        except BaseException:
            uow.rollback()
            raise
    return report


def _slices(
    handle: IO[bytes], name: str, size: int
) -> Iterator[tuple[list[ParsedLine], ImportRefused | None, int]]:
    """Parsed lines a slice at a time, with the bytes read so far; a bad line ends the last
    slice (the lines before it are still checked: an earlier broken rule is the first error)."""
    batch: list[ParsedLine] = []
    read = 0
    for number, raw in enumerate(handle, start=1):
        read += len(raw)
        if not raw.strip():
            continue
        try:
            batch.append(ParsedLine(number, parse_line(name, number, raw)))
        except ImportRefused as refused:
            yield batch, refused, read
            return
        if len(batch) == size:
            yield batch, None, read
            batch = []
    yield batch, None, read


def parse_line(name: str, number: int, raw: bytes) -> LedgerEvent:
    """One line of a native file as an event, or refused naming the line and the field."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ImportRefused(
            name,
            number,
            f"malformed JSON ({one_line(str(err))}); expected one JSON object per line",
        ) from None
    problem = json_problem(obj)
    if problem is not None:
        event_id = obj.get("event_id") if isinstance(obj, dict) else None
        raise ImportRefused(
            name,
            number,
            f"field '{problem[0]}' {problem[1]}",
            event_id if isinstance(event_id, str) and len(event_id) <= 200 else None,
        )
    try:
        return parse_event(obj)
    except InvalidFieldError as err:
        event_id = obj.get("event_id") if isinstance(obj, dict) else None
        raise ImportRefused(
            name, number, str(err), event_id if isinstance(event_id, str) else None
        ) from None


def _check(
    uow: BulkUnitOfWork,
    name: str,
    batch: list[ParsedLine],
    progress: ImportProgress | None,
    read: int,
) -> None:
    uow.prefetch(p.event for p in batch)
    done = uow.report.recorded + uow.report.already_present
    for i, p in enumerate(batch, start=1):
        try:
            uow.add(p.event)
        except LedgerError as err:
            raise ImportRefused(name, p.line, str(err), p.event.event_id) from None
        if progress and i % 5_000 == 0:
            progress(checked=done + i, written=uow.written, read=read)


def import_events(
    ledger: Ledger, path: Path, lines: list[ParsedLine], *, progress: Progress | None = None
) -> RecordReport:
    """Check every event against the ledger and each other, then store all in one transaction
    (in slices, as `import_file` does)."""
    with paused_gc():
        uow = ledger.begin_bulk()
        try:
            for start in range(0, len(lines), SLICE):
                batch = lines[start : start + SLICE]
                _check(uow, str(path), batch, None, 0)
                if progress:
                    progress(len(batch))
                uow.flush()
            return uow.commit()
        except BaseException:
            uow.rollback()
            raise


def import_file_per_event(ledger: Ledger, path: Path) -> RecordReport:
    """`import_file` on aggregates, event by event (the reference the bulk path is held to):
    the same lines read in the same order, the first bad one refusing the file."""
    name = str(path)
    with path.open("rb") as handle, paused_gc():
        uow = ledger.begin()
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            event = parse_line(name, number, raw)
            try:
                uow.add(event)
            except LedgerError as err:
                raise ImportRefused(name, number, str(err), event.event_id) from None
        return ledger.commit(uow)


def import_events_per_event(ledger: Ledger, path: Path, lines: list[ParsedLine]) -> RecordReport:
    """The reference the bulk path is held to: aggregates, event by event, one save."""
    with paused_gc():
        uow = ledger.begin()
        uow.prefetch(p.event for p in lines)
        for p in lines:
            try:
                uow.add(p.event)
            except LedgerError as err:
                raise ImportRefused(str(path), p.line, str(err), p.event.event_id) from None
        return ledger.commit(uow)


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
