"""The Ledger: the eventsourcing Application holding every subject's events.

A thin list of commands and queries. Recorded time comes from the clock the composition root
wires (the real clock, or a simulated one in the generator); no command can set it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.agreements import Agreement
from domain.bulk import BulkUnitOfWork, StoreSession
from domain.catalogue import LedgerEvent
from domain.errors import ConcurrentChangeError, DuplicateEventIdError, LedgerError
from domain.recording import IndexedEvent, RecordReport, UnitOfWork
from domain.stored import Row
from domain.subjects import LedgerSubject, subject_uuid
from domain.timeline import Fact

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@runtime_checkable
class EventIndex(Protocol):
    """What the ledger needs of its recorder besides the library's: the event-id index."""

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, IndexedEvent]: ...

    def existing_subjects(self, aggregate_ids: Sequence[UUID]) -> set[UUID]: ...

    def bulk_session(self) -> StoreSession: ...


@dataclass(frozen=True)
class StoredFact:
    """A native event as stored: with its recorded time and its place in the log."""

    notification_id: int
    event: LedgerEvent
    recorded_at: dt.datetime
    moved: tuple[str, ...] = ()  # for a handover: the agreements it moved (portfolio resolved)


class Ledger(Application[UUID]):
    """Commands users issue (record events) and the reads the views start from."""

    name = "ledger"

    def __init__(self, env: dict[str, str] | None = None, *, clock: Clock = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        if not isinstance(self.recorder, EventIndex):
            raise LedgerError(
                "the configured recorder keeps no event-id index; use a store opened by "
                "infra.store.urls"
            )
        self.index: EventIndex = self.recorder

    # -- commands ------------------------------------------------------------------------------
    def begin(self) -> UnitOfWork:
        """Start a unit of work on aggregates (the per-event path); `commit` saves all it staged
        in one transaction."""
        return UnitOfWork(
            self._load,
            self.index.lookup_event_ids,
            self._recorded_time,
            self.index.existing_subjects,
        )

    def commit(self, uow: UnitOfWork) -> RecordReport:
        if uow.pending:
            # What Application.save does, minus a runtime-protocol check per event: the events
            # are already in order, so they go to the recorder as one list.
            processing = ProcessingEvent[UUID]()
            processing.events.extend(uow.pending)
            processing.saved_kwargs["event_ids"] = uow.index_rows
            try:
                recordings = self._record(processing)
            except IntegrityError:
                raise self._explain_conflict(uow) from None
            self._notify(recordings)
        return uow.report

    def begin_bulk(self) -> BulkUnitOfWork:
        """Start a bulk unit of work: compact state, rows written slice by slice (`flush`) in
        one transaction that `commit` ends; `rollback` leaves the store as it was."""
        return BulkUnitOfWork(
            self.index.bulk_session(), self._recorded_time, self._rebuild, self._to_rows
        )

    def record(self, events: Iterable[LedgerEvent]) -> RecordReport:
        """Record events in order, all or none."""
        events = list(events)
        uow = self.begin_bulk()
        try:
            uow.prefetch(events)
            for event in events:
                uow.add(event)
            return uow.commit()
        except BaseException:
            uow.rollback()
            raise

    def record_per_event(self, events: Iterable[LedgerEvent]) -> RecordReport:
        """`record` on aggregates, event by event: the reference the bulk path is held to."""
        events = list(events)
        uow = self.begin()
        uow.prefetch(events)
        for event in events:
            uow.add(event)
        return self.commit(uow)

    def _rebuild(self, rows: list[Row]) -> LedgerSubject | None:
        """A subject from stored rows, as the library's repository rebuilds it."""
        subject: Any = None
        for oid, version, topic, state in rows:
            event: Any = self.mapper.to_domain_event(StoredEvent(UUID(oid), version, topic, state))
            subject = event.mutate(subject)
        return subject  # type: ignore[no-any-return]

    def _to_rows(self, events: list[Any]) -> list[Row]:
        """Aggregate events as the library's mapper stores them."""
        out: list[Row] = []
        for event in events:
            stored = self.mapper.to_stored_event(event)
            oid = stored.originator_id
            out.append(
                (
                    oid.hex if isinstance(oid, UUID) else str(oid),
                    stored.originator_version,
                    stored.topic,
                    stored.state,
                )
            )
        return out

    def _recorded_time(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        return now

    def _load(self, aggregate_id: UUID) -> LedgerSubject | None:
        try:
            subject: LedgerSubject = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return subject

    def _explain_conflict(self, uow: UnitOfWork) -> LedgerError:
        """Name the subjects another writer changed, or the event ids it recorded first."""
        first_version: dict[UUID, int] = {}
        for e in uow.pending:
            first_version.setdefault(e.originator_id, e.originator_version)
        changed = [
            uow.touched.get(oid, str(oid))
            for oid, version in first_version.items()
            if self.recorder.select_events(oid, gt=version - 1, limit=1)
        ]
        if changed:
            return ConcurrentChangeError(changed)
        taken = self.index.lookup_event_ids([r.event_id for r in uow.index_rows])
        if taken:
            return DuplicateEventIdError(next(iter(taken)))
        return ConcurrentChangeError(["the ledger"])

    # -- queries -------------------------------------------------------------------------------
    def subject(self, kind: str, ref: str) -> Any:
        return self._load(subject_uuid(kind, ref))

    def agreement(self, agreement_id: str) -> Agreement | None:
        agreement: Agreement | None = self.subject("agreement", agreement_id)
        return agreement

    def facts(self, *, page: int = 10_000) -> Iterator[StoredFact]:
        """Every native event in the order it was recorded (the notification log)."""
        start = 1
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=page)
            for n in notifications:
                event = self.mapper.to_domain_event(n)
                if isinstance(event, LedgerSubject.Recorded):
                    moved = tuple(getattr(event, "moved", ()))
                    yield StoredFact(n.id, event.as_ledger_event(), event.timestamp, moved)
            if len(notifications) < page:
                return
            start = notifications[-1].id + 1

    def history(self, agreement_id: str) -> list[Fact]:
        """An agreement's events in recorded order (corrections included, nothing applied)."""
        agreement = self.agreement(agreement_id)
        return list(agreement.facts) if agreement else []
