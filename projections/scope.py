"""The events a brief (of a lead or a commissioner) or an agreement's audit can need, and no
others: a brief reads its lead's or commissioner's agreements and their lineages, an audit its
agreement's lineage, not the whole ledger.

Why: every figure of a brief is about the agreements a lead holds on the day (and, for the
lineage, continuity and flags, the agreements linked to them) or about organisations and
handovers; the rest of a national ledger only costs time. What is kept is a superset of what any
as-of date or known-at time can reach:
- for a lead: every agreement ever awarded naming the lead, or moved by a handover to the lead
  (or by a handover later corrected, whose recipient may have changed);
- for a commissioner: every agreement whose award or a restructure names it among those who
  commission or pay (its portfolio, `projections.continuity.portfolio`, and the spend attributed
  to it, `projections.spend.attributed`, read nothing else; a handover moves leads, not
  commissioners);
- every agreement with a correction that may rewrite which commissioners it names (a lead,
  like any id an event is about, cannot be corrected: `domain.timeline.FIXED_FIELDS`);
- every agreement linked to those, in either direction, however far (re-procurements; merges,
  splits and novations), whether or not the link was later rescinded or corrected, and by
  what a correction links instead;
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


def commissioner_scope(frame: pl.LazyFrame, commissioner: str) -> pl.LazyFrame:
    """`frame` cut to the events a brief of `commissioner` can need (the module's docstring),
    collected once."""
    names = pl.col("commissioners").list.eval(
        pl.element().struct.field("commissioner_id") == commissioner
    )
    awarded = frame.filter(pl.col("type").is_in(list(AWARD_TYPES)) & names.list.any()).select(
        "subject_id"
    )
    restructured = frame.filter(
        (pl.col("type") == "Restructured")
        & ((pl.col("commissioner_id") == commissioner) | names.list.any().fill_null(False))
    ).select("subject_id")
    seeds = pl.concat([awarded, restructured, _corrected(frame, '"commissioner')]).collect()[
        "subject_id"
    ]
    return agreements_scope(frame, seeds)


def _corrected(frame: pl.LazyFrame, field: str) -> pl.LazyFrame:
    """The agreements of the corrections whose fields mention `field` (the text of a field's
    name, quoted): what they rewrite may put the agreement in scope."""
    return frame.filter(
        (pl.col("type") == "Corrected") & pl.col("fields").str.contains(field, literal=True)
    ).select("subject_id")


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
    # a correction may link an agreement to others than its event said (few corrections)
    fields = pl.col("fields")
    corrected = (
        frame.filter(pl.col("type") == "Corrected")
        .select(
            pl.col("subject_id").alias("a"),
            pl.concat_list(
                fields.str.json_path_match("$.successor_agreement_id"),
                fields.str.json_path_match("$.related_agreements")
                .str.json_decode(pl.List(pl.String))
                .fill_null(pl.lit([], pl.List(pl.String))),
            ).alias("b"),
        )
        .explode("b")
    )
    edges = pl.concat([successors, related, corrected]).drop_nulls().collect()
    both = pl.concat([edges, edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))])
    found = seeds.unique()
    for _ in range(MAX_PASSES):
        reached = both.filter(pl.col("a").is_in(found.implode()))["b"]
        grown = pl.concat([found, reached]).unique()
        if grown.len() == found.len():
            break
        found = grown
    return found
