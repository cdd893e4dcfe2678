"""The generators: the conurbation is deterministic, complete and valid; England files import.

Every generated event must pass the ledger's own rules, so the checks here record the output
into a fresh SQLite ledger rather than inspecting it by hand.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import orjson
import pytest

from domain.catalogue import CATALOGUE, parse_event
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import GeneratedEvent, build, generate, write_england
from infra.interop.native import import_events, read_events

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def events() -> list[GeneratedEvent]:
    return generate(seed=2013, today=TODAY)


def test_same_seed_same_history(events: list[GeneratedEvent]) -> None:
    again = generate(seed=2013, today=TODAY)
    assert [(e.recorded_at, e.record) for e in again] == [(e.recorded_at, e.record) for e in events]
    other = generate(seed=2014, today=TODAY)
    assert [e.record for e in other] != [e.record for e in events]


def test_every_event_type_appears(events: list[GeneratedEvent]) -> None:
    seen = Counter(e.record["type"] for e in events)
    assert set(CATALOGUE) <= set(seen), set(CATALOGUE) - set(seen)
    assert 3_000 <= len(events) <= 8_000


def test_records_are_native_and_in_recording_order(events: list[GeneratedEvent]) -> None:
    ids = [e.record["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    for before, after in zip(events, events[1:], strict=False):
        assert before.recorded_at <= after.recorded_at
    for e in events:
        assert e.recorded_at.tzinfo is not None
        assert e.record["effective_on"] < TODAY.isoformat()
        assert e.recorded_at.date() < TODAY
        parse_event(e.record)  # fields, money, shares and rationale rules of the format


def test_story_features_are_present(events: list[GeneratedEvent]) -> None:
    records = [e.record for e in events]
    changes = Counter(r["change"] for r in records if r["type"] == "Restructured")
    for change in (
        "merged_into",
        "split_into",
        "novated",
        "member_joined",
        "member_left",
        "subcontract_added",
        "subcontract_removed",
        "moved_commissioner",
    ):
        assert changes[change] >= 1, change
    rollovers = Counter(r["agreement_id"] for r in records if r["type"] == "RolledOver")
    assert max(rollovers.values()) >= 10
    assert any("portfolio_of" in r for r in records if r["type"] == "HandedOver")
    assert any(r.get("route") == "unknown" for r in records if r["type"].endswith("Awarded"))
    assert any("responsible_lead" not in r for r in records if r["type"].endswith("Awarded"))
    backfilled = [
        e for e in events if e.recorded_at.year == 2016 and e.record["effective_on"] < "2010-01-01"
    ]
    assert len(backfilled) >= 10


@pytest.mark.slow
def test_conurbation_records_into_a_fresh_ledger(
    events: list[GeneratedEvent], tmp_path: Path
) -> None:
    clock = SimulatedClock(events[0].recorded_at)
    ledger = open_ledger(f"sqlite:///{tmp_path}/conurbation.db", clock=clock)
    done: list[int] = []
    report = build(ledger, clock, events, progress=done.append)
    assert report.recorded == len(events) == sum(done)
    assert report.by_type == dict(Counter(e.record["type"] for e in events))
    stored = list(ledger.facts())
    assert len(stored) == len(events)
    assert [f.event.event_id for f in stored] == [e.record["event_id"] for e in events]
    for fact, generated in zip(stored, events, strict=True):
        assert abs(fact.recorded_at - generated.recorded_at) < dt.timedelta(milliseconds=10)
    ledger.close()


@pytest.mark.slow
def test_england_file_is_valid_and_imports(tmp_path: Path) -> None:
    path = tmp_path / "england.jsonl"
    progressed: list[int] = []
    written = write_england(path, seed=7, events=20_000, progress=progressed.append, today=TODAY)
    lines = path.read_bytes().splitlines()
    assert written == len(lines) == sum(progressed)
    assert 15_000 <= written <= 25_000
    records = [orjson.loads(line) for line in lines]
    ids = [r["event_id"] for r in records]
    assert len(set(ids)) == len(ids)
    types = Counter(r["type"] for r in records)
    for name in (
        "ContractAwarded",
        "GrantAwarded",
        "RolledOver",
        "Extended",
        "Varied",
        "Expired",
        "HandedOver",
        "Restructured",
        "Reprocured",
    ):
        assert types[name] > 0, name
    ledger = open_ledger(f"sqlite:///{tmp_path}/england.db")
    report = import_events(ledger, path, read_events(path))
    assert report.recorded == written
    ledger.close()


def test_england_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_england(a, seed=3, events=5_000, today=TODAY)
    write_england(b, seed=3, events=5_000, today=TODAY)
    assert a.read_bytes() == b.read_bytes()
