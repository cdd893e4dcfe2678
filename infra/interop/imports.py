"""The one entry point the CLI calls for every non-native import: options from the user's side
files, then the importer of the format. Kept here so the CLI only parses flags and renders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from domain.errors import LedgerError
from domain.ledger import Ledger
from infra.interop.options import (
    ImportOptions,
    ValueBasis,
    load_categories,
    load_mapping,
    load_rates,
)
from infra.interop.report import InteropReport
from infra.render.progress import bar

FORMATS = ("ocds", "register", "360giving")
BIG_INPUT = 5 << 20  # bytes: show progress bars from here on


def load_options(
    *,
    commissioner: str | None = None,
    categories: Path | None = None,
    fx: Path | None = None,
    value_basis: ValueBasis = "whole-life",
    mapping: Path | None = None,
) -> ImportOptions:
    return ImportOptions(
        commissioner=commissioner,
        categories=load_categories(categories) if categories else (),
        rates=load_rates(fx) if fx else {},
        value_basis=value_basis,
        mapping=load_mapping(mapping) if mapping else {},
    )


def run_import(
    ledger: Ledger, fmt: str, paths: Sequence[Path], options: ImportOptions
) -> InteropReport:
    """Import `paths` in `fmt`, all or nothing; progress bars on stderr for big inputs."""
    for path in paths:
        if not path.is_file():
            raise LedgerError(f"{path}: no such file; expected a file in {fmt} format to import")
    big = sum(p.stat().st_size for p in paths) >= BIG_INPUT
    with ExitStack() as stack:
        reading = stack.enter_context(bar("reading", None)) if big else None

        def storing(total: int) -> Callable[[int], None] | None:
            return stack.enter_context(bar("checking rules and storing", total)) if big else None

        if fmt == "ocds":
            from infra.interop.ocds_import import import_ocds

            return import_ocds(ledger, paths, options, reading=reading, storing=storing)
        if fmt == "register":
            from infra.interop.register_history import import_registers

            return import_registers(ledger, paths, options)
        if fmt == "360giving":
            from infra.interop.giving360 import import_360giving

            return import_360giving(ledger, paths, options)
    raise LedgerError(f"--format {fmt!r}; expected native or one of {', '.join(FORMATS)}")
