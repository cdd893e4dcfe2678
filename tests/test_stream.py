"""The stream end to end on a real broker: the relay's messages, the projector's views, the view
commands reading them, clean stops. Real processes (`cledger relay`, `cledger project`), the
demo conurbation's ledger (5,000 events with mergers, abolitions, handovers and corrections
recorded along the way), views in the real PostgreSQL.

About a minute in all (each group join waits out a 3 s rebalance)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.stream_harness import (
    GROUP_FLAGS,
    Broker,
    Process,
    assert_views_equal_rebuild,
    build_demo,
    cledger,
    native_identities,
    report,
    running_broker,
    topic_identities,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    yield from running_broker(tmp_path)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo conurbation, built once for the module's tests (each copies it)."""
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def store(demo_store: Path, tmp_path: Path) -> str:
    shutil.copy(demo_store, tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path}/ledger.db"


def relay_drained(store: str, bootstrap: str, *extra: str) -> list[dict[str, object]]:
    done = cledger("--store", store, "relay", "--bootstrap", bootstrap, "--drain", *extra)
    assert done.returncode == 0, done.stderr.decode()
    return [orjson.loads(line) for line in done.stderr.splitlines() if line.startswith(b"{")]


def project_drained(views: str, bootstrap: str, tmp_path: Path) -> Process:
    p = Process(
        ["project", "--bootstrap", bootstrap, "--views", views, "--drain", *GROUP_FLAGS],
        tmp_path / "projector.log",
    )
    assert p.wait(300) == 0, p.log.read_text()
    return p


def test_relay_messages_carry_native_events_keyed_by_agreement(
    store: str, broker: Broker, request: pytest.FixtureRequest
) -> None:
    lines = relay_drained(store, broker.bootstrap)
    start = next(x for x in lines if x["event"] == "start")
    assert start["idempotent"] is True and start["acks"] == "all"
    exported = cledger("--store", store, "export")
    natives = {r["event_id"]: r for r in map(orjson.loads, exported.stdout.splitlines())}

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    parts = sorted(consumer.partitions_for_topic("ledger.events"))
    assert len(parts) == 4
    by_partition: dict[int, list[dict[str, object]]] = defaultdict(list)
    keys: dict[str, bytes] = {}
    for p in parts:
        tp = TopicPartition("ledger.events", p)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        while batch := consumer.poll(timeout_ms=2000).get(tp, []):
            for r in batch:
                message = orjson.loads(r.value)
                by_partition[p].append(message)
                keys[f"{p}:{r.offset}"] = r.key
    consumer.close()

    agreement_partition: dict[str, int] = {}
    seen: set[str] = set()
    for p, messages in by_partition.items():
        ids = [int(str(m["notification_id"])) for m in messages]
        assert ids == sorted(ids), f"partition {p} is out of log order"
        for m in messages:
            assert set(m) >= {
                "notification_id",
                "originator_id",
                "version",
                "event_id",
                "type",
                "effective_on",
                "recorded_at",
                "payload",
            }
            assert m["payload"] == natives[str(m["event_id"])]  # FORMAT.md names, as exported
            seen.add(str(m["event_id"]))
            if m["subject"] == "agreement":
                assert agreement_partition.setdefault(str(m["subject_id"]), p) == p
    assert seen == set(natives)
    # organisation and handover events reach every partition; an agreement's only its own
    elsewhere = {
        str(m["event_id"])
        for msgs in by_partition.values()
        for m in msgs
        if m["subject"] != "agreement"
    }
    for messages in by_partition.values():
        assert elsewhere <= {str(m["event_id"]) for m in messages}
    assert len(agreement_partition) > 1000
    keyed = {k for k in keys.values()}
    assert {a.encode() for a in agreement_partition} <= keyed
    report(
        request,
        f"checked {len(natives)} events on {len(parts)} partitions; {len(elsewhere)} "
        "organisation and handover events on every partition",
    )


def test_relay_resumes_from_its_stored_position(
    store: str, broker: Broker, request: pytest.FixtureRequest
) -> None:
    first = relay_drained(store, broker.bootstrap)
    published = sum(int(str(x["events"])) for x in first if x["event"] == "batch")
    again = relay_drained(store, broker.bootstrap)
    assert not [x for x in again if x["event"] == "batch"], "a clean restart re-sent events"
    record = cledger(
        "--store",
        store,
        "record",
        "Extended",
        "--agreement-id",
        _some_open_agreement(store),
        "--new-end",
        (dt.date.today() + dt.timedelta(days=4000)).isoformat(),
        "--rationale",
        "bridging while the service is re-tendered",
        "--recorded-by",
        "tester",
    )
    assert record.returncode == 0, record.stderr
    lag = cledger("--store", store, "lag", "--bootstrap", broker.bootstrap, "--format", "json")
    assert lag.returncode == 0, lag.stderr
    relay_rows = [r for r in orjson.loads(lag.stdout) if r["part"] == "relay"]
    assert len(relay_rows) == 4 and sorted(r["behind"] for r in relay_rows) == [0, 0, 0, 1]
    third = relay_drained(store, broker.bootstrap)
    assert sum(int(str(x["events"])) for x in third if x["event"] == "batch") == 1
    messages = topic_identities(broker.bootstrap)
    assert len(messages) == len(set(messages)), "a partition holds a message twice"
    assert {identity for _, identity in messages} == native_identities(store)
    report(request, f"published {published} + 1 events, {len(messages)} messages, none twice")


def _some_open_agreement(store: str) -> str:
    done = cledger("--store", store, "agreements", "--status", "active", "--format", "json")
    rows = orjson.loads(done.stdout)
    return str(sorted(rows, key=lambda r: r["end"])[-1]["agreement_id"])


def test_views_equal_the_rebuild_and_every_view_command_reads_them(
    store: str, broker: Broker, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    relay_drained(store, broker.bootstrap)
    project_drained(pg_url, broker.bootstrap, tmp_path)
    rows = assert_views_equal_rebuild(pg_url, store)

    held = orjson.loads(cledger("--store", store, "continuity", "--format", "json").stdout)
    leads = [r["responsible_lead"] for r in held if r["responsible_lead"]]
    lead = max(set(leads), key=leads.count)
    # `export --format csv` writes every view's file byte for byte as `cledger <view> --format
    # csv` does; the single commands check the other formats and options
    commands = [
        ["market", "--format", "json"],
        ["pipeline", "--months", "18", "--format", "csv"],
        ["brief", "--lead", lead],
        ["brief", "--commissioner", "kelham-cc", "--format", "json"],
    ]
    compared = 0
    for args in commands:
        rebuilt = cledger("--store", store, *args)
        read = cledger("--store", store, *args, "--views", pg_url)
        assert rebuilt.returncode == 0 and read.returncode == 0, read.stderr
        assert read.stdout == rebuilt.stdout, f"cledger {' '.join(args)} differs"
        assert b"rebuilt" not in read.stderr
        compared += len(read.stdout)
    files = 0
    for fmt, name in (("csv", "views"), ("xlsx", "views.xlsx")):
        out = [tmp_path / "rebuilt" / name, tmp_path / "read" / name]
        done = [
            cledger("--store", store, "export", "--format", fmt, "--output", str(out[0])),
            cledger(
                "--store",
                store,
                "export",
                "--format",
                fmt,
                "--output",
                str(out[1]),
                "--views",
                pg_url,
            ),
        ]
        assert all(d.returncode == 0 for d in done), done[1].stderr
        if fmt == "xlsx":
            assert _sheets(out[0]) == _sheets(out[1])
            files += 1
            continue
        for f in sorted(out[0].iterdir()):
            assert (out[1] / f.name).read_bytes() == f.read_bytes(), f.name
            compared += f.stat().st_size
            files += 1
    past = ["market", "--as-of", "2015-03-31", "--format", "csv"]
    rebuilt = cledger("--store", store, *past)
    read = cledger("--store", store, *past, "--views", pg_url)
    assert read.stdout == rebuilt.stdout
    assert b"--as-of 2015-03-31 is not today" in read.stderr and b"rebuilt" in read.stderr
    report(
        request,
        f"{rows} stored rows equal the rebuild; {len(commands)} commands and {files} exported "
        f"files read from the views equal the rebuild ({compared} bytes)",
    )


def _sheets(path: Path) -> list[list[tuple[object, ...]]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]


def test_relay_and_projector_stop_cleanly_on_sigterm(
    store: str, broker: Broker, tmp_path: Path
) -> None:
    views = f"sqlite:///{tmp_path}/views.db"
    relay = Process(
        ["--store", store, "relay", "--bootstrap", broker.bootstrap], tmp_path / "r.log"
    )
    projector = Process(
        ["project", "--bootstrap", broker.bootstrap, "--views", views, *GROUP_FLAGS],
        tmp_path / "p.log",
    )
    try:
        relay.wait_for(lambda lines: any(x["event"] == "batch" for x in lines))
        projector.wait_for(lambda lines: any(x["event"] == "batch" and x["new"] for x in lines))
        assert relay.terminate() == 0
        assert projector.terminate() == 0
        assert relay.lines()[-1]["event"] == "stop" and relay.lines()[-1]["signal"] == "SIGTERM"
        assert projector.lines()[-1]["event"] == "stop"
    finally:
        relay.close()
        projector.close()
