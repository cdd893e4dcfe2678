"""The agreement register: every agreement as of a date in the world, as known at a time.

A pure fold over stored facts (no database): the CLI's `agreements` list and the handover
questions ("who is responsible for this now?") read it.
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

ENDED_STATUSES = frozenset({"terminated", "decommissioned", "expired"})
STATUSES = (
    "active",
    "not_started",
    "lapsed",
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
        entries.append(RegisterEntry(terms, terms.status_on(day), terms.annual_value_on(day), lead))
    return entries


def _handovers_in_force(by_lead: dict[str, list[Fact]], day: str) -> list[LedgerEvent]:
    all_facts = [f for facts in by_lead.values() for f in facts]
    kept = [
        f
        for f in in_force(all_facts)
        if f.event.type == "HandedOver" and f.event.effective_on <= day
    ]
    return [f.event for f in kept]
