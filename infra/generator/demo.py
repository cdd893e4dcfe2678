"""`cledger demo`: build the generated conurbation into a ledger and say what it holds."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from domain.ledger import Ledger
from domain.register import build_register
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate, write_england
from infra.render.progress import bar
from infra.store.urls import configured_store, parse_store_url


def ledger_summary(ledger: Ledger, *, today: dt.date) -> dict[str, Any]:
    """What the ledger holds: counts by type, subjects, recording span, and a then-and-now."""
    facts = list(ledger.facts())
    by_type = Counter(f.event.type for f in facts)
    subjects = {
        kind: len(
            {
                f.event.data[key]
                for f in facts
                if key in f.event.data and f.event.spec.subject == kind
            }
        )
        for kind, key in (
            ("agreement", "agreement_id"),
            ("provider", "provider_id"),
            ("commissioner", "commissioner_id"),
        )
    }
    first = min((f.recorded_at for f in facts), default=None)
    last = max((f.recorded_at for f in facts), default=None)
    now = Counter(e.status for e in build_register(facts, as_of=today))
    then_known = dt.datetime(2014, 4, 1, tzinfo=dt.UTC)
    then = build_register(facts, as_of=dt.date(2014, 4, 1), known_at=then_known)
    return {
        "events": len(facts),
        "by_type": dict(sorted(by_type.items())),
        "subjects": subjects,
        "recorded_from": first,
        "recorded_to": last,
        "status_today": dict(now),
        "agreements_known_on_2014_04_01": len(then),
    }


def run_demo(store: str | None, *, seed: int) -> None:
    """Generate the conurbation, record it with twenty years of simulated recording time, and
    print what the ledger holds."""
    events = generate(seed=seed)
    clock = SimulatedClock(events[0].recorded_at)
    ledger = open_ledger(store, clock=clock)
    started = time.perf_counter()
    with bar("recording the conurbation", len(events)) as advance:
        report = build(ledger, clock, events, progress=advance)
    seconds = time.perf_counter() - started
    summary = ledger_summary(ledger, today=dt.date.today())
    console = Console()
    where = parse_store_url(configured_store(store)).display
    console.print(f"[bold]Commissioning Ledger demo[/] (seed {seed}) at {where}")
    console.print(
        f"recorded {report.recorded:,} events in {seconds:.1f} s "
        f"({report.already_present:,} were already there)"
    )
    console.print(
        f"the ledger holds {summary['events']:,} events about "
        f"{summary['subjects']['agreement']} agreements, "
        f"{summary['subjects']['provider']} providers and "
        f"{summary['subjects']['commissioner']} commissioners, recorded from "
        f"{summary['recorded_from']:%Y-%m-%d} to {summary['recorded_to']:%Y-%m-%d}"
    )
    table = Table(title="Events by type")
    table.add_column("type")
    table.add_column("events", justify="right")
    for name, n in summary["by_type"].items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    status = ", ".join(f"{k} {v}" for k, v in sorted(summary["status_today"].items()))
    console.print(f"agreements today: {status}")
    console.print(
        f"as known on 2014-04-01 the ledger held "
        f"{summary['agreements_known_on_2014_04_01']} agreements "
        "(try: cledger agreements --as-of 2014-04-01 --known-at 2014-04-01)"
    )


def run_england(path: Path, *, seed: int, events: int) -> None:
    """Write an England-scale native file (for benchmarks), with a progress bar."""
    started = time.perf_counter()
    with bar("writing England", events) as advance:
        written = write_england(path, seed=seed, events=events, progress=advance)
    Console(stderr=True).print(
        f"wrote {written:,} events to {path} in {time.perf_counter() - started:.1f} s"
    )
