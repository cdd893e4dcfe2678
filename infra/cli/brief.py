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
    AgreementOpt,
    AllOpt,
    AsOfOpt,
    CategoryOpt,
    CommissionerOpt,
    KnownAtOpt,
    LeadOpt,
    LimitOpt,
    app,
    event_frame,
    output_file,
    output_folder,
    parse_as_of,
    parse_known_at,
    require_names,
    snapshot,
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


MonthsOpt = Annotated[int, typer.Option("--months", help="how far ahead, in months")]


def _selected(
    as_of: str | None,
    known_at: str | None,
    *,
    agreement: str | None,
    lead: str | None,
    commissioner: str | None,
    category: str | None,
    views: str | None = None,
    in_force: bool = False,
) -> tuple[Snapshot, pl.Series | None]:
    """The snapshot on the date and the agreements the filters keep (None: no filter); each
    name given must be one the ledger holds. With `--views` and no filter, the projector's
    tables (`infra.cli.from_views`); a filter needs the agreements as they stand, which the
    tables do not keep, so it reads the store's events."""
    from projections.selection import selected

    if views is not None and not any((agreement, lead, commissioner, category)):
        found = snapshot_from_views(views, parse_as_of(as_of), parse_known_at(known_at))
        if found is not None:
            return found, None
    if in_force and known_at is None and not any((agreement, lead, commissioner, category)):
        # the whole ledger as known now: the corrections' effect as the cache keeps it, not
        # worked out again (the same events in force), for views that never read the
        # corrections themselves (the flags do: a rescinded award is one)
        from projections.standing import Snapshot

        return Snapshot.of(event_frame(in_force=True), parse_as_of(as_of)), None
    snap = snapshot(as_of, known_at)
    names = {"agreement": agreement, "lead": lead, "commissioner": commissioner}
    require_names(snap, **names, category=category)
    return snap, selected(snap, **names, category=category)


def _months(months: int) -> int:
    if months < 0:
        raise InvalidFieldError("--months", "a number of months, 0 or more", str(months))
    return months


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
    from projections.scope import agreements_scope, lead_scope
    from projections.standing import Snapshot

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    found = snapshot_from_views(views, day, known)  # --views: the projector's tables
    if found is not None:
        return found
    frame = event_frame()
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
    output_file(output)
    where = str(output) if output else None
    emit_frame(df.collect(), fmt.value, output=where, title=title, limit=limit)


@app.command("continuity")
def continuity_cmd(
    agreement: AgreementOpt = None,
    lead: LeadOpt = None,
    commissioner: CommissionerOpt = None,
    category: CategoryOpt = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Every agreement's lineage, incumbent and tenure, non-competitive renewals, limbo days,
    handovers survived and responsible lead (orphans flagged); the filters keep the agreements
    of one lead, commissioner or service category as they stand on the date."""
    from projections.continuity import continuity
    from projections.selection import keep

    snap, ids = _selected(
        as_of,
        known_at,
        agreement=agreement,
        lead=lead,
        commissioner=commissioner,
        category=category,
        views=views,
        in_force=True,
    )
    view = keep(continuity(snap, snap.as_of), ids)
    title = f"Continuity as of {snap.as_of}"
    _emit(view, fmt, output, title, table_rows(limit, every))


@app.command("pipeline")
def pipeline_cmd(
    months: MonthsOpt = 6,
    agreement: AgreementOpt = None,
    lead: LeadOpt = None,
    commissioner: CommissionerOpt = None,
    category: CategoryOpt = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Agreements ending within N months with no decision recorded since their last term; the
    filters keep the agreements of one lead, commissioner or service category."""
    from projections.pipeline import pipeline
    from projections.selection import keep

    months = _months(months)
    snap, ids = _selected(
        as_of,
        known_at,
        agreement=agreement,
        lead=lead,
        commissioner=commissioner,
        category=category,
        views=views,
        in_force=True,
    )
    title = f"Ending by {months} months after {snap.as_of} with no decision"
    view = keep(pipeline(snap, snap.as_of, months), ids)
    _emit(view, fmt, output, title, table_rows(limit, every))


@app.command("flags")
def flags_cmd(
    agreement: AgreementOpt = None,
    lead: LeadOpt = None,
    commissioner: CommissionerOpt = None,
    category: CategoryOpt = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ViewFmtOpt = ViewFmt.table,
    output: OutputOpt = None,
    limit: LimitOpt = None,
    every: AllOpt = False,
    views: ViewsReadOpt = None,
) -> None:
    """Red flags across the ledger: one row per agreement and flag, with the reason; the
    filters keep the agreements of one lead, commissioner or service category."""
    from projections.audit import flags
    from projections.selection import keep

    snap, ids = _selected(
        as_of,
        known_at,
        agreement=agreement,
        lead=lead,
        commissioner=commissioner,
        category=category,
        views=views,
    )
    title = f"Red flags as of {snap.as_of}"
    _emit(keep(flags(snap, snap.as_of), ids), fmt, output, title, table_rows(limit, every))


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

    require_names(event_frame(), parse_known_at(known_at), agreement=agreement)
    snap = _snapshot(as_of, known_at, agreement=agreement)
    report = audit(snap, agreement, snap.as_of)
    _emit_report(report, AUDIT_SECTIONS, audit_markdown, fmt, output)


@app.command("brief")
def brief_cmd(
    lead: Annotated[
        str | None, typer.Option("--lead", help="a commissioning lead ('cledger leads')")
    ] = None,
    commissioner: CommissionerOpt = None,
    months: Annotated[
        int, typer.Option("--months", help="how far ahead decisions due are listed, in months")
    ] = 6,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: ReportFmtOpt = ReportFmt.markdown,
    output: OutputOpt = None,
    views: ViewsReadOpt = None,
) -> None:
    """A handover brief for a lead or organisation: how the portfolio came (each handover with
    when it was recorded), holdings, non-competitive renewals and why, limbo, settlements,
    lineage, corrections, last year's spend by sector and size, decisions due in the next
    months, red flags."""
    from projections.briefing import SECTIONS, brief, to_markdown
    from projections.scope import commissioner_scope, lead_scope
    from projections.standing import Snapshot

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    # the whole frame, not a snapshot cut at --known-at: the brief counts the handovers that
    # were recorded after it (so a reader knows why they are missing)
    source: pl.LazyFrame | Snapshot | None = brief_from_views(
        views, day, known, lead=lead, commissioner=commissioner
    )
    if source is None:
        source = event_frame()
        require_names(Snapshot.of(source, day, known), lead=lead, commissioner=commissioner)
        if lead:  # the lead's (or commissioner's) agreements and their lineages only
            source = lead_scope(source, lead)
        elif commissioner:
            source = commissioner_scope(source, commissioner)
    report = brief(
        source, day, lead=lead, commissioner=commissioner, known_at=known, months=_months(months)
    )
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

    if fmt in (ReportFmt.csv, ReportFmt.parquet) and output is not None:
        output_folder(output)
    elif fmt is not ReportFmt.table:
        output_file(output)
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
