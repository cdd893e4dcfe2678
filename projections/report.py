"""Reports of several sections (the audit, the brief) as JSON-ready rows and as Markdown.

Why here: a report is a dict of named sections, each the rows of a view with that view's own
column names; turning it into JSON values (money as two-decimal strings, dates as ISO text) or a
Markdown document is pure formatting, shared by the audit and the brief, with no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

MONEY = frozenset(
    {"annual_value", "awarded_value", "spend", "value", "spend_last_year", "total_annual_value"}
)


def money_text(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def pounds(value: float | None) -> str:
    """Money for people: pounds with thousands separators and pence (`£1,234,567.00`)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def json_value(name: str, value: Any) -> Any:
    """One cell as JSON wants it: money as text with two decimals, dates and times as ISO."""
    if name in MONEY and isinstance(value, int | float):
        return money_text(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [json_value("", v) for v in value]
    return value


def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """A section's rows as flat JSON objects keyed by column name."""
    return [{k: json_value(k, v) for k, v in row.items()} for row in df.iter_rows(named=True)]


def json_ready(report: Mapping[str, Any]) -> dict[str, Any]:
    """A whole report: frames become lists of rows, nested mappings are converted in turn."""
    out: dict[str, Any] = {}
    for key, value in report.items():
        if isinstance(value, pl.DataFrame):
            out[key] = rows(value)
        elif isinstance(value, Mapping):
            out[key] = json_ready(value)
        else:
            out[key] = json_value(key, value)
    return out


def flat(df: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with '; ' and money as text, for tables, CSV and Markdown."""
    return df.with_columns(
        *(pl.col(c).list.join("; ") for c, t in df.schema.items() if t == pl.List(pl.String)),
        *(
            pl.col(c).round(2).cast(pl.Decimal(38, 2)).cast(pl.String)
            for c, t in df.schema.items()
            if c in MONEY and t.is_numeric()
        ),
    )


def to_markdown(
    title: str, intro: str, sections: Mapping[str, str], report: Mapping[str, Any]
) -> str:
    """A report as Markdown: a heading per section (its title in words), each a table."""
    lines = [f"# {title}", "", intro, ""]
    for name, heading in sections.items():
        lines += [f"## {heading}", "", markdown_table(report[name])]
    return "\n".join(lines)


def markdown_table(df: pl.DataFrame) -> str:
    """Rows as a Markdown table: column names in words, money in pounds and pence, lists
    joined, numbers rounded for reading."""
    if df.is_empty():
        return "_none_\n"
    money = {c for c, t in df.schema.items() if c in MONEY and t.is_numeric()}
    shown = df.with_columns(
        *(pl.col(c).list.join("; ") for c, t in df.schema.items() if t == pl.List(pl.String))
    )
    cells = [
        [pounds(v) if c in money else _cell(v) for c, v in zip(shown.columns, row, strict=True)]
        for row in shown.iter_rows()
    ]
    head = "| " + " | ".join(c.replace("_", " ") for c in shown.columns) + " |"
    rule = "|" + "|".join("--:" if c in money else "---" for c in shown.columns) + "|"
    body = ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join([head, rule, *body]) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value).replace("|", "\\|").replace("\n", " ")
