"""A view's rows as a table of a page: sorted on the server, formatted for reading, linked, and
the same rows as CSV.

Why on the server: a table sorts by a link (`?sort=column&order=desc`), so it sorts without
JavaScript and a sorted table can be bookmarked, sent and printed. A page of several tables
names the table: `?sort=holdings.days_left`. The CSV (`.csv` at the page's address, `?table=`
naming one of several) is the CLI's: `infra.render.tables.write_csv`, text a spreadsheet would
run neutralised, every row; a page shows the first `MAX_ROWS` rows of the sorted table, and the
rest page by page.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import polars as pl

from infra.render.tables import INDEX_PLACES, MONEY_COLUMNS, SHARE_PLACES, fixed, pounds, write_csv
from infra.web.params import MAX_ROWS, BadParam, When

# a column whose values are ids of a page: where each links
LINKS: dict[str, str] = {
    "agreement_id": "/agreements/{}",
    "from_id": "/agreements/{}",
    "to_id": "/agreements/{}",
    "predecessor_id": "/agreements/{}",
    "predecessors": "/agreements/{}",
    "successor_id": "/agreements/{}",
    "provider_id": "/providers/{}",
    "providers": "/providers/{}",
    "incumbent_provider_id": "/providers/{}",
    "merged_into": "/providers/{}",
    "commissioner_id": "/commissioners/{}",
    "commissioners": "/commissioners/{}",
    "from_commissioner": "/commissioners/{}",
    "to_commissioner": "/commissioners/{}",
    "succeeded_by": "/commissioners/{}",
    "responsible_lead": "/brief?lead={}",
    "lead": "/brief?lead={}",
    "from_lead": "/brief?lead={}",
    "to_lead": "/brief?lead={}",
    "service_category": "/market?category={}",
}
MONEY = MONEY_COLUMNS | {"annual_value_held"}


@dataclass
class Cell:
    text: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href) pieces
    number: bool = False


@dataclass
class Table:
    """One table of a page: its rows sorted and cut to the page shown."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    total: int
    first: int  # index of the first row shown
    sort: str | None
    descending: bool
    sort_links: dict[str, str]
    csv: str
    pages: dict[str, str]  # "previous"/"next" -> href
    note: str = ""


def sorted_frame(df: pl.DataFrame, column: str | None, descending: bool) -> pl.DataFrame:
    """The rows by `column` (nulls last), ties in their view's order; a list column by its
    text."""
    if column is None:
        return df
    if column not in df.columns:
        raise BadParam("sort", "one of the table's columns: " + ", ".join(df.columns), column)
    dtype = df.schema[column]
    key = pl.col(column)
    if isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object):
        key = _text(df, column)
    return (
        df.with_row_index("_order")
        .sort([key, pl.col("_order")], descending=[descending, False], nulls_last=True)
        .drop("_order")
    )


def _text(df: pl.DataFrame, column: str) -> pl.Expr:
    dtype = df.schema[column]
    col = pl.col(column)
    if isinstance(dtype, pl.List | pl.Array):
        return col.list.eval(pl.element().cast(pl.String)).list.join("; ")
    if isinstance(dtype, pl.Struct):
        return col.struct.json_encode()
    return col.cast(pl.String)


def shown_text(df: pl.DataFrame) -> pl.DataFrame:
    """Every cell as a person reads it: money in pounds and pence, shares and indices rounded,
    lists joined, times to the second, nulls empty."""
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if name in MONEY and dtype.is_numeric():
            text = pounds(col)
        elif dtype.is_float():
            places = INDEX_PLACES.get(name, SHARE_PLACES)
            text = fixed(col, places, thousands=True) if places == 0 else col.round(places)
        elif isinstance(dtype, pl.List | pl.Array | pl.Struct):
            text = _text(df, name)
        elif isinstance(dtype, pl.Datetime):
            text = col.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif dtype == pl.Boolean:
            text = pl.when(col).then(pl.lit("yes")).otherwise(pl.lit("no"))
        else:
            text = col
        exprs.append(text.cast(pl.String).fill_null("").alias(name))
    return df.select(exprs)


def parse_sort(
    sort: str | None, order: str | None, table: str, single: bool
) -> tuple[str | None, bool]:
    """The column this table is sorted by (`name.column`, or `column` on a page of one
    table) and whether descending."""
    if order not in (None, "", "asc", "desc"):
        raise BadParam("order", "asc or desc", order or "")
    if not sort:
        return None, False
    prefix, _, column = sort.partition(".")
    if column and prefix == table:
        return column, order == "desc"
    if single and not column:
        return sort, order == "desc"
    return None, False


def table(
    df: pl.DataFrame,
    *,
    name: str,
    title: str,
    when: When,
    path: str,
    params: Mapping[str, Any],
    single: bool = True,
    page: int = 1,
    note: str = "",
) -> Table:
    """`df` as the table `name` of the page at `path` (whose other parameters are `params`):
    sorted as the request asks, the rows of page `page`, cells formatted and linked."""
    sort, descending = parse_sort(params.get("sort"), params.get("order"), name, single)
    rows = sorted_frame(df, sort, descending)
    first = (page - 1) * MAX_ROWS
    if first and first >= rows.height:
        raise BadParam("page", f"a page from 1 to {max(1, -(-rows.height // MAX_ROWS))}", str(page))
    part = rows.slice(first, MAX_ROWS)
    base = {
        k: v
        for k, v in params.items()
        if v not in (None, "") and k not in ("sort", "order", "page", "table")
    }

    def link(**extra: Any) -> str:
        return when.link(path, **base, **extra)

    sort_links = {}
    for column in df.columns:
        key = column if single else f"{name}.{column}"
        flip = "asc" if (sort == column and descending) else "desc" if sort == column else "asc"
        sort_links[column] = link(sort=key, order=flip) + f"#{name}"
    current = {"sort": params.get("sort"), "order": params.get("order")}
    which = {} if single else {"table": name}  # on a page of several, the table paged
    pages = {}
    if first:
        pages["previous"] = link(**current, **which, page=page - 1 if page > 2 else None)
        pages["previous"] += f"#{name}"
    if first + MAX_ROWS < rows.height:
        pages["next"] = link(**current, **which, page=page + 1) + f"#{name}"
    csv_extra = {**current, "table": None if single else name}
    return Table(
        name=name,
        title=title,
        columns=list(df.columns),
        rows=_cells(part, when),
        total=rows.height,
        first=first,
        sort=sort,
        descending=descending,
        sort_links=sort_links,
        csv=when.link(path + ".csv", **base, **csv_extra),
        pages=pages,
        note=note,
    )


def _cells(df: pl.DataFrame, when: When) -> list[list[Cell]]:
    text = shown_text(df)
    raw = {c: df[c].to_list() for c in df.columns if c in LINKS}
    numeric = {c for c, t in df.schema.items() if t.is_numeric()}
    out = []
    for i, row in enumerate(text.iter_rows()):
        cells = []
        for column, value in zip(df.columns, row, strict=True):
            cell = Cell(value, number=column in numeric)
            if column in raw and raw[column][i] is not None:
                cell.links = _links(column, raw[column][i], when)
            cells.append(cell)
        out.append(cells)
    return out


def _links(column: str, value: Any, when: When) -> list[tuple[str, str]]:
    pattern = LINKS[column]
    ids = value if isinstance(value, list) else [v.strip() for v in str(value).split(";")]
    pieces = []
    for one in ids:
        if not one:
            continue
        one = str(one).removeprefix("  ↳ ")
        path, _, query = pattern.partition("?")
        if query:
            key = query.split("=")[0]
            href = when.link(path, **{key: one})
        else:
            href = when.link(path.format(quote(one, safe="")))
        pieces.append((str(one), href))
    return pieces


def csv_bytes(
    df: pl.DataFrame,
    params: Mapping[str, Any],
    *,
    name: str = "",
    single: bool = True,
    section: bool = False,
) -> bytes:
    """Every row of the view as CSV, sorted as the page was, written as the CLI writes it
    (a report's section as `cledger brief --format csv` writes it: `projections.report.flat`,
    dates as text)."""
    from projections.report import flat

    sort, descending = parse_sort(params.get("sort"), params.get("order"), name, single)
    rows = sorted_frame(df, sort, descending)
    if section:
        rows = flat(rows).with_columns(pl.col(pl.Date).cast(pl.String))
    buffer = io.BytesIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


def pick(tables: Sequence[str], wanted: str | None) -> str:
    """The table a `.csv` of a page of several tables is asked for (`?table=`)."""
    if wanted is None or wanted == "":
        return tables[0]
    if wanted not in tables:
        raise BadParam("table", "one of " + ", ".join(tables), wanted)
    return wanted
