"""The contracts desk: every record about an agreement or a portfolio, with the model kept in step.

Why: awards, rollovers, restructures and handovers each change what later records may say (the
current end, the providers, who holds the agreement). Writing them only through these functions
keeps the generator's model equal to what the ledger's folds will compute.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from infra.generator.dates import DAY
from infra.generator.formats import commissioner_list, equal, money, share_text
from infra.generator.model import Deal
from infra.generator.world import World

_UNSET: Any = object()


def _check_live(
    w: World,
    day: dt.date,
    commissioners: list[tuple[str, Decimal]],
    providers: list[dict[str, Any]],
) -> None:
    for cid, _ in commissioners:
        if not w.commissioners[cid].active(day):
            raise AssertionError(f"generator bug: commissioner {cid} not active on {day}")
    for p in providers:
        if not w.providers[p["provider_id"]].active(day):
            raise AssertionError(f"generator bug: provider {p['provider_id']} not active on {day}")


def sole(provider_id: str) -> list[dict[str, Any]]:
    return [{"provider_id": provider_id, "role": "sole", "share": "1"}]


def award(
    w: World,
    day: dt.date,
    *,
    team: str,
    category: str,
    title: str,
    kind: str,
    route: str,
    stream: str,
    providers: list[dict[str, Any]],
    start: dt.date,
    end: dt.date,
    value: Decimal,
    style: str,
    commissioners: list[tuple[str, Decimal]] | None = None,
    lead: Any = _UNSET,
    rationale: str | None = None,
    source: str | None = None,
    by: str | None = None,
    at: dt.datetime | None = None,
    code: str | None = None,
) -> Deal:
    """A grant or contract is awarded; its responsible lead (if any) starts holding it."""
    t = w.teams[team]
    comms = commissioners or [(t.commissioner_id, Decimal(1))]
    _check_live(w, day, comms, providers)
    holder = t.lead if lead is _UNSET else lead
    aid = w.agreement_id(code or w.commissioners[t.commissioner_id].code, day)
    fields = {
        "agreement_id": aid,
        "kind": kind,
        "title": title,
        "service_category": category,
        "commissioners": commissioner_list(comms),
        "providers": providers,
        "annual_value": money(value),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "route": route,
        "funding_stream": stream,
        "responsible_lead": holder,
    }
    after = [f"c:{c}" for c, _ in comms] + [f"p:{p['provider_id']}" for p in providers]
    touch = [f"a:{aid}"] + ([f"l:{holder}"] if holder else [])
    event_id = w.journal.write(
        "GrantAwarded" if kind == "grant" else "ContractAwarded",
        day,
        by or holder or w.clerk(team),
        fields,
        rationale=rationale,
        source=source,
        after=after,
        touch=touch,
        at=at,
    )
    deal = Deal(
        aid,
        team,
        title,
        category,
        kind,
        route,
        stream,
        list(comms),
        [dict(p) for p in providers],
        start,
        end,
        value,
        style,
        day,
        event_id,
        holder,
    )
    w.deals[aid] = deal
    if holder:
        w.holdings.setdefault(holder, {})[aid] = None
    return deal


def _by(w: World, deal: Deal, by: str | None) -> str:
    return by or deal.holder or w.clerk(deal.team)


def _write(
    w: World,
    type_: str,
    day: dt.date,
    deal: Deal,
    fields: dict[str, Any],
    *,
    by: str | None = None,
    rationale: str | None = None,
    source: str | None = None,
    after: list[str] | None = None,
    at: dt.datetime | None = None,
) -> str:
    if deal.ended:
        raise AssertionError(f"generator bug: {type_} on ended agreement {deal.id}")
    if day < (deal.touched or deal.awarded_on):
        raise AssertionError(
            f"generator bug: {type_} on {deal.id} effective {day}, before its "
            f"latest record ({deal.touched or deal.awarded_on})"
        )
    deal.touched = day
    return w.journal.write(
        type_,
        day,
        _by(w, deal, by),
        {"agreement_id": deal.id, **fields},
        rationale=rationale,
        source=source,
        after=after or [],
        touch=[f"a:{deal.id}"],
        at=at,
    )


def roll_over(
    w: World,
    day: dt.date,
    deal: Deal,
    new_end: dt.date,
    rationale: str,
    *,
    value: Decimal | None = None,
    by: str | None = None,
    at: dt.datetime | None = None,
) -> str:
    assert new_end > deal.end, (deal.id, new_end, deal.end)
    fields: dict[str, Any] = {"new_end": new_end.isoformat()}
    if value is not None and value != deal.value:
        fields["annual_value"] = money(value)
        deal.value = value
    deal.end = new_end
    deal.renewals += 1
    return _write(w, "RolledOver", day, deal, fields, by=by, rationale=rationale, at=at)


def extend(
    w: World, day: dt.date, deal: Deal, new_end: dt.date, rationale: str, *, by: str | None = None
) -> str:
    assert new_end > deal.end, (deal.id, new_end, deal.end)
    deal.end = new_end
    deal.renewals += 1
    return _write(
        w, "Extended", day, deal, {"new_end": new_end.isoformat()}, by=by, rationale=rationale
    )


def vary(
    w: World,
    day: dt.date,
    deal: Deal,
    *,
    value: Decimal | None = None,
    scope: str | None = None,
    applies_from: dt.date | None = None,
    rationale: str | None = None,
    by: str | None = None,
) -> str:
    assert (applies_from or day) >= deal.start, (deal.id, applies_from, deal.start)
    if value is not None:
        deal.value = value
    return _write(
        w,
        "Varied",
        day,
        deal,
        {
            "annual_value": money(value) if value is not None else None,
            "scope": scope,
            "applies_from": applies_from.isoformat() if applies_from else None,
        },
        by=by,
        rationale=rationale,
    )


def restructure(
    w: World,
    day: dt.date,
    deal: Deal,
    change: str,
    related: list[str],
    *,
    provider_id: str | None = None,
    commissioner_id: str | None = None,
    providers: list[dict[str, Any]] | None = None,
    commissioners: list[tuple[str, Decimal]] | None = None,
    rationale: str | None = None,
    by: str | None = None,
) -> str:
    """Merged, split, novated, members or subcontractors changed, or moved commissioner."""
    _check_live(w, day, commissioners or [], providers or [])
    after = [f"a:{r}" for r in related]
    if provider_id:
        _check_live(w, day, [], [{"provider_id": provider_id}])
        after.append(f"p:{provider_id}")
    if commissioner_id:
        _check_live(w, day, [(commissioner_id, Decimal(1))], [])
        after.append(f"c:{commissioner_id}")
    after += [f"p:{p['provider_id']}" for p in providers or []]
    after += [f"c:{c}" for c, _ in commissioners or []]
    if providers is not None:
        deal.providers = [dict(p) for p in providers]
    elif provider_id is not None:
        deal.providers = providers_after(deal.providers, change, provider_id)
    if commissioners is not None:
        deal.commissioners = list(commissioners)
    elif change == "moved_commissioner" and commissioner_id:
        deal.commissioners = [(commissioner_id, Decimal(1))]
    return _write(
        w,
        "Restructured",
        day,
        deal,
        {
            "change": change,
            "related_agreements": related,
            "provider_id": provider_id,
            "commissioner_id": commissioner_id,
            "providers": providers,
            "commissioners": commissioner_list(commissioners) if commissioners else None,
        },
        by=by,
        rationale=rationale,
        after=after,
    )


def providers_after(providers: list[dict[str, Any]], change: str, pid: str) -> list[dict[str, Any]]:
    """The provider list the ledger computes for a change naming only `provider_id`."""
    subs = [p for p in providers if p["role"] == "subcontractor"]
    if change == "novated":
        return [{"provider_id": pid, "role": "lead" if subs else "sole", "share": "1"}, *subs]
    if change == "subcontract_added":
        return [*providers, {"provider_id": pid, "role": "subcontractor"}]
    if change == "subcontract_removed":
        return [p for p in providers if p["provider_id"] != pid]
    members = [p for p in providers if p["role"] != "subcontractor"]
    if change == "member_joined":
        members = [*members, {"provider_id": pid, "role": "alliance_member"}]
    else:
        members = [m for m in members if m["provider_id"] != pid]
    role = "alliance_member" if len(members) > 1 else "sole"
    return [
        {
            **m,
            "role": role if m["role"] in ("alliance_member", "sole") else m["role"],
            "share": share_text(s),
        }
        for m, s in zip(members, equal(len(members)), strict=True)
    ]


def reprocure(
    w: World,
    day: dt.date,
    deal: Deal,
    successor: Deal,
    retained: bool,
    *,
    rationale: str | None = None,
    by: str | None = None,
) -> str:
    return _write(
        w,
        "Reprocured",
        day,
        deal,
        {
            "successor_agreement_id": successor.id,
            "incumbent_retained": retained,
        },
        by=by,
        rationale=rationale,
        after=[f"a:{successor.id}"],
    )


def finish(
    w: World,
    day: dt.date,
    deal: Deal,
    type_: str,
    rationale: str | None,
    *,
    by: str | None = None,
    at: dt.datetime | None = None,
    source: str | None = None,
) -> str:
    """Terminated, Decommissioned or Expired: nothing but corrections after it."""
    event_id = _write(w, type_, day, deal, {}, by=by, rationale=rationale, at=at, source=source)
    deal.ended = True
    return event_id


def settle(
    w: World,
    day: dt.date,
    deal: Deal,
    shares: list[tuple[str, Decimal]],
    notes: str,
    *,
    applies_from: dt.date | None = None,
    by: str | None = None,
    rationale: str | None = None,
) -> str:
    _check_live(w, day, shares, [])
    return _write(
        w,
        "FundingResponsibilityAgreed",
        day,
        deal,
        {
            "commissioners": commissioner_list(shares),
            "notes": notes,
            "applies_from": applies_from.isoformat() if applies_from else None,
        },
        by=by,
        rationale=rationale,
        after=[f"c:{c}" for c, _ in shares],
    )


def hand_over(
    w: World,
    day: dt.date,
    from_lead: str,
    to_lead: str,
    *,
    rationale: str,
    notes: str | None = None,
    agreements: list[str] | None = None,
    from_commissioner: str | None = None,
    to_commissioner: str | None = None,
    by: str | None = None,
) -> str | None:
    """A portfolio (agreements=None) or named agreements pass from one lead to another.

    Returns None, writing nothing, when there is nothing to hand over.
    """
    held = w.holdings.setdefault(from_lead, {})
    if agreements is None:
        moved = list(held)
        if not moved:
            return None
    else:
        moved = list(dict.fromkeys(agreements))
        for aid in moved:
            deal = w.deals[aid]
            if aid not in held and deal.holder is not None:
                raise AssertionError(f"generator bug: {from_lead} does not hold {aid}")
        if not moved:
            return None
    for cid in (from_commissioner, to_commissioner):
        if cid and not w.commissioners[cid].active(day):
            raise AssertionError(f"generator bug: handover names inactive {cid} on {day}")
    after = [f"a:{a}" for a in moved] if agreements is not None else []
    after += [f"c:{c}" for c in (from_commissioner, to_commissioner) if c]
    event_id = w.journal.write(
        "HandedOver",
        day,
        by or to_lead,
        {
            "agreements": moved if agreements is not None else None,
            "portfolio_of": from_lead if agreements is None else None,
            "from_lead": from_lead,
            "to_lead": to_lead,
            "from_commissioner": from_commissioner,
            "to_commissioner": to_commissioner,
            "notes": notes,
        },
        rationale=rationale,
        after=after,
        touch=[f"l:{from_lead}", f"l:{to_lead}"],
    )
    target = w.holdings.setdefault(to_lead, {})
    for aid in moved:
        held.pop(aid, None)
        target[aid] = None
        w.deals[aid].holder = to_lead
    return event_id


def correct(
    w: World,
    day: dt.date,
    event_id: str,
    subject: tuple[str, str],
    fields: dict[str, Any],
    *,
    by: str,
    rationale: str,
    lag_days: int | None = None,
) -> str:
    field_name, ref = subject
    key = {"agreement_id": "a", "provider_id": "p", "commissioner_id": "c"}[field_name] + ":" + ref
    return w.journal.write(
        "Corrected",
        day,
        by,
        {"corrects": event_id, "fields": fields, field_name: ref},
        rationale=rationale,
        touch=[key],
        lag_days=lag_days,
    )


def rescind(
    w: World,
    day: dt.date,
    event_id: str,
    subject: tuple[str, str],
    *,
    by: str,
    rationale: str,
    lag_days: int | None = None,
) -> str:
    field_name, ref = subject
    key = {"agreement_id": "a", "provider_id": "p", "commissioner_id": "c"}[field_name] + ":" + ref
    return w.journal.write(
        "Rescinded",
        day,
        by,
        {"rescinds": event_id, field_name: ref},
        rationale=rationale,
        touch=[key],
        lag_days=lag_days,
    )


def after_end(deal: Deal) -> dt.date:
    return deal.end + DAY
