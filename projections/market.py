"""Market share and concentration per segment and financial year (DESIGN.md definitions).

A segment is a service category x commissioner, or either alone (the other key null); each has
one row per provider with spend in the year. Metrics are expression helpers named after the
metric, so a figure in a view is the formula a reader can check by hand.

The same store gives the same figures, to the last byte, in every run and on any number of
threads: spend and every index are summed in fixed point (`projections.sums`), and the views
round at the edge (`rounded`): money to the penny, shares, CR3,
the effective number and Simpson to 6 places, HHI to 2. The indices are computed from the
unrounded shares, so rounding never moves them.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from projections.families import as_text, codes
from projections.spend import Basis, attributed, fy_label, segment_spend
from projections.standing import FrameLike, Snapshot
from projections.sums import exact_sum, fixed_sum

SEGMENT = ("year", "service_category", "commissioner_id")
MARKET_COLUMNS = (
    "financial_year",
    "service_category",
    "commissioner_id",
    "provider_id",
    "spend",
    "share",
)
CONCENTRATION_COLUMNS = (
    "financial_year",
    "service_category",
    "commissioner_id",
    "providers",
    "spend",
    "hhi",
    "cr3",
    "effective_number",
    "simpson",
)


def spend_as_of(
    frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None = None
) -> tuple[Basis, pl.LazyFrame]:
    """What the views of `as_of` are built from and the spend per year, segment and provider,
    computed once per snapshot: every view reads them several times (and the continuity views
    of the same snapshot share its decoded events)."""
    snap = Snapshot.of(frame, as_of, known_at)
    basis = basis_of(snap)
    return basis, snap.view("segment_spend", lambda s: segment_spend(basis).collect().lazy())


def basis_of(snap: Snapshot) -> Basis:
    """The snapshot's spend basis, computed once for every view that reads it."""
    return snap.view("basis", lambda s: Basis.of(s.events))


# -- metrics -------------------------------------------------------------------------------------
# Each index adds its terms in fixed point (`projections.sums.fixed_sum`): the same shares in
# any order, on any number of threads, give the same last digit.
def hhi(share: pl.Expr) -> pl.Expr:
    """Herfindahl-Hirschman index: sum of squared percentage shares, 0-10,000."""
    return fixed_sum((share * 100) ** 2)


def cr3(share: pl.Expr) -> pl.Expr:
    """Concentration ratio: the top three shares summed, as a fraction. (Sorted, then the first
    three: in a group-by, polars does this faster than `top_k`.)"""
    return fixed_sum(share.sort(descending=True).head(3))


def effective_number(share: pl.Expr) -> pl.Expr:
    """exp(Shannon entropy): how many equal providers would give this spread."""
    return (-fixed_sum(share * share.log())).exp()


def simpson(share: pl.Expr) -> pl.Expr:
    """Simpson diversity: the chance two pounds picked at random went to different providers."""
    return 1 - fixed_sum(share**2)


# the places each figure is shown to (DESIGN.md's definitions, rounded at the edge)
PLACES = {
    "spend": 2,
    "spend_last_year": 2,
    "share": 6,
    "hhi": 2,
    "cr3": 6,
    "effective_number": 6,
    "simpson": 6,
}


def rounded(view: pl.LazyFrame) -> pl.LazyFrame:
    """A view's figures as shown: money to the penny, HHI to 2 places, shares and the other
    indices to 6. Done last, on what users see, so no figure is computed from a rounded one."""
    names = view.collect_schema().names()
    return view.with_columns(pl.col(c).round(n) for c, n in PLACES.items() if c in names)


# -- views ---------------------------------------------------------------------------------------
def segment_levels(
    spend: pl.LazyFrame,
    keys: tuple[str, ...] = ("provider_id",),
    *,
    shares: bool = False,
    summed: bool = False,
) -> pl.LazyFrame:
    """Spend per (year, category, commissioner, *keys) at the three segment levels: category x
    commissioner, category alone (commissioner null), commissioner alone (category null); with
    `shares`, each row's share of its segment (rows without spend dropped first). `summed`
    says `spend` already has one row per (year, category, commissioner, *keys)."""
    both = (
        spend
        if summed
        else spend.group_by("year", "service_category", "commissioner_id", *keys).agg(
            exact_sum(pl.col("spend"))
        )
    )
    both = both.collect().lazy()  # read by all three levels: computed once
    dtypes = both.collect_schema()
    levels = [
        (both, ("year", "service_category", "commissioner_id"), None),
        (both, ("year", "service_category"), "commissioner_id"),
        (both, ("year", "commissioner_id"), "service_category"),
    ]
    columns = ["year", "service_category", "commissioner_id", *keys, "spend"]
    parts = []
    for rows, segment, absent in levels:
        level = (
            rows
            if absent is None
            else rows.group_by(*segment, *keys).agg(exact_sum(pl.col("spend")))
        )
        if absent is not None:
            level = level.with_columns(pl.lit(None, dtypes[absent]).alias(absent))
        if shares:
            level = level.filter(pl.col("spend") > 0).with_columns(
                (pl.col("spend") / exact_sum(pl.col("spend")).over(segment)).alias("share")
            )
        parts.append(level.select(*columns, *(["share"] if shares else [])))
    return pl.concat(parts)


def market_from_spend(spend: pl.LazyFrame) -> pl.LazyFrame:
    """The market view from spend per year, category, commissioner and provider (one row each,
    as `projections.spend.segment_spend` gives it); providers without spend in a segment and
    year have no row. Rows come in no particular order (`in_order` sorts them for people)."""
    return segment_levels(spend, shares=True, summed=True).select(
        fy_label(pl.col("year")), *MARKET_COLUMNS[1:], "year"
    )


def in_order(view: pl.LazyFrame) -> pl.LazyFrame:
    """Year, then segment (category x commissioner first, then each alone), largest first."""
    names = view.collect_schema().names()
    keys = [c for c in ("year", "service_category", "commissioner_id") if c in names]
    by = [*keys, *(["spend"] if "spend" in names else [])]
    rest = [c for c in ("provider_id", "sector", "size_band") if c in names]
    return view.sort([*by, *rest], descending=[c == "spend" for c in [*by, *rest]], nulls_last=True)


def market(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
    *,
    year: int | None = None,
) -> pl.LazyFrame:
    """Spend and share per provider per segment and financial year, as of `as_of` (the terms in
    force then, committed spend included for years still running), as known at `known_at`.
    Columns: financial_year, service_category, commissioner_id, provider_id, spend, share
    (and `year`, the start year, for sorting and charts). With `year` (a start year), that
    financial year's rows only, and only its spend is summed: the same rows as the whole
    view's of that year (a segment and its shares are within one year; sums are exact, so
    fewer pieces add to the same figures), at a fraction of the cost."""
    return rounded(as_text(market_from_spend(_spend(frame, as_of, known_at, year))))


def _spend(
    frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None, year: int | None
) -> pl.LazyFrame:
    """Spend per year, segment and provider (`spend_as_of`), or of one year only."""
    if year is None:
        return spend_as_of(frame, as_of, known_at)[1]
    basis = basis_of(Snapshot.of(frame, as_of, known_at))
    return (
        attributed(basis)
        .filter(pl.col("year") == year)
        .group_by("year", "service_category", "commissioner_id", "provider_id")
        .agg(exact_sum(pl.col("spend")))
    )


def concentration_from_market(view: pl.LazyFrame) -> pl.LazyFrame:
    """Concentration per segment and year from the market view's rows."""
    share = pl.col("share")
    return (
        # grouped by the keys' codes (a categorical's text never enters the hashing)
        view.group_by(
            "year",
            codes("service_category").alias("category_code"),
            codes("commissioner_id").alias("commissioner_code"),
        )
        .agg(
            pl.col("service_category", "commissioner_id").first(),
            pl.len().cast(pl.Int64).alias("providers"),
            exact_sum(pl.col("spend")),
            hhi(share).alias("hhi"),
            cr3(share).alias("cr3"),
            effective_number(share).alias("effective_number"),
            simpson(share).alias("simpson"),
        )
        .select(fy_label(pl.col("year")), *CONCENTRATION_COLUMNS[1:], "year")
    )


def concentration(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
    *,
    year: int | None = None,
) -> pl.LazyFrame:
    """Per segment and financial year: providers with spend, spend, HHI (0-10,000), CR3 (a
    fraction), effective number of providers (exp Shannon) and Simpson index (with `year`, of
    that financial year only, as `market` gives it)."""
    view = market_from_spend(_spend(frame, as_of, known_at, year))
    return rounded(as_text(concentration_from_market(view)))
