"""`cledger agreements` reads the event frame (`projections.register`), not the aggregates: its
rows must be those of the domain's own fold (`domain.register.build_register`, what the command
printed before), for every status and filter, on the generated conurbation, the golden story
and the hand-built story (corrections, rescissions, back-filled records, handovers of whole
portfolios, restructures), as of several dates and as known at several times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from domain.register import ENDED_STATUSES, STATUSES, RegisterEntry, build_register
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from infra.render.tables import money_text
from projections.frame import frame_from_facts
from projections.register import REGISTER_COLUMNS, agreements_list
from projections.standing import Snapshot
from tests import story as hand_story
from tests.test_golden import golden_events

FILTERS = [None, *STATUSES, "ended", "open"]


def old_rows(
    entries: list[RegisterEntry],
    *,
    commissioner: str | None = None,
    provider: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """What `cledger agreements` printed before it read the frame: the filters of its loop."""
    rows = []
    for e in entries:
        if commissioner and commissioner not in {
            c["commissioner_id"] for c in e.terms.commissioners
        }:
            continue
        if provider and provider not in {p["provider_id"] for p in e.terms.providers}:
            continue
        row = e.row()
        if category and row["service_category"] != category:
            continue
        if status == "ended" and e.status not in ENDED_STATUSES:
            continue
        if status == "open" and e.status in ENDED_STATUSES | {"rescinded"}:
            continue
        if status not in (None, "ended", "open") and e.status != status:
            continue
        rows.append(row)
    return rows


def new_rows(snap: Snapshot, **filters: str | None) -> list[dict[str, Any]]:
    """The frame's rows as the CLI writes them (money with two decimals, dates ISO)."""
    got = agreements_list(snap, **filters).collect()
    assert got.columns == list(REGISTER_COLUMNS)
    shown = got.with_columns(
        money_text(pl.col("annual_value")).alias("annual_value"),
        pl.col("start", "end").cast(pl.String),
    )
    return shown.to_dicts()


def _compare(facts: list[Any], days: list[dt.date], times: list[dt.datetime | None]) -> int:
    frame = frame_from_facts(facts).lazy()
    compared = 0
    for known in times:
        for day in days:
            entries = build_register(facts, as_of=day, known_at=known)
            snap = Snapshot.of(frame, day, known)
            for status in FILTERS:
                want = old_rows(entries, status=status)
                assert new_rows(snap, status=status) == want, (day, known, status)
                compared += len(want)
            sample = [e for e in entries if e.terms.award][:: max(1, len(entries) // 7)]
            for e in sample:
                for key, value in (
                    ("commissioner", e.terms.commissioners[-1]["commissioner_id"]),
                    ("provider", e.terms.providers[-1]["provider_id"]),
                    ("category", e.row()["service_category"]),
                ):
                    want = old_rows(entries, **{key: value})
                    assert new_rows(snap, **{key: value}) == want, (day, known, key, value)
                    compared += len(want)
    return compared


@pytest.fixture(scope="module")
def conurbation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    events = generate(seed=2013, today=dt.date(2025, 6, 1))
    clock = SimulatedClock(events[0].recorded_at)
    path = tmp_path_factory.mktemp("conurbation") / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}", clock=clock)
    build(ledger, clock, events)
    yield list(ledger.facts())
    ledger.close()


@pytest.mark.slow
def test_the_conurbation_lists_the_same_agreements(conurbation: list[Any]) -> None:
    recorded = sorted(f.recorded_at for f in conurbation)
    middle = recorded[len(recorded) // 2]
    days = [dt.date(2008, 3, 31), dt.date(2013, 4, 1), dt.date(2019, 3, 31), dt.date(2025, 6, 1)]
    assert _compare(conurbation, days, [None, middle]) > 1_000


def test_the_golden_story_lists_the_same_agreements(tmp_path: Any) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/golden.db")
    ledger.record(golden_events())
    facts = list(ledger.facts())
    ledger.close()
    days = [dt.date(2014, 1, 1), dt.date(2015, 6, 30), dt.date(2016, 3, 31), dt.date(2018, 1, 1)]
    assert _compare(facts, days, [None]) > 20


def test_the_hand_built_story_lists_the_same_agreements(tmp_path: Any) -> None:
    """Corrections, a rescinded award, back-filled records: as known before and after them."""
    clock = SimulatedClock(hand_story.T0)
    ledger = open_ledger(f"sqlite:///{tmp_path}/story.db", clock=clock)
    hand_story.record_story(ledger, clock)
    facts = list(ledger.facts())
    ledger.close()
    days = [dt.date(2006, 1, 1), hand_story.AS_OF, dt.date(2015, 12, 31), dt.date(2020, 1, 1)]
    times = [None, hand_story.BETWEEN, hand_story.T0]
    statuses = {e.status for e in build_register(facts, as_of=hand_story.AS_OF)}
    assert {"active", "rescinded"} <= statuses
    assert _compare(facts, days, times) > 20


def test_history_from_the_frame_is_the_aggregate_history_and_the_handovers(
    conurbation: list[Any],
) -> None:
    """`cledger history` from the frame: the agreement's own events exactly as the aggregate's
    history gave them (corrections nested), and besides them only the handovers that moved it
    (with their own corrections), each in its place in recorded order."""
    from domain.history import agreement_history
    from domain.timeline import Fact
    from projections.history import history_rows

    frame = frame_from_facts(conurbation).lazy()
    owner: dict[str, str] = {}
    for f in conurbation:
        key = f.event.data.get("corrects") or f.event.data.get("rescinds")
        owner[f.event.event_id] = owner.get(key or "", "") if key else (f.event.subject_id or "")
    handed = [f for f in conurbation if f.event.type == "HandedOver"]
    moved = {a for f in handed for a in f.moved}
    picked = sorted(moved)[:: max(1, len(moved) // 12)][:12]
    assert picked
    for agreement in picked:
        own = [
            Fact(f.notification_id, f.event, f.recorded_at)
            for f in conurbation
            if owner.get(f.event.event_id) == agreement
        ]
        before = []
        for line in agreement_history(own):
            for depth, item in [(0, line)] + [(1, a) for a in line.amendments]:
                before.append(("  ↳ " if depth else "") + item.fact.event.event_id)
        rows = history_rows(frame, agreement)
        theirs = {f.event.event_id for f in handed if agreement in f.moved}
        extra = [r["event_id"] for r in rows if r["event_id"].removeprefix("  ↳ ") not in
                 {f.event.event_id for f in own}]  # fmt: skip
        assert [r["event_id"] for r in rows if r["event_id"] not in extra] == before
        assert {e for e in extra if not e.startswith("  ↳ ")} == theirs
        assert all(r["recorded_at"] for r in rows)
