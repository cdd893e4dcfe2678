"""Fault tests: processes killed at random points, a broker that loses everything, writers racing
the relay. Every part runs for real (`cledger relay` and `cledger project` processes, the Tansu
broker, PostgreSQL for the views and for the writers' store); every kill is SIGKILL. Seeds are
printed (set CLEDGER_TEST_SEED to repeat a run) and each test reports what it counted.

What must hold after each: every event of the store is on the topic at least once (duplicates
allowed, gaps not), and the projector's tables equal the same rows computed from the whole store.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stream_harness import (
    GROUP_FLAGS,
    Broker,
    Process,
    assert_views_equal_rebuild,
    build_demo,
    build_england,
    cledger,
    kill_mid_batch,
    native_identities,
    report,
    running_broker,
    topic_identities,
    wait_caught_up,
    writer,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EVENTS = 50_000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from running_broker(tmp_path)


@pytest.fixture(scope="module")
def england(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_england(tmp_path_factory.mktemp("england"), EVENTS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    seed = int(os.environ.get("CLEDGER_TEST_SEED") or random.randrange(1 << 31))
    report(request, f"seed {seed}")
    return random.Random(seed)


def _copy(source: Path, tmp_path: Path) -> str:
    shutil.copy(source, tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path}/ledger.db"


def _projector(bootstrap: str, views: str, log: Path, *extra: str) -> Process:
    return Process(
        ["project", "--bootstrap", bootstrap, "--views", views, *GROUP_FLAGS, *extra], log
    )


def _relay_all(store: str, bootstrap: str) -> None:
    done = cledger("--store", store, "relay", "--bootstrap", bootstrap, "--drain", "--quiet")
    assert done.returncode == 0, done.stderr


def _batches(lines: list[dict[str, object]]) -> int:
    return sum(x["event"] == "batch" for x in lines)


def _on_topic(store: str, bootstrap: str) -> tuple[int, int]:
    """Every stored event is on the topic (once or more): (messages, events)."""
    messages = topic_identities(bootstrap)
    stored = native_identities(store)
    missing = stored - {identity for _, identity in messages}
    assert not missing, f"{len(missing)} events never reached the topic"
    return len(messages), len(stored)


def test_relay_killed_at_ten_random_points(
    england: Path,
    broker: Broker,
    pg_url: str,
    tmp_path: Path,
    rng: random.Random,
    request: pytest.FixtureRequest,
) -> None:
    store = _copy(england, tmp_path)
    projector = _projector(broker.bootstrap, pg_url, tmp_path / "projector.log")
    kills, positions = 0, []
    try:
        for run in range(10):
            relay = Process(
                ["--store", store, "relay", "--bootstrap", broker.bootstrap, "--batch", "500"],
                tmp_path / f"relay-{run}.log",
            )
            # a random point: after 1 to 4 acknowledged batches (of 100 in all), a little way
            # into the next one (reading, encoding, sending or waiting for the acknowledgements)
            batches = rng.randint(1, 4)
            relay.wait_for(lambda lines, n=batches: _batches(lines) >= n)
            time.sleep(rng.uniform(0.0, 0.03))
            relay.kill()
            relay.close()
            kills += 1
            batches = [x for x in relay.lines() if x["event"] == "batch"]
            positions.append(batches[-1]["position"])
        _relay_all(store, broker.bootstrap)
        wait_caught_up(pg_url, broker.bootstrap, "cledger-views", projector)
        assert projector.terminate() == 0
    finally:
        projector.close()
    messages, events = _on_topic(store, broker.bootstrap)
    rows = assert_views_equal_rebuild(pg_url, store)
    duplicates = sum(x["duplicates"] for x in projector.lines() if x["event"] == "batch")
    report(
        request,
        f"relay SIGKILLed {kills} times (positions {positions}); {events} events, {messages} "
        f"messages on the topic, {duplicates} duplicates seen by the projector; {rows} rows "
        "equal the rebuild",
    )


def test_projector_killed_mid_batch_ten_times(
    england: Path,
    broker: Broker,
    pg_url: str,
    tmp_path: Path,
    rng: random.Random,
    request: pytest.FixtureRequest,
) -> None:
    store = _copy(england, tmp_path)
    _relay_all(store, broker.bootstrap)
    mid_batch = 0
    for run in range(10):
        projector = _projector(
            broker.bootstrap, pg_url, tmp_path / f"projector-{run}.log", "--max-records", "2000"
        )
        try:
            projector.wait_for(lambda lines: any(x["event"] == "batch" for x in lines), 120)
            time.sleep(rng.uniform(0.0, 0.5))
            mid_batch += kill_mid_batch(projector, pg_url)
        finally:
            projector.close()
    last = _projector(broker.bootstrap, pg_url, tmp_path / "projector-last.log")
    try:
        wait_caught_up(pg_url, broker.bootstrap, "cledger-views", last)
        assert last.terminate() == 0
    finally:
        last.close()
    rows = assert_views_equal_rebuild(pg_url, store)
    assert mid_batch >= 8, f"only {mid_batch} of 10 kills landed inside a batch"
    report(
        request,
        f"projector SIGKILLed 10 times, {mid_batch} of them inside an open batch transaction; "
        f"{rows} rows equal the rebuild",
    )


def test_two_projectors_in_one_group_one_killed(
    england: Path, broker: Broker, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _copy(england, tmp_path)
    _relay_all(store, broker.bootstrap)
    first = _projector(broker.bootstrap, pg_url, tmp_path / "first.log", "--max-records", "2000")
    second = _projector(broker.bootstrap, pg_url, tmp_path / "second.log", "--max-records", "2000")
    try:

        def working(lines: list[dict[str, object]]) -> bool:
            return any(x["event"] == "batch" and x["records"] for x in lines)

        first.wait_for(working, 120)
        second.wait_for(working, 120)
        assigned = [
            x["partitions"] for x in first.lines() + second.lines() if x["event"] == "assigned"
        ]
        mid_batch = kill_mid_batch(first, pg_url)
        wait_caught_up(pg_url, broker.bootstrap, "cledger-views", second)
        assert second.terminate() == 0
    finally:
        first.close()
        second.close()
    rows = assert_views_equal_rebuild(pg_url, store)
    survivor = [x for x in second.lines() if x["event"] == "batch"]
    shared = sum(int(x["from_other_members"]) for x in survivor)
    assert shared > 0, "the survivor never saw the other member's events"
    report(
        request,
        f"two members (assignments {assigned}); one SIGKILLed "
        f"{'inside a batch' if mid_batch else 'between batches'}; the survivor applied "
        f"{len(survivor)} batches and folded in {shared} events the other had stored; "
        f"{rows} rows equal the rebuild",
    )


def test_broker_restarted_and_the_relay_replays_from_the_start(
    demo: Path, broker: Broker, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _copy(demo, tmp_path)
    _relay_all(store, broker.bootstrap)
    projector = _projector(broker.bootstrap, pg_url, tmp_path / "projector.log")
    try:
        wait_caught_up(pg_url, broker.bootstrap, "cledger-views", projector)
        before = native_identities(store)
        broker.restart()  # memory storage: the topic, its offsets and the group are gone
        recorded = cledger(
            "--store",
            store,
            "record",
            "ProviderRegistered",
            "--provider-id",
            "after-the-restart",
            "--name",
            "After the Restart CIC",
            "--sector",
            "third_sector",
            "--size-band",
            "micro",
            "--recorded-by",
            "tester",
        )
        assert recorded.returncode == 0, recorded.stderr
        replay = cledger(
            "--store", store, "relay", "--bootstrap", broker.bootstrap, "--from-start", "--drain"
        )
        assert replay.returncode == 0, replay.stderr
        assert b'"replay"' in replay.stderr
        wait_caught_up(pg_url, broker.bootstrap, "cledger-views", projector)
        assert projector.terminate() == 0
    finally:
        projector.close()
    messages, events = _on_topic(store, broker.bootstrap)
    assert events == len(before) + 1
    rows = assert_views_equal_rebuild(pg_url, store)
    batches = [x for x in projector.lines() if x["event"] == "batch"]
    report(
        request,
        f"broker restarted empty; relay replayed {events} events ({messages} messages) from the "
        f"start; the running projector applied {sum(int(x['new']) for x in batches)} new events "
        f"in {len(batches)} batches; {rows} rows equal the rebuild",
    )


def test_writers_recording_into_postgresql_while_the_relay_runs(
    demo: Path, broker: Broker, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    init = cledger("--store", pg_url, "init")
    assert init.returncode == 0, init.stderr
    exported = tmp_path / "demo.jsonl"
    done = cledger("--store", f"sqlite:///{demo}", "export", str(exported))
    assert done.returncode == 0, done.stderr
    relay = Process(
        ["--store", pg_url, "relay", "--bootstrap", broker.bootstrap, "--poll", "0.05"],
        tmp_path / "relay.log",
    )
    try:
        relay.wait_for(lambda lines: any(x["event"] == "start" for x in lines))
        writers = [writer(pg_url, f"w{i}", 80, 4) for i in range(3)]
        bulk = Process(["--store", pg_url, "import", str(exported)], tmp_path / "import.log")
        for w in writers:
            assert w.wait(300) == 0
        assert bulk.wait(300) == 0, bulk.log.read_text()
        bulk.close()
        stored = native_identities(pg_url)
        relay.wait_for(
            lambda lines: (
                sum(int(x["events"]) for x in lines if x["event"] == "batch") >= len(stored)
            ),
            120,
        )
        assert relay.terminate() == 0
    finally:
        relay.close()
    messages = topic_identities(broker.bootstrap)
    on_topic = Counter(identity for _, identity in messages)
    assert set(on_topic) == stored
    batches = [x for x in relay.lines() if x["event"] == "batch"]
    report(
        request,
        f"3 writers (many small transactions) and a bulk import of {len(stored) - 3 * 242} "
        f"events into PostgreSQL while the relay ran: {len(stored)} events stored, all on the "
        f"topic ({len(messages)} messages) after {len(batches)} relay batches",
    )
