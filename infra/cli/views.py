"""CLI commands for the market views: `market`, `concentration`, `diversity`.

Thin: parse options, load the event frame (cached), call a projection, filter, sort and render.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from domain.errors import InvalidFieldError, LedgerError
from infra.cli.app import (
    AllOpt,
    AsOfOpt,
    CategoryOpt,
    CommissionerOpt,
    KnownAtOpt,
    LimitOpt,
    app,
    event_frame,
    output_file,
    parse_as_of,
    parse_known_at,
    require_names,
    table_rows,
)
from infra.cli.from_views import ViewsReadOpt, snapshot_from_views
from infra.render.tables import emit_frame

if TYPE_CHECKING:  # polars and the views load only when a view command runs
    import polars as pl

    from projections.standing import Snapshot


class FrameFmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


class Part(StrEnum):
    mix = "mix"
    entry_exit = "entry-exit"
    at_risk = "at-risk"


YearOpt = Annotated[str | None, typer.Option("--year", help="a financial year such as 2014/15")]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="the last financial year shown (rows and chart), e.g. 2026/27; without it a chart "
        "fades the years after the as-of date, which hold only committed spend",
    ),
]
FormatOpt = Annotated[FrameFmt, typer.Option("--format", help="table, csv, json, parquet or xlsx")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", help="write to this file (required for parquet, xlsx)")
]
ChartOpt = Annotated[
    Path | None, typer.Option("--chart", help="also draw a chart: .png, .svg or .html")
]


def _segment(
    view: pl.LazyFrame, category: str | None, commissioner: str | None, year: str | None = None
) -> pl.LazyFrame:
    """The rows of one segment, and of one financial year when given (filtered before the view
    is computed: the other years are never worked out)."""
    import polars as pl

    if year is not None:
        view = view.filter(pl.col("financial_year") == year)
    if category is not None:
        view = view.filter(pl.col("service_category") == category)
    if commissioner is not None:
        view = view.filter(pl.col("commissioner_id") == commissioner)
    return view


def _checked(year: str | None, fmt: FrameFmt, output: Path | None) -> str | None:
    """Refuse bad options before any work: the financial year's label, if one was given."""
    if fmt in (FrameFmt.parquet, FrameFmt.xlsx) and output is None:
        raise LedgerError(f"--format {fmt.value} writes a file; expected --output PATH")
    output_file(output)
    return _year(year) if year is not None else None


def _render(
    rows: pl.DataFrame,
    columns: tuple[str, ...],
    *,
    year: str | None,
    fmt: FrameFmt,
    output: Path | None,
    title: str,
    limit: int | None = None,
    ordered: bool = False,
) -> None:
    """Keep one financial year if asked, put the rows in order (`projections.market.in_order`)
    unless they are `ordered` already, and write the view's columns (a table: the first `limit`
    rows, and only those are put in order: a top-k costs a fraction of sorting a national
    market's million rows)."""
    import polars as pl

    from projections.market import in_order

    if year is not None:
        rows = rows.filter(pl.col("financial_year") == year)
    total = None
    if not ordered:
        if fmt is FrameFmt.table and limit is not None and rows.height > limit:
            total = rows.height
            rows = in_order(rows.lazy()).head(limit).collect()
        else:
            rows = in_order(rows.lazy()).collect()
    where = str(output) if output else None
    emit_frame(rows.select(columns), fmt.value, output=where, title=title, limit=limit, total=total)


def _rows(view: pl.LazyFrame, until: str | None, *, ordered: bool) -> pl.DataFrame:
    """The view's rows up to `until`, in order when `ordered` (a chart reads them all), else
    as computed (`_render` orders what it shows)."""
    from projections.market import in_order

    return _until((in_order(view) if ordered else view).collect(), until)


def _year(label: str, option: str = "--year") -> str:
    from domain.values import FinancialYear

    try:
        return FinancialYear.parse(label).label
    except InvalidFieldError:
        raise InvalidFieldError(option, "a financial year such as 2014/15", label) from None


def _last_year(label: str | None) -> str | None:
    return _year(label, "--until") if label is not None else None


def _until(rows: pl.DataFrame, until: str | None) -> pl.DataFrame:
    """Leave out the financial years after `until` (a label, already checked)."""
    import polars as pl

    if until is None:
        return rows
    return rows.filter(pl.col("financial_year").str.slice(0, 4) <= until[:4])


def _draw(
    chart: Path | None,
    draw: str,
    rows: pl.DataFrame,
    frame: pl.LazyFrame | Snapshot,
    *,
    day: dt.date,
    known: dt.datetime | None,
    category: str | None,
    commissioner: str | None,
) -> None:
    """A chart is about change over time: it shows every year of the segment's rows, names for
    ids, and the as-of date (the years after it faded as committed)."""
    if chart is None:
        return
    from infra.render import charts
    from projections.names import display_names

    # names come from the events; a view read from the projector's tables has none at hand
    names = display_names(frame if not _from_views(frame) else event_frame(), day)
    context = charts.ChartContext(
        as_of=day,
        known_at=known,
        providers=names["provider"],
        commissioners=names["commissioner"],
        category=category,
        commissioner=commissioner,
    )
    charts.save_chart(getattr(charts, draw)(rows, context), chart)


def _from_views(frame: pl.LazyFrame | Snapshot) -> bool:
    from projections.standing import Snapshot

    return isinstance(frame, Snapshot)


def _frame(
    known: dt.datetime | None,
    day: dt.date,
    views: str | None = None,
    category: str | None = None,
    commissioner: str | None = None,
) -> pl.LazyFrame | Snapshot:
    """The events the market views read: as known now, the cache's corrections applied (these
    views read only the events in force); as known at a time, the whole frame, cut there. A
    segment's category and commissioner must be names the ledger holds. With `--views`, the
    projector's tables when they can answer (`infra.cli.from_views`); their names are checked
    only if the answer comes out empty (`_checked_empty`), so that a national reader of the
    tables never loads the store's events for a filter that matched."""
    found = snapshot_from_views(views, day, known)
    if found is not None:
        return found
    frame = event_frame(in_force=known is None)
    require_names(frame, known, category=category, commissioner=commissioner)
    return frame


def _checked_empty(
    rows: pl.DataFrame,
    frame: pl.LazyFrame | Snapshot,
    known: dt.datetime | None,
    **ids: str | None,
) -> None:
    """An empty answer read from the projector's tables: say so if a filter names nothing."""
    if rows.height == 0 and _from_views(frame):
        require_names(event_frame(), known, **ids)


@app.command()
def market(
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    year: YearOpt = None,
    until: UntilOpt = None,
    category: CategoryOpt = None,
    commissioner: CommissionerOpt = None,
    fmt: FormatOpt = FrameFmt.table,
    output: OutputOpt = None,
    chart: ChartOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Spend and market share per provider per segment (service category x commissioner, and
    each alone) per financial year."""
    from projections.market import MARKET_COLUMNS
    from projections.market import market as market_view

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    year, until = _checked(year, fmt, output), _last_year(until)
    frame = _frame(known, day, views, category, commissioner)
    # a chart shows every year: the table's year is kept after it is drawn
    # one year's rows (no chart, from the events): only that year's spend is worked out
    only = int(year[:4]) if year is not None and chart is None and not _from_views(frame) else None
    view = _segment(
        market_view(frame, day, known, year=only), category, commissioner, None if chart else year
    )
    rows = _rows(view, until, ordered=chart is not None)
    segment = {"category": category, "commissioner": commissioner}
    _checked_empty(rows, frame, known, **segment)
    _draw(chart, "market_chart", rows, frame, day=day, known=known, **segment)
    _render(
        rows,
        MARKET_COLUMNS,
        year=year,
        fmt=fmt,
        output=output,
        title=f"Market as of {day}",
        limit=table_rows(limit, every),
        ordered=chart is not None,
    )


@app.command("concentration")
def concentration_(
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    year: YearOpt = None,
    until: UntilOpt = None,
    category: CategoryOpt = None,
    commissioner: CommissionerOpt = None,
    fmt: FormatOpt = FrameFmt.table,
    output: OutputOpt = None,
    chart: ChartOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Per segment and year: providers, spend, HHI (0-10,000), CR3 (a fraction), effective
    number of providers (exp Shannon) and Simpson index."""
    from projections.market import CONCENTRATION_COLUMNS, concentration

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    year, until = _checked(year, fmt, output), _last_year(until)
    frame = _frame(known, day, views, category, commissioner)
    only = int(year[:4]) if year is not None and chart is None and not _from_views(frame) else None
    view = _segment(
        concentration(frame, day, known, year=only), category, commissioner, None if chart else year
    )
    rows = _rows(view, until, ordered=chart is not None)
    segment = {"category": category, "commissioner": commissioner}
    _checked_empty(rows, frame, known, **segment)
    _draw(chart, "concentration_chart", rows, frame, day=day, known=known, **segment)
    _render(
        rows,
        CONCENTRATION_COLUMNS,
        year=year,
        fmt=fmt,
        output=output,
        title=f"Concentration as of {day}",
        limit=table_rows(limit, every),
        ordered=chart is not None,
    )


@app.command("diversity")
def diversity_(
    part: Annotated[
        Part,
        typer.Option(
            "--part",
            help="mix (spend share by sector and size band), entry-exit, or at-risk (small "
            "third-sector providers with falling spend, one agreement, ending within a year)",
        ),
    ] = Part.mix,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    year: YearOpt = None,
    until: UntilOpt = None,
    category: CategoryOpt = None,
    commissioner: CommissionerOpt = None,
    fmt: FormatOpt = FrameFmt.table,
    output: OutputOpt = None,
    chart: ChartOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Diversity of the market: spend shares by provider sector and size band, entrants and
    exits, small third-sector providers at risk. The chart is the sector mix over time."""
    from projections import diversity
    from projections.market import in_order

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    year, until = _checked(year, fmt, output), _last_year(until)
    frame = _frame(known, day, views, category, commissioner)
    if chart is not None:
        mix = _segment(diversity.mix(frame, day, known), category, commissioner)
        segment = {"category": category, "commissioner": commissioner}
        mix_rows = _until(in_order(mix).collect(), until)
        _draw(chart, "diversity_chart", mix_rows, frame, day=day, known=known, **segment)
    title = f"Diversity ({part.value}) as of {day}"
    if part is Part.at_risk:
        if category or commissioner:
            raise LedgerError(
                "--part at-risk lists providers across the ledger; expected no --category or "
                "--commissioner"
            )
        rows = diversity.at_risk(frame, day, known).collect()
        shown = table_rows(limit, every)
        _render(
            rows,
            diversity.RISK_COLUMNS,
            year=year,
            fmt=fmt,
            output=output,
            title=title,
            limit=shown,
            ordered=True,  # in the view's own order
        )
        return
    if part is Part.mix:
        view, columns = diversity.mix(frame, day, known), diversity.MIX_COLUMNS
    else:
        view, columns = diversity.entry_exit(frame, day, known), diversity.ENTRY_COLUMNS
    rows = _rows(_segment(view, category, commissioner, year), until, ordered=False)
    _checked_empty(rows, frame, known, category=category, commissioner=commissioner)
    shown = table_rows(limit, every)
    _render(rows, columns, year=year, fmt=fmt, output=output, title=title, limit=shown)
