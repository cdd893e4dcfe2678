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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from consumers.store_log import StoredRow
from domain.catalogue import COMMON_FIELDS, SUBJECT_FIELD, LedgerEvent
from projections.frame import decode_stored, empty_frame

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
    event = LedgerEvent(
        state["event_id"],
        type_,
        state["effective_on"],
        state["recorded_by"],
        state.get("rationale"),
        state.get("source"),
        state.get("data") or {},
    )
    subject_id = event.data.get(SUBJECT_FIELD.get(subject, ""))
    if subject_id is None and subjects:
        subject_id = subjects.get(row.originator_id)
    body: dict[str, Any] = {
        "notification_id": row.notification_id,
        "originator_id": row.originator_id,
        "version": row.version,
        "event_id": event.event_id,
        "type": type_,
        "subject": subject,
        "subject_id": subject_id,
        "effective_on": event.effective_on,
        "recorded_at": state["timestamp"]["_data_"],
        "payload": event.to_record(),
        "generation": generation,
    }
    if "moved" in state:
        body["moved"] = state["moved"]
    key = (subject_id if subject_id is not None else row.originator_id).encode()
    return Outgoing(key, orjson.dumps(body), subject == "agreement", row.notification_id)


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


def decode(values: Iterable[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(v) for v in values]
