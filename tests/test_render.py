"""Rendering at the speed of the view keeps every key and value (issue 17): JSON and CSV are
written by polars from whole columns, and must hold exactly what each view computes (money with
two decimals, as before; shares, indices and dates in full). Parquet and XLSX are checked cell by
cell in `tests/test_workbook.py`. The terminal table is for reading: money with separators and
pence, shares and indices rounded, the first rows of a whole-ledger view and how to get them all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.render.tables import MONEY_COLUMNS, money_text, pounds
from tests.story import T0, record_story
from tests.test_cli import cledger
from tests.test_workbook import expected_views

COMMANDS = {
    "market": ["market"],
    "concentration": ["concentration"],
    "diversity_mix": ["diversity", "--part", "mix"],
    "diversity_entry_exit": ["diversity", "--part", "entry-exit"],
    "diversity_at_risk": ["diversity", "--part", "at-risk"],
    "continuity": ["continuity"],
    "pipeline": ["pipeline"],
    "flags": ["flags"],
}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('story')}/ledger.db"
    clock = SimulatedClock(T0)
    ledger = open_ledger(url, clock=clock)
    record_story(ledger, clock)
    ledger.close()
    return url


def _python_money(value: float) -> str:
    """How money was written before: polars rounds to the penny, Python prints two places."""
    return f"{pl.Series([value]).round(2).item():.2f}"


def _key(row: dict[str, Any], schema: pl.Schema) -> tuple[Any, ...]:
    """Rows paired by their values that are not floats (floats summed in two processes may
    differ in the last bit, which can swap rows of equal spend)."""
    return tuple(
        (row[c] in (None, ""), "" if row[c] is None else str(row[c]).lower())
        for c, t in schema.items()
        if not t.is_float()
    )


def _same(got: Any, want: Any, column: str, dtype: pl.DataType, *, csv_cell: bool) -> None:
    if want is None:
        assert got in (None, ""), column
    elif column in MONEY_COLUMNS:
        assert got == _python_money(want), column
    elif dtype.is_float():
        assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-12), column
    elif dtype == pl.Date:
        assert got == want.isoformat(), column
    elif dtype == pl.Boolean:
        assert got == (str(want).lower() if csv_cell else want), column
    elif dtype.is_integer():
        assert (int(got) if csv_cell else got) == want, column
    else:
        assert got == want, column


@pytest.mark.slow
def test_json_and_csv_keep_every_key_and_value(story: str, tmp_path: Path) -> None:
    expected = expected_views(story)
    for name, args in COMMANDS.items():
        want = expected[name]
        assert want.height or name == "diversity_at_risk", name  # none at risk in the story
        wanted = sorted(want.to_dicts(), key=lambda r: _key(r, want.schema))
        common = [*args, "--as-of", "2015-07-01"]
        as_json = json.loads(cledger(*common, "--format", "json", store=story).stdout)
        text = cledger(*common, "--format", "csv", store=story).stdout
        header, *cells = list(csv.reader(io.StringIO(text)))
        assert header == want.columns, name
        as_csv = [dict(zip(header, row, strict=True)) for row in cells]
        for got_rows, csv_cell in ((as_json, False), (as_csv, True)):
            assert len(got_rows) == want.height, name
            assert all(list(r) == want.columns for r in got_rows), name
            pairs = zip(sorted(got_rows, key=lambda r: _key(r, want.schema)), wanted, strict=True)
            for got, row in pairs:
                for column, dtype in want.schema.items():
                    _same(got[column], row[column], column, dtype, csv_cell=csv_cell)


def test_the_terminal_shows_pounds_rounded_shares_and_the_first_rows(story: str) -> None:
    done = cledger("market", "--as-of", "2015-07-01", store=story)
    assert "£40,000.00" in done.stdout  # a-1's 2006/07 spend, mind-a alone
    assert "40000.0" not in done.stdout
    body = [line for line in done.stdout.splitlines() if "│" in line]  # the header has ┃
    assert len(body) == 50
    assert done.stderr.strip() == (
        "50 of 106 rows shown; every row: --all (or --limit N), or --format csv, json or "
        "parquet (--output FILE)"
    )
    for cell in done.stdout.split("│"):
        cell = cell.strip()
        if cell.replace(".", "", 1).isdigit() and "." in cell:
            assert len(cell.split(".")[1]) <= 4, cell  # shares to four places at most
    some = cledger("market", "--as-of", "2015-07-01", "--limit", "3", store=story)
    assert some.stderr.startswith("3 of 106 rows shown")
    every = cledger("market", "--as-of", "2015-07-01", "--all", store=story)
    assert every.stderr.strip() == "106 rows"
    assert len([line for line in every.stdout.splitlines() if "│" in line]) == 106
    pipeline = cledger("pipeline", "--as-of", "2015-07-01", store=story)
    assert "£10,000.00" in pipeline.stdout and pipeline.stderr.strip().endswith(" rows")


@settings(max_examples=400, deadline=None)
@given(st.floats(min_value=-1e13, max_value=1e13, allow_nan=False))
def test_money_is_written_as_before_and_pounds_group_thousands(value: float) -> None:
    frame = pl.DataFrame({"v": [value]})
    written, shown = frame.select(money_text(pl.col("v")), pounds(pl.col("v")).alias("p")).row(0)
    assert written == _python_money(value).replace("-0.00", "0.00")
    rounded = float(_python_money(value))
    sign = "-" if rounded < 0 else ""
    assert shown == f"{sign}£{abs(rounded):,.2f}"


def test_nulls_dates_and_times_in_json(tmp_path: Path) -> None:
    from infra.render.tables import write_json

    frame = pl.DataFrame(
        {
            "spend": [1.005, None],
            "end": [dt.date(2015, 3, 31), None],
            "at": [dt.datetime(2015, 9, 1, 9, tzinfo=dt.UTC), None],
            "ids": [["a", "b"], None],
        }
    )
    out = io.BytesIO()
    write_json(frame, out)
    got = json.loads(out.getvalue())
    assert got[1] == {"spend": None, "end": None, "at": None, "ids": None}
    assert got[0]["spend"] == _python_money(1.005) and got[0]["end"] == "2015-03-31"
    assert got[0]["at"].startswith("2015-09-01") and got[0]["ids"] == ["a", "b"]
