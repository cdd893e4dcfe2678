"""Recording in bulk: the same rules and the same stored rows as `UnitOfWork`, on compact state.

A `BulkUnitOfWork` checks events one after another like `UnitOfWork` (same order of checks,
same errors) but keeps each subject compact (`domain.compact`) and builds the library's stored
rows directly (`domain.stored`) instead of aggregate objects. It hands its rows to a store
session slice by slice (`flush`), inside one transaction that `commit` ends, so an import of
any size is stored whole or not at all, in memory that does not grow with it.

The common event, one that lands after everything its subject already holds, is judged by the
named checks of `domain.agreements` and the fold step of `domain.organisations` on the compact
state. What needs a whole timeline (a correction or rescission, an event back-filled before
others, anything about a subject whose timeline holds a correction, a second award) goes to the
per-event path: a `UnitOfWork` over aggregates read back from the store, whose events are
mapped to rows by the library's own mapper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from domain.agreements import (
    Agreement,
    Ending,
    check_end_later,
    check_open,
    check_term,
    check_variation_start,
    commissioners_after,
    providers_after,
)
from domain.catalogue import AWARD_TYPES, CATALOGUE, ENDING_TYPES, SUBJECT_FIELD, LedgerEvent
from domain.compact import AgreementState, OrganisationEntry, shared_date, shared_providers
from domain.errors import (
    ConcurrentChangeError,
    DuplicateEventIdError,
    InactiveReferenceError,
    LedgerError,
    UnknownReferenceError,
)
from domain.organisations import Organisation, OrganisationState
from domain.organisations import step as organisation_step
from domain.portfolios import Movement, Portfolio, PortfolioBook, plan_handover
from domain.recording import (
    IndexedEvent,
    RecordReport,
    UnitOfWork,
    Where,
    check_references,
    field_name,
    named_subjects,
)
from domain.stored import CLASS_TOPICS, TOPICS, IndexRow, Row, encode_state, native_body
from domain.subjects import LedgerSubject, subject_hex

Known = tuple[str, str, str]  # originator id (hex), type, digest
SUBJECTS = {name: spec.subject for name, spec in CATALOGUE.items()}


class StoreConflict(LedgerError):
    """The store refused a slice: another writer stored the same subject version or event id."""


class StoreSession(Protocol):
    """One import's view of the store: reads see what the import wrote; writes are one
    transaction, begun (and the store's write lock taken) by the first `write`."""

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, Known]: ...

    def existing_subjects(self, oids: Sequence[str]) -> set[str]: ...

    def stored_rows(self, oid: str) -> list[Row]: ...

    def is_empty(self) -> bool: ...

    def write(self, rows: list[Row], index_rows: list[IndexRow]) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def changed_since(self, oid: str, version: int) -> bool: ...


Rebuild = Callable[[list[Row]], LedgerSubject | None]
EventRows = Callable[[list[Any]], list[Row]]


class BulkUnitOfWork:
    """Events checked against the ledger and each other, written slice by slice, committed once."""

    def __init__(
        self,
        session: StoreSession,
        clock: Callable[[], dt.datetime],
        rebuild: Rebuild,
        to_rows: EventRows,
    ) -> None:
        self.session = session
        self._clock = clock
        self._rebuild = rebuild
        self._to_rows = to_rows
        self.report = RecordReport()
        self.written = 0
        self.agreements: dict[str, AgreementState] = {}
        self.organisations: dict[str, dict[str, OrganisationEntry]] = {
            "commissioner": {},
            "provider": {},
        }
        self.books: dict[str, PortfolioBook] = {}
        self._preexisting = not session.is_empty()
        self._new_slice()

    def _new_slice(self) -> None:
        self.rows: list[Row] = []
        self.index_rows: list[IndexRow] = []
        self.pending: dict[str, list[Row]] = {}
        self.known: dict[str, Known] = {}
        self.looked_up: set[str] = set()
        self.checked: set[tuple[str, str]] = set()  # subjects looked for in the store
        self._now: dt.datetime | None = None
        self._iso = ""

    # -- the slice's reads ---------------------------------------------------------------------
    def prefetch(self, events: Iterable[LedgerEvent]) -> None:
        """Look up, in bulk, which of these events (and the events they correct) are stored, and
        bring the subjects they name that the store held before this import into compact state."""
        events = list(events)
        ids: list[str] = []
        for e in events:
            ids.append(e.event_id)
            target = e.data.get("corrects") or e.data.get("rescinds")
            if target:
                ids.append(target)
        wanted = [i for i in dict.fromkeys(ids) if i not in self.looked_up]
        self.known.update(self.session.lookup_event_ids(wanted))
        self.looked_up.update(wanted)
        if self._preexisting:
            self._load_preexisting(events)

    def _load_preexisting(self, events: list[LedgerEvent]) -> None:
        refs: set[tuple[str, str]] = set()
        for e in events:
            for key in named_subjects(e):
                if key not in self.checked and not self._held(*key):
                    refs.add(key)
        if refs:
            self.checked.update(refs)
            oids = [subject_hex(kind, ref) for kind, ref in refs]
            for oid in self.session.existing_subjects(oids):
                self._remember(self._load(oid))

    def _held(self, kind: str, ref: str) -> bool:
        if kind == "agreement":
            return ref in self.agreements
        if kind == "lead":
            return ref in self.books
        return ref in self.organisations[kind]

    def _load(self, oid: str) -> LedgerSubject | None:
        """A subject as the store and this slice's rows hold it (for the per-event path)."""
        rows = self.session.stored_rows(oid) if self._preexisting or self.written else []
        rows = [*rows, *self.pending.get(oid, ())]
        return self._rebuild(rows) if rows else None

    def _remember(self, subject: LedgerSubject | None) -> None:
        """Keep a subject read back from the store (or left by the per-event path) compact."""
        if isinstance(subject, Agreement):
            self.agreements[subject.agreement_id] = AgreementState.of(subject)
        elif isinstance(subject, Organisation):
            self.organisations[subject.SUBJECT][subject.ref] = OrganisationEntry.of(subject)
        elif isinstance(subject, Portfolio):
            self.books[subject.lead] = PortfolioBook.of(subject)

    # -- recording -----------------------------------------------------------------------------
    def add(self, event: LedgerEvent) -> bool:
        """Check and stage one event; False when the identical event is already recorded."""
        event_id = event.event_id
        known = self.known.get(event_id)
        if known is None and event_id not in self.looked_up:
            found = self.session.lookup_event_ids([event_id])
            self.looked_up.add(event_id)
            self.known.update(found)
            known = found.get(event_id)
        digest = event.digest()
        if known is not None:
            if known[2] != digest:
                raise DuplicateEventIdError(event_id)
            self.report.already_present += 1
            return False
        if self._preexisting:
            self._load_preexisting([event])  # nothing to do when the slice was prefetched
        kind = SUBJECTS[event.type]
        if self._per_event(kind, event):
            oid = self._record_per_event(event)
        else:
            now = self._clock()
            if now is not self._now:
                self._now, self._iso = now, now.isoformat()
            if kind == "lead":
                oid = self._hand_over(event)
            elif kind == "agreement":
                oid = self._record_on_agreement(event)
            else:
                oid = self._record_on_organisation(kind, event)
        self.known[event_id] = (oid, event.type, digest)
        self.index_rows.append((event_id, oid, event.type, digest))
        report = self.report
        report.recorded += 1
        report.by_type[event.type] = report.by_type.get(event.type, 0) + 1
        return True

    def _per_event(self, kind: str, event: LedgerEvent) -> bool:
        """Whether the event needs its subject's whole timeline."""
        if kind == "target":
            return True
        if kind == "lead":
            return False
        ref: Any = event.data.get(SUBJECT_FIELD[kind])
        state: Any = (
            self.agreements.get(ref) if kind == "agreement" else self.organisations[kind].get(ref)
        )
        if state is None:
            return False
        # a second award or registration (named by the per-event path), a subject whose
        # timeline holds a correction, or an event back-filled before the latest one
        return (
            event.type in AWARD_TYPES
            or event.type in ("CommissionerEstablished", "ProviderRegistered")
            or state.corrected
            or event.effective_on < state.last
        )

    def _emit(
        self, oid: str, version: int, topic: str, body: dict[str, Any], data: Any = None
    ) -> None:
        row = (oid, version, topic, encode_state(self._iso, body, data))
        self.rows.append(row)
        pending = self.pending.get(oid)
        if pending is None:
            self.pending[oid] = [row]
        else:
            pending.append(row)

    # -- agreements and organisations ------------------------------------------------------------
    def _record_on_agreement(self, event: LedgerEvent) -> str:
        data = event.data
        ref = data["agreement_id"]
        self._check_references(event)
        state = self.agreements.get(ref)
        if event.type in AWARD_TYPES:  # a new agreement: an existing one went per event
            check_term(data)
            state = AgreementState(subject_hex("agreement", ref), event)
            self.agreements[ref] = state
            body = native_body(event, created=CLASS_TOPICS["agreement"])
            self._emit(state.oid, 1, TOPICS["agreement", event.type], body, data)
            if data.get("responsible_lead"):
                self._assign(event)
            return state.oid
        if state is None:
            raise UnknownReferenceError("agreement_id", "agreement", ref)
        self._step(ref, state, event)
        state.version += 1
        state.last = shared_date(event.effective_on)
        body = native_body(event)
        self._emit(state.oid, state.version, TOPICS["agreement", event.type], body, data)
        return state.oid

    @staticmethod
    def _step(ref: str, state: AgreementState, event: LedgerEvent) -> None:
        """`agreements.step` for an event after every other: the same checks in the same order,
        on compact state."""
        data, kind = event.data, event.type
        check_open(ref, True, state.ended, event.effective_on)
        if kind in ("RolledOver", "Extended"):
            check_end_later(kind, data["new_end"], state.end)
            state.end = shared_date(data["new_end"])
        elif kind == "Varied":
            check_variation_start(data.get("applies_from") or event.effective_on, state.start)
        elif kind == "Restructured":
            state.providers = shared_providers(providers_after(state.providers, data))
            commissioners_after((), data)
        elif kind in ENDING_TYPES:
            state.ended = Ending(event.event_id, kind, event.effective_on)

    def _record_on_organisation(self, kind: str, event: LedgerEvent) -> str:
        ref = event.data[SUBJECT_FIELD[kind]]
        self._check_references(event)
        entries = self.organisations[kind]
        entry = entries.get(ref)
        if event.type in ("CommissionerEstablished", "ProviderRegistered"):
            state = organisation_step(OrganisationState(kind, ref), event)
            entry = OrganisationEntry(subject_hex(kind, ref), 1, event.effective_on, state)
            entries[ref] = entry
            body = native_body(event, created=CLASS_TOPICS[kind])
            self._emit(entry.oid, 1, TOPICS[kind, event.type], body, event.data)
            return entry.oid
        if entry is None:
            raise UnknownReferenceError(f"{kind}_id", kind, ref)
        entry.state = organisation_step(entry.state, event)
        entry.version += 1
        entry.last = event.effective_on
        body = native_body(event)
        self._emit(entry.oid, entry.version, TOPICS[kind, event.type], body, event.data)
        return entry.oid

    def _assign(self, award: LedgerEvent) -> None:
        lead = award.data["responsible_lead"]
        book = self._book(lead)
        book.version += 1
        book.moves.append(
            Movement(
                shared_date(award.effective_on),
                book.version,
                1,
                (award.data["agreement_id"],),
                award.event_id,
            )
        )
        body = {
            "agreement_id": award.data["agreement_id"],
            "on": award.effective_on,
            "award_event_id": award.event_id,
        }
        self._emit(book.oid, book.version, TOPICS["lead", "Assigned"], body)

    def _book(self, lead: str) -> PortfolioBook:
        """The lead's portfolio, opened (a stored `Opened` event) when it has none."""
        book = self.books.get(lead)
        if book is None:
            book = self.books[lead] = PortfolioBook(lead, 1, oid=subject_hex("lead", lead))
            body = {"originator_topic": CLASS_TOPICS["lead"], "lead": lead}
            self._emit(book.oid, 1, TOPICS["lead", "Opened"], body)
        return book

    # -- references (as `UnitOfWork._check_references`) ------------------------------------------
    def _active(
        self, where: Where, kind: str, ref: str, day: str, ending_that_day: bool = False
    ) -> None:
        entry = self.organisations[kind].get(ref)
        if entry is None:
            raise UnknownReferenceError(field_name(where), kind, ref)
        state = entry.state
        why = state.inactive_reason(day)
        if why and ending_that_day and state.ended and state.ended.effective_on == day:
            why = None
        if why:
            raise InactiveReferenceError(field_name(where), kind, ref, day, why)

    def _exists(self, field: str, ref: str) -> AgreementState:
        state = self.agreements.get(ref)
        if state is None:
            raise UnknownReferenceError(field, "agreement", ref)
        return state

    def _check_references(self, event: LedgerEvent) -> None:
        check_references(event, self._active, self._exists)

    # -- handovers (as `UnitOfWork._hand_over`) --------------------------------------------------
    def _hand_over(self, event: LedgerEvent) -> str:
        d, day = event.data, event.effective_on
        from_lead, to_lead = d["from_lead"], d["to_lead"]
        held = self.books.get(from_lead)
        moved, adopted = plan_handover(
            event,
            lambda on: held.holdings_on(on) if held else [],
            lambda field, ref: self._exists(field, ref).lead,
            lambda field, ref, on, ending: self._active(field, "commissioner", ref, on, ending),
        )
        source = self._book(from_lead)
        source.check_handover(event, moved, adopted)
        source.version += 1
        source.moves.append(
            Movement(day, source.version, -1, tuple(moved), event.event_id, tuple(adopted))
        )
        body = native_body(event)
        body["moved"] = moved
        body["adopted"] = adopted
        self._emit(source.oid, source.version, TOPICS["lead", "HandedOver"], body, event.data)
        target = self._book(to_lead)
        target.version += 1
        target.moves.append(Movement(day, target.version, 1, tuple(moved), event.event_id))
        body = {"agreements": moved, "on": day, "handover_event_id": event.event_id}
        self._emit(target.oid, target.version, TOPICS["lead", "Received"], body)
        return source.oid

    # -- the per-event path ----------------------------------------------------------------------
    def _record_per_event(self, event: LedgerEvent) -> str:
        """Judge the event on whole timelines read back from the store, as `Ledger.record` did
        event by event; keep what it changed compact again."""
        uow = UnitOfWork(lambda oid: self._load(oid.hex), self._indexed, self._clock)
        uow.prefetch([event])
        uow.add(event)
        for row in self._to_rows(uow.pending):
            self.rows.append(row)
            self.pending.setdefault(row[0], []).append(row)
        for oid in uow.touched:
            self._remember(uow.subjects[oid])
        return uow.index_rows[-1].originator_id.hex

    def _indexed(self, event_ids: list[str]) -> dict[str, IndexedEvent]:
        missing = [i for i in event_ids if i not in self.known and i not in self.looked_up]
        if missing:
            self.known.update(self.session.lookup_event_ids(missing))
            self.looked_up.update(missing)
        out: dict[str, IndexedEvent] = {}
        for event_id in event_ids:
            known = self.known.get(event_id)
            if known is not None:
                out[event_id] = IndexedEvent(event_id, UUID(known[0]), known[1], known[2])
        return out

    # -- writing ---------------------------------------------------------------------------------
    def flush(self) -> int:
        """Write the slice's rows in the import's transaction; returns how many events it held."""
        written = len(self.index_rows)
        if self.rows or self.index_rows:
            try:
                self.session.write(self.rows, self.index_rows)
            except StoreConflict:
                self.session.rollback()
                raise self._explain_conflict() from None
        self.written += written
        self._new_slice()
        return written

    def commit(self) -> RecordReport:
        self.flush()
        self.session.commit()
        return self.report

    def rollback(self) -> None:
        """Leave the store as it was before the first slice."""
        self.session.close()

    def _explain_conflict(self) -> LedgerError:
        """Name the subjects another writer changed, or the event ids it recorded first."""
        first: dict[str, int] = {}
        for row in self.rows:
            first.setdefault(row[0], row[1])
        changed = [
            self._name(oid)
            for oid, version in first.items()
            if self.session.changed_since(oid, version)
        ]
        if changed:
            return ConcurrentChangeError(changed)
        taken = self.session.lookup_event_ids([r[0] for r in self.index_rows])
        if taken:
            return DuplicateEventIdError(next(iter(taken)))
        return ConcurrentChangeError(["the ledger"])

    def _name(self, oid: str) -> str:
        for ref, state in self.agreements.items():
            if state.oid == oid:
                return f"agreement '{ref}'"
        for kind, entries in self.organisations.items():
            for ref, entry in entries.items():
                if entry.oid == oid:
                    return f"{kind} '{ref}'"
        for lead, book in self.books.items():
            if book.oid == oid:
                return f"portfolio of '{lead}'"
        return oid
