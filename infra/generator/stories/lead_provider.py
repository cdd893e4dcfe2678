"""A lead-provider employment pathway and its supply chain of subcontractors.

Why: one large contract whose lead passes work down; subcontractors join and leave
(`subcontract_added` / `subcontract_removed`) without any new award, so the supply chain's
history exists only in the ledger. A value variation is mistyped and corrected a week later.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.world import World

D = dt.date


def schedule(w: World) -> None:
    w.at(D(2016, 8, 10), _award, priority=4)
    w.at(D(2017, 11, 1), _mistyped_variation, priority=4)
    w.at(D(2018, 1, 15), _subcontract, "subcontract_added", "thrive-employment", priority=4)
    w.at(D(2019, 5, 20), _subcontract, "subcontract_removed", "step-forward", priority=4)


def _award(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team="kelham-cc/mh",
        category="employment_support",
        title="Kelham Employment Pathway (lead provider)",
        kind="lead_provider",
        route="competitive_tender",
        stream="social_care",
        providers=[
            {"provider_id": "working-minds", "role": "lead", "share": "1"},
            {"provider_id": "bridges-coop", "role": "subcontractor"},
            {"provider_id": "step-forward", "role": "subcontractor"},
        ],
        start=D(2016, 10, 1),
        end=D(2019, 9, 30),
        value=Decimal(780_000),
        style="keep",
        source="Tender evaluation report 2016/11: employment pathway lot 1",
    )
    w.named["employment-pathway"] = deal.id
    lifecycle.schedule(w, deal, day)


def _mistyped_variation(w: World, day: dt.date) -> None:
    deal = w.deals[w.named["employment-pathway"]]
    if not deal.open or day + dt.timedelta(days=7) > w.last_day:
        return
    by = deal.holder or w.clerk(deal.team)
    wrong = desk.vary(
        w,
        day,
        deal,
        value=Decimal(8_200_000),
        applies_from=D(2017, 12, 1),
        rationale="additional places for people leaving secondary care",
        by=by,
    )
    right = Decimal(820_000)
    desk.correct(
        w,
        day + dt.timedelta(days=7),
        wrong,
        ("agreement_id", deal.id),
        {"annual_value": "820000.00"},
        by=by,
        rationale="value mistyped (an extra zero); the variation letter says £820,000",
    )
    deal.value = right


def _subcontract(w: World, day: dt.date, change: str, provider_id: str) -> None:
    deal = w.deals[w.named["employment-pathway"]]
    if deal.open:
        desk.restructure(
            w,
            day,
            deal,
            change,
            [],
            provider_id=provider_id,
            rationale="supply chain change notified by the lead provider",
        )
