"""Charts of the market views for a report: Vega-Lite through altair, saved as .html, or as
.png / .svg by vl-convert (no browser needed).

Why here and not in projections: a chart is a file written for people; the views stay pure
frames. What makes one fit for a report:
- one segment, named in words in the title (`Acute inpatient, all commissioners`), with the
  as-of date (and the known-at time) in the subtitle;
- providers and commissioners by name, not id; the few series a reader can tell apart, the
  rest folded into "others"; a legend wide enough for the names;
- financial years on a time axis, each a year wide and labelled at its middle, with a "today"
  rule on the as-of date: the years after it hold only what agreements in force then commit
  (no renewal decided yet), so they are faded and marked as committed, never read as market
  change; or left out with `--until`;
- on concentration, the 1,500 and 2,500 HHI thresholds drawn and named.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from domain.errors import LedgerError
from infra.store.urls import describe_os_error

SUFFIXES = (".png", ".svg", ".html")
TOP = 8  # series a reader can tell apart in a stacked area
TOP_LINES = 6  # ... and in crossing lines
WIDTH, HEIGHT = 720, 360
FADE = 0.6  # opacity of the veil over committed years
INK = "#222"
THRESHOLDS = ((1500, "1,500: moderately concentrated"), (2500, "2,500: highly concentrated"))
SECTOR_NAMES = {
    "nhs": "NHS",
    "third_sector": "Third sector",
    "private": "Private",
    "public_other": "Other public",
    "unknown": "Unknown",
}


class ChartError(LedgerError):
    pass


@dataclass(frozen=True)
class ChartContext:
    """What a chart says besides its rows: the date it is as of (and the time as known), the
    names to show for ids, the segment asked for, and whether later years were cut."""

    as_of: dt.date
    known_at: dt.datetime | None = None
    providers: Mapping[str, str] = field(default_factory=dict)
    commissioners: Mapping[str, str] = field(default_factory=dict)
    category: str | None = None
    commissioner: str | None = None
    until: str | None = None  # a financial year label: the rows stop there

    def commissioner_name(self, cid: str | None) -> str:
        return "all commissioners" if cid is None else self.commissioners.get(cid, cid)

    def provider_name(self, pid: str) -> str:
        return self.providers.get(pid, pid)

    def subtitle(self, faded: bool) -> list[str]:
        known = f", as known at {self.known_at:%Y-%m-%d %H:%M} UTC" if self.known_at else ""
        lines = [f"As of {self.as_of:%-d %B %Y}{known}; financial years April to March."]
        if faded:
            lines.append(
                "Faded after the as-of date: spend already committed by the agreements in force "
                "then, before any renewal is decided."
            )
        return lines


ACRONYMS = {"iapt": "IAPT", "nhs": "NHS", "cmht": "CMHT", "eip": "EIP", "ld": "LD", "mh": "MH"}


def category_name(slug: str | None) -> str:
    """`supported_housing` -> `Supported housing`, `iapt` -> `IAPT`; None -> `All services`."""
    if slug is None:
        return "All services"
    words = [ACRONYMS.get(w, w) for w in slug.replace("-", "_").split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def segment_name(category: str | None, commissioner: str | None, ctx: ChartContext) -> str:
    return f"{category_name(category)}, {ctx.commissioner_name(commissioner)}"


def _segment_names(ctx: ChartContext, rows: pl.DataFrame) -> pl.Expr:
    """`segment_name` as an expression over a view's key columns (`rows`' categories named
    once each, not once a row)."""
    slugs = rows["service_category"].drop_nulls().unique().to_list()
    category = pl.col("service_category").replace_strict(
        {s: category_name(s) for s in slugs}, default=None, return_dtype=pl.String
    )
    commissioner = pl.col("commissioner_id").replace_strict(
        dict(ctx.commissioners), default=pl.col("commissioner_id"), return_dtype=pl.String
    )
    return pl.concat_str(
        category.fill_null("All services"),
        commissioner.fill_null("all commissioners"),
        separator=", ",
    )


# -- time ----------------------------------------------------------------------------------------
def start_year(label: pl.Expr) -> pl.Expr:
    """`2014/15` -> 2014."""
    return label.str.slice(0, 4).cast(pl.Int32)


def fy_position(day: dt.date) -> float:
    """Where a date falls on the chart's axis: its financial year's start year plus the
    fraction of that year gone (1 October 2014 is about 2014.5)."""
    start = day.year if day.month >= 4 else day.year - 1
    first = dt.date(start, 4, 1)
    return start + (day - first).days / (dt.date(start + 1, 4, 1) - first).days


def _x(rows: pl.DataFrame) -> alt.X:
    """Financial years from the first one's start to the last one's end, each labelled at its
    middle (every second or third year when there are many; the last always)."""
    label = "format(floor(datum.value), 'd') + '/' + slice(format(floor(datum.value) + 1, 'd'), 2)"
    years = sorted({int(x) for x in rows["x"].to_list()})
    step = 1 if len(years) <= 12 else 2 if len(years) <= 24 else 3
    ticks = [y + 0.5 for y in years[::-1][::step][::-1]]
    return alt.X(
        "x:Q",
        title="financial year",
        scale=alt.Scale(nice=False, zero=False, domain=[years[0], years[-1] + 1]),
        axis=alt.Axis(values=ticks, labelExpr=label, labelAngle=0, grid=False),
    )


def _with_x(rows: pl.DataFrame) -> pl.DataFrame:
    """Each year's value at its middle (lines and points)."""
    return rows.with_columns((start_year(pl.col("financial_year")) + 0.5).alias("x"))


def _as_blocks(rows: pl.DataFrame, series: str, value: str) -> pl.DataFrame:
    """Shares as blocks a year wide, for stacked areas: every series in every year (zero where
    it had none, so no area slants across a gap) at the year's start and just before its end."""
    grid = (
        rows.select("financial_year")
        .unique()
        .join(rows.select(series).unique(), how="cross")
        .join(
            rows.select("financial_year", series, value), on=["financial_year", series], how="left"
        )
        .with_columns(pl.col(value).fill_null(0.0))
    )
    start = start_year(pl.col("financial_year")).cast(pl.Float64)
    return pl.concat(
        [grid.with_columns(start.alias("x")), grid.with_columns((start + 0.999).alias("x"))]
    ).sort("x", series)


def _time_layers(rows: pl.DataFrame, ctx: ChartContext, y_top: float) -> list[Any]:
    """The veil over the committed years (from the as-of date on) and the "today" rule, when
    the as-of date falls within the years drawn."""
    span = _span(rows, ctx)
    if span is None:
        return []
    first, today, last = span
    veil = pl.DataFrame({"x": [today], "x2": [last], "y": [y_top], "label": ["committed"]})
    rule = pl.DataFrame({"x": [today], "y": [y_top], "label": [f"as of {ctx.as_of:%-d %b %Y}"]})
    layers: list[Any] = [
        alt.Chart(veil).mark_rect(color="white", opacity=FADE).encode(x="x:Q", x2="x2:Q"),
        alt.Chart(rule).mark_rule(color=INK, strokeDash=[6, 3], strokeWidth=1.5).encode(x="x:Q"),
        alt.Chart(rule)
        .mark_text(align="center", baseline="bottom", dy=-4, fontSize=11, color=INK)
        .encode(x="x:Q", y="y:Q", text="label:N"),
    ]
    if (last - today) / (last - first) * WIDTH >= 80:  # room inside the veil to say what it is
        layers.append(
            alt.Chart(veil)
            .mark_text(align="left", baseline="top", dx=6, dy=6, fontSize=11, color=INK)
            .encode(x="x:Q", y="y:Q", text="label:N")
        )
    return layers


def _span(rows: pl.DataFrame, ctx: ChartContext) -> tuple[float, float, float] | None:
    """The axis's start, the as-of date and the axis's end, when the years drawn run on past
    the as-of date (by more than a day); else None: nothing is committed only."""
    if rows.is_empty():
        return None
    first = float(int(rows["x"].min()))  # type: ignore[arg-type]
    last = float(int(rows["x"].max())) + 1  # type: ignore[arg-type]
    today = fy_position(ctx.as_of)
    return (first, today, last) if first <= today < last - 1.5 / 365 else None


def _legend(title: str, *, bottom: bool = False) -> alt.Legend:
    if bottom:
        return alt.Legend(title=title, orient="bottom", columns=2, labelLimit=420, symbolLimit=24)
    return alt.Legend(title=title, labelLimit=340, symbolLimit=24)


def _chart(layers: list[Any], rows: pl.DataFrame, title: str, ctx: ChartContext) -> Any:
    """The layers with the title, the subtitle and the size a report page takes."""
    if rows.is_empty():
        raise ChartError(
            "the chart has no rows to draw (no spend in this segment as of "
            f"{ctx.as_of}); expected a segment with spend"
        )
    return alt.layer(*layers).properties(
        title=alt.TitleParams(
            title,
            subtitle=ctx.subtitle(_span(rows, ctx) is not None),
            anchor="start",
            fontSize=15,
            offset=18,
        ),
        width=WIDTH,
        height=HEIGHT,
    )


def _until(rows: pl.DataFrame, ctx: ChartContext) -> pl.DataFrame:
    if ctx.until is None:
        return rows
    return rows.filter(start_year(pl.col("financial_year")) <= int(ctx.until[:4]))


# -- segments ------------------------------------------------------------------------------------
def one_segment(
    view: pl.DataFrame, ctx: ChartContext
) -> tuple[pl.DataFrame, str | None, str | None]:
    """The rows of the segment asked for: the category and commissioner given (either alone
    means across the other); with neither, the service category with most spend, across all
    commissioners. Returns the rows and the segment's keys."""
    category, commissioner = ctx.category, ctx.commissioner
    if category is None and commissioner is None:
        top = (
            view.filter(
                pl.col("commissioner_id").is_null() & pl.col("service_category").is_not_null()
            )
            .group_by("service_category")
            .agg(pl.col("spend").sum())
            .sort("spend", "service_category", descending=[True, False])
        )
        category = top["service_category"][0] if top.height else None
    by_category = (
        pl.col("service_category").is_null()
        if category is None
        else pl.col("service_category") == category
    )
    by_commissioner = (
        pl.col("commissioner_id").is_null()
        if commissioner is None
        else pl.col("commissioner_id") == commissioner
    )
    return view.filter(by_category & by_commissioner), category, commissioner


def _stacked(data: pl.DataFrame, series: str, order: list[str], legend: str) -> Any:
    """Shares stacked to 100 %, the series in `order` from the bottom up."""
    return (
        alt.Chart(data)
        .transform_calculate(rank=f"indexof({json.dumps(order)}, datum['{series}'])")
        .mark_area(opacity=0.92)
        .encode(
            x=_x(data),
            y=alt.Y(
                "share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share of spend"
            ),
            color=alt.Color(f"{series}:N", sort=order, legend=_legend(legend)),
            order=alt.Order("rank:Q"),
            tooltip=["financial_year:N", f"{series}:N", alt.Tooltip("share:Q", format=".1%")],
        )
    )


# -- the charts ----------------------------------------------------------------------------------
def market_chart(view: pl.DataFrame, ctx: ChartContext) -> Any:
    """Share of spend over time by provider in one segment (the largest providers by name, the
    rest as others)."""
    rows, category, commissioner = one_segment(_until(view, ctx), ctx)
    by_spend = rows.group_by("provider_id").agg(pl.col("spend").sum())
    leaders = by_spend.sort("spend", "provider_id", descending=[True, False])["provider_id"]
    names = {pid: ctx.provider_name(pid) for pid in leaders.head(TOP).to_list()}
    shares = (
        rows.with_columns(
            pl.col("provider_id").replace_strict(names, default="others").alias("provider")
        )
        .group_by("financial_year", "provider")
        .agg(pl.col("share").sum())
    )
    if shares.is_empty():
        return _chart([], shares, "", ctx)
    data = _as_blocks(shares, "provider", "share")
    order = list(names.values()) + (["others"] if len(leaders) > TOP else [])
    areas = _stacked(data, "provider", order, "provider")
    title = f"Market share by provider: {segment_name(category, commissioner, ctx)}"
    return _chart([areas, *_time_layers(data, ctx, 1.0)], data, title, ctx)


def concentration_chart(view: pl.DataFrame, ctx: ChartContext) -> Any:
    """HHI over time, with the 1,500 and 2,500 thresholds competition authorities use for
    moderately and highly concentrated markets. Which segments: with a category, that category
    across all commissioners and for each commissioner; with a commissioner, all its services
    and each service category; with neither, each service category across all commissioners
    (the largest by spend)."""
    rows = _until(view, ctx)
    if ctx.category is not None:
        rows = rows.filter(pl.col("service_category") == ctx.category)
        title = f"Concentration (HHI): {category_name(ctx.category)}, by commissioner"
        legend_title = "commissioner"
    elif ctx.commissioner is not None:
        rows = rows.filter(pl.col("commissioner_id") == ctx.commissioner)
        title = f"Concentration (HHI): {ctx.commissioner_name(ctx.commissioner)}, by service"
        legend_title = "service category"
    else:
        rows = rows.filter(pl.col("commissioner_id").is_null())
        title = "Concentration (HHI) by service category, all commissioners"
        legend_title = "segment"
    if ctx.category is not None:  # the title names the category: the legend, commissioners
        label = pl.col("commissioner_id").replace_strict(
            dict(ctx.commissioners), default=pl.col("commissioner_id"), return_dtype=pl.String
        )
        segment = label.fill_null("all commissioners")
    elif ctx.commissioner is not None:  # ... the commissioner: the legend, services
        slugs = rows["service_category"].drop_nulls().unique().to_list()
        names = {s: category_name(s) for s in slugs}
        segment = pl.col("service_category").replace_strict(
            names, default=None, return_dtype=pl.String
        )
        segment = segment.fill_null("All services")
    else:
        segment = _segment_names(ctx, rows)
    named = rows.with_columns(segment.alias("segment"))
    by_spend = named.group_by("segment").agg(pl.col("spend").sum())
    ranked = by_spend.sort("spend", "segment", descending=[True, False])["segment"]
    leaders = ranked.head(TOP_LINES).to_list()
    data = _with_x(
        named.filter(pl.col("segment").is_in(leaders)).select(
            "financial_year", "segment", "hhi", "providers"
        )
    ).sort("financial_year")
    if data.is_empty():
        return _chart([], data, title, ctx)
    lines = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=20), strokeWidth=2)
        .encode(
            x=_x(data),
            y=alt.Y("hhi:Q", title="HHI (0 to 10,000)", scale=alt.Scale(domain=[0, 10_000])),
            color=alt.Color("segment:N", sort=leaders, legend=_legend(legend_title, bottom=True)),
            tooltip=[
                "financial_year:N",
                "segment:N",
                alt.Tooltip("hhi:Q", format=",.0f"),
                "providers:Q",
            ],
        )
    )
    limits = pl.DataFrame({"hhi": [t for t, _ in THRESHOLDS], "label": [n for _, n in THRESHOLDS]})
    rules = alt.Chart(limits).mark_rule(strokeDash=[4, 4], color="#777").encode(y="hhi:Q")
    notes = (
        alt.Chart(limits)
        .mark_text(align="left", baseline="middle", dx=6, fontSize=11, color="#444")
        .encode(y="hhi:Q", text="label:N", x=alt.value(WIDTH))
    )
    layers = [rules, notes, lines, *_time_layers(data, ctx, 10_000.0)]
    return _chart(layers, data, title, ctx)


def diversity_chart(view: pl.DataFrame, ctx: ChartContext) -> Any:
    """Share of spend by provider sector over time: the segment asked for, or with none the
    whole market (every service category, all commissioners)."""
    rows = _until(view, ctx).filter(pl.col("sector").is_not_null())
    if ctx.category is None and ctx.commissioner is None:
        rows = rows.filter(
            pl.col("commissioner_id").is_null() & pl.col("service_category").is_not_null()
        )
        segment = "all services, all commissioners"
    else:
        rows, category, commissioner = one_segment(rows, ctx)
        segment = segment_name(category, commissioner, ctx)
    shares = (
        rows.group_by("financial_year", "sector")
        .agg(pl.col("spend").sum())
        .with_columns(
            (pl.col("spend") / pl.col("spend").sum().over("financial_year")).alias("share"),
            pl.col("sector").replace_strict(SECTOR_NAMES, default=pl.col("sector")),
        )
        .filter(pl.col("share").is_not_nan())
    )
    title = f"Spend by provider sector: {segment}"
    if shares.is_empty():
        return _chart([], shares, title, ctx)
    data = _as_blocks(shares, "sector", "share")
    present = set(data["sector"].to_list())
    order = [n for n in SECTOR_NAMES.values() if n in present] + sorted(
        present - set(SECTOR_NAMES.values())
    )
    areas = _stacked(data, "sector", order, "provider sector")
    return _chart([areas, *_time_layers(data, ctx, 1.0)], data, title, ctx)


def save_chart(chart: Any, path: str | Path) -> None:
    """Write `chart` as .html, .png (at twice the size, for print) or .svg, by the suffix."""
    target = Path(path)
    if target.suffix.lower() not in SUFFIXES:
        raise ChartError(
            f"--chart '{path}' has suffix '{target.suffix}'; expected one of " + ", ".join(SUFFIXES)
        )
    if target.is_dir():
        raise ChartError(f"--chart {path} is a folder; expected a file such as {target / 'x.png'}")
    chart = chart.configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=12)
    try:
        if target.suffix.lower() == ".png":
            chart.save(str(target), scale_factor=2)
        else:
            chart.save(str(target))
    except OSError as err:
        raise ChartError(f"cannot write chart {path}: {describe_os_error(err)}") from None
