"""Recording a batch of native events as one unit of work: all of it is stored, or none.

The unit of work loads each subject it touches once, checks every rule (on the subject's timeline,
and across subjects: references exist and are active, handovers start from the responsible lead),
and gathers the new aggregate events in the order the events arrived, so the notification log
keeps the writer's order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from domain.agreements import Agreement, agreement_terms
from domain.catalogue import AWARD_TYPES, LedgerEvent
from domain.errors import (
    AlreadyExistsError,
    DuplicateEventIdError,
    InactiveReferenceError,
    InvalidCorrectionError,
    InvalidFieldError,
    UnknownReferenceError,
)
from domain.organisations import Commissioner, Organisation, Provider
from domain.portfolios import Portfolio, plan_handover
from domain.subjects import LedgerSubject, subject_uuid
from domain.timeline import Fact, corrected_event


@dataclass(frozen=True)
class IndexedEvent:
    """Where a native event is stored: the identity index row written with it."""

    event_id: str
    originator_id: UUID
    type: str
    digest: str


class SubjectLoader(Protocol):
    def __call__(self, aggregate_id: UUID) -> LedgerSubject | None: ...


class IndexLookup(Protocol):
    def __call__(self, event_ids: list[str]) -> dict[str, IndexedEvent]: ...


class SubjectsLookup(Protocol):
    def __call__(self, aggregate_ids: list[UUID]) -> set[UUID]: ...


def named_subjects(event: LedgerEvent) -> Iterable[tuple[str, str]]:
    """Every subject an event is about or refers to, as (kind, ref)."""
    d = event.data
    for kind, key in (
        ("agreement", "agreement_id"),
        ("provider", "provider_id"),
        ("commissioner", "commissioner_id"),
        ("lead", "from_lead"),
        ("lead", "to_lead"),
        ("lead", "responsible_lead"),
        ("lead", "portfolio_of"),
        ("commissioner", "from_commissioner"),
        ("commissioner", "to_commissioner"),
        ("agreement", "successor_agreement_id"),
        ("provider", "into"),
        ("commissioner", "into"),
    ):
        if isinstance(d.get(key), str):
            yield kind, d[key]
    for key, kind, ref_key in (
        ("commissioners", "commissioner", "commissioner_id"),
        ("successors", "commissioner", "commissioner_id"),
        ("providers", "provider", "provider_id"),
    ):
        for item in d.get(key) or ():
            yield kind, item[ref_key]
    for key in ("related_agreements", "agreements"):
        for ref in d.get(key) or ():
            yield "agreement", ref


Where = str | tuple[str, int, str]  # a field's name, or (list, index, key) named on error


def field_name(where: Where) -> str:
    return where if isinstance(where, str) else f"{where[0]}[{where[1]}].{where[2]}"


def check_references(
    event: LedgerEvent,
    active: Callable[[Where, str, str, str], None],
    exists: Callable[[str, str], Any],
) -> None:
    """The organisations an event names were active on its date, and the agreements it names
    exist. `active(where, kind, ref, day)` and `exists(field, ref)` refuse, naming the field."""
    d, day = event.data, event.effective_on
    for key, kind, ref_key in (
        ("commissioners", "commissioner", "commissioner_id"),
        ("successors", "commissioner", "commissioner_id"),
        ("providers", "provider", "provider_id"),
    ):
        items = d.get(key)
        if items:
            for i, item in enumerate(items):
                active((key, i, ref_key), kind, item[ref_key], day)
    if event.type == "Restructured":
        if d.get("provider_id"):
            active("provider_id", "provider", d["provider_id"], day)
        if d.get("commissioner_id"):
            active("commissioner_id", "commissioner", d["commissioner_id"], day)
        for i, ref in enumerate(d["related_agreements"]):
            exists(f"related_agreements[{i}]", ref)
    elif event.type == "Reprocured":
        exists("successor_agreement_id", d["successor_agreement_id"])
    elif event.type in ("CommissionerMerged", "ProviderMerged"):
        kind = "commissioner" if event.type == "CommissionerMerged" else "provider"
        if d["into"] == d[f"{kind}_id"]:
            raise InvalidFieldError("into", f"a different {kind}", d["into"])
        active("into", kind, d["into"], day)


_SUBJECT_CLASSES: dict[str, type[LedgerSubject]] = {
    "agreement": Agreement,
    "provider": Provider,
    "commissioner": Commissioner,
    "lead": Portfolio,
}


@dataclass
class RecordReport:
    recorded: int = 0
    already_present: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class UnitOfWork:
    """Events checked against the ledger and each other, waiting to be saved together."""

    def __init__(
        self,
        load: SubjectLoader,
        lookup: IndexLookup,
        clock: Callable[[], dt.datetime],
        existing: SubjectsLookup | None = None,
    ):
        self._load = load
        self._lookup = lookup
        self._existing = existing
        self.looked_up: set[str] = set()
        self._clock = clock
        self.subjects: dict[UUID, LedgerSubject | None] = {}
        self.known_ids: dict[str, IndexedEvent] = {}
        self.pending: list[Any] = []
        self.index_rows: list[IndexedEvent] = []
        self.report = RecordReport()
        self.touched: dict[UUID, str] = {}

    # -- loading -------------------------------------------------------------------------------
    def prefetch(self, events: Iterable[LedgerEvent]) -> None:
        """Look up, in bulk, which of these events (and the events they correct) are stored."""
        events = list(events)
        ids: list[str] = []
        for e in events:
            ids.append(e.event_id)
            target = e.data.get("corrects") or e.data.get("rescinds")
            if target:
                ids.append(target)
        wanted = [i for i in dict.fromkeys(ids) if i not in self.looked_up]
        self.known_ids.update(self._lookup(wanted))
        self.looked_up.update(wanted)
        if self._existing is not None:
            # which subjects the batch names are stored: the others need no read at all
            refs = {subject_uuid(kind, ref) for e in events for kind, ref in named_subjects(e)}
            refs.difference_update(self.subjects)
            stored = self._existing(list(refs))
            for key in refs - stored:
                self.subjects[key] = None

    def _subject(self, kind: str, ref: str) -> Any:
        key = subject_uuid(kind, ref)
        if key not in self.subjects:
            self.subjects[key] = self._load(key)
        return self.subjects[key]

    def agreement(self, ref: str) -> Agreement | None:
        subject: Agreement | None = self._subject("agreement", ref)
        return subject

    def _collect(self, subject: LedgerSubject, name: str) -> None:
        self.subjects[subject.id] = subject
        self.touched[subject.id] = name
        self.pending.extend(subject.collect_events())

    # -- recording -----------------------------------------------------------------------------
    def add(self, event: LedgerEvent) -> bool:
        """Check and stage one event; False when the identical event is already recorded."""
        known = self.known_ids.get(event.event_id)
        if known is None and event.event_id not in self.looked_up:
            found = self._lookup([event.event_id])
            self.looked_up.add(event.event_id)
            self.known_ids.update(found)
            known = found.get(event.event_id)
        if known is not None:
            if known.digest != event.digest():
                raise DuplicateEventIdError(event.event_id)
            self.report.already_present += 1
            return False
        now = self._clock()
        kind = event.spec.subject
        if kind == "target":
            subject = self._correct(event, now)
        elif kind == "lead":
            subject = self._hand_over(event, now)
        else:
            subject = self._record_on_subject(kind, event, now)
        self.known_ids[event.event_id] = IndexedEvent(
            event.event_id, subject.id, event.type, event.digest()
        )
        self.index_rows.append(self.known_ids[event.event_id])
        self.report.recorded += 1
        self.report.by_type[event.type] = self.report.by_type.get(event.type, 0) + 1
        return True

    def _record_on_subject(self, kind: str, event: LedgerEvent, now: dt.datetime) -> Any:
        ref = event.subject_id or ""
        subject = self._subject(kind, ref)
        cls = _SUBJECT_CLASSES[kind]
        self._check_references(event)
        if event.type in cls.CREATED_BY:
            if subject is not None:
                raise AlreadyExistsError(kind, ref, subject.facts[0].event.event_id)
            if kind == "agreement":
                agreement_terms(ref, [Fact(1, event, now)], new_event_id=event.event_id)
            subject = cls.open(ref, event, now)
            self._collect(subject, f"{kind} '{ref}'")
            if event.type in AWARD_TYPES and event.data.get("responsible_lead"):
                self._assign(event, now)
            return subject
        if subject is None:
            raise UnknownReferenceError(f"{kind}_id", kind, ref)
        subject.check_with(event, now)
        subject.append(event, now)
        self._collect(subject, f"{kind} '{ref}'")
        return subject

    def _assign(self, award: LedgerEvent, now: dt.datetime) -> None:
        lead = award.data["responsible_lead"]
        portfolio = self._subject("lead", lead) or Portfolio.start(lead, now)
        portfolio.assign(award.data["agreement_id"], award.effective_on, award.event_id, now)
        self._collect(portfolio, f"portfolio of '{lead}'")

    # -- references ----------------------------------------------------------------------------
    def _active(
        self, field_name: str, kind: str, ref: str, day: str, *, ending_that_day: bool = False
    ) -> None:
        org: Organisation | None = self._subject(kind, ref)
        if org is None:
            raise UnknownReferenceError(field_name, kind, ref)
        state = org.state()
        why = state.inactive_reason(day)
        if why and ending_that_day and state.ended and state.ended.effective_on == day:
            why = None
        if why:
            raise InactiveReferenceError(field_name, kind, ref, day, why)

    def _exists(self, field_name: str, ref: str) -> Agreement:
        agreement = self.agreement(ref)
        if agreement is None:
            raise UnknownReferenceError(field_name, "agreement", ref)
        return agreement

    def _check_references(self, event: LedgerEvent) -> None:
        check_references(
            event,
            lambda where, kind, ref, day: self._active(field_name(where), kind, ref, day),
            self._exists,
        )

    # -- handovers -----------------------------------------------------------------------------
    def _hand_over(self, event: LedgerEvent, now: dt.datetime) -> Portfolio:
        d, day = event.data, event.effective_on
        from_lead, to_lead = d["from_lead"], d["to_lead"]
        source: Portfolio | None = None

        def holdings_on(on: str) -> list[str]:
            return source.holdings_on(on) if source else []

        def award_named_lead(field_name: str, ref: str) -> bool:
            award = self._exists(field_name, ref).facts[0].event
            return bool(award.data.get("responsible_lead"))

        def active(field_name: str, ref: str, on: str, ending_that_day: bool) -> None:
            self._active(field_name, "commissioner", ref, on, ending_that_day=ending_that_day)

        source = self._subject("lead", from_lead)
        moved, adopted = plan_handover(event, holdings_on, award_named_lead, active)
        if source is None:
            source = Portfolio.start(from_lead, now)
        source.check_handover(event, moved, adopted, now)
        source.hand_over(event, moved, adopted, now)
        self._collect(source, f"portfolio of '{from_lead}'")
        target = self._subject("lead", to_lead) or Portfolio.start(to_lead, now)
        target.receive(moved, day, event.event_id, now)
        self._collect(target, f"portfolio of '{to_lead}'")
        return source

    # -- corrections ---------------------------------------------------------------------------
    def _correct(self, event: LedgerEvent, now: dt.datetime) -> Any:
        d = event.data
        target_field = "corrects" if event.type == "Corrected" else "rescinds"
        target_id = d[target_field]
        if target_id not in self.looked_up and target_id not in self.known_ids:
            # not prefetched (an event added on its own): look the target up as add() looks up
            # the event itself
            self.known_ids.update(self._lookup([target_id]))
            self.looked_up.add(target_id)
        indexed = self.known_ids.get(target_id)
        if indexed is None:
            raise UnknownReferenceError(target_field, "event", target_id)
        subject: LedgerSubject | None = self.subjects.get(indexed.originator_id)
        if subject is None:
            subject = self._load(indexed.originator_id)
            self.subjects[indexed.originator_id] = subject
        assert subject is not None
        target = subject.ids[target_id].event
        if target.type in ("Corrected", "Rescinded") and not (
            event.type == "Rescinded" and target.type == "Corrected"
        ):
            raise InvalidCorrectionError(
                f"field '{target_field}' names event '{target_id}', a {target.type}; expected "
                "an event that is not itself a correction or rescission (a correction may be "
                "rescinded)"
            )
        for ref_field in ("agreement_id", "provider_id", "commissioner_id"):
            given = d.get(ref_field)
            if given is not None and target.data.get(ref_field) != given:
                raise InvalidFieldError(
                    ref_field,
                    f"the subject of event '{target_id}' "
                    f"({target.data.get(ref_field) or 'none of this kind'})",
                    given,
                )
        if isinstance(subject, Portfolio):
            return self._rescind_handover(subject, event, target, now)
        if event.type == "Corrected":
            self._check_references(corrected_event(target, d["fields"], strict=True))
        subject.check_with(event, now)  # type: ignore[attr-defined]
        subject.append(event, now)
        self._collect(subject, f"{subject.SUBJECT} '{target.subject_id}'")
        lead = target.data.get("responsible_lead")
        if event.type == "Rescinded" and target.type in AWARD_TYPES and lead:
            # the award never happened: nor did the lead's responsibility for it
            portfolio: Portfolio = self._subject("lead", lead)
            portfolio.rescind_receipt(target.event_id, now)
            self._collect(portfolio, f"portfolio of '{lead}'")
        return subject

    def _rescind_handover(
        self, portfolio: Portfolio, event: LedgerEvent, target: LedgerEvent, now: dt.datetime
    ) -> Portfolio:
        if event.type == "Corrected":
            raise InvalidCorrectionError(
                f"event '{target.event_id}' is a handover, which cannot be corrected; expected a "
                "Rescinded event and the handover recorded anew"
            )
        portfolio.append(event, now)
        self._collect(portfolio, f"portfolio of '{portfolio.lead}'")
        receiver: Portfolio = self._subject("lead", target.data["to_lead"])
        receiver.rescind_receipt(target.event_id, now)
        self._collect(receiver, f"portfolio of '{receiver.lead}'")
        return portfolio
