"""Answering the view commands from the projector's tables (`--views URL`).

As of today and as known now, a view is read from the per-agreement rows (segment views summed
from them when read: `projections.materialised.Materialised`); the brief, which needs a
portfolio's events, reads only the events of the agreements it can concern (those naming the
lead or commissioner, their lineages, those with settlements) and every organisation's.

Anything else is rebuilt from the store's events, and the caller says so: a view as of another
day or as known at a time (the rows are of one day, as known now), rows of another day (no
projector has refreshed them since midnight) or of another version of the views.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson
import polars as pl

from consumers.materialiser import PENDING
from consumers.messages import frame_of
from consumers.views_db import SCHEMA_VERSION, ViewsDB, today
from projections.materialised import Materialised

_OPEN: dict[str, ViewsDB] = {}


def _db(url: str) -> ViewsDB:
    if url not in _OPEN:
        _OPEN[url] = ViewsDB.open(url)
    return _OPEN[url]


@dataclass(frozen=True)
class Refusal:
    """Why the views cannot answer: the caller rebuilds from the events and prints this."""

    reason: str


def usable(url: str, as_of: dt.date, known_at: dt.datetime | None) -> ViewsDB | Refusal:
    """The views database when its rows answer a view as of `as_of`, as known at `known_at`."""
    day = today()
    if known_at is not None:
        return Refusal(f"--known-at {known_at.isoformat()}: the views hold what is known now")
    if as_of != day:
        return Refusal(f"--as-of {as_of} is not today: the views are as of {day}")
    db = _db(url)
    meta = db.meta()
    if not meta:
        return Refusal(f"no projector has written to {db.display} yet")
    if meta.get("schema") != SCHEMA_VERSION:
        return Refusal(f"the views at {db.display} were written by another version of cledger")
    if meta.get(PENDING):
        return Refusal(
            f"the views at {db.display} are being caught up: their rows trail the events "
            "stored with them"
        )
    if meta.get("as_of") != day.isoformat():
        stood = meta.get("as_of") or "no day"
        return Refusal(f"the views at {db.display} are as of {stood}: no projector is running")
    return db


def snapshot(db: ViewsDB, as_of: dt.date) -> Materialised:
    """The rebuild's snapshot, answered from the tables (each read when first needed)."""
    tables = {name: (lambda n=name: db.table(n)) for name in _TABLE_NAMES}
    providers = frame_of(_messages(db.events("WHERE subject = 'provider'")), None)
    return Materialised(tables, providers, as_of)


def brief_frame(db: ViewsDB, *, lead: str | None, commissioner: str | None) -> pl.DataFrame:
    """The events a brief of `lead` or `commissioner` can read: every organisation's and
    handover's, and those of the agreements naming the lead or commissioner, carrying a
    settlement, or in a lineage with one of these."""
    kind, name = ("lead", lead) if lead is not None else ("commissioner", commissioner)
    mark = db.mark
    named = db.query(
        "SELECT DISTINCT agreement_id FROM view_mentions WHERE (kind = "
        f"{mark} AND name = {mark}) OR kind = 'settlement'",
        (kind, name),
    )
    ids = [r[0] for r in named]
    if ids:
        ids = sorted({*ids, *_lineage_mates(db, ids)})
    return frame_of(_messages(db.events_of(ids)), None)


def _lineage_mates(db: ViewsDB, ids: list[str]) -> list[str]:
    return db.lineage_mates(ids)


def _messages(rows: pl.DataFrame) -> list[dict[str, object]]:
    return [orjson.loads(m) for m in rows["message"]]


_TABLE_NAMES = ("spend", "lives", "provider_eras", "continuity", "pipeline", "flags")
