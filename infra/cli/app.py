"""The `cledger` application object and what every command module shares: the store option,
the as-of and known-at options and their parsers. Command modules import this, never `cli.py`,
so `cli.py` can import them all without a circle."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.errors import InvalidFieldError

if TYPE_CHECKING:  # the store's libraries load only when a command opens the ledger
    from domain.ledger import Ledger

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="The Commissioning Ledger: every grant and contract's life as immutable "
    "events, and the market views rebuilt from them.",
)


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Scale(StrEnum):
    conurbation = "conurbation"
    england = "england"


_settings: dict[str, Any] = {}

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CLEDGER_STORE",
        help="sqlite:///path.db (default ./ledger.db) or postgresql://user@host:5432/db",
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="a date in the world, YYYY-MM-DD (default today)")
]
KnownAtOpt = Annotated[
    str | None,
    typer.Option(
        "--known-at", help="what the ledger said at this time (ISO timestamp; no zone means UTC)"
    ),
]
FmtOpt = Annotated[Fmt, typer.Option("--format", help="table, csv or json")]


@app.callback()
def _options(store: StoreOpt = None) -> None:
    _settings["store"] = store


def _ledger(**kwargs: Any) -> Ledger:
    from infra.bootstrap import open_ledger

    return open_ledger(_settings.get("store"), **kwargs)


def parse_as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidFieldError("--as-of", "a date YYYY-MM-DD", value) from None


def parse_known_at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidFieldError(
            "--known-at", "an ISO timestamp such as 2014-04-01T12:00:00 (no zone means UTC)", value
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit", min=1, help="rows of the table to show (default 50; files hold every row)"
    ),
]
AllOpt = Annotated[bool, typer.Option("--all", help="show every row of the table")]


def table_rows(limit: int | None, every: bool) -> int | None:
    """How many rows a whole-ledger view shows on a terminal: the first 50 unless asked."""
    from infra.render.tables import TABLE_ROWS

    return None if every else (limit or TABLE_ROWS)
