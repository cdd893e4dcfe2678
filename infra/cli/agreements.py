"""`cledger agreements` and `cledger history`: the register of agreements and one agreement's
timeline."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.errors import InvalidFieldError, LedgerError
from domain.history import agreement_history
from domain.register import ENDED_STATUSES, STATUSES, build_register
from infra.cli.app import (
    AsOfOpt,
    Fmt,
    FmtOpt,
    KnownAtOpt,
    _ledger,
    app,
    event_frame,
    parse_as_of,
    parse_known_at,
    require_names,
)
from infra.render.tables import emit_rows


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
) -> None:
    """List agreements as of a date, as known at a time (ended ones included unless filtered)."""
    day, known = parse_as_of(as_of), parse_known_at(known_at)
    if status is not None and status not in (*STATUSES, "ended", "open"):
        raise InvalidFieldError(
            "--status", "one of " + ", ".join(STATUSES) + ", ended, open", status
        )
    ledger = _ledger()
    require_names(
        event_frame(), known, commissioner=commissioner, provider=provider, category=category
    )
    entries = build_register(ledger.facts(), as_of=day, known_at=known)
    rows = []
    for e in entries:
        if commissioner and commissioner not in {
            c["commissioner_id"] for c in e.terms.commissioners
        }:
            continue
        if provider and provider not in {p["provider_id"] for p in e.terms.providers}:
            continue
        row = e.row()
        if category and row["service_category"] != category:
            continue
        if status == "ended" and e.status not in ENDED_STATUSES:
            continue
        if status == "open" and e.status in ENDED_STATUSES | {"rescinded"}:
            continue
        if status not in (None, "ended", "open") and e.status != status:
            continue
        rows.append(row)
    emit_rows(rows, fmt.value, title=f"Agreements as of {day}")


@app.command()
def history(
    agreement: Annotated[str, typer.Argument(help="an agreement id")],
    fmt: FmtOpt = Fmt.table,
) -> None:
    """An agreement's full timeline: effective date, recorded time, who, what, why; each
    correction or rescission shown beside what it corrects."""
    ledger = _ledger()
    found = ledger.agreement(agreement)
    if found is None:
        require_names(event_frame(), agreement=agreement)  # names the closest
        raise LedgerError(f"no agreement '{agreement}'; 'cledger agreements' lists them")
    rows = []
    for line in agreement_history(list(found.facts)):
        for depth, item in [(0, line)] + [(1, a) for a in line.amendments]:
            ev = item.fact.event
            rows.append(
                {
                    "event_id": ("  ↳ " if depth else "") + ev.event_id,
                    "type": ev.type,
                    "effective_on": ev.effective_on,
                    "recorded_at": item.fact.recorded_at.isoformat(timespec="seconds"),
                    "recorded_by": ev.recorded_by,
                    "what": item.what,
                    "why": ev.rationale,
                    "source": ev.source,
                }
            )
    emit_rows(rows, fmt.value, title=f"History of {agreement}")
