"""The events a lead's brief or an agreement's audit can need, and no others: a brief reads its
lead's agreements and their lineages, an audit its agreement's lineage, not the whole ledger.

Why: every figure of a brief is about the agreements a lead holds on the day (and, for the
lineage, continuity and flags, the agreements linked to them) or about organisations and
handovers; the rest of a national ledger only costs time. What is kept is a superset of what any
as-of date or known-at time can reach:
- every agreement ever awarded naming the lead, or moved by a handover to the lead (or by a
  handover later corrected, whose recipient may have changed);
- every agreement linked to those, in either direction, however far (re-procurements; merges,
  splits and novations), whether or not the link was later rescinded;
- every agreement with a who-pays settlement (the brief lists settlements its lead's
  organisations make on agreements others hold; there are few);
- every event that is not about an agreement: organisations, handovers, corrections and
  rescissions (few; a correction of an event left out changes nothing).
Each agreement's events are kept whole, so each view computes for it what it computes on the
whole ledger (tested: the brief on the scope equals the brief on the whole ledger).
"""

from __future__ import annotations

import polars as pl

from domain.catalogue import AWARD_TYPES, CATALOGUE
from projections.standing import LINKING_CHANGES

MAX_PASSES = 200
AGREEMENT_TYPES = [t.name for t in CATALOGUE.values() if t.subject == "agreement"]


def lead_scope(frame: pl.LazyFrame, lead: str) -> pl.LazyFrame:
    """`frame` cut to the events a brief of `lead` can need (see the module's docstring),
    collected once: the brief's views then read a few thousand rows, not the ledger."""
    awarded = frame.filter(
        pl.col("type").is_in(list(AWARD_TYPES)) & (pl.col("responsible_lead") == lead)
    ).select("subject_id")
    corrected = frame.filter(pl.col("type") == "Corrected").select("target_id")
    moved = (
        frame.filter(pl.col("type") == "HandedOver")
        .filter(
            (pl.col("to_lead") == lead)
            | pl.col("event_id").is_in(corrected.collect()["target_id"].implode())
        )
        .select(pl.col("moved").explode().alias("subject_id"))
    )
    seeds = pl.concat([awarded, moved]).collect()["subject_id"]
    return agreements_scope(frame, seeds)


def agreements_scope(frame: pl.LazyFrame, agreements: pl.Series | list[str]) -> pl.LazyFrame:
    """`frame` cut to the events of `agreements`, of every agreement linked to them, of every
    agreement with a settlement, and every event not about an agreement (the module's
    docstring); collected once."""
    settled = frame.filter(pl.col("type") == "FundingResponsibilityAgreed").select("subject_id")
    seeds = pl.concat(
        [pl.Series("subject_id", agreements, pl.String), settled.collect()["subject_id"]]
    )
    ids = _linked(frame, seeds.drop_nulls().unique())
    keep = pl.col("subject_id").is_in(ids.implode()) | ~pl.col("type").is_in(AGREEMENT_TYPES)
    return frame.filter(keep).collect().lazy()


def _linked(frame: pl.LazyFrame, seeds: pl.Series) -> pl.Series:
    """`seeds` and every agreement connected to them by a lineage link, either way."""
    successors = frame.filter(pl.col("type") == "Reprocured").select(
        pl.col("subject_id").alias("a"), pl.col("successor_agreement_id").alias("b")
    )
    related = (
        frame.filter((pl.col("type") == "Restructured") & pl.col("change").is_in(LINKING_CHANGES))
        .select(pl.col("subject_id").alias("a"), pl.col("related_agreements").alias("b"))
        .explode("b")
    )
    edges = pl.concat([successors, related]).drop_nulls().collect()
    both = pl.concat([edges, edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))])
    found = seeds.unique()
    for _ in range(MAX_PASSES):
        reached = both.filter(pl.col("a").is_in(found.implode()))["b"]
        grown = pl.concat([found, reached]).unique()
        if grown.len() == found.len():
            break
        found = grown
    return found
