"""`cledger`: the command line, one module per group of commands.

- `app.py`: the Typer application and what every command shares (store, as-of, known-at,
  formats);
- `store.py`: create, import, record, export, count, demo;
- `agreements.py`: the agreements list and an agreement's history;
- `views.py`: the market, concentration and diversity views;
- `brief.py`: continuity, pipeline, flags, the audit of one agreement and the handover brief.

Each command parses its options, calls one function of the domain, the projections or the
interop adapters, and renders. Every error reaches the user as one plain line on stderr with a
non-zero exit code; never a traceback.
"""

from __future__ import annotations

import os
import sys

from domain.errors import LedgerError

# the command modules register on `app` when imported, in the order `--help` lists them
# isort: off
from infra.cli import store, agreements, views, brief  # noqa: F401

# isort: on
from infra.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: one plain line on stderr for every error."""
    try:
        app()
    except LedgerError as err:
        _fail(str(err))
    except BrokenPipeError:
        # the reader went away (`cledger export | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except KeyboardInterrupt:
        _fail("interrupted; nothing from the unfinished command was stored")
    except Exception as err:  # noqa: BLE001 - the promise: no traceback reaches a user
        _fail(f"unexpected {type(err).__name__}: {' '.join(str(err).split())}")


def _fail(message: str) -> None:
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    raise SystemExit(1)
