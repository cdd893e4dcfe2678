"""The side files a user gives an import: CPV categories, exchange rates, a mapping.

- `--categories FILE`: CSV `cpv_prefix,category` (the longest matching prefix wins);
- `--fx FILE`: CSV `currency,rate` (pounds per unit of that currency);
- `--mapping FILE`: TOML (or JSON) saying how a register's columns, a buyer's kind or a
  commissioning lead are read; each importer documents its own tables.
"""

from __future__ import annotations

import csv
import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from domain.errors import InvalidFieldError, LedgerError
from domain.values import parse_slug
from infra.interop.encoding import detect_encoding, open_text

ValueBasis = Literal["whole-life", "annual"]


@dataclass(frozen=True)
class ImportOptions:
    commissioner: str | None = None
    categories: tuple[tuple[str, str], ...] = ()  # (cpv prefix, category), longest first
    rates: dict[str, Decimal] = field(default_factory=dict)
    value_basis: ValueBasis = "whole-life"
    mapping: dict[str, Any] = field(default_factory=dict)

    def category_for_cpv(self, cpv: str) -> str | None:
        """The mapped category of a CPV code, or None when no prefix matches."""
        for prefix, category in self.categories:
            if cpv.startswith(prefix):
                return category
        return None


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty, non-comment CSV rows with their line numbers."""
    encoding = detect_encoding(path)
    with open_text(path, encoding) as handle:
        return [
            (number, [cell.strip() for cell in row])
            for number, row in enumerate(csv.reader(handle), start=1)
            if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
        ]


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def load_categories(path: Path) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    rows = _rows(path)
    if rows and not rows[0][1][0].split("-", 1)[0].isdigit():
        rows = rows[1:]  # the header row
    for number, row in rows:
        if len(row) < 2:
            raise LedgerError(f"{path}:{number}: expected two columns: cpv_prefix,category")
        prefix = row[0].split("-", 1)[0]
        if not prefix.isdigit():
            raise LedgerError(f"{path}:{number}: cpv prefix {row[0]!r}; expected digits")
        try:
            category = parse_slug("category", row[1])
        except InvalidFieldError as err:
            raise LedgerError(f"{path}:{number}: {err}") from None
        pairs.append((prefix, category))
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def load_rates(path: Path) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    rows = _rows(path)
    if rows and not (len(rows[0][1]) > 1 and _is_number(rows[0][1][1])):
        rows = rows[1:]  # the header row
    for number, row in rows:
        if len(row) < 2 or not row[0].isalpha() or len(row[0]) != 3:
            raise LedgerError(
                f"{path}:{number}: expected currency,rate (e.g. USD,0.79: pounds per unit)"
            )
        try:
            rate = Decimal(row[1])
        except InvalidOperation:
            rate = Decimal(-1)
        if not rate.is_finite() or rate <= 0:
            raise LedgerError(f"{path}:{number}: rate {row[1]!r}; expected a positive number")
        rates[row[0].upper()] = rate
    return rates


def load_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except OSError as err:
        raise LedgerError(f"{path}: cannot open ({err.strerror})") from None
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(text)
        else:
            loaded = tomllib.loads(text.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise LedgerError(f"{path}: not a valid mapping file ({err})") from None
    if not isinstance(loaded, dict):
        raise LedgerError(f"{path}: expected a table of settings")
    return loaded
