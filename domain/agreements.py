"""The Agreement aggregate: a grant, contract, SLA, call-off, alliance or lead-provider contract.

Its state is the fold of its timeline (`AgreementTerms`), so the same rules judge an event typed
today and one back-filled from a paper file of 2006.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from domain.catalogue import (
    AWARD_TYPES,
    CORRECTION_TYPES,
    DECISION_TYPES,
    ENDING_TYPES,
    LedgerEvent,
)
from domain.errors import (
    AgreementEndedError,
    EndBeforeStartError,
    EndNotLaterError,
    InvalidFieldError,
    NotAwardedError,
    RuleBrokenError,
)
from domain.subjects import LedgerSubject, declare_event_classes
from domain.timeline import Fact, fold, in_force
from domain.values import equal_shares, next_day, parse_provider_shares


@dataclass(frozen=True)
class Term:
    """One stretch of an agreement's life: from `start` to `end` inclusive, set by `event_id`."""

    start: str
    end: str
    event_id: str
    event_type: str


class Ending(NamedTuple):
    """What the rules need to know of the event that ended an agreement."""

    event_id: str
    type: str
    effective_on: str


@dataclass
class AgreementTerms:
    """An agreement as its timeline leaves it (built afresh by each fold, then only read)."""

    agreement_id: str
    award: LedgerEvent | None = None
    providers: tuple[dict[str, Any], ...] = ()
    commissioners: tuple[dict[str, Any], ...] = ()
    end: str = ""
    terms: tuple[Term, ...] = ()
    values: tuple[tuple[str, str], ...] = ()  # (applies_from, annual_value), in timeline order
    ended: LedgerEvent | None = None
    decisions: tuple[LedgerEvent, ...] = ()
    settlements: tuple[LedgerEvent, ...] = ()
    scope: str | None = None
    last: dict[str, str] = field(default_factory=dict)

    @property
    def start(self) -> str:
        return self.award.data["start"] if self.award else ""

    def annual_value_on(self, day: str) -> str:
        """The annual value in force on `day` (the awarded value before the term starts)."""
        value = self.values[0][1] if self.values else "0.00"
        best = ""
        for applies_from, amount in self.values:
            if applies_from <= day and applies_from >= best:
                value, best = amount, applies_from
        return value

    def status_on(self, day: str) -> str:
        """not_started, active, lapsed, or how it ended (terminated, decommissioned, expired)."""
        if self.award is None:
            return "rescinded"
        if self.ended is not None and self.ended.effective_on <= day:
            return self.ended.type.lower()
        if day < self.start:
            return "not_started"
        if day > self.end:
            return "lapsed"
        return "active"


# -- named checks: the rules an event must satisfy, shared by the fold below and the bulk path --


def check_one_award(agreement_id: str, award: LedgerEvent | None) -> None:
    if award is not None:
        raise RuleBrokenError(
            f"agreement '{agreement_id}' was already awarded by event "
            f"'{award.event_id}'; expected one award per agreement_id"
        )


def check_term(data: dict[str, Any]) -> None:
    if data["end"] < data["start"]:
        raise EndBeforeStartError(data["start"], data["end"])


def check_open(
    agreement_id: str, awarded: bool, ended: LedgerEvent | Ending | None, on: str
) -> None:
    """A life event needs an award in effect and no ending before it."""
    if not awarded:
        raise NotAwardedError(agreement_id, on)
    if ended is not None:
        raise AgreementEndedError(agreement_id, ended.event_id, ended.type, ended.effective_on)


def check_end_later(event_type: str, new_end: str, end: str) -> None:
    if new_end <= end:
        raise EndNotLaterError(event_type, new_end, end)


def check_variation_start(applies_from: str, start: str) -> None:
    if applies_from < start:
        raise RuleBrokenError(
            f"variation applies from {applies_from}, before the agreement starts on "
            f"{start}; expected a date on or after the start"
        )


def step(terms: AgreementTerms, event: LedgerEvent) -> AgreementTerms:
    """Apply one event of the timeline, checking the rules that event must satisfy."""
    data = event.data
    if event.type in AWARD_TYPES:
        check_one_award(terms.agreement_id, terms.award)
        check_term(data)
        terms.award = event
        terms.providers = tuple(data["providers"])
        terms.commissioners = tuple(data["commissioners"])
        terms.end = data["end"]
        terms.terms = (Term(data["start"], data["end"], event.event_id, event.type),)
        terms.values = ((data["start"], data["annual_value"]),)
        return terms
    check_open(terms.agreement_id, terms.award is not None, terms.ended, event.effective_on)
    if event.type in DECISION_TYPES:
        terms.decisions += (event,)
    if event.type in ("RolledOver", "Extended"):
        new_end = data["new_end"]
        check_end_later(event.type, new_end, terms.end)
        begins = next_day(terms.end)
        if data.get("annual_value") is not None:
            terms.values += ((begins, data["annual_value"]),)
        terms.terms += (Term(begins, new_end, event.event_id, event.type),)
        terms.end = new_end
        return terms
    if event.type == "Varied":
        applies_from = data.get("applies_from") or event.effective_on
        check_variation_start(applies_from, terms.start)
        if data.get("annual_value") is not None:
            terms.values += ((applies_from, data["annual_value"]),)
        terms.scope = data.get("scope", terms.scope)
        return terms
    if event.type == "Restructured":
        terms.providers = providers_after(terms.providers, data)
        terms.commissioners = commissioners_after(terms.commissioners, data)
        return terms
    if event.type == "FundingResponsibilityAgreed":
        terms.settlements += (event,)
    elif event.type in ENDING_TYPES:
        terms.ended = event
    return terms


def providers_after(
    providers: tuple[dict[str, Any], ...], data: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """Who delivers after a restructure, when the event says (a rule may refuse the change)."""
    change = data["change"]
    if data.get("providers") is not None:
        return tuple(data["providers"])
    if change in (
        "novated",
        "member_joined",
        "member_left",
        "subcontract_added",
        "subcontract_removed",
    ):
        pid = data.get("provider_id")
        if pid is None:
            raise InvalidFieldError(
                "provider_id",
                f"the provider concerned by '{change}' (or the new 'providers' list)",
                missing=True,
            )
        after = _providers_after(list(providers), change, pid)
        return tuple(parse_provider_shares("providers", after))
    return providers


def commissioners_after(
    commissioners: tuple[dict[str, Any], ...], data: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """Who commissions after a restructure, when the event says."""
    if data.get("commissioners") is not None:
        return tuple(data["commissioners"])
    if data["change"] == "moved_commissioner":
        cid = data.get("commissioner_id")
        if cid is None:
            raise InvalidFieldError(
                "commissioner_id",
                "the commissioner the agreement moves to (or the new 'commissioners' list)",
                missing=True,
            )
        return ({"commissioner_id": cid, "share": "1"},)
    return commissioners


def _providers_after(
    providers: list[dict[str, Any]], change: str, pid: str
) -> list[dict[str, Any]]:
    ids = [p["provider_id"] for p in providers]
    if change == "novated":
        subs = [p for p in providers if p["role"] == "subcontractor"]
        role = "lead" if subs else "sole"
        return [{"provider_id": pid, "role": role, "share": "1"}, *subs]
    if change == "subcontract_added":
        if pid in ids:
            raise RuleBrokenError(
                f"provider '{pid}' already works on this agreement; expected a new subcontractor"
            )
        if not any(p["role"] == "lead" for p in providers):
            raise RuleBrokenError(
                "a subcontract needs a lead provider; expected an agreement "
                "with a provider whose role is lead"
            )
        return [*providers, {"provider_id": pid, "role": "subcontractor"}]
    if change == "subcontract_removed":
        if not any(p["provider_id"] == pid and p["role"] == "subcontractor" for p in providers):
            raise RuleBrokenError(
                f"provider '{pid}' is not a subcontractor of this agreement; "
                "expected one of its subcontractors"
            )
        return [p for p in providers if p["provider_id"] != pid]
    members = [p for p in providers if p["role"] != "subcontractor"]
    subs = [p for p in providers if p["role"] == "subcontractor"]
    if change == "member_joined":
        if pid in ids:
            raise RuleBrokenError(f"provider '{pid}' is already a signatory; expected a new member")
        members = [*members, {"provider_id": pid, "role": "alliance_member"}]
    else:  # member_left
        if pid not in [m["provider_id"] for m in members]:
            raise RuleBrokenError(
                f"provider '{pid}' is not a signatory of this agreement; "
                "expected one of its members"
            )
        members = [m for m in members if m["provider_id"] != pid]
        if not members:
            raise RuleBrokenError("the last member cannot leave; expected a termination instead")
    shares = equal_shares(len(members))
    role = "alliance_member" if len(members) > 1 else "sole"
    members = [
        {**m, "role": role if m["role"] in ("alliance_member", "sole") else m["role"], "share": s}
        for m, s in zip(members, shares, strict=True)
    ]
    return members + subs


def agreement_terms(
    agreement_id: str, timeline: list[Fact], *, new_event_id: str | None = None
) -> AgreementTerms:
    """Fold a timeline into terms, checking every rule in effective-date order."""
    return fold(timeline, AgreementTerms(agreement_id), step, new_event_id=new_event_id)


class Agreement(LedgerSubject):
    """A grant or contract and everything that happened to it."""

    SUBJECT = "agreement"
    CREATED_BY = AWARD_TYPES

    @property
    def agreement_id(self) -> str:
        return str(self.facts[0].event.data["agreement_id"])

    def terms(self, *, known: dt.datetime | None = None) -> AgreementTerms:
        return agreement_terms(self.agreement_id, self.timeline(known=known))

    def check_with(self, event: LedgerEvent, recorded_at: dt.datetime) -> AgreementTerms:
        """The terms if `event` were added: refused, naming the broken event, if a rule fails.

        The usual case, an event later than everything before it and no corrections about, is
        one step from the terms already known; anything else (a back-fill, a correction) is a
        fold of the whole timeline with the event in its place."""
        cached = self.__dict__.get("_terms")
        if (
            cached is not None
            and cached[0] == self.version
            and event.type not in CORRECTION_TYPES
            and event.effective_on >= cached[2]
        ):
            terms = step(copy.copy(cached[1]), event)
        else:
            candidate = Fact(self.version + 1, event, recorded_at)
            terms = agreement_terms(
                self.agreement_id, in_force([*self.facts, candidate]), new_event_id=event.event_id
            )
        # remembered for the next event, which will find this one applied (version + 1); the
        # one-step shortcut holds only for an event at or after every effective date so far
        latest = max(event.effective_on, cached[2] if cached else self.latest_effective_on())
        if any(f.event.type in CORRECTION_TYPES for f in self.facts) or event.type in (
            CORRECTION_TYPES
        ):
            self.__dict__.pop("_terms", None)
        else:
            self.__dict__["_terms"] = (self.version + 1, copy.copy(terms), latest)
        return terms

    def latest_effective_on(self) -> str:
        """The latest effective date on the timeline (corrections included)."""
        return max((f.event.effective_on for f in self.facts), default="")


declare_event_classes(Agreement, "agreement")
