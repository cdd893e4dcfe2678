"""A commissioning lead's portfolio: which agreements a lead is responsible for, and handovers.

`HandedOver` events live on the portfolio of the lead handing over. The portfolio also keeps
book-keeping events that are not native events (never exported): `Assigned` when an award names
the lead, `Received` when a handover passes agreements to the lead, `ReceiptRescinded` when that
handover is rescinded. They let a handover of "the whole portfolio of X on D" be resolved, and
"a handover starts from whoever is responsible" be checked, without scanning the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate

from domain.catalogue import LedgerEvent
from domain.errors import BackfillConflictError, HandoverError, InvalidFieldError
from domain.subjects import LedgerSubject, declare_event_classes, subject_uuid
from domain.timeline import Fact, in_force


class Movement(NamedTuple):
    """Agreements coming into (+) or going out of (-) a portfolio on a date."""

    on: str
    seq: int
    sign: int
    agreements: tuple[str, ...]
    event_id: str  # the award or handover behind it
    adopted: tuple[str, ...] = ()


def _by_date(m: Movement) -> tuple[str, int]:
    return (m.on, m.seq)


def holdings(movements: Iterable[Movement], day: str) -> list[str]:
    """Agreements held at the end of `day`, given movements in (date, version) order."""
    held: dict[str, None] = {}
    for m in movements:
        if m.on > day:
            break
        for a in m.agreements:
            if m.sign > 0:
                held[a] = None
            else:
                held.pop(a, None)
    return list(held)


def check_replay(movements: Iterable[Movement], lead: str, new_event_id: str) -> None:
    """Every handover, replayed in (date, version) order, starts from agreements the lead
    holds or adopts; a broken one refuses the new handover, naming it when it is another."""
    held: set[str] = set()
    for m in movements:
        if m.sign > 0:
            held.update(m.agreements)
            continue
        missing = [a for a in m.agreements if a not in held and a not in m.adopted]
        if missing:
            reason = (
                f"lead '{lead}' is not responsible for agreement '{missing[0]}' on "
                f"{m.on}; expected the handover to start from the lead responsible then"
            )
            if m.event_id != new_event_id:
                raise BackfillConflictError(new_event_id, m.event_id, "HandedOver", reason)
            raise HandoverError(reason)
        held.difference_update(m.agreements)


def plan_handover(
    event: LedgerEvent,
    holdings_on: Callable[[str], list[str]],
    award_named_lead: Callable[[str, str], bool],
    active: Callable[[str, str, str, bool], None],
) -> tuple[list[str], list[str]]:
    """The agreements a handover moves, and those it adopts (no one was responsible for them),
    refusing a malformed one. `holdings_on(day)`: what the lead handing over holds;
    `award_named_lead(field, ref)`: whether an agreement's award named a lead (refusing an
    unknown agreement); `active(field, ref, day, ending_that_day)`: refuses a commissioner not
    active that day."""
    d, day = event.data, event.effective_on
    from_lead, to_lead = d["from_lead"], d["to_lead"]
    if from_lead == to_lead:
        raise InvalidFieldError("to_lead", "a lead other than from_lead", to_lead)
    if ("agreements" in d) == ("portfolio_of" in d):
        raise InvalidFieldError(
            "agreements",
            "either 'agreements' or 'portfolio_of' (one of them)",
            missing="agreements" not in d,
        )
    if d.get("from_commissioner"):
        # a reform hands over on the very day the old body ends
        active("from_commissioner", d["from_commissioner"], day, True)
    if d.get("to_commissioner"):
        active("to_commissioner", d["to_commissioner"], day, False)
    if "portfolio_of" in d:
        if d["portfolio_of"] != from_lead:
            raise InvalidFieldError(
                "portfolio_of", f"the lead handing over ('{from_lead}')", d["portfolio_of"]
            )
        moved = holdings_on(day)
        if not moved:
            raise HandoverError(
                f"lead '{from_lead}' holds no agreements on {day}; expected "
                "the portfolio of a lead responsible for some"
            )
        return moved, []
    moved = list(dict.fromkeys(d["agreements"]))
    held = set(holdings_on(day))
    adopted = [
        ref  # nobody was responsible: the handover adopts it
        for i, ref in enumerate(moved)
        if not award_named_lead(f"agreements[{i}]", ref) and ref not in held
    ]
    return moved, adopted


@dataclass
class PortfolioBook:
    """A portfolio kept compact for bulk imports: its movements, not its events. Answers what
    `Portfolio` answers (holdings on a day, whether a handover fits) by the same replay."""

    lead: str
    version: int = 0
    moves: list[Movement] = field(default_factory=list)
    oid: str = ""  # the portfolio's aggregate id (hex)
    rescinded: set[str] = field(default_factory=set)  # receipts and handovers rescinded

    def movements(self, extra: Movement | None = None) -> list[Movement]:
        live = [m for m in self.moves if m.event_id not in self.rescinded]
        if extra is not None:
            live.append(extra)
        return sorted(live, key=_by_date)

    def holdings_on(self, day: str) -> list[str]:
        return holdings(self.movements(), day)

    def check_handover(self, event: LedgerEvent, moved: list[str], adopted: list[str]) -> None:
        candidate = Movement(
            event.effective_on, self.version + 1, -1, tuple(moved), event.event_id, tuple(adopted)
        )
        check_replay(self.movements(candidate), self.lead, event.event_id)

    @classmethod
    def of(cls, portfolio: Portfolio) -> PortfolioBook:
        """The book of a portfolio loaded from the store."""
        book = cls(portfolio.lead, portfolio.version, list(portfolio.incoming), portfolio.id.hex)
        book.rescinded.update(portfolio.rescinded_receipts)
        for fact in portfolio.facts:
            event = fact.event
            if event.type == "HandedOver":
                moved, adopted = portfolio.moves.get(event.event_id, ((), ()))
                book.moves.append(
                    Movement(event.effective_on, fact.seq, -1, moved, event.event_id, adopted)
                )
            elif event.type == "Rescinded":
                book.rescinded.add(event.data["rescinds"])
        return book


class Portfolio(LedgerSubject):
    """The agreements one commissioning lead answers for."""

    SUBJECT = "lead"
    CREATED_BY = frozenset({"Opened"})

    class Opened(Aggregate.Created):
        lead: str

    class Assigned(Aggregate.Event):
        agreement_id: str
        on: str
        award_event_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.incoming.append(
                Movement(
                    self.on, self.originator_version, 1, (self.agreement_id,), self.award_event_id
                )
            )

    class Received(Aggregate.Event):
        agreements: list[str]
        on: str
        handover_event_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.incoming.append(
                Movement(
                    self.on,
                    self.originator_version,
                    1,
                    tuple(self.agreements),
                    self.handover_event_id,
                )
            )

    class ReceiptRescinded(Aggregate.Event):
        """An award or handover that brought agreements into this portfolio was rescinded."""

        handover_event_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.rescinded_receipts.add(self.handover_event_id)

    class HandedOver(LedgerSubject.Recorded):
        moved: list[str]
        adopted: list[str]

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.moves[self.event_id] = (tuple(self.moved), tuple(self.adopted))

    def __init__(self, lead: str) -> None:
        super().__init__()
        self.lead = lead
        self.incoming: list[Movement] = []
        self.rescinded_receipts: set[str] = set()
        self.moves: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    @classmethod
    def start(cls, lead: str, recorded_at: dt.datetime) -> Portfolio:
        portfolio: Portfolio = cls._create(
            cls.Opened, id=subject_uuid("lead", lead), timestamp=recorded_at, lead=lead
        )
        return portfolio

    def assign(
        self, agreement_id: str, on: str, award_event_id: str, recorded_at: dt.datetime
    ) -> None:
        self.trigger_event(
            self.Assigned,
            timestamp=recorded_at,
            agreement_id=agreement_id,
            on=on,
            award_event_id=award_event_id,
        )

    def receive(
        self, agreements: list[str], on: str, handover_event_id: str, recorded_at: dt.datetime
    ) -> None:
        self.trigger_event(
            self.Received,
            timestamp=recorded_at,
            agreements=agreements,
            on=on,
            handover_event_id=handover_event_id,
        )

    def rescind_receipt(self, handover_event_id: str, recorded_at: dt.datetime) -> None:
        """The award or handover that brought agreements here was rescinded."""
        self.trigger_event(
            self.ReceiptRescinded, timestamp=recorded_at, handover_event_id=handover_event_id
        )

    def hand_over(
        self, event: LedgerEvent, moved: list[str], adopted: list[str], recorded_at: dt.datetime
    ) -> None:
        self.append(event, recorded_at, moved=moved, adopted=adopted)

    def movements(self, facts: list[Fact]) -> list[Movement]:
        out = [m for m in self.incoming if m.event_id not in self.rescinded_receipts]
        for fact in in_force(facts):
            if fact.event.type == "HandedOver":
                moved, adopted = self.moves.get(fact.event.event_id, ((), ()))
                out.append(
                    Movement(
                        fact.event.effective_on, fact.seq, -1, moved, fact.event.event_id, adopted
                    )
                )
        return sorted(out, key=_by_date)

    def holdings_on(self, day: str, *, known: dt.datetime | None = None) -> list[str]:
        """Agreements this lead held at the end of `day`."""
        facts = [f for f in self.facts if known is None or f.recorded_at <= known]
        return holdings(self.movements(facts), day)

    def check_handover(
        self, event: LedgerEvent, moved: list[str], adopted: list[str], recorded_at: dt.datetime
    ) -> None:
        """Refuse a handover of agreements the lead does not hold, or one that would make a later
        handover start from the wrong lead."""
        self.moves[event.event_id] = (tuple(moved), tuple(adopted))
        try:
            candidate = Fact(self.version + 1, event, recorded_at)
            check_replay(self.movements([*self.facts, candidate]), self.lead, event.event_id)
        finally:
            del self.moves[event.event_id]


declare_event_classes(Portfolio, "lead")
