"""The typed payload: every catalogue field as a column of the frame, decoded once when loaded.

Why: polars parses JSON lists of objects slowly, and every view needs the awards' provider and
commissioner lists; decoding `data` once per event when the frame is loaded (and cached as
Parquet with it) leaves the views pure column work. Flat columns rather than one struct, so a
view's query reads (and a filter gathers) only the fields it uses. The columns are declared
from `CATALOGUE` (each field's kind, `domain.values.FieldType`, says its type), so a new event
type's fields appear here by themselves. Dates are `Date`, money and shares `Float64` (the
views' arithmetic types), parsed here once rather than by every view that reads them (and a
cached Parquet part holds them typed, so a view reads no text to parse). Fields a writer added
beyond the catalogue stay only in the `data` text.

One truth with the import: a stored value is checked here with the patterns and bounds of its
kind in `domain.values` (vectorised), and a value they refuse (stored by an older ledger,
before the boundary checked it) is read by that kind's own lenient `read`, in Python, for those
few rows only: never a polars error, and one `StoredValueWarning` saying what was read how.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Iterable

import orjson
import polars as pl
from polars._typing import PolarsDataType

from domain import values as v
from domain.catalogue import CATALOGUE, COMMON_TYPES, EventType, Field, Reading
from domain.errors import StoredValueWarning

S = pl.String()
F = pl.Float64()
PROVIDER_SHARES = pl.List(pl.Struct({"provider_id": S, "role": S, "share": F}))
COMMISSIONER_SHARES = pl.List(pl.Struct({"commissioner_id": S, "share": F}))
_BY_KIND: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "money": F,
    "provider_shares": PROVIDER_SHARES,
    "commissioner_shares": COMMISSIONER_SHARES,
    "ids": pl.List(S),
    "boolean": pl.Boolean(),
}
OBJECT_FIELDS = frozenset({"fields"})  # a Corrected's object of values: kept as JSON text


def _dtype(f: Field) -> pl.DataType:
    return _BY_KIND.get(f.type.kind, S)


def _group_struct(fields: tuple[Field, ...]) -> pl.Struct:
    return pl.Struct({f.name: _dtype(f) for f in fields if f.name not in OBJECT_FIELDS})


_UNION: dict[str, pl.DataType] = {
    f.name: (S if f.name in OBJECT_FIELDS else _dtype(f))
    for t in CATALOGUE.values()
    for f in t.fields
}
PAYLOAD = pl.Schema(_UNION)
# event types with the same fields decode together
_GROUPS: dict[tuple[str, ...], list[str]] = {}
for _t in CATALOGUE.values():
    _GROUPS.setdefault(tuple(f.name for f in _t.fields), []).append(_t.name)


def with_payload(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (with `type` and `data`) plus one column per catalogue field: each type's fields
    decoded with that type's own struct, the others null; row order kept. A `data` whose values
    the format refuses is replaced by its lenient reading (so every later reader of `data`
    agrees with the columns), with one warning."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, t).alias(n) for n, t in _UNION.items())
    readings: list[tuple[str, Reading]] = []
    frame = _common_read(frame, readings)
    indexed = frame.with_row_index("_row")
    parts = []
    reread: list[pl.DataFrame] = []  # the rows whose `data` was read again: (_row, data)
    for names, types in _GROUPS.items():
        rows = indexed.filter(pl.col("type").is_in(types))
        if rows.is_empty():
            continue
        spec = CATALOGUE[types[0]]
        rows, decoded, changed = _decode_group(rows, spec, readings)
        if changed is not None:
            reread.append(rows.filter(changed).select("_row", "data"))
        parts.append(
            pl.concat([rows.select("_row", "data"), decoded], how="horizontal").select(
                "_row", *(_field(n, names, t) for n, t in _UNION.items())
            )
        )
    warn(readings)
    if reread:  # their `data` as read, so every later reader of `data` agrees with the columns
        fixed = pl.concat(reread)
        replaced = frame["data"].scatter(fixed["_row"].cast(pl.Int64), fixed["data"])
        frame = frame.with_columns(replaced.alias("data"))
    if not parts:
        return frame.with_columns(pl.lit(None, t).alias(n) for n, t in _UNION.items())
    payload = pl.concat(parts).sort("_row")
    if payload.height != frame.height:  # a type outside the catalogue: keep its row, no payload
        indexed = frame.with_row_index("_row")
        return indexed.join(payload, on="_row", how="left").sort("_row").drop("_row")
    return pl.concat([frame, payload.drop("_row")], how="horizontal")


def _decode_group(
    rows: pl.DataFrame, spec: EventType, readings: list[tuple[str, Reading]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series | None]:
    """One event type's rows, their `data` read again where needed, and its fields as columns.

    Polars' JSON reader is slow on lists of objects inside a larger object (and on skipping
    them), fast on the same list alone: the lines are read with such fields as text, which is
    then decoded on its own. Dates, money and shares are JSON strings: read as text, checked
    with their kind's pattern, then typed."""
    struct = _group_struct(spec.fields)
    schema = struct.to_schema()
    read_as = {
        n: (S if t in (pl.Date, F) or isinstance(t, pl.List) else t) for n, t in schema.items()
    }
    # text the format refuses (a control character breaks polars' JSON reader)
    changed: pl.Series | None = None
    suspect = rows["data"].str.contains(v.SUSPECT_TEXT)
    if suspect.any():
        rows = _reread(rows, suspect, spec, readings)
        changed = suspect
    table = _read_lines(rows["data"], read_as)
    invalid = _invalid(table, spec)
    if invalid is not None and invalid.any():
        rows = _reread(rows, invalid, spec, readings)
        table = _read_lines(rows["data"], read_as)
        changed = invalid if changed is None else changed | invalid
    typed = table.with_columns(_typed(pl.col(n), t) for n, t in schema.items() if t != read_as[n])
    return rows, typed, changed


def _read_lines(data: pl.Series, schema: dict[str, PolarsDataType]) -> pl.DataFrame:
    """The `data` texts read with `schema`; a field read as text that is itself JSON (a list)
    keeps its backslashes (polars writes it back unescaped: `projections.frame`)."""
    lines, backslashes = without_backslashes(data.str.join("\n").item().encode())
    table = pl.read_ndjson(io.BytesIO(lines), schema=schema)
    if not backslashes:
        return table
    return table.with_columns(
        pl.col(n).str.replace_all("\x00", "\\\\" if n in _JSON_TEXT else "\\", literal=True)
        for n, t in schema.items()
        if t == pl.String
    )


# an escaped backslash in stored JSON, read as NUL and turned back after (see `with_backslashes`)
_BACKSLASH_OR_NUL = re.compile(rb"\\\\|\\u0000")
_JSON_TEXT = frozenset(
    f.name for t in CATALOGUE.values() for f in t.fields if isinstance(_dtype(f), pl.List)
)


def without_backslashes(lines: bytes) -> tuple[bytes, bool]:
    """JSON lines with each escaped backslash written as an escaped NUL, and a NUL as U+FFFD.

    Why: polars writes an object or list it reads into a String column back as JSON without
    escaping a backslash or a control character, so a stored text holding a backslash would come
    back saying something else (and a crafted text could add fields). A text the format accepts
    holds no NUL (an older ledger's NUL reads as U+FFFD), so NUL can stand in for the
    backslash while polars reads, and be turned back after."""
    if b"\\\\" not in lines and b"\\u0000" not in lines:
        return lines, False
    swapped = _BACKSLASH_OR_NUL.sub(
        lambda m: b"\\u0000" if m.group() == b"\\\\" else b"\\ufffd", lines
    )
    return swapped, True


def _invalid(table: pl.DataFrame, spec: EventType) -> pl.Series | None:
    """Rows holding a value its kind's pattern or bounds refuse (None: nothing to check)."""
    checks: list[pl.Expr] = []
    for f in spec.fields:
        kind, pattern = f.type.kind, f.type.pattern
        col = pl.col(f.name)
        if kind == "date":
            good = col.str.contains(v.DATE_PATTERN) & col.is_between(
                pl.lit(v.FIRST_DAY), pl.lit(v.LAST_DAY)
            )
            checks.append(col.is_not_null() & ~(good & col.str.to_date(strict=False).is_not_null()))
        elif kind == "money":
            checks.append(col.is_not_null() & ~col.str.contains(v.MONEY_PATTERN))
        elif kind.endswith("_shares") and pattern:
            # the list as JSON text: every share written as the pattern says (or null)
            share = pattern.removeprefix("^").removesuffix("$")
            good = col.str.count_matches(f'"share":\\s*(null|"{share}")')
            checks.append(col.is_not_null() & (col.str.count_matches('"share":') != good))
    if not checks:
        return None
    return table.select(pl.any_horizontal(checks).fill_null(True))[:, 0]


def _reread(
    rows: pl.DataFrame, mask: pl.Series, spec: EventType, readings: list[tuple[str, Reading]]
) -> pl.DataFrame:
    """Replace the `data` of the masked rows by its reading with the fields' own kinds."""
    data = rows["data"].to_list()
    ids = rows["event_id"].to_list() if "event_id" in rows.columns else [None] * len(data)
    for i in mask.arg_true().to_list():
        raw = json.loads(data[i], strict=False)  # polars writes control characters raw
        read, changed = spec.read_data(raw)
        readings.extend((ids[i] or "?", c) for c in changed)
        data[i] = orjson.dumps(read).decode()
    return rows.with_columns(pl.Series("data", data, S))


def _common_read(frame: pl.DataFrame, readings: list[tuple[str, Reading]]) -> pl.DataFrame:
    """The common text fields (`event_id`, `recorded_by`, `rationale`, `source`) checked as the
    payload's text is, and read again where the format refuses them."""
    fixes = []
    for name in ("event_id", "recorded_by", "rationale", "source"):
        if name not in frame.columns or frame.schema[name] != pl.String:
            continue
        kind = COMMON_TYPES[name]
        col = frame[name]
        suspect = col.str.contains(v.SUSPECT_TEXT).fill_null(False)
        if kind.kind == "notes":
            suspect &= col.str.replace_all("\n", "", literal=True).str.contains(v.SUSPECT_TEXT)
        if not suspect.any():
            continue
        found = {s: kind.read(s) for s in col.filter(suspect).unique().to_list()}
        ids = frame.filter(suspect)["event_id"].to_list() if "event_id" in frame.columns else []
        readings.extend(
            (str(i), Reading(name, s, found[s]))
            for i, s in zip(ids, col.filter(suspect), strict=False)
        )
        fixes.append(pl.col(name).replace(found))
    return frame.with_columns(fixes) if fixes else frame


def read_dates(values: pl.Series, field: str, ids: pl.Series | None) -> pl.Series:
    """Date strings as `Date`, checked with the date kind's pattern and range; any other read
    by its lenient `read` (one warning)."""
    good = values.str.contains(v.DATE_PATTERN) & values.is_between(
        pl.lit(v.FIRST_DAY), pl.lit(v.LAST_DAY)
    )
    bad = values.is_not_null() & ~good.fill_null(False)
    if bad.any():
        found = {s: v.DATE.read(s) for s in values.filter(bad).unique().to_list()}
        names = ids.filter(bad).to_list() if ids is not None else ["?"] * int(bad.sum())
        warn(
            [
                (str(i), Reading(field, s, found[s]))
                for i, s in zip(names, values.filter(bad), strict=False)
            ]
        )
        values = values.replace(found)
    return values.str.to_date("%Y-%m-%d", strict=False)


def warn(readings: Iterable[tuple[str, Reading]]) -> None:
    """One warning for values the store holds that read other than they are stored."""
    readings = list(readings)
    if not readings:
        return
    event_id, (field, stored, read) = readings[0]
    shown = "nothing (left empty)" if read is None else repr(read)
    more = f" and {len(readings) - 1:,} more" if len(readings) > 1 else ""
    warnings.warn(
        StoredValueWarning(
            f"the store holds values recorded before the format checked them: field '{field}' "
            f"of event '{event_id}' is {stored!r}, read as {shown}{more}; record a Corrected "
            "to state them as docs/format.md#values defines"
        ),
        stacklevel=2,
    )


def _typed(text: pl.Expr, dtype: PolarsDataType) -> pl.Expr:
    """A JSON field read as text, in its column's type: a date, money, or a list whose items'
    shares are decimal strings (checked before: a value left unreadable is null)."""
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if dtype == F:
        return text.cast(F, strict=False)
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if not isinstance(inner, pl.Struct):
        return text.str.json_decode(dtype)
    written = pl.List(pl.Struct({f.name: S for f in inner.fields}))
    share = pl.element().struct.field("share").cast(F, strict=False)
    return text.str.json_decode(written).list.eval(pl.element().struct.with_fields(share))


def _field(name: str, present: tuple[str, ...], dtype: pl.DataType) -> pl.Expr:
    if name not in present:
        return pl.lit(None, dtype).alias(name)
    if name in OBJECT_FIELDS:
        return pl.col("data").str.json_path_match(f"$.{name}").alias(name)
    return pl.col(name)
