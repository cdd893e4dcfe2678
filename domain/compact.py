"""Compact per-subject state for bulk imports: what the rules need to judge the next event, and
nothing more.

An import of ten million events cannot keep every event of every subject in memory; what the
rules read of a subject is small: an agreement's term, whether and how it ended, who delivers
it, the latest effective date on its timeline, its version; an organisation's state; a lead's
movements (`PortfolioBook`). A subject whose timeline holds a correction is marked `corrected`:
its next event is judged on its whole timeline, read back from the store, as `Agreement.check_with`
judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.agreements import Agreement, Ending
from domain.catalogue import CORRECTION_TYPES, LedgerEvent
from domain.organisations import Organisation, OrganisationState

_SHARED: dict[Any, tuple[dict[str, Any], ...]] = {}
_DAYS: dict[str, str] = {}


def shared_date(iso: str) -> str:
    """One string per date: millions of agreements keep a few dates each, from a few thousand."""
    return _DAYS.setdefault(iso, iso)


def shared_providers(providers: Any) -> tuple[dict[str, Any], ...]:
    """One tuple for every agreement whose only provider is the same sole one: most agreements
    have one, and a national ledger has millions of agreements but thousands of providers."""
    if len(providers) == 1 and len(providers[0]) == 3:
        p = providers[0]
        key = (p.get("provider_id"), p.get("role"), p.get("share"))
        if None not in key:
            found = _SHARED.get(key)
            if found is None:
                found = _SHARED[key] = (p,)
            return found
    return tuple(providers)


class AgreementState:
    """An agreement as the rules see it after its latest event."""

    __slots__ = (
        "oid",
        "version",
        "last",
        "start",
        "end",
        "ended",
        "providers",
        "lead",
        "corrected",
    )

    def __init__(self, oid: str, award: LedgerEvent) -> None:
        data = award.data
        self.oid = oid
        self.version = 1
        self.last = shared_date(award.effective_on)
        self.start: str = shared_date(data["start"])
        self.end: str = shared_date(data["end"])
        self.ended: Ending | None = None
        self.providers = shared_providers(data["providers"])
        self.lead = bool(data.get("responsible_lead"))
        self.corrected = False

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementState:
        """The state of an agreement read back from the store."""
        state = cls(agreement.id.hex, agreement.facts[0].event)
        state.version = agreement.version
        state.last = shared_date(max(f.event.effective_on for f in agreement.facts))
        state.corrected = any(f.event.type in CORRECTION_TYPES for f in agreement.facts)
        if not state.corrected:
            terms = agreement.terms()
            state.end = shared_date(terms.end)
            ended = terms.ended
            state.ended = Ending(ended.event_id, ended.type, ended.effective_on) if ended else None
            state.providers = shared_providers(terms.providers)
        return state


@dataclass
class OrganisationEntry:
    """A commissioner or provider as the rules see it after its latest event."""

    oid: str
    version: int
    last: str
    state: OrganisationState
    corrected: bool = False

    @classmethod
    def of(cls, organisation: Organisation) -> OrganisationEntry:
        facts = organisation.facts
        return cls(
            organisation.id.hex,
            organisation.version,
            max(f.event.effective_on for f in facts),
            organisation.state(),
            any(f.event.type in CORRECTION_TYPES for f in facts),
        )
