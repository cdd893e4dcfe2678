"""What happens to an agreement as its end approaches: rollover, extension, re-procurement, or an
ending; and the occasional variation or termination mid-term.

Why: DOMAIN.md's life of an agreement, with the eras that shaped it: year-on-year grant renewals
before 2011, austerity cuts and grants turned into tendered contracts 2011-2015, piles of short
extensions around the 2013 and 2022 reorganisations, and NHS block contracts rolled over for
decades.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, texts
from infra.generator.dates import DAY, add_months, between, fy_end, fy_of, in_window
from infra.generator.formats import rounded, step_for
from infra.generator.model import Deal
from infra.generator.world import World

D = dt.date
REFORM_WINDOWS = ((D(2012, 9, 1), D(2013, 9, 30)), (D(2021, 9, 1), D(2022, 12, 31)))
COVID = ((D(2020, 3, 15), D(2021, 3, 31)),)


def era(day: dt.date) -> str:
    if day < D(2010, 10, 1):
        return "growth"
    if day < D(2016, 4, 1):
        return "austerity"
    return "recent"


def schedule(w: World, deal: Deal, now: dt.date) -> None:
    """Schedule the next decision on `deal` (before its end; sometimes late, after it)."""
    deal.token += 1
    rng = w.rng
    if deal.style in ("grant", "sla", "block"):
        lead = rng.randint(15, 60)
    elif deal.style == "spot":
        lead = rng.randint(5, 30)
    else:
        lead = rng.randint(20, 110)
    day = deal.end - dt.timedelta(days=lead)
    if rng.random() < 0.09:  # decided late: the agreement lapses first
        day = deal.end + dt.timedelta(days=rng.randint(3, 50))
    day = max(day, now + DAY)
    w.at(day, decide, deal.id, deal.token, priority=5)
    if deal.style in ("contract", "grant", "block", "keep") and rng.random() < 0.22:
        first, last = max(now, deal.start) + dt.timedelta(days=20), deal.end - dt.timedelta(days=40)
        if last > first:
            w.at(between(rng, first, last), midterm, deal.id, priority=5)


def decide(w: World, day: dt.date, aid: str, token: int) -> None:
    deal = w.deals[aid]
    if deal.token != token or not deal.open:
        return
    if not w.teams[deal.team].active(day) or not w.commissioner_of(deal.team).active(day):
        return  # the team went and nobody picked this up: it lapses
    choice = _choose(w, day, deal)
    if choice == "roll":
        _roll(w, day, deal)
    elif choice == "extend":
        _extend(w, day, deal)
    elif choice == "reprocure" and _reprocure(w, day, deal):
        return
    elif choice in ("expire", "reprocure"):
        deal.fate = "expiring"
        w.at(max(deal.end + DAY, day + DAY), expire, aid, priority=1)
        return
    elif choice == "decommission":
        deal.fate = "decommissioning"
        reason = texts.say(w.rng, texts.DECOMMISSION) + f" (decision of {day.isoformat()})"
        w.at(max(deal.end + DAY, day + DAY), end_by, aid, "Decommissioned", reason, priority=1)
        if deal.kind == "grant" and era(day) == "austerity" and w.rng.random() < 0.5:
            from infra.generator import market

            market.replacement(w, day, deal)
        return
    schedule(w, deal, day)


def _choose(w: World, day: dt.date, deal: Deal) -> str:
    rng, e = w.rng, era(day)
    reform = in_window(day, REFORM_WINDOWS) or in_window(day, COVID)
    options: dict[str, float]
    if deal.style == "block":
        options = {"roll": 0.93, "extend": 0.07} if not reform else {"roll": 0.5, "extend": 0.5}
    elif deal.style == "keep":
        options = {"roll": 0.85, "extend": 0.15}
    elif deal.style == "sla":
        options = {"roll": 0.82, "extend": 0.06, "expire": 0.12}
    elif deal.style == "spot":
        more = 0.55 if deal.renewals < 2 else 0.2
        options = {"extend": more, "expire": 1 - more}
    elif deal.style == "grant":
        options = {
            "growth": {
                "roll": 0.87,
                "extend": 0.03,
                "reprocure": 0.03,
                "expire": 0.03,
                "decommission": 0.04,
            },
            "austerity": {
                "roll": 0.5,
                "extend": 0.08,
                "reprocure": 0.22,
                "expire": 0.05,
                "decommission": 0.15,
            },
            "recent": {
                "roll": 0.74,
                "extend": 0.05,
                "reprocure": 0.1,
                "expire": 0.04,
                "decommission": 0.07,
            },
        }[e]
        if reform:
            options = {**options, "extend": options["extend"] + 0.3}
    else:
        options = {
            "roll": 0.3,
            "extend": 0.22,
            "reprocure": 0.33,
            "expire": 0.08,
            "decommission": 0.07,
        }
        if reform:
            options = {
                "roll": 0.12,
                "extend": 0.7,
                "reprocure": 0.1,
                "expire": 0.04,
                "decommission": 0.04,
            }
    names = list(options)
    return rng.choices(names, weights=[options[n] for n in names])[0]


def _new_value(w: World, day: dt.date, deal: Deal) -> tuple[Decimal, str]:
    rng, e = w.rng, era(day)
    r = rng.random()
    if deal.style == "block":
        pct = rng.uniform(0.0, 1.5) if e == "austerity" else rng.uniform(1.0, 4.0)
        return _scaled(deal.value, 1 + pct / 100), texts.say(rng, texts.ROLLOVER_UPLIFT)
    if e == "austerity" and r < 0.4:
        return (_scaled(deal.value, rng.uniform(0.8, 0.95)), texts.say(rng, texts.ROLLOVER_CUT))
    if r > 0.75:
        return (_scaled(deal.value, rng.uniform(1.02, 1.08)), texts.say(rng, texts.ROLLOVER_UPLIFT))
    return deal.value, texts.say(rng, texts.ROLLOVER)


def _scaled(value: Decimal, factor: float) -> Decimal:
    scaled = float(value) * factor
    return rounded(scaled, step_for(scaled))


def _roll(w: World, day: dt.date, deal: Deal) -> None:
    rng = w.rng
    if deal.style in ("grant", "sla", "block", "keep"):
        new_end = fy_end(fy_of(deal.end) + 1)
        if deal.style == "keep" and rng.random() < 0.5:
            new_end = fy_end(fy_of(deal.end) + rng.choice((2, 3)))
    elif deal.style == "spot":
        new_end = add_months(deal.end + DAY, rng.randint(3, 9)) - DAY
    else:
        new_end = add_months(deal.end + DAY, rng.choice((12, 12, 24, 36))) - DAY
    value, why = _new_value(w, day, deal)
    desk.roll_over(w, day, deal, new_end, why, value=value)


def _extend(w: World, day: dt.date, deal: Deal) -> None:
    rng = w.rng
    if deal.style == "spot":
        months, why = rng.randint(2, 6), "placement extended following the care programme review"
    elif in_window(day, REFORM_WINDOWS):
        months, why = rng.randint(3, 6), texts.say(rng, texts.EXTENSION_REFORM)
    elif in_window(day, COVID):
        months, why = rng.randint(3, 6), texts.say(rng, texts.EXTENSION_COVID)
    else:
        months, why = rng.choice((3, 6, 6, 9, 12)), texts.say(rng, texts.EXTENSION)
    desk.extend(w, day, deal, add_months(deal.end + DAY, months) - DAY, why)


def _reprocure(w: World, day: dt.date, deal: Deal) -> bool:
    """Run a competition: award the successor first, then record the re-procurement."""
    from infra.generator import market

    successor, retained = market.successor(w, day, deal)
    if successor is None:
        return False
    desk.reprocure(
        w,
        day,
        deal,
        successor,
        retained,
        rationale="re-procured by competitive tender"
        if retained
        else "re-procured by competitive tender; incumbent unsuccessful",
    )
    deal.fate = "expiring"
    w.at(max(deal.end + DAY, day + DAY), expire, deal.id, priority=1)
    schedule(w, successor, day)
    return True


def expire(w: World, day: dt.date, aid: str) -> None:
    deal = w.deals[aid]
    if not deal.ended:
        desk.finish(w, day, deal, "Expired", texts.pick(w.rng, texts.EXPIRY))


def end_by(w: World, day: dt.date, aid: str, type_: str, rationale: str) -> None:
    deal = w.deals[aid]
    if not deal.ended:
        desk.finish(w, day, deal, type_, rationale)


def midterm(w: World, day: dt.date, aid: str) -> None:
    """A variation of value or scope, or (rarely) a termination, during a term."""
    deal = w.deals[aid]
    if not deal.open or day > deal.end or day < deal.start:
        return
    rng = w.rng
    if era(day) == "austerity" and deal.style in ("contract", "grant") and rng.random() < 0.08:
        deal.fate = "decommissioning"
        stop = add_months(day.replace(day=1), 2)
        if stop <= deal.end:
            w.at(
                stop,
                end_by,
                aid,
                "Decommissioned",
                "in-year budget reduction: service "
                f"decommissioned from {stop.isoformat()} (decision of {day.isoformat()})",
                priority=1,
            )
            return
        deal.fate = None
    if deal.style in ("contract", "grant") and rng.random() < 0.08:
        deal.fate = "terminated"
        desk.finish(w, day, deal, "Terminated", texts.say(rng, texts.TERMINATION))
        return
    r = rng.random()
    if r < 0.2:
        desk.vary(
            w,
            day,
            deal,
            scope=rng.choice(
                (
                    "service extended to cover 18-25 year olds",
                    "outcomes framework replaced by the social inclusion outcomes framework",
                    "weekend opening added",
                    "referral criteria widened to self-referral",
                    "monitoring moved from quarterly to six-monthly returns",
                )
            ),
        )
        return
    first_of_month = add_months(day.replace(day=1), 1)
    applies = first_of_month if first_of_month <= deal.end else None
    if era(day) == "austerity" and r < 0.7:
        value, why = _scaled(deal.value, rng.uniform(0.8, 0.95)), "in-year saving agreed"
    else:
        value, why = _scaled(deal.value, rng.uniform(1.03, 1.25)), "additional activity funded"
    desk.vary(w, day, deal, value=value, applies_from=applies, rationale=why)
