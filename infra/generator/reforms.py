"""The national reforms as they reach the conurbation: PCT and SHA mergers (2006), PCTs and the
SHA abolished and CCGs, NHS England and council public health created (April 2013), CCG mergers
(2018, 2020), the ICB replacing the CCGs (July 2022).

Why: each reform moves portfolios between organisations and people. Live agreements are moved
(`Restructured change=moved_commissioner`), their leads hand them on, and a few are dropped on
the floor (left with an abolished commissioner: orphaned), which is what the research found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from infra.generator import desk, orgs, staff, texts
from infra.generator.dates import DAY, between
from infra.generator.model import Deal
from infra.generator.world import World

D = dt.date
Route = Callable[[Deal], tuple[str, list[tuple[str, Decimal]]] | None]


def schedule(w: World) -> None:
    w.at(D(2006, 7, 1), _sha_merger, priority=2)
    w.at(D(2006, 10, 1), _pct_merger, priority=2)
    w.at(D(2008, 4, 1), _rename, "kelham-pct", "NHS Kelham", priority=2)
    w.at(D(2009, 1, 1), _rename, "brayford-pct", "NHS Brayford", priority=2)
    w.at(D(2009, 1, 1), _rename, "stanmoor-pct", "NHS Stanmoor", priority=2)
    w.at(D(2013, 4, 1), _reform_2013, priority=2)
    w.at(D(2014, 6, 16), _tidy_adrift, priority=2)
    w.at(D(2015, 4, 1), _csu_merger, priority=2)
    w.at(D(2018, 4, 1), _ccg_merger, "kelham-north-ccg", priority=2)
    w.at(D(2020, 4, 1), _ccg_merger, "kelham-south-ccg", priority=2)
    w.at(D(2022, 7, 1), _icb, priority=2)


def _rename(w: World, day: dt.date, cid: str, name: str) -> None:
    orgs.rename_commissioner(w, day, cid, name, source="Board minutes")


def replace_commissioner(
    shares: list[tuple[str, Decimal]], old: str, new: list[tuple[str, Decimal]]
) -> list[tuple[str, Decimal]]:
    """`old`'s share passes to `new` (fractions of it), merging with commissioners present."""
    out: dict[str, Decimal] = {}
    for cid, share in shares:
        if cid == old:
            for ncid, fraction in new:
                out[ncid] = out.get(ncid, Decimal(0)) + share * fraction
        else:
            out[cid] = out.get(cid, Decimal(0)) + share
    return list(out.items())


def move(
    w: World, day: dt.date, old: str, route: Route, *, why: str, adrift: float = 0.0
) -> list[Deal]:
    """Move every live agreement of commissioner `old` as `route` says; some are left adrift."""
    moved = []
    for deal in list(w.deals.values()):
        if deal.ended or deal.adrift or old not in [c for c, _ in deal.commissioners]:
            continue
        target = route(deal)
        if target is None or (
            deal.style in ("grant", "contract", "spot", "sla") and w.rng.random() < adrift
        ):
            deal.adrift = True
            continue
        team, fractions = target
        shares = replace_commissioner(deal.commissioners, old, fractions)
        desk.restructure(
            w,
            day,
            deal,
            "moved_commissioner",
            [],
            commissioner_id=shares[0][0] if len(shares) == 1 else None,
            commissioners=shares if len(shares) > 1 else None,
            rationale=why,
            by=w.teams[team].lead,
        )
        if w.teams[deal.team].commissioner_id == old:
            deal.team = team
        moved.append(deal)
    return moved


def hand_on(w: World, day: dt.date, deals: list[Deal], *, notes: str) -> None:
    """Each holder hands the moved agreements to the lead of the team now responsible."""
    groups: dict[tuple[str, str], list[str]] = {}
    for deal in deals:
        target = w.teams[deal.team].lead
        if deal.holder and target and deal.holder != target:
            groups.setdefault((deal.holder, deal.team), []).append(deal.id)
    for (holder, team), ids in groups.items():
        desk.hand_over(
            w,
            day,
            holder,
            w.teams[team].lead or "",
            agreements=ids,
            rationale=texts.say(w.rng, texts.HANDOVER_REFORM),
            notes=notes,
            to_commissioner=w.teams[team].commissioner_id,
        )


def portfolio(
    w: World, day: dt.date, old_team: str, new_team: str, *, notes: str, from_active: bool = False
) -> None:
    """The old team's lead hands the whole portfolio to the new team's lead."""
    old, new = w.teams[old_team], w.teams[new_team]
    if old.lead and new.lead and old.lead != new.lead:
        desk.hand_over(
            w,
            day,
            old.lead,
            new.lead,
            rationale=texts.say(w.rng, texts.HANDOVER_REFORM),
            notes=notes,
            from_commissioner=old.commissioner_id if from_active else None,
            to_commissioner=new.commissioner_id,
        )
    old.until = day


def _to(team: str, shares: list[tuple[str, Decimal]]) -> Route:
    """A route sending every agreement to one team and commissioner split."""
    return lambda deal: (team, shares)


def _sha_merger(w: World, day: dt.date) -> None:
    staff.start_team(w, day, "nm-sha/spec")
    move(
        w,
        day,
        "kd-sha",
        _to("nm-sha/spec", [("nm-sha", Decimal(1))]),
        why="SHA merger: specialised commissioning transferred to the new SHA",
    )
    portfolio(
        w,
        day,
        "kd-sha/spec",
        "nm-sha/spec",
        notes="Specialised placements transferred "
        "to the regional SHA. Placement reviews continue on the existing cycle.",
    )
    orgs.merge_commissioner(w, day, "kd-sha", "nm-sha", rationale="SHA reconfiguration 2006")


def _pct_merger(w: World, day: dt.date) -> None:
    east = w.teams["kelham-east-pct/mh"].lead or ""
    staff.start_team(w, day, "kelham-pct/mh", w.same_person(east, "kelhampct.nhs.uk"))
    for old in ("kelham-east-pct", "kelham-west-pct"):
        move(
            w,
            day,
            old,
            _to("kelham-pct/mh", [("kelham-pct", Decimal(1))]),
            why="PCT merger: agreements transferred to Kelham PCT",
        )
        portfolio(
            w,
            day,
            f"{old}/mh",
            "kelham-pct/mh",
            notes="Kelham East and West PCTs "
            "merge. Same person, new organisation, where the lead stays; otherwise "
            "files sent over in boxes.",
        )
        orgs.merge_commissioner(
            w,
            day,
            old,
            "kelham-pct",
            rationale="PCT reconfiguration (Commissioning a Patient-led NHS)",
        )


def _reform_2013(w: World, day: dt.date) -> None:
    rng = w.rng
    pct_lead = {
        k: w.teams[f"{k}/mh"].lead or "" for k in ("kelham-pct", "brayford-pct", "stanmoor-pct")
    }
    staff.start_team(
        w, day, "kelham-central-ccg/mh", w.same_person(pct_lead["kelham-pct"], "nhs.net")
    )
    staff.start_team(w, day, "kelham-north-ccg/mh")
    staff.start_team(w, day, "kelham-south-ccg/mh")
    staff.start_team(w, day, "brayford-ccg/mh", w.same_person(pct_lead["brayford-pct"], "nhs.net"))
    staff.start_team(w, day, "stanmoor-ccg/mh")
    for council in ("kelham-cc", "brayford-mbc", "stanmoor-mbc"):
        staff.start_team(w, day, f"{council}/ph")
    sha_lead = w.teams["nm-sha/spec"].lead or ""
    staff.start_team(w, day, "nhse/spec", w.same_person(sha_lead, "england.nhs.uk"))
    orgs.rename_commissioner(
        w, day, "nhse", "NHS England", source="Health and Social Care Act 2012"
    )
    why = "Health and Social Care Act 2012: PCT commissioning transferred"
    kelham_ccgs = [
        ("kelham-north-ccg", Decimal("0.3")),
        ("kelham-south-ccg", Decimal("0.3")),
        ("kelham-central-ccg", Decimal("0.4")),
    ]

    def kelham(deal: Deal) -> tuple[str, list[tuple[str, Decimal]]]:
        if deal.stream == "public_health":
            return "kelham-cc/ph", [("kelham-cc", Decimal(1))]
        if deal.style == "block":
            return "kelham-central-ccg/mh", kelham_ccgs
        cid = rng.choices([c for c, _ in kelham_ccgs], weights=[3, 3, 4])[0]
        return f"{cid}/mh", [(cid, Decimal(1))]

    def local(pct: str, ccg: str, council: str) -> Route:
        def route(deal: Deal) -> tuple[str, list[tuple[str, Decimal]]]:
            if deal.stream == "public_health":
                return f"{council}/ph", [(council, Decimal(1))]
            return f"{ccg}/mh", [(ccg, Decimal(1))]

        return route

    notes = (
        "PCT abolished 31 March 2013. Files transferred on a shared drive; several "
        "agreements had no copy of the signed contract."
    )
    moved = move(w, day, "kelham-pct", kelham, why=why, adrift=0.07)
    moved += move(
        w,
        day,
        "brayford-pct",
        local("brayford-pct", "brayford-ccg", "brayford-mbc"),
        why=why,
        adrift=0.07,
    )
    moved += move(
        w,
        day,
        "stanmoor-pct",
        local("stanmoor-pct", "stanmoor-ccg", "stanmoor-mbc"),
        why=why,
        adrift=0.07,
    )
    hand_on(w, day, moved, notes=notes)
    for pct in ("kelham-pct", "brayford-pct", "stanmoor-pct"):
        w.teams[f"{pct}/mh"].until = day
    move(
        w,
        day,
        "nm-sha",
        _to("nhse/spec", [("nhse", Decimal(1))]),
        why="specialised commissioning transferred to NHS England",
    )
    portfolio(
        w,
        day,
        "nm-sha/spec",
        "nhse/spec",
        notes="Specialised placements pass to the NHS "
        "England specialised commissioning hub. Case reviews due dates listed.",
    )
    orgs.abolish_commissioner(
        w,
        day,
        "kelham-pct",
        [*kelham_ccgs[:2], ("kelham-central-ccg", Decimal("0.3")), ("kelham-cc", Decimal("0.1"))],
        rationale="abolished by the Health and Social Care Act 2012",
    )
    for pct, ccg, council in (
        ("brayford-pct", "brayford-ccg", "brayford-mbc"),
        ("stanmoor-pct", "stanmoor-ccg", "stanmoor-mbc"),
    ):
        orgs.abolish_commissioner(
            w,
            day,
            pct,
            [(ccg, Decimal("0.9")), (council, Decimal("0.1"))],
            rationale="abolished by the Health and Social Care Act 2012",
        )
    orgs.abolish_commissioner(
        w,
        day,
        "nm-sha",
        [("nhse", Decimal(1))],
        rationale="abolished by the Health and Social Care Act 2012",
    )


def _tidy_adrift(w: World, day: dt.date) -> None:
    """A contract-register cleanse finds some agreements nobody moved, and closes them."""
    clerk = "register.cleanse@nmcsu.nhs.uk"
    for deal in w.deals.values():
        if deal.adrift and not deal.ended and deal.end < day and w.rng.random() < 0.5:
            effective = max(deal.end + DAY, deal.touched or deal.awarded_on)
            desk.finish(
                w,
                effective,
                deal,
                "Expired",
                "found in the contract register cleanse:"
                " agreement of an abolished PCT, never transferred, lapsed at its end",
                by=clerk,
                at=w.journal.typed_in(between(w.rng, day, day + 40 * DAY), lag_days=0),
            )


def _csu_merger(w: World, day: dt.date) -> None:
    orgs.merge_commissioner(w, day, "nm-csu", "ce-csu", rationale="CSU consolidation")


def _ccg_merger(w: World, day: dt.date, old: str) -> None:
    into = "kelham-central-ccg"
    move(
        w,
        day,
        old,
        _to(f"{into}/mh", [(into, Decimal(1))]),
        why="CCG merger: agreements transferred to NHS Kelham CCG",
    )
    portfolio(
        w,
        day,
        f"{old}/mh",
        f"{into}/mh",
        from_active=False,
        notes="CCG merger. Locality knowledge held by the outgoing lead; some providers "
        "not told who their new contact is.",
    )
    orgs.merge_commissioner(w, day, old, into, rationale="CCG merger approved by NHS England")
    if old == "kelham-north-ccg":
        orgs.rename_commissioner(w, day, into, "NHS Kelham Clinical Commissioning Group")


def _icb(w: World, day: dt.date) -> None:
    staff.start_team(w, day, "kv-icb/kelham")
    staff.start_team(w, day, "kv-icb/stanmoor")
    # Brayford's CCG lead carries on as the ICB's place lead: same person and address.
    w.teams["kv-icb/brayford"].lead = None
    staff.start_team(w, day, "kv-icb/brayford", w.teams["brayford-ccg/mh"].lead)
    why = "Health and Care Act 2022: CCG commissioning transferred to the ICB"
    icb = [("kv-icb", Decimal(1))]
    for ccg, place in (
        ("kelham-central-ccg", "kelham"),
        ("brayford-ccg", "brayford"),
        ("stanmoor-ccg", "stanmoor"),
    ):
        move(w, day, ccg, _to(f"kv-icb/{place}", icb), why=why)
        portfolio(
            w,
            day,
            f"{ccg}/mh",
            f"kv-icb/{place}",
            notes="CCG closed 30 June 2022. "
            "Place team inherits the portfolio; the contract register was last updated "
            "in 2021.",
        )
        orgs.abolish_commissioner(
            w, day, ccg, icb, rationale="abolished by the Health and Care Act 2022"
        )
