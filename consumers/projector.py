"""The projector: a member of a Kafka consumer group keeping the materialised views current.

`cledger project --bootstrap HOST:PORT --views URL [--group cledger-views]`

Several projectors in one group share the topic's partitions and one views database. The
consumer commits nothing to Kafka: each batch's events, the rows they change and the next offset
of each partition are written in one database transaction (`consumers.materialiser`), and when
the group hands this member a partition it seeks to the offset stored there. A member killed
mid-batch leaves nothing of that batch; whichever member gets its partitions reads them from
the stored offsets, and anything read twice is recognised by its identity and changes nothing.

A partition whose messages come from a newer generation than the one stored (the relay replayed
the log into a topic that was lost and recreated) is read again from its beginning.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from consumers import broker
from consumers.materialiser import Applied, Consumed, Materialiser
from consumers.runtime import CatchUp, Log, Stopper, Timer
from consumers.settings import KafkaSettings
from consumers.views_db import ViewsDB, today

DEFAULT_GROUP = "cledger-views"


@dataclass(frozen=True)
class ProjectorOptions:
    group: str = DEFAULT_GROUP
    max_records: int = 50_000  # at most, per batch
    poll_ms: int = 500
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    fetch_max_bytes: int = 64 << 20
    # a batch that rewrites every row (organisation events: every batch while catching up)
    # within this many seconds of the last one, or while 10,000 messages more wait (up to a
    # minute), stores its events and leaves the rows to a later batch; 0: every time
    whole_every: float = 5.0
    drain: bool = False  # stop once every assigned partition is read to its end


class Projector:
    """One projector process: `run()` applies batches until stopped and returns the number of
    new events it stored."""

    def __init__(
        self,
        views: str,
        settings: KafkaSettings,
        options: ProjectorOptions = ProjectorOptions(),
        *,
        log: Log | None = None,
        stopper: Stopper | None = None,
    ):
        self.settings, self.options = settings, options
        self.log = log or Log("projector")
        self.stopper = stopper or Stopper()
        self.views_url = views
        self.applied = 0
        self.batches = 0

    def run(self) -> int:
        timer = Timer()
        self.db = ViewsDB.open(self.views_url)
        try:
            rebuild = self.db.ensure()
            self.state = Materialiser(
                self.db,
                self.options.group,
                self.settings.topic,
                whole_every=self.options.whole_every,
            )
            loaded = self.state.load()
            self.log.line(
                "start",
                views=self.db.display,
                topic=self.settings.topic,
                group=self.options.group,
                events_loaded=loaded,
                rows_rebuilt=rebuild,
                **timer.figures(),
            )
            self.consumer = broker.consumer(
                self.settings,
                self.options.group,
                max_poll_records=self.options.max_records,
                session_timeout_ms=self.options.session_timeout_ms,
                heartbeat_interval_ms=self.options.heartbeat_interval_ms,
                max_poll_interval_ms=self.options.max_poll_interval_ms,
                fetch_max_bytes=self.options.fetch_max_bytes,
                max_partition_fetch_bytes=self.options.fetch_max_bytes,
            )
            try:
                self._loop()
            finally:
                self.consumer.close(autocommit=False)
        finally:
            self.db.close()
        self.log.line(
            "stop", applied=self.applied, batches=self.batches, signal=self.stopper.signal
        )
        return self.applied

    # -- the group ------------------------------------------------------------------------------
    def _subscribe(self) -> None:
        from kafka import ConsumerRebalanceListener

        projector = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_revoked(self, revoked: Any) -> None:
                projector.log.line("revoked", partitions=sorted(tp.partition for tp in revoked))

            def on_partitions_assigned(self, assigned: Any) -> None:
                projector._seek(assigned)

        self.consumer.subscribe([self.settings.topic], listener=Listener())

    def _seek(self, assigned: Any) -> None:
        """Start each partition handed to this member at the offset stored with the rows."""
        stored = self._stored()
        positions: dict[int, int | str] = {}
        for tp in assigned:
            found = stored.get(tp.partition)
            if found is None:
                self.consumer.seek_to_beginning(tp)
                positions[tp.partition] = "beginning"
            else:
                self.consumer.seek(tp, found[1])
                positions[tp.partition] = found[1]
        self.log.line("assigned", partitions=positions)

    def _stored(self, db: ViewsDB | None = None) -> dict[int, tuple[int, int]]:
        """The offsets stored with the rows; from the rebalance listener, on a connection of
        its own (kafka-python calls it from its coordinator's thread)."""
        own = db is None
        db = db or ViewsDB.open(self.views_url)
        try:
            rows = db.offsets(self.options.group).filter(topic=self.settings.topic)
        finally:
            if own:
                db.close()
        return {
            r["partition"]: (r["generation"], r["next_offset"]) for r in rows.iter_rows(named=True)
        }

    # -- the loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        from kafka import TopicPartition

        self._subscribe()
        with contextlib.ExitStack() as bars:
            bar: CatchUp | None = None
            while not self.stopper.stopped:
                polled = self._poll()
                records = sum(len(part) for part in polled.values())
                behind = self._behind()
                if bar is None and behind > 2 * self.options.max_records:
                    bar = bars.enter_context(self.log.bar("projecting", behind + records))
                if records or self.state.deferred or today().isoformat() != self.state.day:
                    timer = Timer()
                    batch, rewind = self._batch(polled)
                    done = self.state.apply(batch, rewind, behind=behind)
                    for partition, (_, offset) in rewind.items():
                        self.consumer.seek(TopicPartition(self.settings.topic, partition), offset)
                    self._logged(done, timer, behind)
                    if bar is not None:
                        bar.advance(records)
                if bar is not None and behind == 0:
                    bars.close()
                    bar = None
                if self.options.drain and not records and self._caught_up():
                    break
            if self.state.deferred:  # stopping: the rows left waiting are written first
                self._logged(self.state.apply([]), Timer(), 0)

    def _poll(self) -> dict[Any, list[Any]]:
        """Records to apply as one batch: what one poll brings, topped up while more is already
        waiting on the broker (catching up), up to `max_records` or for half a second. Each
        batch has a cost of its own whatever its size, so a projector behind takes big ones."""
        polled: dict[Any, list[Any]] = self.consumer.poll(
            timeout_ms=self.options.poll_ms, max_records=self.options.max_records
        )
        count = sum(len(part) for part in polled.values())
        deadline = time.monotonic() + 0.5
        while count and count < self.options.max_records and time.monotonic() < deadline:
            if self._behind() == 0:
                break
            more = self.consumer.poll(timeout_ms=50, max_records=self.options.max_records - count)
            if not more:
                break
            for tp, part in more.items():
                polled.setdefault(tp, []).extend(part)
                count += len(part)
        return polled

    def _batch(self, polled: dict[Any, list[Any]]) -> tuple[list[Consumed], dict[int, Any]]:
        """The records to apply, in order per partition, and the partitions to read again from
        their beginning because a newer generation of the topic appeared in them."""
        stored = self._stored(self.db)
        batch: list[Consumed] = []
        rewind: dict[int, tuple[int, int]] = {}
        for tp, records in polled.items():
            generation = stored.get(tp.partition, (0, 0))[0]
            for r in records:
                record = Consumed(tp.partition, r.offset, r.value)
                if generation and record.generation > generation:
                    start = self.consumer.beginning_offsets([tp])[tp]
                    if r.offset > start:
                        rewind[tp.partition] = (record.generation, start)
                        break
                generation = max(generation, record.generation)
                batch.append(record)
        return batch, rewind

    def _behind(self) -> int:
        """Messages between this member's positions and the partitions' ends (as last fetched)."""
        total = 0
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)
            if end is not None:
                total += max(0, end - self.consumer.position(tp))
        return total

    def _caught_up(self) -> bool:
        """Every assigned partition read to its end (the high watermark the last fetch gave,
        never less than the broker's offset listing)."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return False
        listed = self.consumer.end_offsets(assigned)
        for tp in assigned:
            high = self.consumer.highwater(tp)
            if high is None or self.consumer.position(tp) < max(listed[tp], high):
                return False  # no fetch answered yet, or more to read
        return True

    def _logged(self, done: Applied, timer: Timer, behind: int) -> None:
        self.applied += done.new
        self.batches += 1
        self.log.line(
            "batch",
            records=done.records,
            new=done.new,
            duplicates=done.duplicates,
            from_other_members=done.others,
            spend_rows_of=done.spend_agreements,
            agreement_rows_of=done.agreement_rows,
            as_of=done.as_of,
            offsets=done.offsets,
            rewound=done.rewound or None,
            rows_waiting_for=done.deferred or None,
            behind=behind,
            events=self.state.frame.height,
            **timer.figures(),
        )
