"""The relay: the event store's notification log, in order, onto a Kafka topic.

`cledger relay --bootstrap HOST:PORT [--topic ledger.events] [--from-start]`

Each batch: read the next native events after the position (`consumers.store_log`), encode
them (`consumers.messages`), send them with an idempotent producer that waits for every in-sync
replica, wait until the broker has acknowledged all of them, then store the position (the last
notification id) in the store's database. A crash anywhere before the position is stored makes
the next run send that batch again: a duplicate on the wire is possible, a gap is not.

Keying (README, "Streaming"): an agreement's events carry its agreement id as key, so they land
on one partition in log order; organisation and responsibility events (providers,
commissioners, handovers, and corrections of them) are sent to every partition, each in its
place in the log order, so every projector, whatever partitions it holds, sees a provider's
registration before any award naming it and a merger before the awards recorded after it.

A topic that comes back empty (memory storage lost, topic deleted and recreated) is noticed by
its offsets going back; then, as with `--from-start`, the whole log is replayed under a new
`generation`, and projectors re-read the partitions from their beginning.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import orjson

from consumers import broker
from consumers.messages import Outgoing, encode
from consumers.runtime import Log, Stopper, Timer
from consumers.settings import KafkaSettings, StreamError
from consumers.store_log import Position, StoredRow, StoreLog
from domain.catalogue import CORRECTION_TYPES


@dataclass(frozen=True)
class RelayOptions:
    batch: int = 5_000  # events read and acknowledged per batch
    poll: float = 0.2  # seconds between looks at an idle log (PostgreSQL wakes on NOTIFY)
    partitions: int = 4  # when the relay creates the topic
    replication: int = 1  # likewise (3 on a production cluster)
    from_start: bool = False
    drain: bool = False  # stop once everything in the log is published
    linger_ms: int = 20
    batch_bytes: int = 1 << 20
    send_timeout: float = 120.0


class Relay:
    """One relay process: `run()` publishes until stopped (or drained) and returns the number
    of events published."""

    def __init__(
        self,
        store: str,
        settings: KafkaSettings,
        options: RelayOptions = RelayOptions(),
        *,
        log: Log | None = None,
        stopper: Stopper | None = None,
    ):
        self.settings, self.options = settings, options
        self.store = StoreLog(store)
        self.log = log or Log("relay")
        self.stopper = stopper or Stopper()
        self.published = 0
        self._partitions: dict[bytes, int] = {}

    def run(self) -> int:
        try:
            self.store.connect()
        except Exception as err:  # noqa: BLE001 - one line for a store that cannot be read
            raise StreamError(f"cannot read the store {self.store.store.display}: {err}") from None
        client = broker.admin(self.settings)
        try:
            self.cluster = broker.cluster_id(client, self.settings)
            partitions, created = broker.ensure_topic(
                client, self.settings, self.options.partitions, self.options.replication
            )
        finally:
            client.close()
        position = self.store.load_position(self.cluster, self.settings.topic) or Position()
        if self.options.from_start or (created and position.notification_id > 0):
            why = "asked (--from-start)" if self.options.from_start else "the topic was missing"
            position = Position(0, position.generation + 1, {})
            self.log.line("replay", reason=why, generation=position.generation)
        self.producer = broker.producer(
            self.settings, linger_ms=self.options.linger_ms, batch_size=self.options.batch_bytes
        )
        try:
            self.partitions = sorted(self.producer.partitions_for(self.settings.topic) or [])
            if not self.partitions:
                raise StreamError(f"topic {self.settings.topic} has no partitions")
            self.log.line(
                "start",
                store=self.store.store.display,
                topic=self.settings.topic,
                cluster=self.cluster,
                partitions=len(self.partitions),
                position=position.notification_id,
                generation=position.generation,
                acks={-1: "all"}.get(self.producer.config["acks"], self.producer.config["acks"]),
                idempotent=bool(self.producer.config["enable_idempotence"]),
            )
            self._loop(position)
        finally:
            self.producer.close(timeout=10)
            self.store.close()
        self.log.line("stop", published=self.published, signal=self.stopper.signal)
        return self.published

    def _loop(self, position: Position) -> None:
        backlog = self.store.count_after(position.notification_id)
        with self.store.news() as wait, self.log.bar("relaying", backlog) as bar:
            while not self.stopper.stopped:
                rows = self.store.page(position.notification_id, self.options.batch)
                if not rows:
                    if self.options.drain:
                        return
                    wait(self.options.poll)
                    continue
                timer = Timer()
                messages = self._encode(rows, position.generation)
                offsets = self._send(messages)
                position = self._advance(position, rows[-1].notification_id, offsets)
                self.store.save_position(self.cluster, self.settings.topic, position)
                self.published += len(rows)
                bar.advance(len(rows))
                self.log.line(
                    "batch",
                    events=len(rows),
                    messages=sum(len(o) for o in offsets.values()),
                    first_id=rows[0].notification_id,
                    position=position.notification_id,
                    behind_ids=max(0, self.store.last_id() - position.notification_id),
                    generation=position.generation,
                    **timer.figures(),
                )

    def _encode(self, rows: list[StoredRow], generation: int) -> list[Outgoing]:
        kinds = [self.store.topics[r.topic] for r in rows]
        # a correction may not name its agreement: the key is then the agreement id its
        # aggregate's first event (the award) names
        unnamed = [
            r.originator_id
            for r, (kind, type_) in zip(rows, kinds, strict=True)
            if kind == "agreement"
            and type_ in CORRECTION_TYPES
            and not (orjson.loads(r.state).get("data") or {}).get("agreement_id")
        ]
        looked = self.store.subjects_of(unnamed)
        return [
            encode(r, kind, type_, generation, looked)
            for r, (kind, type_) in zip(rows, kinds, strict=True)
        ]

    def _send(self, messages: list[Outgoing]) -> dict[int, list[int]]:
        """Send and wait for every acknowledgement; the offsets acknowledged per partition."""
        from kafka.errors import KafkaError

        topic = self.settings.topic
        futures = []
        for m in messages:
            if m.agreement:
                partition = self._partition(m.key)
                futures.append(
                    self.producer.send(topic, key=m.key, value=m.value, partition=partition)
                )
            else:
                futures.extend(
                    self.producer.send(topic, key=m.key, value=m.value, partition=p)
                    for p in self.partitions
                )
        self.producer.flush(timeout=self.options.send_timeout)
        offsets: dict[int, list[int]] = {}
        try:
            for f in futures:
                meta = f.get(timeout=self.options.send_timeout)
                offsets.setdefault(meta.partition, []).append(meta.offset)
        except KafkaError as err:
            raise StreamError(
                f"the broker did not acknowledge a message ({type(err).__name__}: {err}); the "
                "position was not moved, so a restart sends the batch again"
            ) from None
        return offsets

    def _partition(self, key: bytes) -> int:
        """The partition Kafka's default partitioner gives `key` (murmur2 of the key, modulo
        the partitions), remembered per agreement: kafka-python computes it in pure Python."""
        found = self._partitions.get(key)
        if found is None:
            if len(self._partitions) > 1_000_000:
                self._partitions.clear()
            found = self.partitions[broker.partition_for(key, len(self.partitions))]
            self._partitions[key] = found
        return found

    def _advance(self, position: Position, last_id: int, acked: dict[int, list[int]]) -> Position:
        """The position after a batch; a replay from the start when an offset went back (the
        topic was emptied under the relay)."""
        known = dict(position.offsets or {})
        for partition, offs in acked.items():
            before = known.get(partition)
            if before is not None and min(offs) <= before:
                self.log.line(
                    "replay",
                    reason="the topic lost its messages (an offset went back)",
                    partition=partition,
                    offset=min(offs),
                    last_acknowledged=before,
                    generation=position.generation + 1,
                )
                return Position(0, position.generation + 1, {p: max(o) for p, o in acked.items()})
            known[partition] = max(offs)
        return replace(position, notification_id=last_id, offsets=known)
