"""Red flags across the ledger, and one agreement's audit: its full history with derived facts.

Flags (DESIGN.md, Metric definitions), one row per (agreement, flag), each with a plain-words
`reason` giving the figures behind it. Two flags are about today and are raised only for an
agreement not ended on `as_of` (active, not started or lapsed: `Snapshot.agreements`' `open`):
`no_competition_5_years` and `orphaned` ask someone to act now, and nobody can re-tender or
take charge of what has ended. The others are facts of the agreement's history that an auditor
wants whether or not it has since ended (an agreement rolled over six times without
competition stays so after it ends), so they are raised for ended agreements too, those ended
without record (past their end by more than the grace period, `GRACE_DAYS`) as for those whose
ending was recorded: each is judged on what happened up to its end.
- `serial_non_competitive_renewal`: 3 or more consecutive non-competitive renewals (continuity).
- `no_competition_5_years`: more than 5 years (the 5th anniversary passed) since the start of
  the last competitively awarded term in the agreement's thread, or, never competed, since the
  thread began. Only for agreements not ended on `as_of` (nor ended without record).
- `value_raised_without_competition`: the annual value in force on `as_of` more than 25 % above
  the awarded value (an agreement's award is its last competition; a new competition is a new
  agreement). Compared in whole pence.
- `award_rescinded`: the award was rescinded (known by `known_at`).
- `limbo_over_12_months`: a run of consecutive extensions of under 365 days each (no rollover or
  longer extension between them) adding more than 365 days in all.
- `orphaned`: nobody answers for an agreement not ended, lapsed included (continuity's
  `orphan_reason`).
- `missing_rationale`: an event of the agreement, or a handover moving it, lacks the rationale
  FORMAT.md requires (the catalogue's rationale rules), or gives "not stated in the source".
- `unknown_route`: the award's procurement route is `unknown`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import polars as pl

from domain.catalogue import AWARD_TYPES, CATALOGUE, CORRECTION_TYPES, NOT_STATED, LedgerEvent
from domain.errors import LedgerError
from domain.history import describe
from projections.continuity import continuity, continuity_table, lineage_table
from projections.frame import corrections
from projections.lineage import links
from projections.pipeline import pipeline
from projections.report import to_markdown
from projections.standing import FrameLike, Snapshot, joined

FLAGS = (
    "serial_non_competitive_renewal",
    "no_competition_5_years",
    "value_raised_without_competition",
    "award_rescinded",
    "limbo_over_12_months",
    "orphaned",
    "missing_rationale",
    "unknown_route",
)
# Types whose rationale FORMAT.md always requires, read from the catalogue's own rules; an
# award's rule asks only for direct awards.
ALWAYS_JUSTIFIED = tuple(name for name, t in CATALOGUE.items() if t.rationale_rule({}))
SCHEMA = pl.Schema({"agreement_id": pl.String, "flag": pl.String, "reason": pl.String})


class UnknownAgreementError(LedgerError):
    def __init__(self, agreement_id: str) -> None:
        super().__init__(
            f"agreement '{agreement_id}' is not in the ledger (as known then); expected an "
            "existing agreement_id"
        )


def continuity_views(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
    months: int = 6,
) -> dict[str, pl.LazyFrame]:
    """Continuity, the expiry pipeline and the flags at once, sharing one snapshot (the
    agreements' standing and lineages are computed once for all three)."""
    snap = Snapshot.of(frame, as_of, known_at)
    return {
        "continuity": continuity(snap, as_of),
        "pipeline": pipeline(snap, as_of, months),
        "flags": flags(snap, as_of),
    }


def flags(
    frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None = None
) -> pl.LazyFrame:
    """Every red flag on `as_of`: one row per (agreement, flag) with a plain-words reason."""
    return Snapshot.of(frame, as_of, known_at).view("flags", _flags).lazy()


def _flags(snap: Snapshot) -> pl.DataFrame:
    shown = (
        "agreement_id",
        "non_competitive_renewals",
        "last_competition_start",
        "thread_start",
        "years_since_competition",
        "rollovers",
        "extensions",
        "orphaned",
        "orphan_reason",
    )
    c = (
        continuity_table(snap)
        .select(shown)
        .join(
            snap.agreements.select(
                "agreement_id",
                "open",
                "annual_value",
                "awarded_value",
                "award_event_id",
                "awarded_on",
            ),
            on="agreement_id",
        )
    )
    day = pl.lit(snap.as_of)
    thread = pl.when(pl.col("last_competition_start").is_not_null())
    parts = [
        c.filter(pl.col("non_competitive_renewals") >= 3).select(
            "agreement_id",
            pl.lit("serial_non_competitive_renewal").alias("flag"),
            pl.format(
                "{} consecutive rollovers and extensions without competition {} (this "
                "agreement: rollovers {}, extensions {})",
                "non_competitive_renewals",
                thread.then(
                    pl.format("since the competitive award starting {}", "last_competition_start")
                ).otherwise(
                    pl.format("since the thread began on {}, never competed", "thread_start")
                ),
                "rollovers",
                "extensions",
            ).alias("reason"),
        ),
        c.filter(
            pl.col("open")
            & (pl.coalesce("last_competition_start", "thread_start").dt.offset_by("5y") < day)
        ).select(
            "agreement_id",
            pl.lit("no_competition_5_years").alias("flag"),
            thread.then(
                pl.format(
                    "last competition: the term starting {}, {} years before {}",
                    "last_competition_start",
                    "years_since_competition",
                    day,
                )
            )
            .otherwise(
                pl.format(
                    "never competed: the thread began on {}, more than 5 years before {}",
                    "thread_start",
                    day,
                )
            )
            .alias("reason"),
        ),
        _value_raised(c, snap.as_of),
        _rescinded_awards(snap),
        _long_limbo(snap),
        c.filter(pl.col("orphaned")).select(
            "agreement_id",
            pl.lit("orphaned").alias("flag"),
            pl.col("orphan_reason").alias("reason"),
        ),
        _missing_rationale(snap),
        snap.agreements.filter(pl.col("route") == "unknown").select(
            "agreement_id",
            pl.lit("unknown_route").alias("flag"),
            pl.format(
                "the award (event {}, effective {}) gives the procurement route as unknown",
                "award_event_id",
                "awarded_on",
            ).alias("reason"),
        ),
    ]
    order = pl.col("flag").replace_strict(FLAGS, list(range(len(FLAGS))), return_dtype=pl.Int32)
    return pl.concat([p.select(SCHEMA.names()).cast(SCHEMA) for p in parts]).sort(
        "agreement_id", order
    )


def _pence(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0).cast(pl.Int64)


def _value_raised(c: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return c.filter(_pence("annual_value") * 100 > _pence("awarded_value") * 125).select(
        "agreement_id",
        pl.lit("value_raised_without_competition").alias("flag"),
        pl.format(
            "annual value {} on {} is {}% above the awarded value {} (25% above would be {}), "
            "with no competition since the award",
            _money("annual_value"),
            pl.lit(day),
            ((pl.col("annual_value") / pl.col("awarded_value") - 1) * 100).round(3),
            _money("awarded_value"),
            _money("awarded_value", 1.25),
        ).alias("reason"),
    )


def _money(column: str, times: float = 1.0) -> pl.Expr:
    amount = (pl.col(column) * times).round(2).cast(pl.Decimal(38, 2))
    return pl.lit("£") + amount.cast(pl.String)


def _rescinded_awards(snap: Snapshot) -> pl.DataFrame:
    return (
        corrections(snap.frame)
        .filter(
            (pl.col("type") == "Rescinded")
            & pl.col("target_type").is_in(list(AWARD_TYPES))
            & (pl.col("target_effective_on") <= snap.as_of)
        )
        .select(
            pl.col("subject_id").alias("agreement_id"),
            pl.lit("award_rescinded").alias("flag"),
            pl.format(
                "the award (event {}, effective {}) was rescinded by event {} of {} (recorded "
                "by {}): {}",
                "target_id",
                "target_effective_on",
                "event_id",
                "effective_on",
                "recorded_by",
                pl.col("rationale").fill_null("no reason given"),
            ).alias("reason"),
        )
        .collect()
    )


def _long_limbo(snap: Snapshot) -> pl.DataFrame:
    runs = (
        # terms are in agreement and timeline order: a running count of the other terms
        # numbers each agreement's runs of consecutive limbo extensions
        snap.terms.with_columns(run=(~pl.col("limbo")).cum_sum())
        .filter(pl.col("limbo"))
        .group_by("agreement_id", "run")
        .agg(
            pl.len().alias("extensions"),
            pl.col("days_added").sum().alias("days"),
            pl.col("begins").min(),
            pl.col("new_end").max(),
        )
        .filter(pl.col("days") > 365)
        .sort("agreement_id", "begins")
    )
    return runs.group_by("agreement_id", maintain_order=True).agg(
        pl.lit("limbo_over_12_months").alias("flag"),
        pl.format(
            "{} consecutive extensions of under 12 months each added {} days ({} to {})",
            "extensions",
            "days",
            "begins",
            "new_end",
        )
        .str.join("; ")
        .alias("reason"),
    )


def _missing_rationale(snap: Snapshot) -> pl.DataFrame:
    ev = snap.events.frame
    route = pl.col("route")
    required = pl.col("type").is_in(ALWAYS_JUSTIFIED) | (
        pl.col("type").is_in(list(AWARD_TYPES)) & (route == "direct_award")
    )
    text = pl.col("rationale").str.strip_chars()
    lacking = text.is_null() | (text == "") | (text.str.to_lowercase() == NOT_STATED)
    moved = (
        pl.when(pl.col("type") == "HandedOver")
        .then(pl.col("moved"))
        .otherwise(pl.concat_list(pl.col("subject_id")))
    )
    # the text tests run on the events that need a rationale and have a short one (or none)
    short = (
        pl.col("rationale").is_null()
        | (pl.col("rationale").str.len_bytes() <= 2 * len(NOT_STATED))
        | pl.col("rationale").str.contains(r"^\s*$")  # blank however long (fails fast)
    )
    candidates = ev.filter(required & short).select(
        "type", "event_id", "effective_on", "notification_id", "rationale", "moved", "subject_id"
    )
    return (
        candidates.collect()
        .lazy()
        .filter(lacking)
        .with_columns(agreement_id=moved)
        .explode("agreement_id")
        .filter(pl.col("agreement_id").is_not_null())
        .sort("effective_on", "notification_id")
        .group_by("agreement_id", maintain_order=True)
        .agg(
            pl.lit("missing_rationale").alias("flag"),
            pl.format(
                "{} {} ({}): rationale {}",
                "type",
                "event_id",
                "effective_on",
                pl.when(text.is_null() | (text == ""))
                .then(pl.lit("missing"))
                .otherwise(pl.lit('"' + NOT_STATED + '"')),
            )
            .str.join("; ")
            .alias("reason"),
        )
        .collect()
    )


def audit(
    frame: FrameLike | Snapshot,
    agreement_id: str,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """One agreement for an auditor: every event as recorded (when, by whom, why; corrections
    beside what they correct), and the facts derived on `as_of`: terms, continuity, the
    lineage and its links, the term changes with their limbo days, and the flags."""
    snap = Snapshot.of(frame, as_of, known_at)
    history = _history(snap.frame, agreement_id)
    if history.is_empty():
        raise UnknownAgreementError(agreement_id)
    mine = pl.col("agreement_id") == agreement_id
    cont = continuity(snap, as_of).filter(mine).collect()
    lineage = lineage_table(snap)
    lineage_id = cont["lineage_id"].item() if cont.height else None
    members = lineage.filter(pl.col("lineage_id") == (lineage_id or ""))["agreement_id"]
    edges = snap.view("links", links)
    return {
        "agreement_id": agreement_id,
        "as_of": as_of,
        "known_at": snap.known_at,
        "agreement": _terms_row(snap).filter(mine),
        "history": history,
        "terms": snap.terms.filter(mine).select(
            "event_id",
            "type",
            "effective_on",
            "old_end",
            "begins",
            "new_end",
            "days_added",
            "annual_value",
            "limbo",
            "rationale",
        ),
        "continuity": cont,
        "lineage": continuity(snap, as_of)
        .filter(pl.col("agreement_id").is_in(members.implode()))
        .select("agreement_id", "start", "end", "status", "route", "incumbent_provider_id")
        .collect(),
        "links": edges.filter(
            pl.col("from_id").is_in(members.implode()) | pl.col("to_id").is_in(members.implode())
        ).select("from_id", "to_id", "link", "effective_on"),
        "flags": flags(snap, as_of).filter(mine).collect(),
    }


AUDIT_SECTIONS = {
    "agreement": "The agreement as it stands",
    "history": "History as recorded (corrections beside what they correct)",
    "terms": "Rollovers and extensions, with the days each added",
    "continuity": "Continuity",
    "lineage": "Lineage",
    "links": "Links between the lineage's agreements",
    "flags": "Red flags",
}


def audit_markdown(report: dict[str, Any]) -> str:
    known = f", as known at {report['known_at']}" if report["known_at"] else ""
    intro = f"As of {report['as_of']}{known}."
    return to_markdown(f"Audit of {report['agreement_id']}", intro, AUDIT_SECTIONS, report)


def _terms_row(snap: Snapshot) -> pl.DataFrame:
    return snap.agreements.select(
        "agreement_id",
        "title",
        "kind",
        "service_category",
        "status",
        "start",
        "end",
        "awarded_value",
        "annual_value",
        "route",
        "funding_stream",
        joined("provider_ids").alias("providers"),
        joined("commissioner_ids").alias("commissioners"),
        "responsible_lead",
    )


def _history(frame: pl.LazyFrame, agreement_id: str) -> pl.DataFrame:
    """The agreement's events (and handovers moving it) in recorded order, each correction or
    rescission right after the record it names; `amended` marks a record later corrected or
    rescinded, which stays in the history as it was written."""
    about = (pl.col("subject_id") == agreement_id) | pl.col("moved").list.contains(agreement_id)
    rows = frame.filter(about).sort("notification_id").collect()
    amended = set(rows.filter(pl.col("type").is_in(list(CORRECTION_TYPES)))["target_id"])
    anchor: dict[str, int] = {}  # event -> the first record of its chain of amendments
    out = []
    for r in rows.iter_rows(named=True):
        event = LedgerEvent(
            r["event_id"],
            r["type"],
            r["effective_on"].isoformat(),
            r["recorded_by"],
            r["rationale"],
            r["source"],
            orjson.loads(r["data"]),
        )
        target = r["target_id"]
        anchor[r["event_id"]] = anchor.get(target, r["notification_id"])
        out.append(
            {
                "order": (anchor[r["event_id"]], r["notification_id"]),
                "event_id": r["event_id"],
                "type": r["type"],
                "amends": target,
                "effective_on": r["effective_on"],
                "recorded_at": r["recorded_at"],
                "recorded_by": r["recorded_by"],
                "what": describe(event),
                "rationale": r["rationale"],
                "source": r["source"],
                "amended": r["event_id"] in amended,
            }
        )
    out.sort(key=lambda row: row.pop("order"))
    return pl.DataFrame(out, orient="row") if out else pl.DataFrame()
