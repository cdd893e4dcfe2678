"""`--views URL` for the view commands: answer from the streaming projector's tables.

The view commands ask `snapshot_from_views` (or, for the brief, `brief_from_views`) first; when
the tables cannot answer (another day, `--known-at`, rows not refreshed today) it says so on
stderr, one line, and the command rebuilds from the store's events as it always does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from projections.standing import Snapshot

ViewsReadOpt = Annotated[
    str | None,
    typer.Option(
        "--views",
        envvar="CLEDGER_VIEWS",
        help="answer from the projector's tables in this database (postgresql://... or "
        "sqlite:///...) when asked as of today and as known now",
    ),
]


def _usable(views: str, day: dt.date, known: dt.datetime | None) -> object | None:
    from consumers.reading import Refusal, usable

    found = usable(views, day, known)
    if isinstance(found, Refusal):
        typer.echo(
            f"note: {found.reason}; rebuilt from the store's events instead of read from the views",
            err=True,
        )
        return None
    return found


def snapshot_from_views(
    views: str | None, day: dt.date, known: dt.datetime | None
) -> Snapshot | None:
    """The view's snapshot from the projector's tables, or None (rebuild from the events)."""
    if views is None:
        return None
    db = _usable(views, day, known)
    if db is None:
        return None
    from consumers.reading import snapshot

    return snapshot(db, day)  # type: ignore[arg-type]


def brief_from_views(
    views: str | None,
    day: dt.date,
    known: dt.datetime | None,
    *,
    lead: str | None,
    commissioner: str | None,
) -> Snapshot | None:
    """The brief's snapshot from the events the projector keeps of the agreements a brief of
    `lead` or `commissioner` can concern, or None (rebuild from the store's events)."""
    if views is None:
        return None
    db = _usable(views, day, known)
    if db is None:
        return None
    from consumers.reading import brief_frame
    from projections.standing import Snapshot

    frame = brief_frame(db, lead=lead, commissioner=commissioner)  # type: ignore[arg-type]
    return Snapshot.of(frame, day)
