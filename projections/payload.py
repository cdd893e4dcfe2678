"""The typed payload: every catalogue field as a column of the frame, decoded once when loaded.

Why: polars parses JSON lists of objects slowly, and every view needs the awards' provider and
commissioner lists; decoding `data` once per event when the frame is loaded (and cached as
Parquet with it) leaves the views pure column work. Flat columns rather than one struct, so a
view's query reads (and a filter gathers) only the fields it uses. The columns are declared
from `CATALOGUE` (each field's parser says its type), so a new event type's fields appear here
by themselves. Dates are `Date`, money and shares `Float64` (the views' arithmetic types),
parsed here once rather than by every view that reads them (and a cached Parquet part holds
them typed, so a view reads no text to parse); the values as written stay in `data`. Fields a
writer added beyond the catalogue stay only in the `data` text.
"""

from __future__ import annotations

import io

import polars as pl
from polars._typing import PolarsDataType

from domain import values as v
from domain.catalogue import CATALOGUE, Field

S = pl.String()
F = pl.Float64()
PROVIDER_SHARES = pl.List(pl.Struct({"provider_id": S, "role": S, "share": F}))
COMMISSIONER_SHARES = pl.List(pl.Struct({"commissioner_id": S, "share": F}))
_BY_PARSER: dict[object, pl.DataType] = {
    v.parse_date: pl.Date(),
    v.parse_money: F,
    v.parse_provider_shares: PROVIDER_SHARES,
    v.parse_commissioner_shares: COMMISSIONER_SHARES,
    v.parse_successor_shares: COMMISSIONER_SHARES,
    v.parse_id_list: pl.List(S),
    v.parse_related_ids: pl.List(S),
    v.parse_bool: pl.Boolean(),
}
OBJECT_FIELDS = frozenset({"fields"})  # a Corrected's object of values: kept as JSON text


def _dtype(f: Field) -> pl.DataType:
    return _BY_PARSER.get(f.parse, S)


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
    decoded with that type's own struct, the others null; row order kept."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, t).alias(n) for n, t in _UNION.items())
    indexed = frame.with_row_index("_row")
    parts = []
    for names, types in _GROUPS.items():
        rows = indexed.filter(pl.col("type").is_in(types))
        if rows.is_empty():
            continue
        decoded = _decode_group(rows["data"], _group_struct(CATALOGUE[types[0]].fields))
        parts.append(
            pl.concat([rows.select("_row", "data"), decoded], how="horizontal").select(
                "_row", *(_field(n, names, t) for n, t in _UNION.items())
            )
        )
    if not parts:
        return frame.with_columns(pl.lit(None, t).alias(n) for n, t in _UNION.items())
    payload = pl.concat(parts).sort("_row")
    if payload.height != frame.height:  # a type outside the catalogue: keep its row, no payload
        return indexed.join(payload, on="_row", how="left").sort("_row").drop("_row")
    return pl.concat([frame, payload.drop("_row")], how="horizontal")


def _decode_group(data: pl.Series, struct: pl.Struct) -> pl.DataFrame:
    """One event type's `data` texts as columns. Polars' JSON reader is slow on lists of
    objects inside a larger object (and on skipping them), fast on the same list alone: the
    lines are read with such fields as text, which is then decoded on its own. Dates, money
    and shares are JSON strings: read as text, then parsed (a malformed one is an error)."""
    schema = struct.to_schema()
    read_as = {
        n: (S if t in (pl.Date, F) or isinstance(t, pl.List) else t) for n, t in schema.items()
    }
    lines = data.str.join("\n").item().encode()
    table = pl.read_ndjson(io.BytesIO(lines), schema=read_as)
    return table.with_columns(_typed(pl.col(n), t) for n, t in schema.items() if t != read_as[n])


def _typed(text: pl.Expr, dtype: PolarsDataType) -> pl.Expr:
    """A JSON field read as text, in its column's type: a date, money, or a list whose items'
    shares are decimal strings."""
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d")
    if dtype == F:
        return text.cast(F)
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if not isinstance(inner, pl.Struct):
        return text.str.json_decode(dtype)
    written = pl.List(pl.Struct({f.name: S for f in inner.fields}))
    share = pl.element().struct.field("share").cast(F)
    return text.str.json_decode(written).list.eval(pl.element().struct.with_fields(share))


def _field(name: str, present: tuple[str, ...], dtype: pl.DataType) -> pl.Expr:
    if name not in present:
        return pl.lit(None, dtype).alias(name)
    if name in OBJECT_FIELDS:
        return pl.col("data").str.json_path_match(f"$.{name}").alias(name)
    return pl.col(name)
