"""Mapped events checked and stored as one unit of work: all of an import, or nothing.

Every importer ends here with `(event, origin)` pairs; a rule the ledger refuses is reported
against the source record the event came from, not against a line of a file the user never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from domain.catalogue import LedgerEvent, parse_event
from domain.errors import LedgerError
from domain.ledger import Ledger
from infra.interop.native import paused_gc
from infra.interop.report import InteropReport, Origin

Staged = tuple[LedgerEvent, Origin]


def native(record: dict[str, Any], origin: Origin) -> LedgerEvent:
    """Parse a mapped record as a native event; a mapping that breaks the format is refused."""
    try:
        return parse_event(record)
    except LedgerError as err:
        raise origin.refuse(
            f"maps to a {record.get('type')} event that is invalid: {err}"
        ) from None


def same_but_source(ledger: Ledger, staged: Sequence[Staged]) -> list[Staged]:
    """The staged events, each one already stored under its id with nothing but a different
    `source` replaced by the stored one: a release republished in another package (another URI)
    is the same release, and adds nothing."""
    found = ledger.index.lookup_event_ids([e.event_id for e, _ in staged])
    out: list[Staged] = []
    for event, origin in staged:
        known = found.get(event.event_id)
        if known is not None and known.digest != event.digest():
            subject = ledger.repository.get(known.originator_id)
            stored: LedgerEvent = subject.ids[event.event_id].event
            if replace(stored, source=None) == replace(event, source=None):
                event = stored
        out.append((event, origin))
    return out


def store(
    ledger: Ledger,
    staged: Sequence[Staged],
    report: InteropReport,
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Check every event against the ledger and each other, then store them in one transaction."""
    staged = same_but_source(ledger, staged)
    with paused_gc():
        uow = ledger.begin()
        uow.prefetch(event for event, _ in staged)
        for event, origin in staged:
            try:
                uow.add(event)
            except LedgerError as err:
                raise origin.refuse(f"{event.type} '{event.event_id}': {err}") from None
            if progress:
                progress(1)
        report.absorb(ledger.commit(uow))
