"""Continuity: who has held each service, since when, how often renewed without competition,
how long in limbo, and whether anyone answers for it (DESIGN.md, Metric definitions).

One row per agreement awarded by `as_of` (rescinded awards have no row), with its `lineage_id`
(`projections.lineage`). Definitions, so that each figure can be repeated by hand:

- `incumbent_provider_id`: the sole or lead provider on `as_of` (for an alliance, the member with
  the largest share, then the longest-standing), followed through provider mergers to the body it
  merged into.
- `tenure_years`: from the start of the incumbent's first term in the lineage (an award's start,
  or the day a restructure brought it in) to `as_of`, in days / 365.25 to two decimals.
- `non_competitive_renewals`: rollovers and extensions since the last competition, along the
  agreement's thread (`lineage.threads`). A competition is an award by `competitive_tender` or
  `grant_round`; a re-procurement is a competition when its successor is awarded by one.
- `years_since_competition`: from the start of the last competitively awarded term in the thread
  to `as_of` (null when the thread was never competed; `thread_start` says since when).
- `limbo_days`: the days added by each extension of under 365 days (old end + 1 to new end), plus
  `lapsed_days`: the days of its lapse (`projections.standing.standing_status`), from end + 1 to
  `as_of` for a lapsed agreement, or to the day before the lapse stopped: an ending or a
  decision taking effect after the end (the lapse was limbo while it lasted), or the end of
  the grace period. So at most `GRACE_DAYS` (365): an agreement ended without record shows
  the 365 days it was presumed to run on, and no more.
- `handovers_survived`: handovers that moved the agreement, by `as_of`.
- `orphaned`: an agreement not ended on `as_of` (active, not started or lapsed) that nobody
  answers for: no lead recorded, or a commissioner of the agreement was abolished or merged and
  the agreement was neither moved nor handed over since (`orphan_reason` says which). An ended
  agreement, recorded or without record, is never orphaned: nobody need answer for it now.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from projections.families import as_text
from projections.frame import commissioners, providers
from projections.lineage import canonical_providers, lineage_ids, links, threads
from projections.standing import GRACE_DAYS, FrameLike, Snapshot, days, years

COLUMNS = (
    "agreement_id",
    "lineage_id",
    "title",
    "service_category",
    "status",
    "start",
    "end",
    "route",
    "incumbent_provider_id",
    "tenure_start",
    "tenure_years",
    "non_competitive_renewals",
    "last_competition_start",
    "years_since_competition",
    "thread_start",
    "rollovers",
    "extensions",
    "limbo_extensions",
    "limbo_days",
    "lapsed_days",
    "handovers_survived",
    "responsible_lead",
    "orphaned",
    "orphan_reason",
)


def continuity(
    frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None = None
) -> pl.LazyFrame:
    """One row per agreement: lineage, incumbent and tenure, renewals, limbo, responsibility."""
    return as_text(continuity_table(Snapshot.of(frame, as_of, known_at)).lazy())


def continuity_table(snap: Snapshot) -> pl.DataFrame:
    """The continuity rows of the snapshot, agreement ids categorical (for other views)."""
    return snap.view("continuity", _continuity)


def lineage_table(snap: Snapshot) -> pl.DataFrame:
    """`agreement_id` -> `lineage_id` on the snapshot (shared by the views)."""
    return snap.view("lineage", lambda s: lineage_ids(s.agreements, s.view("links", links)))


def _continuity(snap: Snapshot) -> pl.DataFrame:
    day = snap.as_of
    ag = snap.agreements
    edges = snap.view("links", links)
    lineage = lineage_table(snap)
    thread = threads(ag, edges)
    incumbents = _incumbency(snap, lineage)
    limbo = snap.terms.group_by("agreement_id").agg(
        pl.col("limbo").sum().cast(pl.Int64).alias("limbo_extensions"),
        pl.col("days_added").filter(pl.col("limbo")).sum().cast(pl.Int64).alias("limbo_ext_days"),
    )
    # a lapse runs from the day after the end until an ending or a decision takes effect,
    # `as_of` (included) or the grace period's end, whichever comes first
    lapse_to = pl.min_horizontal(
        "ended_on",
        "decided_on",
        pl.col("end") + dt.timedelta(days=GRACE_DAYS + 1),
        pl.lit(day) + dt.timedelta(days=1),
    )
    needed = [c for c in COLUMNS if c in ag.columns]
    # the derived columns are joined to each other first, narrow, and to the agreements' own
    # (text among them) once: each join copies every column it carries
    derived = (
        lineage.join(thread, on="agreement_id", how="left")
        .join(incumbents, on="agreement_id", how="left")
        .join(limbo, on="agreement_id", how="left")
        .join(_orphans(snap), on="agreement_id", how="left")
    )
    return (
        ag.select(*needed, "open", "ended_on", "decided_on")
        .join(derived, on="agreement_id", how="left")
        .with_columns(
            tenure_years=years(pl.lit(day), pl.col("tenure_start")),
            years_since_competition=years(pl.lit(day), pl.col("last_competition_start")),
            non_competitive_renewals=pl.col("renewals"),
            limbo_extensions=pl.col("limbo_extensions").fill_null(0),
            lapsed_days=(days(lapse_to, pl.col("end")) - 1).clip(lower_bound=0),
        )
        .with_columns(
            limbo_days=pl.col("limbo_ext_days").fill_null(0) + pl.col("lapsed_days"),
            orphan_reason=pl.when(pl.col("open")).then(pl.col("orphan_reason")),
        )
        .with_columns(
            orphaned=pl.col("orphan_reason").is_not_null(),
        )
        .select(COLUMNS)
        .sort(pl.col("agreement_id").cast(pl.String))
    )


def _incumbency(snap: Snapshot, lineage: pl.DataFrame) -> pl.DataFrame:
    """The incumbent (mergers followed) and the start of its first term in the lineage."""
    mergers = providers(snap.events).filter(pl.col("merged_into").is_not_null())
    canon = canonical_providers(
        mergers.select("provider_id", pl.col("merged_into").alias("into")).collect()
    )

    def canonical(column: str) -> pl.Expr:
        return pl.coalesce("canonical_id", column)

    spells = (
        snap.members.filter((pl.col("group") == "member") & (pl.col("op") != "remove"))
        .join(canon, on="provider_id", how="left")
        .join(lineage, on="agreement_id")
        .group_by("lineage_id", canonical("provider_id").alias("incumbent_provider_id"))
        .agg(pl.col("since").min().alias("tenure_start"))
    )
    return (
        snap.agreements.select("agreement_id", "main_provider_id")
        .join(canon, left_on="main_provider_id", right_on="provider_id", how="left")
        .join(lineage, on="agreement_id")
        .select(
            "agreement_id",
            "lineage_id",
            canonical("main_provider_id").alias("incumbent_provider_id"),
        )
        .join(spells, on=["lineage_id", "incumbent_provider_id"], how="left")
        .drop("lineage_id")
    )


def _orphans(snap: Snapshot) -> pl.DataFrame:
    """Why nobody answers for an agreement on `as_of` (null when somebody does)."""
    ended = (
        commissioners(snap.events)
        .filter(pl.col("ended_on").is_not_null())
        .select(
            "commissioner_id",
            pl.col("ended_on").alias("commissioner_ended_on"),
            pl.when(pl.col("merged_into").is_not_null())
            .then(pl.lit("merged"))
            .otherwise(pl.lit("abolished"))
            .alias("how"),
        )
    )
    adrift = (
        snap.agreements.select(
            "agreement_id",
            "commissioners_set_on",
            "last_handover_on",
            pl.col("commissioner_ids").alias("commissioner_id"),
        )
        .explode("commissioner_id")
        .lazy()
        .join(ended, on="commissioner_id")
        .filter(
            (pl.col("commissioners_set_on") < pl.col("commissioner_ended_on"))
            & (
                pl.col("last_handover_on").is_null()
                | (pl.col("last_handover_on") < pl.col("commissioner_ended_on"))
            )
        )
        .sort("commissioner_ended_on")
        .group_by("agreement_id")
        .agg(
            pl.format(
                "commissioner {} {} on {}; the agreement was not moved or handed over since",
                "commissioner_id",
                "how",
                "commissioner_ended_on",
            )
            .last()
            .alias("adrift")
        )
        .collect()
    )
    return (
        snap.agreements.select("agreement_id", "responsible_lead")
        .join(adrift, on="agreement_id", how="left")
        .select(
            "agreement_id",
            pl.when(pl.col("responsible_lead").is_null())
            .then(pl.lit("no responsible lead recorded"))
            .otherwise(pl.col("adrift"))
            .alias("orphan_reason"),
        )
    )


def portfolio(snap: Snapshot, *, lead: str | None, commissioner: str | None) -> pl.DataFrame:
    """Every agreement a lead answers for, or a commissioner commissions, on `as_of`, whatever
    its status, in agreement-id order: the brief splits it into what is held (in force), what
    has lapsed, and what ended."""
    ag = as_text(snap.agreements.lazy())
    if lead is not None:
        return ag.filter(pl.col("responsible_lead") == lead).sort("agreement_id").collect()
    mine = ag.filter(pl.col("commissioner_ids").list.contains(pl.lit(commissioner)))
    return mine.sort("agreement_id").collect()
