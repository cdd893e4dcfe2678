"""Continuity, the expiry pipeline, red flags and the audit, on the hand-built story of
`tests/story.py` (read its docstring first), recorded through the ledger on SQLite and on
PostgreSQL. Figures are worked out by hand in each test's docstring.

Day counts used below: 1 Apr - 30 Sep = 183 days; 1 Oct - 31 Mar = 182 (no 29 Feb) or 183;
1 Apr - 30 Jun = 91; 1 Jul - 30 Sep = 92. Years are days / 365.25, to two decimals.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.store.frame_cache import load_event_frame
from projections.audit import UnknownAgreementError, audit, flags
from projections.continuity import continuity
from projections.pipeline import pipeline
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tests.story import AS_OF, BETWEEN, T0, record_story
from tests.test_cli import cledger


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def story_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store holding the story, recorded once per module and store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('story')}/ledger.db"
        name = None
    else:
        name = f"cledger_test_{uuid.uuid4().hex[:12]}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    clock = SimulatedClock(T0)
    ledger = open_ledger(url, clock=clock)
    record_story(ledger, clock)
    ledger.close()
    yield url
    if name is not None:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def frame(story_store: str) -> pl.DataFrame:
    return load_event_frame(story_store, cache=False)


def rows(view: pl.LazyFrame) -> dict[str, dict[str, Any]]:
    return {r["agreement_id"]: r for r in view.collect().iter_rows(named=True)}


def flag_set(frame: pl.DataFrame, as_of: dt.date, **kw: Any) -> set[tuple[str, str]]:
    return {(r["agreement_id"], r["flag"]) for r in flags(frame, as_of, **kw).collect().to_dicts()}


def test_lineage_follows_reprocurements_merges_and_novations(frame: pl.DataFrame) -> None:
    """a-1 -> a-2 -> a-3 by two re-procurements: one lineage, named after its earliest agreement,
    a-1 (start 2006-04-01). n-1 -> n-2 by a novation naming n-2 in related_agreements: lineage
    n-1. p-9 merged_into p-2: p-9 starts earlier (2014-10-01 < 2015-01-01), so it names the
    lineage. p-4 -> p-5 by re-procurement. Everything else stands alone. The rescinded r-1 has
    no row."""
    c = rows(continuity(frame, AS_OF))
    lineage = {aid: r["lineage_id"] for aid, r in c.items()}
    assert {k: lineage[k] for k in ("a-1", "a-2", "a-3")} == dict.fromkeys(
        ("a-1", "a-2", "a-3"), "a-1"
    )
    assert (lineage["n-1"], lineage["n-2"]) == ("n-1", "n-1")
    assert (lineage["p-9"], lineage["p-2"]) == ("p-9", "p-9")
    assert (lineage["p-4"], lineage["p-5"]) == ("p-4", "p-4")
    assert all(lineage[a] == a for a in ("c-1", "d-1", "d-2", "o-1", "p-1", "u-1"))
    assert "r-1" not in c


def test_tenure_renewals_and_limbo_as_of_2015_07_01(frame: pl.DataFrame) -> None:
    """As of 1 Jul 2015 (known now).

    a-1 (grant_round 2006): 2 rollovers + 3 extensions = 5 renewals. The extensions add
      1 Apr-30 Sep 2009 = 183, 1 Oct 2009-31 Mar 2010 = 182 and 1 Apr-30 Jun 2010 = 91 days,
      all under 365: limbo 456. Expired 1 Jul 2010, the day after its end: no lapse.
      Incumbent mind-a since 1 Apr 2006: 9 years with two 29 Februaries (2008, 2012) = 3,289
      days... to 1 Apr 2015 = 3,287, + 91 to 1 Jul = 3,378 days / 365.25 = 9.25 years.
    a-2 (competitive 2010): its own extension only: 1 renewal; limbo 1 Jul-30 Sep 2013 = 92.
      Same incumbent, whose first term in the lineage is a-1's: tenure 9.25. Last competition
      1 Jul 2010: 1,826 days = 5.00 years.
    a-3 (competitive 2013, carers-b, novated to big-c on the merger): 0 renewals; incumbent
      big-c, whose tenure counts from carers-b's first term (merger followed): 1 Oct 2013 to
      1 Jul 2015 = 365 + 273 = 638 days = 1.75 years.
    d-1 (direct award 2008, 4 rollovers): never competed, 4 renewals, thread from 1 Apr 2008.
    n-2 (direct award, successor of n-1 by novation): incumbent new-e since the novation of n-1
      on 1 Oct 2012: 1,003 days = 2.75 years; never competed, thread from n-1's start.
    u-1: ended 2008-03-31 but Expired only on 30 Jun 2008: lapsed 1 Apr-29 Jun = 90 days.
    """
    c = rows(continuity(frame, AS_OF))

    def pick(aid: str, *keys: str) -> tuple[Any, ...]:
        return tuple(c[aid][k] for k in keys)

    keys = ("incumbent_provider_id", "tenure_years", "non_competitive_renewals", "limbo_days")
    assert pick("a-1", *keys) == ("mind-a", 9.25, 5, 456)
    assert pick("a-2", *keys) == ("mind-a", 9.25, 1, 92)
    assert pick("a-3", *keys) == ("big-c", 1.75, 0, 0)
    assert pick("a-2", "last_competition_start", "years_since_competition") == (
        dt.date(2010, 7, 1),
        5.0,
    )
    assert pick("d-1", "non_competitive_renewals", "last_competition_start", "thread_start") == (
        4,
        None,
        dt.date(2008, 4, 1),
    )
    assert pick("n-2", "incumbent_provider_id", "tenure_years", "thread_start") == (
        "new-e",
        2.75,
        dt.date(2011, 4, 1),
    )
    assert pick("u-1", "status", "lapsed_days", "limbo_days") == ("expired", 90, 90)
    assert pick("a-1", "rollovers", "extensions", "limbo_extensions") == (2, 3, 3)


def test_as_of_sees_only_what_had_taken_effect(frame: pl.DataFrame) -> None:
    """As of 1 Jan 2010, a-1's third extension (decided 20 Mar 2010) has not happened: 4
    renewals, limbo 183 + 182 = 365, not more than 365, so no limbo flag; as of 1 Apr 2010 it
    has: 456 and flagged. As of 19 May 2010 a-2 does not exist; as of 20 May it joins a-1's
    lineage. As of 1 May 2008 u-1 is lapsed: 1 Apr-1 May = 31 days."""
    early = rows(continuity(frame, dt.date(2010, 1, 1)))
    assert (early["a-1"]["non_competitive_renewals"], early["a-1"]["limbo_days"]) == (4, 365)
    assert ("a-1", "limbo_over_12_months") not in flag_set(frame, dt.date(2010, 1, 1))
    assert ("a-1", "limbo_over_12_months") in flag_set(frame, dt.date(2010, 4, 1))
    assert "a-2" not in rows(continuity(frame, dt.date(2010, 5, 19)))
    assert rows(continuity(frame, dt.date(2010, 5, 20)))["a-2"]["lineage_id"] == "a-1"
    lapsed = rows(continuity(frame, dt.date(2008, 5, 1)))["u-1"]
    assert (lapsed["status"], lapsed["limbo_days"]) == ("lapsed", 31)


def test_known_at_hides_later_records(frame: pl.DataFrame) -> None:
    """The back-filled extension of p-1 (to 31 Dec 2015) and the correction of d-2's rollover
    value (to 100,001) were recorded on 1 Oct 2015. Known on 15 Sep 2015: p-1 ends 1 Jul 2015,
    and as of 1 Aug 2015 it has lapsed for 2 Jul-1 Aug = 31 days; d-2 is worth 100,000.00,
    exactly 25 % above 80,000.00: not flagged. Known now: the extension adds 2 Jul-31 Dec 2015
    = 183 days of limbo and nothing has lapsed; 100,001.00 is more than 25 % above: flagged."""
    day = dt.date(2015, 8, 1)
    then = rows(continuity(frame, day, known_at=BETWEEN))["p-1"]
    now = rows(continuity(frame, day))["p-1"]
    assert (then["end"], then["lapsed_days"], then["limbo_days"]) == (dt.date(2015, 7, 1), 31, 31)
    assert (now["end"], now["lapsed_days"], now["limbo_days"]) == (dt.date(2015, 12, 31), 0, 183)
    assert ("d-2", "value_raised_without_competition") not in flag_set(
        frame, AS_OF, known_at=BETWEEN
    )
    assert ("d-2", "value_raised_without_competition") in flag_set(frame, AS_OF)


def test_orphans_and_responsibility(frame: pl.DataFrame) -> None:
    """pct-x is abolished on 1 Apr 2013. o-1 still names it and was neither moved nor handed
    over: orphaned from that day (not the day before). o-2 was moved to council-a, o-4 handed
    to m.ross on that day: not orphaned (o-4 survived 1 handover). o-3 never had a lead."""
    before = rows(continuity(frame, dt.date(2013, 3, 31)))
    after = rows(continuity(frame, AS_OF))
    assert [before[a]["orphaned"] for a in ("o-1", "o-2", "o-3", "o-4")] == [
        False,
        False,
        True,
        False,
    ]
    assert [after[a]["orphaned"] for a in ("o-1", "o-2", "o-3", "o-4")] == [
        True,
        False,
        True,
        False,
    ]
    assert "pct-x abolished on 2013-04-01" in after["o-1"]["orphan_reason"]
    assert (after["o-4"]["responsible_lead"], after["o-4"]["handovers_survived"]) == ("m.ross", 1)
    assert after["a-1"]["orphaned"] is False  # ended agreements are never orphaned


def test_each_flag_triggered_and_not(frame: pl.DataFrame) -> None:
    """As of 1 Jul 2015:
    serial_non_competitive_renewal: a-1 (5) and d-1 (4); not a-2 (1) nor d-2 (1).
    no_competition_5_years: c-1 (competed 1 Jun 2009, 5th anniversary 1 Jun 2014 passed) and
      d-1 (never competed since 1 Apr 2008); not n-2 (thread since 1 Apr 2011: anniversary 1 Apr
      2016 still ahead), not a-1 (ended), not o-1 (competed 2012).
    value_raised_without_competition: d-1 (130,000 vs 100,000: 30 %) and d-2 (100,001 vs
      80,000: just over 25 %); not a-2 (45,000 -> 46,000 is a correction of the award itself).
    award_rescinded: r-1. limbo_over_12_months: a-1 (456 days); not a-2 (92).
    orphaned: o-1, o-3. missing_rationale: d-1 ("not stated in the source"). unknown_route: u-1.
    """
    assert flag_set(frame, AS_OF) == {
        ("a-1", "serial_non_competitive_renewal"),
        ("a-1", "limbo_over_12_months"),
        ("c-1", "no_competition_5_years"),
        ("d-1", "serial_non_competitive_renewal"),
        ("d-1", "no_competition_5_years"),
        ("d-1", "value_raised_without_competition"),
        ("d-1", "missing_rationale"),
        ("d-2", "value_raised_without_competition"),
        ("o-1", "orphaned"),
        ("o-3", "orphaned"),
        ("r-1", "award_rescinded"),
        ("u-1", "unknown_route"),
    }
    reasons = {
        (r["agreement_id"], r["flag"]): r["reason"]
        for r in flags(frame, AS_OF).collect().to_dicts()
    }
    assert "456 days (2009-04-01 to 2010-06-30)" in reasons[("a-1", "limbo_over_12_months")]
    assert "£130000.00" in reasons[("d-1", "value_raised_without_competition")]
    assert (
        "30.0% above the awarded value £100000.00"
        in reasons[("d-1", "value_raised_without_competition")]
    )
    assert "roll-d-1-3 (2011-03-01)" in reasons[("d-1", "missing_rationale")]
    assert "6.08 years" in reasons[("c-1", "no_competition_5_years")]
    assert "letter sent to the wrong bidder" in reasons[("r-1", "award_rescinded")]
    assert ("n-2", "no_competition_5_years") in flag_set(frame, dt.date(2016, 6, 1))


def test_pipeline_inclusion_and_exclusion(frame: pl.DataFrame) -> None:
    """As of 1 Jul 2015, 6 months ahead = 1 Jan 2016, both ends inclusive:
    in:  p-8 (31 Aug), n-2 (30 Sep), p-7 (30 Nov, term set by its extension of 1 May 2015),
         p-1 (31 Dec, by the back-filled extension), p-2 (1 Jan 2016, the horizon itself).
    out: p-3 (2 Jan 2016), p-4 (re-procured after its term was set), p-6 (terminated),
         p-9 (merged into p-2: a decision). Known on 15 Sep 2015, p-1 ends on as_of itself
         (0 days left). As of 20 Aug 2015 p-8's extension of 15 Aug has been decided, and its new
         end (31 Dec) is inside the window to 20 Feb 2016, set by that extension."""
    now = pipeline(frame, AS_OF, 6).collect()
    assert now["agreement_id"].to_list() == ["p-8", "n-2", "p-7", "p-1", "p-2"]
    assert now.filter(pl.col("agreement_id") == "p-7")["term_set_by"].item() == "Extended"
    then = rows(pipeline(frame, AS_OF, 6, known_at=BETWEEN))["p-1"]
    assert (then["end"], then["days_left"], then["term_set_by"]) == (
        dt.date(2015, 7, 1),
        0,
        "GrantAwarded",
    )
    later = rows(pipeline(frame, dt.date(2015, 8, 20), 6))["p-8"]
    assert (later["end"], later["term_set_by"]) == (dt.date(2015, 12, 31), "Extended")
    assert pipeline(frame, AS_OF, 0).collect()["agreement_id"].to_list() == []


def test_audit_shows_history_corrections_and_derived_facts(frame: pl.DataFrame) -> None:
    """a-2's history in recorded order: its award, then the correction of its value right
    after it, then its extension, re-procurement and expiry; derived: continuity, its
    lineage (a-1, a-2, a-3) and the two links; the extension adds 92 days of limbo."""
    report = audit(frame, "a-2", AS_OF)
    history = report["history"]
    assert history["event_id"][:2].to_list() == ["award-a-2", history["event_id"][1]]
    assert history["type"].to_list() == [
        "ContractAwarded",
        "Corrected",
        "Extended",
        "Reprocured",
        "Expired",
    ]
    assert history["amends"][1] == "award-a-2" and history["amended"][0] is True
    assert report["agreement"]["annual_value"].item() == 46000.0
    assert report["terms"]["days_added"].to_list() == [92]
    assert sorted(report["lineage"]["agreement_id"]) == ["a-1", "a-2", "a-3"]
    assert report["links"].height == 2
    with pytest.raises(UnknownAgreementError):
        audit(frame, "no-such", AS_OF)


@pytest.mark.slow
def test_cli_views(story_store: str, tmp_path: Path) -> None:
    """The commands as users run them: JSON keys are column names, money is text with two
    decimals, files for parquet and xlsx, one plain line for an error."""
    cont = json.loads(
        cledger(
            "continuity",
            "--as-of",
            "2015-07-01",
            "--format",
            "json",
            store=story_store,
            cache=tmp_path,
        ).stdout
    )
    a1 = next(r for r in cont if r["agreement_id"] == "a-1")
    assert (a1["lineage_id"], a1["non_competitive_renewals"], a1["limbo_days"]) == ("a-1", 5, 456)
    assert a1["tenure_years"] == 9.25
    due = json.loads(
        cledger(
            "pipeline",
            "--months",
            "6",
            "--as-of",
            "2015-07-01",
            "--known-at",
            "2015-09-15T12:00:00",
            "--format",
            "json",
            store=story_store,
            cache=tmp_path,
        ).stdout
    )
    assert [r["agreement_id"] for r in due][:2] == ["p-1", "p-8"]
    assert due[0]["end"] == "2015-07-01" and due[0]["annual_value"] == "10000.00"
    out = tmp_path / "flags.parquet"
    cledger(
        "flags",
        "--as-of",
        "2015-07-01",
        "--format",
        "parquet",
        "--output",
        str(out),
        store=story_store,
        cache=tmp_path,
    )
    assert pl.read_parquet(out).columns == ["agreement_id", "flag", "reason"]
    book = tmp_path / "brief.xlsx"
    cledger(
        "brief", "--lead", "p.jones", "--as-of", "2015-07-01", "--format", "xlsx",
        "--output", str(book), store=story_store, cache=tmp_path,
    )  # fmt: skip
    assert book.read_bytes()[:2] == b"PK"  # a workbook, one sheet per section
    audit_json = json.loads(
        cledger(
            "audit",
            "a-2",
            "--as-of",
            "2015-07-01",
            "--format",
            "json",
            store=story_store,
            cache=tmp_path,
        ).stdout  # fmt: skip
    )
    assert audit_json["agreement"][0]["annual_value"] == "46000.00"
    missing = cledger("audit", "nope", store=story_store, cache=tmp_path, ok=False)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("error: no agreement 'nope'")
