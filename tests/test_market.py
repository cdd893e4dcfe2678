"""Market, concentration and diversity views: figures worked by hand (DESIGN.md definitions),
and spend that agrees day by day with the domain's own `AgreementTerms` on the conurbation."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import pytest

from domain.catalogue import LedgerEvent
from domain.register import build_register
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from projections.diversity import MIX_COLUMNS, at_risk, entry_exit, mix
from projections.frame import events_as_of, frame_from_facts
from projections.market import (
    CONCENTRATION_COLUMNS,
    MARKET_COLUMNS,
    concentration,
    cr3,
    effective_number,
    hhi,
    market,
    simpson,
)
from projections.spend import agreement_spend, april_first
from tests.builders import award, basics, commissioner, ev, provider

LATER = dt.date(2030, 1, 1)
Frame = Callable[..., pl.LazyFrame]

HALF_PENNY = 0.005 + 1e-9  # the views show money rounded to the penny


@pytest.fixture
def frame_of(tmp_path: Path) -> Frame:
    """Record events (each list one unit of work) into a fresh ledger; its event frame."""

    def make(*batches: Iterable[LedgerEvent]) -> pl.LazyFrame:
        ledger = open_ledger(f"sqlite:///{tmp_path}/ledger-{len(list(tmp_path.iterdir()))}.db")
        for batch in batches:
            ledger.record(batch)
        frame = frame_from_facts(ledger.facts())
        ledger.close()
        return frame.lazy()

    return make


def spend_of(view: pl.LazyFrame, year: str, provider_id: str, **keys: str | None) -> float:
    """The one row of a segment (keys given; unnamed ones null) for a provider."""
    where = (pl.col("financial_year") == year) & (pl.col("provider_id") == provider_id)
    for key in ("service_category", "commissioner_id"):
        value = keys.get(key)
        where &= pl.col(key).is_null() if value is None else pl.col(key) == value
    rows = view.filter(where).collect()
    assert rows.height == 1, rows
    return float(rows["spend"][0])


def both(view: pl.LazyFrame, year: str, provider_id: str, cid: str = "council-a") -> float:
    return spend_of(view, year, provider_id, service_category="advocacy", commissioner_id=cid)


def test_part_year_term_and_mid_year_variation(frame_of: Frame) -> None:
    """Award 2014-04-01..2015-03-31 at £36,500; varied to £73,000 from 2014-10-01.
    2014/15 has 365 days: 183 days (Apr-Sep) x 36,500/365 = 18,300; 182 days x 73,000/365 =
    36,400; total 54,700. A second award starts 2015-01-01 (part year): 90 days (Jan-Mar) x
    36,500/365 = 9,000, then 2015/16 (366 days) to 2015-06-30: 91 days x 36,600/366 = 9,100."""
    frame = frame_of(
        [
            *basics(),
            award("g-1", "2014-04-01", end="2015-03-31", value="36500.00"),
            award("g-2", "2015-01-01", end="2015-06-30", value="36500.00", category="crisis"),
            ev(
                "Varied",
                "2014-09-01",
                agreement_id="g-1",
                annual_value="73000.00",
                applies_from="2014-10-01",
            ),
            ev("Varied", "2015-04-01", agreement_id="g-2", annual_value="36600.00"),
        ]
    )
    view = market(frame, LATER)
    assert both(view, "2014/15", "mind-a") == pytest.approx(54_700.00, abs=HALF_PENNY)
    crisis = dict(service_category="crisis", commissioner_id="council-a")
    assert spend_of(view, "2014/15", "mind-a", **crisis) == pytest.approx(9_000.00, abs=HALF_PENNY)
    assert spend_of(view, "2015/16", "mind-a", **crisis) == pytest.approx(9_100.00, abs=HALF_PENNY)
    # the commissioner alone: both categories together
    assert spend_of(view, "2014/15", "mind-a", commissioner_id="council-a") == pytest.approx(
        63_700.00, abs=HALF_PENNY
    )


def test_rollover_value_from_the_day_after_old_end_and_ending_day_not_active(
    frame_of: Frame,
) -> None:
    """Award to 2015-03-31 at £36,500, rolled over (decided 2015-02-01) to 2016-03-31 at
    £73,200; extended to 2016-09-30; terminated effective 2016-07-01, so the last active day
    is 2016-06-30. 2014/15: 36,500. 2015/16 (366 days): 73,200. 2016/17 (365 days):
    91 days (Apr-Jun) x 73,200/365 = 18,249.86."""
    frame = frame_of(
        [
            *basics(),
            award("g-1", "2014-04-01", end="2015-03-31", value="36500.00"),
            ev(
                "RolledOver",
                "2015-02-01",
                agreement_id="g-1",
                new_end="2016-03-31",
                annual_value="73200.00",
                rationale="performing",
            ),
            ev(
                "Extended",
                "2016-03-01",
                agreement_id="g-1",
                new_end="2016-09-30",
                rationale="deciding",
            ),
            ev("Terminated", "2016-07-01", agreement_id="g-1", rationale="budget"),
        ]
    )
    view = market(frame, LATER)
    assert both(view, "2014/15", "mind-a") == pytest.approx(36_500.00, abs=HALF_PENNY)
    assert both(view, "2015/16", "mind-a") == pytest.approx(73_200.00, abs=HALF_PENNY)
    assert both(view, "2016/17", "mind-a") == pytest.approx(73_200 * 91 / 365, abs=HALF_PENNY)
    # an expiry on the end date keeps the end date, which is inclusive (366 days in 2015/16)
    expired = frame_of(
        [
            *basics(),
            award("g-9", "2015-04-01", end="2016-03-31", value="36600.00"),
            ev("Expired", "2016-03-31", agreement_id="g-9"),
        ]
    )
    assert both(market(expired, LATER), "2015/16", "mind-a") == pytest.approx(36_600.00)
    # as of before the termination, the extension's committed term counts: 183 days
    earlier = market(frame, dt.date(2016, 6, 1))
    assert both(earlier, "2016/17", "mind-a") == pytest.approx(73_200 * 183 / 365, abs=HALF_PENNY)
    # as of before the rollover was decided, only the awarded term
    assert (
        market(frame, dt.date(2015, 1, 31))
        .filter(pl.col("financial_year") == "2015/16")
        .collect()
        .is_empty()
    )


def test_alliance_equal_split_after_a_member_joins_and_co_commissioning(frame_of: Frame) -> None:
    """Alliance 2014-10-01..2016-03-31 at £73,000, members mind-a and p2 at 0.5 each, paid
    0.6 by council-a and 0.4 by ccg-b. p3 joins 2015-07-01: equal thirds, the remainder to
    the first (0.333334, 0.333333, 0.333333). 2014/15: 182 days x 73,000/365 = 36,400;
    council-a's 60 % = 21,840, half each = 10,920. 2015/16: 91 days x 73,000/366 = 18,150.27
    before the join, 275 days x 73,000/366 = 54,849.73 after; council-a x 0.6; mind-a gets
    0.5 of the first and 0.333334 of the second."""
    members = [
        {"provider_id": "mind-a", "role": "alliance_member", "share": "0.5"},
        {"provider_id": "p2", "role": "alliance_member", "share": "0.5"},
    ]
    shares = [
        {"commissioner_id": "council-a", "share": "0.6"},
        {"commissioner_id": "ccg-b", "share": "0.4"},
    ]
    frame = frame_of(
        [
            *basics(),
            provider("p2"),
            provider("p3"),
            commissioner("ccg-b", kind="ccg"),
            award(
                "g-2",
                "2014-10-01",
                end="2016-03-31",
                value="73000.00",
                kind="alliance",
                providers=members,
                commissioners=shares,
            ),
            ev(
                "Restructured",
                "2015-07-01",
                agreement_id="g-2",
                change="member_joined",
                provider_id="p3",
                related_agreements=[],
            ),
        ]
    )
    view = market(frame, LATER)
    assert both(view, "2014/15", "mind-a") == pytest.approx(10_920.00, abs=HALF_PENNY)
    assert both(view, "2014/15", "p2", "ccg-b") == pytest.approx(7_280.00, abs=HALF_PENNY)
    before, after = 73_000 * 91 / 366, 73_000 * 275 / 366
    assert both(view, "2015/16", "mind-a") == pytest.approx(
        0.6 * (0.5 * before + 0.333334 * after), abs=HALF_PENNY
    )
    assert both(view, "2015/16", "p3") == pytest.approx(0.6 * 0.333333 * after, abs=HALF_PENNY)
    total = view.filter(
        (pl.col("financial_year") == "2015/16")
        & pl.col("commissioner_id").is_null()
        & (pl.col("service_category") == "advocacy")
    ).collect()
    assert total["spend"].sum() == pytest.approx(73_000.00, abs=HALF_PENNY)
    assert total["share"].sum() == pytest.approx(1.0)


def test_lead_keeps_subcontracted_work_and_novation_moves_spend(frame_of: Frame) -> None:
    """A lead-provider contract: the subcontractor gets nothing, the lead all £36,500.
    A sole provider's grant is novated to p2 from 2014-10-01: mind-a 183 days = 18,300,
    p2 182 days = 18,200."""
    chain = [
        {"provider_id": "mind-a", "role": "lead", "share": "1"},
        {"provider_id": "p3", "role": "subcontractor"},
    ]
    frame = frame_of(
        [
            *basics(),
            provider("p2"),
            provider("p3"),
            award(
                "c-1",
                "2014-04-01",
                end="2015-03-31",
                value="36500.00",
                kind="lead_provider",
                providers=chain,
                category="crisis",
            ),
            award("g-1", "2014-04-01", end="2015-03-31", value="36500.00"),
            ev(
                "Restructured",
                "2014-10-01",
                agreement_id="g-1",
                change="novated",
                provider_id="p2",
                related_agreements=[],
            ),
        ]
    )
    view = market(frame, LATER)
    crisis = dict(service_category="crisis", commissioner_id="council-a")
    assert spend_of(view, "2014/15", "mind-a", **crisis) == pytest.approx(36_500.00)
    assert view.filter(pl.col("provider_id") == "p3").collect().is_empty()
    assert both(view, "2014/15", "mind-a") == pytest.approx(18_300.00, abs=HALF_PENNY)
    assert both(view, "2014/15", "p2") == pytest.approx(18_200.00, abs=HALF_PENNY)


def test_settlement_and_move_change_who_pays_from_their_dates(frame_of: Frame) -> None:
    """Co-commissioned 0.5/0.5, 2014-04-01..2016-03-31 at £36,500. A settlement agreed
    2014-12-01 applies from 2014-10-01: council-a 0.8, ccg-b 0.2. 2014/15: council-a
    0.5 x 18,300 + 0.8 x 18,200 = 23,710; ccg-b 9,150 + 3,640 = 12,790. The agreement moves
    to ccg-b alone from 2015-04-01: 2015/16 all 36,500 to ccg-b."""
    frame = frame_of(
        [
            *basics(),
            commissioner("ccg-b", kind="ccg"),
            award(
                "g-1",
                "2014-04-01",
                end="2016-03-31",
                value="36500.00",
                commissioners=[
                    {"commissioner_id": "council-a", "share": "0.5"},
                    {"commissioner_id": "ccg-b", "share": "0.5"},
                ],
            ),
            ev(
                "FundingResponsibilityAgreed",
                "2014-12-01",
                agreement_id="g-1",
                notes="JCB",
                applies_from="2014-10-01",
                commissioners=[
                    {"commissioner_id": "council-a", "share": "0.8"},
                    {"commissioner_id": "ccg-b", "share": "0.2"},
                ],
            ),
            ev(
                "Restructured",
                "2015-04-01",
                agreement_id="g-1",
                change="moved_commissioner",
                commissioner_id="ccg-b",
                related_agreements=[],
            ),
        ]
    )
    view = market(frame, LATER)
    assert both(view, "2014/15", "mind-a") == pytest.approx(23_710.00, abs=HALF_PENNY)
    assert both(view, "2014/15", "mind-a", "ccg-b") == pytest.approx(12_790.00, abs=HALF_PENNY)
    assert both(view, "2015/16", "mind-a", "ccg-b") == pytest.approx(36_500.00, abs=HALF_PENNY)
    assert (
        view.filter(
            (pl.col("financial_year") == "2015/16") & (pl.col("commissioner_id") == "council-a")
        )
        .collect()
        .is_empty()
    )
    # as of before the settlement was agreed, the award's shares stand
    early = market(frame, dt.date(2014, 11, 30))
    assert both(early, "2014/15", "mind-a") == pytest.approx(18_250.00, abs=HALF_PENNY)


def test_corrections_known_at_and_rescinded_awards(frame_of: Frame, tmp_path: Path) -> None:
    """A mistyped £400,000 corrected to £40,000 on 2014-06-10 (recorded then): as known before
    the correction the view says 400,000; after, 40,000, even as of 2014-05-01 (before the
    correction's own effective date). A rescinded award has no spend."""
    clock = SimulatedClock(dt.datetime(2014, 4, 1, 9, tzinfo=dt.UTC))
    ledger = open_ledger(f"sqlite:///{tmp_path}/known.db", clock=clock)
    ledger.record([*basics(), provider("p2")])
    clock.set(dt.datetime(2014, 4, 2, 9, tzinfo=dt.UTC))
    ledger.record(
        [
            award("g-1", "2014-04-01", end="2015-03-31", value="400000.00", event_id="a1"),
            award(
                "g-2",
                "2014-04-01",
                end="2015-03-31",
                value="10000.00",
                event_id="a2",
                providers=[{"provider_id": "p2", "role": "sole", "share": "1"}],
            ),
        ]
    )
    clock.set(dt.datetime(2014, 6, 10, 9, tzinfo=dt.UTC))
    ledger.record(
        [
            ev("Corrected", "2014-06-10", corrects="a1", fields={"annual_value": "40000.00"}),
            ev("Rescinded", "2014-06-10", rescinds="a2"),
        ]
    )
    frame = frame_from_facts(ledger.facts()).lazy()
    ledger.close()
    then = market(frame, dt.date(2014, 5, 1), dt.datetime(2014, 6, 1))
    assert both(then, "2014/15", "mind-a") == pytest.approx(400_000.00)
    assert both(then, "2014/15", "p2") == pytest.approx(10_000.00)
    now = market(frame, dt.date(2014, 5, 1))
    assert both(now, "2014/15", "mind-a") == pytest.approx(40_000.00)
    assert now.filter(pl.col("provider_id") == "p2").collect().is_empty()


def test_metric_helpers_by_hand() -> None:
    """Shares 0.4, 0.3, 0.2, 0.1: HHI = 1600 + 900 + 400 + 100 = 3000; CR3 = 0.9;
    Simpson = 1 - 0.30 = 0.70; effective number = exp(-sum s ln s) = 3.5961."""
    shares = pl.DataFrame({"share": [0.4, 0.3, 0.2, 0.1]})
    got = shares.select(
        hhi(pl.col("share")).alias("hhi"),
        cr3(pl.col("share")).alias("cr3"),
        simpson(pl.col("share")).alias("simpson"),
        effective_number(pl.col("share")).alias("n"),
    ).row(0)
    entropy = -sum(s * math.log(s) for s in (0.4, 0.3, 0.2, 0.1))
    assert got == pytest.approx((3000.0, 0.9, 0.7, math.exp(entropy)))


def test_april_first_is_the_calendar_day() -> None:
    """The arithmetic 1 April agrees with the calendar over four centuries, the century years
    1900 and 2100 (not leap) and 2000 (leap) among them."""
    years = pl.DataFrame({"year": range(1800, 2201)})
    got = years.select(april_first(pl.col("year")).alias("got"))["got"]
    expected = years.select(pl.date(pl.col("year"), 4, 1).cast(pl.Int64).alias("got"))["got"]
    assert got.to_list() == expected.to_list()


def test_concentration_per_segment_level(frame_of: Frame) -> None:
    """Three providers in advocacy at council-a, £50,000 / £30,000 / £20,000 a year over
    2014/15: shares 0.5, 0.3, 0.2; HHI 2500 + 900 + 400 = 3800; CR3 1.0; Simpson 0.62;
    effective number exp(-(0.5 ln 0.5 + 0.3 ln 0.3 + 0.2 ln 0.2)) = 2.8003. ccg-b buys a
    fourth provider's crisis service (£10,000): the council-a row is untouched, the
    advocacy-alone row is the same three, and ccg-b alone is one provider (HHI 10,000)."""
    events = [
        *basics(),
        provider("p2"),
        provider("p3"),
        provider("p4"),
        commissioner("ccg-b", kind="ccg"),
    ]
    for aid, pid, value in (
        ("g-1", "mind-a", "50000.00"),
        ("g-2", "p2", "30000.00"),
        ("g-3", "p3", "20000.00"),
    ):
        events.append(
            award(
                aid,
                "2014-04-01",
                end="2015-03-31",
                value=value,
                providers=[{"provider_id": pid, "role": "sole", "share": "1"}],
            )
        )
    events.append(
        award(
            "g-4",
            "2014-04-01",
            end="2015-03-31",
            value="10000.00",
            category="crisis",
            providers=[{"provider_id": "p4", "role": "sole", "share": "1"}],
            commissioners=[{"commissioner_id": "ccg-b", "share": "1"}],
        )
    )
    view = concentration(frame_of(events), LATER).collect()
    assert view.height == 6  # 2 category x commissioner, 2 category alone, 2 commissioner alone
    row = view.filter(
        (pl.col("service_category") == "advocacy") & (pl.col("commissioner_id") == "council-a")
    ).to_dicts()[0]
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))
    assert row["financial_year"] == "2014/15" and row["providers"] == 3
    assert row["spend"] == pytest.approx(100_000.00)
    assert (row["hhi"], row["cr3"], row["simpson"]) == pytest.approx((3800.0, 1.0, 0.62))
    assert row["effective_number"] == pytest.approx(math.exp(entropy))
    alone = view.filter(
        pl.col("service_category").is_null() & (pl.col("commissioner_id") == "ccg-b")
    ).to_dicts()[0]
    assert (alone["providers"], alone["hhi"], alone["cr3"]) == (1, 10_000.0, 1.0)


def test_diversity_mix_entry_exit_and_providers_at_risk(frame_of: Frame) -> None:
    """mind-a (third sector, small) holds g-1, £36,500 a year 2014-04-01..2016-03-31, cut
    from 2015-10-01 to £18,300 a year; rethink (private, major) holds g-2 £63,500 a year
    2015-04-01..2016-03-31. 2014/15: third sector 100 %. 2015/16: mind-a 183 days x 36,500/366
    + 183 x 18,300/366 = 18,250 + 9,150 = 27,400; rethink 63,500; third sector 27,400/90,900.
    Entry: mind-a enters 2014/15, rethink 2015/16; both exit 2015/16. As of 2015-12-01 mind-a
    spends less than last year, holds one agreement, ending 2016-03-31 (within 12 months):
    at risk. mind-a was reclassified small from medium on 2015-06-01: 2014/15 spend counts as
    medium (the band at that year's end)."""
    frame = frame_of(
        [
            *basics(),
            provider("rethink", sector="private", size_band="major"),
            award("g-1", "2014-04-01", end="2016-03-31", value="36500.00"),
            award(
                "g-2",
                "2015-04-01",
                end="2016-03-31",
                value="63500.00",
                providers=[{"provider_id": "rethink", "role": "sole", "share": "1"}],
            ),
            ev(
                "Varied",
                "2015-09-01",
                agreement_id="g-1",
                annual_value="18300.00",
                applies_from="2015-10-01",
            ),
            ev("ProviderReclassified", "2015-06-01", provider_id="mind-a", size_band="small"),
        ]
    )
    as_of = dt.date(2015, 12, 1)
    shares = (
        mix(frame, as_of)
        .filter(pl.col("service_category").is_null() & (pl.col("commissioner_id") == "council-a"))
        .collect()
    )
    by_sector = {
        (r["financial_year"], r["sector"]): r["share"] for r in shares.to_dicts() if r["sector"]
    }
    assert by_sector[("2014/15", "third_sector")] == pytest.approx(1.0)
    assert by_sector[("2015/16", "third_sector")] == pytest.approx(27_400 / 90_900)
    assert by_sector[("2015/16", "private")] == pytest.approx(63_500 / 90_900)
    bands = {(r["financial_year"], r["size_band"]) for r in shares.to_dicts() if r["size_band"]}
    assert bands == {("2014/15", "medium"), ("2015/16", "small"), ("2015/16", "major")}
    moves = (
        entry_exit(frame, as_of)
        .filter(
            (pl.col("service_category") == "advocacy") & (pl.col("commissioner_id") == "council-a")
        )
        .collect()
    )
    assert moves.sort("year").select("financial_year", "providers", "entrants", "exits").rows() == [
        ("2014/15", 1, 1, 0),
        ("2015/16", 2, 1, 2),
    ]
    risk = at_risk(frame, as_of).collect()
    assert risk.select("provider_id", "agreement_id", "end").rows() == [
        ("mind-a", "g-1", dt.date(2016, 3, 31))
    ]
    assert risk["spend"][0] == pytest.approx(27_400.0)
    assert risk["spend_last_year"][0] == pytest.approx(36_500.0)
    assert at_risk(frame, dt.date(2015, 3, 1)).collect().is_empty()  # not falling then


@pytest.fixture(scope="module")
def conurbation(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.LazyFrame, list[object]]:
    events = generate(seed=2013, today=dt.date(2025, 6, 1))
    clock = SimulatedClock(events[0].recorded_at)
    path = tmp_path_factory.mktemp("conurbation") / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}", clock=clock)
    build(ledger, clock, events)
    facts = list(ledger.facts())
    ledger.close()
    return frame_from_facts(facts).lazy(), facts  # type: ignore[return-value]


@pytest.mark.slow
def test_spend_agrees_day_by_day_with_agreement_terms(
    conurbation: tuple[pl.LazyFrame, list[object]],
) -> None:
    """For every agreement of the generated conurbation: the spend in each financial year
    equals the sum over its days of `AgreementTerms.annual_value_on(day)` / days in the year,
    over the days `status_on(day)` says it is active (the domain's own fold). (The generator
    records expiries the day after the end, where the two readings of an expiry agree.)"""
    frame, facts = conurbation
    as_of = dt.date(2025, 6, 1)
    got = (
        agreement_spend(events_as_of(frame, as_of))
        .group_by("agreement_id", "year")
        .agg(pl.col("spend").sum())
        .collect()
    )
    ours = {(r["agreement_id"], r["year"]): r["spend"] for r in got.to_dicts()}
    expected: dict[tuple[str, int], float] = {}
    for entry in build_register(facts, as_of=as_of):  # type: ignore[arg-type]
        terms = entry.terms
        if terms.award is None:
            continue
        day = dt.date.fromisoformat(terms.start)
        last = dt.date.fromisoformat(terms.end)
        while day <= last:
            iso = day.isoformat()
            if terms.status_on(iso) == "active":
                year = day.year if day.month >= 4 else day.year - 1
                length = (dt.date(year + 1, 4, 1) - dt.date(year, 4, 1)).days
                key = (terms.agreement_id, year)
                value = float(terms.annual_value_on(iso))
                expected[key] = expected.get(key, 0.0) + value / length
            day += dt.timedelta(days=1)
    expected = {k: v for k, v in expected.items() if v > 0}
    ours = {k: v for k, v in ours.items() if v > 0}
    assert len(expected) > 3_000
    assert ours.keys() == expected.keys()
    worst = max(abs(ours[k] - expected[k]) for k in expected)
    assert worst < 1e-4


@pytest.mark.slow
def test_cli_market_concentration_and_diversity(tmp_path: Path) -> None:
    """The example ledger (FORMAT.md): a grant of £40,000 a year from 2006-04-01, rolled over
    to 2008-03-31, extended to 2008-09-30, varied to £42,500 (corrected from £42,000) from
    2008-06-01, expired on its end date. 2008/09 (365 days): 61 days (Apr-May) x 40,000/365 +
    122 days (Jun-Sep) x 42,500/365 = 6,684.93 + 14,205.48 = 20,890.41."""
    from tests.test_cli import EXAMPLE, assert_plain_error, cledger

    store = f"sqlite:///{tmp_path}/ledger.db"
    cledger("import", str(EXAMPLE), store=store)
    rows = json.loads(
        cledger("market", "--format", "json", "--year", "2008/09", store=store).stdout
    )
    assert [list(r) for r in rows] == [list(MARKET_COLUMNS)] * 3
    assert {(r["service_category"], r["commissioner_id"]) for r in rows} == {
        ("advocacy", "council-a"),
        ("advocacy", None),
        (None, "council-a"),
    }
    assert {r["spend"] for r in rows} == {"20890.41"} and {r["share"] for r in rows} == {1.0}
    conc = json.loads(cledger("concentration", "--format", "json", store=store).stdout)
    assert list(conc[0]) == list(CONCENTRATION_COLUMNS)
    assert {(r["financial_year"], r["hhi"], r["cr3"]) for r in conc} == {
        ("2006/07", 10_000.0, 1.0),
        ("2007/08", 10_000.0, 1.0),
        ("2008/09", 10_000.0, 1.0),
    }
    then = json.loads(
        cledger(
            "market",
            "--format",
            "json",
            "--year",
            "2008/09",
            "--known-at",
            "2000-01-01",
            store=store,
        ).stdout
    )
    assert then == []  # nothing was recorded by then
    mix = cledger("diversity", "--format", "csv", "--year", "2006/07", store=store).stdout
    assert mix.splitlines()[0] == ",".join(MIX_COLUMNS)
    assert "2006/07,advocacy,council-a,third_sector,,40000.00,1.0" in mix
    for suffix, marker in ((".svg", b"<svg"), (".html", b"vega"), (".png", b"PNG")):
        chart = tmp_path / f"chart{suffix}"
        cledger("market", "--chart", str(chart), "--format", "csv", store=store)
        assert marker in chart.read_bytes()[:2000]
    out = tmp_path / "market.parquet"
    cledger("market", "--format", "parquet", "--output", str(out), store=store)
    assert pl.read_parquet(out).columns == list(MARKET_COLUMNS)
    assert_plain_error(
        cledger("market", "--year", "2008", store=store, ok=False), "--year", "2014/15"
    )
    assert_plain_error(
        cledger("concentration", "--format", "xlsx", store=store, ok=False), "--output"
    )
    assert_plain_error(
        cledger("diversity", "--chart", str(tmp_path / "x.gif"), store=store, ok=False), ".gif"
    )
