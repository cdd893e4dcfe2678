"""Record generated history into a ledger, with the ledger's clock reading each event's time.

Why: recorded time is never in a native record; it is the ledger's clock when the event is
stored. Setting a simulated clock before each event and checking them through one unit of work
per chunk stores twenty years of typing in a few seconds, with every rule checked exactly as an
interactive user would meet it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.catalogue import parse_event
from domain.ledger import Ledger
from domain.recording import RecordReport
from infra.clocks import SimulatedClock
from infra.generator.journal import GeneratedEvent

Progress = Callable[[int], None]  # called with how many events were just recorded
CHUNK = 2_000


def build(
    ledger: Ledger,
    clock: SimulatedClock,
    events: Sequence[GeneratedEvent],
    progress: Progress | None = None,
    *,
    chunk: int = CHUNK,
) -> RecordReport:
    """Record `events` (in recording order) into `ledger`, whose clock is `clock`.

    Each chunk is one unit of work, stored all or nothing; a refused event raises the ledger's
    error naming it. Returns the combined report.
    """
    total = RecordReport()
    for first in range(0, len(events), chunk):
        batch = events[first : first + chunk]
        parsed = [parse_event(e.record) for e in batch]
        uow = ledger.begin()
        uow.prefetch(parsed)
        for generated, event in zip(batch, parsed, strict=True):
            clock.set(generated.recorded_at)
            uow.add(event)
        report = ledger.commit(uow)
        total.recorded += report.recorded
        total.already_present += report.already_present
        for name, n in report.by_type.items():
            total.by_type[name] = total.by_type.get(name, 0) + n
        if progress:
            progress(len(batch))
    return total
