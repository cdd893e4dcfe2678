"""Who delivers and who pays, from when: an agreement's provider and commissioner eras.

Why a module: attribution follows the domain's fold of restructures (`domain.agreements`)
exactly, but only agreements that were restructured or settled need the fold; every other
agreement has one era, straight from its award, so the fold runs on few rows.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from projections.families import (
    Events,
    award_commissioners,
    award_providers,
    codes,
    restructures,
    settlements,
)

BEFORE_ALL = dt.date(1900, 1, 1)
AFTER_ALL = dt.date(9999, 12, 31)
ORDER = ("effective_on", "notification_id")  # timeline order: effective date, then recorded
A = "agreement_id"
MICRO = 1_000_000


def eras(rows: pl.LazyFrame, date: str) -> pl.LazyFrame:
    """Rows of an agreement that each apply from `date` until the next one: adds `from` and
    `to` (inclusive), keeping the last in timeline order among rows of the same date."""
    same_agreement = pl.col(A).shift(-1) == pl.col(A)
    superseded = same_agreement & (pl.col(date).shift(-1) == pl.col(date))
    return (
        rows.sort(codes(A), date, *ORDER)
        .filter(~superseded.fill_null(False))
        .with_columns(
            pl.col(date).alias("from"),
            pl.when(pl.col(A).shift(-1) == pl.col(A))
            .then(pl.col(date).shift(-1) - pl.duration(days=1))
            .otherwise(pl.lit(AFTER_ALL))
            .alias("to"),
        )
    )


def commissioner_eras(events: Events) -> pl.LazyFrame:
    """Who pays what share from when: the award's commissioners, replaced by a restructure's
    (a new list or `moved_commissioner`) from its effective date and by a settlement from its
    `applies_from`. One row per era and commissioner: `c_era`, `c_from`, `c_to`,
    `commissioner_id`, `c_share`."""
    awarded = award_commissioners(events)
    moved = pl.concat_list(pl.struct(pl.col("commissioner_id"), pl.lit(1.0).alias("share")))
    restructured = (
        restructures(events)
        .filter(pl.col("commissioners").is_not_null() | (pl.col("change") == "moved_commissioner"))
        .with_columns(
            pl.when(pl.col("commissioners").is_not_null())
            .then(pl.col("commissioners"))
            .otherwise(moved)
            .alias("commissioners"),
            pl.col("effective_on").alias("applies"),
        )
    )
    settled = settlements(events).with_columns(pl.col("applies_from").alias("applies"))
    cols = (A, "applies", "commissioners", *ORDER)
    changes = pl.concat([restructured.select(cols), settled.select(cols)])
    changed = changes.select(A).unique()
    single = awarded.join(changed, on=A, how="anti").select(
        A,
        pl.lit(0, pl.Int64).alias("c_era"),
        pl.lit(BEFORE_ALL).alias("c_from"),
        pl.lit(AFTER_ALL).alias("c_to"),
        "commissioner_id",
        pl.col("share").alias("c_share"),
    )
    first = (
        awarded.join(changed, on=A, how="semi")
        .group_by(A, *ORDER)
        .agg(pl.struct("commissioner_id", "share").alias("commissioners"))
        .with_columns(pl.lit(BEFORE_ALL).alias("applies"))
    )
    folded = (
        eras(pl.concat([first.select(cols), changes]), "applies")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(A).alias("c_era"))
        .explode("commissioners")
        .select(
            A,
            "c_era",
            pl.col("from").alias("c_from"),
            pl.col("to").alias("c_to"),
            pl.col("commissioners").struct.field("commissioner_id"),
            pl.col("commissioners").struct.field("share").alias("c_share"),
        )
    )
    return pl.concat([single, folded])


def provider_eras(events: Events) -> pl.LazyFrame:
    """Who delivers what share from when, folding membership changes in timeline order: the
    award's providers; a restructure's new list or a novation replaces them; a member joining
    or leaving makes an equal split among the members then (the remainder of the six-place
    split to the first, as `domain.values.equal_shares`). Subcontractors hold no share.
    One row per era and provider: `p_era`, `p_from`, `p_to`, `provider_id`, `p_share`."""
    change, given = pl.col("change"), pl.col("providers").is_not_null()
    awarded = award_providers(events).filter(pl.col("role") != "subcontractor")
    changed = restructures(events).filter(
        given | change.is_in(["novated", "member_joined", "member_left"])
    )
    touched = changed.select(A).unique()
    single = awarded.join(touched, on=A, how="anti").select(
        A,
        pl.lit(0, pl.Int64).alias("p_era"),
        pl.lit(BEFORE_ALL).alias("p_from"),
        pl.lit(AFTER_ALL).alias("p_to"),
        "provider_id",
        pl.col("share").alias("p_share"),
    )
    awarded = awarded.join(touched, on=A, how="semi")
    return pl.concat([single, _folded_providers(awarded, changed)])


def _folded_providers(awarded: pl.LazyFrame, changed: pl.LazyFrame) -> pl.LazyFrame:
    """The membership fold for restructured agreements (see `provider_eras`)."""
    change, given = pl.col("change"), pl.col("providers").is_not_null()
    op = pl.when(given | (change == "novated")).then(pl.lit("reset")).otherwise(change)
    ops = (
        pl.concat(
            [
                awarded.select(A, "event_id", *ORDER)
                .unique("event_id")
                .with_columns(
                    pl.lit(BEFORE_ALL).alias("applies"),
                    pl.lit("reset").alias("op"),
                    pl.lit(None, pl.String).alias("provider_id"),
                ),
                changed.select(
                    A,
                    "event_id",
                    *ORDER,
                    pl.col("effective_on").alias("applies"),
                    op.alias("op"),
                    "provider_id",
                ),
            ]
        )
        .sort(codes(A), *ORDER)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(A).alias("k"))
        .with_columns(
            # the first reset after each op ends every membership that began before it
            pl.when(pl.col("op") == "reset")
            .then("k")
            .shift(-1)
            .backward_fill()
            .over(A)
            .alias("next_reset"),
            (pl.col("applies").shift(-1).over(A) - pl.duration(days=1))
            .fill_null(AFTER_ALL)
            .alias("p_to"),
        )
    )
    listed = (
        changed.filter(given)
        .with_columns(pl.int_ranges(pl.col("providers").list.len()).alias("position"))
        .explode("providers", "position")
        .filter(pl.col("providers").struct.field("role") != "subcontractor")
        .select(
            "event_id",
            pl.col("providers").struct.field("provider_id"),
            pl.col("providers").struct.field("share"),
            pl.col("position").cast(pl.Int64),
        )
    )
    single = changed.filter(~given & change.is_in(["novated", "member_joined"])).select(
        "event_id",
        "provider_id",
        pl.when(change == "novated").then(1.0).otherwise(None).alias("share"),
        pl.lit(0, pl.Int64).alias("position"),
    )
    added = pl.concat(
        [
            awarded.select("event_id", "provider_id", "share", pl.col("position").cast(pl.Int64)),
            listed,
            single,
        ]
    ).join(ops.select(A, "event_id", pl.col("k").alias("k_add"), "next_reset"), on="event_id")
    left = (
        added.join(
            ops.filter(pl.col("op") == "member_left").select(A, "provider_id", "k"),
            on=[A, "provider_id"],
        )
        .filter(pl.col("k") > pl.col("k_add"))
        .group_by(A, "provider_id", "k_add")
        .agg(pl.col("k").min().alias("k_left"))
    )
    memberships = added.join(left, on=[A, "provider_id", "k_add"], how="left").with_columns(
        pl.min_horizontal("next_reset", "k_left").fill_null(1 << 30).alias("k_end")
    )
    return _members(ops, memberships)


def _members(ops: pl.LazyFrame, memberships: pl.LazyFrame) -> pl.LazyFrame:
    """Each era's members and shares: as listed after a reset, equal after a join or leave."""
    eras = ops.filter(pl.col("applies") <= pl.col("p_to")).select(
        A, pl.col("k").alias("p_era"), pl.col("applies").alias("p_from"), "p_to", "op"
    )
    members = (
        eras.join(memberships, on=A)
        .filter((pl.col("k_add") <= pl.col("p_era")) & (pl.col("p_era") < pl.col("k_end")))
        .sort(codes(A), "p_era", "k_add", "position")
    )
    n = pl.len().over(A, "p_era")
    base = pl.lit(MICRO) // n
    first = pl.int_range(pl.len()).over(A, "p_era") == 0
    equal = pl.when(first).then(pl.lit(MICRO) - base * (n - 1)).otherwise(base) / MICRO
    return members.select(
        A,
        "p_era",
        "p_from",
        "p_to",
        "provider_id",
        pl.when(pl.col("op") == "reset").then(pl.col("share")).otherwise(equal).alias("p_share"),
    )
