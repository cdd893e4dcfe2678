"""`cledger export --format xlsx|csv|parquet`: every view at once, as users run it (a real
process, SQLite and PostgreSQL), checked cell by cell against the views computed directly by the
functions each view's own command calls.

The ledger is the hand-built story of `tests/story.py`, seen as of 2015-07-01."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from domain.errors import LedgerError
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.interop import view_export
from infra.interop.view_export import VIEWS, ledger_views, write_views
from infra.render.tables import MONEY_COLUMNS
from infra.store.frame_cache import load_event_frame
from projections import diversity
from projections.audit import flags
from projections.continuity import continuity
from projections.market import CONCENTRATION_COLUMNS, MARKET_COLUMNS, concentration, in_order
from projections.market import market as market_view
from projections.pipeline import pipeline
from tests.story import AS_OF, BETWEEN, T0, record_story
from tests.test_cli import assert_plain_error, cledger

SHEETS = [
    "market",
    "concentration",
    "diversity_mix",
    "diversity_entry_exit",
    "diversity_at_risk",
    "continuity",
    "pipeline",
    "flags",
]


@pytest.fixture
def story(store_url: str) -> str:
    """A store holding the story (recorded at T0 and T1)."""
    clock = SimulatedClock(T0)
    ledger = open_ledger(store_url, clock=clock)
    record_story(ledger, clock)
    ledger.close()
    return store_url


def expected_views(store: str, known_at: dt.datetime | None = None) -> dict[str, pl.DataFrame]:
    """Each view as its own command computes it (not through the shared `ledger_views`)."""
    frame = load_event_frame(store, cache=False)
    lazy = frame.lazy()

    def ordered(view: pl.LazyFrame, columns: tuple[str, ...]) -> pl.DataFrame:
        return in_order(view).select(columns).collect()

    return {
        "market": ordered(market_view(lazy, AS_OF, known_at), MARKET_COLUMNS),
        "concentration": ordered(concentration(lazy, AS_OF, known_at), CONCENTRATION_COLUMNS),
        "diversity_mix": ordered(diversity.mix(lazy, AS_OF, known_at), diversity.MIX_COLUMNS),
        "diversity_entry_exit": ordered(
            diversity.entry_exit(lazy, AS_OF, known_at), diversity.ENTRY_COLUMNS
        ),
        "diversity_at_risk": diversity.at_risk(lazy, AS_OF, known_at)
        .select(diversity.RISK_COLUMNS)
        .collect(),
        "continuity": continuity(frame, AS_OF, known_at).collect(),
        "pipeline": pipeline(frame, AS_OF, 6, known_at).collect(),
        "flags": flags(frame, AS_OF, known_at).collect(),
    }


def cell_value(value: Any, dtype: pl.DataType) -> Any:
    """What a view's value is once read back from a sheet (dates come back as datetimes)."""
    if value is not None and dtype == pl.Date:
        assert isinstance(value, dt.datetime), value
        return value.date()
    return value


def identity(values: tuple[Any, ...], schema: pl.Schema) -> tuple[Any, ...]:
    """A row's non-float values, to pair rows of two computations of a view. Rows are not
    paired by position: rows of equal spend summed two ways (the mix's sector row and size-band
    row of one segment) can differ in the last bit between two processes, which swaps their
    places in the spend order."""
    return tuple(
        (v is None, v) for v, t in zip(values, schema.values(), strict=True) if not t.is_float()
    )


def canonical(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort([c for c, t in df.schema.items() if not t.is_float()], nulls_last=True)


def test_views_are_listed_once_in_the_order_of_the_sheets() -> None:
    assert list(VIEWS) == SHEETS


@pytest.mark.slow
def test_the_workbook_has_a_sheet_per_view_equal_to_the_view(story: str, tmp_path: Path) -> None:
    book_path = tmp_path / "out" / "ledger.xlsx"  # the folder is made when missing
    done = cledger(
        "export", "--format", "xlsx", "--output", str(book_path), "--as-of", "2015-07-01",
        store=story, cache=tmp_path,
    )  # fmt: skip
    assert done.stderr.strip() == f"exported 8 views as of 2015-07-01 to {book_path}"
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == SHEETS
    expected = expected_views(story)
    assert expected["market"].height and expected["pipeline"].height and expected["flags"].height

    for name, want in expected.items():
        header, *rows = list(book[name].iter_rows())
        assert [c.value for c in header] == want.columns, name  # the header row
        assert len(rows) == want.height, name
        schema = want.schema
        read = [(tuple(map(cell_value, [c.value for c in r], schema.values())), r) for r in rows]
        read.sort(key=lambda pair: identity(pair[0], schema))
        wanted = sorted(want.iter_rows(), key=lambda row: identity(row, schema))
        for (values, cells), row in zip(read, wanted, strict=True):
            for got, cell, value, (column, dtype) in zip(
                values, cells, row, schema.items(), strict=True
            ):
                if isinstance(value, float):
                    assert got == pytest.approx(value, rel=1e-12), (name, column)
                else:
                    assert got == value, (name, column)
                if column in MONEY_COLUMNS and value is not None:
                    assert cell.data_type == "n" and cell.number_format == "£#,##0.00"
                if dtype == pl.Date and value is not None:
                    assert cell.is_date and cell.number_format.startswith("yyyy-mm-dd")

    # figures worked out by hand from the story: a-1, 40,000 a year from 2006-04-01 to
    # 2007-03-31 with mind-a alone, is all of the 2006/07 advocacy spend of council-a
    first = [c.value for c in next(book["market"].iter_rows(min_row=2, max_row=2))]
    assert first == ["2006/07", "advocacy", "council-a", "mind-a", 40000, 1]
    spend = book["market"]["E2"]
    assert isinstance(spend.value, int | float) and "£" in spend.number_format
    assert book["market"].freeze_panes == "A2"
    due = {r[0].value: r for r in book["pipeline"].iter_rows(min_row=2)}
    header = [c.value for c in book["pipeline"][1]]
    p8 = due["p-8"]
    assert p8[header.index("end")].value == dt.datetime(2015, 8, 31)
    assert p8[header.index("annual_value")].value == 10000


@pytest.mark.slow
def test_csv_and_parquet_write_a_file_per_view(story: str, tmp_path: Path) -> None:
    """Parquet files hold the views exactly; a CSV file is what the view's own command writes
    (money as text with two decimals)."""
    cledger(
        "export", "--format", "parquet", "--output", str(tmp_path / "pq"), "--as-of",
        "2015-07-01", store=story, cache=tmp_path,
    )  # fmt: skip
    expected = expected_views(story)
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == sorted(
        f"{n}.parquet" for n in SHEETS
    )
    for name, want in expected.items():
        got = pl.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        assert_frame_equal(canonical(got), canonical(want))

    cledger(
        "export", "--format", "csv", "--output", str(tmp_path / "csv"), "--as-of", "2015-07-01",
        store=story, cache=tmp_path,
    )  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(
        f"{n}.csv" for n in SHEETS
    )
    one = cledger(
        "pipeline", "--as-of", "2015-07-01", "--format", "csv", store=story, cache=tmp_path
    ).stdout
    assert (tmp_path / "csv" / "pipeline.csv").read_text() == one
    market_csv = pl.read_csv(tmp_path / "csv" / "market.csv", infer_schema=False)
    assert market_csv.columns == list(MARKET_COLUMNS) and market_csv.height == 106
    assert market_csv["spend"][0] == "40000.00"


@pytest.mark.slow
def test_known_at_gives_the_views_as_the_ledger_knew_them(story: str, tmp_path: Path) -> None:
    """As known on 2015-09-15, p-1's extension to 2015-12-31 (recorded 2015-10-01) was not yet
    there: it was due to end on the as-of date, so it headed the pipeline."""
    cledger(
        "export", "--format", "parquet", "--output", str(tmp_path / "then"), "--as-of",
        "2015-07-01", "--known-at", BETWEEN.isoformat(), store=story, cache=tmp_path,
    )  # fmt: skip
    then = expected_views(story, known_at=BETWEEN)
    for name, want in then.items():
        got = pl.read_parquet(tmp_path / "then" / f"{name}.parquet")
        assert_frame_equal(canonical(got), canonical(want))
    due = pl.read_parquet(tmp_path / "then" / "pipeline.parquet")
    assert due["agreement_id"][0] == "p-1" and due["end"][0] == dt.date(2015, 7, 1)
    now = expected_views(story)["pipeline"]
    assert now.filter(pl.col("agreement_id") == "p-1")["end"].to_list() == [dt.date(2015, 12, 31)]


@pytest.mark.slow
def test_the_single_view_xlsx_has_the_same_formats(story: str, tmp_path: Path) -> None:
    """`cledger pipeline --format xlsx` writes one sheet like the workbook's."""
    out = tmp_path / "pipeline.xlsx"
    cledger(
        "pipeline", "--as-of", "2015-07-01", "--format", "xlsx", "--output", str(out),
        store=story, cache=tmp_path,
    )  # fmt: skip
    (sheet,) = openpyxl.load_workbook(out).worksheets
    header = [c.value for c in sheet[1]]
    assert header == list(expected_views(story)["pipeline"].columns)
    money = sheet.cell(row=2, column=header.index("annual_value") + 1)
    assert money.data_type == "n" and money.number_format == "£#,##0.00"
    assert sheet.cell(row=2, column=header.index("end") + 1).is_date


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--format", "xlsx"], ["--format xlsx writes a file", "--output"]),
        (["--format", "csv"], ["--format csv writes a folder", "--output"]),
        (["--format", "xlsx", "--output", "{tmp}"], ["is a folder", "ledger.xlsx"]),
        (["--format", "csv", "--output", "{tmp}/file.txt"], ["is a file", "folder"]),
        (["--format", "xlsx", "--output", "{tmp}/b.xlsx", "--as-of", "2015-13-01"], ["--as-of"]),
        (["--format", "xlsx", "--output", "{tmp}/b.xlsx", "--known-at", "soon"], ["--known-at"]),
        (["--as-of", "2015-07-01"], ["--format native writes every event", "--as-of"]),
        (["{tmp}/a", "--output", "{tmp}/b", "--format", "csv"], ["FILE or --output"]),
    ],
)
def test_errors_are_one_plain_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    store = f"sqlite:///{tmp_path}/ledger.db"
    done = cledger(
        "export", *[a.replace("{tmp}", str(tmp_path)) for a in args], store=store,
        cache=tmp_path, ok=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert_plain_error(done, *fragments)
    assert not (tmp_path / "b.xlsx").exists()


def test_a_view_too_big_for_a_sheet_is_refused_and_no_workbook_is_left(
    story: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(view_export, "XLSX_ROWS", 100)  # the market view has 106 rows
    frame = load_event_frame(story, cache=False)
    target = tmp_path / "out" / "ledger.xlsx"
    with pytest.raises(LedgerError, match=r"the market view has 106 rows.*--format csv"):
        write_views(ledger_views(frame, AS_OF), "xlsx", target)
    assert list(target.parent.iterdir()) == []  # neither the workbook nor a partial one
