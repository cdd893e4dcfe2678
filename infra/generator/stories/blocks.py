"""The NHS block contracts with the local mental health trusts, and the secure-care block with
the forensic trust: large, rolled over every year for two decades.

Why: block contracts with NHS trusts are most of NHS mental health spend and the longest runs of
non-competitive renewal; two PCTs' duplicate blocks are merged after the 2006 PCT merger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.dates import DAY
from infra.generator.world import World

D = dt.date
WHY = (
    "annual NHS contract with the local mental health trust: no alternative provider of "
    "statutory secondary mental health care"
)

BLOCKS = (
    # name, team, provider, category, title, value
    (
        "kepct-cmht",
        "kelham-east-pct/mh",
        "kelham-mh-trust",
        "community_mental_health",
        "Adult community mental health services (block) - Kelham East",
        13_700_000,
    ),
    (
        "kepct-inpatient",
        "kelham-east-pct/mh",
        "kelham-mh-trust",
        "acute_inpatient",
        "Acute adult inpatient mental health services (block) - Kelham East",
        17_100_000,
    ),
    (
        "kwpct-cmht",
        "kelham-west-pct/mh",
        "kelham-mh-trust",
        "community_mental_health",
        "Adult community mental health services (block) - Kelham West",
        12_700_000,
    ),
    (
        "kwpct-inpatient",
        "kelham-west-pct/mh",
        "kelham-mh-trust",
        "acute_inpatient",
        "Acute adult inpatient mental health services (block) - Kelham West",
        15_700_000,
    ),
    (
        "bpct-cmht",
        "brayford-pct/mh",
        "bs-partnership",
        "community_mental_health",
        "Adult community mental health services (block) - Brayford",
        5_600_000,
    ),
    (
        "bpct-inpatient",
        "brayford-pct/mh",
        "bs-partnership",
        "acute_inpatient",
        "Acute adult inpatient mental health services (block) - Brayford",
        7_400_000,
    ),
    (
        "spct-block",
        "stanmoor-pct/mh",
        "bs-partnership",
        "community_mental_health",
        "Mental health services block contract - Stanmoor",
        8_900_000,
    ),
    (
        "sha-secure",
        "kd-sha/spec",
        "ravensmoor-ft",
        "secure_care",
        "Medium secure services (block) - North Midlands",
        6_200_000,
    ),
)


def schedule(w: World) -> None:
    w.at(D(2005, 4, 1), _award_blocks, priority=3)
    w.at(D(2007, 1, 22), _eip, priority=4)
    w.at(D(2007, 2, 14), _merge_duplicates, priority=4)


def _award_blocks(w: World, day: dt.date) -> None:
    for name, team, provider, category, title, value in BLOCKS:
        deal = desk.award(
            w,
            D(2005, 3, 14),
            team=team,
            category=category,
            title=title,
            kind="contract",
            route="direct_award",
            stream="nhs",
            providers=desk.sole(provider),
            start=D(2005, 4, 1),
            end=D(2006, 3, 31),
            value=Decimal(value),
            style="block",
            rationale=WHY,
            source="NHS standard contract 2005/06",
        )
        w.named[name] = deal.id
        lifecycle.schedule(w, deal, day)


def _eip(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="kelham-pct/mh",
        category="early_intervention_psychosis",
        title="Early intervention in psychosis service - Kelham",
        kind="contract",
        route="direct_award",
        stream="nhs",
        providers=desk.sole("kelham-mh-trust"),
        start=D(2007, 4, 1),
        end=D(2008, 3, 31),
        value=Decimal(2_350_000),
        style="block",
        rationale="national policy implementation guide requires "
        "an EIP team; the trust hosts the existing pilot",
        source="Local Delivery Plan 2007/08",
    )
    lifecycle.schedule(w, deal, day)


def _merge_duplicates(w: World, day: dt.date) -> None:
    """After the PCT merger, Kelham West's blocks are folded into Kelham East's."""
    for west, east in (("kwpct-cmht", "kepct-cmht"), ("kwpct-inpatient", "kepct-inpatient")):
        w_deal, e_deal = w.deals[w.named[west]], w.deals[w.named[east]]
        if not w_deal.open or not e_deal.open:
            continue
        w_deal.token += 1  # no more decisions of its own
        desk.restructure(
            w,
            day,
            w_deal,
            "merged_into",
            [e_deal.id],
            rationale="one block contract per service after the PCT merger",
        )
        desk.vary(
            w,
            day,
            e_deal,
            value=e_deal.value + w_deal.value,
            applies_from=w_deal.end + DAY,
            rationale="Kelham West activity added from the merged contract",
            scope="covers the whole of Kelham after the merger",
        )
        w.at(w_deal.end + DAY, lifecycle.expire, w_deal.id, priority=1)
        w_deal.fate = "expiring"
