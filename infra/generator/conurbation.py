"""The generated conurbation: three councils, their NHS commissioners through every reform, about
sixty providers, and twenty years of agreements, from 2005 to yesterday.

Why: demos, tests and benchmarks need a ledger that looks like the research's conurbation
(DOMAIN.md) and exercises every event type and rule, identical for the same seed and day.
"""

from __future__ import annotations

import datetime as dt
import random

from infra.generator import cast, market, orgs, reforms, staff, stories
from infra.generator.dates import DAY, fy_of
from infra.generator.journal import GeneratedEvent, Journal
from infra.generator.model import Commissioner, Provider, Team
from infra.generator.world import World

OPENS = dt.date(2005, 4, 1)  # the ledger's first day of use: older history is typed in then
PREFIX = "cx-"


def generate(seed: int = 2013, today: dt.date | None = None) -> list[GeneratedEvent]:
    """Every event of the conurbation's history, in recording order (deterministic by seed)."""
    today = today or dt.date.today()
    rng = random.Random(seed)
    journal = Journal(
        rng,
        prefix=PREFIX,
        opened=dt.datetime(2005, 4, 4, 8, 30, tzinfo=dt.UTC),
        closes=dt.datetime.combine(today - DAY, dt.time(17, 0), dt.UTC),
    )
    w = World(rng, journal, last_day=today - DAY)
    for c in cast.commissioners():
        w.at(max(c.since, OPENS), _establish, c, priority=0)
    for p in cast.providers(rng):
        w.at(max(p.since, OPENS), _register, p, priority=0)
    for spec in cast.TEAMS:
        since = spec.since or next(c[4] for c in cast.COMMISSIONERS if c[0] == spec.commissioner_id)
        w.teams[spec.key] = Team(
            spec.key, spec.commissioner_id, spec.remit, spec.area, since, spec.rate
        )
        if not spec.started_by_reform:
            w.at(max(since, OPENS), _start, spec.key, priority=1)
    w.at(OPENS, market.legacy, priority=3)
    market.schedule_years(w, fy_of(OPENS), fy_of(today))
    reforms.schedule(w)
    stories.schedule(w)
    w.run()
    return journal.events()


def _establish(w: World, day: dt.date, c: Commissioner) -> None:
    orgs.establish(w, c.since, c)


def _register(w: World, day: dt.date, p: Provider) -> None:
    orgs.register(w, p.since, p)


def _start(w: World, day: dt.date, team_key: str) -> None:
    staff.start_team(w, day, team_key)
