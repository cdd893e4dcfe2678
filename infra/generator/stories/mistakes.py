"""Mistakes and their corrections: an award letter sent to the wrong bidder and withdrawn the
next day, and a provider's charity number typed wrong and put right.

Why: DOMAIN.md asks that the record show the mistake and its correction rather than overwrite
it; `Rescinded` and `Corrected` name the earlier event, which stays in the ledger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.world import World

D = dt.date
TEAM = "stanmoor-mbc/mh"


def schedule(w: World) -> None:
    w.at(D(2009, 5, 11), _charity_number, priority=4)
    w.at(D(2013, 2, 15), _incumbent, priority=4)
    w.at(D(2016, 6, 20), _letter_in_error, priority=4)


def _charity_number(w: World, day: dt.date) -> None:
    """The registration of a provider carried a transposed charity number."""
    provider = w.providers["calm-waters"]
    typed = provider.identifiers.get("charity_number")
    if not typed:
        return
    right = typed[:-2] + typed[-1] + typed[-2] if typed[-1] != typed[-2] else typed[:-1] + "0"
    target = _registration_event(w, provider.id)
    desk.correct(
        w,
        day,
        target,
        ("provider_id", provider.id),
        {"charity_number": right},
        by="ledger.admin@kelham.gov.uk",
        rationale="charity number digits transposed at registration; checked against "
        "the Charity Commission register",
    )
    provider.identifiers["charity_number"] = right


def _registration_event(w: World, provider_id: str) -> str:
    for event in w.journal.records():
        if event["type"] == "ProviderRegistered" and event["provider_id"] == provider_id:
            return str(event["event_id"])
    raise AssertionError(f"generator bug: {provider_id} was never registered")


def _incumbent(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="advocacy",
        title="Independent mental health advocacy - Stanmoor",
        kind="contract",
        route="competitive_tender",
        stream="social_care",
        providers=desk.sole("brayford-advocacy"),
        start=D(2013, 4, 1),
        end=D(2016, 9, 30),
        value=Decimal(96_000),
        style="story",
    )
    w.named["stanmoor-advocacy"] = deal.id


def _letter_in_error(w: World, day: dt.date) -> None:
    """The award letter goes to the unsuccessful bidder; withdrawn the next day."""
    incumbent = w.deals[w.named["stanmoor-advocacy"]]
    if day + dt.timedelta(days=1) > w.last_day or not incumbent.open:
        return
    clerk = w.clerk(TEAM)
    at = w.journal.typed_in(day, lag_days=0)
    wrong = desk.award(
        w,
        day,
        team=TEAM,
        category="advocacy",
        title="Independent mental health advocacy - Stanmoor (2016 tender)",
        kind="contract",
        route="competitive_tender",
        stream="social_care",
        providers=desk.sole("side-by-side"),
        start=D(2016, 10, 1),
        end=D(2019, 9, 30),
        value=Decimal(102_000),
        style="story",
        lead=None,
        by=clerk,
        at=at,
        source="Award letter ref SMBC/ADV/2016/07",
    )
    wrong.ended = True  # rescinded: nothing more happens to it
    next_day = day + dt.timedelta(days=1)
    desk.rescind(
        w,
        next_day,
        wrong.award_event,
        ("agreement_id", wrong.id),
        by=clerk,
        rationale="award letter sent in error to the unsuccessful bidder; withdrawn "
        "the next day and the bidder informed",
        lag_days=0,
    )
    right = desk.award(
        w,
        next_day,
        team=TEAM,
        category="advocacy",
        title="Independent mental health advocacy - Stanmoor (2016 tender)",
        kind="contract",
        route="competitive_tender",
        stream="social_care",
        providers=desk.sole("brayford-advocacy"),
        start=D(2016, 10, 1),
        end=D(2019, 9, 30),
        value=Decimal(102_000),
        style="contract",
        source="Award letter ref SMBC/ADV/2016/07 (reissued)",
    )
    desk.reprocure(
        w,
        next_day,
        incumbent,
        right,
        True,
        rationale="re-procured by competitive tender; incumbent retained",
    )
    incumbent.fate = "expiring"
    w.at(incumbent.end + dt.timedelta(days=1), lifecycle.expire, incumbent.id, priority=1)
    lifecycle.schedule(w, right, next_day)
