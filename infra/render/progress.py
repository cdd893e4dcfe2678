"""A rich progress bar for long work: imports, building the demo, writing England.

Why: an import of a million lines or writing England takes minutes; a bar on stderr says how far
along it is without cluttering standard output (which may be a JSON or CSV stream).
"""

from __future__ import annotations

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
