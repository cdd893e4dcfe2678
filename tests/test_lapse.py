"""Lapsed, then ended without record (DESIGN.md, "Rules in time"; issue 13, part 5).

- The one definition is computed twice, by the domain's register (`agreements`) and by the
  views' snapshot (every other view): they must agree, on generated timelines (hypothesis)
  and on the generated conurbation.
- The rules refuse nothing because an agreement ended without record: a rollover recorded
  long after the end is accepted, and the agreement is in force again from that day.
- `agreements --status` lists the new status, and counts it as ended.
- A council's 360Giving grants, whose expiries are never recorded, ended years ago: the brief
  as of today holds none of them and raises only the flags the definitions give.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.catalogue import LedgerEvent
from domain.ledger import Ledger
from domain.register import GRACE_DAYS, build_register
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from projections.frame import frame_from_facts
from projections.standing import Snapshot
from tests.builders import award, basics, ev, provider
from tests.test_cli import cledger

BASE = dt.date(2010, 4, 1)
RECORDED = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Fact:
    """A stored fact as `build_register` and `frame_from_facts` read it, without a store."""

    notification_id: int
    event: LedgerEvent
    recorded_at: dt.datetime
    moved: tuple[str, ...] = ()


def statuses(facts: list[Fact], as_of: dt.date) -> tuple[dict[str, str], dict[str, str]]:
    """Each agreement's status on `as_of` by the register and by the snapshot (which has no
    row for a rescinded award: the register lists it as `rescinded`)."""
    entries = build_register(facts, as_of=as_of)
    register = {e.terms.agreement_id: e.status for e in entries if e.status != "rescinded"}
    frame = frame_from_facts(facts)
    agreements = Snapshot.of(frame, as_of).agreements
    snapshot = dict(agreements.select(pl.col("agreement_id").cast(pl.String), "status").iter_rows())
    return register, snapshot


def _day(offset: int) -> str:
    return (BASE + dt.timedelta(days=offset)).isoformat()


@st.composite
def timelines(draw: st.DrawFn) -> tuple[list[Fact], list[dt.date]]:
    """A few agreements, each an award and then some of: rollovers, extensions, variations,
    re-procurements, restructures that pass the service on (novated, merged_into) or do not
    (member_joined), and an ending; effective dates strictly increasing per agreement,
    recorded in a shuffled order. And the days to look at: some at random, and each
    agreement's last day of grace and the day after."""
    events: list[LedgerEvent] = [*basics(), provider("p-b"), provider("p-c")]
    days: list[dt.date] = []
    for i in range(draw(st.integers(1, 6))):
        aid = f"a-{i}"
        start = draw(st.integers(0, 400))
        end = start + draw(st.integers(0, 500))
        events.append(award(aid, _day(start), end=_day(end)))
        on, joined = start, False
        for _ in range(draw(st.integers(0, 4))):
            on += draw(st.integers(1, 500))
            what = draw(
                st.sampled_from(
                    [
                        "RolledOver",
                        "Extended",
                        "Varied",
                        "Reprocured",
                        "novated",
                        "merged_into",
                        "member_joined",
                        "ending",
                    ]
                )
            )
            if what in ("RolledOver", "Extended"):
                end += draw(st.integers(1, 600))
                events.append(
                    ev(what, _day(on), agreement_id=aid, new_end=_day(end), rationale="r")
                )
            elif what == "Varied":
                events.append(ev("Varied", _day(on), agreement_id=aid, annual_value="1.00"))
            elif what == "Reprocured":
                events.append(
                    ev(
                        "Reprocured",
                        _day(on),
                        agreement_id=aid,
                        successor_agreement_id="a-next",
                        incumbent_retained=False,
                        rationale="r",
                    )
                )
            elif what == "member_joined" and joined:
                continue
            elif what in ("novated", "merged_into", "member_joined"):
                joined = joined or what == "member_joined"
                events.append(
                    ev(
                        "Restructured",
                        _day(on),
                        agreement_id=aid,
                        change=what,
                        related_agreements=[],
                        provider_id="p-c" if what == "member_joined" else "p-b",
                        rationale="r",
                    )
                )
            else:
                kind = draw(st.sampled_from(["Expired", "Terminated", "Decommissioned"]))
                events.append(ev(kind, _day(on), agreement_id=aid, rationale="r"))
                break
        last = BASE + dt.timedelta(days=end)
        days += [last + dt.timedelta(days=GRACE_DAYS), last + dt.timedelta(days=GRACE_DAYS + 1)]
    order = draw(st.permutations(range(len(events))))
    facts = [
        Fact(n + 1, events[i], RECORDED + dt.timedelta(seconds=n)) for n, i in enumerate(order)
    ]
    days += draw(st.lists(st.integers(0, 3000).map(lambda d: BASE + dt.timedelta(d)), max_size=3))
    return facts, days


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_the_register_and_the_snapshot_agree_on_every_status(
    case: tuple[list[Fact], list[dt.date]],
) -> None:
    """Generated timelines (about 15 s for 60 examples): on every day looked at, the domain's
    register and the views' snapshot give every agreement the same status."""
    facts, days = case
    for day in days:
        register, snapshot = statuses(facts, day)
        assert register == snapshot, day


@pytest.mark.slow
def test_the_register_and_the_snapshot_agree_on_the_conurbation(tmp_path: Path) -> None:
    """The generated conurbation (handovers, corrections, restructures, re-procurements) on
    the last day of every financial year it spans: the same statuses both ways (about 5 s)."""
    events = generate(seed=2013, today=dt.date(2025, 6, 1))
    clock = SimulatedClock(events[0].recorded_at)
    ledger = open_ledger(f"sqlite:///{tmp_path}/ledger.db", clock=clock)
    build(ledger, clock, events)
    facts = list(ledger.facts())
    ledger.close()
    seen: set[str] = set()
    for year in range(2006, 2026):
        register, snapshot = statuses(facts, dt.date(year, 3, 31))  # type: ignore[arg-type]
        assert register == snapshot, year
        seen |= set(register.values())
    assert {"active", "lapsed", "ended_without_record", "expired"} <= seen


def test_a_rollover_long_after_the_end_is_accepted(ledger: Ledger) -> None:
    """Ended without record is the ledger's reading of a silence, not a recorded fact: a
    rollover recorded two years after the end (the service did run on, the paper turned up) is
    accepted, and from its effective day the agreement is in force again (a recorded ending
    would have refused it: tests/test_rules.py)."""
    ledger.record([*basics(), award("g-1", "2010-04-01", end="2011-03-31")])
    ledger.record(
        [
            ev(
                "RolledOver",
                "2013-04-01",
                agreement_id="g-1",
                new_end="2014-03-31",
                rationale="retrospective: renewal letter of 2013 found in the file",
            )
        ]
    )
    facts = list(ledger.facts())
    for day, status in (
        # 31 Mar 2011 + 365 days = 30 Mar 2012 (29 Feb 2012 between): the grace's last day
        (dt.date(2012, 3, 30), "lapsed"),
        (dt.date(2012, 3, 31), "ended_without_record"),
        (dt.date(2013, 3, 31), "ended_without_record"),
        (dt.date(2013, 4, 1), "active"),
        (dt.date(2014, 3, 31), "active"),
        (dt.date(2015, 3, 31), "lapsed"),  # 365 days past 31 Mar 2014
        (dt.date(2015, 4, 1), "ended_without_record"),
    ):
        register, snapshot = statuses(facts, day)  # type: ignore[arg-type]
        assert register["g-1"] == snapshot["g-1"] == status, day


@pytest.mark.slow
def test_agreements_status_filters(store_url: str, tmp_path: Path) -> None:
    """`cledger agreements --status`: `ended_without_record` lists what it says; `ended`
    includes it; `open` leaves it out and keeps the lapsed."""
    native = tmp_path / "lapse.jsonl"
    records = [
        *basics(),
        award("now-1", "2016-04-01", end="2018-03-31"),
        award("lap-1", "2015-12-22", end="2016-12-21"),
        award("old-1", "2013-04-01", end="2014-03-31"),
        award("exp-1", "2013-04-01", end="2014-03-31"),
        ev("Expired", "2014-04-01", agreement_id="exp-1", rationale="term ended"),
    ]
    native.write_bytes(b"".join(orjson.dumps(e.to_record()) + b"\n" for e in records))
    cledger("import", str(native), store=store_url)

    def listed(status: str) -> list[tuple[str, str]]:
        done = cledger(
            "agreements",
            "--as-of",
            "2017-03-31",
            "--status",
            status,
            "--format",
            "json",
            store=store_url,
        )
        return [(r["agreement_id"], r["status"]) for r in json.loads(done.stdout)]

    assert listed("ended_without_record") == [("old-1", "ended_without_record")]
    assert listed("ended") == [("exp-1", "expired"), ("old-1", "ended_without_record")]
    assert listed("open") == [("lap-1", "lapsed"), ("now-1", "active")]


# -- a council's 360Giving grants, whose expiries are never recorded -----------------------------


def _grants(today: dt.date) -> tuple[list[dict[str, Any]], dict[str, dt.date]]:
    """60 grants of a council's open and closed rounds that ended between 2014 and more than a
    year before `today`, 6 that ended within the last year, and 3 still running; no expiry is
    ever recorded (360Giving has no such field). Returns the grants and each one's end."""
    rng = random.Random(2014)
    grants, ends = [], {}
    last_old = today - dt.timedelta(days=GRACE_DAYS + 5)
    spans = (
        [(dt.date(2014, 1, 1), last_old)] * 60
        + [(today - dt.timedelta(days=GRACE_DAYS - 5), today - dt.timedelta(days=1))] * 6
        + [(today + dt.timedelta(days=30), today + dt.timedelta(days=700))] * 3
    )
    for n, (first, last) in enumerate(spans):
        end = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
        start = end - dt.timedelta(days=rng.choice((182, 364, 729, 1094)))
        if end >= today:  # running: awarded and begun some months ago
            start = today - dt.timedelta(days=rng.randrange(30, 300))
        gid = f"360G-northtown-{n:03d}"
        grant: dict[str, Any] = {
            "id": gid,
            "title": f"Community mental health grant {n}",
            "currency": "GBP",
            "amountAwarded": rng.randrange(2_000, 60_000),
            "awardDate": (start - dt.timedelta(days=20)).isoformat(),
            "plannedDates": [{"startDate": start.isoformat(), "endDate": end.isoformat()}],
            "recipientOrganization": [
                {
                    "id": f"GB-CHC-{1_100_000 + n % 25}",
                    "name": f"Northtown Charity {n % 25}",
                    "charityNumber": str(1_100_000 + n % 25),
                }
            ],
            "fundingOrganization": [{"id": "GB-LAE-NTN", "name": "Northtown Council"}],
            "grantProgramme": [{"title": "Community Fund"}],
        }
        # most from open rounds; some awarded directly; a few say neither
        open_call = ("Yes", "Yes", "Yes", "No", None)[n % 5]
        if open_call is not None:
            grant["fromOpenCall"] = open_call
        grants.append(grant)
        ends[gid] = end
    return grants, ends


@pytest.mark.slow
def test_a_councils_grants_that_ended_years_ago_are_not_held(
    store_url: str, tmp_path: Path
) -> None:
    """Imported as a council publishes them (no lead, no expiry), the brief as of today holds
    only the 3 running grants, lists the 6 that ended within the year apart (lapsed: "is the
    service still running?"), and counts the 60 others in one line as ended without record.
    Its flags are those the definitions give for what the council still answers for: each
    held or lapsed grant is orphaned (no lead recorded), a direct award lacks a rationale
    (`not stated in the source`), a grant without `fromOpenCall` has an unknown route. Across
    the ledger, the ended grants keep the flags of their history (missing rationale, unknown
    route) but none of today's (orphaned, no competition for 5 years). About 10 s a store."""
    today = dt.date.today()
    grants, ends = _grants(today)
    source = tmp_path / "northtown-grants.json"
    source.write_bytes(orjson.dumps({"grants": grants}))
    cledger("import", "--format", "360giving", str(source), store=store_url)
    running = {g for g, end in ends.items() if end >= today}
    lapsed = {g for g, end in ends.items() if today - dt.timedelta(GRACE_DAYS) <= end < today}
    ended = set(ends) - running - lapsed
    assert (len(running), len(lapsed), len(ended)) == (3, 6, 60)

    brief = json.loads(
        cledger("brief", "--commissioner", "gb-lae-ntn", "--format", "json", store=store_url).stdout
    )
    scope = brief["scope"]
    assert {r["agreement_id"] for r in brief["holdings"]} == running
    assert {r["agreement_id"] for r in brief["lapsed"]} == lapsed
    assert (scope["agreements"], scope["lapsed"], scope["ended_without_record"]) == (3, 6, 60)
    held_value = sum(float(r["annual_value"]) for r in brief["holdings"])
    assert float(scope["total_annual_value"]) == pytest.approx(held_value, abs=0.005)

    route = {g["id"]: g.get("fromOpenCall") for g in grants}

    def expected_flags(ids: set[str], today_flags: bool) -> set[tuple[str, str]]:
        out = set()
        for gid in ids:
            if today_flags:
                out.add((gid, "orphaned"))
            if route[gid] == "No":
                out.add((gid, "missing_rationale"))
            if route[gid] is None:
                out.add((gid, "unknown_route"))
        return out

    # no grant that has not ended began more than 5 years ago (the longest runs 3 years)
    assert {(r["agreement_id"], r["flag"]) for r in brief["flags"]} == expected_flags(
        running | lapsed, True
    )
    assert scope["flags"] == len(brief["flags"])
    everywhere = json.loads(cledger("flags", "--format", "json", store=store_url).stdout)
    assert {(r["agreement_id"], r["flag"]) for r in everywhere} == expected_flags(
        running | lapsed, True
    ) | expected_flags(ended, False)
    markdown = cledger("brief", "--commissioner", "gb-lae-ntn", store=store_url).stdout
    assert "3 agreements held" in markdown and "60 ended without record" in markdown
