"""Lineages: an agreement and its successors, followed through re-procurements, restructures and
provider mergers.

A link runs from the agreement an event is about to the agreements it names: `Reprocured` to its
`successor_agreement_id`; `Restructured` with `merged_into`, `split_into` or `novated` to each of
its `related_agreements`. (Other restructures name related agreements for context only, and do not
link.) Rollovers and extensions keep the same agreement, so they need no link. A lineage is the
set of agreements connected by links in either direction; its id is the id of its earliest
agreement (earliest start, ties by id), so it never changes when later successors join.

Graph walks are small iterative fixed-point joins (a few passes over a few thousand links), not
Python loops over rows.
"""

from __future__ import annotations

import polars as pl

from projections.frame import reprocurements, restructures
from projections.standing import LINKING_CHANGES, Snapshot, timeline_key

MAX_PASSES = 200  # longer chains than this would be a cycle in the data, not history


def links(snap: Snapshot) -> pl.DataFrame:
    """Predecessor -> successor links in force on `as_of`, between agreements both awarded."""
    ev = snap.events
    known = snap.agreements.select("agreement_id")
    reprocured = reprocurements(ev).select(
        pl.col("agreement_id").alias("from_id"),
        pl.col("successor_agreement_id").alias("to_id"),
        pl.when(pl.col("incumbent_retained"))
        .then(pl.lit("reprocured (incumbent retained)"))
        .otherwise(pl.lit("reprocured (incumbent replaced)"))
        .alias("link"),
        "effective_on",
        timeline_key().alias("key"),
    )
    restructured = (
        restructures(ev)
        .filter(pl.col("change").is_in(LINKING_CHANGES))
        .explode("related_agreements")
        .filter(pl.col("related_agreements").is_not_null())
        .select(
            pl.col("agreement_id").alias("from_id"),
            pl.col("related_agreements").alias("to_id"),
            pl.col("change").alias("link"),
            "effective_on",
            timeline_key().alias("key"),
        )
    )
    return (
        pl.concat([reprocured, restructured])
        .collect()
        .join(known, left_on="from_id", right_on="agreement_id", how="semi")
        .join(known, left_on="to_id", right_on="agreement_id", how="semi")
        .filter(pl.col("from_id") != pl.col("to_id"))
        .unique(["from_id", "to_id"], keep="first", maintain_order=True)
    )


def lineage_ids(agreements: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """`agreement_id` -> `lineage_id`: each connected set labelled by its earliest agreement
    (earliest start, ties by id).

    Linked agreements are found in sets by their id's code (`_components`); each set is then
    named after its earliest member; an agreement without links is a lineage of its own."""

    def number(column: str) -> pl.Expr:
        return pl.col(column).to_physical().cast(pl.Int64)

    label = _components(edges.select(number("from_id"), number("to_id")))
    numbered = agreements.select(
        "agreement_id", "start", number("agreement_id").alias("node")
    ).join(label, on="node", how="left")
    earliest = (
        numbered.filter(pl.col("label").is_not_null())
        .group_by("label")
        .agg(
            pl.col("agreement_id")
            .sort_by("start", pl.col("agreement_id").cast(pl.String))
            .first()
            .alias("lineage_id")
        )
    )
    return numbered.join(earliest, on="label", how="left").select(
        "agreement_id", pl.coalesce("lineage_id", "agreement_id").alias("lineage_id")
    )


def _components(pairs: pl.DataFrame) -> pl.DataFrame:
    """The connected sets of a graph given as pairs of integers: (`node`, `label`), nodes of a
    set sharing one label.

    The nodes are numbered 0..n-1 in a column, so that a label is a position and every step
    is a gather: each pass gives every node the smallest label among itself and its
    neighbours, then the label its label has (pointer jumping, so a chain of n closes in
    about log n passes). Labels only fall, so an unchanged sum means nothing changed."""
    a, b = pairs.to_series(0), pairs.to_series(1)
    nodes = pl.concat([a, b]).unique().sort()
    ends = (nodes.search_sorted(a), nodes.search_sorted(b))
    source, target = pl.concat(ends), pl.concat(ends[::-1])
    label = pl.int_range(nodes.len(), eager=True)
    for _ in range(MAX_PASSES):
        before = label.sum()
        seen = (
            pl.DataFrame({"node": source, "label": label.gather(target)})
            .group_by("node")
            .agg(pl.col("label").min())
        )
        lowest = seen.select(pl.min_horizontal("label", label.gather(seen["node"]))).to_series()
        label = label.clone().scatter(seen["node"], lowest)
        label = label.gather(label)
        if label.sum() == before:
            break
    return pl.DataFrame({"node": nodes, "label": label})


def ancestry(edges: pl.DataFrame, agreement_ids: pl.Series) -> pl.DataFrame:
    """Every agreement's predecessors, transitively: (`agreement_id`, `ancestor_id`, `depth`),
    the agreement itself at depth 0."""
    found = pl.DataFrame(
        {"agreement_id": agreement_ids, "ancestor_id": agreement_ids},
        schema={"agreement_id": pl.String, "ancestor_id": pl.String},
    ).with_columns(depth=pl.lit(0, pl.Int32))
    frontier = found
    back = edges.select(pl.col("to_id").alias("ancestor_id"), "from_id")
    for depth in range(1, MAX_PASSES):
        step = (
            frontier.join(back, on="ancestor_id")
            .select("agreement_id", pl.col("from_id").alias("ancestor_id"))
            .unique()
            .join(found, on=["agreement_id", "ancestor_id"], how="anti")
            .with_columns(depth=pl.lit(depth, pl.Int32))
        )
        if step.is_empty():
            break
        found = pl.concat([found, step])
        frontier = step
    return found


def threads(agreements: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """Each agreement's thread since the last competition, inherited through its predecessors.

    An agreement awarded by competition starts a new thread: its renewals are its own, and its
    last competition is its own start. Otherwise it carries on its predecessors' thread: its own
    renewals plus those of the predecessor with the longest run (a merge keeps the longest), the
    latest competition among them, and the earliest start since one (`thread_start`).
    """
    own = agreements.select(
        "agreement_id",
        "competed",
        "start",
        (pl.col("rollovers") + pl.col("extensions")).alias("own_renewals"),
    )
    state = own.select(
        "agreement_id",
        pl.col("own_renewals").alias("renewals"),
        pl.when(pl.col("competed")).then(pl.col("start")).alias("last_competition_start"),
        pl.col("start").alias("thread_start"),
    )
    for _ in range(MAX_PASSES):
        inherited = (
            edges.join(state, left_on="from_id", right_on="agreement_id")
            .group_by("to_id")
            .agg(
                pl.col("renewals").max().alias("p_renewals"),
                pl.col("last_competition_start").max().alias("p_competition"),
                pl.col("thread_start").min().alias("p_start"),
            )
        )
        carried = ~pl.col("competed")
        nxt = own.join(
            inherited, left_on="agreement_id", right_on="to_id", how="left", maintain_order="left"
        ).select(
            "agreement_id",
            (
                pl.col("own_renewals")
                + pl.when(carried).then(pl.col("p_renewals")).otherwise(0).fill_null(0)
            ).alias("renewals"),
            pl.when(carried)
            .then(pl.col("p_competition"))
            .otherwise(pl.col("start"))
            .alias("last_competition_start"),
            pl.when(carried)
            .then(pl.min_horizontal("start", "p_start"))
            .otherwise(pl.col("start"))
            .alias("thread_start"),
        )
        if nxt.equals(state):
            break
        state = nxt
    return state


def canonical_providers(mergers: pl.DataFrame) -> pl.DataFrame:
    """`provider_id` -> `canonical_id`, following `ProviderMerged` (`into`) to the last
    successor, so a provider's tenure carries on under the body it merged into."""
    mapping = mergers.select("provider_id", pl.col("into").alias("canonical_id")).unique(
        "provider_id", keep="last"
    )
    for _ in range(MAX_PASSES):
        nxt = mapping.join(
            mapping.rename({"provider_id": "canonical_id", "canonical_id": "further"}),
            on="canonical_id",
            how="left",
            maintain_order="left",
        ).select("provider_id", pl.coalesce("further", "canonical_id").alias("canonical_id"))
        if nxt.equals(mapping):
            break
        mapping = nxt
    return mapping
