"""Import rate: the ledger's native import against two baselines measured in the same run.

    uv run python benchmarks/import_rate.py                  # 200,000 events, SQLite + PostgreSQL
    uv run python benchmarks/import_rate.py --events 50000 --no-postgres

Baselines, on the same lines:
- bare: json.loads each line + one executemany of (event_id, type, body) in one transaction
  (SQLite), or psycopg COPY of the same rows (PostgreSQL). A primary key on event_id, since an
  importer that can be re-run must recognise what it already holds.
- naive: the eventsourcing library used plainly: one aggregate per subject, kept in memory, and
  one `save()` per event (SQLite).
The ledger's import checks every rule of the domain and writes the library's own rows plus the
event-id index, in one transaction.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.bootstrap import open_ledger  # noqa: E402
from infra.interop.native import import_events, read_events  # noqa: E402

PG = os.environ.get("CLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def timed(label: str, fn: Any) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<44} {seconds:8.2f} s", flush=True)
    return seconds


def bare_sqlite(path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, type TEXT, body BLOB)")
    with path.open("rb") as handle:
        rows = [(o["event_id"], o["type"], line) for line in handle for o in (orjson.loads(line),)]
    with conn:
        conn.executemany("INSERT INTO events VALUES (?,?,?)", rows)
    conn.close()


def bare_postgres(path: Path, url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE events (event_id text PRIMARY KEY, type text, body bytea)")
        with (
            path.open("rb") as handle,
            conn.cursor() as cur,
            cur.copy("COPY events (event_id, type, body) FROM STDIN") as copy,
        ):
            for line in handle:
                o = orjson.loads(line)
                copy.write_row((o["event_id"], o["type"], line))
        conn.commit()


class Subject(Aggregate):
    """What a plain user of the library would write: one aggregate per subject."""

    @event("Registered")
    def __init__(self, key: str) -> None:
        self.key = key
        self.bodies: list[dict[str, Any]] = []

    @event("Recorded")
    def record(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)


SUBJECT_KEYS = (
    "agreement_id",
    "provider_id",
    "commissioner_id",
    "from_lead",
    "corrects",
    "rescinds",
)


def naive(path: Path, db: Path) -> None:
    app: Application[uuid.UUID] = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
    )
    subjects: dict[str, Subject] = {}
    with path.open("rb") as handle:
        for line in handle:
            body = orjson.loads(line)
            key = next(str(body[k]) for k in SUBJECT_KEYS if k in body)
            subject = subjects.get(key)
            if subject is None:
                subject = subjects[key] = Subject(key)
            subject.record(body)
            app.save(subject)


def ledger_import(path: Path, store: str) -> None:
    ledger = open_ledger(store)
    import_events(ledger, path, read_events(path))
    ledger.close()


def fresh_pg(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--input", type=Path, help="a native file to use instead of generating")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cledger-bench-"))
    path = args.input or work / "england.jsonl"
    if args.input is None:
        from infra.generator.england import write_england

        print(f"generating {args.events:,} England-scale events ...", flush=True)
        write_england(path, events=args.events)
    n = sum(1 for _ in path.open("rb"))
    print(f"{n:,} events in {path}\n\nSQLite")
    bare = timed("bare: json.loads + executemany", lambda: bare_sqlite(path, work / "bare.db"))
    naive_s = timed(
        "naive eventsourcing: one save() per event", lambda: naive(path, work / "naive.db")
    )
    ours = timed(
        "ledger import, every rule checked",
        lambda: ledger_import(path, f"sqlite:///{work}/ledger.db"),
    )
    print(f"\n  {'bare':<12}{n / bare:>12,.0f} events/s")
    print(f"  {'naive':<12}{n / naive_s:>12,.0f} events/s")
    print(f"  {'ledger':<12}{n / ours:>12,.0f} events/s")
    print(f"  ledger / bare  = {bare / ours:.3f}   (target >= 0.2)")
    print(f"  ledger / naive = {naive_s / ours:.2f}x  (target >= 2.5x)")
    if not args.no_postgres:
        print("\nPostgreSQL")
        pg_bare = timed(
            "bare: psycopg COPY", lambda: bare_postgres(path, fresh_pg("cledger_bench_bare"))
        )
        pg_ours = timed(
            "ledger import, every rule checked",
            lambda: ledger_import(path, fresh_pg("cledger_bench_ledger")),
        )
        print(f"\n  {'COPY':<12}{n / pg_bare:>12,.0f} events/s")
        print(f"  {'ledger':<12}{n / pg_ours:>12,.0f} events/s")
        print(f"  ledger / COPY  = {pg_bare / pg_ours:.3f}   (target >= 0.15)")


if __name__ == "__main__":
    main()
