"""Import rate: the ledger's native import against baselines measured in the same run.

    uv run python benchmarks/import_rate.py                     # 200,000 generated events
    uv run python benchmarks/import_rate.py --input /work/bench/england-1000000.jsonl --repeat 1
    uv run python benchmarks/import_rate.py --events 50000 --no-postgres --repeat 3

Every contender runs in a process of its own, as `cledger import` does, so that its CPU seconds
(user + system), wall time and peak memory (maximum resident set) are its own; contenders are
run in turns (`--repeat` rounds), so drift in a shared machine's speed falls on all of them, and
the median of each is reported.

Baselines, on the same lines:
- bare: orjson.loads each line + one executemany of (event_id, type, line) in one transaction
  (SQLite), or psycopg COPY of the same rows (PostgreSQL); a primary key on event_id, since an
  importer that can be re-run must recognise what it already holds.
- rows only: the rows the ledger's import stored (the library's stored events and the event-id
  index), read back and written again with plain executemany (SQLite) or COPY (PostgreSQL) into
  the same schema: the write no importer of these rows can avoid.
- parse only (SQLite group, no store): reading every line, orjson.loads, the catalogue's parse
  and validation of every field, and the content digest: what any import of these lines through
  the catalogue pays before a rule is checked or a row written.
- naive (up to 20,000 events, or with `--naive`: one commit per event takes hours at England
  sizes on a busy disk):
  the eventsourcing library used plainly, one aggregate per subject and one `save()` per event
  (SQLite).
The ledger's import checks every rule and writes the library's rows and the event-id index in
one transaction, in slices of `--slice` events (infra.interop.native.import_file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG = os.environ.get("CLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


# -- the contenders (each runs in a child process) ----------------------------------------------
def bare_sqlite(path: Path, work: Path) -> None:
    conn = sqlite3.connect(work / f"bare-{uuid.uuid4().hex[:6]}.db")
    conn.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, type TEXT, body BLOB)")
    with conn, path.open("rb") as handle:
        batch: list[tuple[str, str, bytes]] = []
        for line in handle:
            o = orjson.loads(line)
            batch.append((o["event_id"], o["type"], line))
            if len(batch) == 20_000:
                conn.executemany("INSERT INTO events VALUES (?,?,?)", batch)
                batch = []
        conn.executemany("INSERT INTO events VALUES (?,?,?)", batch)
    conn.close()


def bare_postgres(path: Path, work: Path) -> None:
    import psycopg

    with psycopg.connect(fresh_pg("cledger_bench_bare")) as conn:
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


def ledger_sqlite(path: Path, work: Path, slice_size: int) -> None:
    ledger_import(path, f"sqlite:///{work}/ledger.db", slice_size)


def ledger_postgres(path: Path, work: Path, slice_size: int) -> None:
    ledger_import(path, fresh_pg("cledger_bench_ledger"), slice_size)


def ledger_import(path: Path, store: str, slice_size: int) -> None:
    from infra.bootstrap import open_ledger
    from infra.interop.native import import_file

    ledger = open_ledger(store)
    report = import_file(ledger, path, slice_size=slice_size)
    ledger.close()
    print(json.dumps({"recorded": report.recorded}), file=sys.stderr)


def rows_only_sqlite(path: Path, work: Path) -> None:
    """The ledger's own rows (read back first, not timed) written again by plain executemany."""
    source = sqlite3.connect(work / "ledger.db")
    rows = source.execute("SELECT * FROM stored_events ORDER BY rowid").fetchall()
    index = source.execute("SELECT * FROM ledger_event_ids").fetchall()
    schema = [r[0] for r in source.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
    source.close()
    started = _usage()
    conn = sqlite3.connect(work / f"rows-{uuid.uuid4().hex[:6]}.db")
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in schema:
        conn.execute(statement)
    with conn:
        for start in range(0, len(rows), 20_000):
            conn.executemany(
                "INSERT INTO stored_events VALUES (?,?,?,?)", rows[start : start + 20_000]
            )
        for start in range(0, len(index), 20_000):
            conn.executemany(
                "INSERT INTO ledger_event_ids VALUES (?,?,?,?)", index[start : start + 20_000]
            )
    conn.close()
    _report_since(started)


def rows_only_postgres(path: Path, work: Path) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/cledger_bench_ledger") as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM ledger_events "
            "ORDER BY notification_id"
        ).fetchall()
        index = conn.execute("SELECT * FROM ledger_event_ids").fetchall()
    started = _usage()
    with psycopg.connect(fresh_pg("cledger_bench_rows")) as conn:
        conn.execute(
            "CREATE TABLE ledger_events (originator_id uuid NOT NULL, originator_version bigint "
            "NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY "
            "(originator_id, originator_version))"
        )
        conn.execute("CREATE UNIQUE INDEX ON ledger_events (notification_id)")
        conn.execute(
            "CREATE TABLE ledger_event_ids (event_id text PRIMARY KEY, originator_id uuid NOT "
            "NULL, type text NOT NULL, digest text NOT NULL)"
        )
        with conn.cursor() as cur:
            with cur.copy(
                "COPY ledger_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy("COPY ledger_event_ids FROM STDIN") as copy:
                for row in index:
                    copy.write_row(row)
        conn.commit()
    _report_since(started)


def parse_only(path: Path, work: Path) -> None:
    """What the catalogue does for every line before any rule: read, orjson.loads, parse and
    validate every field (domain.catalogue.parse_event), and the content digest."""
    import gc

    from domain.catalogue import parse_event

    gc.disable()  # as the import runs
    with path.open("rb") as handle:
        for line in handle:
            parse_event(orjson.loads(line)).digest()


def naive(path: Path, work: Path) -> None:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Subject(Aggregate):
        @event("Registered")
        def __init__(self, key: str) -> None:
            self.key = key
            self.bodies: list[dict[str, Any]] = []

        @event("Recorded")
        def record(self, body: dict[str, Any]) -> None:
            self.bodies.append(body)

    keys = ("agreement_id", "provider_id", "commissioner_id", "from_lead", "corrects", "rescinds")
    app: Application[uuid.UUID] = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(work / "naive.db")}
    )
    subjects: dict[str, Subject] = {}
    with path.open("rb") as handle:
        for line in handle:
            body = orjson.loads(line)
            key = next(str(body[k]) for k in keys if k in body)
            subject = subjects.get(key)
            if subject is None:
                subject = subjects[key] = Subject(key)
            subject.record(body)
            app.save(subject)


def fresh_pg(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


CONTENDERS: dict[str, Callable[..., None]] = {
    "bare_sqlite": bare_sqlite,
    "ledger_sqlite": ledger_sqlite,
    "rows_sqlite": rows_only_sqlite,
    "naive_sqlite": naive,
    "parse_only": parse_only,
    "bare_postgres": bare_postgres,
    "ledger_postgres": ledger_postgres,
    "rows_postgres": rows_only_postgres,
}


# -- measuring --------------------------------------------------------------------------------
def _usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, time.perf_counter()


def _report_since(started: tuple[float, float]) -> None:
    cpu, wall = _usage()
    print(json.dumps({"cpu": cpu - started[0], "wall": wall - started[1]}), file=sys.stderr)


def child(name: str, path: Path, work: Path, slice_size: int) -> None:
    """Run one contender in this process and print its figures as JSON (stdout)."""
    import gc

    gc.collect()
    fn = CONTENDERS[name]
    cpu0, wall0 = _usage()
    if name.startswith("ledger"):
        fn(path, work, slice_size)
    else:
        fn(path, work)
    cpu, wall = _usage()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"cpu": cpu - cpu0, "wall": wall - wall0, "peak": peak}))


def measure(name: str, path: Path, work: Path, slice_size: int) -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            name,
            "--input",
            str(path),
            "--work",
            str(work),
            "--slice",
            str(slice_size),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    for line in done.stderr.splitlines():  # a contender's own timing of its part, when it has one
        if line.startswith("{") and '"cpu"' in line:
            figures.update({f"own_{k}": v for k, v in json.loads(line).items()})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--input", type=Path, help="a native file to use instead of generating")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--naive", action="store_true", help="also run the naive baseline")
    parser.add_argument(
        "--no-rows",
        action="store_true",
        help="skip the rows-only writer (it holds every row in memory: about 1 GB a million)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every contender in turn")
    parser.add_argument("--slice", type=int, default=20_000, help="events per slice")
    parser.add_argument("--work", type=Path, help="folder for the stores (default: a temp dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="cledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child, args.input, work, args.slice)
        return
    path = args.input or work / "england.jsonl"
    if args.input is None:
        from infra.generator.england import write_england

        print(f"generating {args.events:,} England-scale events ...", flush=True)
        write_england(path, events=args.events)
    n = sum(1 for _ in path.open("rb"))
    print(
        f"{n:,} events in {path} ({path.stat().st_size / 1e6:,.0f} MB); {args.repeat} rounds, "
        f"contenders in turns, each in a process of its own; slices of {args.slice:,}"
    )
    groups = []
    if not args.no_sqlite:
        names = ["bare_sqlite", "ledger_sqlite", "parse_only"]
        names += [] if args.no_rows else ["rows_sqlite"]
        if args.naive or n <= 20_000:
            names.append("naive_sqlite")
        groups.append(("SQLite", names))
    if not args.no_postgres:
        names = ["bare_postgres", "ledger_postgres"] + ([] if args.no_rows else ["rows_postgres"])
        groups.append(("PostgreSQL", names))
    for title, names in groups:
        results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for round_ in range(args.repeat):
            for name in names:
                for f in work.glob("ledger.db*") if name == "ledger_sqlite" else ():
                    f.unlink()
                results[name].append(measure(name, path, work, args.slice))
                r = results[name][-1]
                print(
                    f"  round {round_ + 1} {name:<16} cpu {r['cpu']:8.2f} s  wall "
                    f"{r['wall']:8.2f} s  peak {r['peak'] / 2**20:8,.0f} MiB",
                    flush=True,
                )
        report(title, n, results)


def report(title: str, n: int, results: dict[str, list[dict[str, float]]]) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    kind = "sqlite" if title == "SQLite" else "postgres"
    bare, ours, rows = f"bare_{kind}", f"ledger_{kind}", f"rows_{kind}"
    print(f"\n{title} (median of {len(results[ours])})")
    print(f"  {'':<22}{'events/s':>12}{'CPU s':>10}{'wall s':>10}{'peak MiB':>10}")
    for name in results:
        cpu_key = "own_cpu" if name.startswith("rows") else "cpu"
        wall_key = "own_wall" if name.startswith("rows") else "wall"
        print(
            f"  {name:<22}{n / med(name, wall_key):>12,.0f}{med(name, cpu_key):>10.2f}"
            f"{med(name, wall_key):>10.2f}{med(name, 'peak') / 2**20:>10,.0f}"
        )
    target = 0.2
    print(
        f"  ledger / bare  = {med(bare, 'wall') / med(ours, 'wall'):.3f} by wall time, "
        f"{med(bare, 'cpu') / med(ours, 'cpu'):.3f} by CPU time   (target >= {target})"
    )
    if rows in results:
        share = med(rows, "own_cpu") / med(ours, "cpu")
        print(
            f"  the library's rows written alone: {med(rows, 'own_cpu'):.2f} s CPU, "
            f"{share:.0%} of the import's CPU ({med(rows, 'own_wall'):.2f} s wall)"
        )
    if "parse_only" in results:
        share = med("parse_only", "cpu") / med(ours, "cpu")
        print(
            f"  reading, parsing and digesting every line alone (the catalogue's work): "
            f"{med('parse_only', 'cpu'):.2f} s CPU, {share:.0%} of the import's CPU"
        )
    if f"naive_{kind}" in results:
        naive_wall = med(f"naive_{kind}", "wall")
        print(f"  ledger / naive = {naive_wall / med(ours, 'wall'):.2f}x by wall time")


if __name__ == "__main__":
    main()
