"""Every view and export of a store, run in this process as a user runs them (the real
`cledger` application, its options and its writers): for the tests that show every accepted
or stored event can be read (tests/test_values_stored.py, tests/test_accepted_readable.py)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path


def view_commands(
    as_of: str, agreement: str, commissioner: str, lead: str, *, workbook: bool = True
) -> list[list[str]]:
    """Each command's arguments; `{out}` is replaced by a path in the output folder. Without
    `workbook`, no XLSX (its writer is slow on wide ledgers and reads what the CSV export
    reads: one store's run of it is enough)."""
    day = ["--as-of", as_of]
    return [
        ["agreements", "--format", "json", *day],
        ["agreements", *day],  # the terminal table
        ["stats"],
        ["market", "--format", "json", *day],
        ["market", *day],
        ["concentration", "--format", "csv", *day],
        ["diversity", "--part", "mix", "--format", "json", *day],
        ["diversity", "--part", "entry-exit", "--format", "json", *day],
        ["diversity", "--part", "at-risk", "--format", "json", *day],
        ["continuity", "--format", "json", *day],
        ["pipeline", "--format", "json", "--months", "24", *day],
        ["flags", "--format", "json", *day],
        ["flags", *day],
        ["leads", "--format", "json", *day],
        ["commissioners", "--format", "json", *day],
        ["providers", "--format", "json", *day],
        ["providers", *day],
        ["categories", "--format", "json", *day],
        ["find", agreement[:3] or "a", "--format", "json"],
        ["history", agreement, "--format", "json"],
        ["history", agreement],
        ["audit", agreement, "--format", "json", *day],
        ["audit", agreement, *day],
        ["brief", "--commissioner", commissioner, "--format", "json", *day],
        ["brief", "--commissioner", commissioner, *day],
        ["brief", "--lead", lead, "--format", "json", *day],
        ["export", "--output", "{out}/export.jsonl"],
        ["export", "--format", "ocds", "--output", "{out}/export-ocds.jsonl"],
        *(
            [["export", "--format", "xlsx", "--output", "{out}/export.xlsx", *day]]
            if workbook
            else []
        ),
        ["export", "--format", "csv", "--output", "{out}/export-csv", *day],
        ["export", "--format", "parquet", "--output", "{out}/export-parquet", *day],
    ]


def run_every_view(
    store: str,
    folder: Path,
    *,
    as_of: str,
    agreement: str,
    commissioner: str,
    lead: str,
    workbook: bool = True,
) -> dict[str, str]:
    """Run every command; returns what each wrote to stderr (keyed by its arguments). A command
    that fails raises, naming itself."""
    from infra.cli import app

    folder.mkdir(parents=True, exist_ok=True)
    errors: dict[str, str] = {}
    for args in view_commands(as_of, agreement, commissioner, lead, workbook=workbook):
        args = [a.replace("{out}", str(folder)) for a in args]
        out, err = _stream(), _stream()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = app(["--store", store, *args], standalone_mode=False)
            except BaseException as failure:  # noqa: BLE001 - named below
                raise AssertionError(f"cledger {' '.join(args)} failed: {failure!r}") from failure
        assert not code, f"cledger {' '.join(args)} exited {code}: {text(err)}"
        errors[" ".join(args)] = text(err)
    return errors


def _stream() -> io.TextIOWrapper:
    """A text stream with a binary buffer (the JSON writers write bytes to stdout's buffer)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode()


def output(store: str, *args: str) -> str:
    """What `cledger ARGS` writes to stdout, run in this process."""
    import warnings

    from infra.cli import app

    out = _stream()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app(["--store", store, *args], standalone_mode=False)
    return text(out)


def cache_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "CLEDGER_CACHE_DIR": str(folder)}
