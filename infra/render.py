"""Writing rows for people and programs: a rich table, CSV or JSON (a list of flat objects)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

FORMATS = ("table", "csv", "json")


def emit_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
) -> None:
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(list(rows), option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    else:
        table = Table(title=title or None, show_lines=False)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*["" if row.get(c) is None else escape(str(row.get(c))) for c in columns])
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
        console.print(table)
        Console(stderr=True).print(f"{len(rows)} rows")
