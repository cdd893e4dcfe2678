"""Agreements as they stand on a date: terms, value in force, parties, status, responsible lead.

Why one module: continuity, the expiry pipeline, the flags, the audit and the brief all start
from "what was this agreement on D, as the ledger knew it". `Snapshot` computes each table once
per (frame, as_of) and the views share it. Everything is a polars query over the event frame's
family decoders; nothing here reads a store.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import polars as pl

from domain.register import GRACE_DAYS as GRACE_DAYS  # re-exported: the views name it from here
from domain.register import LINKING_CHANGES as LINKING_CHANGES  # likewise
from domain.register import OPEN_STATUSES
from projections.families import (
    Events,
    Families,
    agreement_ids,
    award_commissioner_lists,
    codes,
)
from projections.frame import (
    as_known_at,
    award_providers,
    awards,
    effective_by,
    endings,
    handovers,
    in_force,
    reprocurements,
    restructures,
    term_changes,
    variations,
)

FrameLike = pl.DataFrame | pl.LazyFrame
COMPETITIVE_ROUTES = ("competitive_tender", "grant_round")
_ORDER = 2**40  # notification ids stay below this; effective days multiply it
T = TypeVar("T")


def timeline_key() -> pl.Expr:
    """Effective-date order, ties in recorded order (DESIGN.md, Rules in time), as one integer."""
    return pl.col("effective_on").cast(pl.Int64) * _ORDER + pl.col("notification_id")


def previous(column: str, by: str = "agreement_id") -> pl.Expr:
    """The row before's `column` within the same `by`, on rows sorted by `by`: what
    `shift(1).over(by)` gives, without the window's grouping (several times faster)."""
    return pl.when(pl.col(by).shift(1) == pl.col(by)).then(pl.col(column).shift(1))


def days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days()


def years(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Years as days / 365.25, to two decimals: one rule a reader can repeat by hand."""
    return (days(later, earlier).clip(lower_bound=0) / 365.25).round(2)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole calendar months, clamped to the month's last day (31 Aug + 6 = 28 Feb)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def joined(column: str) -> pl.Expr:
    """A list column as one '; '-separated string (tables, CSV and JSON alike)."""
    return pl.col(column).list.join("; ")


@dataclass
class Snapshot:
    """The ledger as known at `known_at` (`frame`, already cut to it) on the day `as_of`.

    `events` are the events in force (corrections applied, rescinded removed) that had taken
    effect by `as_of`, each family decoded once; the other properties are tables derived from
    them, computed once.
    """

    frame: pl.LazyFrame
    as_of: dt.date
    known_at: dt.datetime | None = None
    _views: dict[str, object] = field(default_factory=dict, repr=False)

    def view(self, name: str, compute: Callable[[Snapshot], T]) -> T:
        """A view of this snapshot, computed once (the brief asks several views for the same
        agreements)."""
        if name not in self._views:
            self._views[name] = compute(self)
        return self._views[name]  # type: ignore[return-value]

    @classmethod
    def of(
        cls, frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None = None
    ) -> Snapshot:
        """The snapshot of an event frame as known at `known_at` (all when None) on `as_of`."""
        if isinstance(frame, Snapshot):
            if frame.as_of == as_of and known_at in (None, frame.known_at):
                return frame
            return cls(frame.frame, as_of, known_at or frame.known_at)
        return cls(as_known_at(frame.lazy(), known_at), as_of, known_at)

    @cached_property
    def events(self) -> Families:
        return Families(effective_by(in_force(self.frame), self.as_of))

    @cached_property
    def terms(self) -> pl.DataFrame:
        """Each rollover and extension with the term it set: old end + 1 to new end inclusive.
        (Who recorded it and from what source stay in the events: the sort below would carry
        them for over a million rows at England scale, and no view of the terms shows them.)"""
        award_end = awards(self.events).select("agreement_id", pl.col("end").alias("award_end"))
        columns = ("type", "effective_on", "event_id", "notification_id", "rationale")
        return (
            term_changes(self.events)
            .select("agreement_id", *columns, "new_end", "annual_value")
            .join(award_end, on="agreement_id")
            .with_columns(key=timeline_key())
            .sort(codes("agreement_id"), "key")
            .with_columns(old_end=previous("new_end").fill_null(pl.col("award_end")))
            .with_columns(
                begins=pl.col("old_end") + dt.timedelta(days=1),
                days_added=days(pl.col("new_end"), pl.col("old_end")),
            )
            .with_columns(limbo=(pl.col("type") == "Extended") & (pl.col("days_added") < 365))
            .drop("award_end")
            .collect()
        )

    @cached_property
    def members(self) -> pl.DataFrame:
        """Provider membership changes: one row per provider set, added or removed, with the
        day its spell starts. `group` is `member` (sole, lead, alliance) or `sub`."""
        return _membership(self.events).collect()

    @cached_property
    def agreements(self) -> pl.DataFrame:
        """One row per agreement awarded (and not rescinded) by `as_of`, in no particular
        order."""
        return _agreements(self).collect()


def _membership(events: Events) -> pl.LazyFrame:
    starts = awards(events).select("agreement_id", "start")
    from_awards = (
        award_providers(events)
        .join(starts, on="agreement_id")
        .select(
            "agreement_id",
            "provider_id",
            "role",
            "share",
            "position",
            timeline_key().alias("key"),
            pl.col("start").alias("since"),
            pl.lit("set").alias("op"),
            pl.lit(True).alias("resets_all"),
        )
    )
    rs = (
        restructures(events)
        .join(starts, on="agreement_id")
        .with_columns(key=timeline_key(), since=pl.max_horizontal("effective_on", "start"))
    )
    listed = (
        rs.filter(pl.col("providers").is_not_null())
        .with_columns(position=pl.int_ranges(pl.col("providers").list.len()))
        .explode("providers", "position")
        .select(
            "agreement_id",
            pl.col("providers").struct.field("provider_id"),
            pl.col("providers").struct.field("role"),
            pl.col("providers").struct.field("share"),
            pl.col("position").cast(pl.Int32),
            "key",
            "since",
            pl.lit("set").alias("op"),
            pl.lit(True).alias("resets_all"),
        )
    )
    change = pl.col("change")
    single = rs.filter(pl.col("providers").is_null() & pl.col("provider_id").is_not_null()).select(
        "agreement_id",
        "provider_id",
        pl.when(change.str.starts_with("subcontract"))
        .then(pl.lit("subcontractor"))
        .when(change == "novated")
        .then(pl.lit("sole"))
        .otherwise(pl.lit("alliance_member"))
        .alias("role"),
        pl.lit(None, pl.Float64).alias("share"),
        pl.lit(0, pl.Int32).alias("position"),
        "key",
        "since",
        pl.when(change == "novated")
        .then(pl.lit("set"))
        .when(change.is_in(["member_left", "subcontract_removed"]))
        .then(pl.lit("remove"))
        .otherwise(pl.lit("add"))
        .alias("op"),
        pl.lit(False).alias("resets_all"),
    )
    rows = pl.concat([from_awards, listed, single]).with_columns(
        group=pl.when(pl.col("role") == "subcontractor")
        .then(pl.lit("sub"))
        .otherwise(pl.lit("member"))
    )
    # a listed reset clears both groups, a novation the members only
    reset_all = (
        rows.filter(pl.col("resets_all"))
        .group_by("agreement_id")
        .agg(pl.col("key").max().alias("reset_all"))
    )
    reset_members = rows.filter((pl.col("op") == "set") & (pl.col("group") == "member"))
    reset_members = reset_members.group_by("agreement_id").agg(
        pl.col("key").max().alias("reset_member")
    )
    return (
        rows.join(reset_all, on="agreement_id", how="left")
        .join(reset_members, on="agreement_id", how="left")
        .with_columns(
            current_from=pl.when(pl.col("group") == "member")
            .then(pl.max_horizontal("reset_all", "reset_member"))
            .otherwise(pl.col("reset_all"))
        )
        .drop("reset_all", "reset_member", "resets_all")
    )


def _current_providers(members: pl.DataFrame) -> pl.LazyFrame:
    """Who delivers now: the last reset of each group, and each later add or remove applied."""
    rows = members.lazy().filter(pl.col("key") >= pl.col("current_from"))
    # most agreements have one provider row in force: nothing to order or fold for them
    alone = pl.col("agreement_id").is_unique()
    single = rows.filter(alone & (pl.col("op") != "remove")).select(
        "agreement_id",
        pl.when(pl.col("group") == "member").then(pl.col("provider_id")).alias("main_provider_id"),
        pl.concat_list("provider_id").alias("provider_ids"),
    )
    latest = (
        rows.filter(~alone)
        .sort("key", "position")
        .group_by("agreement_id", "group", "provider_id")
        .agg(pl.all().last())
        .filter(pl.col("op") != "remove")
    )
    main_first = [
        pl.col("group"),  # members before subcontractors
        ~pl.col("role").is_in(["lead", "sole"]),
        -pl.col("share").fill_null(0.0),
        pl.col("key"),
        pl.col("position"),
    ]
    several = (
        latest.sort(main_first)
        .group_by("agreement_id")
        .agg(
            pl.col("provider_id")
            .filter(pl.col("group") == "member")
            .first()
            .alias("main_provider_id"),
            pl.col("provider_id").alias("provider_ids"),
        )
    )
    return pl.concat([single, several])


def _commissioners_now(events: Events) -> pl.LazyFrame:
    """The commissioners listed on `as_of` (the award's, or a restructure's since), in order,
    and since when. Most agreements were never restructured: their award's list stands."""
    listed = award_commissioner_lists(events)
    rs = restructures(events)
    moved = rs.filter(
        pl.col("commissioners").is_not_null()
        | ((pl.col("change") == "moved_commissioner") & pl.col("commissioner_id").is_not_null())
    ).select(
        "agreement_id",
        "notification_id",
        "effective_on",
        pl.coalesce(
            pl.col("commissioners").list.eval(pl.element().struct.field("commissioner_id")),
            pl.concat_list(pl.col("commissioner_id")),
        ).alias("commissioner_id"),
    )
    touched = moved.select("agreement_id").unique()
    latest = (
        pl.concat([listed.join(touched, on="agreement_id", how="semi"), moved])
        .group_by("agreement_id")
        .agg(pl.col("commissioner_id", "effective_on").get(timeline_key().arg_max()))
    )
    return pl.concat(
        [
            listed.join(touched, on="agreement_id", how="anti").select(
                "agreement_id", "commissioner_id", "effective_on"
            ),
            latest,
        ]
    ).select(
        "agreement_id",
        pl.col("commissioner_id").alias("commissioner_ids"),
        pl.col("effective_on").alias("commissioners_set_on"),
    )


def _leads(events: Events) -> pl.LazyFrame:
    """The lead each agreement was last handed to, and how many handovers it went through.

    Few handovers, each moving many agreements: they are numbered in timeline order, and only
    the numbers travel with the agreements they moved (the last is the highest), so the
    millions of (handover, agreement) pairs carry no text but the ids."""
    numbered = (
        handovers(events)
        .sort(timeline_key())
        .select("moved", "to_lead", "effective_on")
        .with_row_index("handover")
    )
    return (
        numbered.select("handover", "moved")
        .explode("moved")
        .filter(pl.col("moved").is_not_null())
        .group_by("moved")
        .agg(pl.col("handover").max(), pl.len().cast(pl.Int64).alias("handovers_survived"))
        .join(numbered.select("handover", "to_lead", "effective_on"), on="handover")
        .select(
            agreement_ids("moved").alias("agreement_id"),
            pl.col("to_lead").alias("handed_to"),
            "handovers_survived",
            pl.col("effective_on").alias("last_handover_on"),
        )
    )


def _value_now(snap: Snapshot) -> pl.LazyFrame:
    """The annual value in force on `as_of`: the change with the latest `applies_from` on or
    before it (ties: the later in the timeline); before the start, the awarded value."""
    ev = snap.events
    aw = awards(ev).select(
        "agreement_id",
        pl.col("start").alias("applies_from"),
        "annual_value",
        timeline_key().alias("key"),
    )
    rolled = (
        snap.terms.lazy()
        .filter(pl.col("annual_value").is_not_null())
        .select("agreement_id", pl.col("begins").alias("applies_from"), "annual_value", "key")
    )
    varied = (
        variations(ev)
        .filter(pl.col("annual_value").is_not_null())
        .select("agreement_id", "applies_from", "annual_value", timeline_key().alias("key"))
    )
    changes = pl.concat([rolled, varied])
    # most agreements keep their awarded value (null here: the caller falls back to it)
    return (
        pl.concat([aw.join(changes, on="agreement_id", how="semi"), changes])
        .filter(pl.col("applies_from") <= snap.as_of)
        .group_by("agreement_id")
        .agg(pl.col("annual_value").sort_by("applies_from", "key").last().alias("value_now"))
    )


def _decisions_since_term(snap: Snapshot, last_term: pl.LazyFrame) -> pl.LazyFrame:
    """Per agreement, the first decision other than an ending after the event that set its
    current end (`last_term_key`): a re-procurement, or a restructure that merges, splits or
    novates (`domain.register.decided_since_last_term`). Such decisions are few."""
    ev = snap.events
    linking = pl.concat(
        [
            reprocurements(ev).select("agreement_id", "effective_on", timeline_key().alias("key")),
            restructures(ev)
            .filter(pl.col("change").is_in(LINKING_CHANGES))
            .select("agreement_id", "effective_on", timeline_key().alias("key")),
        ]
    )
    return (
        linking.join(last_term, on="agreement_id")
        .filter(pl.col("key") > pl.col("last_term_key"))
        .group_by("agreement_id")
        .agg(pl.col("effective_on").get(pl.col("key").arg_min()).alias("decided_on"))
    )


def standing_status(day: dt.date) -> pl.Expr:
    """The status on `day` (`domain.register.status_on`, the one definition): how it ended
    when an ending took effect; `not_started`; `active` to its end inclusive; then `lapsed` for
    `GRACE_DAYS` days, unless a decision since its last term was taken; after that (or that
    decision) `ended_without_record`, which the views treat as ended on its end date."""
    return (
        pl.when(pl.col("ended_on").is_not_null())
        .then(pl.col("ending").str.to_lowercase())
        .when(pl.col("start") > day)
        .then(pl.lit("not_started"))
        .when(pl.col("end") >= day)
        .then(pl.lit("active"))
        .when(pl.col("decided_on").is_null() & (days(pl.lit(day), pl.col("end")) <= GRACE_DAYS))
        .then(pl.lit("lapsed"))
        .otherwise(pl.lit("ended_without_record"))
    )


def _agreements(snap: Snapshot) -> pl.LazyFrame:
    ev, day = snap.events, snap.as_of
    terms = (
        snap.terms.lazy()
        .group_by("agreement_id")
        .agg(
            pl.col("new_end").last().alias("renewed_end"),
            pl.col("key").last().alias("last_term_key"),
            (pl.col("type") == "RolledOver").sum().cast(pl.Int64).alias("rollovers"),
            (pl.col("type") == "Extended").sum().cast(pl.Int64).alias("extensions"),
        )
    )
    ended = (
        endings(ev)
        .group_by("agreement_id")
        .agg(pl.col("effective_on", "type").get(timeline_key().arg_min()))
        .rename({"effective_on": "ended_on", "type": "ending"})
    )
    last_term = (
        awards(ev)
        .select("agreement_id", timeline_key().alias("award_key"))
        .join(terms.select("agreement_id", "last_term_key"), on="agreement_id", how="left")
        .select("agreement_id", pl.coalesce("last_term_key", "award_key").alias("last_term_key"))
    )
    end = pl.coalesce("renewed_end", "awarded_end")
    # what the other events say, joined narrow (each join copies every column it carries);
    # then to the awards' own columns, text among them, once
    derived = (
        awards(ev)
        .select("agreement_id")
        .join(terms, on="agreement_id", how="left")
        .join(ended, on="agreement_id", how="left")
        .join(_decisions_since_term(snap, last_term), on="agreement_id", how="left")
        .join(_value_now(snap), on="agreement_id", how="left")
        .join(_current_providers(snap.members), on="agreement_id", how="left")
        .join(_commissioners_now(ev), on="agreement_id", how="left")
        .join(_leads(ev), on="agreement_id", how="left")
    )
    # in no particular order: each view sorts what it shows
    return (
        awards(ev)
        .select(
            "agreement_id",
            "title",
            "kind",
            "service_category",
            "funding_stream",
            pl.col("effective_on").alias("awarded_on"),
            pl.col("event_id").alias("award_event_id"),
            pl.col("type").alias("award_type"),
            pl.col("rationale").alias("award_rationale"),
            "route",
            "start",
            pl.col("end").alias("awarded_end"),
            pl.col("annual_value").alias("awarded_value"),
            pl.col("responsible_lead").alias("awarded_lead"),
            timeline_key().alias("award_key"),
        )
        .join(derived, on="agreement_id", how="left")
        .with_columns(
            end=end,
            annual_value=pl.coalesce("value_now", "awarded_value"),
            responsible_lead=pl.coalesce("handed_to", "awarded_lead"),
            last_term_key=pl.coalesce("last_term_key", "award_key"),
            rollovers=pl.col("rollovers").fill_null(0),
            extensions=pl.col("extensions").fill_null(0),
            handovers_survived=pl.col("handovers_survived").fill_null(0),
            competed=pl.col("route").is_in(COMPETITIVE_ROUTES),
        )
        .with_columns(status=standing_status(day))
        .with_columns(open=pl.col("status").is_in(list(OPEN_STATUSES)))
        .drop("renewed_end", "value_now", "handed_to")
    )
