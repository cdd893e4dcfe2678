"""The event frame: one row per native event, the one schema every view starts from.

Why a frame: views ask questions across the whole ledger (every agreement in a segment, every
year), which polars answers in bulk; the aggregates answer questions about one subject. The
frame is built from stored rows (`decode_stored`, vectorised) or from facts (`frame_from_facts`,
for small ledgers and tests); time is applied here (`as_known_at`, `in_force`, `effective_by`),
and `projections.families` gives each event family typed columns. Besides the columns every
event has, the frame holds `data` decoded once into one column per catalogue field
(`projections.payload`), so views never parse JSON.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import polars as pl

from domain.catalogue import CATALOGUE, CORRECTION_TYPES, SUBJECT_FIELD, LedgerEvent
from domain.timeline import corrected_event
from domain.values import read_date
from projections.families import (
    award_commissioners,
    award_providers,
    awards,
    commissioners,
    endings,
    handovers,
    providers,
    reprocurements,
    restructures,
    settlements,
    term_changes,
    variations,
)
from projections.payload import PAYLOAD, read_dates, with_payload, without_backslashes

__all__ = [
    "EVENT_SCHEMA",
    "Amended",
    "amended",
    "as_known_at",
    "award_commissioners",
    "award_providers",
    "awards",
    "commissioners",
    "corrections",
    "decode_native",
    "decode_stored",
    "effective_by",
    "empty_frame",
    "endings",
    "events_as_of",
    "frame_from_facts",
    "handovers",
    "in_force",
    "providers",
    "reprocurements",
    "resolve_targets",
    "restructures",
    "settlements",
    "term_changes",
    "variations",
]

EVENT_SCHEMA = pl.Schema(
    {
        "notification_id": pl.Int64(),
        "type": pl.String(),
        "event_id": pl.String(),
        "subject_id": pl.String(),  # agreement, provider, commissioner or handing-over lead
        "target_id": pl.String(),  # what a Corrected / Rescinded names
        "target_notification_id": pl.Int64(),  # ... and where that event sits in the log
        "effective_on": pl.Date(),
        "recorded_at": pl.Datetime("us", "UTC"),
        "recorded_by": pl.String(),
        "rationale": pl.String(),
        "source": pl.String(),
        "data": pl.String(),  # the type's own fields, as JSON
        "moved": pl.List(pl.String()),  # a handover's agreements, portfolio resolved
        # then `data` decoded: one column per catalogue field (projections.payload)
        **PAYLOAD,
    }
)

# Native types by the field naming their subject (dispatch on the catalogue, not a second list).
_SUBJECT_TYPES = {
    key: [t.name for t in CATALOGUE.values() if t.subject == kind]
    for kind, key in SUBJECT_FIELD.items()
}
_STATE = {
    "timestamp": pl.Struct({"_data_": pl.String()}),
    "event_id": pl.String(),
    "effective_on": pl.String(),
    "recorded_by": pl.String(),
    "rationale": pl.String(),
    "source": pl.String(),
    "moved": pl.List(pl.String()),
    "data": pl.String(),  # kept as JSON text
}


_PLAIN = pl.Schema({k: t for k, t in EVENT_SCHEMA.items() if k not in PAYLOAD})


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)


def decode_stored(
    notification_ids: Sequence[int],
    topics: Sequence[str],
    states: Sequence[bytes],
    prior: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stored rows (notification id, topic, the library's JSON `state`) -> the event frame.

    The states are parsed by polars' JSON reader in one pass (as JSON lines: the library's JSON
    holds no raw newline), `data` kept as text and decoded into the payload columns, each event
    type with its own fields' types (`projections.payload`). Book-keeping rows
    (topics whose last segment is not a catalogue type) are dropped. `prior` is the frame
    already loaded, so a correction read now finds the subject of an event read earlier.
    """
    if not states:
        return empty_frame()
    lines, backslashes = without_backslashes(b"\n".join(states))
    parsed = pl.read_ndjson(io.BytesIO(lines), schema=_STATE)
    if backslashes:
        parsed = _with_backslashes(parsed)
    native = parsed.with_columns(
        pl.Series("notification_id", notification_ids, pl.Int64),
        pl.Series("topic", topics, pl.String).str.split(".").list.last().alias("type"),
    )
    return decode_native(native, prior)


def decode_native(native: pl.DataFrame, prior: pl.DataFrame | None = None) -> pl.DataFrame:
    """Parsed native rows (`notification_id`, `type` and the stored state's fields, `data` as
    JSON text) -> the event frame: the second half of `decode_stored`, for rows parsed from
    another form of the same event (the stream's messages, `consumers.messages`)."""
    if not native["type"].is_in(list(CATALOGUE)).all():
        native = native.filter(pl.col("type").is_in(list(CATALOGUE)))
    native = native.with_columns(
        read_dates(native["effective_on"], "effective_on", native["event_id"])
    )
    decoded = with_payload(native).select(
        "notification_id",
        "type",
        "event_id",
        _own_subject().alias("subject_id"),
        pl.coalesce("corrects", "rescinds").alias("target_id"),
        pl.lit(None, pl.Int64).alias("target_notification_id"),
        "effective_on",
        pl.col("timestamp")
        .struct.field("_data_")
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC")
        .alias("recorded_at"),
        "recorded_by",
        "rationale",
        "source",
        "data",
        "moved",
        *PAYLOAD.names(),
    )
    return resolve_targets(decoded, prior).select(EVENT_SCHEMA.names())


def _with_backslashes(parsed: pl.DataFrame) -> pl.DataFrame:
    """The backslashes `without_backslashes` set aside, back (escaped again in `data`)."""
    text = [n for n, t in parsed.schema.items() if t == pl.String and n != "data"]
    return parsed.with_columns(
        *(pl.col(n).str.replace_all("\x00", "\\", literal=True) for n in text),
        pl.col("data").str.replace_all("\x00", "\\\\", literal=True),
        pl.col("moved").list.eval(pl.element().str.replace_all("\x00", "\\", literal=True)),
    )


def _own_subject() -> pl.Expr:
    expr = pl.lit(None, pl.String)
    for key, types in _SUBJECT_TYPES.items():
        expr = pl.when(pl.col("type").is_in(types)).then(pl.col(key)).otherwise(expr)
    return expr


def resolve_targets(frame: pl.DataFrame, prior: pl.DataFrame | None) -> pl.DataFrame:
    """A correction's subject is its target's (twice: a Rescinded may name a Corrected); the
    target may be in `prior`, the frame read before. Only the few amendments' targets are looked
    up, so the frame itself is not copied."""
    is_amendment = pl.col("type").is_in(list(CORRECTION_TYPES))
    amendments = frame.filter(is_amendment).select("event_id", "target_id")
    if amendments.is_empty():
        return frame
    wanted = pl.col("event_id").is_in(amendments["target_id"].implode())
    sources = [frame] if prior is None else [prior, frame]
    found = [
        r
        for part in sources
        for r in part.filter(wanted).select("event_id", "subject_id", "notification_id").to_dicts()
    ]
    subjects = {r["event_id"]: r["subject_id"] for r in found}
    numbers = {r["event_id"]: r["notification_id"] for r in found}
    resolved: dict[str, str | None] = {}
    for _ in range(2):  # a Rescinded of a Corrected: the Corrected's subject first
        for r in amendments.to_dicts():
            resolved[r["event_id"]] = subjects.get(r["target_id"])
        subjects.update(resolved)
    located = {r["event_id"]: numbers.get(r["target_id"]) for r in amendments.to_dicts()}
    subject = pl.col("event_id").replace_strict(resolved, default=None, return_dtype=pl.String)
    number = pl.col("event_id").replace_strict(located, default=None, return_dtype=pl.Int64)
    return frame.with_columns(
        subject_id=pl.when(is_amendment).then(subject).otherwise(pl.col("subject_id")),
        target_notification_id=pl.when(is_amendment).then(number),
    )


class FactLike(Protocol):
    @property
    def notification_id(self) -> int: ...
    @property
    def event(self) -> LedgerEvent: ...
    @property
    def recorded_at(self) -> dt.datetime: ...
    @property
    def moved(self) -> tuple[str, ...]: ...


def frame_from_facts(facts: Iterable[FactLike]) -> pl.DataFrame:
    """The event frame of stored facts (`Ledger.facts()`), row by row: for small ledgers and
    tests; the bulk loader (`infra.store.frame_cache`) reads the store without replay."""
    rows: list[dict[str, Any]] = []
    for f in facts:
        e = f.event
        rows.append(
            {
                "notification_id": f.notification_id,
                "type": e.type,
                "event_id": e.event_id,
                "subject_id": e.subject_id,
                "target_id": e.data.get("corrects") or e.data.get("rescinds"),
                "target_notification_id": None,
                "effective_on": _day(e.effective_on),
                "recorded_at": f.recorded_at,
                "recorded_by": e.recorded_by,
                "rationale": e.rationale,
                "source": e.source,
                "data": orjson.dumps(e.data).decode(),
                "moved": list(f.moved) if e.type == "HandedOver" else None,
            }
        )
    if not rows:
        return empty_frame()
    frame = with_payload(pl.DataFrame(rows, schema=_PLAIN, orient="row"))
    return resolve_targets(frame, None).select(EVENT_SCHEMA.names())


def _day(iso: str) -> dt.date | None:
    """An event's date as the date kind reads it (a ledger may hold one recorded before the
    format checked dates; `decode_stored` says so once)."""
    read = read_date(iso)
    return None if read is None else dt.date.fromisoformat(read)


def as_known_at(frame: pl.LazyFrame, known_at: dt.datetime | None) -> pl.LazyFrame:
    """Only events recorded at or before `known_at` (a naive time means UTC); all when None."""
    if known_at is None:
        return frame
    when = known_at if known_at.tzinfo else known_at.replace(tzinfo=dt.UTC)
    return frame.filter(pl.col("recorded_at") <= when)


def effective_by(frame: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """Events that had taken effect on `as_of`. Apply after `in_force`, so that a correction
    reaches the event it names whatever its own effective date (DESIGN.md, Time)."""
    return frame.filter(pl.col("effective_on") <= as_of)


def events_as_of(
    frame: pl.LazyFrame, as_of: dt.date, known_at: dt.datetime | None = None
) -> pl.LazyFrame:
    """The events a view sees: recorded by `known_at`, corrections applied, in effect by
    `as_of` (a known correction reaches its target whatever its own effective date)."""
    return effective_by(in_force(as_known_at(frame, known_at)), as_of)


@dataclass(frozen=True)
class Amended:
    """What the corrections and rescissions of a frame do to it: the rows they remove (by
    notification id: rescinded events, corrected events, the amendments themselves) and the
    corrected events' rows as corrected. Small beside the frame, so it can be kept (a cache
    keeps the one of the whole ledger as known now)."""

    dropped: pl.Series  # Int64 notification ids
    replaced: pl.DataFrame  # rows in EVENT_SCHEMA

    @classmethod
    def none(cls) -> Amended:
        return cls(pl.Series("notification_id", [], pl.Int64), empty_frame())

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        if self.dropped.is_empty():
            return frame
        kept = frame.filter(~pl.col("notification_id").is_in(self.dropped.implode()))
        if self.replaced.is_empty():
            return kept
        return pl.concat([kept, self.replaced.lazy()])


def in_force(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Corrections applied: rescinded events removed, corrected events' fields replaced (in
    recorded order, so a later correction of the same field wins), the corrections themselves
    removed. A rescinded `Corrected` has no effect."""
    return amended(frame).apply(frame)


def amended(frame: pl.LazyFrame) -> Amended:
    """What `frame`'s corrections and rescissions do to it (`in_force` applies it).

    Corrections are few: they and their targets are merged in Python with the domain's own
    `corrected_event` (so a correction means here what it means to the aggregate); every
    other row stays in the lazy query.
    """
    is_amendment = pl.col("type").is_in(list(CORRECTION_TYPES))
    plain = list(_PLAIN.names())  # the payload is decoded again from `data` for replaced rows
    amendments = frame.filter(is_amendment).select(plain).collect()
    if amendments.is_empty():
        return Amended.none()
    touched = pl.concat([amendments, frame.filter(_targets(amendments)).select(plain).collect()])
    amendments = amendments.sort("notification_id")
    rescinded = set(amendments.filter(pl.col("type") == "Rescinded")["target_id"].to_list())
    by_id = {r["event_id"]: r for r in touched.filter(~is_amendment).to_dicts()}
    merged: dict[str, LedgerEvent] = {}
    for c in amendments.filter(pl.col("type") == "Corrected").to_dicts():
        target = c["target_id"]
        if c["event_id"] in rescinded or target in rescinded or target not in by_id:
            continue
        base = merged.get(target) or _as_event(by_id[target])
        fields = orjson.loads(c["data"]).get("fields")
        if isinstance(fields, dict):  # read as the aggregate reads a stored correction
            merged[target] = corrected_event(base, fields)
    replaced = [_with_event(by_id[t], e) for t, e in merged.items()]
    drop = rescinded | set(merged) | set(amendments["event_id"].to_list())
    numbers = touched.filter(pl.col("event_id").is_in(list(drop)))["notification_id"]
    if not replaced:
        return Amended(numbers, empty_frame())
    fresh = with_payload(pl.DataFrame(replaced, schema=_PLAIN, orient="row"))
    return Amended(numbers, fresh.select(EVENT_SCHEMA.names()))


def _targets(amendments: pl.DataFrame) -> pl.Expr:
    """The events `amendments` name: by their place in the log (integers, which Parquet
    statistics can skip to), by event id only where a target was not located when loaded."""
    wanted = pl.col("notification_id").is_in(
        amendments["target_notification_id"].drop_nulls().implode()
    )
    unlocated = amendments.filter(
        pl.col("target_notification_id").is_null() & pl.col("target_id").is_not_null()
    )["target_id"]
    if unlocated.len():
        wanted = wanted | pl.col("event_id").is_in(unlocated.implode())
    return wanted


def _as_event(row: dict[str, Any]) -> LedgerEvent:
    return LedgerEvent(
        row["event_id"],
        row["type"],
        row["effective_on"].isoformat(),
        row["recorded_by"],
        row["rationale"],
        row["source"],
        orjson.loads(row["data"]),
    )


def _with_event(row: dict[str, Any], event: LedgerEvent) -> dict[str, Any]:
    return {
        **{k: row[k] for k in _PLAIN},
        "effective_on": _day(event.effective_on),
        "recorded_by": event.recorded_by,
        "rationale": event.rationale,
        "source": event.source,
        "data": orjson.dumps(event.data).decode(),
    }


def corrections(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Every correction and rescission beside the event it names (for audits and briefs):
    what was recorded in error, when, by whom, why, and what replaced it. `rescinded` says
    whether the amendment itself was later rescinded."""
    found = frame.filter(pl.col("type").is_in(list(CORRECTION_TYPES))).collect()
    amendments = found.lazy()
    targets = frame.filter(_targets(found)).select(
        pl.col("event_id").alias("target_id"),
        pl.col("type").alias("target_type"),
        pl.col("effective_on").alias("target_effective_on"),
        pl.col("recorded_at").alias("target_recorded_at"),
        pl.col("data").alias("target_data"),
    )
    undone = amendments.filter(pl.col("type") == "Rescinded").select(
        pl.col("target_id").alias("event_id"), pl.lit(True).alias("rescinded")
    )
    return (
        amendments.join(targets, on="target_id", how="left")
        .join(undone, on="event_id", how="left")
        .select(
            "notification_id",
            "event_id",
            "type",
            "subject_id",
            "target_id",
            "target_type",
            "target_effective_on",
            "target_recorded_at",
            "target_data",
            pl.col("data").str.json_path_match("$.fields").alias("fields"),
            "effective_on",
            "recorded_at",
            "recorded_by",
            "rationale",
            pl.col("rescinded").fill_null(False),
        )
        .sort("notification_id")
    )
