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
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from consumers.messages import frame_from_messages, generation_of, read_messages
from consumers.views_db import EVENT_SCHEMA, Tx, ViewsDB, today
from domain.catalogue import AWARD_TYPES
from projections.frame import empty_frame
from projections.incremental import affected_agreements, named
from projections.materialised import agreement_rows, spend_rows

WHOLE = 0.25  # a batch reaching more than this share of the agreements recomputes them all
CATCHING_UP = 10_000  # messages still waiting behind a batch: the projector is catching up
WHOLE_CAP = 60.0  # seconds rows may be left waiting while catching up
PENDING = "rows_pending"  # meta: who stored events whose rows are not written yet ("" nobody)
IDENTITY = pl.Schema({"originator_id": pl.String, "version": pl.Int64})  # an event's identity


@dataclass(frozen=True)
class Consumed:
    """One message as consumed: where it came from, its value and (optionally) the value
    decoded; a batch is decoded all at once when applied (`consumers.messages.read_messages`)."""

    partition: int
    offset: int
    value: bytes
    message: dict[str, Any] | None = None

    @property
    def generation(self) -> int:
        if self.message is not None:
            return int(self.message.get("generation", 1))
        return generation_of(self.value)


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
    deferred: int = 0  # events stored whose rows wait for a later batch (every row to rewrite)


class Materialiser:
    """The frame of every stored event, and the batches applied to the database."""

    def __init__(
        self,
        db: ViewsDB,
        group: str,
        topic: str,
        *,
        clock: Callable[[], dt.date] = today,
        whole_every: float = 0.0,
    ):
        self.db, self.group, self.topic, self.clock = db, group, topic, clock
        self.frame = empty_frame()
        self.identities = pl.DataFrame(schema=IDENTITY)  # of every event in `frame`
        self.seq = 0
        self.day = ""  # the day the stored rows are of
        self._chunks = 0
        # a batch that would rewrite every row, within `whole_every` seconds of the last that
        # did, stores its events and offsets and leaves the rows to a later batch (`PENDING`)
        self.whole_every = whole_every
        self.pending = empty_frame()  # events this member stored whose rows are not written
        self.token = uuid.uuid4().hex  # this member's mark in `PENDING`
        self._whole_at = -float("inf")
        self._behind = 0

    @property
    def deferred(self) -> bool:
        """Rows are waiting for events this member stored (a batch must write them)."""
        return self.pending.height > 0

    def load(self) -> int:
        """The frame of every event in the database (a restart's state, without the topic)."""
        rows = self.db.events()
        self.frame = _frame(rows["message"], None)
        self.identities = rows.select(IDENTITY.names())
        self.seq = int(rows["seq"].max() or 0) if rows.height else 0  # type: ignore[arg-type]
        self.day = self.db.meta().get("as_of", "")
        return self.frame.height

    def apply(
        self,
        batch: Sequence[Consumed],
        rewind: dict[int, tuple[int, int]] | None = None,
        *,
        behind: int = 0,
    ) -> Applied:
        """Apply a batch (possibly empty: then only the day, and rows left waiting by an
        earlier batch, are seen to) in one transaction. `rewind`: partitions to read again from
        an offset, with the generation that made them (a topic replayed from the start:
        `consumers.relay`). `behind`: messages still waiting after this batch."""
        done = Applied(records=len(batch))
        self._behind = behind
        values = [r.value for r in batch]
        table = read_messages(values)
        with self.db.transaction() as tx:
            frame, known = self._catch_up(tx, done)
            fresh = self._fresh(table, known, done)
            where = fresh["index"]
            new = frame_from_messages(table[where], [values[i] for i in where], frame)
            if new.height:
                tx.insert("stream_events", _event_rows(batch, table, where, self.topic))
                frame = pl.concat([frame, new], how="vertical")
                known = pl.concat([known, fresh.select(IDENTITY.names())])
            pending = self._rows(tx, frame, new, done)
            self._offsets(tx, batch, table, rewind or {}, done)
            seq = tx.last_seq()
        self.frame, self.identities = self._compact(frame), known
        self.seq, self.day, self.pending = seq, done.as_of, pending
        if pending.height:
            done.deferred = pending.height
        elif done.agreement_rows == "all":
            self._whole_at = time.monotonic()
        return done

    def _catch_up(self, tx: Tx, done: Applied) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The frame and identities with what other members committed since we last looked
        (the lock is held: nobody commits meanwhile)."""
        if tx.last_seq() == self.seq:  # nobody else committed: nothing to read
            return self.frame, self.identities
        rows = tx.events_after(self.seq)
        if not rows.height:
            return self.frame, self.identities
        done.others = rows.height
        others = _frame(rows["message"], self.frame)
        return (
            pl.concat([self.frame, others], how="vertical"),
            pl.concat([self.identities, rows.select(IDENTITY.names())]),
        )

    @staticmethod
    def _fresh(table: pl.DataFrame, known: pl.DataFrame, done: Applied) -> pl.DataFrame:
        """The first copy of each message whose identity is not stored yet, in batch order:
        (index in the batch, originator id, version). The database's unique key on the
        identity stands behind this: a duplicate that got past would fail the transaction.
        The identities held are narrowed to the batch's originators first (a join against
        every identity of a large ledger costs more than the rest of a small batch)."""
        found = table.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("index"), *IDENTITY.names()
        ).unique(IDENTITY.names(), keep="first", maintain_order=True)
        held = known.filter(pl.col("originator_id").is_in(found["originator_id"].implode()))
        fresh = found.join(held, on=IDENTITY.names(), how="anti", maintain_order="left")
        done.new, done.duplicates = fresh.height, table.height - fresh.height
        return fresh

    def _rows(self, tx: Tx, frame: pl.DataFrame, new: pl.DataFrame, done: Applied) -> pl.DataFrame:
        """Write the rows `new` changes; returns the events whose rows are left waiting (this
        batch's and earlier ones', when the rows are left to a later batch)."""
        day = self.clock()
        done.as_of = day.isoformat()
        waiting = tx.meta(PENDING) or ""
        if tx.meta("as_of") != day.isoformat() or waiting not in ("", self.token):
            # a new day; or rows waiting for events another member (or a run killed since)
            # stored: every row
            self._whole(tx, frame, day, done)
            tx.set_meta("as_of", day.isoformat())
            return empty_frame()
        if waiting and self.pending.height:
            new = pl.concat([self.pending, new], how="vertical")
        if not new.height:
            return empty_frame()
        # counted, not filtered: a filter would gather every column of every award
        awarded = int(frame.select(pl.col("type").is_in(list(AWARD_TYPES)).sum()).item())
        spend_ids = affected_agreements(frame, new)
        reached = named(frame, new)
        if reached is not None and reached.len():
            reached = pl.concat([reached, tx.lineage_mates(reached)]).unique()
        whole = reached is None or reached.len() > WHOLE * awarded
        if whole and done.records and self._later():
            tx.set_meta(PENDING, self.token)  # every row, but not this often: later
            done.spend_agreements = done.agreement_rows = "later"
            return new
        if spend_ids.len() > WHOLE * awarded:
            self._write(tx, spend_rows(frame, day), None)
            done.spend_agreements = "all"
        elif spend_ids.len():
            self._write(tx, spend_rows(frame, day, spend_ids), spend_ids)
            done.spend_agreements = spend_ids.len()
        if reached is None or whole:
            self._write(tx, agreement_rows(frame, day), None)
            done.agreement_rows = "all"
        elif reached.len():
            self._write(tx, agreement_rows(frame, day, reached), reached)
            done.agreement_rows = reached.len()
        if waiting:
            tx.set_meta(PENDING, "")
        return empty_frame()

    def _later(self) -> bool:
        """Leave every row to a later batch: the last rewrite of every row was less than
        `whole_every` seconds ago, or (up to `WHOLE_CAP` seconds) more is waiting behind this
        batch: a projector catching up rewrites them once it has caught up."""
        if not self.whole_every:
            return False
        since = time.monotonic() - self._whole_at
        catching_up = self._behind >= CATCHING_UP and since < WHOLE_CAP
        return since < self.whole_every or catching_up

    def _whole(self, tx: Tx, frame: pl.DataFrame, day: dt.date, done: Applied) -> None:
        self._write(tx, spend_rows(frame, day), None)
        self._write(tx, agreement_rows(frame, day), None)
        tx.set_meta(PENDING, "")
        done.spend_agreements = done.agreement_rows = "all"

    @staticmethod
    def _write(tx: Tx, tables: dict[str, pl.DataFrame], ids: pl.Series | None) -> None:
        for name, rows in tables.items():
            tx.replace(name, rows, ids)

    def _offsets(
        self,
        tx: Tx,
        batch: Sequence[Consumed],
        table: pl.DataFrame,
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
        # per partition, the greatest (generation, offset + 1) of the batch's records
        latest = (
            pl.DataFrame(
                {
                    "partition": [r.partition for r in batch],
                    "next": [r.offset + 1 for r in batch],
                    "generation": table["generation"].fill_null(1),
                },
                schema={"partition": pl.Int64, "next": pl.Int64, "generation": pl.Int64},
            )
            .sort("generation", "next")
            .group_by("partition")
            .last()
        )
        for partition, offset, generation in latest.iter_rows():
            mine, have = (generation, offset), stored.get(partition)
            if have is None or mine > have:
                moved[partition] = mine
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
    batch: Sequence[Consumed], table: pl.DataFrame, where: pl.Series, topic: str
) -> pl.DataFrame:
    """The `stream_events` rows of the batch's records at `where` (`table`: the batch read)."""
    records = [batch[i] for i in where]
    return (
        table[where]
        .select("originator_id", "version", "notification_id", "event_id", "type")
        .with_columns(
            table["subject"][where],
            table["subject_id"][where],
            pl.lit(topic, pl.String).alias("topic"),
            pl.Series("partition", [r.partition for r in records], pl.Int64),
            pl.Series("offset", [r.offset for r in records], pl.Int64),
            pl.Series("message", [r.value for r in records], pl.Binary).cast(pl.String),
        )
        .select(EVENT_SCHEMA.names())
    )


def _frame(messages: pl.Series, prior: pl.DataFrame | None) -> pl.DataFrame:
    """The event frame of stored messages (a text column)."""
    return frame_from_messages(read_messages(messages), messages, prior)
