"""Spreadsheets cannot run imported text (issue 13, part 2): names, ids and titles that a
spreadsheet would read as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`, `+...`, `-...`,
`@...`) come out of every spreadsheet format as text, through the real CLI.

- XLSX: every such cell is a string cell (openpyxl's data type `s`), never a formula or a link;
- CSV: a text cell starting with `=`, `+`, `-`, `@`, TAB or CR is written with a leading `'`
  (OWASP); numbers are left alone, negative ones included;
- JSON and Parquet keep the text exactly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from infra.render.tables import write_csv
from tests.test_cli import cledger

LINK = '=HYPERLINK("http://127.0.0.1/x","click")'
DDE = "=cmd|' /C calc'!A0"
PLUS = "+44 20 7946 0000"
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)"
HOSTILE = {LINK, DDE, PLUS, MINUS, AT}
AS_OF = "2015-07-01"


def _line(**fields: object) -> str:
    return json.dumps({"recorded_by": "admin", "effective_on": "2010-04-01", **fields})


def hostile_file(tmp_path: Path) -> Path:
    """A commissioner, a provider, a lead and two agreements whose ids and titles are formulas;
    one of them ends inside the pipeline's horizon and has no competition (a flag)."""
    award = {
        "type": "ContractAwarded",
        "kind": "contract",
        "service_category": "advocacy",
        "commissioners": [{"commissioner_id": MINUS, "share": "1"}],
        "providers": [{"provider_id": LINK, "role": "sole", "share": "1"}],
        "annual_value": "120000.00",
        "route": "direct_award",
        "rationale": DDE,
        "funding_stream": "social_care",
        "responsible_lead": AT,
    }
    lines = [
        _line(event_id="c1", type="CommissionerEstablished", commissioner_id=MINUS, name=DDE,
              kind="council"),
        _line(event_id="p1", type="ProviderRegistered", provider_id=LINK, name=PLUS,
              sector="third_sector", size_band="small"),
        _line(event_id="a1", agreement_id=PLUS, title=DDE, start="2010-04-01", end="2015-09-30",
              **award),
        _line(event_id="a2", agreement_id="@a-2", title=LINK, start="2010-04-01",
              end="2020-03-31", **award),
    ]  # fmt: skip
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def hostile(store_url: str, tmp_path: Path) -> str:
    cledger("import", str(hostile_file(tmp_path)), store=store_url, cache=tmp_path)
    return store_url


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_neutralised(cells: list[str]) -> None:
    for cell in cells:
        assert cell[:1] not in ("=", "+", "@", "\t", "\r"), cell
        if cell.startswith("-"):  # a negative number is not text
            float(cell)
    quoted = {c[1:] for c in cells if c.startswith("'")}
    assert quoted <= HOSTILE | {"@a-2"}, quoted


def test_csv_views_neutralise_formulas(hostile: str, tmp_path: Path) -> None:
    agreements = cledger(
        "agreements", "--as-of", AS_OF, "--format", "csv", store=hostile, cache=tmp_path
    ).stdout
    cells = _csv_cells(agreements)
    _assert_neutralised(cells)
    assert {"'" + DDE, "'" + LINK, "'" + PLUS, "'" + AT, "'@a-2"} <= set(cells)
    for view in ("continuity", "pipeline", "flags", "market"):
        out = cledger(view, "--as-of", AS_OF, "--format", "csv", store=hostile, cache=tmp_path)
        cells = _csv_cells(out.stdout)
        _assert_neutralised(cells)
        assert "'" + LINK in cells or "'" + PLUS in cells, view
    history = cledger("history", PLUS, "--format", "csv", store=hostile, cache=tmp_path).stdout
    _assert_neutralised(_csv_cells(history))

    folder = tmp_path / "views"
    cledger(
        "export", "--format", "csv", "--output", str(folder), "--as-of", AS_OF,
        store=hostile, cache=tmp_path,
    )  # fmt: skip
    seen = set()
    for path in folder.glob("*.csv"):
        cells = _csv_cells(path.read_text())
        _assert_neutralised(cells)
        seen |= set(cells)
    assert {"'" + LINK, "'" + PLUS, "'" + MINUS, "'" + AT} <= seen


def test_json_and_parquet_keep_the_text_exactly(hostile: str, tmp_path: Path) -> None:
    rows = json.loads(
        cledger(
            "agreements", "--as-of", AS_OF, "--format", "json", store=hostile, cache=tmp_path
        ).stdout
    )
    assert {(r["agreement_id"], r["title"], r["responsible_lead"]) for r in rows} == {
        (PLUS, DDE, AT),
        ("@a-2", LINK, AT),
    }
    out = tmp_path / "continuity.parquet"
    cledger(
        "continuity", "--as-of", AS_OF, "--format", "parquet", "--output", str(out),
        store=hostile, cache=tmp_path,
    )  # fmt: skip
    assert set(pl.read_parquet(out)["agreement_id"]) == {PLUS, "@a-2"}


def test_xlsx_cells_from_text_are_strings_never_formulas(hostile: str, tmp_path: Path) -> None:
    book_path = tmp_path / "ledger.xlsx"
    cledger(
        "export", "--format", "xlsx", "--output", str(book_path), "--as-of", AS_OF,
        store=hostile, cache=tmp_path,
    )  # fmt: skip
    one = tmp_path / "flags.xlsx"
    cledger(
        "flags", "--as-of", AS_OF, "--format", "xlsx", "--output", str(one),
        store=hostile, cache=tmp_path,
    )  # fmt: skip
    brief = tmp_path / "brief.xlsx"
    cledger(
        "brief", "--lead", AT, "--as-of", AS_OF, "--format", "xlsx", "--output", str(brief),
        store=hostile, cache=tmp_path,
    )  # fmt: skip
    found = set()
    for path in (book_path, one, brief):
        for sheet in openpyxl.load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, sheet.title, cell.value)
                    assert cell.hyperlink is None, (path.name, sheet.title, cell.value)
                    if cell.value in HOSTILE:
                        assert cell.data_type == "s"
                        found.add(cell.value)
    assert {LINK, PLUS, MINUS} <= found


def test_csv_writer_neutralises_text_only() -> None:
    """TAB and CR too; numbers (negative ones included) and lists of names as the rest."""
    frame = pl.DataFrame(
        {
            "name": ["=1+1", "\tx", "\rx", "-x", "plain", None],
            "ids": [["=a", "b"], ["b"], [], None, ["-c"], ["d"]],
            "change": [-5.5, -1.0, 0.0, 2.0, None, -0.25],
            "spend": [-12.0, 3.456, 0.0, None, 1e9, -0.004],
        }
    )
    out = io.BytesIO()
    write_csv(frame, out)
    got = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert got[0] == ["name", "ids", "change", "spend"]
    assert [r[0] for r in got[1:]] == ["'=1+1", "'\tx", "'\rx", "'-x", "plain", ""]
    assert [r[1] for r in got[1:]] == ["'=a; b", "b", "", "", "'-c", "d"]
    assert [r[2] for r in got[1:]] == ["-5.5", "-1.0", "0.0", "2.0", "", "-0.25"]
    assert [r[3] for r in got[1:]] == ["-12.00", "3.46", "0.00", "", "1000000000.00", "0.00"]
