"""How long the site makes a reader wait: every page (and its JSON twin) of `cledger serve`,
as a real server process on 127.0.0.1, on the demo ledger and on England-scale stores, beside
the CLI's JSON of the same view (a whole `cledger ... --format json` process, the way to the
same figures without the site), measured in the same run.

    uv run python benchmarks/web.py                                  # the demo and the 1M store
    uv run python benchmarks/web.py --store /work/bench/england-200000.db --repeat 5
    uv run python benchmarks/web.py --no-demo --store /work/bench/england-1000000.db

Per store (copied into `--work` first: the frame cache is written beside the copy):
1. the server starts; its first request reads the frame into memory (`first` column: cold);
2. each page is asked once to warm it (its snapshot and views computed: `first`), then
   `--repeat` times in turns at a new address each time (`?bench=N`: the views warm, the page
   made anew): the median time to the first byte (the server's time: a page is rendered whole
   before it is sent), to the last byte (`full`, the figure held to the target), and the
   server process's CPU per request (from /proc); and at its own address again (`again`: the
   answer the server keeps until the store grows);
3. the CLI's JSON of the same view, as a process, `--repeat` times (median wall).
Targets (issue 16): every page of the demo under 0.3 s and of a 1M-event ledger under 1 s,
warm.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORES = [Path("/work/bench/england-1000000.db")]
TARGET = {"demo": 0.3, "england": 1.0}
CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def get(port: int, path: str) -> tuple[int, float, float, bytes]:
    """Status, seconds to the first byte (headers) and to the last byte, and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    first = time.perf_counter() - start
    body = response.read()
    full = time.perf_counter() - start
    conn.close()
    return response.status, first, full, body


def pages(port: int) -> dict[str, tuple[str, list[str] | None]]:
    """name -> (the page's path, the CLI arguments of the same view's JSON), with the names
    of the ledger at hand (the lead, commissioner and provider holding most)."""

    def top(kind: str, key: str) -> str:
        rows = json.loads(get(port, f"/api/{kind}")[3])
        return str(max(rows, key=lambda r: (r["held"], r[key]))[key])

    lead, com, prov = (
        top("leads", "lead"),
        top("commissioners", "commissioner_id"),
        top("providers", "provider_id"),
    )
    category = top("categories", "service_category")
    held = json.loads(get(port, f"/api/agreements?commissioner={quote(com)}&status=open")[3])
    agreement = held[0]["agreement_id"]
    q = quote
    return {
        "home": ("/", None),
        "search": (f"/search?q={q(prov[:6])}", ["find", prov[:6]]),
        "brief (lead)": (f"/brief?lead={q(lead)}", ["brief", "--lead", lead]),
        "brief (commissioner)": (
            f"/brief?commissioner={q(com)}", ["brief", "--commissioner", com],
        ),
        "agreement": (f"/agreements/{q(agreement)}", ["audit", agreement]),
        "agreements": ("/agreements?status=open", ["agreements", "--status", "open"]),
        "market (category)": (
            f"/market?category={q(category)}", ["market", "--category", category],
        ),
        "market (commissioner)": (
            f"/market?commissioner={q(com)}", ["market", "--commissioner", com],
        ),
        "flags": ("/flags", ["flags"]),
        "pipeline": ("/pipeline", ["pipeline"]),
        "providers": ("/providers", ["providers"]),
        "provider": (f"/providers/{q(prov)}", ["agreements", "--provider", prov]),
        "commissioners": ("/commissioners", ["commissioners"]),
        "commissioner": (f"/commissioners/{q(com)}", ["agreements", "--commissioner", com]),
        "leads": ("/leads", ["leads"]),
        "api: brief (lead)": (f"/api/brief?lead={q(lead)}", ["brief", "--lead", lead]),
        "api: flags": ("/api/flags", ["flags"]),
        "api: market (category)": (
            f"/api/market?category={q(category)}", ["market", "--category", category],
        ),
    }  # fmt: skip


def cli_seconds(store: str, args: list[str], repeat: int) -> float:
    env = {**os.environ, "CLEDGER_STORE": store}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "infra", *args, "--format", "json"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_store(
    name: str, db: Path, repeat: int, target: float, only: list[str] | None = None
) -> bool:
    store = f"sqlite:///{db}"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "infra", "serve", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "CLEDGER_STORE": store},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        started = time.perf_counter()
        while True:
            try:
                status, first_load, _, _ = get(port, "/api/stats")
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"cledger serve failed on {db}") from None
                time.sleep(0.2)
        load = time.perf_counter() - started
        print(f"\n== {name}: {db} (server up and frame read in {load:.1f} s)")
        chosen = pages(port)
        if only:
            chosen = {k: v for k, v in chosen.items() if any(k.startswith(o) for o in only)}
        cold = {}
        for page, (path, _) in chosen.items():  # warm each page's views once
            status, _, full, _ = get(port, path)
            assert status == 200, (page, path, status)
            cold[page] = full
        samples: dict[str, list[tuple[float, float, float]]] = {p: [] for p in chosen}
        again: dict[str, list[float]] = {p: [] for p in chosen}
        for turn in range(repeat):
            for page, (path, _) in chosen.items():
                # a new address: the views are warm, the page is made anew
                fresh = path + ("&" if "?" in path else "?") + f"bench={turn}"
                before = server_cpu(server.pid)
                _, first, full, _ = get(port, fresh)
                samples[page].append((first, full, server_cpu(server.pid) - before))
                again[page].append(get(port, path)[2])  # the same address: the answer kept
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'page':26} {'first':>8} {'TTFB':>8} {'full':>8} {'CPU':>7} {'again':>7} "
          f"{'CLI JSON':>9} {'page/CLI':>9}  target {target:.1f} s")  # fmt: skip
    met = True
    for page, (_, cli_args) in chosen.items():
        first = statistics.median(s[0] for s in samples[page])
        full = statistics.median(s[1] for s in samples[page])
        cpu = statistics.median(s[2] for s in samples[page])
        cli = cli_seconds(store, cli_args, max(1, repeat // 2)) if cli_args else None
        ratio = f"{full / cli:9.3f}" if cli else f"{'':>9}"
        ok = full < target
        met &= ok
        cli_text = f"{cli:9.2f}" if cli else f"{'-':>9}"
        kept = statistics.median(again[page])
        print(f"{page:26} {cold[page]:8.3f} {first:8.3f} {full:8.3f} {cpu:7.3f} {kept:7.3f} "
              f"{cli_text} {ratio}  {'ok' if ok else 'OVER'}")  # fmt: skip
    print(f"every page under {target} s warm: {'yes' if met else 'NO'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, action="append", help="SQLite stores (England)")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo ledger")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="where the copies go")
    parser.add_argument("--only", action="append", help="only the pages named so (repeatable)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="cledger-web-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"benchmark of the site; seconds, medians of {args.repeat}; CPU: the server's own")
    if not args.no_demo:
        demo = work / "demo.db"
        if not demo.exists():
            subprocess.run(
                [sys.executable, "-m", "infra", "demo"], cwd=ROOT, check=True,
                env={**os.environ, "CLEDGER_STORE": f"sqlite:///{demo}"},
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        bench_store("demo", demo, args.repeat, TARGET["demo"], args.only)
    for db in args.store if args.store is not None else DEFAULT_STORES:
        if not db.exists():
            print(f"\n== {db}: not there, left out")
            continue
        copy = work / db.name
        if not copy.exists():
            shutil.copyfile(db, copy)
        bench_store(db.stem, copy, args.repeat, TARGET["england"], args.only)


if __name__ == "__main__":
    main()
