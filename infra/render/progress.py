"""A rich progress bar for long work: imports, building the demo, writing England.

Why: an import of a million lines or writing England takes minutes; a bar on stderr says how far
along it is without cluttering standard output (which may be a JSON or CSV stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """`with bar("recording", len(events)) as advance: build(..., progress=advance)`."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as p:
        task = p.add_task(description, total=total)
        yield lambda n: p.advance(task, n)


@contextmanager
def import_bar(total_bytes: int) -> Iterator[Callable[..., None]]:
    """A long import's progress on a terminal: events checked and written, the rate, and the
    time left (from the bytes of the file read so far, so no line is counted twice)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    started = time.perf_counter()
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.fields[checked]:>12,} checked  {task.fields[written]:>12,} written"),
        TextColumn("{task.fields[rate]:>9,.0f} events/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as p:
        task = p.add_task("import", total=total_bytes or None, checked=0, written=0, rate=0.0)

        def update(*, checked: int, written: int, read: int) -> None:
            rate = checked / max(time.perf_counter() - started, 1e-9)
            p.update(task, completed=read, checked=checked, written=written, rate=rate)

        yield update
