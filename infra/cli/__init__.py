"""`cledger`: the command line, one module per group of commands.

- `app.py`: the Typer application and what every command shares (store, as-of, known-at,
  formats, name filters, how a store is opened, help text);
- `store.py`: create, import, export, count, demo; `record.py`: record one event;
- `names.py`: the names to type (leads, commissioners, providers, categories) and `find`;
- `agreements.py`: the agreements list and an agreement's history;
- `views.py`: the market, concentration and diversity views;
- `brief.py`: continuity, pipeline, flags, the audit of one agreement and the handover brief;
- `serve.py`: the read-only web site (`infra.web`).

Each command parses its options, calls one function of the domain, the projections or the
interop adapters, and renders. Every error reaches the user as one plain line on stderr with a
non-zero exit code; never a traceback, never a box.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import warnings

import typer

from domain.errors import LedgerError, StoredValueWarning

# the command modules register on `app` when imported, in the order `--help` lists them
# isort: off
from infra.cli import store, record, names, agreements, views, brief, stream  # noqa: F401
from infra.cli import serve  # noqa: F401

# isort: on
from infra.cli.app import app, reflow_help
from infra.store.urls import describe_os_error

__all__ = ["app", "main"]

# click's exceptions, from wherever this Typer takes click (its own copy, or click itself)
_click = importlib.import_module(typer.BadParameter.__module__)


def main() -> None:
    """Console entry point: one plain line on stderr for every error."""
    reflow_help(app)
    warnings.showwarning = _show_warning
    try:
        code = app(standalone_mode=False, prog_name="cledger")
    except _click.NoArgsIsHelpError as err:  # `cledger`, `cledger record`: the help
        sys.stdout.write(err.format_message() + "\n")
        code = 0
    except _click.UsageError as err:
        _fail(usage_message(err))
    except _click.ClickException as err:
        _fail(err.format_message())
    except typer.Abort:
        _fail("interrupted; nothing from the unfinished command was stored")
    except LedgerError as err:
        _fail(str(err))
    except BrokenPipeError:
        _quiet_pipe()
    except KeyboardInterrupt:
        _fail("interrupted; nothing from the unfinished command was stored")
    except OSError as err:
        _fail(os_message(err))
    except Exception as err:  # noqa: BLE001 - the promise: no traceback reaches a user
        wrapped = err.args[0] if err.args and isinstance(err.args[0], OSError) else None
        if wrapped is not None:  # xlsxwriter's FileCreateError and the like
            _fail(os_message(wrapped))
        _fail(f"unexpected {type(err).__name__}: {' '.join(str(err).split())}")
    if isinstance(code, int) and code:
        raise SystemExit(code)


def usage_message(err: Exception) -> str:
    """A usage error (unknown option, bad choice, missing argument) as one line, naming the
    command and where its options are listed."""
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "cledger"
    text = " ".join(err.format_message().split())  # type: ignore[attr-defined]
    text = re.sub(r"(?i)value error, ", "", text)  # pydantic's prefix, as Typer passes it on
    text = text[:1].lower() + text[1:]
    return f"{command}: {text.rstrip('.')}; see '{command} --help'"


def os_message(err: OSError) -> str:
    """A file-system error as one line: the path and what to do (never the temporary name a
    writer used on the way)."""
    path = err.filename
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str):
        head, name = os.path.split(path)
        if name.startswith(".") and name.endswith(".partial"):
            path = os.path.join(head, name[1 : -len(".partial")])
        return f"cannot use {path}: {describe_os_error(err)}"
    return f"cannot write or read a file: {describe_os_error(err)}"


def _quiet_pipe() -> None:
    # the reader went away (`cledger export | head`): stop quietly, as Unix tools do
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(0) from None


_warned: set[type[Warning]] = set()


def _show_warning(
    message: Warning | str, category: type[Warning], *args: object, **kw: object
) -> None:
    """A ledger's warning (a stored value read other than stored) as one plain line, once."""
    if issubclass(category, StoredValueWarning):
        if category not in _warned:
            _warned.add(category)
            sys.stderr.write("warning: " + " ".join(str(message).split()) + "\n")
        return
    _show_default(message, category, *args, **kw)  # type: ignore[arg-type]


_show_default = warnings.showwarning


def _fail(message: str) -> None:
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    raise SystemExit(1)
