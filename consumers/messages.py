"""The Kafka message of one ledger event, and the way back from messages to the event frame.

A message is JSON (DESIGN.md, "How the parts talk"): `notification_id`, `originator_id`,
`version`, `event_id`, `type`, `subject` (agreement, provider, commissioner or lead) and
`subject_id`, `effective_on`, `recorded_at` (the recorded time, as the store keeps it), `payload`
(the native event with FORMAT.md's field names, exactly what `cledger export` writes for it),
`moved` (a handover's agreements, its portfolio resolved when it was recorded) and `generation`
(raised each time the relay replays the log from the start). Consumers take (originator id,
version) as the event's identity.

Why back through the library's stored form: the projector's frame must be the frame the
views are rebuilt from; rebuilding the stored `state` of each message and decoding it with
`projections.frame.decode_stored` (the store's own bulk decoder) makes them the same by
construction, not by a second decoder kept in step.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from consumers.store_log import StoredRow
from domain.catalogue import CATALOGUE, COMMON_FIELDS, SUBJECT_FIELD
from projections.frame import _STATE as STATE
from projections.frame import decode_native, decode_stored, empty_frame

BROADCAST = ("provider", "commissioner", "lead")  # every partition gets these (README)


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: its key (the subject id) and JSON body; `agreement` says it
    goes to its key's partition, otherwise to every partition."""

    key: bytes
    value: bytes
    agreement: bool
    notification_id: int


def encode(
    row: StoredRow,
    subject: str,
    type_: str,
    generation: int,
    subjects: Mapping[str, str] | None = None,
) -> Outgoing:
    """One stored native event as a message. Its subject id is the one its payload names
    (`SUBJECT_FIELD`), else `subjects[originator id]` (for a correction that names none)."""
    state = orjson.loads(row.state)
    data = state.get("data") or {}
    subject_id = data.get(SUBJECT_FIELD.get(subject, ""))
    if subject_id is None and subjects:
        subject_id = subjects.get(row.originator_id)
    body: dict[str, Any] = {
        "notification_id": row.notification_id,
        "originator_id": row.originator_id,
        "version": row.version,
        "event_id": state["event_id"],
        "type": type_,
        "subject": subject,
        "subject_id": subject_id,
        "effective_on": state["effective_on"],
        "recorded_at": state["timestamp"]["_data_"],
        "payload": record(type_, state, data),
        "generation": generation,
    }
    if "moved" in state:
        body["moved"] = state["moved"]
    key = (subject_id if subject_id is not None else row.originator_id).encode()
    return Outgoing(key, orjson.dumps(body), subject == "agreement", row.notification_id)


def record(type_: str, state: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The native record of a stored state: `LedgerEvent.to_record` (what `cledger export`
    writes), without making the event first; the relay does this for every event."""
    rec: dict[str, Any] = {
        "event_id": state["event_id"],
        "type": type_,
        "effective_on": state["effective_on"],
        "recorded_by": state["recorded_by"],
    }
    if state.get("rationale") is not None:
        rec["rationale"] = state["rationale"]
    if state.get("source") is not None:
        rec["source"] = state["source"]
    order = _FIELDS.get(type_)
    if order is not None and tuple(data) == order:  # as recorded: every field, in order
        rec.update(data)
        return rec
    for name in order or ():
        if name in data:
            rec[name] = data[name]
    for key, value in data.items():
        if key not in rec:
            rec[key] = value
    return rec


_FIELDS = {name: tuple(f.name for f in spec.fields) for name, spec in CATALOGUE.items()}


def stored_state(message: dict[str, Any]) -> bytes:
    """The library's stored `state` of a message's event (what `decode_stored` reads)."""
    payload = message["payload"]
    state: dict[str, Any] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": message["recorded_at"]},
        "event_id": message["event_id"],
        "effective_on": message["effective_on"],
        "recorded_by": payload["recorded_by"],
        "rationale": payload.get("rationale"),
        "source": payload.get("source"),
        "data": {k: v for k, v in payload.items() if k not in COMMON_FIELDS},
    }
    if "moved" in message:
        state["moved"] = message["moved"]
    return orjson.dumps(state)


def frame_of(messages: Sequence[dict[str, Any]], prior: pl.DataFrame | None) -> pl.DataFrame:
    """The event-frame rows of decoded messages (in the order given); `prior` is the frame
    already held, where a correction's target may be."""
    if not messages:
        return empty_frame()
    return decode_stored(
        [m["notification_id"] for m in messages],
        [f"message.{m['type']}" for m in messages],
        [stored_state(m) for m in messages],
        prior,
    )


# -- the same, many messages at once, without a Python object per message ------------------------
MESSAGE = pl.Schema(
    {
        "notification_id": pl.Int64(),
        "originator_id": pl.String(),
        "version": pl.Int64(),
        "event_id": pl.String(),
        "type": pl.String(),
        "subject": pl.String(),
        "subject_id": pl.String(),
        "effective_on": pl.String(),
        "recorded_at": pl.String(),
        "payload": pl.String(),  # the object as JSON text (polars writes it again: `": "`, `", "`)
        "moved": pl.List(pl.String()),
        "generation": pl.Int64(),
    }
)
# the common fields a native record starts with (`LedgerEvent.to_record`), in their order, as
# polars writes the payload object again (`": "`, `", "`), for values with nothing escaped
_PLAIN = r'"[^"\\]*"'
_COMMON = (
    rf'^\{{"event_id": {_PLAIN}, "type": {_PLAIN}, "effective_on": {_PLAIN}, '
    rf'"recorded_by": "(?<recorded_by>[^"\\]*)"(?:, "rationale": "(?<rationale>[^"\\]*)")?'
    rf'(?:, "source": "(?<source>[^"\\]*)")?(?:, )?'
)
_NATIVE = ("notification_id", "type", "event_id", "effective_on", "moved", "timestamp")


def read_messages(values: Sequence[bytes] | pl.Series) -> pl.DataFrame:
    """Message bodies (bytes, or a text column) -> one row each, `MESSAGE`'s columns: one
    parse for a whole batch, in polars (no Python object per message)."""
    if isinstance(values, pl.Series):
        body = values.str.join("\n").item().encode() if values.len() else b""
    else:
        body = b"\n".join(values)
    if not body:
        return pl.DataFrame(schema=MESSAGE)
    return pl.read_ndjson(io.BytesIO(body), schema=MESSAGE)


def frame_from_messages(
    table: pl.DataFrame, values: Sequence[bytes] | pl.Series, prior: pl.DataFrame | None
) -> pl.DataFrame:
    """The event-frame rows of messages `values`, as read by `read_messages` into `table` (in
    that order); `prior` is the frame already held. The same frame as `frame_of`, so by
    construction the store's, without a Python object per message: the stored state's own
    fields are cut from the payload's text (its common fields, which the record starts with,
    give `recorded_by`, `rationale` and `source`; the rest is the stored `data` object, as
    polars writes an object, which is how `decode_stored` keeps it too), then decoded by
    `projections.frame.decode_native`. Polars writes a backslash in a string as it is, so a
    message with anything escaped (or not in the relay's field order) is decoded the slow way,
    through its stored state."""
    if table.is_empty():
        return empty_frame()
    texts = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.Binary)
    escaped = texts.cast(pl.Binary).bin.contains(b"\\")
    common = table.select(pl.col("payload").str.extract_groups(_COMMON)).to_series()
    slow = escaped | common.struct.field("recorded_by").is_null()
    fast = table.with_columns(
        pl.struct(pl.col("recorded_at").alias("_data_")).alias("timestamp"),
        *(common.struct.field(f).alias(f) for f in ("recorded_by", "rationale", "source")),
        pl.concat_str(pl.lit("{"), pl.col("payload").str.replace(_COMMON, "")).alias("data"),
    ).select(*_NATIVE, *_STATE_FIELDS)
    if slow.any():
        where = slow.arg_true()
        raw = texts.cast(pl.Binary).gather(where).to_list()
        fast = fast.with_row_index("_row").filter(~slow)
        stated = _native_of([orjson.loads(v) for v in raw]).with_columns(
            pl.Series("_row", where, pl.UInt32)
        )
        fast = pl.concat([fast, stated.select(fast.columns)]).sort("_row").drop("_row")
    return decode_native(fast, prior)


_STATE_FIELDS = ("recorded_by", "rationale", "source", "data")


def _native_of(messages: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Parsed native rows of messages, through their stored state (as `frame_of` reads them)."""
    parsed = pl.read_ndjson(io.BytesIO(b"\n".join(stored_state(m) for m in messages)), schema=STATE)
    return parsed.with_columns(
        pl.Series("notification_id", [m["notification_id"] for m in messages], pl.Int64),
        pl.Series("type", [m["type"] for m in messages], pl.String),
    ).select(*_NATIVE, *_STATE_FIELDS)


def generation_of(value: bytes) -> int:
    """A message's `generation` without decoding it: the relay writes it after the payload,
    followed only by `moved` (a list of ids), so its last occurrence as a key is the message's
    own (inside a JSON string a quote is escaped and cannot start the key). Decoded in full
    when not found (another producer's message)."""
    at = value.rfind(b'"generation":')
    if at < 0:
        return int(orjson.loads(value).get("generation", 1))
    digits = value[at + 13 : at + 33].split(b",", 1)[0].split(b"}", 1)[0]
    return int(digits)
