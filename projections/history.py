"""An agreement's history from the event frame: every event that concerns it, in recorded
order, each correction or rescission under what it corrects.

Why from the frame: besides the agreement's own events, its history holds the handovers that
moved it (naming it, or its lead's whole portfolio resolved when recorded), which live on the
leads' portfolios, not on the agreement; the frame has both, with their recorded times. The
rows are few, so they are described in Python with the domain's own words
(`domain.history`).
"""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl

from domain.catalogue import CORRECTION_TYPES, LedgerEvent
from domain.history import agreement_history
from domain.timeline import Fact

HISTORY_COLUMNS = (
    "event_id",
    "type",
    "effective_on",
    "recorded_at",
    "recorded_by",
    "what",
    "why",
    "source",
)
_READ = (
    "notification_id",
    "type",
    "event_id",
    "effective_on",
    "recorded_at",
    "recorded_by",
    "rationale",
    "source",
    "data",
)


def concerning(frame: pl.LazyFrame, agreement_id: str) -> pl.DataFrame:
    """The stored events that concern an agreement: its own (corrections of them included),
    the handovers that moved it, and the corrections and rescissions of those handovers."""
    own = frame.filter(pl.col("subject_id") == agreement_id).select(_READ)
    moved = (
        frame.filter(pl.col("type") == "HandedOver")
        .filter(pl.col("moved").list.contains(agreement_id))
        .select(_READ)
        .collect()
    )
    about = (
        frame.filter(
            pl.col("type").is_in(list(CORRECTION_TYPES))
            & pl.col("target_id").is_in(moved["event_id"].implode())
        ).select(_READ)
        if moved.height
        else None
    )
    parts = [own, moved.lazy()] + ([about] if about is not None else [])
    return pl.concat(parts).unique("notification_id").sort("notification_id").collect()


def history_rows(frame: pl.LazyFrame, agreement_id: str) -> list[dict[str, Any]]:
    """The history's rows (`HISTORY_COLUMNS`); a nested correction's id is marked `  ↳ `.
    Empty when the ledger holds nothing about the agreement."""
    events = concerning(frame, agreement_id)
    facts = [
        Fact(
            r["notification_id"],
            LedgerEvent(
                r["event_id"],
                r["type"],
                r["effective_on"].isoformat(),
                r["recorded_by"],
                r["rationale"],
                r["source"],
                orjson.loads(r["data"]),
            ),
            r["recorded_at"],
        )
        for r in events.iter_rows(named=True)
    ]
    rows = []
    for line in agreement_history(facts):
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
    return rows
