"""Incremental == rebuild, and known_at == the events recorded by then: property tests over
generated ledgers (awards, alliances, co-commissioning, variations, rollovers, extensions,
restructures, settlements, terminations, corrections and rescissions, recorded interleaved)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from domain.catalogue import LedgerEvent, parse_event
from domain.ledger import StoredFact
from infra.bootstrap import open_ledger
from projections.frame import frame_from_facts
from projections.incremental import (
    AGREEMENT_VIEWS,
    MarketState,
    rebuild,
    rebuild_agreements,
    update,
    update_agreements,
)
from projections.market import concentration_from_market, market

PROVIDERS = ("p1", "p2", "p3", "p4")
COMMISSIONERS = ("c1", "c2", "c3")
AS_OF = dt.date(2019, 1, 1)
T0 = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _event(type_: str, day: dt.date, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "effective_on": day.isoformat(), "recorded_by": "gen", **fields}


@st.composite
def agreement_story(draw: st.DrawFn, aid: str) -> list[dict[str, Any]]:
    """One agreement's events in the order they are recorded, every domain rule kept."""
    start = dt.date(2014, 4, 1) + draw(st.integers(0, 700)) * DAY
    end = start + draw(st.integers(30, 900)) * DAY
    members = draw(st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=2, unique=True))
    payers = draw(st.lists(st.sampled_from(COMMISSIONERS), min_size=1, max_size=2, unique=True))
    shares = (
        ["1"] if len(members) == 1 else ["0.5", "0.5"] if draw(st.booleans()) else ["0.3", "0.7"]
    )
    role = "sole" if len(members) == 1 else "alliance_member"
    c_shares = ["1"] if len(payers) == 1 else ["0.6", "0.4"]
    day = start - draw(st.integers(0, 60)) * DAY
    award = _event(
        "ContractAwarded",
        day,
        event_id=f"{aid}-award",
        agreement_id=aid,
        kind="alliance" if len(members) > 1 else "contract",
        title=aid,
        service_category=draw(st.sampled_from(("advocacy", "crisis_support"))),
        commissioners=[
            {"commissioner_id": c, "share": s} for c, s in zip(payers, c_shares, strict=True)
        ],
        providers=[
            {"provider_id": p, "role": role, "share": s}
            for p, s in zip(members, shares, strict=True)
        ],
        annual_value=f"{draw(st.integers(1, 500)) * 1000}.00",
        start=start.isoformat(),
        end=end.isoformat(),
        route=draw(st.sampled_from(("competitive_tender", "direct_award", "unknown"))),
        rationale="sole provider able to start in time",
        funding_stream="social_care",
    )
    story = [award]
    for n in range(draw(st.integers(0, 5))):
        day += draw(st.integers(1, 200)) * DAY
        what = draw(
            st.sampled_from(
                ("vary", "roll", "extend", "join", "novate", "move", "settle", "end", "reprocure")
            )
        )
        eid = f"{aid}-{n}"
        money = f"{draw(st.integers(1, 500)) * 1000}.00"
        if what == "vary":
            applies = max(start, day - draw(st.integers(0, 90)) * DAY)
            story.append(
                _event(
                    "Varied",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    annual_value=money,
                    applies_from=applies.isoformat(),
                )
            )
        elif what in ("roll", "extend"):
            end += draw(st.integers(1, 730)) * DAY
            extra = {"annual_value": money} if what == "roll" and draw(st.booleans()) else {}
            story.append(
                _event(
                    "RolledOver" if what == "roll" else "Extended",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    new_end=end.isoformat(),
                    rationale="why",
                    **extra,
                )
            )
        elif what in ("join", "novate"):
            others = [p for p in PROVIDERS if p not in members]
            if not others:
                continue
            pid = draw(st.sampled_from(others))
            change = "member_joined" if what == "join" else "novated"
            members = [*members, pid] if what == "join" else [pid]
            story.append(
                _event(
                    "Restructured",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    change=change,
                    provider_id=pid,
                    related_agreements=[],
                )
            )
        elif what == "move":
            cid = draw(st.sampled_from(COMMISSIONERS))
            story.append(
                _event(
                    "Restructured",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    change="moved_commissioner",
                    commissioner_id=cid,
                    related_agreements=[],
                )
            )
        elif what == "settle":
            applies = day - draw(st.integers(0, 120)) * DAY
            story.append(
                _event(
                    "FundingResponsibilityAgreed",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    notes="settled",
                    applies_from=applies.isoformat(),
                    commissioners=[
                        {"commissioner_id": "c1", "share": "0.25"},
                        {"commissioner_id": "c2", "share": "0.75"},
                    ],
                )
            )
        elif what == "reprocure":  # links this agreement to another: one lineage
            successor = draw(st.sampled_from([f"a{i}" for i in range(4) if f"a{i}" != aid]))
            story.append(
                _event(
                    "Reprocured",
                    day,
                    event_id=eid,
                    agreement_id=aid,
                    successor_agreement_id=successor,
                    incumbent_retained=draw(st.booleans()),
                )
            )
        else:
            story.append(_event("Terminated", day, event_id=eid, agreement_id=aid, rationale="why"))
            break
    if draw(st.booleans()):  # the award's value was mistyped
        story.append(
            _event(
                "Corrected",
                day + DAY,
                event_id=f"{aid}-fix",
                corrects=award["event_id"],
                fields={"annual_value": f"{draw(st.integers(1, 500)) * 1000}.00"},
            )
        )
    varied = [e["event_id"] for e in story if e["type"] == "Varied"]
    if varied and draw(st.booleans()):
        story.append(
            _event(
                "Rescinded",
                day + 2 * DAY,
                event_id=f"{aid}-undo",
                rescinds=draw(st.sampled_from(varied)),
            )
        )
    return story


@st.composite
def ledgers(draw: st.DrawFn) -> list[LedgerEvent]:
    """A few agreements whose stories are recorded interleaved (each in its own order)."""
    header = [
        _event(
            "ProviderRegistered",
            dt.date(2010, 1, 1),
            event_id=p,
            provider_id=p,
            name=p,
            sector=draw(st.sampled_from(("third_sector", "private", "nhs"))),
            size_band="small",
        )
        for p in PROVIDERS
    ] + [
        _event(
            "CommissionerEstablished",
            dt.date(2010, 1, 1),
            event_id=c,
            commissioner_id=c,
            name=c,
            kind="council",
        )
        for c in COMMISSIONERS
    ]
    stories = [draw(agreement_story(f"a{i}")) for i in range(draw(st.integers(1, 4)))]
    turns = [i for i, s in enumerate(stories) for _ in s]
    order = draw(st.permutations(turns))
    out = list(header)
    awarded: set[str] = set()
    for i in order:
        record = stories[i].pop(0)
        if record["type"] == "ContractAwarded":
            awarded.add(record["agreement_id"])
        if record["type"] == "Reprocured" and record["successor_agreement_id"] not in awarded:
            continue  # a successor must be awarded before a re-procurement names it
        out.append(record)
    return [parse_event(r) for r in out]


def facts_of(events: list[LedgerEvent]) -> list[StoredFact]:
    return [StoredFact(n, e, T0 + n * dt.timedelta(hours=1)) for n, e in enumerate(events, start=1)]


def same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    keys = ["financial_year", "service_category", "commissioner_id"]
    keys += ["provider_id"] if "provider_id" in a.columns else []
    assert_frame_equal(
        a.sort(keys, nulls_last=True),
        b.sort(keys, nulls_last=True),
        check_exact=False,
        rel_tol=1e-9,
        abs_tol=1e-6,
    )


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=ledgers(), data=st.data())
def test_agreement_views_updated_equal_rebuilt(events: list[LedgerEvent], data: Any) -> None:
    """Continuity, pipeline and flags kept up to date batch by batch (only the agreements a
    batch reaches, with their lineages, computed again) equal the views rebuilt from all."""
    frame = frame_from_facts(facts_of(events))
    split = data.draw(st.integers(0, frame.height), label="split")
    whole = rebuild_agreements(frame, AS_OF)
    state = rebuild_agreements(frame.head(split), AS_OF)
    rest = frame.slice(split)
    while not rest.is_empty():  # in batches of a few events, as a stream delivers them
        size = data.draw(st.integers(1, 4), label="batch")
        state = update_agreements(state, rest.head(size))
        rest = rest.slice(size)
    for name in AGREEMENT_VIEWS:
        assert_frame_equal(state.views[name], whole.views[name])
    event("reprocured: " + ("yes" if frame["type"].is_in(["Reprocured"]).any() else "no"))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=ledgers(), data=st.data())
def test_update_of_a_prefix_equals_rebuild_of_all(events: list[LedgerEvent], data: Any) -> None:
    frame = frame_from_facts(facts_of(events))
    split = data.draw(st.integers(0, frame.height), label="split")
    whole = rebuild(frame, AS_OF)
    state: MarketState = update(rebuild(frame.head(split), AS_OF), frame.slice(split))
    same(state.market, whole.market)
    same(state.concentration, whole.concentration)
    event("market rows: " + ("none" if whole.market.is_empty() else "some"))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=ledgers(), data=st.data())
def test_views_known_at_t_equal_views_of_events_recorded_by_t(
    events: list[LedgerEvent], data: Any
) -> None:
    facts = facts_of(events)
    frame = frame_from_facts(facts).lazy()
    k = data.draw(st.integers(0, len(facts)), label="recorded by")
    when = T0 + k * dt.timedelta(hours=1) + dt.timedelta(minutes=30)
    recorded = frame_from_facts(facts[:k]).lazy()
    then, now = market(frame, AS_OF, when), market(recorded, AS_OF)
    same(then.collect(), now.collect())
    same(concentration_from_market(then).collect(), concentration_from_market(now).collect())


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=ledgers())
def test_generated_ledgers_keep_every_domain_rule(
    events: list[LedgerEvent], tmp_path: Path
) -> None:
    """The generator's sequences are ones the ledger itself accepts, event by event."""
    ledger = open_ledger(f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.db")
    try:
        for event in events:
            ledger.record([event])
    finally:
        ledger.close()
