"""Diversity of the provider market: sector and size mix, entry and exit, small charities at risk.

Why: councils must keep a diverse, sustainable market (Care Act 2014, s.5), and the research
warns that small third-sector providers are lost while large ones come to dominate; these views
show it year by year from the same spend as the market view.

Decisions where DESIGN.md is silent:
- A year's spend is classed by the provider's sector and size band as they stood at the end of
  that financial year (or on `as_of`, if earlier), so a reclassification does not rewrite the
  past; a provider with no registration in force is `unknown`.
- Entrants and exits count providers by their first and last year with spend in the segment,
  committed spend of later years included (an exit in a future year is one the terms in force
  already imply).
- At risk: a third-sector provider of size `micro` or `small` (as of `as_of`) whose spend in
  the financial year of `as_of` is below the year before, holding exactly one agreement active
  on `as_of`, which ends (last active day) within the next 12 months.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from projections.families import Events, as_text, provider_history, providers
from projections.market import market, rounded, segment_levels, spend_as_of
from projections.spend import Basis, fy_label
from projections.sums import exact_sum

SMALL = ("micro", "small")
MIX_COLUMNS = (
    "financial_year",
    "service_category",
    "commissioner_id",
    "sector",
    "size_band",
    "spend",
    "share",
)
ENTRY_COLUMNS = (
    "financial_year",
    "service_category",
    "commissioner_id",
    "providers",
    "entrants",
    "exits",
)
RISK_COLUMNS = (
    "provider_id",
    "name",
    "sector",
    "size_band",
    "agreement_id",
    "end",
    "spend",
    "spend_last_year",
    "financial_year",
)


def classed(spend: pl.LazyFrame, events: Events | Basis, as_of: dt.date) -> pl.LazyFrame:
    """Spend rows with the provider's sector and size band at the end of each year (or on
    `as_of`, if earlier), by `join_asof` on the provider's classification history. Each
    provider and year is classed once and joined to its spend rows: there are millions of
    those and a few thousand providers."""
    events = events.events if isinstance(events, Basis) else events
    on = pl.min_horizontal(pl.date(pl.col("year") + 1, 3, 31), pl.lit(as_of)).alias("classed_on")
    classes = (
        spend.select("provider_id", "year")
        .unique()
        .with_columns(on)
        .sort("classed_on")
        .join_asof(
            provider_history(events)
            .with_columns(pl.col("provider_id").cast(spend.collect_schema()["provider_id"]))
            .sort("effective_on"),
            left_on="classed_on",
            right_on="effective_on",
            by="provider_id",
            check_sortedness=False,
        )
        .select(
            "provider_id",
            "year",
            pl.col("sector", "size_band").fill_null("unknown").cast(pl.Categorical),
        )
    )
    return spend.join(classes, on=["provider_id", "year"], how="left")


def mix_from_classed(spend: pl.LazyFrame) -> pl.LazyFrame:
    """Sector and size-band shares per segment and year from classed spend (see `mix`)."""
    parts = [
        segment_levels(spend, (key,), shares=True)
        .with_columns(pl.lit(None, pl.Categorical).alias(other))
        .select("year", *MIX_COLUMNS[1:])
        for key, other in (("sector", "size_band"), ("size_band", "sector"))
    ]
    return pl.concat(parts).select(fy_label(pl.col("year")), *MIX_COLUMNS[1:], "year")


def mix(frame: pl.LazyFrame, as_of: dt.date, known_at: dt.datetime | None = None) -> pl.LazyFrame:
    """Spend share by sector and by size band per segment and year: a row with `sector` set
    (size_band null), or with `size_band` set (sector null). Columns: financial_year,
    service_category, commissioner_id, sector, size_band, spend, share, year."""
    basis, spend = spend_as_of(frame, as_of, known_at)
    return rounded(as_text(mix_from_classed(classed(spend, basis, as_of))))


def entry_exit_from_market(
    view: pl.LazyFrame, providers: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """Providers, entrants and exits per segment and year from the market view's rows: the
    whole view (the spans of the one-key segments are rolled up from its finest rows).
    `providers`, when given, is the count per segment and year already made (the
    concentration view's `providers`), so the view's rows need not be counted again."""
    segment = ["service_category", "commissioner_id"]
    dtypes = view.collect_schema()
    # each provider's first and last year in each category x commissioner; in a category (or
    # with a commissioner) alone, the earliest and latest of those (spend is never negative, so
    # a provider has spend in a segment alone exactly when it has some in one of its parts)
    finest = (
        view.filter(
            pl.col("service_category").is_not_null() & pl.col("commissioner_id").is_not_null()
        )
        .group_by(*segment, "provider_id")
        .agg(pl.col("year").min().alias("first"), pl.col("year").max().alias("last"))
        .collect()
        .lazy()
    )
    spans = pl.concat(
        [
            finest,
            *(
                finest.group_by(key, "provider_id")
                .agg(pl.col("first").min(), pl.col("last").max())
                .with_columns(pl.lit(None, dtypes[other]).alias(other))
                .select(*segment, "provider_id", "first", "last")
                for key, other in (segment, segment[::-1])
            ),
        ]
    )
    counted = []
    for edge, name in (("first", "entrants"), ("last", "exits")):
        counted.append(
            spans.group_by(*segment, pl.col(edge).alias("year")).agg(
                pl.len().cast(pl.Int64).alias(name)
            )
        )
    on = ["year", *segment]
    if providers is None:
        providers = view.group_by(on).agg(pl.len().cast(pl.Int64).alias("providers"))
    return (
        providers.select(*on, "providers")
        .join(counted[0], on=on, how="left", nulls_equal=True)
        .join(counted[1], on=on, how="left", nulls_equal=True)
        .with_columns(pl.col("entrants", "exits").fill_null(0))
        .select(fy_label(pl.col("year")), *ENTRY_COLUMNS[1:], "year")
    )


def entry_exit(
    frame: pl.LazyFrame, as_of: dt.date, known_at: dt.datetime | None = None
) -> pl.LazyFrame:
    """Per segment and year: providers with spend, entrants (their first year with spend in the
    segment) and exits (their last). Columns: financial_year, service_category,
    commissioner_id, providers, entrants, exits, year."""
    return as_text(entry_exit_from_market(market(frame, as_of, known_at)))


def at_risk_from(events: Events | Basis, spend: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """Small third-sector providers at risk, from the spend basis and the segment spend."""
    basis = Basis.of(events)
    this_year = as_of.year - (as_of.month < 4)
    by_year = (
        spend.filter(pl.col("year").is_in([this_year - 1, this_year]))
        .group_by("provider_id")
        .agg(
            exact_sum(pl.col("spend").filter(pl.col("year") == this_year)),
            exact_sum(pl.col("spend").filter(pl.col("year") == this_year - 1)).alias(
                "spend_last_year"
            ),
        )
        .with_columns(pl.col("provider_id").cast(pl.String))
    )
    eras = basis.p_eras
    latest = eras.group_by("agreement_id").agg(pl.col("p_era").max())
    current = eras.join(latest, on=["agreement_id", "p_era"]).select(
        "agreement_id", pl.col("provider_id").cast(pl.String)
    )
    held = (
        basis.lives.filter((pl.col("start") <= as_of) & (pl.col("last_day") >= as_of))
        .join(current, on="agreement_id")
        .group_by("provider_id")
        .agg(
            pl.len().alias("agreements"),
            pl.col("agreement_id").first(),
            pl.col("last_day").first().alias("end"),
        )
    )
    events = basis.events
    return (
        providers(events)
        .filter((pl.col("sector") == "third_sector") & pl.col("size_band").is_in(SMALL))
        .join(held.filter(pl.col("agreements") == 1), on="provider_id")
        .join(by_year, on="provider_id")
        .filter(
            (pl.col("spend") < pl.col("spend_last_year"))
            & (pl.col("end") <= _months_later(as_of, 12))
        )
        .with_columns(pl.lit(f"{this_year}/{(this_year + 1) % 100:02d}").alias("financial_year"))
        .select(RISK_COLUMNS)
        .sort("end", "provider_id")
    )


def at_risk(
    frame: pl.LazyFrame, as_of: dt.date, known_at: dt.datetime | None = None
) -> pl.LazyFrame:
    """Small third-sector providers at risk: falling spend, one agreement, ending within a year.
    Columns: provider_id, name, sector, size_band, agreement_id, end, spend, spend_last_year,
    financial_year."""
    basis, spend = spend_as_of(frame, as_of, known_at)
    return rounded(as_text(at_risk_from(basis, spend, as_of)))


def _months_later(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover
