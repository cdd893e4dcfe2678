"""Golden tests: a small hand-made ledger whose every figure is worked out by hand from the metric
definitions of DESIGN.md, then compared exactly as the views show them: money to the penny; HHI to
2 decimal places; shares, CR3, effective number and Simpson to 6 (the expected values are exact
fractions, and a view's figure must be the exact value rounded to its places); renewals and
limbo days as whole numbers. Runs on SQLite and on PostgreSQL (the `ledger` fixture).

THE LEDGER
==========

Commissioners: council-a (council), ccg-b (ccg).

Providers (sector, size band):
  mind-a       third_sector, medium
  carers-b     third_sector, small
  nhs-trust-c  nhs,          major
  care-co-d    private,      large
  sub-e        third_sector, micro   (only ever a subcontractor: no spend of its own)
  fairshare-f  private,      small   (only ever holds the rescinded award: no spend)

Agreements (all values per annum):
  adv-1   advocacy, council-a 1, mind-a sole, grant_round.
          awarded 2014-04-01..2015-03-31 at 54,600.00;
          RolledOver (decided 2015-03-01) to 2016-03-31 at 80,300.00 from 2015-04-01;
          Extended (decided 2016-03-15) to 2016-09-30 (adds 183 days, under 365: limbo);
          nothing after: lapsed since 2016-10-01 (limbo again).
  adv-2   advocacy, council-a 1, ALLIANCE carers-b 0.6 / care-co-d 0.4, competitive_tender.
          PART-YEAR term 2014-10-01..2016-09-30 at 73,000.00;
          Varied (decided 2015-09-15) to 87,600.00 applies_from 2015-10-01 (MID-YEAR VARIATION);
          Expired 2016-10-01 (ended, so no limbo).
  hous-1  supported_housing, CO-COMMISSIONED council-a 0.6 / ccg-b 0.4, LEAD PROVIDER
          nhs-trust-c (share 1) with SUBCONTRACTOR sub-e, competitive_tender.
          awarded 2015-04-01..2017-03-31 at 732,000.00 (mistyped);
          FundingResponsibilityAgreed (settled 2016-02-15) council-a 0.5 / ccg-b 0.5
          applies_from 2016-01-01 (SETTLEMENT, retrospective to 1 January);
          Corrected (acknowledged 2016-06-01): fields.annual_value 73,200.00 (CORRECTION).
  adv-3   advocacy, council-a, fairshare-f sole, direct_award, 2015-04-01..2016-03-31 at
          50,000.00; Rescinded (2015-07-15): contributes nothing (RESCINDED AWARD).
  hous-2  supported_housing, ccg-b 1, care-co-d sole, competitive_tender.
          awarded 2014-04-01..2015-03-31 at 29,200.00;
          RolledOver (2015-02-01) to 2016-03-31, value unchanged;
          RolledOver (2016-02-01) to 2017-03-31 at 36,500.00 from 2016-04-01.

DAY COUNTS
==========
Days in a financial year: 2014/15 = 365 (Feb 2015 has 28 days); 2015/16 = 366 (it contains
29 Feb 2016); 2016/17 = 365 (Feb 2017 has 28).
  1 Apr - 30 Sep            = 30+31+30+31+31+30          = 183 days (any year)
  1 Oct 2014 - 31 Mar 2015  = 31+30+31+31+28+31          = 182 days
  1 Oct 2015 - 31 Mar 2016  = 31+30+31+31+29+31          = 183 days
  1 Oct 2016 - 31 Mar 2017  = 31+30+31+31+28+31          = 182 days
  1 Apr - 31 Dec 2015       = 183+31+30+31               = 275 days
  1 Jan - 31 Mar 2016       = 31+29+31                   =  91 days
  1 Oct - 31 Dec 2016       = 31+30+31                   =  92 days

SPEND PER AGREEMENT AND YEAR (value x days active in the year / days in the year)
====================================================================================
adv-1  2014/15  54,600 x 365/365                                = 54,600.00
       2015/16  80,300 x 366/366 (rollover value from 2015-04-01) = 80,300.00
       2016/17  80,300 x 183/365 = 220 x 183 (to 30 Sep, end inclusive) = 40,260.00
adv-2  2014/15  73,000 x 182/365 = 200 x 182                    = 36,400.00
       2015/16  73,000 x 183/366 + 87,600 x 183/366 = 36,500 + 43,800 = 80,300.00
       2016/17  87,600 x 183/365 = 240 x 183                    = 43,920.00
       split 0.6 / 0.4: carers-b 21,840.00 / 48,180.00 / 26,352.00
                        care-co-d 14,560.00 / 32,120.00 / 17,568.00
hous-1 2015/16  73,200 (corrected) x 366/366 = 73,200.00 (= 200 a day), all to the lead
                council-a 0.6 x 200 x 275 + 0.5 x 200 x 91 = 33,000 + 9,100 = 42,100.00
                ccg-b     0.4 x 200 x 275 + 0.5 x 200 x 91 = 22,000 + 9,100 = 31,100.00
       2016/17  73,200 x 365/365 = 73,200.00; council-a 36,600.00, ccg-b 36,600.00
adv-3  nothing (rescinded)
hous-2 2014/15  29,200.00; 2015/16 29,200 x 366/366 = 29,200.00; 2016/17 36,500.00
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from fractions import Fraction as F
from typing import Any

import polars as pl
import pytest

from domain.ledger import Ledger
from tests.builders import award, commissioner, ev, provider

AS_OF = dt.date(2017, 3, 31)
YEARS = ("2014/15", "2015/16", "2016/17")
ADV, SH = "advocacy", "supported_housing"
CA, CB = "council-a", "ccg-b"
MIND, CARERS, TRUST, CARECO, SUB, FAIR = (
    "mind-a",
    "carers-b",
    "nhs-trust-c",
    "care-co-d",
    "sub-e",
    "fairshare-f",
)


def golden_events() -> list[Any]:
    """The hand-made ledger of the module docstring, in the order it is recorded."""
    return [
        commissioner(CA, kind="council"),
        commissioner(CB, kind="ccg"),
        provider(MIND, sector="third_sector", size_band="medium"),
        provider(CARERS, sector="third_sector", size_band="small"),
        provider(TRUST, sector="nhs", size_band="major"),
        provider(CARECO, sector="private", size_band="large"),
        provider(SUB, sector="third_sector", size_band="micro"),
        provider(FAIR, sector="private", size_band="small"),
        # adv-1: a grant rolled over with a new value, then extended by six months, then lapsed
        award(
            "adv-1",
            "2014-03-01",
            start="2014-04-01",
            end="2015-03-31",
            value="54600.00",
            route="grant_round",
            category=ADV,
            event_id="g-adv-1-award",
        ),
        ev(
            "RolledOver",
            "2015-03-01",
            agreement_id="adv-1",
            new_end="2016-03-31",
            annual_value="80300.00",
            rationale="service performing; no capacity to run a grant round",
            event_id="g-adv-1-rollover",
        ),
        ev(
            "Extended",
            "2016-03-15",
            agreement_id="adv-1",
            new_end="2016-09-30",
            rationale="awaiting the advocacy review",
            event_id="g-adv-1-extension",
        ),
        # adv-2: an alliance on a part-year term, varied mid-year, expired at its end
        award(
            "adv-2",
            "2014-09-01",
            start="2014-10-01",
            end="2016-09-30",
            value="73000.00",
            route="competitive_tender",
            type_="ContractAwarded",
            kind="alliance",
            category=ADV,
            providers=[
                {"provider_id": CARERS, "role": "alliance_member", "share": "0.6"},
                {"provider_id": CARECO, "role": "alliance_member", "share": "0.4"},
            ],
            event_id="g-adv-2-award",
        ),
        ev(
            "Varied",
            "2015-09-15",
            agreement_id="adv-2",
            annual_value="87600.00",
            applies_from="2015-10-01",
            scope="adds a crisis line",
            event_id="g-adv-2-variation",
        ),
        ev(
            "Expired",
            "2016-10-01",
            agreement_id="adv-2",
            rationale="alliance term ended",
            event_id="g-adv-2-expired",
        ),
        # hous-1: co-commissioned lead-provider contract, value mistyped and corrected later,
        # commissioners' shares re-settled from 1 January 2016
        award(
            "hous-1",
            "2015-03-01",
            start="2015-04-01",
            end="2017-03-31",
            value="732000.00",
            route="competitive_tender",
            type_="ContractAwarded",
            kind="lead_provider",
            category=SH,
            commissioners=[
                {"commissioner_id": CA, "share": "0.6"},
                {"commissioner_id": CB, "share": "0.4"},
            ],
            providers=[
                {"provider_id": TRUST, "role": "lead", "share": "1"},
                {"provider_id": SUB, "role": "subcontractor"},
            ],
            funding_stream="pooled",
            event_id="g-hous-1-award",
        ),
        ev(
            "FundingResponsibilityAgreed",
            "2016-02-15",
            agreement_id="hous-1",
            commissioners=[
                {"commissioner_id": CA, "share": "0.5"},
                {"commissioner_id": CB, "share": "0.5"},
            ],
            notes="equal shares agreed at the joint board, backdated to 1 January",
            applies_from="2016-01-01",
            event_id="g-hous-1-settlement",
        ),
        ev(
            "Corrected",
            "2016-06-01",
            corrects="g-hous-1-award",
            agreement_id="hous-1",
            fields={"annual_value": "73200.00"},
            rationale="an extra zero typed from the award letter",
            event_id="g-hous-1-correction",
        ),
        # adv-3: a direct award rescinded
        award(
            "adv-3",
            "2015-04-01",
            start="2015-04-01",
            end="2016-03-31",
            value="50000.00",
            route="direct_award",
            category=ADV,
            providers=[{"provider_id": FAIR, "role": "sole", "share": "1"}],
            event_id="g-adv-3-award",
        ),
        ev(
            "Rescinded",
            "2015-07-15",
            rescinds="g-adv-3-award",
            agreement_id="adv-3",
            rationale="entered against the wrong provider",
            event_id="g-adv-3-rescinded",
        ),
        # hous-2: a contract rolled over twice, the second time at a new value
        award(
            "hous-2",
            "2014-03-01",
            start="2014-04-01",
            end="2015-03-31",
            value="29200.00",
            route="competitive_tender",
            type_="ContractAwarded",
            kind="contract",
            category=SH,
            commissioners=[{"commissioner_id": CB, "share": "1"}],
            providers=[{"provider_id": CARECO, "role": "sole", "share": "1"}],
            funding_stream="nhs",
            event_id="g-hous-2-award",
        ),
        ev(
            "RolledOver",
            "2015-02-01",
            agreement_id="hous-2",
            new_end="2016-03-31",
            rationale="no market for a re-tender this year",
            event_id="g-hous-2-rollover-1",
        ),
        ev(
            "RolledOver",
            "2016-02-01",
            agreement_id="hous-2",
            new_end="2017-03-31",
            annual_value="36500.00",
            rationale="re-tender postponed; uplift for the living wage",
            event_id="g-hous-2-rollover-2",
        ),
    ]


# -- adapters to the projections' contract ------------------------------------------------------


def _load_frame(ledger: Ledger) -> Any:
    from infra.store.frame_cache import load_event_frame

    # the Parquet cache sits beside a SQLite file (in tmp_path); for PostgreSQL it would go to
    # the user's cache folder, so the PostgreSQL runs read the store directly
    on_sqlite = ledger.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
    return load_event_frame(ledger, cache=on_sqlite)


def _collect(result: Any) -> pl.DataFrame:
    return result.collect() if isinstance(result, pl.LazyFrame) else result


def _view(fn: Callable[..., Any], frame: Any, as_of: dt.date) -> pl.DataFrame:
    """A view of the frame as of a date: views are LazyFrame -> LazyFrame."""
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    return _collect(fn(lazy, as_of))


def _market(frame: Any, as_of: dt.date) -> pl.DataFrame:
    from projections.market import market

    return _view(market, frame, as_of)


def _concentration(frame: Any, as_of: dt.date) -> pl.DataFrame:
    from projections.market import concentration

    return _view(concentration, frame, as_of)


def _continuity(frame: Any, as_of: dt.date) -> pl.DataFrame:
    from projections.continuity import continuity

    return _view(continuity, frame, as_of)


@pytest.fixture
def frame(ledger: Ledger) -> Any:
    ledger.record(golden_events())
    return _load_frame(ledger)


# -- comparison helpers -------------------------------------------------------------------------

PENNY = Decimal("0.01")
SIX_DP = 6  # shares and indices are shown to 6 decimal places, HHI to 2
TWO_DP = 2

Key = tuple[str, str | None, str | None, str]  # financial_year, category, commissioner, provider
Segment = tuple[str | None, str | None]  # category, commissioner


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(PENNY)


def _close(got: Any, expected: F | float, places: int = SIX_DP) -> bool:
    """`got` is `expected` rounded to `places` decimals: within half a unit of the last place,
    and with no more places than that (the views round at the edge)."""
    if got is None:
        return False
    half = 0.5 * 10.0**-places + 1e-12
    return abs(float(got) - float(expected)) <= half and float(got) == round(float(got), places)


def _market_rows(df: pl.DataFrame, years: Iterable[str] = YEARS) -> dict[Key, dict[str, Any]]:
    """Rows with spend, keyed by (year, category, commissioner, provider)."""
    out: dict[Key, dict[str, Any]] = {}
    for row in df.filter(pl.col("financial_year").is_in(list(years))).iter_rows(named=True):
        if _money(row["spend"]) == 0:
            continue
        key = (
            row["financial_year"],
            row["service_category"],
            row["commissioner_id"],
            row["provider_id"],
        )
        assert key not in out, f"two market rows for {key}"
        out[key] = row
    return out


def _expected_keys(table: dict[str, dict[Segment, dict[str, tuple[str, F]]]]) -> dict[Key, Any]:
    return {
        (year, cat, com, prov): figures
        for year, segments in table.items()
        for (cat, com), providers in segments.items()
        for prov, figures in providers.items()
    }


def _exp_shannon(*shares: F) -> float:
    """Effective number of providers = exp(-sum s ln s)."""
    return math.exp(-sum(float(s) * math.log(s) for s in shares))


# -- the hand-worked market table ---------------------------------------------------------------
# For each year and segment: provider -> (spend, share). The derivations are in the docstrings of
# the tests below and in the module docstring.

ADV_1415 = {
    MIND: ("54600.00", F(3, 5)),
    CARERS: ("21840.00", F(6, 25)),
    CARECO: ("14560.00", F(4, 25)),
}
SH_1415 = {CARECO: ("29200.00", F(1))}
ADV_1516 = {
    MIND: ("80300.00", F(1, 2)),
    CARERS: ("48180.00", F(3, 10)),
    CARECO: ("32120.00", F(1, 5)),
}
SH_CB_1516 = {TRUST: ("31100.00", F(311, 603)), CARECO: ("29200.00", F(292, 603))}
ADV_1617 = {
    MIND: ("40260.00", F(11, 23)),
    CARERS: ("26352.00", F(36, 115)),
    CARECO: ("17568.00", F(24, 115)),
}
SH_CB_1617 = {TRUST: ("36600.00", F(366, 731)), CARECO: ("36500.00", F(365, 731))}

MARKET: dict[str, dict[Segment, dict[str, tuple[str, F]]]] = {
    "2014/15": {
        (ADV, CA): ADV_1415,
        (ADV, None): ADV_1415,
        (None, CA): ADV_1415,
        (SH, CB): SH_1415,
        (SH, None): SH_1415,
        (None, CB): SH_1415,
    },
    "2015/16": {
        (ADV, CA): ADV_1516,
        (ADV, None): ADV_1516,
        (SH, CA): {TRUST: ("42100.00", F(1))},
        (SH, CB): SH_CB_1516,
        (None, CB): SH_CB_1516,
        (SH, None): {TRUST: ("73200.00", F(183, 256)), CARECO: ("29200.00", F(73, 256))},
        (None, CA): {
            MIND: ("80300.00", F(803, 2027)),
            CARERS: ("48180.00", F(2409, 10135)),
            CARECO: ("32120.00", F(1606, 10135)),
            TRUST: ("42100.00", F(421, 2027)),
        },
    },
    "2016/17": {
        (ADV, CA): ADV_1617,
        (ADV, None): ADV_1617,
        (SH, CA): {TRUST: ("36600.00", F(1))},
        (SH, CB): SH_CB_1617,
        (None, CB): SH_CB_1617,
        (SH, None): {TRUST: ("73200.00", F(732, 1097)), CARECO: ("36500.00", F(365, 1097))},
        (None, CA): {
            MIND: ("40260.00", F(1, 3)),
            CARERS: ("26352.00", F(12, 55)),
            CARECO: ("17568.00", F(8, 55)),
            TRUST: ("36600.00", F(10, 33)),
        },
    },
}


def _check_spend(year: str, frame: Any) -> None:
    got = {
        k: str(_money(r["spend"])) for k, r in _market_rows(_market(frame, AS_OF), [year]).items()
    }
    expected = {k: spend for k, (spend, _) in _expected_keys({year: MARKET[year]}).items()}
    assert got == expected


def _check_shares(year: str, frame: Any) -> None:
    rows = _market_rows(_market(frame, AS_OF), [year])
    expected = _expected_keys({year: MARKET[year]})
    assert set(rows) == set(expected)
    wrong = {
        k: (rows[k]["share"], f"{float(share):.6f}")
        for k, (_, share) in expected.items()
        if not _close(rows[k]["share"], share)
    }
    assert not wrong, f"shares (got, expected): {wrong}"


# -- spend ---------------------------------------------------------------------------------------


def test_spend_2014_15(frame: Any) -> None:
    """Spend per provider, segment and level in 2014/15 (365 days), as of 2017-03-31.

    adv-1 (full year, grant): 54,600 x 365/365 = 54,600.00 -> mind-a.
    adv-2 (PART-YEAR term from 1 Oct 2014): 1 Oct 2014 - 31 Mar 2015 = 31+30+31+31+28+31 = 182
      days; 73,000 x 182/365 = 200 x 182 = 36,400.00; alliance split
      carers-b 0.6 x 36,400 = 21,840.00, care-co-d 0.4 x 36,400 = 14,560.00.
    hous-2 (full year): 29,200.00 -> care-co-d, ccg-b.
    hous-1 and adv-3 have no days in 2014/15.

    advocacy x council-a = advocacy = council-a:
      mind-a 54,600.00, carers-b 21,840.00, care-co-d 14,560.00 (total 91,000.00)
    supported_housing x ccg-b = supported_housing = ccg-b: care-co-d 29,200.00
    """
    _check_spend("2014/15", frame)


def test_spend_2015_16_leap_year(frame: Any) -> None:
    """Spend per provider, segment and level in 2015/16 (366 days: 29 Feb 2016), as of 2017-03-31.

    adv-1: ROLLOVER value 80,300 from 1 Apr 2015 (the day after the old end 31 Mar 2015), all
      366 days: 80,300 x 366/366 = 80,300.00 -> mind-a.
    adv-2: MID-YEAR VARIATION applies from 1 Oct 2015 (decided 15 Sep 2015):
      1 Apr - 30 Sep 2015 = 183 days at 73,000: 73,000 x 183/366 = 36,500.00
      1 Oct 2015 - 31 Mar 2016 = 31+30+31+31+29+31 = 183 days at 87,600:
        87,600 x 183/366 = 43,800.00
      total 80,300.00; alliance: carers-b 0.6 x 80,300 = 48,180.00, care-co-d 0.4 x = 32,120.00.
    hous-1: CORRECTED value 73,200 (not 732,000), 366 days: 73,200.00 = 200 a day, all to the
      LEAD nhs-trust-c (the subcontractor sub-e gets no spend of its own).
      Commissioners: 0.6 / 0.4 from 1 Apr to 31 Dec 2015 (183+31+30+31 = 275 days), then the
      SETTLEMENT 0.5 / 0.5 from its applies_from 1 Jan 2016 to 31 Mar 2016 (31+29+31 = 91 days):
        council-a 0.6 x 200 x 275 + 0.5 x 200 x 91 = 33,000 + 9,100 = 42,100.00
        ccg-b     0.4 x 200 x 275 + 0.5 x 200 x 91 = 22,000 + 9,100 = 31,100.00  (sum 73,200)
    adv-3: RESCINDED: nothing (fairshare-f has no spend).
    hous-2: first rollover, value unchanged: 29,200 x 366/366 = 29,200.00 -> care-co-d, ccg-b.

    advocacy x council-a = advocacy: mind-a 80,300.00, carers-b 48,180.00, care-co-d 32,120.00
    supported_housing x council-a: nhs-trust-c 42,100.00
    supported_housing x ccg-b = ccg-b: nhs-trust-c 31,100.00, care-co-d 29,200.00
    supported_housing: nhs-trust-c 42,100 + 31,100 = 73,200.00, care-co-d 29,200.00
    council-a: mind-a 80,300.00, carers-b 48,180.00, care-co-d 32,120.00, nhs-trust-c 42,100.00
    """
    _check_spend("2015/16", frame)


def test_spend_2016_17(frame: Any) -> None:
    """Spend per provider, segment and level in 2016/17 (365 days), as of 2017-03-31.

    adv-1: EXTENSION to 30 Sep 2016 carries the rollover value 80,300; 1 Apr - 30 Sep 2016 = 183
      days (end inclusive): 80,300 x 183/365 = 220 x 183 = 40,260.00 -> mind-a.
    adv-2: 87,600 to its end 30 Sep 2016: 87,600 x 183/365 = 240 x 183 = 43,920.00;
      carers-b 0.6 x 43,920 = 26,352.00, care-co-d 0.4 x 43,920 = 17,568.00.
    hous-1: 73,200 x 365/365 = 73,200.00, split 0.5 / 0.5 all year: council-a 36,600.00,
      ccg-b 36,600.00, all to nhs-trust-c.
    hous-2: second ROLLOVER value 36,500 from 1 Apr 2016: 36,500.00 -> care-co-d, ccg-b.

    advocacy x council-a = advocacy: mind-a 40,260.00, carers-b 26,352.00, care-co-d 17,568.00
    supported_housing x council-a: nhs-trust-c 36,600.00
    supported_housing x ccg-b = ccg-b: nhs-trust-c 36,600.00, care-co-d 36,500.00
    supported_housing: nhs-trust-c 73,200.00, care-co-d 36,500.00
    council-a: mind-a 40,260.00, carers-b 26,352.00, care-co-d 17,568.00, nhs-trust-c 36,600.00
    """
    _check_spend("2016/17", frame)


def test_no_spend_outside_the_three_years(frame: Any) -> None:
    """Every term lies within 1 Apr 2014 - 31 Mar 2017, so no other year has any spend."""
    df = _market(frame, AS_OF)
    others = df.filter(~pl.col("financial_year").is_in(list(YEARS)))
    assert [r for r in others.iter_rows(named=True) if _money(r["spend"]) != 0] == []


def test_rescinded_award_and_subcontractor_have_no_spend(frame: Any) -> None:
    """adv-3's award (fairshare-f, 50,000 a year, 2015/16) was rescinded: it contributes nothing.
    sub-e is hous-1's subcontractor: its work is inside the lead's spend (nhs-trust-c), so it has
    no spend of its own, in any year or segment."""
    df = _market(frame, AS_OF)
    for pid in (FAIR, SUB):
        rows = df.filter(pl.col("provider_id") == pid)
        assert [r for r in rows.iter_rows(named=True) if _money(r["spend"]) != 0] == [], pid
    # the advocacy market of 2015/16 is exactly adv-1 + adv-2 (80,300 + 80,300 = 160,600.00)
    adv = df.filter(
        (pl.col("financial_year") == "2015/16")
        & (pl.col("service_category") == ADV)
        & pl.col("commissioner_id").is_null()
    )
    assert sum(_money(s) for s in adv["spend"].to_list()) == Decimal("160600.00")


def test_co_commissioned_spend_follows_the_settlement(frame: Any) -> None:
    """hous-1 per commissioner. 2015/16: 200 a day (73,200 / 366);
    1 Apr - 31 Dec 2015 = 275 days at 0.6 / 0.4, then 1 Jan - 31 Mar 2016 = 91 days at 0.5 / 0.5
    (FundingResponsibilityAgreed effective 15 Feb 2016, applies_from 1 Jan 2016):
      council-a: 120 x 275 + 100 x 91 = 33,000 + 9,100 = 42,100.00
      ccg-b:      80 x 275 + 100 x 91 = 22,000 + 9,100 = 31,100.00
    2016/17: 0.5 x 73,200 = 36,600.00 each.
    Had the correction been ignored (732,000) council-a's 2015/16 figure would be 421,000.00."""
    rows = _market_rows(_market(frame, AS_OF))
    assert str(_money(rows[("2015/16", SH, CA, TRUST)]["spend"])) == "42100.00"
    assert str(_money(rows[("2015/16", SH, CB, TRUST)]["spend"])) == "31100.00"
    assert str(_money(rows[("2016/17", SH, CA, TRUST)]["spend"])) == "36600.00"
    assert str(_money(rows[("2016/17", SH, CB, TRUST)]["spend"])) == "36600.00"


def test_spend_as_of_mid_2015_16(frame: Any) -> None:
    """As of 30 Jun 2015 the world had not yet seen the variation of adv-2 (effective 15 Sep
    2015), the settlement of hous-1 (15 Feb 2016) nor hous-2's second rollover (1 Feb 2016).
    The CORRECTION of hous-1 (effective 1 Jun 2016) and the RESCISSION of adv-3 (15 Jul 2015)
    apply anyway: a correction applies to the event it names from that event's effective date
    as soon as it is known; its own effective_on does not limit it. So 2015/16 as of 2015-06-30,
    under the terms then in force (committed for the year still running):

      adv-1: 80,300 x 366/366 = 80,300.00 -> mind-a
      adv-2: 73,000 x 366/366 = 73,000.00; carers-b 0.6 x = 43,800.00, care-co-d 0.4 x = 29,200.00
      hous-1: 73,200 (corrected); 0.6 / 0.4 all year: council-a 43,920.00, ccg-b 29,280.00
      adv-3: nothing (rescinded)
      hous-2: 29,200.00 -> care-co-d

    advocacy x council-a: mind-a 80,300.00, carers-b 43,800.00, care-co-d 29,200.00
      (total 153,300.00; mind-a's share 80,300/153,300 = 11/21 = 0.523810)
    supported_housing x council-a: nhs-trust-c 43,920.00
    supported_housing x ccg-b: nhs-trust-c 29,280.00, care-co-d 29,200.00 (total 58,480.00;
      shares 29,280/58,480 = 366/731 = 0.500684 and 365/731 = 0.499316)
    """
    rows = _market_rows(_market(frame, dt.date(2015, 6, 30)), ["2015/16"])
    crossed = {
        (k[1], k[2], k[3]): str(_money(r["spend"]))
        for k, r in rows.items()
        if k[1] is not None and k[2] is not None
    }
    assert crossed == {
        (ADV, CA, MIND): "80300.00",
        (ADV, CA, CARERS): "43800.00",
        (ADV, CA, CARECO): "29200.00",
        (SH, CA, TRUST): "43920.00",
        (SH, CB, TRUST): "29280.00",
        (SH, CB, CARECO): "29200.00",
    }
    assert _close(rows[("2015/16", ADV, CA, MIND)]["share"], F(11, 21))
    assert _close(rows[("2015/16", SH, CB, TRUST)]["share"], F(366, 731))
    assert _close(rows[("2015/16", SH, CB, CARECO)]["share"], F(365, 731))


LATE = ("g-hous-1-correction", "g-adv-3-rescinded")  # recorded later in the known_at test


def test_spend_as_known_before_the_correction_and_rescission(tmp_path: Any) -> None:
    """known_at: what the ledger said before the mistakes were put right. Everything is recorded
    on 1 Mar 2016 except hous-1's correction and adv-3's rescission, recorded on 1 Jun 2016.
    As known at 1 Apr 2016 (as of 31 Mar 2017), 2015/16:

      hous-1 at the mistyped 732,000 a year = 2,000 a day (732,000 / 366), settlement known:
        council-a 0.6 x 2,000 x 275 + 0.5 x 2,000 x 91 = 330,000 + 91,000 = 421,000.00
        ccg-b     0.4 x 2,000 x 275 + 0.5 x 2,000 x 91 = 220,000 + 91,000 = 311,000.00
      adv-3 not yet rescinded: fairshare-f 50,000 x 366/366 = 50,000.00 (advocacy x council-a)
    As known now: 42,100.00 / 31,100.00 and no fairshare-f (test_spend_2015_16_leap_year).
    """
    from infra.bootstrap import open_ledger
    from infra.clocks import SimulatedClock

    clock = SimulatedClock(dt.datetime(2016, 3, 1, 12, tzinfo=dt.UTC))
    ledger = open_ledger(f"sqlite:///{tmp_path}/known.db", clock=clock)
    try:
        events = golden_events()
        ledger.record([e for e in events if e.event_id not in LATE])
        clock.set(dt.datetime(2016, 6, 1, 9, tzinfo=dt.UTC))
        ledger.record([e for e in events if e.event_id in LATE])
        frame = _load_frame(ledger).lazy()
    finally:
        ledger.close()
    from projections.market import market

    def crossed(known_at: dt.datetime | None) -> dict[tuple[str, str, str], str]:
        rows = _market_rows(_collect(market(frame, AS_OF, known_at)), ["2015/16"])
        return {
            (k[1], k[2], k[3]): str(_money(r["spend"]))
            for k, r in rows.items()
            if k[1] is not None and k[2] is not None
        }

    before = crossed(dt.datetime(2016, 4, 1, tzinfo=dt.UTC))
    assert before[(SH, CA, TRUST)] == "421000.00"
    assert before[(SH, CB, TRUST)] == "311000.00"
    assert before[(ADV, CA, FAIR)] == "50000.00"
    now = crossed(None)
    assert now[(SH, CA, TRUST)] == "42100.00"
    assert now[(SH, CB, TRUST)] == "31100.00"
    assert (ADV, CA, FAIR) not in now


# -- market shares -------------------------------------------------------------------------------


def test_market_shares_2014_15(frame: Any) -> None:
    """Share = provider spend / segment spend, 2014/15.

    advocacy x council-a (= advocacy = council-a), total 54,600 + 21,840 + 14,560 = 91,000:
      mind-a   54,600 / 91,000 = 3/5  = 0.600000
      carers-b 21,840 / 91,000 = 6/25 = 0.240000
      care-co-d 14,560 / 91,000 = 4/25 = 0.160000
    supported_housing x ccg-b (= supported_housing = ccg-b): care-co-d 1.000000
    """
    _check_shares("2014/15", frame)


def test_market_shares_2015_16(frame: Any) -> None:
    """Share = provider spend / segment spend, 2015/16.

    advocacy x council-a (= advocacy), total 80,300 + 48,180 + 32,120 = 160,600:
      mind-a 80,300/160,600 = 1/2 = 0.500000; carers-b 48,180/160,600 = 3/10 = 0.300000;
      care-co-d 32,120/160,600 = 1/5 = 0.200000
    supported_housing x council-a: nhs-trust-c 1.000000
    supported_housing x ccg-b (= ccg-b), total 31,100 + 29,200 = 60,300:
      nhs-trust-c 311/603 = 0.515755; care-co-d 292/603 = 0.484245
    supported_housing, total 73,200 + 29,200 = 102,400:
      nhs-trust-c 732/1024 = 183/256 = 0.714844; care-co-d 292/1024 = 73/256 = 0.285156
    council-a, total 80,300 + 48,180 + 32,120 + 42,100 = 202,700:
      mind-a 803/2027 = 0.396152; carers-b 4,818/20,270 = 2409/10135 = 0.237691;
      care-co-d 3,212/20,270 = 1606/10135 = 0.158461; nhs-trust-c 421/2027 = 0.207696
    """
    _check_shares("2015/16", frame)


def test_market_shares_2016_17(frame: Any) -> None:
    """Share = provider spend / segment spend, 2016/17.

    advocacy x council-a (= advocacy), total 40,260 + 26,352 + 17,568 = 84,180:
      mind-a 40,260/84,180 = 11/23 = 0.478261 (84,180 = 3,660 x 23; 40,260 = 3,660 x 11);
      carers-b 26,352/84,180 = 36/115 = 0.313043 (84,180 = 732 x 115; 26,352 = 732 x 36);
      care-co-d 17,568/84,180 = 24/115 = 0.208696 (17,568 = 732 x 24)
    supported_housing x council-a: nhs-trust-c 1.000000
    supported_housing x ccg-b (= ccg-b), total 36,600 + 36,500 = 73,100:
      nhs-trust-c 366/731 = 0.500684; care-co-d 365/731 = 0.499316
    supported_housing, total 73,200 + 36,500 = 109,700:
      nhs-trust-c 732/1097 = 0.667274; care-co-d 365/1097 = 0.332726
    council-a, total 40,260 + 26,352 + 17,568 + 36,600 = 120,780:
      mind-a 1/3 = 0.333333 (120,780 = 3 x 40,260); carers-b 12/55 = 0.218182
      (120,780 = 2,196 x 55; 26,352 = 2,196 x 12); care-co-d 8/55 = 0.145455 (17,568 = 2,196 x 8);
      nhs-trust-c 10/33 = 0.303030 (120,780 = 3,660 x 33; 36,600 = 3,660 x 10)
    """
    _check_shares("2016/17", frame)


# -- concentration -------------------------------------------------------------------------------
# (year, category, commissioner) -> (providers, HHI, CR3, effective number, Simpson)
Conc = tuple[int, F, F, float, F]


def _conc_rows(frame: Any, as_of: dt.date = AS_OF) -> dict[tuple[str, str | None, str | None], Any]:
    df = _concentration(frame, as_of)
    out: dict[tuple[str, str | None, str | None], Any] = {}
    for row in df.iter_rows(named=True):
        key = (row["financial_year"], row["service_category"], row["commissioner_id"])
        assert key not in out, f"two concentration rows for {key}"
        out[key] = row
    return out


def _check_concentration(
    frame: Any, expected: dict[tuple[str, str | None, str | None], Conc]
) -> None:
    rows = _conc_rows(frame)
    wrong: dict[Any, Any] = {}
    for key, (n, hhi, cr3, eff, simpson) in expected.items():
        assert key in rows, f"no concentration row for {key}; rows: {sorted(rows, key=str)}"
        row = rows[key]
        got = (row["providers"], row["hhi"], row["cr3"], row["effective_number"], row["simpson"])
        ok = (
            int(row["providers"]) == n
            and _close(row["hhi"], hhi, TWO_DP)
            and _close(row["cr3"], cr3)
            and _close(row["effective_number"], eff)
            and _close(row["simpson"], simpson)
        )
        if not ok:
            wrong[key] = {
                "got": got,
                "expected": (
                    n,
                    f"{float(hhi):.6f}",
                    f"{float(cr3):.6f}",
                    f"{eff:.6f}",
                    f"{float(simpson):.6f}",
                ),
            }
    assert not wrong, wrong


MONOPOLY: Conc = (1, F(10000), F(1), 1.0, F(0))


def test_concentration_2014_15(frame: Any) -> None:
    """2014/15, shares 3/5, 6/25, 4/25 (60 %, 24 %, 16 %) in advocacy x council-a, advocacy and
    council-a:
      providers 3
      HHI = 60^2 + 24^2 + 16^2 = 3,600 + 576 + 256 = 4,432
      CR3 = 0.6 + 0.24 + 0.16 = 1 (only three providers)
      Shannon H = -(0.6 ln 0.6 + 0.24 ln 0.24 + 0.16 ln 0.16)
                = 0.6 x 0.510826 + 0.24 x 1.427116 + 0.16 x 1.832581
                = 0.306495 + 0.342508 + 0.293213 = 0.942216; effective number = e^H = 2.565661
      Simpson = 1 - (0.36 + 0.0576 + 0.0256) = 1 - 0.4432 = 0.556800
    supported_housing x ccg-b, supported_housing and ccg-b: care-co-d alone (share 1):
      providers 1, HHI 100^2 = 10,000, CR3 1, effective number e^0 = 1, Simpson 1 - 1 = 0
    """
    adv = (3, F(4432), F(1), _exp_shannon(F(3, 5), F(6, 25), F(4, 25)), F(348, 625))
    _check_concentration(
        frame,
        {
            ("2014/15", ADV, CA): adv,
            ("2014/15", ADV, None): adv,
            ("2014/15", None, CA): adv,
            ("2014/15", SH, CB): MONOPOLY,
            ("2014/15", SH, None): MONOPOLY,
            ("2014/15", None, CB): MONOPOLY,
        },
    )


def test_concentration_2015_16(frame: Any) -> None:
    """2015/16, from the shares of test_market_shares_2015_16:

    advocacy x council-a and advocacy: shares 1/2, 3/10, 1/5
      providers 3; HHI = 50^2 + 30^2 + 20^2 = 2,500 + 900 + 400 = 3,800; CR3 = 1
      H = 0.5 ln 2 + 0.3 ln(10/3) + 0.2 ln 5 = 0.346574 + 0.361192 + 0.321888 = 1.029653
      effective number = e^1.029653 = 2.800094; Simpson = 1 - 0.38 = 0.620000
    supported_housing x council-a: nhs-trust-c alone: 1, 10,000, 1, 1, 0
    supported_housing x ccg-b and ccg-b: shares 311/603, 292/603
      HHI = 10,000 x (311^2 + 292^2) / 603^2 = 10,000 x (96,721 + 85,264) / 363,609
          = 1,819,850,000 / 363,609 = 5,004.964124; CR3 = 1
      H = -(0.515755 ln 0.515755 + 0.484245 ln 0.484245) = 0.341494 + 0.351157 = 0.692651
      effective number = 1.999007; Simpson = 1 - 181,985/363,609 = 181,624/363,609 = 0.499504
    supported_housing: shares 183/256, 73/256
      HHI = 10,000 x (183^2 + 73^2) / 256^2 = 10,000 x (33,489 + 5,329) / 65,536
          = 388,180,000 / 65,536 = 5,923.156738; CR3 = 1
      H = -(0.714844 ln 0.714844 + 0.285156 ln 0.285156) = 0.239967 + 0.357791 = 0.597758
      effective number = 1.818037; Simpson = 1 - 38,818/65,536 = 26,718/65,536 = 0.407684
    council-a: shares 803/2027, 2409/10135, 1606/10135, 421/2027 (in 10135ths: 4015, 2409, 1606,
      2105)
      HHI = 10,000 x (4015^2 + 2409^2 + 1606^2 + 2105^2) / 10135^2
          = 10,000 x (16,120,225 + 5,803,281 + 2,579,236 + 4,431,025) / 102,718,225
          = 10,000 x 28,933,767 / 102,718,225 = 2,816.809480
      CR3 = top three (mind-a, carers-b, nhs-trust-c) = (4015 + 2409 + 2105)/10135
          = 8529/10135 = 0.841539 (care-co-d, 0.158461, is fourth)
      H = 0.366820 + 0.341511 + 0.291924 + 0.326432 = 1.326686 (s ln 1/s for mind-a, carers-b,
      care-co-d, nhs-trust-c); effective number = e^1.326686 = 3.768535
      Simpson = 1 - 28,933,767/102,718,225 = 73,784,458/102,718,225 = 0.718319
    """
    adv = (3, F(3800), F(1), _exp_shannon(F(1, 2), F(3, 10), F(1, 5)), F(31, 50))
    cb = (
        2,
        F(1_819_850_000, 363_609),
        F(1),
        _exp_shannon(F(311, 603), F(292, 603)),
        F(181_624, 363_609),
    )
    sh = (
        2,
        F(388_180_000, 65_536),
        F(1),
        _exp_shannon(F(183, 256), F(73, 256)),
        F(26_718, 65_536),
    )
    ca = (
        4,
        F(289_337_670_000, 102_718_225),
        F(8529, 10135),
        _exp_shannon(F(4015, 10135), F(2409, 10135), F(1606, 10135), F(2105, 10135)),
        F(73_784_458, 102_718_225),
    )
    _check_concentration(
        frame,
        {
            ("2015/16", ADV, CA): adv,
            ("2015/16", ADV, None): adv,
            ("2015/16", SH, CA): MONOPOLY,
            ("2015/16", SH, CB): cb,
            ("2015/16", None, CB): cb,
            ("2015/16", SH, None): sh,
            ("2015/16", None, CA): ca,
        },
    )


def test_concentration_2016_17(frame: Any) -> None:
    """2016/17, from the shares of test_market_shares_2016_17:

    advocacy x council-a and advocacy: shares 11/23 = 55/115, 36/115, 24/115
      HHI = 10,000 x (55^2 + 36^2 + 24^2) / 115^2 = 10,000 x (3,025 + 1,296 + 576) / 13,225
          = 10,000 x 4,897 / 13,225 = 3,702.835539; CR3 = 1
      H = 0.352765 + 0.363573 + 0.327001 = 1.043338 -> effective number e^H = 2.838677
      Simpson = 1 - 4,897/13,225 = 8,328/13,225 = 0.629716
    supported_housing x council-a: nhs-trust-c alone: 1, 10,000, 1, 1, 0
    supported_housing x ccg-b and ccg-b: shares 366/731, 365/731
      HHI = 10,000 x (366^2 + 365^2) / 731^2 = 10,000 x (133,956 + 133,225) / 534,361
          = 10,000 x 267,181 / 534,361 = 5,000.009357; CR3 = 1
      H = 0.346363 + 0.346783 = 0.693146 -> effective number 1.999998
      Simpson = 1 - 267,181/534,361 = 267,180/534,361 = 0.499999
    supported_housing: shares 732/1097, 365/1097
      HHI = 10,000 x (732^2 + 365^2) / 1097^2 = 10,000 x (535,824 + 133,225) / 1,203,409
          = 10,000 x 669,049 / 1,203,409 = 5,559.614395; CR3 = 1
      H = 0.366144 + 0.269948 = 0.636092 -> effective number 1.889084
      Simpson = 1 - 669,049/1,203,409 = 534,360/1,203,409 = 0.444039
    council-a: shares 1/3, 12/55, 8/55, 10/33 (in 165ths: 55, 36, 24, 50)
      HHI = 10,000 x (55^2 + 36^2 + 24^2 + 50^2) / 165^2
          = 10,000 x (3,025 + 1,296 + 576 + 2,500) / 27,225 = 10,000 x 7,397 / 27,225 = 2,716.988062
      CR3 = (55 + 50 + 36)/165 = 141/165 = 47/55 = 0.854545 (care-co-d, 24/165, is fourth)
      H = 0.366204 + 0.332166 + 0.280421 + 0.361795 = 1.340585 -> effective number 3.821279
      Simpson = 1 - 7,397/27,225 = 19,828/27,225 = 0.728301
    """
    adv = (
        3,
        F(48_970_000, 13_225),
        F(1),
        _exp_shannon(F(55, 115), F(36, 115), F(24, 115)),
        F(8_328, 13_225),
    )
    cb = (
        2,
        F(2_671_810_000, 534_361),
        F(1),
        _exp_shannon(F(366, 731), F(365, 731)),
        F(267_180, 534_361),
    )
    sh = (
        2,
        F(6_690_490_000, 1_203_409),
        F(1),
        _exp_shannon(F(732, 1097), F(365, 1097)),
        F(534_360, 1_203_409),
    )
    ca = (
        4,
        F(73_970_000, 27_225),
        F(47, 55),
        _exp_shannon(F(55, 165), F(36, 165), F(24, 165), F(50, 165)),
        F(19_828, 27_225),
    )
    _check_concentration(
        frame,
        {
            ("2016/17", ADV, CA): adv,
            ("2016/17", ADV, None): adv,
            ("2016/17", SH, CA): MONOPOLY,
            ("2016/17", SH, CB): cb,
            ("2016/17", None, CB): cb,
            ("2016/17", SH, None): sh,
            ("2016/17", None, CA): ca,
        },
    )


# -- continuity: non-competitive renewals and limbo ----------------------------------------------


def _continuity_rows(frame: Any, as_of: dt.date) -> dict[str, dict[str, Any]]:
    df = _continuity(frame, as_of)
    out: dict[str, dict[str, Any]] = {}
    for row in df.iter_rows(named=True):
        assert row["agreement_id"] not in out, f"two continuity rows for {row['agreement_id']}"
        out[row["agreement_id"]] = row
    return out


def _renewals_and_limbo(frame: Any, as_of: dt.date) -> dict[str, tuple[int, int]]:
    rows = _continuity_rows(frame, as_of)
    # a rescinded award has no effect: if the view lists adv-3 at all, it has no renewals or limbo
    if "adv-3" in rows:
        assert (rows["adv-3"]["non_competitive_renewals"] or 0) == 0
        assert (rows["adv-3"]["limbo_days"] or 0) == 0
    return {
        aid: (int(rows[aid]["non_competitive_renewals"]), int(rows[aid]["limbo_days"]))
        for aid in ("adv-1", "adv-2", "hous-1", "hous-2")
    }


def test_renewals_and_limbo_as_of_2017_03_31(frame: Any) -> None:
    """As of 31 Mar 2017 (renewals = rollovers and extensions since the last competition; limbo =
    days added by each extension of under 365 days, plus for a lapsed agreement the days from
    its end + 1 to as_of):

    adv-1: competed (grant_round) 2014, then RolledOver (2015-03-01) and Extended (2016-03-15):
      renewals 2.
      Extension 31 Mar 2016 -> 30 Sep 2016 adds 1 Apr - 30 Sep 2016 = 183 days (< 365): limbo.
      No ending event after 30 Sep 2016: lapsed; 1 Oct 2016 - 31 Mar 2017
      = 31+30+31+31+28+31 = 182 days. limbo = 183 + 182 = 365.
    adv-2: competed, varied (a variation is not a renewal), Expired 1 Oct 2016: renewals 0,
      limbo 0 (ended, not lapsed).
    hous-1: competed; settlement and correction are not renewals: 0; ends 31 Mar 2017, which is
      as_of itself, so not yet lapsed: limbo 0.
    hous-2: competed, RolledOver twice: renewals 2; rollovers are not extensions (and each adds a
      full year: 366 and 365 days), ends 31 Mar 2017 = as_of: limbo 0.
    Each agreement is its own lineage (nothing links them), so four distinct lineage ids.
    """
    assert _renewals_and_limbo(frame, AS_OF) == {
        "adv-1": (2, 365),
        "adv-2": (0, 0),
        "hous-1": (0, 0),
        "hous-2": (2, 0),
    }
    rows = _continuity_rows(frame, AS_OF)
    lineages = {rows[a]["lineage_id"] for a in ("adv-1", "adv-2", "hous-1", "hous-2")}
    assert len(lineages) == 4


def test_renewals_and_limbo_as_of_2016_12_31(frame: Any) -> None:
    """As of 31 Dec 2016: every event has taken effect, so renewals are as at 31 Mar 2017.
    adv-1: limbo = 183 (extension) + lapse 1 Oct - 31 Dec 2016 = 31+30+31 = 92 -> 275.
    adv-2: Expired on 1 Oct 2016, so it is ended, not lapsed: 0.
    hous-1 and hous-2 run to 31 Mar 2017: not lapsed, 0."""
    assert _renewals_and_limbo(frame, dt.date(2016, 12, 31)) == {
        "adv-1": (2, 275),
        "adv-2": (0, 0),
        "hous-1": (0, 0),
        "hous-2": (2, 0),
    }


def test_renewals_and_limbo_as_of_2015_12_31(frame: Any) -> None:
    """As of 31 Dec 2015 the world has seen only what took effect by then:
    adv-1: the rollover (2015-03-01) but not yet the extension (2016-03-15): renewals 1; its end
      31 Mar 2016 has not passed: limbo 0.
    hous-2: the first rollover (2015-02-01), not yet the second (2016-02-01): renewals 1,
      limbo 0 (end 31 Mar 2016 not passed).
    adv-2 and hous-1: 0, 0."""
    assert _renewals_and_limbo(frame, dt.date(2015, 12, 31)) == {
        "adv-1": (1, 0),
        "adv-2": (0, 0),
        "hous-1": (0, 0),
        "hous-2": (1, 0),
    }


# -- the grace period: lapsed, then ended without record -----------------------------------------
# A second hand-made ledger (DESIGN.md, "Rules in time"): an agreement past its end with no
# ending recorded and no decision since its last term was set is lapsed for 365 days after its
# end, then ended without record (taken as ended on its end date). All values per annum; council
# a commissions, mind-a provides; leads k.lee, or none.
#
#   act-1   grant_round 2016-04-01..2018-03-31, 12,000.00, k.lee        in force
#   lap-1   grant_round 2015-12-22..2016-12-21, 36,500.00, k.lee, crisis_support
#   edge-365 grant_round 2015-04-01..2016-03-31, 10,000.00, k.lee
#   edge-366 grant_round 2015-03-31..2016-03-30, 10,000.00, k.lee
#   old-1   direct_award 2010-02-26..2011-02-25, 50,000.00, k.lee; RolledOver (2011-02-01) to
#           2012-02-25, (2012-02-01) to 2014-02-25, (2014-02-01) to 2016-02-25
#   lap-2   grant_round 2016-06-01..2017-01-31, 5,000.00, no lead
#   old-2   grant_round 2013-04-01..2014-03-31, 5,000.00, no lead
#   rep-1   grant_round 2014-04-01..2016-03-31, 20,000.00, k.lee; Reprocured 2016-01-15 to rep-2
#   rep-2   grant_round 2016-04-01..2019-03-31 (awarded 2016-01-10), 20,000.00, k.lee
#
# Days past the end on 2017-03-31 (AS_OF):
#   lap-1    22 Dec 2016 - 31 Mar 2017 = 10 + 31 + 28 + 31               = 100  -> lapsed
#   edge-365 1 Apr 2016 - 31 Mar 2017 (no 29 Feb: 2017 is not leap)      = 365  -> lapsed, the
#            grace period's last day (it ends on 2016-03-31 + 365 = 2017-03-31)
#   edge-366 31 Mar 2016 - 31 Mar 2017                                    = 366  -> ended without
#            record (its lapse was 31 Mar 2016 - 30 Mar 2017 = 365 days)
#   old-1    26 Feb 2016 - 31 Mar 2017 = 4 + 31 (Mar 2016) + 365         = 400  -> ended without
#            record; lapse capped at 365
#   lap-2    1 Feb - 31 Mar 2017 = 28 + 31                                =  59  -> lapsed
#   old-2    1 Apr 2014 - 31 Mar 2017 = 365 + 366 + 365                   = 1096 -> ended w/o record
#   rep-1    past its end, but re-procured (15 Jan 2016) after its term was set: a decision, so
#            it has ended without record since its end, and never lapsed (0 days)

GRACE_AS_OF = AS_OF  # 2017-03-31
KLEE = "k.lee"


def grace_events() -> list[Any]:
    """The grace-period ledger above, in the order it is recorded."""
    return [
        commissioner(CA, kind="council"),
        provider(MIND, sector="third_sector", size_band="medium"),
        award(
            "act-1", "2016-03-01", start="2016-04-01", end="2018-03-31", value="12000.00", lead=KLEE
        ),
        award(
            "lap-1",
            "2015-12-01",
            start="2015-12-22",
            end="2016-12-21",
            value="36500.00",
            lead=KLEE,
            category="crisis_support",
        ),
        award(
            "edge-365",
            "2015-03-01",
            start="2015-04-01",
            end="2016-03-31",
            value="10000.00",
            lead=KLEE,
        ),
        award(
            "edge-366",
            "2015-03-01",
            start="2015-03-31",
            end="2016-03-30",
            value="10000.00",
            lead=KLEE,
        ),
        award(
            "old-1",
            "2010-02-01",
            start="2010-02-26",
            end="2011-02-25",
            value="50000.00",
            route="direct_award",
            lead=KLEE,
        ),
        *(
            ev("RolledOver", on, agreement_id="old-1", new_end=end, rationale="no time to tender")
            for on, end in (
                ("2011-02-01", "2012-02-25"),
                ("2012-02-01", "2014-02-25"),
                ("2014-02-01", "2016-02-25"),
            )
        ),
        award(
            "lap-2", "2016-05-01", start="2016-06-01", end="2017-01-31", value="5000.00", lead=None
        ),
        award(
            "old-2", "2013-03-01", start="2013-04-01", end="2014-03-31", value="5000.00", lead=None
        ),
        award(
            "rep-1", "2014-03-01", start="2014-04-01", end="2016-03-31", value="20000.00", lead=KLEE
        ),
        award(
            "rep-2", "2016-01-10", start="2016-04-01", end="2019-03-31", value="20000.00", lead=KLEE
        ),
        ev(
            "Reprocured",
            "2016-01-15",
            agreement_id="rep-1",
            successor_agreement_id="rep-2",
            incumbent_retained=True,
            rationale="grant round held",
        ),
    ]


@pytest.fixture
def grace(ledger: Ledger) -> tuple[Ledger, Any]:
    ledger.record(grace_events())
    return ledger, _load_frame(ledger)


# (status, lapsed_days, limbo_days) on 2017-03-31, from the table above
GRACE_CONTINUITY = {
    "act-1": ("active", 0, 0),
    "edge-365": ("lapsed", 365, 365),
    "edge-366": ("ended_without_record", 365, 365),
    "lap-1": ("lapsed", 100, 100),
    "lap-2": ("lapsed", 59, 59),
    "old-1": ("ended_without_record", 365, 365),
    "old-2": ("ended_without_record", 365, 365),
    "rep-1": ("ended_without_record", 0, 0),
    "rep-2": ("active", 0, 0),
}


def test_grace_period_statuses_and_limbo(grace: tuple[Ledger, Any]) -> None:
    """Status, lapse and limbo on 2017-03-31, in the continuity view and in the register
    (`agreements`), which must agree: lap-1 is 100 days past its end, so lapsed and in limbo
    100 days; edge-365 is on the last day of its grace period (365); edge-366 a day beyond
    it, so ended without record, its lapse the 365 days of the grace period and no more;
    old-1, 400 days past, likewise 365, not 400 (its rollovers add no limbo); old-2, three
    years past, 365; rep-1 was re-procured before its end: ended without record from its end,
    never lapsed."""
    from domain.register import build_register

    ledger, frame = grace
    rows = _continuity_rows(frame, GRACE_AS_OF)
    got = {a: (r["status"], r["lapsed_days"], r["limbo_days"]) for a, r in rows.items()}
    assert got == GRACE_CONTINUITY
    register = build_register(ledger.facts(), as_of=GRACE_AS_OF)
    assert {e.terms.agreement_id: e.status for e in register} == {
        a: status for a, (status, _, _) in GRACE_CONTINUITY.items()
    }


def test_grace_period_ends_a_day_later(grace: tuple[Ledger, Any]) -> None:
    """On 2017-04-01 edge-365 is 366 days past its end: ended without record, lapse 365. On
    2016-05-01 edge-366 (ended 30 Mar 2016) is lapsed 32 days (31 Mar - 1 May = 1 + 30 + 1),
    while rep-1 (ended 31 Mar 2016, re-procured in January) has already ended without record."""
    _, frame = grace
    later = _continuity_rows(frame, dt.date(2017, 4, 1))["edge-365"]
    assert (later["status"], later["lapsed_days"]) == ("ended_without_record", 365)
    earlier = _continuity_rows(frame, dt.date(2016, 5, 1))
    assert (earlier["edge-366"]["status"], earlier["edge-366"]["lapsed_days"]) == ("lapsed", 32)
    assert (earlier["rep-1"]["status"], earlier["rep-1"]["lapsed_days"]) == (
        "ended_without_record",
        0,
    )


def test_grace_period_brief(grace: tuple[Ledger, Any]) -> None:
    """k.lee's brief on 2017-03-31: held (in force) act-1 and rep-2, worth 12,000.00 + 20,000.00
    = 32,000.00 a year; listed apart as lapsed edge-365 (365 days past its end, grace ends
    2017-03-31) and lap-1 (100 days, grace ends 2016-12-21 + 365 = 2017-12-21), neither held
    nor in the value; ended without record, counted in one line: edge-366, old-1, rep-1 = 3.
    Limbo: edge-365 365 days, lap-1 100. No flag on what k.lee answers for (all four competed
    in the last five years, a lead recorded, rationales given); old-1's serial renewals are
    not the brief's business (it has ended). Nothing due in 6 months (act-1 ends 2018-03-31)."""
    from projections.briefing import brief, to_markdown

    _, frame = grace
    report = brief(frame, GRACE_AS_OF, lead=KLEE)
    scope = report["scope"]
    assert report["holdings"]["agreement_id"].to_list() == ["act-1", "rep-2"]
    assert (scope["agreements"], _money(scope["total_annual_value"])) == (2, Decimal("32000.00"))
    lapsed = report["lapsed"].select("agreement_id", "days_past_end", "grace_ends").rows()
    assert lapsed == [
        ("edge-365", 365, dt.date(2017, 3, 31)),
        ("lap-1", 100, dt.date(2017, 12, 21)),
    ]
    assert (scope["lapsed"], scope["ended_without_record"]) == (2, 3)
    assert report["limbo"].select("agreement_id", "limbo_days").rows() == [
        ("edge-365", 365),
        ("lap-1", 100),
    ]
    assert (scope["flags"], scope["due"]) == (0, 0)
    text = to_markdown(report)
    assert "2 agreements held" in text and "32,000.00" in text
    assert "2 lapsed" in text and "3 ended without record" in text


def test_grace_period_flags(grace: tuple[Ledger, Any]) -> None:
    """Flags on 2017-03-31: old-1 was rolled over 3 times without competition (never
    competed: a direct award of 2010): serial_non_competitive_renewal stands although it has
    ended (a fact of its history), but not no_competition_5_years (nobody can re-tender what
    has ended). lap-2 is lapsed with no lead: orphaned (somebody must find out whether it
    still runs). old-2 has ended without record: no lead, but not orphaned."""
    from projections.audit import flags

    _, frame = grace
    got = _view(flags, frame, GRACE_AS_OF).select("agreement_id", "flag").rows()
    assert got == [("lap-2", "orphaned"), ("old-1", "serial_non_competitive_renewal")]


def test_grace_period_spend_stops_at_the_end(grace: tuple[Ledger, Any]) -> None:
    """lap-1 (crisis support, its own segment) is spent to its end, 21 Dec 2016, and not in its
    lapse: 2016/17 has 1 Apr - 21 Dec 2016 = 30+31+30+31+31+30+31+30+21 = 265 days at
    36,500 / 365 = 100.00 a day = 26,500.00; as of 30 Jun 2017, still lapsed, 2017/18 has
    none."""
    _, frame = grace
    rows = _market(frame, dt.date(2017, 6, 30)).filter(
        (pl.col("service_category") == "crisis_support") & pl.col("commissioner_id").is_not_null()
    )
    assert {r["financial_year"]: str(_money(r["spend"])) for r in rows.iter_rows(named=True)} == {
        "2015/16": str(_money(36_500 * 101 / 366)),  # 22 Dec 2015 - 31 Mar 2016 = 101 days
        "2016/17": "26500.00",
    }
