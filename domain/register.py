"""The agreement register: every agreement as of a date in the world, as known at a time.

A pure fold over stored facts (no database): the CLI's `agreements` list and the handover
questions ("who is responsible for this now?") read it.

It also holds the one definition of an agreement's status on a day (DESIGN.md, "Rules in time"),
which `projections.standing` computes the same way over the event frame (tests hold the two
to each other):
- ended (`terminated`, `decommissioned`, `expired`) once such an event has taken effect;
- `not_started` before its start, `active` from its start to its end inclusive;
- past its end with no ending recorded and no decision since its last term was set (a
  `Reprocured`, or a `Restructured` that merges, splits or novates, after the award, rollover
  or extension that set the end): `lapsed` for the grace period of `GRACE_DAYS` days after the
  end, then `ended_without_record`: views treat it as ended on its end date. A decision since
  the last term ends the lapse at once: the service was passed on or replaced, so the question
  a lapse asks ("is it still running?") has been answered.

Why a grace period: published histories (registers, 360Giving, OCDS) seldom record an expiry;
a grant that ended in 2014 is not "held" today. `ended_without_record` is the ledger's reading
of a silence, never a recorded fact, so the rules refuse nothing because of it: a rollover or
extension recorded later (retrospectively, however long after the end) is accepted as for a
lapsed agreement, and the agreement is active again under its new term from the day it takes
effect. Only a recorded `Terminated`, `Decommissioned` or `Expired` closes an agreement to
further life events.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from domain.agreements import AgreementTerms, agreement_terms
from domain.catalogue import LedgerEvent
from domain.timeline import Fact, in_force

GRACE_DAYS = 365
# the restructures that pass an agreement's service on to others: decisions about it
LINKING_CHANGES = ("merged_into", "split_into", "novated")
ENDED_STATUSES = frozenset({"terminated", "decommissioned", "expired", "ended_without_record"})
OPEN_STATUSES = frozenset({"active", "not_started", "lapsed"})
STATUSES = (
    "active",
    "not_started",
    "lapsed",
    "ended_without_record",
    "terminated",
    "decommissioned",
    "expired",
    "rescinded",
)


class StoredFactLike(Protocol):
    @property
    def notification_id(self) -> int: ...
    @property
    def event(self) -> LedgerEvent: ...
    @property
    def recorded_at(self) -> dt.datetime: ...
    @property
    def moved(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RegisterEntry:
    terms: AgreementTerms
    status: str
    annual_value: str
    responsible_lead: str | None

    def row(self) -> dict[str, Any]:
        award = self.terms.award
        data = award.data if award else {}
        return {
            "agreement_id": self.terms.agreement_id,
            "title": data.get("title"),
            "kind": data.get("kind"),
            "service_category": data.get("service_category"),
            "status": self.status,
            "start": data.get("start"),
            "end": self.terms.end or None,
            "annual_value": self.annual_value,
            "route": data.get("route"),
            "responsible_lead": self.responsible_lead,
            "source": award.source if award else None,
        }


def build_register(
    facts: Iterable[StoredFactLike], *, as_of: dt.date, known_at: dt.datetime | None = None
) -> list[RegisterEntry]:
    """Every agreement known at `known_at`, its terms as of `as_of`, in agreement-id order."""
    day = as_of.isoformat()
    by_agreement: dict[str, list[Fact]] = defaultdict(list)
    by_lead: dict[str, list[Fact]] = defaultdict(list)
    moved: dict[str, tuple[str, ...]] = {}
    owner: dict[str, tuple[str, str]] = {}  # event_id -> ("agreement" | "lead", subject)
    for f in facts:
        if known_at is not None and f.recorded_at > known_at:
            continue
        ev = f.event
        kind: str = ev.spec.subject
        if kind == "target":
            found = owner.get(ev.data.get("corrects") or ev.data.get("rescinds") or "")
            if found is None:
                continue
            kind, ref = found
        elif kind == "agreement":
            ref = ev.data["agreement_id"]
        elif kind == "lead":
            ref = ev.data["from_lead"]
            moved[ev.event_id] = f.moved
        else:
            continue
        owner[ev.event_id] = (kind, ref)
        fact = Fact(f.notification_id, ev, f.recorded_at)
        (by_agreement if kind == "agreement" else by_lead)[ref].append(fact)
    handovers = _handovers_in_force(by_lead, day)
    entries = []
    for agreement_id in sorted(by_agreement):
        timeline = [f for f in in_force(by_agreement[agreement_id]) if f.event.effective_on <= day]
        terms = agreement_terms(agreement_id, timeline)
        if terms.award is None:
            # not yet in effect on `as_of`, or rescinded
            if any(f.event.type.endswith("Awarded") for f in in_force(by_agreement[agreement_id])):
                continue
            entries.append(RegisterEntry(terms, "rescinded", "0.00", None))
            continue
        lead = terms.award.data.get("responsible_lead")
        for handover in handovers:
            if agreement_id in moved.get(handover.event_id, ()):
                lead = handover.data["to_lead"]
        status = status_on(terms, day)
        entries.append(RegisterEntry(terms, status, terms.annual_value_on(day), lead))
    return entries


def status_on(terms: AgreementTerms, day: str) -> str:
    """The agreement's status on `day` (module docstring), from terms folded over the events
    effective by `day`: `AgreementTerms.status_on`, with a lapse past its grace period, or
    after a decision since the last term, told apart as `ended_without_record`."""
    status = terms.status_on(day)
    if status != "lapsed":
        return status
    past = (dt.date.fromisoformat(day) - dt.date.fromisoformat(terms.end)).days
    if past > GRACE_DAYS or decided_since_last_term(terms) is not None:
        return "ended_without_record"
    return "lapsed"


def decided_since_last_term(terms: AgreementTerms) -> LedgerEvent | None:
    """The first decision about the agreement after the event that set its current end (the
    award, or the last rollover or extension) other than an ending: a re-procurement, or a
    restructure that merges, splits or novates it (DESIGN.md, Rules in time)."""
    setter = terms.terms[-1].event_id if terms.terms else None
    ids = [d.event_id for d in terms.decisions]
    since = ids.index(setter) + 1 if setter in ids else 0  # an award is no decision
    for event in terms.decisions[since:]:
        if event.type == "Reprocured" or (
            event.type == "Restructured" and event.data.get("change") in LINKING_CHANGES
        ):
            return event
    return None


def _handovers_in_force(by_lead: dict[str, list[Fact]], day: str) -> list[LedgerEvent]:
    all_facts = [f for facts in by_lead.values() for f in facts]
    kept = [
        f
        for f in in_force(all_facts)
        if f.event.type == "HandedOver" and f.event.effective_on <= day
    ]
    return [f.event for f in kept]
