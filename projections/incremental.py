"""Market views kept up to date event by event: only the agreements and segments touched.

Why: the streaming projector receives events one batch at a time; rebuilding every view for
each batch would redo the whole ledger. An agreement's spend depends only on its own events
(corrections reach it through their target's subject), so a batch changes the spend of the
agreements it names; those agreements' rows are recomputed from their events, and only the
segments (year x category x commissioner, and each alone) that held or now hold their spend
are summed and shared again. `update(rebuild(prefix), suffix) == rebuild(prefix + suffix)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import polars as pl

from domain.catalogue import AWARD_TYPES
from projections.frame import events_as_of
from projections.market import concentration_from_market, market_from_spend
from projections.spend import agreement_spend, strings

LEVELS = (
    ("year", "service_category", "commissioner_id"),
    ("year", "service_category"),
    ("year", "commissioner_id"),
)
SEGMENT = LEVELS[0]


@dataclass(frozen=True)
class MarketState:
    """The market views as of `as_of` over `frame`, with the per-agreement spend behind them."""

    as_of: dt.date
    frame: pl.DataFrame  # every event seen, in the event-frame schema
    spend: pl.DataFrame  # agreement_id, service_category, year, commissioner_id, provider_id
    market: pl.DataFrame
    concentration: pl.DataFrame


def _spend(frame: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    return agreement_spend(events_as_of(frame.lazy(), as_of).collect().lazy()).collect()


def _by_segment(spend: pl.DataFrame) -> pl.LazyFrame:
    keys = ("year", "service_category", "commissioner_id", "provider_id")
    return spend.lazy().group_by(keys).agg(pl.col("spend").sum())


def rebuild(frame: pl.DataFrame, as_of: dt.date) -> MarketState:
    """Every view from scratch."""
    spend = _spend(frame, as_of)
    view = market_from_spend(_by_segment(spend))
    return MarketState(
        as_of,
        frame,
        spend,
        strings(view).collect(),
        strings(concentration_from_market(view)).collect(),
    )


def affected_agreements(frame: pl.DataFrame, new: pl.DataFrame) -> pl.Series:
    """Agreements whose spend a batch may change: those its events are about (a correction's
    subject is the subject of the event it names)."""
    agreements = frame.filter(pl.col("type").is_in(list(AWARD_TYPES)))["subject_id"]
    subjects = new["subject_id"].drop_nulls().unique()
    return subjects.filter(subjects.is_in(agreements.implode()))


def update(state: MarketState, new: pl.DataFrame) -> MarketState:
    """The views after `new` events (rows of the event frame recorded after `state.frame`)."""
    if new.is_empty():
        return state
    frame = pl.concat([state.frame, new])
    touched = affected_agreements(frame, new).implode()
    mine = pl.col("agreement_id").is_in(touched)
    fresh = _spend(frame.filter(pl.col("subject_id").is_in(touched)), state.as_of)
    segments = pl.concat([state.spend.filter(mine), fresh]).select(SEGMENT).unique()
    spend = pl.concat([state.spend.filter(~mine), fresh])
    hit = pl.any_horizontal(_in(spend, segments, keys, level=False) for keys in LEVELS)
    redone = strings(market_from_spend(_by_segment(spend.filter(hit)))).collect()
    view = pl.concat(
        [
            state.market.filter(~pl.any_horizontal(_in(state.market, segments, k) for k in LEVELS)),
            redone.filter(pl.any_horizontal(_in(redone, segments, k) for k in LEVELS)),
        ]
    )
    old = state.concentration
    kept = old.filter(~pl.any_horizontal(_in(old, segments, k) for k in LEVELS))
    changed = view.filter(pl.any_horizontal(_in(view, segments, k) for k in LEVELS))
    return replace(
        state,
        frame=frame,
        spend=spend,
        market=view,
        concentration=pl.concat([kept, concentration_from_market(changed.lazy()).collect()]),
    )


def _in(
    rows: pl.DataFrame, segments: pl.DataFrame, keys: tuple[str, ...], *, level: bool = True
) -> pl.Series:
    """Which rows fall in a touched segment at the level of `keys`; for view rows (`level`),
    only rows of that level (the other key null)."""
    others = [k for k in SEGMENT if k not in keys] if level else []
    at = rows.select(pl.all_horizontal(True, *(pl.col(k).is_null() for k in others)))
    hits = (
        segments.lazy().select(keys).pipe(strings).unique().with_columns(pl.lit(True).alias("_hit"))
    )
    joined = (
        rows.lazy()
        .select(keys)
        .pipe(strings)
        .join(hits, on=list(keys), how="left", maintain_order="left")
        .collect()
    )
    return at.to_series() & joined["_hit"].fill_null(False)
