"""Charts as inline SVG, drawn on the server (altair to Vega-Lite, vl-convert to SVG): they print,
need no script, and fetch nothing.

The market's charts are the CLI's (`infra.render.charts`: names for ids, the committed years
faded, the HHI thresholds); the agreement's terms and value over time is drawn here, from the
same value segments the spend views read (`projections.spend.value_segments`). A chart is drawn
once per version of the frames (`Frames.cached`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import polars as pl

from infra.web.frames import Frames
from infra.web.params import When

WIDTH, HEIGHT = 640, 220


def svg(chart: Any, label: str) -> str:
    """The chart as an SVG element for a page: sized by its viewBox (so it scales), named for
    screen readers."""
    import vl_convert

    chart = chart.configure_view(stroke=None).configure_axis(labelFontSize=11, titleFontSize=12)
    text = vl_convert.vegalite_to_svg(chart.to_json())
    text = re.sub(r"^<\?xml[^>]*>\s*", "", text)
    width = re.search(r'width="([\d.]+)"', text)
    height = re.search(r'height="([\d.]+)"', text)
    if width and height and "viewBox" not in text[:400]:
        text = text.replace("<svg ", f'<svg viewBox="0 0 {width[1]} {height[1]}" ', 1)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def market_chart(
    frames: Frames,
    when: When,
    kind: str,
    rows: pl.DataFrame,
    category: str | None,
    commissioner: str | None,
) -> str | None:
    """The CLI's chart of a market view (`market_chart`, `concentration_chart`,
    `diversity_chart`) for the segment, as SVG; None when the segment has nothing to draw."""
    from infra.render import charts
    from projections.names import display_names

    def draw() -> str | None:
        if rows.is_empty():
            return None
        names = display_names(frames.frame(in_force=when.known_at is None), when.as_of)
        context = charts.ChartContext(
            as_of=when.as_of,
            known_at=when.known_at,
            providers=names["provider"],
            commissioners=names["commissioner"],
            category=category,
            commissioner=commissioner,
        )
        try:
            chart = getattr(charts, kind)(rows, context)
        except charts.ChartError:
            return None
        return svg(chart, f"{kind.replace('_', ' ')}: {category or 'all services'}, "
                   f"{commissioner or 'all commissioners'}")  # fmt: skip

    key = ("chart", kind, category, commissioner, when.as_of, when.known_at)
    result: str | None = frames.cached(key, draw)
    return result


def value_chart(frames: Frames, when: When, agreement: str) -> str | None:
    """The agreement's annual value over time, a step for each change (award, rollover,
    extension or variation with a new value), with the as-of date marked."""
    import altair as alt

    from projections.spend import lives, value_segments

    def draw() -> str | None:
        snap = frames.snapshot(when.as_of, when.known_at)
        mine = pl.col("agreement_id").cast(pl.String) == agreement
        life = lives(snap.events).filter(mine).collect()
        steps = value_segments(snap.events).filter(mine).collect()
        if life.is_empty() or steps.is_empty():
            return None
        last = life["last_day"][0]
        steps = (
            steps.with_columns(pl.min_horizontal("value_to", pl.lit(last)).alias("value_to"))
            .filter(pl.col("value_from") <= pl.col("value_to"))
            .sort("value_from")
            .select(
                pl.col("value_from").alias("from"),
                pl.col("value_to").alias("to"),
                pl.col("annual_value").alias("annual value"),
            )
        )
        if steps.is_empty():
            return None
        bars = (
            alt.Chart(steps)
            .mark_rule(strokeWidth=5, color="#1f5f8b")
            .encode(
                x=alt.X("from:T", title="date"),
                x2="to:T",
                y=alt.Y(
                    "annual value:Q",
                    title="annual value (£)",
                    axis=alt.Axis(format="~s"),
                    scale=alt.Scale(zero=True, nice=True),
                ),
                tooltip=["from:T", "to:T", alt.Tooltip("annual value:Q", format=",.2f")],
            )
        )
        today = pl.DataFrame({"day": [when.as_of], "label": [f"as of {when.as_of}"]})
        rule = alt.Chart(today).mark_rule(color="#222", strokeDash=[6, 3]).encode(x="day:T")
        layers = [bars]
        first, end = steps["from"].min(), steps["to"].max()
        if isinstance(first, dt.date) and isinstance(end, dt.date) and first <= when.as_of <= end:
            layers.append(rule)
        chart = alt.layer(*layers).properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.TitleParams(f"Annual value of {agreement} over its terms", anchor="start"),
        )
        return svg(chart, f"Annual value of {agreement} over time")

    key = ("value-chart", agreement, when.as_of, when.known_at)
    result: str | None = frames.cached(key, draw)
    return result


def cr3_chart(frames: Frames, when: When, rows: pl.DataFrame, segment: str) -> str | None:
    """CR3 (the three largest providers' share of spend) over the financial years of one
    segment's concentration rows, the years after the as-of date marked as committed."""
    import altair as alt

    def draw() -> str | None:
        if rows.is_empty():
            return None
        data = rows.select(
            "financial_year",
            (pl.col("financial_year").str.slice(0, 4).cast(pl.Int32) + 0.5).alias("x"),
            "cr3",
        ).sort("x")
        start = when.as_of.year if when.as_of.month >= 4 else when.as_of.year - 1
        data = data.with_columns(
            pl.when(pl.col("x") > start + 1)
            .then(pl.lit("committed only"))
            .otherwise(pl.lit("recorded"))
            .alias("years")
        )
        line = (
            alt.Chart(data)
            .mark_line(point=True, color="#8a3b12")
            .encode(
                x=alt.X("x:Q", title="financial year (start)", axis=alt.Axis(format="d")),
                y=alt.Y(
                    "cr3:Q", title="CR3", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
                ),  # fmt: skip
                strokeDash=alt.StrokeDash("years:N", legend=alt.Legend(title=None)),
                tooltip=["financial_year:N", alt.Tooltip("cr3:Q", format=".1%")],
            )
        )
        chart = line.properties(
            width=WIDTH,
            height=HEIGHT,
            title=alt.TitleParams(
                f"Share of the three largest providers (CR3): {segment}", anchor="start"
            ),  # fmt: skip
        )
        return svg(chart, f"CR3 over time: {segment}")

    key = ("cr3-chart", segment, rows.height, when.as_of, when.known_at)
    result: str | None = frames.cached(key, draw)
    return result
