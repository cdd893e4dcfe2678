"""A Section 75 pooled budget, and a funding settlement a later commissioner disregards.

Why: pooled funds split spend between NHS and council partners by contribution share, and move
with every reform (PCT to CCG to ICB). Settlements on who pays are exactly what DOMAIN.md says
gets lost: a 2011 agreement between council and PCT is ignored by the CCG that replaced the PCT,
and renegotiated in 2015.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.world import World

D = dt.date


def schedule(w: World) -> None:
    w.at(D(2008, 2, 20), _section_75, priority=4)
    w.at(D(2011, 6, 10), _young_adult_carers, priority=4)
    w.at(D(2011, 9, 14), _settlement, priority=4)
    w.at(D(2015, 3, 10), _renegotiated, priority=4)


def _section_75(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="brayford-pct/mh",
        category="community_mental_health",
        title="Brayford integrated community mental health services (Section 75 pooled budget)",
        kind="contract",
        route="direct_award",
        stream="pooled",
        commissioners=[("brayford-mbc", Decimal("0.35")), ("brayford-pct", Decimal("0.65"))],
        providers=desk.sole("bs-partnership"),
        start=D(2008, 4, 1),
        end=D(2009, 3, 31),
        value=Decimal(4_900_000),
        style="keep",
        rationale="Section 75 partnership agreement (NHS Act 2006): integrated teams hosted by "
        "the trust, council and PCT money pooled",
        source="Section 75 agreement, schedule 2",
    )
    w.named["section-75"] = deal.id
    lifecycle.schedule(w, deal, day)


def _young_adult_carers(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="stanmoor-mbc/carers",
        category="carers_support",
        title="Young adult carers support - Stanmoor",
        kind="grant",
        route="grant_round",
        stream="social_care",
        providers=desk.sole("stanmoor-young-carers"),
        start=D(2011, 7, 1),
        end=D(2012, 3, 31),
        value=Decimal(42_000),
        style="keep",
    )
    w.named["young-adult-carers"] = deal.id
    lifecycle.schedule(w, deal, day)


def _settlement(w: World, day: dt.date) -> None:
    deal = w.deals[w.named["young-adult-carers"]]
    desk.settle(
        w,
        day,
        deal,
        [("stanmoor-mbc", Decimal("0.5")), ("stanmoor-pct", Decimal("0.5"))],
        "Joint commissioning board: the PCT funds half, because the service prevents "
        "carer breakdown and hospital admissions. Minuted; no separate agreement signed.",
        applies_from=D(2011, 7, 1),
    )


def _renegotiated(w: World, day: dt.date) -> None:
    deal = w.deals[w.named["young-adult-carers"]]
    if deal.ended:
        return
    shares = [("stanmoor-mbc", Decimal("0.85")), ("stanmoor-ccg", Decimal("0.15"))]
    desk.settle(
        w,
        day,
        deal,
        shares,
        "The CCG's new lead had no record of the 2011 settlement with the PCT and "
        "declined to honour it. After six months of dispute the council agreed to carry "
        "85% from April 2015; the CCG pays 15%.",
        applies_from=D(2015, 4, 1),
        rationale="renegotiated after the PCT's successor disregarded the 2011 settlement",
    )
