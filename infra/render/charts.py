"""Charts of the market views: Vega-Lite through altair, saved as .html, or as .png / .svg by
vl-convert (no browser needed).

Why here and not in projections: a chart is a file written for people; the views stay pure
frames. Each chart takes a view's rows (all years: a chart is about change over time) and keeps
the few series a reader can tell apart, folding the rest into "others".
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl

from domain.errors import LedgerError

SUFFIXES = (".png", ".svg", ".html")
TOP = 8


class ChartError(LedgerError):
    pass


def _segment_title(rows: pl.DataFrame) -> str:
    cats = rows["service_category"].drop_nulls().unique().to_list()
    comms = rows["commissioner_id"].drop_nulls().unique().to_list()
    parts = [", ".join(sorted(cats)) or "all services", ", ".join(sorted(comms)) or "all"]
    return f"{parts[0]} (commissioners: {parts[1]})"


def one_segment(view: pl.DataFrame) -> pl.DataFrame:
    """The rows of one segment: the only one left after filtering, else the service category
    (commissioner null) with the most spend."""
    keys = view.select("service_category", "commissioner_id").unique()
    if keys.height <= 1:
        return view
    by_category = view.filter(pl.col("commissioner_id").is_null())
    top = (
        by_category.group_by("service_category")
        .agg(pl.col("spend").sum())
        .sort("spend", "service_category", descending=[True, False])
    )
    if top.is_empty():
        return view.head(0)
    return by_category.filter(pl.col("service_category") == top["service_category"][0])


def market_chart(view: pl.DataFrame) -> alt.Chart:
    """Share over time by provider in one segment (the largest providers, the rest as others)."""
    rows = one_segment(view)
    leaders = (
        rows.group_by("provider_id").agg(pl.col("spend").sum()).sort("spend", descending=True)
    )["provider_id"].head(TOP)
    data = (
        rows.with_columns(
            pl.when(pl.col("provider_id").is_in(leaders.to_list()))
            .then(pl.col("provider_id"))
            .otherwise(pl.lit("others"))
            .alias("provider")
        )
        .group_by("financial_year", "provider")
        .agg(pl.col("share").sum())
        .sort("financial_year", "provider")
    )
    return (
        alt.Chart(data, title=_segment_title(rows))
        .mark_area()
        .encode(
            x=alt.X("financial_year:O", title="financial year"),
            y=alt.Y("share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
            color=alt.Color("provider:N", title="provider"),
            tooltip=["financial_year:O", "provider:N", alt.Tooltip("share:Q", format=".1%")],
        )
    )


def concentration_chart(view: pl.DataFrame) -> alt.Chart:
    """HHI over time per segment (the segments with most spend), with the 1,500 and 2,500
    thresholds competition authorities use for moderately and highly concentrated markets."""
    segments = view.with_columns(
        pl.concat_str(
            pl.col("service_category").fill_null("all services"),
            pl.col("commissioner_id").fill_null("all commissioners"),
            separator=" / ",
        ).alias("segment")
    )
    leaders = (
        segments.group_by("segment").agg(pl.col("spend").sum()).sort("spend", descending=True)
    )["segment"].head(TOP)
    data = segments.filter(pl.col("segment").is_in(leaders.to_list())).select(
        "financial_year", "segment", "hhi", "providers"
    )
    lines = (
        alt.Chart(data.sort("financial_year"), title="HHI over time")
        .mark_line(point=True)
        .encode(
            x=alt.X("financial_year:O", title="financial year"),
            y=alt.Y("hhi:Q", title="HHI", scale=alt.Scale(domain=[0, 10_000])),
            color=alt.Color("segment:N"),
            tooltip=["financial_year:O", "segment:N", "hhi:Q", "providers:Q"],
        )
    )
    rules = (
        alt.Chart(pl.DataFrame({"hhi": [1500, 2500]}))
        .mark_rule(strokeDash=[4, 4], color="grey")
        .encode(y="hhi:Q")
    )
    return lines + rules  # type: ignore[no-any-return]


def diversity_chart(view: pl.DataFrame) -> alt.Chart:
    """Sector mix over time: spend share by provider sector, across the whole market (every
    service category, commissioner null) unless the rows were filtered to one segment."""
    rows = view.filter(pl.col("sector").is_not_null())
    if rows.select("service_category", "commissioner_id").unique().height > 1:
        rows = rows.filter(pl.col("commissioner_id").is_null())
    data = (
        rows.group_by("financial_year", "sector")
        .agg(pl.col("spend").sum())
        .with_columns(
            (pl.col("spend") / pl.col("spend").sum().over("financial_year")).alias("share")
        )
        .sort("financial_year", "sector")
    )
    return (
        alt.Chart(data, title="Spend by provider sector")
        .mark_area()
        .encode(
            x=alt.X("financial_year:O", title="financial year"),
            y=alt.Y("share:Q", stack="normalize", axis=alt.Axis(format="%"), title="share"),
            color=alt.Color("sector:N"),
            tooltip=["financial_year:O", "sector:N", alt.Tooltip("share:Q", format=".1%")],
        )
    )


def save_chart(chart: alt.Chart, path: str | Path) -> None:
    """Write `chart` as .html, .png or .svg (chosen by the suffix)."""
    target = Path(path)
    if target.suffix.lower() not in SUFFIXES:
        raise ChartError(
            f"--chart '{path}' has suffix '{target.suffix}'; expected one of " + ", ".join(SUFFIXES)
        )
    chart = chart.properties(width=640, height=360)
    try:
        chart.save(str(target))
    except OSError as err:
        raise ChartError(f"cannot write chart '{path}': {err.strerror}") from None
