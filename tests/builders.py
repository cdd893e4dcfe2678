"""Small builders of native-format records, so each test states only what matters to it."""

from __future__ import annotations

import itertools
from typing import Any

from domain.catalogue import LedgerEvent, parse_event

_ids = itertools.count(1)


def next_id(prefix: str = "t") -> str:
    return f"{prefix}{next(_ids)}"


def rec(type_: str, effective_on: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": fields.pop("event_id", None) or next_id(),
        "type": type_,
        "effective_on": effective_on,
        "recorded_by": fields.pop("recorded_by", "tester"),
    }
    record.update(fields)
    return record


def ev(type_: str, effective_on: str, **fields: Any) -> LedgerEvent:
    return parse_event(rec(type_, effective_on, **fields))


def commissioner(
    cid: str = "council-a", on: str = "2005-04-01", kind: str = "council", **kw: Any
) -> LedgerEvent:
    return ev("CommissionerEstablished", on, commissioner_id=cid, name=cid.title(), kind=kind, **kw)


def provider(
    pid: str = "mind-a",
    on: str = "2005-04-01",
    sector: str = "third_sector",
    size_band: str = "medium",
    **kw: Any,
) -> LedgerEvent:
    return ev(
        "ProviderRegistered",
        on,
        provider_id=pid,
        name=pid.title(),
        sector=sector,
        size_band=size_band,
        **kw,
    )


def award(
    aid: str = "g-1",
    on: str = "2006-04-01",
    *,
    start: str | None = None,
    end: str = "2007-03-31",
    value: str = "40000.00",
    providers: list[dict[str, Any]] | None = None,
    commissioners: list[dict[str, Any]] | None = None,
    route: str = "grant_round",
    lead: str | None = "j.smith",
    type_: str = "GrantAwarded",
    kind: str = "grant",
    category: str = "advocacy",
    **kw: Any,
) -> LedgerEvent:
    fields: dict[str, Any] = {
        "agreement_id": aid,
        "kind": kind,
        "title": f"Agreement {aid}",
        "service_category": category,
        "commissioners": commissioners or [{"commissioner_id": "council-a", "share": "1"}],
        "providers": providers or [{"provider_id": "mind-a", "role": "sole", "share": "1"}],
        "annual_value": value,
        "start": start or on,
        "end": end,
        "route": route,
        "funding_stream": "social_care",
    }
    if lead:
        fields["responsible_lead"] = lead
    if route == "direct_award":
        kw.setdefault("rationale", "only provider with the specialist skills")
    fields.update(kw)
    return ev(type_, on, **fields)


def basics() -> list[LedgerEvent]:
    """A council and a charity, the minimum an award needs."""
    return [commissioner(), provider()]
