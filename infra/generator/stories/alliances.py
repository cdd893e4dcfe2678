"""The recovery alliance (DOMAIN.md's published case) and the cross-adult-social-care alliance.

Why: alliance contracts are the case the model must get right: two charities sign a £332k a year
recovery alliance; the NHS trust co-locates two workers; a user-led organisation works to an SLA
with it; in April 2015 the separately contracted prevention and personalisation service joins;
in May 2015 six third-sector organisations sign a second, wider alliance, and one later leaves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator import desk, lifecycle
from infra.generator.formats import equal, share_text
from infra.generator.world import World

D = dt.date
TEAM = "kelham-cc/mh"
SECOND = (
    "hope-street",
    "lighthouse-arts",
    "asha-centre",
    "peerlink",
    "kelham-listening-line",
    "sahara-wellbeing",
)


def schedule(w: World) -> None:
    w.at(D(2011, 11, 15), _recovery_alliance, priority=4)
    w.at(D(2011, 12, 2), _prevention_service, priority=4)
    w.at(D(2012, 6, 12), _co_located, priority=4)
    w.at(D(2012, 6, 20), _user_led_sla, priority=4)
    w.at(D(2015, 2, 20), _renewed, priority=4)
    w.at(D(2015, 4, 1), _prevention_joins, priority=4)
    w.at(D(2015, 5, 12), _second_alliance, priority=4)
    w.at(D(2018, 9, 3), _member_leaves, priority=4)


def _members(ids: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {"provider_id": p, "role": "alliance_member", "share": share_text(s)}
        for p, s in zip(ids, equal(len(ids)), strict=True)
    ]


def _recovery_alliance(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="recovery",
        title="Kelham Mental Health Recovery Alliance",
        kind="alliance",
        route="competitive_tender",
        stream="social_care",
        providers=_members(("kelham-mind", "pathways-trust")),
        start=D(2012, 4, 1),
        end=D(2015, 3, 31),
        value=Decimal(332_000),
        style="story",
        source="Cabinet report: mental health recovery alliance, November 2011",
    )
    w.named["recovery-alliance"] = deal.id


def _prevention_service(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="prevention_and_personalisation",
        title="Prevention and personalisation service - Kelham",
        kind="contract",
        route="competitive_tender",
        stream="social_care",
        providers=desk.sole("openway"),
        start=D(2012, 4, 1),
        end=D(2015, 3, 31),
        value=Decimal(118_000),
        style="story",
    )
    w.named["prevention"] = deal.id


def _co_located(w: World, day: dt.date) -> None:
    desk.vary(
        w,
        day,
        w.deals[w.named["recovery-alliance"]],
        scope="the local NHS trust co-locates two community mental health workers in the "
        "alliance (in kind; no change in value)",
    )


def _user_led_sla(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="peer_support",
        title="User involvement SLA with the Kelham Recovery Alliance",
        kind="sla",
        route="direct_award",
        stream="social_care",
        providers=desk.sole("voices-together"),
        start=D(2012, 7, 1),
        end=D(2013, 3, 31),
        value=Decimal(14_000),
        style="sla",
        rationale="user-led organisation working to an SLA with the alliance "
        "partners; no other user-led organisation in Kelham",
    )
    lifecycle.schedule(w, deal, day)


def _renewed(w: World, day: dt.date) -> None:
    deal = w.deals[w.named["recovery-alliance"]]
    desk.roll_over(
        w,
        day,
        deal,
        D(2018, 3, 31),
        "alliance re-commissioned for three years "
        "without competition: social inclusion outcomes strong (595 goals set, 44% "
        "achieved); the prevention and personalisation service joins from April 2015",
        value=Decimal(450_000),
    )


def _prevention_joins(w: World, day: dt.date) -> None:
    alliance = w.deals[w.named["recovery-alliance"]]
    prevention = w.deals[w.named["prevention"]]
    desk.restructure(
        w,
        day,
        alliance,
        "member_joined",
        [prevention.id],
        provider_id="openway",
        rationale="the separately contracted prevention and personalisation "
        "service joins the alliance",
    )
    desk.restructure(
        w,
        day,
        prevention,
        "merged_into",
        [alliance.id],
        rationale="service now delivered within the recovery alliance",
    )
    desk.finish(
        w,
        day,
        prevention,
        "Expired",
        "contract ended; service continues inside the recovery alliance",
    )
    alliance.style = "keep"
    lifecycle.schedule(w, alliance, day)


def _second_alliance(w: World, day: dt.date) -> None:
    deal = desk.award(
        w,
        day,
        team=TEAM,
        category="prevention_and_personalisation",
        title="Kelham Adult Social Care Wellbeing Alliance",
        kind="alliance",
        route="competitive_tender",
        stream="social_care",
        providers=_members(SECOND),
        start=D(2015, 7, 1),
        end=D(2020, 6, 30),
        value=Decimal(1_240_000),
        style="keep",
        source="Tender evaluation report 2015/04: cross-adult-social-care alliance",
    )
    w.named["wellbeing-alliance"] = deal.id
    lifecycle.schedule(w, deal, day)


def _member_leaves(w: World, day: dt.date) -> None:
    deal = w.deals[w.named["wellbeing-alliance"]]
    if deal.open:
        desk.restructure(
            w,
            day,
            deal,
            "member_left",
            [],
            provider_id="hope-street",
            rationale="Hope Street Day Centre withdrew: could not carry its share "
            "of the alliance's risk after its own funding fell",
        )
