"""The handover brief: what a commissioning lead (or organisation) taking over a portfolio needs
to know on day one, from the ledger rather than from memory (DOMAIN.md, "Why institutional
memory is lost").

`brief` returns named sections, each the rows of another view with that view's own keys. The
portfolio is every agreement the lead answers for (or the organisation commissions) that has
not ended on `as_of` (`projections.standing.standing_status`): those in force (active, or not
yet started) are *held*; those past their end with nothing recorded, within the grace period,
are *lapsed* and listed apart, never in what is held or its value; those ended without record
(past the grace period) are only counted, in `scope`.
- `handovers`: how the portfolio arrived (handovers to the lead or organisation, with notes);
- `holdings`: what is held, from whom, worth what, ending when (agreements in force);
- `lapsed`: past its end with no decision recorded: is the service still running? (days past
  the end, and the day the grace period ends);
- `continuity`: the continuity rows of the portfolio (lineage, tenure, renewals, limbo);
- `non_competitive`: directly awarded, rolled over or extended without competition: how many
  times, and why (each decision's rationale);
- `limbo`: agreements of the portfolio with limbo days;
- `settlements`: who-pays settlements recorded on the holdings;
- `lineage`: who held each service before (the predecessors in each holding's thread);
- `corrections`: what was recorded in error about the holdings or their predecessors, and how
  it was corrected or rescinded;
- `spend_last_year`: spend in the last complete financial year by provider sector and by size
  band (`projections.spend`: annual value x days active / days in year; for a lead, the whole
  spend of the agreements held; for a commissioner, the spend attributed to it);
- `due`: the expiry pipeline for the next 6 months; `flags`: the red flags of the portfolio.
`scope` counts the agreements held and their annual value (summed exactly, to the penny), the
lapsed, and those ended without record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from domain.errors import InvalidFieldError, LedgerError
from projections.audit import flags
from projections.continuity import continuity, portfolio
from projections.diversity import classed
from projections.families import as_text
from projections.frame import (
    awards,
    commissioners,
    corrections,
    handovers,
    providers,
    settlements,
)
from projections.lineage import ancestry, links
from projections.market import basis_of, rounded
from projections.pipeline import pipeline
from projections.report import pounds
from projections.report import to_markdown as markdown_document
from projections.spend import agreement_spend
from projections.standing import GRACE_DAYS, FrameLike, Snapshot, joined
from projections.sums import exact_sum

DUE_MONTHS = 6
SECTIONS: dict[str, str] = {
    "handovers": "How the portfolio came to you",
    "holdings": "What you hold: from whom, worth what, ending when",
    "lapsed": "Past its end: is the service still running?",
    "continuity": "Continuity: lineage, tenure, renewals, limbo",
    "non_competitive": "Awarded, rolled over or extended without competition, and why",
    "limbo": "In limbo: short extensions and lapsed terms",
    "settlements": "Settlements on who pays",
    "lineage": "Who held each service before",
    "corrections": "Recorded in error, and corrected",
    "spend_last_year": "Spend in the last complete financial year by provider sector and size",
    "due": f"Decisions due in the next {DUE_MONTHS} months",
    "flags": "Red flags",
}


def brief(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    *,
    lead: str | None = None,
    commissioner: str | None = None,
    known_at: dt.datetime | None = None,
    months: int = DUE_MONTHS,
) -> dict[str, Any]:
    """The brief for `lead` or `commissioner` (exactly one) on `as_of`, as known at `known_at`,
    with the decisions due in the next `months`."""
    if lead is None and commissioner is None:
        raise InvalidFieldError("--lead", "--lead NAME or --commissioner ID", missing=True)
    if lead is not None and commissioner is not None:
        raise InvalidFieldError("--commissioner", "no --commissioner with --lead", commissioner)
    snap = Snapshot.of(frame, as_of, known_at)
    _check_known(snap, lead, commissioner)
    scope = portfolio(snap, lead=lead, commissioner=commissioner)
    answers_for = scope.filter(pl.col("open"))  # held, and lapsed
    held = answers_for.filter(pl.col("status") != "lapsed")
    ids = answers_for["agreement_id"].implode()
    mine = pl.col("agreement_id").is_in(ids)
    cont = continuity(snap, as_of).filter(mine).collect()
    year = last_complete_year(as_of)
    sections: dict[str, pl.DataFrame] = {
        "handovers": _handovers(snap, lead, commissioner),
        "holdings": _named(snap, held).select(
            "agreement_id",
            "title",
            "service_category",
            joined("provider_ids").alias("providers"),
            joined("provider_names"),
            "annual_value",
            "start",
            "end",
            "status",
            "route",
            (pl.col("end") - pl.lit(as_of)).dt.total_days().alias("days_left"),
            "responsible_lead",
            joined("commissioner_ids").alias("commissioners"),
        ),
        "lapsed": _lapsed(snap, answers_for),
        "continuity": cont,
        "non_competitive": _non_competitive(snap, answers_for, cont),
        "limbo": cont.filter(pl.col("limbo_days") > 0).select(
            "agreement_id",
            "status",
            "end",
            "extensions",
            "limbo_extensions",
            "lapsed_days",
            "limbo_days",
        ),
        "settlements": _settlements(snap, answers_for, lead, commissioner),
        "lineage": _lineage(snap, answers_for),
        "corrections": _corrections(snap, answers_for),
        "spend_last_year": _spend(snap, answers_for, commissioner, year),
        "due": pipeline(snap, as_of, months).filter(mine).collect(),
        "flags": flags(snap, as_of).filter(mine).collect(),
    }
    return {
        "scope": {
            "lead": lead,
            "commissioner": commissioner,
            "as_of": as_of,
            "known_at": known_at,
            "agreements": held.height,
            "total_annual_value": pounds_total(held["annual_value"]),
            "lapsed": sections["lapsed"].height,
            "ended_without_record": scope.filter(pl.col("status") == "ended_without_record").height,
            "spend_year": fy_text(year),
            "flags": sections["flags"].height,
            "due": sections["due"].height,
            "months": months,
            "handovers_recorded_later": _recorded_later(frame, as_of, known_at, lead, commissioner),
        },
        **sections,
    }


def pounds_total(amounts: pl.Series) -> float:
    """A sum of money the same in every run, to the penny (`projections.spend.exact_sum`)."""
    total = amounts.to_frame("amount").select(exact_sum(pl.col("amount")).round(2)).item()
    return float(total or 0.0)


def _lapsed(snap: Snapshot, answers_for: pl.DataFrame) -> pl.DataFrame:
    """The portfolio's lapsed agreements: past their end, nothing recorded since. They are not
    held (no term is in force) but someone should find out whether the service still runs,
    and roll it over, extend it or record its end before `grace_ends`, after which the ledger
    takes it as ended on its end date."""
    lapsed = answers_for.filter(pl.col("status") == "lapsed")
    return _named(snap, lapsed).select(
        "agreement_id",
        "title",
        "service_category",
        joined("provider_ids").alias("providers"),
        joined("provider_names"),
        "annual_value",  # the last in force: shown, never added to what is held
        "start",
        "end",
        (pl.lit(snap.as_of) - pl.col("end")).dt.total_days().alias("days_past_end"),
        (pl.col("end") + dt.timedelta(days=GRACE_DAYS)).alias("grace_ends"),
        "route",
        "responsible_lead",
        joined("commissioner_ids").alias("commissioners"),
    )


class UnknownScopeError(LedgerError):
    def __init__(self, kind: str, ref: str) -> None:
        super().__init__(
            f"{kind} '{ref}' is not in the ledger (as known then); expected a {kind} named by "
            "an award, a handover or an organisation event"
        )


def _check_known(snap: Snapshot, lead: str | None, commissioner: str | None) -> None:
    """A misspelt name should be an error, not an empty brief."""
    if lead is not None:
        named = pl.concat(
            [
                awards(snap.frame).select(pl.col("responsible_lead").alias("lead")),
                handovers(snap.frame).select(pl.col("from_lead").alias("lead")),
                handovers(snap.frame).select(pl.col("to_lead").alias("lead")),
            ]
        )
        if named.filter(pl.col("lead") == lead).head(1).collect().is_empty():
            raise UnknownScopeError("lead", lead)
    elif (
        commissioners(snap.frame)
        .filter(pl.col("commissioner_id") == commissioner)
        .collect()
        .is_empty()
    ):
        raise UnknownScopeError("commissioner", str(commissioner))


def last_complete_year(as_of: dt.date) -> int:
    """Start year of the last financial year ended by `as_of` (31 March ends its year)."""
    current = as_of.year - (as_of.month < 4)
    return current if as_of == dt.date(current + 1, 3, 31) else current - 1


def fy_text(year: int) -> str:
    """2014 -> "2014/15"."""
    return f"{year}/{(year + 1) % 100:02d}"


def _named(snap: Snapshot, held: pl.DataFrame) -> pl.DataFrame:
    """The holdings with their providers' names as they stood on `as_of` ("from whom")."""
    names = providers(snap.events).select("provider_id", "name").collect()
    named = (
        held.select("agreement_id", pl.col("provider_ids").alias("provider_id"))
        .explode("provider_id")
        .join(names, on="provider_id", how="left", maintain_order="left")
        .group_by("agreement_id", maintain_order=True)
        .agg(pl.coalesce("name", "provider_id").drop_nulls().alias("provider_names"))
    )
    return held.join(named, on="agreement_id", how="left", maintain_order="left")


def _to(lead: str | None, commissioner: str | None) -> pl.Expr:
    return (
        pl.col("to_lead") == lead if lead is not None else pl.col("to_commissioner") == commissioner
    )


def _recorded_later(
    frame: FrameLike | Snapshot,
    as_of: dt.date,
    known_at: dt.datetime | None,
    lead: str | None,
    commissioner: str | None,
) -> int | None:
    """How many handovers to the lead (or organisation), in effect by `as_of`, were recorded
    after `known_at`: what a brief as known then cannot show, and why (None: not known)."""
    if known_at is None or isinstance(frame, Snapshot):
        return None
    later = handovers(frame.lazy()).filter(
        _to(lead, commissioner)
        & (pl.col("effective_on") <= as_of)
        & (pl.col("recorded_at") > known_at)
    )
    return int(later.select(pl.len()).collect().item())


def _handovers(snap: Snapshot, lead: str | None, commissioner: str | None) -> pl.DataFrame:
    return (
        handovers(snap.events)
        .filter(_to(lead, commissioner))
        .sort("effective_on", "notification_id")
        .select(
            "effective_on",
            "recorded_at",
            "from_lead",
            "to_lead",
            "from_commissioner",
            "to_commissioner",
            pl.col("moved").list.len().alias("agreements"),
            "rationale",
            "notes",
        )
        .collect()
    )


def _settlements(
    snap: Snapshot, held: pl.DataFrame, lead: str | None, commissioner: str | None
) -> pl.DataFrame:
    """Who-pays settlements in force on agreements not ended: those held, and those where one
    of the lead's organisations (those of its holdings and of the handovers it received), or a
    body they replaced, commissions or pays. The research found new commissioners unaware of
    exactly these: made by the bodies they replaced, on agreements someone else holds."""
    if commissioner is not None:
        orgs = pl.Series([commissioner])
    else:
        received = handovers(snap.events).filter(pl.col("to_lead") == lead)
        orgs = (
            pl.concat(
                [
                    held["commissioner_ids"].explode(),
                    received.select("to_commissioner").collect().to_series(),
                ]
            )
            .drop_nulls()
            .unique()
        )
    orgs = _with_predecessors(snap, orgs)
    open_ = snap.agreements.filter(pl.col("open")).select(
        "agreement_id",
        "commissioner_ids",
        pl.col("agreement_id").cast(pl.String).is_in(held["agreement_id"].implode()).alias("held"),
    )
    payer = pl.element().struct.field("commissioner_id")
    return (
        settlements(snap.events)
        .collect()
        .join(open_, on="agreement_id")
        .filter(
            pl.col("held")
            | pl.col("commissioner_ids").list.eval(pl.element().is_in(orgs.implode())).list.any()
            | pl.col("commissioners").list.eval(payer.is_in(orgs.implode())).list.any()
        )
        .select(
            "agreement_id",
            "held",
            "effective_on",
            "applies_from",
            pl.col("commissioners")
            .list.eval(pl.format("{} {}", payer, pl.element().struct.field("share")))
            .list.join("; ")
            .alias("shares"),
            "notes",
            "recorded_by",
            "rationale",
        )
        .with_columns(pl.col("agreement_id").cast(pl.String))
        .sort("agreement_id", "effective_on")
    )


def _with_predecessors(snap: Snapshot, orgs: pl.Series) -> pl.Series:
    """The organisations and every body merged into them or abolished in their favour."""
    ended = commissioners(snap.events).filter(pl.col("ended_on").is_not_null()).collect()
    edges = pl.concat(
        [
            ended.select(
                pl.col("commissioner_id").alias("from_id"), pl.col("merged_into").alias("to_id")
            ),
            ended.explode("successors").select(
                pl.col("commissioner_id").alias("from_id"),
                pl.col("successors").struct.field("commissioner_id").alias("to_id"),
            ),
        ]
    ).drop_nulls()
    return ancestry(edges, orgs.cast(pl.String))["ancestor_id"].unique()


def _non_competitive(snap: Snapshot, held: pl.DataFrame, cont: pl.DataFrame) -> pl.DataFrame:
    why = snap.terms.select(
        pl.col("agreement_id").cast(pl.String),
        pl.format(
            "{} {} to {}: {}",
            "effective_on",
            "type",
            "new_end",
            pl.col("rationale").fill_null("no rationale"),
        ).alias("why"),
    )
    awarded = held.filter(~pl.col("competed")).select(
        "agreement_id",
        pl.format(
            "{} awarded by {}: {}",
            "awarded_on",
            "route",
            pl.col("award_rationale").fill_null("no rationale"),
        ).alias("why"),
    )
    reasons = (
        pl.concat([awarded, why])
        .group_by("agreement_id", maintain_order=True)
        .agg(pl.col("why").alias("rationales"))
    )
    return (
        cont.filter(
            (pl.col("route").is_in(["competitive_tender", "grant_round"]).not_())
            | (pl.col("non_competitive_renewals") > 0)
        )
        .select(
            "agreement_id",
            "route",
            "rollovers",
            "extensions",
            "non_competitive_renewals",
            "last_competition_start",
        )
        .join(reasons, on="agreement_id", how="left")
    )


def _lineage(snap: Snapshot, held: pl.DataFrame) -> pl.DataFrame:
    edges = as_text(snap.view("links", links).lazy()).collect()
    before = ancestry(edges, held["agreement_id"]).filter(pl.col("depth") > 0)
    cont = continuity(snap, snap.as_of).collect()
    return (
        before.join(
            cont.select(
                pl.col("agreement_id").alias("ancestor_id"),
                "lineage_id",
                pl.col("incumbent_provider_id").alias("provider_id"),
                "start",
                "end",
                "status",
                "route",
            ),
            on="ancestor_id",
        )
        .join(
            edges.select(pl.col("from_id").alias("ancestor_id"), "link").unique(
                "ancestor_id", keep="first"
            ),
            on="ancestor_id",
            how="left",
        )
        .rename({"ancestor_id": "predecessor_id"})
        .sort("agreement_id", "depth", "start")
    )


def _corrections(snap: Snapshot, held: pl.DataFrame) -> pl.DataFrame:
    edges = as_text(snap.view("links", links).lazy()).collect()
    thread = ancestry(edges, held["agreement_id"])
    return (
        corrections(snap.frame)
        .collect()
        .join(thread, left_on="subject_id", right_on="ancestor_id")
        .select(
            "agreement_id",
            pl.col("subject_id").alias("about_agreement_id"),
            "event_id",
            "type",
            "target_id",
            "target_type",
            "target_effective_on",
            "fields",
            "effective_on",
            "recorded_at",
            "recorded_by",
            "rationale",
            "rescinded",
        )
        .sort("agreement_id", "recorded_at")
    )


def _spend(snap: Snapshot, held: pl.DataFrame, commissioner: str | None, year: int) -> pl.DataFrame:
    basis = basis_of(snap)
    spend = agreement_spend(basis).filter(pl.col("year") == year)
    if commissioner is not None:
        spend = spend.filter(pl.col("commissioner_id") == commissioner)
    else:
        spend = spend.filter(pl.col("agreement_id").is_in(held["agreement_id"].implode()))
    rows = as_text(classed(spend, snap.events, snap.as_of)).collect()
    total = rows.select(exact_sum(pl.col("spend"))).item()
    label = fy_text(year)
    parts = [
        rows.group_by(key)
        .agg(exact_sum(pl.col("spend")))
        .with_columns(pl.lit(None, pl.String).alias(other))
        for key, other in (("sector", "size_band"), ("size_band", "sector"))
    ]
    return rounded(
        pl.concat([p.select("sector", "size_band", "spend") for p in parts])
        .with_columns(
            pl.lit(label).alias("financial_year"),
            (pl.col("spend") / total if total else pl.lit(None, pl.Float64)).alias("share"),
        )
        .select("financial_year", "sector", "size_band", "spend", "share")
        .sort("sector", "size_band", nulls_last=True)
        .lazy()
    ).collect()


def to_markdown(report: dict[str, Any]) -> str:
    """The brief as a Markdown document: a heading per section, in words, each a table of its
    rows with money in pounds and pence."""
    scope = report["scope"]
    months = scope.get("months", DUE_MONTHS)
    who = f"lead {scope['lead']}" if scope["lead"] else f"commissioner {scope['commissioner']}"
    known = f", as known at {scope['known_at']}" if scope["known_at"] else ""
    intro = (
        f"As of {scope['as_of']}{known}: {_n(scope['agreements'], 'agreement')} held, worth "
        f"{pounds(scope['total_annual_value'] or 0)} a year; {_n(scope['due'], 'decision')} due "
        f"in the next {months} months; {_n(scope['flags'], 'red flag')}."
    )
    intro += (
        f" Past their end with nothing recorded: {scope['lapsed']} lapsed (listed apart, not "
        f"held), {scope['ended_without_record']} ended without record (more than "
        f"{GRACE_DAYS} days past their end: taken as ended then)."
    )
    later = scope.get("handovers_recorded_later")
    if later:
        intro += (
            f" {_n(later, 'handover')} to you in effect by {scope['as_of']} "
            f"{'were' if later > 1 else 'was'} recorded after {scope['known_at']}: the ledger "
            f"did not know of {'them' if later > 1 else 'it'} then, so this brief does not show "
            f"{'them' if later > 1 else 'it'} (each handover below says when it was recorded)."
        )
    titles = {**SECTIONS, "due": f"Decisions due in the next {months} months"}
    return markdown_document(f"Handover brief for {who}", intro, titles, report)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
