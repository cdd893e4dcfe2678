"""`cledger agreements`, `cledger history` and `cledger stats`: the register of agreements, one
agreement's timeline, and the events by type.

All three read the event frame (its Parquet cache, brought up to date from the log), not the
aggregates: a whole-ledger list folded from every agreement's events in Python takes minutes at
England scale, the frame answers in bulk.
"""

from __future__ import annotations

from typing import Annotated

import typer

from domain.errors import InvalidFieldError, LedgerError
from domain.register import STATUSES
from infra.cli.app import (
    AllOpt,
    AsOfOpt,
    Fmt,
    FmtOpt,
    KnownAtOpt,
    LimitOpt,
    app,
    event_frame,
    parse_as_of,
    parse_known_at,
    require_names,
    table_rows,
)
from infra.render.tables import emit_frame, emit_rows


@app.command()
def agreements(
    commissioner: Annotated[str | None, typer.Option(help="commissioner id")] = None,
    provider: Annotated[str | None, typer.Option(help="provider id")] = None,
    category: Annotated[
        str | None, typer.Option("--category", "--service-category", help="service category slug")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="one of " + ", ".join(STATUSES) + ", or 'ended' or 'open'")
    ] = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: FmtOpt = Fmt.table,
    limit: LimitOpt = None,
    every: AllOpt = False,
) -> None:
    """List agreements as of a date, as known at a time (ended ones included unless filtered)."""
    from projections.register import agreements_list
    from projections.standing import Snapshot

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    if status is not None and status not in (*STATUSES, "ended", "open"):
        raise InvalidFieldError(
            "--status", "one of " + ", ".join(STATUSES) + ", ended, open", status
        )
    snap = Snapshot.of(event_frame(), day, known)
    require_names(snap, commissioner=commissioner, provider=provider, category=category)
    rows = agreements_list(
        snap, commissioner=commissioner, provider=provider, category=category, status=status
    ).collect()
    title = f"Agreements as of {day}"
    emit_frame(rows, fmt.value, title=title, limit=table_rows(limit, every))


@app.command()
def history(
    agreement: Annotated[str, typer.Argument(help="an agreement id")],
    fmt: FmtOpt = Fmt.table,
) -> None:
    """An agreement's full timeline in recorded order: effective date, recorded time, who,
    what, why, source; each correction or rescission shown beside what it corrects; the
    handovers that moved it (by name or with its lead's whole portfolio) included."""
    from projections.history import HISTORY_COLUMNS, history_rows

    frame = event_frame()
    rows = history_rows(frame, agreement)
    if not any(r["type"].endswith("Awarded") for r in rows):
        require_names(frame, agreement=agreement)  # names the closest
        raise LedgerError(f"no agreement '{agreement}'; 'cledger agreements' lists them")
    emit_rows(rows, fmt.value, title=f"History of {agreement}", columns=HISTORY_COLUMNS)


@app.command()
def stats(fmt: FmtOpt = Fmt.table) -> None:
    """Events in the ledger by type."""
    import polars as pl

    from domain.catalogue import CATALOGUE

    counts = dict(event_frame().group_by("type").len().collect().iter_rows())
    rows = [{"type": t, "events": counts[t]} for t in CATALOGUE if t in counts]
    rows.append({"type": "total", "events": sum(counts.values())})
    emit_frame(
        pl.DataFrame(rows, schema={"type": pl.String, "events": pl.Int64}),
        fmt.value,
        title="Events by type",
    )
