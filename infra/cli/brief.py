"""CLI commands for the continuity views: continuity, pipeline, brief, audit, flags.

Thin: parse options, load the event frame (cached beside the store), call a projection, render.
A one-table view is written by `infra.render.emit_frame`; a report of several sections (brief,
audit) as Markdown, JSON (sections nested, each keeping its view's keys), a table per section,
one CSV or Parquet file per section in the `--output` folder, or one XLSX sheet per section.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from domain.errors import InvalidFieldError
from infra.cli.app import (
    AllOpt,
    AsOfOpt,
    KnownAtOpt,
    LimitOpt,
    _settings,
    app,
    parse_as_of,
    parse_known_at,
    table_rows,
)
from infra.cli.from_views import ViewsReadOpt, brief_from_views, snapshot_from_views
from infra.render.tables import emit_frame

if TYPE_CHECKING:  # polars and the views load only when a view command runs
    import polars as pl

    from projections.standing import Snapshot


class ViewFmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


class ReportFmt(StrEnum):
    markdown = "markdown"
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


ViewFmtOpt = Annotated[
    ViewFmt, typer.Option("--format", help="table, csv, json, parquet or xlsx (files: --output)")
]
ReportFmtOpt = Annotated[
    ReportFmt,
    typer.Option(
        "--format",
        help="markdown, table, json, xlsx (one sheet per section), csv or parquet (one file per "
        "section in the --output folder)",
    ),
]
OutputOpt = Annotated[Path | None, typer.Option("--output", help="write to this path")]


def _snapshot(
    as_of: str | None,
    known_at: str | None,
    *,
    lead: str | None = None,
    agreement: str = "",
    views: str | None = None,
) -> Snapshot:
    """The snapshot the views read; for a lead's brief or an agreement's audit, of the lead's
    agreements or the agreement and their lineages only (`projections.scope`)."""
    from infra.store.frame_cache import scan_event_frame
    from projections.scope import agreements_scope, lead_scope
    from projections.standing import Snapshot

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    found = snapshot_from_views(views, day, known)  # --views: the projector's tables
    if found is not None:
        return found
    frame = scan_event_frame(_settings.get("store"))
    if lead:
        frame = lead_scope(frame, lead)
    elif agreement:
        frame = agreements_scope(frame, [agreement])
    return Snapshot.of(frame, day, known)


def _emit(
    df: pl.LazyFrame, fmt: ViewFmt, output: Path | None, title: str, limit: int | None = None
) -> None:
    if fmt in (ViewFmt.parquet, ViewFmt.xlsx) and output is None:
        raise InvalidFieldError("--output", f"a file path for --format {fmt.value}", missing=True)
    where = str(output) if output else None
    emit_frame(df.collect(), fmt.value, output=where, title=title, limit=limit)


@app.command("continuity")
def continuity_cmd(
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Every agreement's lineage, incumbent and tenure, non-competitive renewals, limbo days,
    handovers survived and responsible lead (orphans flagged)."""
    from projections.continuity import continuity

    snap = _snapshot(as_of, known_at, views=views)
    title = f"Continuity as of {snap.as_of}"
    _emit(continuity(snap, snap.as_of), fmt, output, title, table_rows(limit, every))


@app.command("pipeline")
def pipeline_cmd(
    months: Annotated[int, typer.Option("--months", help="how far ahead, in months")] = 6,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Agreements ending within N months with no decision recorded since their last term."""
    from projections.pipeline import pipeline

    snap = _snapshot(as_of, known_at, views=views)
    title = f"Ending by {months} months after {snap.as_of} with no decision"
    _emit(pipeline(snap, snap.as_of, months), fmt, output, title, table_rows(limit, every))


@app.command("flags")
def flags_cmd(
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Red flags across the ledger: one row per agreement and flag, with the reason."""
    from projections.audit import flags

    snap = _snapshot(as_of, known_at, views=views)
    title = f"Red flags as of {snap.as_of}"
    _emit(flags(snap, snap.as_of), fmt, output, title, table_rows(limit, every))


@app.command("audit")
def audit_cmd(
    agreement: Annotated[str, typer.Argument(help="an agreement id")],
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ReportFmtOpt = ReportFmt.markdown,
    output: OutputOpt = None,
) -> None:
    """An agreement's full history (who, when, why; corrections beside what they correct) with
    its terms, continuity, lineage and flags."""
    from projections.audit import AUDIT_SECTIONS, audit, audit_markdown

    snap = _snapshot(as_of, known_at, agreement=agreement)
    report = audit(snap, agreement, snap.as_of)
    _emit_report(report, AUDIT_SECTIONS, audit_markdown, fmt, output)


@app.command("brief")
def brief_cmd(
    lead: Annotated[str | None, typer.Option("--lead", help="a commissioning lead")] = None,
    commissioner: Annotated[
        str | None, typer.Option("--commissioner", help="a commissioner id")
    ] = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ReportFmtOpt = ReportFmt.markdown,
    output: OutputOpt = None,
    views: ViewsReadOpt = None,
) -> None:
    """A handover brief for a lead or organisation: holdings, non-competitive renewals and why,
    limbo, settlements, lineage, corrections, last year's spend by sector and size, decisions
    due in 6 months, red flags."""
    from projections.briefing import SECTIONS, brief, to_markdown

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    snap = brief_from_views(views, day, known, lead=lead, commissioner=commissioner)
    snap = snap or _snapshot(as_of, known_at, lead=lead)
    report = brief(snap, snap.as_of, lead=lead, commissioner=commissioner)
    _emit_report(report, SECTIONS, to_markdown, fmt, output)


def _emit_report(
    report: dict[str, Any],
    sections: dict[str, str],
    markdown: Callable[[dict[str, Any]], str],
    fmt: ReportFmt,
    output: Path | None,
) -> None:
    import polars as pl

    from infra.render.tables import write_csv
    from projections.report import flat, json_ready

    if fmt in (ReportFmt.markdown, ReportFmt.json):
        text = (
            markdown(report)
            if fmt is ReportFmt.markdown
            else orjson.dumps(json_ready(report), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    if fmt is ReportFmt.table:
        for name, title in sections.items():
            emit_frame(report[name], "table", title=f"{title} ({name})")
        return
    if output is None:
        raise InvalidFieldError("--output", f"a path for --format {fmt.value}", missing=True)
    if fmt is ReportFmt.xlsx:
        from infra.render.tables import open_workbook

        with open_workbook(str(output)) as book:  # text stays text: never a formula
            for name in sections:
                flat(report[name]).write_excel(book, worksheet=name[:31], autofit=True)
        return
    output.mkdir(parents=True, exist_ok=True)
    for name in sections:
        df = report[name]
        if fmt is ReportFmt.csv:  # text a spreadsheet would run is neutralised
            write_csv(
                flat(df).with_columns(pl.col(pl.Date).cast(pl.String)), str(output / f"{name}.csv")
            )
        else:
            df.write_parquet(output / f"{name}.parquet")
