"""The names a user must type, listed and searched: `leads`, `commissioners`, `providers`,
`categories` and `find TEXT` (`projections.names`).

Thin: parse options, take the ledger's snapshot on the date, call one function, render.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from domain.errors import InvalidFieldError
from infra.cli.app import AsOfOpt, Fmt, FmtOpt, KnownAtOpt, app, snapshot
from infra.render.tables import emit_frame

if TYPE_CHECKING:
    import polars as pl

    from projections.standing import Snapshot

MONEY = ("annual_value_held",)


class Kind(StrEnum):
    commissioner = "commissioner"
    provider = "provider"
    lead = "lead"
    category = "category"
    agreement = "agreement"


def _list(
    lister: Callable[[Snapshot], pl.DataFrame],
    what: str,
    as_of: str | None,
    known_at: str | None,
    fmt: Fmt,
) -> None:
    snap = snapshot(as_of, known_at)
    known = f", as known at {snap.known_at:%Y-%m-%d %H:%M}" if snap.known_at else ""
    emit_frame(lister(snap), fmt.value, title=f"{what} as of {snap.as_of}{known}", money=MONEY)


@app.command()
def leads(as_of: AsOfOpt = None, known_at: KnownAtOpt = None, fmt: FmtOpt = Fmt.table) -> None:
    """Commissioning leads named by an award or a handover: the commissioners of what they
    hold, and how many agreements they hold, have lapsed and have ended, with the annual value
    held. The names --lead takes."""
    from projections.names import leads as view

    _list(view, "Commissioning leads", as_of, known_at, fmt)


@app.command()
def commissioners(
    as_of: AsOfOpt = None, known_at: KnownAtOpt = None, fmt: FmtOpt = Fmt.table
) -> None:
    """Commissioning organisations: name, kind, when established and ended (and who took
    over), agreements held, lapsed and ended, and the annual value held. The ids
    --commissioner takes."""
    from projections.names import commissioners as view

    _list(view, "Commissioners", as_of, known_at, fmt)


@app.command()
def providers(as_of: AsOfOpt = None, known_at: KnownAtOpt = None, fmt: FmtOpt = Fmt.table) -> None:
    """Providers: name, sector, size band, when registered and closed or merged, agreements
    held (subcontracts included), lapsed and ended, and the annual value held. The ids
    --provider takes."""
    from projections.names import providers as view

    _list(view, "Providers", as_of, known_at, fmt)


@app.command()
def categories(as_of: AsOfOpt = None, known_at: KnownAtOpt = None, fmt: FmtOpt = Fmt.table) -> None:
    """Service categories of the awards: providers and commissioners holding agreements in
    each, agreements held, lapsed and ended, and the annual value held. The slugs --category
    takes."""
    from projections.names import categories as view

    _list(view, "Service categories", as_of, known_at, fmt)


@app.command()
def find(
    text: Annotated[str, typer.Argument(help="words to look for (case and accents ignored)")],
    kind: Annotated[Kind | None, typer.Option("--kind", help="only this kind of thing")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many rows (0: all)")] = 50,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    fmt: FmtOpt = Fmt.table,
) -> None:
    """Find agreements, providers, commissioners, leads and service categories by id, name
    (current or former), title or slug: every word must match. The best first: an exact id,
    an exact name, then names that start with the text."""
    import polars as pl

    from projections.names import find as search

    if limit < 0:
        raise InvalidFieldError("--limit", "a number of rows, 0 (all) or more", str(limit))
    snap = snapshot(as_of, known_at)
    found = search(snap, text)
    if kind is not None:
        found = found.filter(pl.col("kind") == kind.value)
    emit_frame(found.head(limit) if limit else found, fmt.value, title=f"Found for '{text}'")
