"""The library's stored form of the ledger's events, built directly (for bulk imports).

The eventsourcing library stores an aggregate event as (originator id, version, topic, state),
where the state is the event's attributes, less its id and version, in the order the event was
built, as compact JSON with the timestamp wrapped as `{"_type_": "datetime_iso", ...}`. A bulk
import builds that row without building the event object: the same bytes (proved by
tests/test_bulk_identity.py against the library's own mapper), at a fraction of the cost.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from eventsourcing.utils import get_topic

from domain.agreements import Agreement
from domain.catalogue import CATALOGUE
from domain.organisations import Commissioner, Provider
from domain.portfolios import Portfolio
from domain.subjects import LedgerSubject

Row = tuple[str, int, str, bytes]  # originator id (hex), version, topic, state
IndexRow = tuple[str, str, str, str]  # event id, originator id (hex), type, digest

_CLASSES: dict[str, type[LedgerSubject]] = {
    "agreement": Agreement,
    "provider": Provider,
    "commissioner": Commissioner,
    "lead": Portfolio,
}
# the topic of each (subject, event type) the ledger stores, and of each subject class
TOPICS: dict[tuple[str, str], str] = {
    (kind, name): get_topic(getattr(cls, name))
    for kind, cls in _CLASSES.items()
    for name in [*CATALOGUE, "Opened", "Assigned", "Received", "ReceiptRescinded"]
    if isinstance(getattr(cls, name, None), type)
}
CLASS_TOPICS: dict[str, str] = {kind: get_topic(cls) for kind, cls in _CLASSES.items()}

_HEAD = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
_STANDARD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _no_float(values: Any) -> bool:
    """Whether no float is nested in these values (text, the usual case, is passed at once)."""
    for v in values:
        if type(v) is str or v is None or type(v) is bool or type(v) is int:
            continue
        if type(v) is dict:
            if not _no_float(v.values()):
                return False
        elif type(v) is list:
            if not _no_float(v):
                return False
        else:
            return False
    return True


def encode_state(timestamp_iso: str, body: dict[str, Any], data: Any = None) -> bytes:
    """What the library's JSON transcoder writes for an event whose attributes are
    `timestamp` followed by `body` (never empty). orjson writes the same bytes as the standard
    encoder the library uses (compact separators, no ASCII escaping) for text, integers, booleans
    and nulls, but not every float the same way (1e-07 against 1e-7, 1e-05 against 0.00001): a
    body holding a float is written by the standard encoder. Only a native event's `data` (given
    as `data`) can hold one, in an unknown extra field; the rest of every body is text."""
    if data is None or _no_float(data.values()):
        out = orjson.dumps(body)
    else:
        out = _STANDARD.encode(body).encode()
    return _HEAD + timestamp_iso.encode() + b'"},' + out[1:]


def native_body(event: Any, *, created: str | None = None) -> dict[str, Any]:
    """The attributes of a native event's stored state, after its timestamp."""
    body: dict[str, Any] = {"originator_topic": created} if created else {}
    body["event_id"] = event.event_id
    body["effective_on"] = event.effective_on
    body["recorded_by"] = event.recorded_by
    body["rationale"] = event.rationale
    body["source"] = event.source
    body["data"] = event.data
    return body
