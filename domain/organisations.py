"""Commissioning organisations and providers: who buys, who delivers, and how they change.

Both are folds of their timelines; `OrganisationState.active_on` answers the rule every award and
restructure relies on: the organisations it names existed and had not closed, merged or been
abolished on its effective date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from domain.catalogue import LedgerEvent
from domain.errors import NotYetEstablishedError, SubjectEndedError
from domain.subjects import LedgerSubject, declare_event_classes
from domain.timeline import Fact, fold, in_force

_ENDINGS = {
    "CommissionerMerged": "merged",
    "CommissionerAbolished": "abolished",
    "ProviderMerged": "merged",
    "ProviderClosed": "closed",
}


@dataclass(frozen=True)
class OrganisationState:
    """A commissioner or provider as its timeline leaves it."""

    kind: str
    ref: str
    created: LedgerEvent | None = None
    name: str = ""
    attributes: tuple[tuple[str, Any], ...] = ()
    ended: LedgerEvent | None = None

    def attribute(self, name: str) -> Any:
        return dict(self.attributes).get(name)

    def inactive_reason(self, day: str) -> str | None:
        """Why the organisation could not be named on `day`, or None when it could."""
        if self.created is None:
            return "was rescinded"
        if day < self.created.effective_on:
            return f"was not established until {self.created.effective_on}"
        if self.ended is not None and self.ended.effective_on <= day:
            return f"was {_ENDINGS[self.ended.type]} on {self.ended.effective_on}"
        return None


def step(state: OrganisationState, event: LedgerEvent) -> OrganisationState:
    if state.created is None:
        if event.type not in ("CommissionerEstablished", "ProviderRegistered"):
            raise NotYetEstablishedError(state.kind, state.ref, event.effective_on, "(never)")
        attrs = tuple((k, v) for k, v in event.data.items() if k not in ("name",))
        return replace(state, created=event, name=event.data["name"], attributes=attrs)
    if event.effective_on < state.created.effective_on:
        raise NotYetEstablishedError(
            state.kind, state.ref, event.effective_on, state.created.effective_on
        )
    if state.ended is not None:
        raise SubjectEndedError(
            state.kind,
            state.ref,
            state.ended.event_id,
            _ENDINGS[state.ended.type],
            state.ended.effective_on,
        )
    if event.type.endswith("Renamed"):
        return replace(state, name=event.data["name"])
    if event.type == "ProviderReclassified":
        changed = dict(state.attributes)
        changed.update({k: event.data[k] for k in ("sector", "size_band") if k in event.data})
        return replace(state, attributes=tuple(changed.items()))
    if event.type in _ENDINGS:
        return replace(state, ended=event)
    return state


class Organisation(LedgerSubject):
    """Shared behaviour of commissioners and providers."""

    def state(self, *, known: dt.datetime | None = None) -> OrganisationState:
        if known is None:
            # awards ask the same organisation again and again: fold once per version
            cached = self.__dict__.get("_state")
            if cached is not None and cached[0] == self.version:
                return cached[1]  # type: ignore[no-any-return]
        state = fold(self.timeline(known=known), OrganisationState(self.SUBJECT, self.ref), step)
        if known is None:
            self.__dict__["_state"] = (self.version, state)
        return state

    @property
    def ref(self) -> str:
        return str(self.facts[0].event.subject_id)

    def check_with(self, event: LedgerEvent, recorded_at: dt.datetime) -> OrganisationState:
        candidate = Fact(self.version + 1, event, recorded_at)
        return fold(
            in_force([*self.facts, candidate]),
            OrganisationState(self.SUBJECT, self.ref),
            step,
            new_event_id=event.event_id,
        )


class Commissioner(Organisation):
    """A PCT, SHA, CCG, ICB, NHS England, council, CSU or other public buyer."""

    SUBJECT = "commissioner"
    CREATED_BY = frozenset({"CommissionerEstablished"})


class Provider(Organisation):
    """An NHS trust, third-sector organisation or private firm that delivers services."""

    SUBJECT = "provider"
    CREATED_BY = frozenset({"ProviderRegistered"})


declare_event_classes(Commissioner, "commissioner")
declare_event_classes(Provider, "provider")
