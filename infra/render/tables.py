"""Writing rows for people and programs: a rich table, CSV or JSON (a list of flat objects)."""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "csv", "json")


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
) -> None:
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(list(rows), option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    else:
        table = Table(title=title or None, show_lines=False)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*["" if row.get(c) is None else escape(str(row.get(c))) for c in columns])
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
        console.print(table)
        Console(stderr=True).print(f"{len(rows)} rows")


FRAME_FORMATS = ("table", "csv", "json", "parquet", "xlsx")
MONEY_COLUMNS = frozenset({"spend", "annual_value", "value", "spend_last_year"})


POUNDS = "£#,##0.00"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def xlsx_sheet(book: Any, frame: Any, name: str, *, money: Sequence[str] = ()) -> None:
    """One view as a sheet of an open xlsxwriter workbook: a header row (frozen), money
    columns as numbers in a pound format, dates as dates; an Excel table, named after the
    sheet when that is a plain lower-case name (an Excel table name cannot look like a cell)."""
    df = frame
    sheet = _SHEET_FORBIDDEN.sub(" ", name)[:31]
    df.write_excel(
        book,
        worksheet=sheet,
        table_name=sheet if re.fullmatch(r"[a-z_]{2,}", sheet) else None,  # else polars names it
        column_formats={c: POUNDS for c in df.columns if c in MONEY_COLUMNS or c in money},
        autofit=True,
        freeze_panes="A2",
    )


def emit_frame(
    frame: Any, fmt: str, *, output: str | None = None, title: str = "", money: Sequence[str] = ()
) -> None:
    """Write a polars DataFrame of a view: table, csv or json to stdout (or `output`), parquet
    or xlsx to `output` (required). JSON is a list of flat objects keyed by column name, money
    as strings with two decimals, shares and indices as numbers; XLSX has one sheet, a header
    row, and money as numbers in a currency format."""
    import polars as pl

    df: pl.DataFrame = frame
    money_cols = [c for c in df.columns if c in MONEY_COLUMNS or c in money]
    if fmt in ("parquet", "xlsx") and not output:
        raise ValueError(f"--format {fmt} writes a file; expected --output PATH")
    if fmt == "parquet":
        df.write_parquet(output)  # type: ignore[arg-type]
        return
    if fmt == "xlsx":
        import xlsxwriter

        with xlsxwriter.Workbook(output, {"remove_timezone": True}) as book:
            xlsx_sheet(book, df, title or "view", money=money)
        return
    shown = df.with_columns(
        [
            pl.col(c).round(2).map_elements(lambda v: f"{v:.2f}", return_dtype=pl.String)
            for c in money_cols
            if df.schema[c].is_numeric()
        ]
    )
    for name, dtype in shown.schema.items():
        if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
            shown = shown.with_columns(pl.col(name).cast(pl.String))
    rows = shown.to_dicts()
    if output:
        import contextlib

        with open(output, "w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
            emit_rows(rows, fmt, title=title, columns=shown.columns)
    else:
        emit_rows(rows, fmt, title=title, columns=shown.columns)
