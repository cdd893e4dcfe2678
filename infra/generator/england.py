"""England-scale native JSON Lines files for benchmarks: `write_england`.

Why: the national picture (42 ICBs, 153 councils, NHS England's regions, tens of thousands of
providers, millions of events) cannot be held in memory or simulated day by day like the
conurbation. Teams are independent, so they are generated in parallel worker processes and
streamed to disk in team order; the same seed, size and day give the same file.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import orjson

from infra.generator import england_structure as structure
from infra.generator.england_blocks import team_lines

Progress = Callable[[int], None]  # called with how many lines were just written
EVENTS_PER_AGREEMENT = 5.95  # measured: awards, decisions, moves, endings, successors
HANDOVERS_PER_TEAM = 5.8  # measured: lead changes over twenty years, reforms included
MIN_AGREEMENTS = 12
PARALLEL_FROM = 300_000

_worker: dict[str, object] = {}


def write_england(
    path: str | os.PathLike[str],
    seed: int = 2013,
    events: int = 5_000_000,
    progress: Progress | None = None,
    *,
    today: dt.date | None = None,
    processes: int | None = None,
) -> int:
    """Write about `events` native events to `path`; return how many lines were written."""
    today = today or dt.date.today()
    s = structure.build(seed, today)
    structure.add_providers(s, max(400, events // 160))
    plan = _plan(s, events)
    written = 0
    with Path(path).open("wb") as out:
        for record in s.header:
            out.write(orjson.dumps(record) + b"\n")
        written += len(s.header)
        if progress:
            progress(len(s.header))
        for count, chunk in _blocks(seed, today, events, plan, processes):
            out.write(chunk)
            written += count
            if progress:
                progress(count)
    return written


def _plan(s: structure.Structure, events: int) -> list[tuple[int, int]]:
    """(team index, agreements) per team: the event budget spread over enough teams that each
    has a real history (small files use fewer teams; handovers are counted in the budget)."""
    budget = max(0, events - len(s.header))
    per_team_floor = MIN_AGREEMENTS * EVENTS_PER_AGREEMENT + HANDOVERS_PER_TEAM
    teams = [t for t in s.teams if t.chain]
    active = max(1, min(len(teams), int(budget / per_team_floor)))
    chosen = [teams[i * len(teams) // active] for i in range(active)]
    agreements = max(0.0, budget - active * HANDOVERS_PER_TEAM) / EVENTS_PER_AGREEMENT
    weights = [{"council": 1.0, "nhs": 1.3, "spec": 4.0}[t.remit] for t in chosen]
    total = sum(weights)
    plan, carried = [], 0.0
    for t, w in zip(chosen, weights, strict=True):
        carried += agreements * w / total
        n = int(carried)
        carried -= n
        plan.append((t.index, n))
    return plan


def _blocks(
    seed: int, today: dt.date, events: int, plan: list[tuple[int, int]], processes: int | None
) -> Iterator[tuple[int, bytes]]:
    """Each team's lines, in team order; at most a few teams ahead are held in memory."""
    workers = processes or os.cpu_count() or 1
    if events < PARALLEL_FROM or workers < 2:
        _init(seed, today, events)
        for job in plan:
            yield _run(job)
        return
    context = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    with context.Pool(workers, initializer=_init, initargs=(seed, today, events)) as pool:
        jobs = iter(plan)
        pending = deque(pool.apply_async(_run, (job,)) for job in islice(jobs, workers * 4))
        while pending:
            result = pending.popleft().get()
            following = next(jobs, None)
            if following is not None:
                pending.append(pool.apply_async(_run, (following,)))
            yield result


def _init(seed: int, today: dt.date, events: int) -> None:
    """Each worker rebuilds the same structure from the seed (cheaper than shipping it)."""
    s = structure.build(seed, today)
    structure.add_providers(s, max(400, events // 160))
    _worker["structure"] = s


def _run(job: tuple[int, int]) -> tuple[int, bytes]:
    s = _worker["structure"]
    assert isinstance(s, structure.Structure)
    lines = team_lines(s, *job)
    return len(lines), b"".join(line + b"\n" for line in lines)
