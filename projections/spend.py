"""Spend of every agreement per financial year, attributed to providers and commissioners.

DESIGN.md, "Metric definitions": spend in a year = annual value in force on each day x days active
in that year / days in that year. Everything here is interval arithmetic on explicit frames:
an agreement's life is cut into pieces on which its value, its providers and its commissioners
are constant, each piece is split by financial year, and then multiplied out by shares.

Decisions where DESIGN.md is silent, kept in step with `domain.agreements.AgreementTerms`:
- A termination or decommissioning takes effect on its effective date, so that day is not
  active (as `AgreementTerms.status_on` says): the last active day is the day before. An expiry
  only marks the end of the term, whose end date is inclusive: expired on (or after) the end
  date, the term runs to its end; expired earlier, it stops the day of the expiry. (Writers put
  `Expired` on the end date or the day after; both give the full term.)
- Providers and commissioners change from a restructure's effective date, a settlement's shares
  from its `applies_from`; on any day the latest-dated change wins (ties: the later in the
  timeline). Alliance members joining or leaving share equally, the remainder of the six-place
  split to the first member, as the domain records it; subcontractors get nothing.
- Agreements are attributed to the commissioners and providers they name; a merger of
  organisations does not move spend unless recorded as a restructure or handover.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from domain.values import FIRST_DAY, LAST_DAY
from projections.families import (
    Events,
    Families,
    awards,
    categorical,
    endings,
    term_changes,
    variations,
)
from projections.parties import AFTER_ALL, ORDER, A, commissioner_eras, eras, provider_eras
from projections.sums import exact_sum


def financial_year(day: pl.Expr) -> pl.Expr:
    """The start year of the financial year (1 April to 31 March) containing `day`."""
    return (day.dt.year() - (day.dt.month() < 4).cast(pl.Int32)).cast(pl.Int32)


# every financial year a date the format accepts falls in (domain.values: the first day's year
# began the April before), and a century beyond its last for views that look ahead
_LABELS = {
    y: f"{y}/{(y + 1) % 100:02d}" for y in range(int(FIRST_DAY[:4]) - 1, int(LAST_DAY[:4]) + 101)
}


def fy_label(year: pl.Expr) -> pl.Expr:
    """2014 -> "2014/15"."""
    return year.replace_strict(_LABELS, return_dtype=pl.String).alias("financial_year")


def lives(events: Events) -> pl.LazyFrame:
    """Per agreement: segment, start, and the last active day: the end after rollovers and
    extensions, cut by an ending. A termination or decommissioning stops the service on its
    effective date (the day before is the last); an expiry marks the end of the term, whose
    end date is inclusive, so it never cuts the term short of an end it falls on or after."""
    final_end = term_changes(events).group_by(A).agg(pl.col("new_end").max().alias("final_end"))
    stops = pl.col("effective_on") - pl.duration(days=(pl.col("type") != "Expired").cast(pl.Int64))
    ended = endings(events).group_by(A).agg(stops.min().alias("stops"))
    return (
        awards(events)
        .select(A, "service_category", "start", "end")
        .join(final_end, on=A, how="left")
        .join(ended, on=A, how="left")
        .select(
            A,
            "service_category",
            "start",
            pl.min_horizontal(pl.coalesce("final_end", "end"), "stops").alias("last_day"),
        )
    )


def value_segments(events: Events) -> pl.LazyFrame:
    """The annual value in force from each date: the award's from its start, a rollover's from
    the day after the old end, a variation's from `applies_from`; same date, later in the
    timeline wins (as `AgreementTerms.annual_value_on`). Columns: agreement_id, annual_value,
    value_from, value_to."""
    award_rows = awards(events).select(A, "start", "end", "annual_value", *ORDER)
    changes = term_changes(events).select(A, "new_end", "annual_value", *ORDER)
    valued = changes.filter(pl.col("annual_value").is_not_null()).select(A).unique()
    changes = changes.join(valued, on=A, how="semi").sort("new_end")
    # ends only grow along the timeline, so the old end is the latest earlier new end
    earlier = changes.select(A, pl.col("new_end").alias("old_end"))
    renewals = (
        changes.join_asof(
            earlier,
            left_on="new_end",
            right_on="old_end",
            by=A,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .filter(pl.col("annual_value").is_not_null())
        .join(award_rows.select(A, "end"), on=A)
        .select(
            A,
            (pl.coalesce("old_end", "end") + pl.duration(days=1)).alias("applies_from"),
            "annual_value",
            *ORDER,
        )
    )
    varied = (
        variations(events)
        .filter(pl.col("annual_value").is_not_null())
        .select(A, "applies_from", "annual_value", *ORDER)
    )
    later = pl.concat([renewals, varied])
    first = award_rows.select(A, pl.col("start").alias("applies_from"), "annual_value", *ORDER)
    changed = later.select(A).unique()
    # most agreements keep their awarded value throughout: no ordering needed for them
    single = first.join(changed, on=A, how="anti").select(
        A,
        "annual_value",
        pl.col("applies_from").alias("value_from"),
        pl.lit(AFTER_ALL).alias("value_to"),
    )
    several = eras(pl.concat([first.join(changed, on=A, how="semi"), later]), "applies_from")
    return pl.concat(
        [
            single,
            several.select(
                A,
                "annual_value",
                pl.col("from").alias("value_from"),
                pl.col("to").alias("value_to"),
            ),
        ]
    )


def april_first(year: pl.Expr) -> pl.Expr:
    """The day number (days since 1970-01-01) of 1 April of `year`. From 1 March of year 0:
    365 days a year, plus the leap days of years 1 to `year` (their 29 February all fall
    before April), plus the 31 days of March; less 719,468, the days from 1 March of year 0
    to 1970-01-01. The same day as `pl.date(year, 4, 1)`, which builds a date per row and
    costs three times as much on the millions of agreement-years of a market."""
    y = year.cast(pl.Int64)
    return 365 * y + y // 4 - y // 100 + y // 400 - 719_437


@dataclass(frozen=True)
class Basis:
    """What every spend figure is built from, computed once (each is read several times):
    the events in force, and per agreement its life, value segments and party eras. The
    service category, provider and commissioner ids are categorical here: the spend pieces
    carry and group by them (`attributed`), and a cast of the few rows here is cheaper than
    of the millions of pieces."""

    events: Families
    lives: pl.LazyFrame
    values: pl.LazyFrame
    p_eras: pl.LazyFrame
    c_eras: pl.LazyFrame

    @classmethod
    def of(cls, events: Events | Basis) -> Basis:
        if isinstance(events, Basis):
            return events
        families = Families.of(events)
        parts = pl.collect_all(
            [
                lives(families).with_columns(categorical("service_category")),
                value_segments(families),
                provider_eras(families).with_columns(categorical("provider_id")),
                commissioner_eras(families).with_columns(categorical("commissioner_id")),
            ]
        )
        return cls(families, *(part.lazy() for part in parts))


def attributed(events: Events | Basis) -> pl.LazyFrame:
    """Spend pieces: one row per agreement, financial year, constant stretch of terms,
    commissioner and provider (not yet summed). Columns: agreement_id, service_category, year
    (the start year), commissioner_id, provider_id, spend. The three keys are categorical:
    every market view groups by them, which polars does several times faster on codes than
    on text (`projections.families.as_text` turns them back)."""
    basis = Basis.of(events)
    life, values, p_eras, c_eras = basis.lives, basis.values, basis.p_eras, basis.c_eras
    pieces = _overlap(life.join(values, on=A), ("start", "last_day"), ("value_from", "value_to"))
    # most agreements keep their awarded parties (era 0 throughout): cut only the others
    several = pl.concat(
        [p_eras.filter(pl.col("p_era") > 0).select(A), c_eras.filter(pl.col("c_era") > 0).select(A)]
    ).unique()
    cut = pieces.join(several, on=A, how="semi")
    for eras_, era, lo, hi in (
        (p_eras, "p_era", "p_from", "p_to"),
        (c_eras, "c_era", "c_from", "c_to"),
    ):
        bounds = eras_.join(several, on=A, how="semi").select(A, era, lo, hi).unique([A, era])
        cut = _overlap(cut.join(bounds, on=A), ("lo", "hi"), (lo, hi))
    columns = (A, "service_category", "annual_value", "lo", "hi")
    providers = p_eras.select(A, "p_era", "provider_id", "p_share")
    commissioners = c_eras.select(A, "c_era", "commissioner_id", "c_share")
    # parties first, then years: the joins run on the pieces, not on their years; the uncut
    # agreements' parties all have era 0, so they join on the agreement alone
    whole = (
        pieces.join(several, on=A, how="anti")
        .select(columns)
        .join(providers.drop("p_era"), on=A)
        .join(commissioners.drop("c_era"), on=A)
    )
    cut = (
        cut.select(*columns, "p_era", "c_era")
        .join(providers, on=[A, "p_era"])
        .join(commissioners, on=[A, "c_era"])
        .drop("p_era", "c_era")
    )
    first_fy, last_fy = financial_year(pl.col("lo")), financial_year(pl.col("hi"))
    # day numbers, the year's end exclusive: the year runs from `begins` to `next_begins`
    begins, next_begins = april_first(pl.col("year")), april_first(pl.col("year") + 1)
    first_day, after_last = pl.col("lo").to_physical(), pl.col("hi").to_physical() + 1
    days = pl.min_horizontal(after_last, next_begins) - pl.max_horizontal(first_day, begins)
    return (
        pl.concat([whole, cut])
        .with_columns(pl.int_ranges(first_fy, last_fy + 1, dtype=pl.Int32).alias("year"))
        .explode("year")
        .select(
            A,
            "service_category",
            "year",
            "commissioner_id",
            "provider_id",
            (
                pl.col("annual_value")
                * days
                / (next_begins - begins)
                * pl.col("p_share")
                * pl.col("c_share")
            ).alias("spend"),
        )
    )


def agreement_spend(events: Events | Basis) -> pl.LazyFrame:
    """Spend per agreement, financial year, commissioner and provider."""
    keys = (A, "service_category", "year", "commissioner_id", "provider_id")
    return attributed(events).group_by(keys).agg(exact_sum(pl.col("spend")))


def segment_spend(events: Events | Basis) -> pl.LazyFrame:
    """Spend per financial year, service category, commissioner and provider."""
    keys = ("year", "service_category", "commissioner_id", "provider_id")
    return attributed(events).group_by(keys).agg(exact_sum(pl.col("spend")))


def segment_spend_from(rows: pl.LazyFrame) -> pl.LazyFrame:
    """`segment_spend` from the rows of `agreement_spend` (the streaming projector keeps those,
    per agreement). The same figures to the last bit: each agreement's sum is a whole number of
    millionths of a pound (`exact_sum`), so summing them adds the same whole numbers the
    segment's pieces add."""
    keys = ("year", "service_category", "commissioner_id", "provider_id")
    return rows.group_by(keys).agg(exact_sum(pl.col("spend")))


def _overlap(frame: pl.LazyFrame, a: tuple[str, str], b: tuple[str, str]) -> pl.LazyFrame:
    """Intersect two inclusive date intervals into `lo`..`hi`; drop rows where they miss."""
    return frame.with_columns(
        pl.max_horizontal(a[0], b[0]).alias("lo"), pl.min_horizontal(a[1], b[1]).alias("hi")
    ).filter(pl.col("lo") <= pl.col("hi"))
