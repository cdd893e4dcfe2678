"""What a long-running stream process needs besides its work: a structured log line per batch,
a clean stop on SIGTERM, and a progress bar while it catches up on a terminal.

Why: operators run the relay and projectors under a supervisor (systemd, Kubernetes) that stops
them with SIGTERM and collects their stderr; one JSON object per line is what log collectors
parse, and a stop that finishes the batch in hand means a restart redoes nothing it need not.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class Stopper:
    """Set by SIGTERM or SIGINT; the loop checks it between batches (a batch in hand is
    finished and committed first). `wait` sleeps until the timeout or a stop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: str | None = None

    def install(self) -> Stopper:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signal.Signals(signum).name
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def stop(self) -> None:
        self.event.set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


class Log:
    """One JSON object per line on stderr (`process`, `ts`, `event`, then the figures). While a
    progress bar is shown, lines go through its console so the bar stays at the bottom."""

    def __init__(self, process: str, *, quiet: bool = False):
        self.process = process
        self.quiet = quiet
        self.console = Console(stderr=True, soft_wrap=True, highlight=False)
        self.progress: Progress | None = None

    def line(self, event: str, **figures: Any) -> None:
        if self.quiet:
            return
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "process": self.process,
            "event": event,
            **figures,
        }
        text = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    @contextmanager
    def bar(self, description: str, total: int) -> Iterator[CatchUp]:
        """A progress bar on a terminal while catching up; nothing elsewhere."""
        if not self.console.is_terminal or self.quiet:
            yield CatchUp(None, None)
            return
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        with progress:
            self.progress = progress
            try:
                yield CatchUp(progress, progress.add_task(description, total=total))
            finally:
                self.progress = None


class CatchUp:
    """Advances a bar (or does nothing when there is none)."""

    def __init__(self, progress: Progress | None, task: Any):
        self.progress, self.task = progress, task

    def advance(self, n: int, total: int | None = None) -> None:
        if self.progress is not None:
            if total is not None:
                self.progress.update(self.task, total=total)
            self.progress.advance(self.task, n)


class Timer:
    """Wall and CPU seconds of a piece of work (the machine is shared: CPU says more)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def figures(self) -> dict[str, float]:
        return {
            "seconds": round(time.perf_counter() - self.wall, 3),
            "cpu_seconds": round(time.process_time() - self.cpu, 3),
        }
