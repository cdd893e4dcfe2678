"""The register of agreements as a view of the event frame: every agreement as of a date, as
known at a time, with its status, term, value in force and responsible lead.

Why from the frame: the same list folded from each agreement's aggregate in Python
(`domain.register.build_register`) replays every event of the ledger, minutes at England scale;
the snapshot (`projections.standing`) already holds each agreement as it stands, computed in
bulk and shared with continuity, the pipeline and the flags. The two agree row for row (tested
on the demo ledger and the golden story); the domain's fold stays the reference.
"""

from __future__ import annotations

import polars as pl

from domain.catalogue import AWARD_TYPES
from domain.register import ENDED_STATUSES
from projections.families import as_text, awards
from projections.frame import in_force
from projections.standing import Snapshot

REGISTER_COLUMNS = (
    "agreement_id",
    "title",
    "kind",
    "service_category",
    "status",
    "start",
    "end",
    "annual_value",
    "route",
    "responsible_lead",
    "source",
)
_FILTERS = ("commissioner_ids", "provider_ids")


def register(snap: Snapshot) -> pl.LazyFrame:
    """One row per agreement known at the snapshot's time: those awarded by its day (ended
    ones included), and those whose award was rescinded (status `rescinded`, value 0), in
    agreement-id order. Beside `REGISTER_COLUMNS`, the current commissioners' and providers'
    ids (`commissioner_ids`, `provider_ids`) for filters."""
    sources = awards(snap.events).select("agreement_id", "source")
    standing = (
        snap.agreements.lazy()
        .join(sources, on="agreement_id", how="left")
        .select(*REGISTER_COLUMNS, *_FILTERS)
    )
    return (
        pl.concat([as_text(standing), _rescinded(snap)], how="diagonal_relaxed")
        .select(*REGISTER_COLUMNS, *_FILTERS)
        .sort("agreement_id")
    )


def _rescinded(snap: Snapshot) -> pl.LazyFrame:
    """Agreements known only by an award that was rescinded (whatever its effective date)."""
    is_award = pl.col("type").is_in(list(AWARD_TYPES))
    known = snap.frame.filter(is_award).select(pl.col("subject_id").alias("agreement_id"))
    standing = in_force(snap.frame).filter(is_award).select(pl.col("subject_id"))
    return known.join(standing, left_on="agreement_id", right_on="subject_id", how="anti").select(
        "agreement_id",
        pl.lit("rescinded").alias("status"),
        pl.lit(0.0).alias("annual_value"),
    )


def status_filter(status: str | None) -> pl.Expr:
    """Rows of one status, or `ended` (terminated, decommissioned, expired) or `open` (neither
    ended nor rescinded); every row when None."""
    if status is None:
        return pl.lit(True)
    column = pl.col("status")
    if status == "ended":
        return column.is_in(sorted(ENDED_STATUSES))
    if status == "open":
        return ~column.is_in([*sorted(ENDED_STATUSES), "rescinded"])
    return column == status


def agreements_list(
    snap: Snapshot,
    *,
    commissioner: str | None = None,
    provider: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> pl.LazyFrame:
    """The register filtered as `cledger agreements` asks: current commissioner, current
    provider (subcontractors included), service category, status."""
    rows = register(snap).filter(status_filter(status))
    if commissioner is not None:
        rows = rows.filter(pl.col("commissioner_ids").list.contains(commissioner))
    if provider is not None:
        rows = rows.filter(pl.col("provider_ids").list.contains(provider))
    if category is not None:
        rows = rows.filter(pl.col("service_category") == category)
    return rows.select(REGISTER_COLUMNS)
