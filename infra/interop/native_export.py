"""The native export streamed from the stored rows: every event in recorded order, one JSON
object a line, without rebuilding an event object per row.

Why: `Ledger.facts` turns every row of the notification log (book-keeping rows included) into
the library's event object and back into a record, some 18 µs a row: 18 s for a million events.
The stored state already holds everything a native line says (`domain.stored`: the event id,
effective date, recorder, rationale, source and `data`, as compact JSON), and the topic names
the type, so a line is the state parsed, its fields put in the native order
(`domain.catalogue.LedgerEvent.to_record`: catalogue fields first, extras after) and written
again: the same bytes (tested against `infra.interop.native.export_lines`). A state holding a
value the library's transcoder wraps (`{"_type_": ...}` anywhere but the timestamp) goes the
library's way, so such a value is written as it always was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from domain.catalogue import CATALOGUE
from infra.store.log_reader import LogReader
from infra.store.urls import parse_store_url

PAGE = 50_000  # rows read at a time: memory follows the page, not the ledger
_WRAPPED = b'"_type_"'
Advance = Callable[[int], None]


def _field_order() -> dict[str, tuple[str, ...]]:
    return {name: tuple(f.name for f in spec.fields) for name, spec in CATALOGUE.items()}


def native_line(topic: str, state: bytes, fields: dict[str, tuple[str, ...]]) -> bytes:
    """One stored row (no wrapped value but its timestamp) as its native line."""
    s = orjson.loads(state)
    name = topic[topic.rindex(".") + 1 :]
    rec: dict[str, Any] = {
        "event_id": s["event_id"],
        "type": name,
        "effective_on": s["effective_on"],
        "recorded_by": s["recorded_by"],
    }
    if s["rationale"] is not None:
        rec["rationale"] = s["rationale"]
    if s["source"] is not None:
        rec["source"] = s["source"]
    data = s["data"]
    for f in fields[name]:
        if f in data:
            rec[f] = data[f]
    for key, value in data.items():
        if key not in rec:
            rec[key] = value
    return orjson.dumps(rec) + b"\n"


class NativeExport:
    """The native lines of a store, read page by page in one read transaction."""

    def __init__(self, url: str, page: int = PAGE):
        self.url = url
        self.reader = LogReader(parse_store_url(url), page)
        self.fields = _field_order()
        self._mapper: Any = None

    def count(self) -> int:
        """How many native events the store holds (for a progress bar's total)."""
        r = self.reader
        with r.session() as cur:
            if r.store.kind == "sqlite":
                marks = ",".join("?" * len(r.topics))
                cur.execute(f"SELECT count(*) FROM {r.table} WHERE topic IN ({marks})", r.topics)
            else:
                cur.execute(f"SELECT count(*) FROM {r.table} WHERE topic = ANY(%s)", (r.topics,))
            return int(cur.fetchone()[0])

    def lines(self, advance: Advance | None = None) -> Iterator[bytes]:
        """Every native line in recorded order, a page's worth joined at a time."""
        fields = self.fields
        with self.reader.session() as cur:
            for ids, topics, states in self.reader.pages(cur, 0):
                out = []
                for topic, state in zip(topics, states, strict=True):
                    raw = state if type(state) is bytes else bytes(state)
                    if raw.count(_WRAPPED) > 1:
                        out.append(self._library(topic, raw))
                    else:
                        out.append(native_line(topic, raw, fields))
                yield b"".join(out)
                if advance:
                    advance(len(ids))

    def _library(self, topic: str, state: bytes) -> bytes:
        """A line the library's way: its mapper decodes the state into the event object."""
        from uuid import UUID

        from eventsourcing.persistence import StoredEvent

        if self._mapper is None:
            from infra.bootstrap import open_ledger

            self._mapper = open_ledger(self.url, create=False).mapper
        event = self._mapper.to_domain_event(StoredEvent(UUID(int=0), 1, topic, state))
        return orjson.dumps(event.as_ledger_event().to_record()) + b"\n"


def write_native(url: str, out: IO[bytes], advance: Advance | None = None) -> int:
    """Write every native event of the store at `url` to `out`; how many were written."""
    n = 0
    for chunk in NativeExport(url).lines(advance):
        out.write(chunk)
        n += chunk.count(b"\n")
    return n
