"""What a user waits for: every command of the README as a whole process, on England-scale
stores, warm (the frame cache up to date) and cold (no cache), CPU seconds, wall seconds and
peak memory, beside DuckDB's awards-only spend query on the same events, measured in the same
run as the yardstick.

    uv run python benchmarks/commands.py                                   # 200k and 1M stores
    uv run python benchmarks/commands.py --store /work/bench/england-1000000.db
    uv run python benchmarks/commands.py --store /work/bench/speed/england-5000000.db \\
        --events-file /work/bench/england-5000000.jsonl --repeat 1

Each store is copied into `--work` first (its cache and the refresh batches are written to the
copy, never to the original). Then, per store:
1. cold: each command with no cache (the cache folder removed before each run);
2. warm: each command with the cache up to date, `--repeat` times, in turns (every command
   once, then every command again, so that a shared machine's drift falls on all alike);
3. refresh: `--repeat` batches of 1,000 new events (copies of awards under new ids) imported,
   each followed by the probe commands (the refresh and the answer), then the same again
   warm: the difference is what bringing the cache up to date costs;
4. the yardstick: DuckDB loads the awards from the native file and computes spend per provider
   and financial year (annual value x days in the year / days in the year x the provider's
   share), in a process of its own: CPU of the query alone on the loaded table, and of the
   whole process from the file.
Figures are medians; CPU is user + system of the command's own process (`os.wait4`), which on
a machine shared with other work is steadier than wall time (the wall time is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORES = [
    Path("/work/bench/england-200000.db"),
    Path("/work/bench/england-1000000.db"),
]
AS_OF = "2019-03-31"
# name -> arguments; {agreement}, {lead}, {commissioner} and {out} are filled in per store
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "stats": ["stats"],
    "agreements --status open": ["agreements", "--as-of", AS_OF, "--status", "open"],
    "agreements --format json": ["agreements", "--as-of", AS_OF, "--format", "json"],
    "history": ["history", "{agreement}"],
    "market --year --format json": ["market", "--year", "2019/20", "--format", "json"],
    "market": ["market", "--as-of", AS_OF],
    "concentration": ["concentration", "--as-of", AS_OF],
    "diversity --part mix": ["diversity", "--part", "mix", "--as-of", AS_OF],
    "diversity --part entry-exit": ["diversity", "--part", "entry-exit", "--as-of", AS_OF],
    "diversity --part at-risk": ["diversity", "--part", "at-risk", "--as-of", AS_OF],
    "continuity": ["continuity", "--as-of", AS_OF],
    "pipeline --months 6": ["pipeline", "--months", "6", "--as-of", AS_OF],
    "flags": ["flags", "--as-of", AS_OF],
    "audit": ["audit", "{agreement}", "--as-of", AS_OF],
    "brief --lead": ["brief", "--lead", "{lead}", "--as-of", AS_OF],
    "brief --commissioner": ["brief", "--commissioner", "{commissioner}", "--as-of", AS_OF],
    "export --format parquet (every view)": [
        "export", "--format", "parquet", "--output", "{out}/views", "--as-of", AS_OF,
    ],
    "export (native)": ["export", "--output", "{out}/ledger.jsonl"],
}  # fmt: skip
PROBES = ("stats", "market --year --format json")
NO_STORE = ("--help",)  # needs no cache: not run cold


@dataclass
class Sample:
    cpu: float
    wall: float
    peak_mb: float
    ok: bool = True


@dataclass
class Figures:
    samples: list[Sample] = field(default_factory=list)

    def median(self, what: str) -> float:
        return statistics.median(getattr(s, what) for s in self.samples)


def run(argv: list[str], env: dict[str, str]) -> Sample:
    """One whole process: its own CPU (user + system), wall time and peak resident memory."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok:
        print(f"  FAILED: {' '.join(argv[2:])}: {err.decode(errors='replace')[-300:]}")
    return Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, ok)


def cledger(store: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "infra", "--store", f"sqlite:///{store}", *args]


def copy_store(source: Path, work: Path) -> Path:
    target = work / source.name
    print(f"copying {source} to {target}", flush=True)
    shutil.copyfile(source, target)
    drop_cache(target)
    return target


def drop_cache(store: Path) -> None:
    for folder in (
        store.with_name(store.name + ".frame"),
        store.with_name(store.name + ".frame.set-aside"),
    ):
        shutil.rmtree(folder, ignore_errors=True)


def pick(store: Path) -> tuple[str, str, str]:
    """An agreement with a long history, its responsible lead and first commissioner (for
    history, audit, brief)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    row = conn.execute(
        "SELECT originator_id, max(originator_version) AS n FROM stored_events "
        "WHERE topic LIKE '%Agreement.%' GROUP BY originator_id ORDER BY n DESC LIMIT 1"
    ).fetchone()
    state = conn.execute(
        "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1",
        (row[0],),
    ).fetchone()[0]
    conn.close()
    data = json.loads(state)["data"]
    data = json.loads(data) if isinstance(data, str) else data
    first = (data.get("commissioners") or [{}])[0].get("commissioner_id") or ""
    return data["agreement_id"], data.get("responsible_lead") or "", first


def events_file_for(store: Path, explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    guess = store.with_suffix(".jsonl")
    return guess if guess.exists() else None


def refresh_batch(events_file: Path, n: int, batch: int, folder: Path) -> Path:
    """`n` new events: copies of the file's first awards under new agreement and event ids,
    effective when the originals were (their parties were active then)."""
    path = folder / f"refresh-{batch}.jsonl"
    out = []
    with events_file.open("rb") as handle:
        for line in handle:
            if b'Awarded"' not in line[:80]:
                continue
            raw = json.loads(line)
            raw["event_id"] = f"bench-{batch}-{len(out)}"
            raw["agreement_id"] = f"bench-{batch}-{len(out)}"
            out.append(json.dumps(raw))
            if len(out) == n:
                break
    path.write_text("\n".join(out) + "\n")
    return path


DUCK = r"""
import duckdb, sys, time
path = sys.argv[1]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f'''CREATE TABLE awards AS SELECT CAST(annual_value AS DOUBLE) AS value,
  CAST(start AS DATE) AS s, CAST("end" AS DATE) AS e, providers
  FROM read_json('{path}', format='newline_delimited', columns={{'type': 'VARCHAR',
  'annual_value': 'VARCHAR', 'start': 'VARCHAR', 'end': 'VARCHAR',
  'providers': 'STRUCT(provider_id VARCHAR, role VARCHAR, share VARCHAR)[]'}})
  WHERE type IN ('GrantAwarded', 'ContractAwarded')''')
started = time.process_time()
rows = con.execute('''
WITH pieces AS (
  SELECT p.provider_id AS provider_id, CAST(p.share AS DOUBLE) AS share, value, s, e,
    unnest(generate_series(year(s) - CASE WHEN month(s) < 4 THEN 1 ELSE 0 END,
                           year(e) - CASE WHEN month(e) < 4 THEN 1 ELSE 0 END)) AS fy
  FROM (SELECT unnest(providers) AS p, value, s, e FROM awards) WHERE p.share IS NOT NULL)
SELECT provider_id, fy, sum(value * share
    * (least(e + 1, make_date(fy + 1, 4, 1)) - greatest(s, make_date(fy, 4, 1)))
    / (make_date(fy + 1, 4, 1) - make_date(fy, 4, 1))) AS spend
FROM pieces GROUP BY provider_id, fy''').fetchall()
print("RESULT", time.process_time() - started, len(rows))
"""


def duckdb_yardstick(
    events_file: Path, repeat: int, env: dict[str, str]
) -> tuple[Figures, Figures]:
    """(the query on the loaded table, the whole process from the file)."""
    query, whole = Figures(), Figures()
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", DUCK, str(events_file)], stdout=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None
        out = proc.stdout.read().decode().split()
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        whole.samples.append(Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024))
        cpu = float(out[out.index("RESULT") + 1])
        query.samples.append(Sample(cpu, float("nan"), float("nan")))
    return query, whole


def bench_store(source: Path, args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    store = copy_store(source, work)
    out = Path(tempfile.mkdtemp(dir=work, prefix="out-"))
    env = {**os.environ, "COLUMNS": "200", "CLEDGER_USER": "bench"}
    env.pop("CLEDGER_STORE", None)
    agreement, lead, commissioner = pick(store)
    names = [n for n in COMMANDS if not args.only or any(o in n for o in args.only)]
    argv = {
        n: cledger(
            store,
            [
                a.format(agreement=agreement, lead=lead, commissioner=commissioner, out=out)
                for a in COMMANDS[n]
            ],
        )
        for n in names
    }
    print(
        f"{store.name}: history/audit of {agreement}, brief of {lead} and {commissioner}",
        flush=True,
    )
    cold = {n: Figures() for n in names}
    for r in range(args.cold_repeat):
        for n in names:
            if n in NO_STORE or (args.cold_only and not any(o in n for o in args.cold_only)):
                continue
            drop_cache(store)
            cold[n].samples.append(run(argv[n], env))
            print(f"  cold {r + 1} {n}: {cold[n].samples[-1].cpu:.2f} s CPU", flush=True)
    for n in names[: None if args.warmup else 0]:  # the cache up to date before the warm runs
        run(argv[n], env)
    warm = {n: Figures() for n in names}
    for r in range(args.repeat):
        for n in names:
            warm[n].samples.append(run(argv[n], env))
        print(f"  warm round {r + 1} done", flush=True)
    refresh: dict[str, tuple[Figures, Figures]] = {}
    events_file = events_file_for(source, args.events_file)
    if events_file is not None and not args.no_refresh:
        probes = [n for n in PROBES if n in names]
        refresh = {n: (Figures(), Figures()) for n in probes}
        for r in range(args.repeat):
            for i, n in enumerate(probes):  # each probe after an import of its own
                batch = refresh_batch(events_file, 1_000, r * len(probes) + i, out)
                imported = run(cledger(store, ["import", str(batch)]), env)
                refresh[n][0].samples.append(run(argv[n], env))  # refresh + answer
                refresh[n][1].samples.append(run(argv[n], env))  # warm again
                print(f"  refresh {r + 1} {n} (import {imported.cpu:.2f} s CPU)", flush=True)
    duck: tuple[Figures, Figures] | None = None
    if events_file is not None and not args.no_duckdb:
        duck = duckdb_yardstick(events_file, args.repeat, env)
    events = None
    if events_file is not None:
        with events_file.open("rb") as handle:
            events = sum(1 for _ in handle)
    report(store.name, events, names, warm, cold, refresh, duck)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "store": str(source),
        "events": events,
        "warm": {n: [s.__dict__ for s in f.samples] for n, f in warm.items()},
        "cold": {n: [s.__dict__ for s in f.samples] for n, f in cold.items()},
        "refresh": {
            n: {
                "after_import": [s.__dict__ for s in a.samples],
                "warm": [s.__dict__ for s in b.samples],
            }
            for n, (a, b) in refresh.items()
        },
        "duckdb": None
        if duck is None
        else {
            "query": [s.cpu for s in duck[0].samples],
            "process": [s.__dict__ for s in duck[1].samples],
        },
    }


def report(
    name: str,
    events: int | None,
    names: list[str],
    warm: dict[str, Figures],
    cold: dict[str, Figures],
    refresh: dict[str, tuple[Figures, Figures]],
    duck: tuple[Figures, Figures] | None,
) -> None:
    yard = duck[0].median("cpu") if duck else None
    size = f"{events:,} events" if events else "events unknown"
    print(f"\n{name} ({size}); medians; CPU = user + system of the command's process")
    head = (
        "| command | warm CPU s | warm wall s | warm peak MB "
        "| cold CPU s | cold wall s | cold peak MB |"
    )
    if yard:
        head += " warm CPU / DuckDB query |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for n in names:
        w, c = warm[n], cold[n]
        line = f"| `{n}` | {w.median('cpu'):.2f} | {w.median('wall'):.2f} |"
        line += f" {w.median('peak_mb'):.0f} |"
        if c.samples:
            line += f" {c.median('cpu'):.2f} | {c.median('wall'):.2f} | {c.median('peak_mb'):.0f} |"
        else:
            line += " | | |"
        if yard:
            line += f" {w.median('cpu') / yard:.1f} |"
        failed = sum(not s.ok for s in [*w.samples, *c.samples])
        print(line + (f" ({failed} failed)" if failed else ""))
    if duck:
        q, p = duck
        print(
            f"| DuckDB awards-only spend per provider and year | query {q.median('cpu'):.2f} "
            f"(loaded table) | whole process from the file: {p.median('cpu'):.2f} CPU, "
            f"{p.median('wall'):.2f} wall, {p.median('peak_mb'):.0f} MB | | | | |"
        )
    for n, (after, again) in refresh.items():
        print(
            f"refresh after a 1,000-event import, `{n}`: "
            f"+{after.median('cpu') - again.median('cpu'):.2f} s CPU, "
            f"+{after.median('wall') - again.median('wall'):.2f} s wall, "
            f"+{after.median('peak_mb') - again.median('peak_mb'):.0f} MB peak over warm "
            f"({after.median('cpu'):.2f} s vs {again.median('cpu'):.2f} s)"
        )
    if yard:
        worst = max(names, key=lambda n: warm[n].median("cpu"))
        print(
            f"slowest warm answer: `{worst}` {warm[worst].median('cpu'):.2f} s CPU = "
            f"{warm[worst].median('cpu') / yard:.1f} x DuckDB's query on a loaded table"
        )
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, action="append", help="a SQLite store (repeatable)")
    parser.add_argument("--events-file", type=Path, help="the native file the store was built from")
    parser.add_argument("--work", default="/work/bench/speed/commands", help="where copies go")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs of each command")
    parser.add_argument("--cold-repeat", type=int, default=1, help="cold runs of each command")
    parser.add_argument("--only", action="append", help="commands whose name contains this")
    parser.add_argument(
        "--cold-only", action="append", help="run cold only the commands whose name contains this"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="0: no untimed run of each command first"
    )
    parser.add_argument("--no-refresh", action="store_true")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    args = parser.parse_args()
    print(
        "whole processes on a machine that may be shared: CPU seconds are the steadier figure; "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    results = [bench_store(s, args) for s in (args.store or DEFAULT_STORES)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
