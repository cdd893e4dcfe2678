"""Providers change: trusts become foundation trusts, charities rebrand, grow and shrink; a
community trust and a carers' charity merge into larger ones (their agreements novated); a
small peer-support group closes.

Why: market views count entry, exit and sector and size mix over time; novation keeps a merged
provider's agreements alive under the successor, so lineages and tenure survive the merger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from infra.generator import desk, lifecycle, orgs
from infra.generator.formats import share_text
from infra.generator.world import World

D = dt.date

RENAMES = (
    (D(2008, 10, 1), "kelham-mh-trust", "Kelham Mental Health NHS Foundation Trust"),
    (D(2010, 6, 1), "bs-partnership", "Brayford and Stanmoor Partnership NHS Foundation Trust"),
    (D(2016, 4, 1), "kelham-mh-trust", "Kelham Health and Care NHS Foundation Trust"),
    (D(2019, 6, 1), "kelham-mind", "Mind in Kelham"),
)
RECLASSIFIED: tuple[tuple[dt.date, str, str | None, str | None, str], ...] = (
    (
        D(2012, 5, 1),
        "northside-hub",
        "third_sector",
        "small",
        "registered as a charity; accounts show income of about £60k",
    ),
    (D(2014, 4, 1), "rise-recovery", None, "small", "annual income passed £10k"),
    (D(2016, 9, 1), "stanmoor-mind", None, "small", "income fell after grant cuts"),
    (D(2018, 4, 1), "bridges-coop", None, "large", "income passed £1m"),
    (D(2019, 6, 1), "kelham-advocacy", None, "large", "income passed £1m with the advocacy hub"),
    (
        D(2020, 11, 1),
        "brightpath",
        "third_sector",
        None,
        "converted from a private company to a charitable company",
    ),
)


def schedule(w: World) -> None:
    for day, pid, name in RENAMES:
        w.at(day, _rename, pid, name, priority=3)
    for day, pid, sector, band, why in RECLASSIFIED:
        w.at(day, _reclassify, pid, sector, band, why, priority=3)
    w.at(D(2011, 5, 16), _older_people_cmht, priority=4)
    w.at(D(2013, 9, 16), _street_triage, priority=4)
    w.at(
        D(2016, 4, 1),
        _merge,
        "kelham-community-trust",
        "kelham-mh-trust",
        "Kelham Community Health Services NHS Trust acquired by the mental health foundation trust",
        priority=2,
    )
    w.at(D(2008, 3, 3), _hearing_voices_grant, priority=4)
    w.at(D(2017, 6, 16), _hearing_voices_close, priority=4)
    w.at(
        D(2017, 10, 1),
        _merge,
        "stanmoor-carers",
        "carers-first",
        "Stanmoor Carers Centre merged into Carers First North Midlands",
        priority=2,
    )


def _rename(w: World, day: dt.date, pid: str, name: str) -> None:
    orgs.rename_provider(w, day, pid, name, source="Companies House / NHS Digital ODS update")


def _reclassify(
    w: World, day: dt.date, pid: str, sector: str | None, band: str | None, why: str
) -> None:
    if w.providers[pid].active(day):
        orgs.reclassify(w, day, pid, sector=sector, band=band, rationale=why)


def _older_people_cmht(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="kelham-pct/mh",
        category="community_mental_health",
        title="Community mental health services for older people - Kelham",
        kind="contract",
        route="competitive_tender",
        stream="nhs",
        providers=desk.sole("kelham-community-trust"),
        start=D(2011, 7, 1),
        end=D(2014, 6, 30),
        value=Decimal(1_480_000),
        style="contract",
    )
    lifecycle.schedule(w, deal, day)


def _street_triage(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="kelham-central-ccg/mh",
        category="crisis_support",
        title="Street triage and crisis liaison - Kelham",
        kind="contract",
        route="competitive_tender",
        stream="nhs",
        providers=desk.sole("kelham-community-trust"),
        start=D(2013, 10, 1),
        end=D(2016, 9, 30),
        value=Decimal(620_000),
        style="contract",
    )
    lifecycle.schedule(w, deal, day)


def novated(providers: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    """The provider list with `old` replaced by `new` (shares added if `new` is there already)."""
    out: list[dict[str, Any]] = []
    rank = {"lead": 0, "sole": 0, "alliance_member": 1, "subcontractor": 2}
    for p in providers:
        entry = {**p, "provider_id": new} if p["provider_id"] == old else dict(p)
        twin = next((o for o in out if o["provider_id"] == entry["provider_id"]), None)
        if twin is None:
            out.append(entry)
            continue
        if rank[entry["role"]] < rank[twin["role"]]:
            twin["role"] = entry["role"]
        if "share" in entry or "share" in twin:
            total = Decimal(twin.get("share") or 0) + Decimal(entry.get("share") or 0)
            twin["share"] = share_text(total)
    return out


def _merge(w: World, day: dt.date, old: str, new: str, why: str) -> None:
    for deal in w.deals_with_provider(old):
        if deal.ended:
            continue
        if deal.providers == desk.sole(old) or (
            deal.main_provider() == old
            and len([p for p in deal.providers if p["role"] != "subcontractor"]) == 1
            and new not in deal.provider_ids()
        ):
            desk.restructure(
                w,
                day,
                deal,
                "novated",
                [],
                provider_id=new,
                rationale=f"novated to the successor provider: {why}",
            )
        else:
            desk.restructure(
                w,
                day,
                deal,
                "novated",
                [],
                providers=novated(deal.providers, old, new),
                rationale=f"novated to the successor provider: {why}",
            )
    orgs.merge_provider(w, day, old, new, rationale=why)


def _hearing_voices_grant(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="stanmoor-mbc/mh",
        category="peer_support",
        title="Hearing voices peer support group - Stanmoor",
        kind="grant",
        route="grant_round",
        stream="social_care",
        providers=desk.sole("stanmoor-hearing-voices"),
        start=D(2008, 4, 1),
        end=D(2009, 3, 31),
        value=Decimal(4_500),
        style="keep",
    )
    lifecycle.schedule(w, deal, day)


def _hearing_voices_close(w: World, day: dt.date) -> None:
    """The group loses its volunteers and closes; its grants end first."""
    for deal in w.deals_with_provider("stanmoor-hearing-voices"):
        if not deal.ended:
            deal.token += 1
            desk.finish(
                w,
                day,
                deal,
                "Terminated",
                "provider ceased operating: the group's volunteers could not continue",
            )
    orgs.close_provider(
        w, day, "stanmoor-hearing-voices", rationale="group wound up; bank account closed"
    )
