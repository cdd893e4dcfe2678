"""The event frame: the bulk loader agrees with the ledger, time and corrections are applied, and
the Parquet cache reads only what is new. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from domain.ledger import Ledger
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.store.frame_cache import FrameStore, load_event_frame
from projections import frame as F
from tests.builders import award, basics, ev, provider

T0 = dt.datetime(2014, 1, 6, 9, 0, tzinfo=dt.UTC)


def at(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


@pytest.fixture
def clocked(store_url: str) -> Iterator[tuple[Ledger, SimulatedClock]]:
    clock = SimulatedClock(T0)
    app = open_ledger(store_url, clock=clock)
    yield app, clock
    app.close()


def record(ledger: Ledger, clock: SimulatedClock, when: dt.datetime, *events: object) -> None:
    clock.set(when)
    ledger.record(events)  # type: ignore[arg-type]


def story(ledger: Ledger, clock: SimulatedClock) -> None:
    """An award with a mistyped value corrected, an award sent in error and rescinded, a
    rollover, a correction later rescinded, and a handover of a whole portfolio."""
    record(ledger, clock, at(0), *basics(), provider("rethink", sector="private"))
    record(
        ledger,
        clock,
        at(1),
        award("g-1", "2014-04-01", end="2015-03-31", value="400000.00", event_id="a1"),
        award(
            "g-2",
            "2014-04-01",
            end="2015-03-31",
            value="10000.00",
            event_id="a2",
            providers=[{"provider_id": "rethink", "role": "sole", "share": "1"}],
        ),
    )
    record(
        ledger,
        clock,
        at(2),
        ev(
            "Corrected",
            "2014-01-08",
            event_id="c1",
            corrects="a1",
            fields={"annual_value": "40000.00", "effective_on": "2014-03-15"},
            rationale="an extra zero",
        ),
        ev("Rescinded", "2014-01-08", event_id="r1", rescinds="a2", rationale="sent in error"),
    )
    record(
        ledger,
        clock,
        at(30),
        ev(
            "RolledOver",
            "2015-02-01",
            event_id="ro1",
            agreement_id="g-1",
            new_end="2016-03-31",
            annual_value="42000.00",
            rationale="performing well",
        ),
    )
    record(
        ledger,
        clock,
        at(31),
        ev(
            "Corrected",
            "2015-02-05",
            event_id="c2",
            corrects="ro1",
            fields={"annual_value": "99000.00"},
        ),
    )
    record(ledger, clock, at(32), ev("Rescinded", "2015-02-06", event_id="r2", rescinds="c2"))
    record(
        ledger,
        clock,
        at(40),
        ev(
            "HandedOver",
            "2015-04-01",
            event_id="h1",
            portfolio_of="j.smith",
            from_lead="j.smith",
            to_lead="a.khan",
            rationale="reorganisation",
        ),
    )


def normalised(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in log order (a frame's rows carry no order: the cache groups them by type), `data`
    compared as JSON values, not as text (key order and spacing may differ)."""
    return frame.sort("notification_id").with_columns(
        pl.col("data").map_elements(
            lambda s: orjson.dumps(orjson.loads(s), option=orjson.OPT_SORT_KEYS).decode(),
            return_dtype=pl.String,
        )
    )


def test_loaded_frame_is_what_the_ledger_says(clocked: tuple[Ledger, SimulatedClock]) -> None:
    ledger, clock = clocked
    story(ledger, clock)
    loaded = load_event_frame(ledger, cache=False)
    expected = F.frame_from_facts(ledger.facts())
    assert loaded.schema == F.EVENT_SCHEMA
    assert loaded.height == 11  # native events only: no Opened, Assigned or Received
    assert_frame_equal(normalised(loaded), normalised(expected))
    by_id = {r["event_id"]: r for r in loaded.to_dicts()}
    assert by_id["c1"]["subject_id"] == "g-1" and by_id["c1"]["target_id"] == "a1"
    assert by_id["r2"]["subject_id"] == "g-1"  # a rescinded correction's subject, followed twice
    assert by_id["h1"]["subject_id"] == "j.smith"
    assert by_id["h1"]["moved"] == ["g-1"]  # g-2 was rescinded: never held
    assert by_id["a1"]["recorded_at"] == at(1)
    assert by_id["a1"]["effective_on"] == dt.date(2014, 4, 1)


def test_known_at_hides_later_events(clocked: tuple[Ledger, SimulatedClock]) -> None:
    ledger, clock = clocked
    story(ledger, clock)
    frame = load_event_frame(ledger, cache=False).lazy()
    before = F.as_known_at(frame, dt.datetime(2014, 1, 7, 12))  # naive: UTC
    ids = set(before.collect()["event_id"])
    assert {"a1", "a2"} <= ids and not ids & {"c1", "r1", "ro1", "h1"}
    award_then = F.awards(F.in_force(before)).collect()
    assert sorted(award_then["annual_value"]) == [10000.0, 400000.0]  # the mistake, as then
    assert F.as_known_at(frame, None).collect().height == 11


def test_correction_replaces_fields_and_rescission_removes(
    clocked: tuple[Ledger, SimulatedClock],
) -> None:
    ledger, clock = clocked
    story(ledger, clock)
    now = F.in_force(load_event_frame(ledger, cache=False).lazy())
    awarded = F.awards(now).collect()
    assert awarded["agreement_id"].to_list() == ["g-1"]  # g-2 rescinded
    assert awarded["annual_value"][0] == 40000.0
    assert awarded["effective_on"][0] == dt.date(2014, 3, 15)  # corrected effective date
    # the correction of the rollover was itself rescinded: the rollover stands as recorded
    assert F.term_changes(now).collect()["annual_value"].to_list() == [42000.0]
    types = set(now.collect()["type"])
    assert not types & {"Corrected", "Rescinded"}
    # as of a date before the correction's own effective date, it still applies (DESIGN, Time)
    early = F.awards(F.effective_by(now, dt.date(2014, 3, 31))).collect()
    assert early["annual_value"].to_list() == [40000.0]


def test_corrections_lists_amendments_beside_their_targets(
    clocked: tuple[Ledger, SimulatedClock],
) -> None:
    ledger, clock = clocked
    story(ledger, clock)
    rows = F.corrections(load_event_frame(ledger, cache=False).lazy()).collect()
    assert rows["event_id"].to_list() == ["c1", "r1", "c2", "r2"]
    assert rows["target_type"].to_list() == [
        "GrantAwarded",
        "GrantAwarded",
        "RolledOver",
        "Corrected",
    ]
    assert rows["rescinded"].to_list() == [False, False, True, False]
    assert orjson.loads(rows["fields"][0]) == {
        "annual_value": "40000.00",
        "effective_on": "2014-03-15",
    }


def cached_frames(ledger: Ledger, tmp_path: Path) -> FrameStore:
    """The ledger's frame store: its cache beside a SQLite file, under `tmp_path` otherwise."""
    in_sqlite = "sqlite" in str(ledger.env.get("PERSISTENCE_MODULE"))
    return FrameStore(ledger, cache_root=None if in_sqlite else tmp_path)


def vary_then_rescind(ledger: Ledger, clock: SimulatedClock) -> None:
    """Two events after the story: a variation of g-1 and its rescission."""
    record(
        ledger,
        clock,
        at(50),
        ev("Varied", "2015-06-01", event_id="v1", agreement_id="g-1", annual_value="45000.00"),
        ev("Rescinded", "2015-06-02", event_id="r3", rescinds="v1"),
    )


def test_cache_reads_only_new_notifications(
    clocked: tuple[Ledger, SimulatedClock], tmp_path: Path
) -> None:
    ledger, clock = clocked
    story(ledger, clock)
    frames = cached_frames(ledger, tmp_path)
    first = frames.load()
    assert frames.last_read == 11
    again = frames.load()
    assert frames.last_read == 0
    assert_frame_equal(first, again.sort("notification_id"))
    vary_then_rescind(ledger, clock)
    updated = frames.load()
    assert frames.last_read == 2
    assert updated.height == 13
    assert_frame_equal(normalised(updated), normalised(F.frame_from_facts(ledger.facts())))
    assert updated.filter(pl.col("event_id") == "r3")["subject_id"].to_list() == ["g-1"]


def test_cache_of_a_replaced_store_is_rebuilt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    ledger = open_ledger(url)
    ledger.record([*basics(), award("g-1")])
    assert load_event_frame(url).height == 3
    ledger.close()
    (tmp_path / "ledger.db").unlink()
    ledger = open_ledger(url)
    ledger.record(basics())
    assert load_event_frame(url)["type"].to_list() == [
        "CommissionerEstablished",
        "ProviderRegistered",
    ]
    ledger.close()


def test_scan_is_the_loaded_frame_and_follows_new_events(
    clocked: tuple[Ledger, SimulatedClock], tmp_path: Path
) -> None:
    """What the CLI reads: a lazy scan of the cache equals the loaded frame, and a scan after
    new events were recorded holds them too (the cache is brought up to date first)."""
    ledger, clock = clocked
    story(ledger, clock)
    frames = cached_frames(ledger, tmp_path)
    first = frames.scan().collect()
    assert_frame_equal(first.sort("notification_id"), frames.load())
    vary_then_rescind(ledger, clock)
    scanned = frames.scan().collect()
    assert scanned.height == first.height + 2
    assert_frame_equal(normalised(scanned), normalised(F.frame_from_facts(ledger.facts())))
    # the rescission found its target's place in the log when it was loaded
    target = scanned.filter(pl.col("event_id") == "v1")["notification_id"].item()
    assert scanned.filter(pl.col("event_id") == "r3")["target_notification_id"].item() == target


def test_scan_in_force_is_the_frame_with_its_corrections_applied(
    clocked: tuple[Ledger, SimulatedClock], tmp_path: Path
) -> None:
    """The cache keeps what the corrections do (the market views read it): the scan in force
    is `in_force` of the whole frame, and stays so when later events correct, rescind or
    add to what an earlier part of the cache holds, and when the parts are compacted."""
    ledger, clock = clocked
    story(ledger, clock)
    frames = cached_frames(ledger, tmp_path)

    def same_as_in_force() -> pl.DataFrame:
        cached = frames.scan(in_force=True).collect()
        expected = F.in_force(F.frame_from_facts(ledger.facts()).lazy()).collect()
        assert_frame_equal(normalised(cached), normalised(expected))
        return cached

    first = same_as_in_force()
    assert set(first["event_id"]) & {"a2", "c1", "r1", "c2", "r2"} == set()
    assert first.filter(pl.col("event_id") == "a1")["annual_value"].item() == 40000.0
    vary_then_rescind(ledger, clock)  # a new part: a variation and its rescission
    record(
        ledger,
        clock,
        at(60),  # a correction of an award in the first part
        ev("Corrected", "2015-07-01", event_id="c3", corrects="a1", fields={"title": "Recovery"}),
    )
    now = same_as_in_force()
    assert "v1" not in set(now["event_id"])
    assert now.filter(pl.col("event_id") == "a1")["title"].item() == "Recovery"
    for i in range(14):  # one part each, until the parts are compacted into one
        record(ledger, clock, at(70 + i), provider(f"q-{i}"))
        same_as_in_force()
