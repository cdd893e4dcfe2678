"""New business: which services each team buys each year, from whom, on what terms and values.

Why: the market views (shares, concentration, diversity, entry and exit) need a plausible mix:
councils giving grants to small charities and tendering housing and home support, NHS bodies
buying therapies and crisis care, specialised commissioners spot-purchasing secure beds; values
that fit the provider's size; more business where more people live.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from infra.generator import desk, lifecycle, texts
from infra.generator.dates import DAY, between, fy_end, fy_of, fy_start, next_month_start, term_end
from infra.generator.formats import rounded, step_for
from infra.generator.model import Deal, Provider
from infra.generator.world import World

D = dt.date


@dataclass(frozen=True)
class Line:
    """A service a team buys: category, weight, funding stream and a typical annual value."""

    category: str
    weight: float
    stream: str
    low: int
    high: int


REMITS: dict[str, tuple[Line, ...]] = {
    "council_mh": (
        Line("supported_housing", 4, "social_care", 60_000, 900_000),
        Line("advocacy", 2.5, "social_care", 15_000, 220_000),
        Line("day_activities", 3, "social_care", 4_000, 110_000),
        Line("employment_support", 2, "social_care", 25_000, 300_000),
        Line("recovery", 2, "social_care", 30_000, 350_000),
        Line("peer_support", 2.5, "social_care", 3_000, 60_000),
        Line("advice_and_counselling", 2, "social_care", 8_000, 150_000),
        Line("domiciliary_care", 1.5, "social_care", 120_000, 1_400_000),
        Line("residential_care", 2, "social_care", 38_000, 95_000),
        Line("prevention_and_personalisation", 1, "social_care", 40_000, 250_000),
    ),
    "carers": (Line("carers_support", 1, "social_care", 8_000, 320_000),),
    "public_health": (
        Line("advice_and_counselling", 2, "public_health", 10_000, 200_000),
        Line("prevention_and_personalisation", 2, "public_health", 20_000, 180_000),
        Line("peer_support", 1, "public_health", 5_000, 60_000),
    ),
    "nhs_mh": (
        Line("iapt", 2, "nhs", 250_000, 3_200_000),
        Line("crisis_support", 2, "nhs", 80_000, 1_500_000),
        Line("advice_and_counselling", 2, "nhs", 40_000, 400_000),
        Line("peer_support", 1.2, "nhs", 15_000, 150_000),
        Line("employment_support", 1, "nhs", 80_000, 500_000),
        Line("recovery", 1, "nhs", 40_000, 300_000),
        Line("acute_inpatient", 1.5, "nhs", 150_000, 420_000),
        Line("prevention_and_personalisation", 0.8, "public_health", 20_000, 180_000),
    ),
    "specialised": (
        Line("secure_care", 3, "nhs", 160_000, 480_000),
        Line("eating_disorders", 1.5, "nhs", 90_000, 260_000),
    ),
}

BAND_CAP = {"micro": 9_500, "small": 95_000, "medium": 950_000, "large": 6_000_000}
BAND_FLOOR = {"large": 60_000, "major": 150_000}
TENDER_WEIGHT = {
    "micro": 0.6,
    "small": 1.2,
    "medium": 2.0,
    "large": 3.0,
    "major": 3.2,
    "unknown": 0.8,
}
GRANT_WEIGHT = {
    "micro": 2.0,
    "small": 2.5,
    "medium": 1.6,
    "large": 0.8,
    "major": 0.5,
    "unknown": 1.0,
}
NHS_ONLY = ("acute_inpatient", "community_mental_health", "early_intervention_psychosis")


def schedule_years(w: World, first_year: int, last_year: int) -> None:
    """For each financial year, schedule each team's new awards on random days of that year."""
    for year in range(first_year, last_year + 1):
        w.at(fy_start(year), _plan_year, year, priority=3)


def _plan_year(w: World, day: dt.date, year: int) -> None:
    rng = w.rng
    era = lifecycle.era(day)
    for key, team in w.teams.items():
        if team.until is not None and team.until <= day:
            continue
        factor = {"growth": 1.0, "austerity": 0.75, "recent": 0.95}[era]
        for _ in range(_poisson(rng, team.rate * factor)):
            when = between(rng, fy_start(year), fy_end(year) - dt.timedelta(days=30))
            if team.remit in ("council_mh", "carers") and rng.random() < 0.45:
                when = between(rng, D(year + 1, 1, 15), D(year + 1, 3, 15))  # the grant round
            w.at(when, new_award, key, priority=6)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method with the world's random source (reproducible)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def new_award(w: World, day: dt.date, team_key: str) -> None:
    team = w.teams[team_key]
    if not team.active(day) or not w.commissioner_of(team_key).active(day):
        return
    rng = w.rng
    lines = REMITS[team.remit]
    line = rng.choices(lines, weights=[ln.weight for ln in lines])[0]
    era = lifecycle.era(day)
    kind, route, style = _instrument(w, day, team.remit, line)
    sectors = ("third_sector", "unknown") if kind == "grant" else None
    pool = w.candidates(line.category, team.area, day, sectors)
    if line.category in NHS_ONLY and team.remit == "nhs_mh" and line.category != "acute_inpatient":
        pool = [p for p in pool if p.sector == "nhs"] or pool
    if not pool:
        return
    weights = GRANT_WEIGHT if kind == "grant" else TENDER_WEIGHT
    provider = rng.choices(pool, weights=[weights.get(p.band, 1.0) for p in pool])[0]
    start, end = _term(w, day, style)
    lead = team.lead if rng.random() > (0.18 if style == "spot" else 0.05) else None
    rationale = texts.say(rng, texts.DIRECT_AWARD) if route == "direct_award" else None
    source = _source(w, day, route)
    stream = line.stream if era != "growth" or line.stream != "public_health" else "nhs"
    if day < D(2009, 4, 1) and rng.random() < 0.05:
        stream = "unknown"
    deal = desk.award(
        w,
        day,
        team=team_key,
        category=line.category,
        title=texts.title(
            rng,
            line.category,
            team.area if team.area != "all" else rng.choice(("kelham", "brayford", "stanmoor")),
        ),
        kind=kind,
        route=route,
        stream=stream,
        providers=desk.sole(provider.id),
        start=start,
        end=end,
        value=value_for(w, line, provider),
        style=style,
        lead=lead,
        rationale=rationale,
        source=source,
    )
    lifecycle.schedule(w, deal, day)


def _instrument(w: World, day: dt.date, remit: str, line: Line) -> tuple[str, str, str]:
    """(kind, route, style) as the era and the remit make likely."""
    rng, era = w.rng, lifecycle.era(day)
    if remit == "specialised" or line.category in ("residential_care", "acute_inpatient"):
        if rng.random() < 0.7:
            return "spot", "spot", "spot"
        return "framework_call_off", "framework", "spot"
    grant_share = {"growth": 0.72, "austerity": 0.35, "recent": 0.18}[era]
    if remit == "nhs_mh":
        grant_share /= 3
    if rng.random() < grant_share:
        route = rng.choices(
            ("grant_round", "direct_award", "unknown"),
            weights=(0.78, 0.14, 0.08 if era == "growth" else 0.0),
        )[0]
        return "grant", route, "grant"
    if rng.random() < 0.06:
        return "sla", "direct_award", "sla"
    route = rng.choices(
        ("competitive_tender", "direct_award", "framework", "unknown"),
        weights=(0.64, 0.26, 0.06, 0.04 if era == "growth" else 0.0),
    )[0]
    kind = "framework_call_off" if route == "framework" else "contract"
    return kind, route, "contract"


def _term(w: World, day: dt.date, style: str) -> tuple[dt.date, dt.date]:
    rng = w.rng
    if style in ("grant", "sla"):
        start = fy_start(fy_of(day) + 1) if day.month in (1, 2, 3) else next_month_start(day)
        return start, fy_end(fy_of(start))
    if style == "spot":
        start = day + dt.timedelta(days=rng.randint(3, 21))
        return start, term_end(start, rng.choice((6, 9, 12, 12, 18)))
    start = next_month_start(day, rng.randint(1, 4))
    return start, term_end(start, rng.choice((24, 36, 36, 36, 48, 60)))


def value_for(w: World, line: Line, provider: Provider) -> Decimal:
    """Log-uniform in the line's range, then kept within what the provider's size allows."""
    rng = w.rng
    value = math.exp(rng.uniform(math.log(line.low), math.log(line.high)))
    value = min(value, BAND_CAP.get(provider.band, value))
    value = max(value, BAND_FLOOR.get(provider.band, 0))
    return rounded(value, step_for(value))


def _source(w: World, day: dt.date, route: str) -> str | None:
    rng = w.rng
    if route == "competitive_tender" and day >= D(2015, 2, 26) and rng.random() < 0.7:
        return f"Contracts Finder notice {rng.randint(100000, 999999)}"
    if route == "competitive_tender" and rng.random() < 0.5:
        return f"Tender evaluation report {day.year}/{rng.randint(1, 40):02d}"
    if route == "grant_round" and rng.random() < 0.6:
        return f"Grant offer letter, grants panel {day:%B %Y}"
    return None


def successor(w: World, day: dt.date, deal: Deal) -> tuple[Deal | None, bool]:
    """Award the contract that replaces `deal` after a competition; (successor, retained)."""
    rng = w.rng
    team = w.teams[deal.team]
    if not team.active(day) or not w.commissioner_of(deal.team).active(day):
        return None, False
    incumbent = w.providers[deal.main_provider()]
    keep = {"micro": 0.3, "small": 0.38, "medium": 0.5, "large": 0.65, "major": 0.7}
    retained = incumbent.active(day) and rng.random() < keep.get(incumbent.band, 0.5)
    if not retained:
        pool = [
            p
            for p in w.candidates(deal.category, team.area, day)
            if p.id != incumbent.id and (deal.category not in NHS_ONLY or p.sector == "nhs")
        ]
        if not pool:
            retained = incumbent.active(day)
            if not retained:
                return None, False
        else:
            incumbent = rng.choices(pool, weights=[TENDER_WEIGHT.get(p.band, 1) for p in pool])[0]
    start = deal.end + DAY if deal.end >= day else next_month_start(day)
    end = term_end(start, rng.choice((36, 36, 36, 48, 60)))
    factor = rng.uniform(0.85, 1.15)
    value = rounded(float(deal.value) * factor, step_for(float(deal.value) * factor))
    if incumbent.band in BAND_CAP:
        value = min(value, Decimal(BAND_CAP[incumbent.band]))
    route = "competitive_tender" if deal.kind != "grant" or rng.random() < 0.8 else "grant_round"
    kind = "contract" if route == "competitive_tender" else "grant"
    new = desk.award(
        w,
        day,
        team=deal.team,
        category=deal.category,
        title=deal.title,
        kind=kind,
        route=route,
        stream=deal.stream,
        providers=desk.sole(incumbent.id),
        start=start,
        end=end,
        value=value,
        style="contract" if kind == "contract" else "grant",
        commissioners=list(deal.commissioners),
        source=_source(w, day, route),
    )
    return new, retained


def replacement(w: World, day: dt.date, grant: Deal) -> None:
    """A decommissioned grant replaced by a tendered contract (no formal link: the lineage is
    lost, as it was in practice)."""
    rng = w.rng
    team = w.teams[grant.team]
    when = day + dt.timedelta(days=rng.randint(40, 150))
    if when > w.last_day:
        return
    pool = w.candidates(grant.category, team.area, when)
    if not pool:
        return
    provider = rng.choices(pool, weights=[TENDER_WEIGHT.get(p.band, 1.0) for p in pool])[0]
    start = max(grant.end + DAY, next_month_start(when, 2))
    factor = rng.uniform(0.7, 1.1)
    value = rounded(float(grant.value) * factor, step_for(float(grant.value) * factor))
    if provider.band in BAND_CAP:
        value = min(value, Decimal(BAND_CAP[provider.band]))
    w.at(when, _replace, grant.id, provider.id, start, value, priority=6)


def _replace(
    w: World, day: dt.date, grant_id: str, provider_id: str, start: dt.date, value: Decimal
) -> None:
    grant = w.deals[grant_id]
    team = w.teams[grant.team]
    if not team.active(day) or not w.providers[provider_id].active(day):
        return
    deal = desk.award(
        w,
        day,
        team=grant.team,
        category=grant.category,
        title=grant.title.replace(" - ", " (tendered) - ", 1),
        kind="contract",
        route="competitive_tender",
        stream=grant.stream,
        providers=desk.sole(provider_id),
        start=start,
        end=term_end(start, 36),
        value=value,
        style="contract",
        source=f"Tender replacing decommissioned grant {grant_id}",
    )
    lifecycle.schedule(w, deal, day)


def legacy(w: World, day: dt.date) -> None:
    """What was already running when the ledger opened: the 2005/06 grant round and contracts
    let in 2002-2004, typed in during the ledger's first weeks."""
    rng = w.rng
    for key, team in w.teams.items():
        if not team.active(day) or team.remit == "specialised":
            continue
        if team.remit in ("council_mh", "carers"):
            for _ in range(round(team.rate * 1.8)):
                new_award(w, between(rng, D(2005, 1, 17), D(2005, 3, 18)), key)
        for _ in range(round(team.rate * 0.9)):
            new_award(w, between(rng, D(2002, 6, 1), D(2005, 2, 28)), key)
