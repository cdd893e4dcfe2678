"""The `cledger` application object and what every command module shares.

Command modules import this module, never `infra.cli` itself, so `infra/cli/__init__.py` can
import them all without a circle. What lives here, and only here:
- the options several commands take (`--store`, `--as-of`, `--known-at`, `--format`, and the
  name filters `--commissioner`, `--provider`, `--category`, `--lead`, `--agreement`);
- how a command opens the store: the writers (`init`, `import`, `record`, `demo`) create it,
  every reader opens an existing one (`ledger`, `event_frame`, `snapshot`), so a mistyped URL
  says "no ledger at ..." instead of answering from a new, empty one;
- the parsers of dates and times, and `require_names` (an unknown id answers "did you mean");
- `reflow_help`: docstrings become help text that wraps at the terminal's width.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.errors import InvalidFieldError, LedgerError

if TYPE_CHECKING:  # the store's libraries, polars and the projections load only when used
    import polars as pl

    from domain.ledger import Ledger
    from projections.standing import Snapshot

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="The Commissioning Ledger: every grant and contract's life as immutable events, and "
    "the market views rebuilt from them. 'cledger demo' builds a ledger to try; "
    "'cledger find TEXT' finds the ids the other commands take. The event format: "
    "docs/format.md.",
)


class Fmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Scale(StrEnum):
    conurbation = "conurbation"
    england = "england"


_settings: dict[str, Any] = {}

# -- options several commands share ---------------------------------------------------------------
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
CommissionerOpt = Annotated[
    str | None,
    typer.Option("--commissioner", help="only this commissioner id ('cledger commissioners')"),
]
ProviderOpt = Annotated[
    str | None, typer.Option("--provider", help="only this provider id ('cledger providers')")
]
CategoryOpt = Annotated[
    str | None,
    typer.Option("--category", help="only this service category ('cledger categories')"),
]
LeadOpt = Annotated[
    str | None, typer.Option("--lead", help="only this commissioning lead ('cledger leads')")
]
AgreementOpt = Annotated[str | None, typer.Option("--agreement", help="only this agreement id")]


@app.callback()
def _options(store: StoreOpt = None) -> None:
    _settings["store"] = store


# -- opening the store ----------------------------------------------------------------------------
def _ledger(*, create: bool = False, **kwargs: Any) -> Ledger:
    """The ledger of the configured store: created when missing only for the commands that
    write (`create=True`); for every other command a missing store is an error."""
    from infra.bootstrap import open_ledger

    return open_ledger(_settings.get("store"), create=create, **kwargs)


def store_url() -> str:
    """The configured store's URL, once it is known to hold a ledger."""
    from infra.bootstrap import existing_store

    return existing_store(_settings.get("store"))


def event_frame(*, in_force: bool = False) -> pl.LazyFrame:
    """The event frame of the configured (existing) store, as a scan of its cache."""
    from infra.store.frame_cache import scan_event_frame

    return scan_event_frame(store_url(), in_force=in_force)


def snapshot(as_of: str | None, known_at: str | None) -> Snapshot:
    """The ledger on `--as-of`, as known at `--known-at` (the views of agreements read it)."""
    from projections.standing import Snapshot

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    return Snapshot.of(event_frame(), day, known)


def require_names(
    source: Snapshot | pl.LazyFrame, known_at: dt.datetime | None = None, **ids: Any
) -> None:
    """Refuse an id (`commissioner=...`, `provider=`, `category=`, `lead=`, `agreement=`) the
    ledger does not hold, as known then: `no commissioner 'x'; did you mean 'y'?`."""
    from projections.names import require
    from projections.standing import Snapshot

    if all(v is None for v in ids.values()):
        return
    snap = (
        source if isinstance(source, Snapshot) else Snapshot.of(source, dt.date.today(), known_at)
    )
    for kind, value in ids.items():
        require(snap, kind, value)


def output_file(path: Path | None, option: str = "--output") -> None:
    """Refuse, before any work, an output file that cannot be one: a folder, or in a folder
    that does not exist."""
    if path is None:
        return
    if path.is_dir():
        raise LedgerError(
            f"{option} {path} is a folder; expected a file path such as {path / 'view.csv'}"
        )
    parent = path.expanduser().resolve().parent
    if not parent.is_dir():
        raise LedgerError(
            f"{option} {path}: folder {parent} does not exist; create it or choose another path"
        )


def output_folder(path: Path, option: str = "--output") -> None:
    """Refuse an output folder that is a file."""
    if path.exists() and not path.is_dir():
        raise LedgerError(f"{option} {path} is a file; expected a folder (one file per section)")


# -- parsing --------------------------------------------------------------------------------------
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


# -- help -----------------------------------------------------------------------------------------
def reflowed(text: str | None) -> str | None:
    """A docstring as help: its paragraphs each one line, for the help to wrap at the
    terminal's width (a docstring's line breaks are the source's, not the reader's)."""
    if not text:
        return text
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def reflow_help(typer_app: typer.Typer) -> None:
    """Every command's help (its docstring unless given) reflowed, in every group."""
    if isinstance(typer_app.info.help, str):
        typer_app.info.help = reflowed(typer_app.info.help)
    for command in typer_app.registered_commands:
        text = command.help or (inspect.getdoc(command.callback) if command.callback else None)
        command.help = reflowed(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)
        if isinstance(group.help, str):
            group.help = reflowed(group.help)
