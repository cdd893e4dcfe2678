"""A real `cledger import` process killed (SIGKILL) at several moments while it writes leaves the
store exactly as it was, and the same import then succeeds: one import is one transaction, on
SQLite and on PostgreSQL. (About 40 s on SQLite, 60 s on PostgreSQL, on a quiet machine less.)"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from infra.bootstrap import open_ledger
from infra.generator import write_england
from infra.interop.native import import_file
from tests.builders import award, basics
from tests.test_bulk_equivalence import rows

MIB = 2**20
KILL_AT = (1 * MIB, 6 * MIB, 14 * MIB)  # how far the store has grown (uncommitted) when killed


def growth(store_url: str) -> Callable[[], int]:
    """Bytes the import has written so far, committed or not: the SQLite write-ahead log, or
    the PostgreSQL events table with its indexes."""
    if store_url.startswith("sqlite"):
        wal = Path(store_url.removeprefix("sqlite:///") + "-wal")
        return lambda: wal.stat().st_size if wal.exists() else 0
    conn = psycopg.connect(store_url, autocommit=True)
    return lambda: conn.execute("SELECT pg_total_relation_size('ledger_events')").fetchone()[0]


@pytest.mark.slow
def test_a_killed_import_leaves_the_store_as_it_was(store_url: str, tmp_path: Path) -> None:
    ledger = open_ledger(store_url)
    ledger.record([*basics(), award("g-1")])  # a store with something in it already
    before = rows(ledger)
    path = tmp_path / "england.jsonl"
    written = write_england(path, seed=5, events=60_000, today=dt.date(2025, 6, 1))
    measure = growth(store_url)
    for kill_at in KILL_AT:
        start = measure()
        child = subprocess.Popen(
            [sys.executable, "-m", "infra", "--store", store_url, "import", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while measure() - start < kill_at:
            assert child.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        assert rows(ledger) == before, f"killed after {kill_at} bytes"
    report = import_file(ledger, path)
    assert report.recorded == written
    assert len(rows(ledger)[1]) == written + len(before[1])
    ledger.close()
