"""A contract split in two, and three small contracts merged into one hub under a lead provider.

Why: lineages (an agreement and its successors) must survive `split_into` and `merged_into`;
these are the restructures that otherwise break the thread of who has delivered what since when.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.world import World

D = dt.date
TEAM = "kelham-cc/mh"
SPOKES = (
    ("acmh-kelham", "Independent mental health advocacy for BME communities - Kelham", 45_000),
    (
        "kelham-deaf-wellbeing",
        "Independent mental health advocacy for Deaf people - Kelham",
        38_000,
    ),
    ("voices-together", "Community mental health advocacy - Kelham", 30_000),
)


def schedule(w: World) -> None:
    w.at(D(2008, 9, 1), _housing_support, priority=4)
    w.at(
        D(2012, 1, 20),
        _extend_housing,
        D(2013, 3, 31),
        "extended while the Supporting People budget is reviewed",
        priority=4,
    )
    w.at(
        D(2013, 1, 10),
        _extend_housing,
        D(2015, 3, 31),
        "extended for two years while the housing-related support review completes",
        priority=4,
    )
    w.at(D(2015, 1, 15), _split, priority=4)
    w.at(D(2016, 2, 1), _spokes, priority=4)
    w.at(D(2019, 1, 21), _hub, priority=4)
    w.at(D(2020, 6, 1), _hub_change, "subcontract_added", "voices-together", priority=4)
    w.at(D(2023, 5, 2), _hub_change, "subcontract_removed", "acmh-kelham", priority=4)


def _housing_support(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="supported_housing",
        title="Housing-related support for people with mental health problems",
        kind="contract",
        route="competitive_tender",
        stream="social_care",
        providers=desk.sole("nm-housing"),
        start=D(2009, 4, 1),
        end=D(2012, 3, 31),
        value=Decimal(1_850_000),
        style="story",
        source="Supporting People tender 2008, lot 3",
    )
    w.named["housing-support"] = deal.id


def _extend_housing(w: World, day: dt.date, new_end: dt.date, why: str) -> None:
    desk.extend(w, day, w.deals[w.named["housing-support"]], new_end, why)


def _split(w: World, day: dt.date) -> None:
    old = w.deals[w.named["housing-support"]]
    why = f"created by splitting contract {old.id}"
    parts = [
        desk.award(
            w,
            day,
            team=TEAM,
            category="supported_housing",
            title="Accommodation-based supported housing - Kelham",
            kind="contract",
            route="direct_award",
            stream="social_care",
            providers=desk.sole("nm-housing"),
            start=D(2015, 4, 1),
            end=D(2018, 3, 31),
            value=Decimal(1_120_000),
            style="contract",
            rationale=why + "; the provider owns the accommodation",
        ),
        desk.award(
            w,
            day,
            team=TEAM,
            category="supported_housing",
            title="Floating support for people with mental health problems - Kelham",
            kind="contract",
            route="competitive_tender",
            stream="social_care",
            providers=desk.sole("pathways-trust"),
            start=D(2015, 4, 1),
            end=D(2018, 3, 31),
            value=Decimal(540_000),
            style="contract",
        ),
    ]
    desk.restructure(
        w,
        day,
        old,
        "split_into",
        [p.id for p in parts],
        rationale="accommodation-based and floating support commissioned separately",
    )
    old.fate = "expiring"
    w.at(old.end + dt.timedelta(days=1), lifecycle.expire, old.id, priority=1)
    for part in parts:
        lifecycle.schedule(w, part, day)


def _spokes(w: World, day: dt.date) -> None:
    for i, (provider, title, value) in enumerate(SPOKES):
        deal = desk.award(
            w,
            day,
            team=TEAM,
            category="advocacy",
            title=title,
            kind="contract",
            route="direct_award" if i else "competitive_tender",
            stream="social_care",
            providers=desk.sole(provider),
            start=D(2016, 4, 1),
            end=D(2019, 3, 31),
            value=Decimal(value),
            style="story",
            rationale="specialist advocacy; the only provider with the language and community links"
            if i
            else None,
        )
        w.named[f"spoke-{i}"] = deal.id


def _hub(w: World, day: dt.date) -> None:
    hub = desk.award(
        w,
        day,
        team=TEAM,
        category="advocacy",
        title="Kelham Integrated Advocacy Hub",
        kind="lead_provider",
        route="competitive_tender",
        stream="social_care",
        providers=[
            {"provider_id": "kelham-advocacy", "role": "lead", "share": "1"},
            {"provider_id": "acmh-kelham", "role": "subcontractor"},
            {"provider_id": "kelham-deaf-wellbeing", "role": "subcontractor"},
        ],
        start=D(2019, 4, 1),
        end=D(2022, 3, 31),
        value=Decimal(140_000),
        style="keep",
        source="Contracts Finder notice 418223",
    )
    w.named["advocacy-hub"] = hub.id
    for i in range(len(SPOKES)):
        spoke = w.deals[w.named[f"spoke-{i}"]]
        desk.restructure(
            w,
            day,
            spoke,
            "merged_into",
            [hub.id],
            rationale="specialist advocacy brought together in one hub",
        )
        spoke.fate = "expiring"
        w.at(spoke.end + dt.timedelta(days=1), lifecycle.expire, spoke.id, priority=1)
    lifecycle.schedule(w, hub, day)


def _hub_change(w: World, day: dt.date, change: str, provider_id: str) -> None:
    hub = w.deals[w.named["advocacy-hub"]]
    if hub.open and w.providers[provider_id].active(day):
        desk.restructure(
            w,
            day,
            hub,
            change,
            [],
            provider_id=provider_id,
            rationale="supply chain change agreed with the lead provider",
        )
