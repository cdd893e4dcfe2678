"""Paper grants from 2006-2009 typed in during 2016 from an archive box.

Why: back-filling is a main use of the ledger (DESIGN.md): these records are effective a decade
before they were recorded, so "as known at 2015" and "as known today" disagree about 2007, and
some of them say no more than the paper did (route unknown, no named lead).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, texts
from infra.generator.dates import DAY, between, fy_end, fy_start
from infra.generator.formats import rounded
from infra.generator.world import World

D = dt.date
TEAM = "brayford-mbc/mh"
CLERK = "records.project@brayford.gov.uk"
SOURCE = "Paper grant file, Brayford archive box {box}"
CATEGORIES = (
    "peer_support",
    "day_activities",
    "advice_and_counselling",
    "advocacy",
    "carers_support",
    "recovery",
    "supported_housing",
)


def schedule(w: World) -> None:
    w.at(D(2016, 2, 8), _type_in_archive, priority=4)


def _type_in_archive(w: World, day: dt.date) -> None:
    rng = w.rng
    clock = w.journal.typed_in(day, lag_days=0)
    for n in range(16):
        clock += dt.timedelta(minutes=rng.randint(4, 25))
        if n and n % 6 == 0:
            clock += dt.timedelta(days=rng.randint(1, 10))
        year = rng.randint(2005, 2008)
        category = rng.choice(CATEGORIES)
        start = fy_start(year)
        awarded = between(rng, D(year, 1, 20), D(year, 3, 20))
        pool = [
            p
            for p in w.providers.values()
            if p.since <= awarded
            and (p.until is None or p.until > fy_end(year + 3))
            and p.sector in ("third_sector", "unknown")
            and p.serves(category, "brayford")
        ]
        if not pool:
            continue
        provider = rng.choice(pool)
        lead = w.lead_on(TEAM, awarded) if rng.random() < 0.6 else None
        value = rounded(rng.uniform(2_000, 60_000), 250)
        box = rng.randint(11, 16)
        deal = desk.award(
            w,
            awarded,
            team=TEAM,
            category=category,
            title=texts.title(rng, category, "brayford"),
            kind="grant",
            route=rng.choice(("grant_round", "grant_round", "unknown")),
            stream=rng.choice(("social_care", "social_care", "unknown")),
            providers=desk.sole(provider.id),
            start=start,
            end=fy_end(year),
            value=Decimal(value),
            style="paper",
            lead=lead,
            by=CLERK,
            at=clock,
            source=SOURCE.format(box=box),
        )
        for _ in range(rng.randint(0, 3)):
            clock += dt.timedelta(minutes=rng.randint(2, 9))
            decided = between(rng, deal.end - 50 * DAY, deal.end - 10 * DAY)
            if decided.year > 2009:
                break
            desk.roll_over(
                w,
                decided,
                deal,
                fy_end(deal.end.year),
                "renewed at the grants panel (paper file; no further reasons recorded)",
                by=CLERK,
                at=clock,
            )
        clock += dt.timedelta(minutes=rng.randint(2, 9))
        ending = rng.choice(("Expired", "Expired", "Decommissioned"))
        why = (
            "grant not renewed (paper file)"
            if ending == "Expired"
            else "grant withdrawn in the budget round (letter on file)"
        )
        desk.finish(
            w, deal.end + DAY, deal, ending, why, by=CLERK, at=clock, source=SOURCE.format(box=box)
        )
