"""Every view of the ledger at once: one workbook with a sheet per view, or a folder with a CSV
or Parquet file per view (`cledger export --format xlsx|csv|parquet`).

Why: an analyst or auditor handed the ledger wants all of it in one file they can open, not
eight commands. Each sheet or file holds exactly what the view's own command writes (the same
columns, rows and order), computed by the same shared projections (`projections.views`,
`projections.audit.continuity_views`) on one snapshot, so the market views share one spend table
and every view the snapshot's decoded events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from domain.errors import LedgerError
from infra.render.tables import XLSX_ROWS, emit_frame, open_workbook, xlsx_sheet
from projections import diversity
from projections.audit import continuity_views
from projections.market import CONCENTRATION_COLUMNS, MARKET_COLUMNS, in_order
from projections.standing import Snapshot
from projections.views import market_views

# sheet or file name -> (the view of `market_views`, its columns); sorted as the commands do
MARKET_SHEETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "market": ("market", MARKET_COLUMNS),
    "concentration": ("concentration", CONCENTRATION_COLUMNS),
    "diversity_mix": ("mix", diversity.MIX_COLUMNS),
    "diversity_entry_exit": ("entry_exit", diversity.ENTRY_COLUMNS),
    "diversity_at_risk": ("at_risk", diversity.RISK_COLUMNS),
}
CONTINUITY_SHEETS = ("continuity", "pipeline", "flags")
VIEWS = (*MARKET_SHEETS, *CONTINUITY_SHEETS)
FORMATS = ("xlsx", "csv", "parquet")


def ledger_views(
    frame: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
    *,
    months: int = 6,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """(name, rows) of every view as of `as_of`, as known at `known_at`, in `VIEWS` order, as
    the view commands write them; the pipeline looks `months` ahead."""
    snap = Snapshot.of(frame, as_of, known_at)  # one snapshot: its events decoded once for all
    shared = market_views(snap, as_of, known_at)
    for name, (view, columns) in MARKET_SHEETS.items():
        rows = shared[view] if view == "at_risk" else in_order(shared[view])
        yield name, rows.select(columns).collect()
    others = continuity_views(snap, as_of, known_at, months)
    for name in CONTINUITY_SHEETS:
        yield name, others[name].collect()


def write_views(
    views: Iterator[tuple[str, pl.DataFrame]],
    fmt: str,
    target: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Write the views to one workbook (`xlsx`: a sheet each, a header row, money as numbers
    in a pound format, dates as dates) or into the folder `target` (`csv`, `parquet`: a
    `<view>.<fmt>` file each, as the view commands write them). Returns what was written."""
    check_target(fmt, target)
    if fmt == "xlsx":
        return _workbook(views, target, progress)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in views:
        emit_frame(rows, fmt, output=str(target / f"{name}.{fmt}"))
        written.append(name)
        if progress:
            progress(1)
    return written


def check_target(fmt: str, target: Path) -> None:
    """Refuse a format or target that cannot be written, before any work is done."""
    if fmt not in FORMATS:
        raise LedgerError(f"--format {fmt}; expected one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and target.is_dir():
        raise LedgerError(f"{target} is a folder; expected a file name such as ledger.xlsx")
    if fmt != "xlsx" and target.exists() and not target.is_dir():
        raise LedgerError(f"{target} is a file; expected a folder for one {fmt} file per view")


def _workbook(
    views: Iterator[tuple[str, pl.DataFrame]],
    target: Path,
    progress: Callable[[int], None] | None,
) -> list[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # written to a temporary name first: a refused view leaves no half-made workbook
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open_workbook(str(partial)) as book:  # text stays text: never a formula
            for name, rows in views:
                if rows.height > XLSX_ROWS:
                    raise LedgerError(
                        f"the {name} view has {rows.height:,} rows, more than a sheet holds "
                        f"({XLSX_ROWS:,}); expected --format csv or parquet for a ledger this size"
                    )
                xlsx_sheet(book, rows, name)
                written.append(name)
                if progress:
                    progress(1)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return written
