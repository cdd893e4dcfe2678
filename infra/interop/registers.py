"""Council contract registers (Local Government Transparency Code): reading one snapshot.

Every council names its columns differently, so a mapping (TOML) says which column holds which
field; a column may be given as a list of alternative titles, matched ignoring case and spacing.
Without `--mapping` the header is matched against the mappings shipped in `mappings/`.
A snapshot's date is read from its file name (`register-2019-06-30.csv`, `20190630`, `2019-Q2`).
Rows with the same reference are one agreement (their suppliers sign it together; their values
add up).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.errors import LedgerError
from infra.interop.amounts import (
    DAY_FIRST_FORMATS,
    day_first_date,
    decimal_amount,
    term_in_range,
)
from infra.interop.bounds import cell_problem, csv_refusal, shorten, visible, wide_csv_cells
from infra.interop.encoding import detect_encoding, open_text
from infra.interop.options import load_mapping
from infra.interop.parties import Party, identifier_key
from infra.interop.report import BadValue, Missing, RecordRefused

SHIPPED = Path(__file__).with_name("mappings")
REQUIRED = ("reference", "supplier", "value", "start", "end")
ROUTES = (
    ("framework", "framework"),
    ("call-off", "framework"),
    ("call off", "framework"),
    ("spot", "spot"),
    ("grant", "grant_round"),
    ("direct", "direct_award"),
    ("waiver", "direct_award"),
    ("single", "direct_award"),
    ("exemption", "direct_award"),
    ("negotiated without", "direct_award"),
    ("open", "competitive_tender"),
    ("restricted", "competitive_tender"),
    ("competitive", "competitive_tender"),
    ("tender", "competitive_tender"),
    ("quotation", "competitive_tender"),
)
_YES = {"yes", "y", "true", "1", "x"}


@dataclass
class RegisterRow:
    reference: str
    row: int  # the first CSV row (header = row 1)
    title: str
    suppliers: list[Party] = field(default_factory=list)
    vcse: bool = False
    value: Decimal | None = None
    value_column: str = "value"
    start: str | None = None
    end: str | None = None
    end_column: str = "end"
    route: str = "unknown"
    category: str = "unknown"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    date: str
    rows: dict[str, RegisterRow]
    encoding: str
    skipped: list[tuple[int, str, str]]  # (row, column, why): rows with no reference


def snapshot_date(path: Path) -> str:
    name = path.stem
    found = re.search(r"(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})", name)
    if found:
        try:
            return dt.date(*(int(g) for g in found.groups())).isoformat()
        except ValueError:
            pass
    quarter = re.search(r"(\d{4})[-_ ]?q([1-4])", name, re.IGNORECASE)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        ends = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}[q]
        return dt.date(year, *ends).isoformat()
    raise LedgerError(
        f"{path}: the snapshot date is not in the file name; expected a name such as "
        "register-2019-06-30.csv or register-2019-Q2.csv"
    )


def _key(title: str) -> str:
    return re.sub(r"[^a-z0-9?]", "", title.lower())


def _columns(mapping: dict[str, Any], header: list[str]) -> dict[str, str] | None:
    """Field -> the header title holding it, or None when a required field has no column."""
    present = {_key(h): h for h in header if h}
    chosen: dict[str, str] = {}
    for name, titles in (mapping.get("columns") or {}).items():
        for title in [titles] if isinstance(titles, str) else list(titles):
            if _key(str(title)) in present:
                chosen[name] = present[_key(str(title))]
                break
    if any(name not in chosen for name in REQUIRED):
        return None
    return chosen


def choose_mapping(path: Path, header: list[str], given: dict[str, Any]) -> tuple[dict, dict]:
    """(mapping, columns): the one given, else the first shipped mapping that fits the header."""
    candidates = [given] if given else [load_mapping(p) for p in sorted(SHIPPED.glob("*.toml"))]
    for mapping in candidates:
        columns = _columns(mapping, header)
        if columns is not None:
            return mapping, columns
    wanted = ", ".join(REQUIRED)
    shown = ", ".join(shorten(visible(h), 40) for h in header[:40] if h)
    raise LedgerError(
        f"{path}: the header ({shown}) has no column for one of "
        f"{wanted}; expected a --mapping file naming them (see examples/registers)"
    )


def read_snapshot(path: Path, given: dict[str, Any]) -> tuple[Snapshot, dict[str, Any]]:
    date = snapshot_date(path)
    encoding = detect_encoding(path)
    rows: dict[str, RegisterRow] = {}
    skipped: list[tuple[int, str, str]] = []
    with wide_csv_cells(), open_text(path, encoding) as handle:
        reader = csv.reader(handle)
        number = 0
        try:
            header = next(reader, [])
            number = 1
            problem = cell_problem(header, [])
            if problem is not None:
                raise RecordRefused(str(path), "row 1 (the header)", problem[1], problem[0])
            mapping, columns = choose_mapping(path, header, given)
            index = {name: header.index(title) for name, title in columns.items()}
            formats = tuple(mapping.get("date_formats") or DAY_FIRST_FORMATS)
            for number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                problem = cell_problem(cells, header)
                if problem is not None:
                    raise RecordRefused(str(path), f"row {number}", problem[1], problem[0])

                def cell(name: str, cells: list[str] = cells) -> str:
                    i = index.get(name)
                    return cells[i].strip() if i is not None and i < len(cells) else ""

                reference = cell("reference")
                if not reference:
                    skipped.append((number, columns["reference"], "no reference"))
                    continue
                try:
                    _add_row(rows, reference, number, cell, columns, mapping, formats)
                except BadValue as bad:
                    raise RecordRefused(
                        str(path), f"row {number} ({reference})", bad.problem, bad.field
                    ) from None
        except csv.Error as err:
            raise RecordRefused(str(path), f"row {number + 1}", csv_refusal(err)) from None
    return Snapshot(path, date, rows, encoding, skipped), mapping


def _add_row(
    rows: dict[str, RegisterRow],
    reference: str,
    number: int,
    cell: Any,
    columns: dict[str, str],
    mapping: dict[str, Any],
    formats: tuple[str, ...],
) -> None:
    entry = rows.get(reference)
    if entry is None:
        title = cell("title") or cell("description") or reference
        entry = rows[reference] = RegisterRow(reference, number, " ".join(title.split())[:300])
        entry.start = day_first_date(columns.get("start", "start"), cell("start"), formats)
        entry.end = day_first_date(columns.get("end", "end"), cell("end"), formats)
        entry.end_column = columns["end"]
        entry.route = _route(cell("route"), mapping)
        entry.category = _category(cell("category") or cell("department"), mapping)
        entry.value_column = columns["value"]
    value = decimal_amount(columns["value"], cell("value"))
    if value is not None:
        if value < 0:
            raise BadValue(columns["value"], f"is {value}; expected an amount that is not negative")
        entry.value = (entry.value or Decimal(0)) + value
    supplier = cell("supplier")
    identifiers = tuple(
        k
        for k in (
            identifier_key("GB-COH", cell("company_number")),
            identifier_key("GB-CHC", cell("charity_number")),
        )
        if k
    )
    if supplier or identifiers:
        party = Party(" ".join((supplier or identifiers[0]).split()), identifiers)
        if party not in entry.suppliers:
            entry.suppliers.append(party)
    entry.vcse = entry.vcse or cell("vcse").lower() in _YES or bool(cell("charity_number"))


def _route(text: str, mapping: dict[str, Any]) -> str:
    lowered = text.lower()
    for needle, route in (mapping.get("routes") or {}).items():
        if str(needle).lower() in lowered:
            return str(route)
    if not lowered:
        return "unknown"
    return next((route for needle, route in ROUTES if needle in lowered), "unknown")


def _category(text: str, mapping: dict[str, Any]) -> str:
    categories = mapping.get("categories") or {}
    for label, category in categories.items():
        if str(label).lower() == text.lower():
            return str(category)
    return "unknown"


def require(row: RegisterRow) -> tuple[str, str, Decimal]:
    """(start, end, value) of a row, or Missing naming the empty column."""
    if not row.suppliers:
        raise Missing("supplier", "no supplier name or number")
    if row.start is None:
        raise Missing("start", "no start date")
    if row.end is None:
        raise Missing(row.end_column, "no end date")
    if row.value is None:
        raise Missing(row.value_column, "no value")
    if row.end < row.start:
        raise BadValue(row.end_column, f"is {row.end}, before the start {row.start}")
    term_in_range(row.start, row.end, "start", row.end_column)
    return row.start, row.end, row.value
