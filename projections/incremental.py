"""Market views kept up to date event by event: only the agreements and segments touched.

Why: the streaming projector receives events one batch at a time; rebuilding every view for
each batch would redo the whole ledger. An agreement's spend depends only on its own events
(corrections reach it through their target's subject), so a batch changes the spend of the
agreements it names; those agreements' rows are recomputed from their events, and only the
segments (year x category x commissioner, and each alone) that held or now hold their spend
are summed and shared again. `update(rebuild(prefix), suffix) == rebuild(prefix + suffix)`.

The agreement views (continuity, the expiry pipeline, the flags) are kept the same way: a
batch reaches the agreements it is about or names (links, handovers), and, through lineages,
every agreement linked to them; only those rows are computed again, from their own events and
the organisations'. A batch of organisation events (a provider merger changes incumbents, an
abolition orphans agreements anywhere) or a correction of a link rebuilds them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import polars as pl

from domain.catalogue import AWARD_TYPES, CATALOGUE, CORRECTION_TYPES
from projections.audit import continuity_views
from projections.families import as_text
from projections.frame import events_as_of
from projections.market import concentration_from_market, market_from_spend, rounded
from projections.spend import agreement_spend
from projections.standing import Snapshot
from projections.sums import exact_sum

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
    return spend.lazy().group_by(keys).agg(exact_sum(pl.col("spend")))


def rebuild(frame: pl.DataFrame, as_of: dt.date) -> MarketState:
    """Every view from scratch."""
    spend = _spend(frame, as_of)
    view = market_from_spend(_by_segment(spend))
    return MarketState(
        as_of,
        frame,
        spend,
        rounded(as_text(view)).collect(),
        rounded(as_text(concentration_from_market(view))).collect(),
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
    redone = as_text(market_from_spend(_by_segment(spend.filter(hit)))).collect()
    # the touched segments' rows, unrounded: their concentration is worked from these
    changed = redone.filter(pl.any_horizontal(_in(redone, segments, k) for k in LEVELS))
    view = pl.concat(
        [
            state.market.filter(~pl.any_horizontal(_in(state.market, segments, k) for k in LEVELS)),
            rounded(changed.lazy()).collect(),
        ]
    )
    old = state.concentration
    kept = old.filter(~pl.any_horizontal(_in(old, segments, k) for k in LEVELS))
    fresh = rounded(concentration_from_market(changed.lazy())).collect()
    return replace(
        state, frame=frame, spend=spend, market=view, concentration=pl.concat([kept, fresh])
    )


def _in(
    rows: pl.DataFrame, segments: pl.DataFrame, keys: tuple[str, ...], *, level: bool = True
) -> pl.Series:
    """Which rows fall in a touched segment at the level of `keys`; for view rows (`level`),
    only rows of that level (the other key null)."""
    others = [k for k in SEGMENT if k not in keys] if level else []
    at = rows.select(pl.all_horizontal(True, *(pl.col(k).is_null() for k in others)))
    hits = (
        segments.lazy().select(keys).pipe(as_text).unique().with_columns(pl.lit(True).alias("_hit"))
    )
    joined = (
        rows.lazy()
        .select(keys)
        .pipe(as_text)
        .join(hits, on=list(keys), how="left", maintain_order="left")
        .collect()
    )
    return at.to_series() & joined["_hit"].fill_null(False)


# -- the agreement views: continuity, the expiry pipeline, the flags -----------------------------
AGREEMENT_VIEWS = ("continuity", "pipeline", "flags")
_LINK_TYPES = ("Reprocured", "Restructured")
_AGREEMENT_TYPES = [t.name for t in CATALOGUE.values() if t.subject == "agreement"]


@dataclass(frozen=True)
class AgreementState:
    """Continuity, the expiry pipeline and the flags as of `as_of` over `frame`, with each
    agreement's lineage (which agreements a change can reach)."""

    as_of: dt.date
    frame: pl.DataFrame
    lineage: pl.DataFrame  # agreement_id, lineage_id
    views: dict[str, pl.DataFrame]


def _agreement_views(
    frame: pl.DataFrame, as_of: dt.date
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    snap = Snapshot.of(frame, as_of)
    views = {name: rows.collect() for name, rows in continuity_views(snap, as_of).items()}
    return views["continuity"].select("agreement_id", "lineage_id"), views


def rebuild_agreements(frame: pl.DataFrame, as_of: dt.date) -> AgreementState:
    """Every agreement view from scratch."""
    lineage, views = _agreement_views(frame, as_of)
    return AgreementState(as_of, frame, lineage, views)


def reach(state: AgreementState, frame: pl.DataFrame, new: pl.DataFrame) -> pl.Series | None:
    """The agreements whose rows a batch may change: those its events are about or name (links
    and handovers), with every agreement of their lineages; None when the batch reaches the
    whole ledger (organisation events: a provider merger or a commissioner's abolition changes
    incumbents and orphans anywhere; a correction of a link: the old lineages are not known)."""
    local = [*_AGREEMENT_TYPES, *CORRECTION_TYPES, "HandedOver"]
    if not new["type"].is_in(local).all():
        return None
    amended = frame.filter(pl.col("event_id").is_in(new["target_id"].drop_nulls().implode()))
    plain = [t for t in _AGREEMENT_TYPES if t not in _LINK_TYPES]
    if not amended["type"].is_in([*plain, "HandedOver"]).all():
        return None
    named = pl.concat(
        [
            new.select(pl.col("subject_id").alias("id")),
            new.select(pl.col("successor_agreement_id").alias("id")),
            new.select(pl.col("related_agreements").alias("id")).explode("id"),
            new.select(pl.col("moved").alias("id")).explode("id"),
            amended.select(pl.col("moved").alias("id")).explode("id"),
        ]
    )["id"].drop_nulls()
    # earlier links to these (a successor named before its award links once it is awarded)
    ids = named.implode()
    linking = frame.filter(
        pl.col("type").is_in(_LINK_TYPES)
        & (
            pl.col("successor_agreement_id").is_in(ids)
            | pl.col("related_agreements").list.eval(pl.element().is_in(ids)).list.any()
        )
    )["subject_id"]
    named = pl.concat([named, linking.drop_nulls()])
    lineages = state.lineage.filter(pl.col("agreement_id").is_in(named.implode()))["lineage_id"]
    within = state.lineage.filter(pl.col("lineage_id").is_in(lineages.implode()))["agreement_id"]
    return pl.concat([named, within]).unique()


def update_agreements(state: AgreementState, new: pl.DataFrame) -> AgreementState:
    """The agreement views after `new` events: only the rows of the agreements the batch can
    reach are computed again, from their own events and the ledger's organisation events."""
    if new.is_empty():
        return state
    frame = pl.concat([state.frame, new])
    touched = reach(state, frame, new)
    if touched is None:
        return rebuild_agreements(frame, state.as_of)
    theirs = pl.col("subject_id").is_in(touched.implode()) | ~pl.col("type").is_in(_AGREEMENT_TYPES)
    lineage, fresh = _agreement_views(frame.filter(theirs), state.as_of)
    mine = pl.col("agreement_id").is_in(touched.implode())
    views = {
        name: pl.concat([state.views[name].filter(~mine), fresh[name].filter(mine)]).sort(
            _ORDERS[name], maintain_order=True
        )
        for name in AGREEMENT_VIEWS
    }
    lineage = pl.concat([state.lineage.filter(~mine), lineage.filter(mine)])
    return AgreementState(state.as_of, frame, lineage, views)


# the order each view gives its rows in (as the full view sorts them)
_ORDERS = {
    "continuity": ["agreement_id"],
    "pipeline": ["end", "agreement_id"],
    "flags": ["agreement_id"],
}
