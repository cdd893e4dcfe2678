"""Applying consumed messages to the views database: exactly once in effect.

One batch, one transaction, holding the database's lock (`consumers.views_db`):
1. fold in the events other projectors committed since this one last looked;
2. keep only messages whose identity (originator id, version) the database does not hold yet:
   a redelivered message, or one sent twice by a relay that crashed before storing its
   position, changes nothing;
3. store the new events, and rewrite the rows of the agreements they reach
   (`projections.incremental`: an agreement's spend rows from its own events; its continuity,
   pipeline and flag rows from its lineage's and the organisations' events); all rows when the
   batch reaches the whole ledger (organisation events), when it is larger than a good part of
   the ledger, or when the day changed since the rows were computed (days left, tenure, limbo
   and lapses are of a day: every row is then computed again as of the new day);
4. store each partition's next offset, in the same transaction.
A crash before the commit leaves nothing of the batch; the consumer starts again from the
stored offsets.

The projector's memory holds the event frame of everything stored (rebuilt from
`stream_events` at start, so a restart never reads the topic again), in the schema the views
are rebuilt from (`consumers.messages.frame_of`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from consumers.messages import frame_of
from consumers.views_db import EVENT_SCHEMA, Tx, ViewsDB, today
from projections.frame import empty_frame
from projections.incremental import affected_agreements, named
from projections.materialised import agreement_rows, spend_rows

WHOLE = 0.25  # a batch reaching more than this share of the agreements recomputes them all


@dataclass(frozen=True)
class Consumed:
    """One message as consumed: where it came from, its value and the value decoded."""

    partition: int
    offset: int
    value: bytes
    message: dict[str, Any]

    @property
    def generation(self) -> int:
        return int(self.message.get("generation", 1))


@dataclass
class Applied:
    """What one batch did (for the log line and the tests' counts)."""

    records: int = 0
    new: int = 0
    duplicates: int = 0
    others: int = 0  # events other projectors had stored meanwhile
    spend_agreements: int | str = 0
    agreement_rows: int | str = 0
    rewound: list[int] = field(default_factory=list)
    offsets: dict[int, int] = field(default_factory=dict)
    as_of: str = ""


class Materialiser:
    """The frame of every stored event, and the batches applied to the database."""

    def __init__(
        self, db: ViewsDB, group: str, topic: str, *, clock: Callable[[], dt.date] = today
    ):
        self.db, self.group, self.topic, self.clock = db, group, topic, clock
        self.frame = empty_frame()
        self.seq = 0
        self.day = ""  # the day the stored rows are of
        self._chunks = 0

    def load(self) -> int:
        """The frame of every event in the database (a restart's state, without the topic)."""
        rows = self.db.events()
        self.frame = frame_of([orjson.loads(m) for m in rows["message"]], None)
        self.seq = int(rows["seq"].max() or 0) if rows.height else 0
        self.day = self.db.meta().get("as_of", "")
        return self.frame.height

    def apply(
        self, batch: Sequence[Consumed], rewind: dict[int, tuple[int, int]] | None = None
    ) -> Applied:
        """Apply a batch (possibly empty: then only the day is checked) in one transaction.
        `rewind`: partitions to read again from an offset, with the generation that made them
        (a topic replayed from the start: `consumers.relay`)."""
        done = Applied(records=len(batch))
        with self.db.transaction() as tx:
            frame = self._catch_up(tx, done)
            messages, identities = self._fresh(tx, batch, done)
            new = frame_of(messages, frame)
            if new.height:
                tx.insert("stream_events", _event_rows(messages, batch, identities, self.topic))
                frame = pl.concat([frame, new], how="vertical")
            self._rows(tx, frame, new, done)
            self._offsets(tx, batch, rewind or {}, done)
            seq = tx.last_seq()
        self.frame, self.seq, self.day = self._compact(frame), seq, done.as_of
        return done

    def _catch_up(self, tx: Tx, done: Applied) -> pl.DataFrame:
        rows = tx.events_after(self.seq)
        if not rows.height:
            return self.frame
        done.others = rows.height
        others = frame_of([orjson.loads(m) for m in rows["message"]], self.frame)
        return pl.concat([self.frame, others], how="vertical")

    def _fresh(
        self, tx: Tx, batch: Sequence[Consumed], done: Applied
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """The batch's messages not yet stored, first copy of each, in order (and the index
        in the batch of each)."""
        seen: dict[tuple[str, int], int] = {}
        decoded = []
        for i, record in enumerate(batch):
            message = record.message
            key = (message["originator_id"], int(message["version"]))
            if key not in seen:
                seen[key] = i
                decoded.append((key, i, message))
        stored = tx.existing([k for k, _, _ in decoded])
        fresh = [(i, m) for k, i, m in decoded if k not in stored]
        done.new, done.duplicates = len(fresh), len(batch) - len(fresh)
        return [m for _, m in fresh], [i for i, _ in fresh]

    def _rows(self, tx: Tx, frame: pl.DataFrame, new: pl.DataFrame, done: Applied) -> None:
        day = self.clock()
        done.as_of = day.isoformat()
        if tx.meta("as_of") != day.isoformat():
            self._write(tx, spend_rows(frame, day), None)
            self._write(tx, agreement_rows(frame, day), None)
            tx.set_meta("as_of", day.isoformat())
            done.spend_agreements = done.agreement_rows = "all"
            return
        if not new.height:
            return
        awarded = frame.filter(pl.col("type").is_in(["GrantAwarded", "ContractAwarded"])).height
        spend_ids = affected_agreements(frame, new)
        if spend_ids.len() > WHOLE * awarded:
            self._write(tx, spend_rows(frame, day), None)
            done.spend_agreements = "all"
        elif spend_ids.len():
            self._write(tx, spend_rows(frame, day, spend_ids), spend_ids)
            done.spend_agreements = spend_ids.len()
        reached = named(frame, new)
        if reached is not None and reached.len():
            reached = pl.concat([reached, tx.lineage_mates(reached)]).unique()
        if reached is None or reached.len() > WHOLE * awarded:
            self._write(tx, agreement_rows(frame, day), None)
            done.agreement_rows = "all"
        elif reached.len():
            self._write(tx, agreement_rows(frame, day, reached), reached)
            done.agreement_rows = reached.len()

    @staticmethod
    def _write(tx: Tx, tables: dict[str, pl.DataFrame], ids: pl.Series | None) -> None:
        for name, rows in tables.items():
            tx.replace(name, rows, ids)

    def _offsets(
        self,
        tx: Tx,
        batch: Sequence[Consumed],
        rewind: dict[int, tuple[int, int]],
        done: Applied,
    ) -> None:
        """Each partition's (generation, next offset). Within a generation the offset never
        moves back (a slower member of the group may commit a batch another member has since
        passed); a newer generation moves it wherever its first record is; records of an older
        generation than the stored one move nothing (the partition was rewound for a newer
        one). A rewound partition starts again from its beginning."""
        if not batch and not rewind:
            return
        stored = tx.offsets(self.group, self.topic)
        moved: dict[int, tuple[int, int]] = {}
        for record in batch:
            mine = (record.generation, record.offset + 1)
            have = moved.get(record.partition) or stored.get(record.partition)
            if have is None or mine[0] > have[0] or (mine[0] == have[0] and mine[1] > have[1]):
                moved[record.partition] = mine
        moved.update(rewind)
        tx.save_offsets(self.group, self.topic, moved)
        done.offsets = {p: o for p, (_, o) in moved.items()}
        done.rewound = sorted(rewind)

    def _compact(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Appending a batch adds a chunk; many chunks slow every filter down."""
        self._chunks += 1
        if self._chunks >= 32:
            self._chunks = 0
            return frame.rechunk()
        return frame


def _event_rows(
    messages: list[dict[str, Any]], batch: Sequence[Consumed], where: list[int], topic: str
) -> pl.DataFrame:
    rows = [
        {
            "originator_id": m["originator_id"],
            "version": int(m["version"]),
            "notification_id": int(m["notification_id"]),
            "event_id": m["event_id"],
            "type": m["type"],
            "subject": m.get("subject"),
            "subject_id": m.get("subject_id"),
            "topic": topic,
            "partition": batch[i].partition,
            "offset": batch[i].offset,
            "message": batch[i].value.decode(),
        }
        for m, i in zip(messages, where, strict=True)
    ]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")
