"""Writing a view for people and programs: a table for the terminal, CSV, JSON, Parquet, XLSX.

Why it is written this way: rendering is part of what a user waits for. Every value is formatted
by polars expressions over whole columns and written by polars' own writers, never one value at
a time in Python, and a table for the terminal formats only the rows it shows: a view of a whole
ledger (millions of rows) shows its first rows and says how to get the rest.

What each format keeps:
- JSON (a list of flat objects keyed by column name) and CSV keep every value: money as a string
  (JSON) or a plain number (CSV) with two decimals, shares and indices in full, dates ISO.
- CSV is meant for spreadsheets, which run a cell that starts with `=`, `+`, `-`, `@`, TAB or CR
  as a formula: a text cell starting so (a title or name from an imported file) is written with
  a leading `'`, as OWASP advises (numbers, negative ones included, are left alone). JSON and
  Parquet keep text exactly.
- XLSX: text is always a string cell, never a formula or a link; money is numbers in a pound
  format, dates are dates.
- The terminal table: money with thousands separators and pence (`£1,234,567.89`), shares and
  indices rounded for reading (4 places; HHI whole, effective numbers 2 places).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import polars as pl

FORMATS = ("table", "csv", "json")
FRAME_FORMATS = ("table", "csv", "json", "parquet", "xlsx")
MONEY_COLUMNS = frozenset(
    {"spend", "annual_value", "value", "spend_last_year", "awarded_value", "total_annual_value"}
)
TABLE_ROWS = 50  # a whole-ledger view's rows shown on a terminal unless asked for more
# decimals shown on the terminal for indices that are not shares (shares: SHARE_PLACES)
INDEX_PLACES = {"hhi": 0, "effective_number": 2}
SHARE_PLACES = 4
SPREADSHEET_TRIGGERS = r"^[=+\-@\t\r]"  # OWASP: what a spreadsheet may read as a formula

POUNDS = "£#,##0.00"
XLSX_ROWS = 1_048_576 - 1  # a sheet's rows, less the header
# xlsxwriter by default writes a string starting with `=` as a formula and a URL as a link:
# a title or name from an imported file must stay what it is, text
SAFE_WORKBOOK = {
    "remove_timezone": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


# -- expressions ---------------------------------------------------------------------------------
def fixed(value: pl.Expr, decimals: int, *, thousands: bool = False) -> pl.Expr:
    """A number as text with exactly `decimals` places (`thousands`: 1,234,567 grouped), from
    whole units of the last place, so the text is exact (no float printed in Python)."""
    import polars as pl

    scale = 10**decimals
    units = (value * scale).round(0).cast(pl.Int64)
    whole = (units.abs() // scale).cast(pl.String)
    if thousands:
        # group from the right: reverse, take threes, join, reverse back
        whole = whole.str.reverse().str.extract_all(r"\d{1,3}").list.join(",").str.reverse()
    text = whole
    if decimals:
        part = (units.abs() % scale).cast(pl.String).str.zfill(decimals)
        text = pl.concat_str(whole, pl.lit("."), part)
    return pl.when(units < 0).then(pl.lit("-") + text).otherwise(text)


def money_text(value: pl.Expr) -> pl.Expr:
    """Money with two decimals, as JSON and CSV write it (`1234.5` -> `1234.50`): rounded to
    the penny first, as every earlier release printed it."""
    return fixed(value.round(2), 2)


def pounds(value: pl.Expr) -> pl.Expr:
    """Money for the terminal: `£1,234,567.89`, `-£12.00`."""
    import polars as pl

    text = fixed(value.round(2).abs(), 2, thousands=True)
    return pl.when(value.round(2) < 0).then(pl.lit("-£") + text).otherwise(pl.lit("£") + text)


def spreadsheet_safe(text: pl.Expr) -> pl.Expr:
    """A text cell a spreadsheet will not run: one starting with `=`, `+`, `-`, `@`, TAB or CR
    gets a leading `'` (OWASP, CSV injection)."""
    import polars as pl

    return pl.when(text.str.contains(SPREADSHEET_TRIGGERS)).then(pl.lit("'") + text).otherwise(text)


# -- columns -------------------------------------------------------------------------------------
def _money_columns(df: pl.DataFrame, money: Sequence[str]) -> list[str]:
    return [
        c for c in df.columns if (c in MONEY_COLUMNS or c in money) and df.schema[c].is_numeric()
    ]


def _as_text(df: pl.DataFrame, money: Sequence[str], *, for_csv: bool) -> pl.DataFrame:
    """Money as two-decimal strings, times as text, and for CSV: lists joined by '; ', nested
    values as JSON text, text cells made safe for spreadsheets."""
    import polars as pl

    money_cols = set(_money_columns(df, money))
    exprs: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if name in money_cols:
            exprs.append(money_text(col).alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.cast(pl.String))
        elif not for_csv:
            continue
        elif dtype == pl.String:
            exprs.append(spreadsheet_safe(col).alias(name))
        elif isinstance(dtype, pl.List | pl.Array):
            joined = col.list.eval(pl.element().cast(pl.String)).list.join("; ")
            exprs.append(spreadsheet_safe(joined).alias(name))
        elif isinstance(dtype, pl.Struct):
            exprs.append(spreadsheet_safe(col.struct.json_encode()).alias(name))
    return df.with_columns(exprs) if exprs else df  # each aliased to its column


def _for_terminal(df: pl.DataFrame, money: Sequence[str]) -> pl.DataFrame:
    """Every column as the text a person reads: money in pounds and pence with separators,
    shares and indices rounded, lists joined; nulls as empty cells."""
    import polars as pl

    money_cols = set(_money_columns(df, money))
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if name in money_cols:
            text = pounds(col)
        elif dtype.is_float():
            places = INDEX_PLACES.get(name, SHARE_PLACES)
            text = fixed(col, places, thousands=places == 0) if places == 0 else col.round(places)
        elif isinstance(dtype, pl.List | pl.Array):
            text = col.list.eval(pl.element().cast(pl.String)).list.join("; ")
        elif isinstance(dtype, pl.Struct):
            text = col.struct.json_encode()
        else:
            text = col
        exprs.append(text.cast(pl.String).fill_null("").alias(name))
    return df.select(exprs)


# -- writers -------------------------------------------------------------------------------------
def open_workbook(path: str) -> Any:
    """An xlsxwriter workbook that writes text as text (never a formula or link)."""
    import xlsxwriter

    return xlsxwriter.Workbook(path, SAFE_WORKBOOK)


def xlsx_sheet(book: Any, frame: Any, name: str, *, money: Sequence[str] = ()) -> None:
    """One view as a sheet of an open workbook (`open_workbook`): a header row (frozen), money
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


def write_csv(df: pl.DataFrame, target: str | BinaryIO, *, money: Sequence[str] = ()) -> None:
    """A view as CSV for spreadsheets (see the module's docstring)."""
    _as_text(df, money, for_csv=True).write_csv(target)


def write_json(df: pl.DataFrame, target: BinaryIO, *, money: Sequence[str] = ()) -> None:
    """A view as JSON: a list of flat objects keyed by column name, one line."""
    _as_text(df, money, for_csv=False).write_json(target)
    target.write(b"\n")


def print_table(
    df: pl.DataFrame,
    *,
    title: str = "",
    money: Sequence[str] = (),
    limit: int | None = None,
    total: int | None = None,
) -> None:
    """A rich table of the first `limit` rows (all when None) on standard output, and on
    standard error how many rows there are (`total`, when `df` holds only the first) and, when
    some are not shown, how to see them."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    shown = df if limit is None else df.head(limit)
    table = Table(title=title or None, show_lines=False)
    for col in df.columns:
        table.add_column(col, overflow="fold", justify="right" if _right(df, col) else "left")
    for row in _for_terminal(shown, money).iter_rows():
        table.add_row(*[escape(v) for v in row])
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)
    Console(stderr=True, highlight=False).print(rows_note(total or df.height, shown.height))


def _right(df: pl.DataFrame, col: str) -> bool:
    return df.schema[col].is_numeric()


def rows_note(total: int, shown: int) -> str:
    """What the table holds, and how to get every row when it does not show them all."""
    if shown >= total:
        return f"{total:,} rows"
    return (
        f"{shown:,} of {total:,} rows shown; every row: --all (or --limit N), or "
        "--format csv, json or parquet (--output FILE)"
    )


def emit_frame(
    frame: Any,
    fmt: str,
    *,
    output: str | None = None,
    title: str = "",
    money: Sequence[str] = (),
    limit: int | None = None,
    total: int | None = None,
) -> None:
    """Write a polars DataFrame of a view: table, csv or json to stdout (or `output`), parquet
    or xlsx to `output` (required). JSON is a list of flat objects keyed by column name, money
    as strings with two decimals, shares and indices as numbers; XLSX has one sheet, a header
    row, and money as numbers in a currency format. A table shows the first `limit` rows (all
    when None); the files always hold every row. `total`: for a table, how many rows the view
    has when `frame` holds only the first `limit` (a view's first rows cost far less to put in
    order than all of them)."""
    df: pl.DataFrame = frame
    if fmt in ("parquet", "xlsx") and not output:
        raise ValueError(f"--format {fmt} writes a file; expected --output PATH")
    if fmt == "parquet":
        df.write_parquet(output)  # type: ignore[arg-type]
        return
    if fmt == "xlsx":
        if df.height > XLSX_ROWS:
            from domain.errors import LedgerError

            raise LedgerError(
                f"the view has {df.height:,} rows, more than a sheet holds ({XLSX_ROWS:,}); "
                "expected --format csv or parquet for a ledger this size"
            )
        with open_workbook(output) as book:  # type: ignore[arg-type]
            xlsx_sheet(book, df, title or "view", money=money)
        return
    if fmt == "table":
        if output:
            import contextlib

            with open(output, "w", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
                print_table(df, title=title, money=money, limit=limit, total=total)
        else:
            print_table(df, title=title, money=money, limit=limit, total=total)
        return
    write = write_json if fmt == "json" else write_csv
    if output:
        with open(output, "wb") as handle:
            write(df, handle, money=money)
        return
    sys.stdout.flush()
    write(df, sys.stdout.buffer, money=money)
    sys.stdout.buffer.flush()


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    limit: int | None = None,
) -> None:
    """A few rows made in Python (a report's lines) written as `emit_frame` writes a view."""
    import polars as pl

    names = list(columns or (rows[0].keys() if rows else []))
    if rows:
        df = pl.DataFrame([{c: r.get(c) for c in names} for r in rows], infer_schema_length=None)
    else:
        df = pl.DataFrame(schema={c: pl.String for c in names})
    emit_frame(df, fmt, title=title, limit=limit)
