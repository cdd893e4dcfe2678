"""Every view the site shows, computed as the CLI computes it, from the frames in memory.

Why a module of its own: a page and its `/api/` twin read the same function, and each function
makes the same calls of the projections, with the same filters, as the CLI command of the same
name (`infra.cli.agreements`, `names`, `views`, `brief`), so the site's figures are the CLI's
(the tests compare their JSON). Nothing here formats: frames and reports go to
`infra.web.tables` (HTML, CSV) or `infra.web.api` (JSON).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from domain.errors import InvalidFieldError
from domain.register import STATUSES
from infra.web.frames import Frames
from infra.web.params import BadParam, NotFound, When
from projections.standing import Snapshot

MARKET_PARTS = ("market", "concentration", "mix", "entry-exit", "at-risk")


def require(snap: Snapshot, **ids: str | None) -> None:
    """An id the ledger does not hold (as known then) is a 404 naming the closest it does."""
    from projections.names import require as require_name

    for kind, value in ids.items():
        require_name(snap, kind, value)


def today_snapshot(frames: Frames, when: When) -> Snapshot:
    """What the CLI's name checks read: the frame as known at `known_at`, today."""
    return frames.snapshot(dt.date.today(), when.known_at)


# -- the register, one agreement ---------------------------------------------------------------
def agreements(
    frames: Frames,
    when: When,
    *,
    commissioner: str | None = None,
    provider: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> pl.DataFrame:
    """`cledger agreements`."""
    from projections.register import agreements_list

    if status is not None and status not in (*STATUSES, "ended", "open"):
        raise BadParam("status", "one of " + ", ".join((*STATUSES, "ended", "open")), status)
    snap = frames.snapshot(when.as_of, when.known_at)
    require(snap, commissioner=commissioner, provider=provider, category=category)
    return agreements_list(
        snap, commissioner=commissioner, provider=provider, category=category, status=status
    ).collect()


def history(frames: Frames, agreement: str) -> pl.DataFrame:
    """`cledger history`: every event about the agreement in recorded order, corrections
    under what they correct."""
    from projections.history import HISTORY_COLUMNS, history_rows

    frame = frames.frame()
    rows = history_rows(frame, agreement)
    if not any(r["type"].endswith("Awarded") for r in rows):
        require(frames.snapshot(dt.date.today(), None), agreement=agreement)
        raise NotFound(f"no agreement '{agreement}'; the agreements page lists them")
    return pl.DataFrame(
        [{c: r.get(c) for c in HISTORY_COLUMNS} for r in rows], infer_schema_length=None
    )


def audit(frames: Frames, when: When, agreement: str) -> dict[str, Any]:
    """`cledger audit`: the agreement's history as recorded, terms, continuity, lineage and
    its links, flags."""
    from projections.audit import audit as audit_report
    from projections.scope import agreements_scope

    require(today_snapshot(frames, when), agreement=agreement)

    def compute() -> dict[str, Any]:
        frame = agreements_scope(frames.frame(), [agreement])
        snap = Snapshot.of(frame, when.as_of, when.known_at)
        return audit_report(snap, agreement, snap.as_of)

    report: dict[str, Any] = frames.cached(("audit", agreement, when.as_of, when.known_at), compute)
    return report


# -- names ------------------------------------------------------------------------------------
def names(frames: Frames, when: When, kind: str) -> pl.DataFrame:
    """`cledger leads`, `commissioners`, `providers`, `categories`."""
    from projections import names as views

    snap = frames.snapshot(when.as_of, when.known_at)
    lister = {
        "leads": views.leads,
        "commissioners": views.commissioners,
        "providers": views.providers,
        "categories": views.categories,
    }[kind]
    return frames.cached((kind, when.as_of, when.known_at), lambda: lister(snap))


def find(frames: Frames, when: When, text: str, limit: int = 50) -> pl.DataFrame:
    """`cledger find TEXT` (the first `limit` rows; 0: all)."""
    from projections.names import find as search
    from projections.names import search_candidates

    if limit < 0:
        raise BadParam("limit", "a number of rows, 0 (all) or more", str(limit))
    snap = frames.snapshot(when.as_of, when.known_at)
    candidates = frames.cached(
        ("search candidates", when.as_of, when.known_at), lambda: search_candidates(snap)
    )
    found = search(snap, text, candidates)
    return found.head(limit) if limit else found


# -- the brief and the views of continuity ------------------------------------------------------
def brief(
    frames: Frames,
    when: When,
    *,
    lead: str | None = None,
    commissioner: str | None = None,
    months: int = 6,
) -> dict[str, Any]:
    """`cledger brief`: the whole frame (a known-at brief counts the handovers recorded
    after it), a lead's cut to their agreements and lineages."""
    from projections.briefing import brief as make_brief
    from projections.scope import lead_scope

    if lead is None and commissioner is None:
        raise BadParam("lead", "a lead (?lead=) or a commissioner (?commissioner=)", "")
    if lead is not None and commissioner is not None:
        raise BadParam("commissioner", "no commissioner with a lead", commissioner)
    require(frames.snapshot(when.as_of, when.known_at), lead=lead, commissioner=commissioner)

    def compute() -> dict[str, Any]:
        source = frames.frame()
        if lead:
            source = lead_scope(source, lead)
        return make_brief(
            source, when.as_of, lead=lead, commissioner=commissioner, known_at=when.known_at,
            months=months,
        )  # fmt: skip

    key = ("brief", lead, commissioner, months, when.as_of, when.known_at)
    report: dict[str, Any] = frames.cached(key, compute)
    return report


def continuity_view(
    frames: Frames,
    when: When,
    view: str,
    *,
    months: int = 6,
    agreement: str | None = None,
    lead: str | None = None,
    commissioner: str | None = None,
    category: str | None = None,
) -> pl.DataFrame:
    """`cledger continuity`, `pipeline`, `flags`, with the same filters."""
    from projections.audit import flags
    from projections.continuity import continuity
    from projections.pipeline import pipeline
    from projections.selection import keep, selected

    snap = frames.snapshot(when.as_of, when.known_at)
    ids = dict(agreement=agreement, lead=lead, commissioner=commissioner, category=category)
    require(snap, **ids)
    chosen = selected(snap, **ids)
    if view == "continuity":
        rows = continuity(snap, snap.as_of)
    elif view == "pipeline":
        rows = pipeline(snap, snap.as_of, months)
    else:
        rows = flags(snap, snap.as_of)
    return keep(rows, chosen).collect()


# -- the market --------------------------------------------------------------------------------
def _year(label: str | None) -> str | None:
    from domain.values import FinancialYear

    if label is None:
        return None
    try:
        return FinancialYear.parse(label).label
    except InvalidFieldError:
        raise BadParam("year", "a financial year such as 2014/15", label) from None


def market_view(
    frames: Frames,
    when: When,
    part: str,
    *,
    category: str | None = None,
    commissioner: str | None = None,
    year: str | None = None,
) -> pl.DataFrame:
    """`cledger market`, `concentration`, `diversity --part mix|entry-exit|at-risk`: the rows
    of the segment (a category, a commissioner, or both; either alone keeps every value of the
    other), of one financial year when given, in the CLI's order and columns."""
    from projections import diversity
    from projections.market import CONCENTRATION_COLUMNS, MARKET_COLUMNS, concentration, in_order
    from projections.market import market as market_rows

    if part not in MARKET_PARTS:
        raise BadParam("part", "one of " + ", ".join(MARKET_PARTS), part)
    label = _year(year)
    snap = frames.snapshot(when.as_of, when.known_at, in_force=True)
    require(today_snapshot(frames, when), category=category, commissioner=commissioner)
    if part == "at-risk":
        if category or commissioner:
            raise BadParam("category", "no category or commissioner for at-risk", "")
        rows = diversity.at_risk(snap, when.as_of, when.known_at).collect()
        if label is not None:
            rows = rows.filter(pl.col("financial_year") == label)
        return rows.select(diversity.RISK_COLUMNS)
    compute, columns = {
        "market": (market_rows, MARKET_COLUMNS),
        "concentration": (concentration, CONCENTRATION_COLUMNS),
        "mix": (diversity.mix, diversity.MIX_COLUMNS),
        "entry-exit": (diversity.entry_exit, diversity.ENTRY_COLUMNS),
    }[part]
    # the whole view, in the CLI's order, computed once per date: a segment is then a filter
    # (rows of equal keys are none: the order of what a filter keeps is the CLI's)
    rows = frames.cached(
        ("market-view", part, when.as_of, when.known_at),
        lambda: in_order(compute(snap, when.as_of, when.known_at)).collect(),
    )
    if label is not None:
        rows = rows.filter(pl.col("financial_year") == label)
    if category is not None:
        rows = rows.filter(pl.col("service_category") == category)
    if commissioner is not None:
        rows = rows.filter(pl.col("commissioner_id") == commissioner)
    return rows.select(columns)


def one_segment(rows: pl.DataFrame, category: str | None, commissioner: str | None) -> pl.DataFrame:
    """The rows of exactly one segment: the category (all of them when None) across the
    commissioner (all of them when None); the market page shows one segment at a time."""
    by_category = (
        pl.col("service_category").is_null()
        if category is None
        else pl.col("service_category") == category
    )
    by_commissioner = (
        pl.col("commissioner_id").is_null()
        if commissioner is None
        else pl.col("commissioner_id") == commissioner
    )
    if category is None and commissioner is None:  # the whole market: every category summed
        return rows.filter(by_commissioner & pl.col("service_category").is_not_null())
    return rows.filter(by_category & by_commissioner)


def stats(frames: Frames) -> pl.DataFrame:
    """`cledger stats`: events by type."""
    from domain.catalogue import CATALOGUE

    counts = dict(frames.frame().group_by("type").len().collect().iter_rows())
    rows = [{"type": t, "events": counts[t]} for t in CATALOGUE if t in counts]
    rows.append({"type": "total", "events": sum(counts.values())})
    return pl.DataFrame(rows, schema={"type": pl.String, "events": pl.Int64})


# -- the home page --------------------------------------------------------------------------------
def glance(frames: Frames, when: When) -> dict[str, Any]:
    """The ledger at a glance on the date: agreements open and ended, providers and
    commissioners holding agreements, spend in the financial year of the date, red flags and
    decisions due in 6 months."""
    from projections.briefing import fy_text

    def compute() -> dict[str, Any]:
        register = agreements(frames, when)
        by_status = dict(register.group_by("status").len().iter_rows())
        ended = sum(
            by_status.get(s, 0)
            for s in ("terminated", "decommissioned", "expired", "ended_without_record")
        )
        opened = sum(by_status.get(s, 0) for s in ("active", "not_started", "lapsed"))
        providers = names(frames, when, "providers")
        commissioners = names(frames, when, "commissioners")
        year = when.as_of.year if when.as_of.month >= 4 else when.as_of.year - 1
        conc = market_view(frames, when, "concentration", year=fy_text(year))
        spend = conc.filter(
            pl.col("commissioner_id").is_null() & pl.col("service_category").is_not_null()
        )["spend"].sum()
        return {
            "agreements_open": opened,
            "agreements_ended": ended,
            "agreements_active": by_status.get("active", 0),
            "agreements_lapsed": by_status.get("lapsed", 0),
            "providers": int((providers["held"] > 0).sum()),
            "providers_known": providers.height,
            "commissioners": int((commissioners["held"] > 0).sum()),
            "commissioners_known": commissioners.height,
            "financial_year": fy_text(year),
            "spend": round(float(spend or 0.0), 2),
            "flags": continuity_view(frames, when, "flags").height,
            "due": continuity_view(frames, when, "pipeline", months=6).height,
        }

    result: dict[str, Any] = frames.cached(("glance", when.as_of, when.known_at), compute)
    return result


def warm(frames: Frames, when: When) -> None:
    """Compute the views a reader opens first (the home page's figures and the whole market
    of the date), so that on a large ledger the first visitor does not wait for them: `cledger
    serve` runs this for today in the background as it starts. Results land in the frames'
    cache, which a request then finds."""
    glance(frames, when)
    for part in ("market", "concentration", "mix", "entry-exit"):
        market_view(frames, when, part)
