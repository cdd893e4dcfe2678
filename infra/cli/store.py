"""Commands on the store itself: create it, import into it, export it, count
its events, and build the demo.

Every error reaches the user as one plain line on stderr with a non-zero exit code; never a
traceback.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from domain.errors import InvalidFieldError, LedgerError
from infra.cli.app import (
    AsOfOpt,
    KnownAtOpt,
    Scale,
    _ledger,
    _settings,
    app,
    event_frame,
    parse_as_of,
    parse_known_at,
    store_url,
)
from infra.cli.from_views import ViewsReadOpt, snapshot_from_views
from infra.render.progress import bar, import_bar
from infra.store.urls import configured_store, parse_store_url

PROGRESS_THRESHOLD_BYTES = 1_000_000  # about 3,000 events: below that an import is instant
err_console = Console(stderr=True, soft_wrap=True)


@app.command()
def init() -> None:
    """Create the store (import, record and demo also create it when missing)."""
    _ledger(create=True)
    typer.echo(
        f"ledger ready at {parse_store_url(configured_store(_settings.get('store'))).display}"
    )


class ImportFormat(StrEnum):
    native = "native"
    ocds = "ocds"
    register = "register"
    giving360 = "360giving"


class ExportFormat(StrEnum):
    native = "native"
    ocds = "ocds"
    xlsx = "xlsx"
    csv = "csv"
    parquet = "parquet"


class ValueBasis(StrEnum):
    whole_life = "whole-life"
    annual = "annual"


@app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="a native JSON Lines file (docs/format.md); for other formats, one or more files",
        ),
    ],
    fmt: Annotated[
        ImportFormat,
        typer.Option("--format", help="native, ocds, register (council CSV) or 360giving"),
    ] = ImportFormat.native,
    commissioner: Annotated[
        str | None,
        typer.Option(help="the commissioner id a register belongs to (or OCDS with no buyer)"),
    ] = None,
    categories: Annotated[
        Path | None, typer.Option(help="CSV cpv_prefix,category: service categories from CPV")
    ] = None,
    fx: Annotated[
        Path | None, typer.Option(help="CSV currency,rate (pounds per unit) for non-GBP values")
    ] = None,
    value_basis: Annotated[
        ValueBasis,
        typer.Option(help="whole-life (annualised over the term) or annual source values"),
    ] = ValueBasis.whole_life,
    mapping: Annotated[
        Path | None, typer.Option(help="TOML column mapping (registers), buyer kinds and leads")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="write the full import report (every note) as JSON")
    ] = None,
) -> None:
    """Import a native JSON Lines file, or OCDS, council register or 360Giving files: all of
    it, or nothing and the first bad line or record named."""
    if fmt is not ImportFormat.native:
        _import_other(
            files,
            fmt.value,
            commissioner=commissioner,
            categories=categories,
            fx=fx,
            value_basis=value_basis.value,
            mapping=mapping,
            report=report,
        )
        return
    if len(files) != 1:
        raise LedgerError("a native import takes one file; expected one FILE")
    from infra.interop.native import import_file

    file = files[0]
    ledger = _ledger(create=True)
    size = file.stat().st_size if file.is_file() else 0
    if size >= PROGRESS_THRESHOLD_BYTES and err_console.is_terminal:
        with import_bar(size) as progress:
            report_ = import_file(ledger, file, progress=progress)
    else:
        report_ = import_file(ledger, file)
    typer.echo(
        f"imported {report_.recorded} events from {file} "
        f"({report_.already_present} already in the ledger)"
    )


def _import_other(files: list[Path], fmt: str, *, report: Path | None, **settings: Any) -> None:
    from infra.interop.imports import load_options, run_import

    options = load_options(**settings)
    done = run_import(_ledger(create=True), fmt, files, options)
    typer.echo("\n".join(done.lines()))
    if report is not None:
        report.write_bytes(orjson.dumps(done.as_dict(), option=orjson.OPT_INDENT_2))


@app.command()
def export(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="output file, or a folder for one OCDS package per agreement (or view)"
        ),
    ] = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="native (JSON Lines), ocds, or every view: xlsx (a sheet each), csv or parquet "
            "(a file each in a folder)",
        ),
    ] = ExportFormat.native,
    output: Annotated[
        Path | None, typer.Option("--output", help="the file or folder to write (same as FILE)")
    ] = None,
    as_of: AsOfOpt = None,
    known_at: KnownAtOpt = None,
    months: Annotated[
        int, typer.Option("--months", help="how far ahead the pipeline view looks, in months")
    ] = 6,
    validate: Annotated[
        bool, typer.Option(help="check each OCDS package against the OCDS 1.1 schema")
    ] = True,
    views_url: ViewsReadOpt = None,
) -> None:
    """Write every event back in the native format, in recorded order; with --format ocds, one
    OCDS release package per agreement (JSON Lines, or one file each into a folder); with
    --format xlsx, csv or parquet, every view as of a date (market, concentration, diversity,
    continuity, pipeline, flags): one workbook with a sheet per view, or a file per view."""
    if file is not None and output is not None and file != output:
        raise LedgerError("export writes to FILE or --output; expected one of them, not both")
    file = output or file
    views = fmt in (ExportFormat.xlsx, ExportFormat.csv, ExportFormat.parquet)
    if views:
        _export_views(
            fmt.value, file, as_of=as_of, known_at=known_at, months=months, views=views_url
        )
        return
    if as_of is not None or known_at is not None:
        raise LedgerError(
            f"--format {fmt.value} writes every event; --as-of and --known-at apply to the "
            "views (expected --format xlsx, csv or parquet)"
        )
    if fmt is ExportFormat.ocds:
        from infra.interop.ocds_export import write_ocds

        n = write_ocds(_ledger(), file, validate=validate)
        err_console.print(f"exported {n} agreements as OCDS release packages to {file or 'stdout'}")
        return
    _export_native(file)


def _export_native(file: Path | None) -> None:
    """Every event streamed from the stored rows (`infra.interop.native_export`), with a bar
    on a terminal for a big ledger."""
    from infra.interop.native_export import NativeExport, write_native

    url = store_url()
    shown = err_console.is_terminal
    total = NativeExport(url).count() if shown else None
    with bar("exporting events", total) if shown else nullcontext() as advance:
        if file is None:
            write_native(url, sys.stdout.buffer, advance)
            sys.stdout.flush()
            return
        with file.open("wb") as out:
            n = write_native(url, out, advance)
    err_console.print(f"exported {n} events to {file}")


def _export_views(
    fmt: str,
    target: Path | None,
    *,
    as_of: str | None,
    known_at: str | None,
    months: int,
    views: str | None = None,
) -> None:
    """Every view to one workbook or a folder of files, with a progress bar on stderr."""
    from infra.interop.view_export import VIEWS, check_target, ledger_views, write_views

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    if target is None:
        where = "a file such as ledger.xlsx" if fmt == "xlsx" else "a folder"
        raise LedgerError(f"--format {fmt} writes {where}; expected --output PATH")
    if months < 0:
        raise InvalidFieldError("--months", "a number of months, 0 or more", str(months))
    check_target(fmt, target)
    # bars on a terminal only: elsewhere a finished bar would leave blank lines on stderr
    shown = err_console.is_terminal
    with bar("loading the ledger's events", None) if shown else nullcontext():
        frame = snapshot_from_views(views, day, known) or event_frame()
    with (
        bar(f"computing and writing the views ({fmt})", len(VIEWS)) if shown else nullcontext()
    ) as advance:
        views = ledger_views(frame, day, known, months=months)
        written = write_views(views, fmt, target, progress=advance)
    err_console.print(f"exported {len(written)} views as of {day} to {target}")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="generator seed (same seed, same ledger)")] = 2013,
    scale: Annotated[
        Scale,
        typer.Option(
            help="conurbation (into the store) or england (a native JSONL file for benchmarks)"
        ),
    ] = Scale.conurbation,
    output: Annotated[Path | None, typer.Option(help="file for --scale england")] = None,
    events: Annotated[int, typer.Option(help="approximate size for --scale england")] = 5_000_000,
) -> None:
    """Build a realistic generated ledger: a conurbation since 2005 into the configured store,
    or an England-scale native file for benchmarks."""
    from infra.generator.demo import run_demo, run_england

    if scale is Scale.england:
        run_england(output or Path("england.jsonl"), seed=seed, events=events)
    else:
        run_demo(_settings.get("store"), seed=seed)
