"""The shortcuts the CLI takes for speed give the rows the whole computation gives:
- `market(..., year=Y)` sums only that year's spend: the same rows as the whole view's year Y;
- a table puts only its first rows in order (a top-k): the same rows as the first of the whole
  view in order, because the order's keys are unique (no tie to break differently);
- continuity and pipeline as known now read the cache's corrections' effect: the same rows as
  the snapshot that works the corrections out again.
On a generated England sample (corrections, rescissions, restructures, settlements, reforms),
on several as-of dates."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from infra.bootstrap import open_ledger
from infra.generator import write_england
from infra.interop.native import import_file
from infra.store.frame_cache import scan_event_frame
from projections.continuity import continuity
from projections.market import concentration, in_order, market
from projections.pipeline import pipeline
from projections.standing import Snapshot

DAYS = [dt.date(2010, 6, 30), dt.date(2019, 3, 31), dt.date(2025, 9, 30)]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("shortcuts")
    write_england(folder / "e.jsonl", seed=3, events=15_000, today=dt.date(2025, 9, 30))
    url = f"sqlite:///{folder}/e.db"
    ledger = open_ledger(url)
    import_file(ledger, folder / "e.jsonl")
    ledger.close()
    return url


@pytest.mark.parametrize("day", DAYS)
def test_one_years_market_and_concentration_are_the_years_rows(url: str, day: dt.date) -> None:
    frame = scan_event_frame(url, in_force=True)
    whole = market(frame, day).collect()
    whole_concentration = concentration(frame, day).collect()
    years = sorted(whole["year"].unique().to_list())
    assert len(years) > 10
    for year in [*years[:: max(1, len(years) // 6)], years[-1], years[-1] + 1]:
        one = market(frame, day, year=year).collect()
        expected = whole.filter(pl.col("year") == year)
        assert one.height == expected.height
        assert in_order(one.lazy()).collect().equals(in_order(expected.lazy()).collect())
        one = concentration(frame, day, year=year).collect()
        expected = whole_concentration.filter(pl.col("year") == year)
        assert in_order(one.lazy()).collect().equals(in_order(expected.lazy()).collect())


@pytest.mark.parametrize("day", DAYS)
def test_a_tables_first_rows_are_the_whole_views_first(url: str, day: dt.date) -> None:
    frame = scan_event_frame(url, in_force=True)
    keys = ("year", "service_category", "commissioner_id")
    for view, unique in (
        (market(frame, day), (*keys, "provider_id")),
        (concentration(frame, day), keys),
    ):
        rows = view.collect()
        assert rows.height > 100
        assert rows.select(unique).is_unique().all()  # a total order: no ties
        full = in_order(rows.lazy()).collect()
        for k in (1, 7, 50, rows.height - 1):
            assert in_order(rows.lazy()).head(k).collect().equals(full.head(k))


@pytest.mark.parametrize("day", DAYS)
def test_continuity_and_pipeline_from_the_caches_corrections(url: str, day: dt.date) -> None:
    raw = scan_event_frame(url)
    assert raw.filter(pl.col("type").is_in(["Corrected", "Rescinded"])).collect().height > 0
    cached = Snapshot.of(scan_event_frame(url, in_force=True), day)
    worked = Snapshot.of(raw, day)
    assert continuity(cached, day).collect().equals(continuity(worked, day).collect())
    assert pipeline(cached, day, 6).collect().equals(pipeline(worked, day, 6).collect())


def test_the_sample_has_what_the_shortcuts_must_handle(url: str) -> None:
    types = set(scan_event_frame(url).select("type").unique().collect()["type"].to_list())
    assert {"Corrected", "Rescinded", "Restructured", "Reprocured", "Varied"} <= types
