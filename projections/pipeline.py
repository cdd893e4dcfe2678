"""The expiry pipeline: agreements ending soon with nothing decided about them yet.

DESIGN.md: agreements (ended ones excluded) whose end falls between `as_of` and `as_of` + N
months inclusive, with no decision effective after the last term was set. The last term is set
by the award or by the latest rollover or extension; a decision is a `RolledOver`, `Extended`,
`Reprocured`, `Terminated`, `Decommissioned`, `Expired`, or a `Restructured` that merges, splits
or novates (DESIGN.md, Rules in time). Only decisions effective by `as_of` count: one taken later
was not yet taken on that day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from domain.catalogue import DECISION_TYPES
from domain.errors import InvalidFieldError
from projections.families import as_text
from projections.standing import (
    LINKING_CHANGES,
    FrameLike,
    Snapshot,
    add_months,
    days,
    joined,
    timeline_key,
)

COLUMNS = (
    "agreement_id",
    "end",
    "days_left",
    "title",
    "service_category",
    "providers",
    "annual_value",
    "responsible_lead",
    "status",
    "term_set_by",
    "term_set_on",
)


def pipeline(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    months: int = 6,
    known_at: dt.datetime | None = None,
) -> pl.LazyFrame:
    """One row per agreement due a decision within `months` of `as_of`, soonest first."""
    if months < 0:
        raise InvalidFieldError("--months", "a whole number of months, 0 or more", months)
    snap = Snapshot.of(frame, as_of, known_at)
    return as_text(snap.view(f"pipeline:{months}", lambda s: _pipeline(s, months)).lazy())


def _pipeline(snap: Snapshot, months: int) -> pl.DataFrame:
    horizon = add_months(snap.as_of, months)
    due = snap.agreements.filter(
        pl.col("open") & pl.col("end").is_between(snap.as_of, horizon, closed="both")
    )
    restructure = pl.col("type") == "Restructured"
    change = pl.col("change")
    # the decisions about the agreements due only (few, where the ledger's decisions are many)
    decided = (
        snap.events.frame.filter(
            pl.col("type").is_in(list(DECISION_TYPES))
            & (~restructure | change.is_in(LINKING_CHANGES))
            & pl.col("subject_id").is_in(due["agreement_id"].cast(pl.String).implode())
        )
        .group_by(pl.col("subject_id").cast(pl.Categorical).alias("agreement_id"))
        .agg(timeline_key().max().alias("last_decision_key"))
        .collect()
    )
    setters = snap.terms.select(
        "agreement_id",
        pl.col("key").alias("last_term_key"),
        pl.col("type").alias("term_set_by"),
        pl.col("effective_on").alias("term_set_on"),
    )
    return (
        due.join(decided, on="agreement_id", how="left")
        .filter(
            pl.col("last_decision_key").is_null()
            | (pl.col("last_decision_key") <= pl.col("last_term_key"))
        )
        .join(setters, on=["agreement_id", "last_term_key"], how="left")
        .with_columns(
            days_left=days(pl.col("end"), pl.lit(snap.as_of)),
            providers=joined("provider_ids"),
            term_set_by=pl.col("term_set_by").fill_null(pl.col("award_type")),
            term_set_on=pl.col("term_set_on").fill_null(pl.col("awarded_on")),
        )
        .select(COLUMNS)
        .sort("end", "agreement_id")
    )
