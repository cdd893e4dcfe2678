"""How far behind each part of the stream is, per partition: the relay behind the store, and each
projector group behind the topic (`cledger lag`).

- relay: the events the store holds after the relay's position, counted on the partition each
  will be sent to (an agreement's by its key, the others' on every partition), beside the
  offset the relay last had acknowledged there;
- projector: per group (from the views database, where the offsets are kept with the rows),
  the partition's end offset less the group's next offset.
"""

from __future__ import annotations

from typing import Any

import orjson

from consumers import broker
from consumers.settings import KafkaSettings
from consumers.store_log import StoreLog

UNPUBLISHED_SCAN = 200_000  # beyond this many unpublished events, only the total is given


def relay_lag(store: str, settings: KafkaSettings, partitions: int) -> list[dict[str, Any]]:
    """One row per partition: events the relay has still to send there."""
    log = StoreLog(store)
    try:
        found = [p for c, t, p in log.positions() if t == settings.topic]
        position = max(found, key=lambda p: p.notification_id) if found else None
        after = position.notification_id if position else 0
        total = log.count_after(after)
        per = dict.fromkeys(range(partitions), 0)
        counted = total <= UNPUBLISHED_SCAN and partitions > 0
        if counted:
            rows = log.page(after, UNPUBLISHED_SCAN)
            for row in rows:
                kind, type_ = log.topics[row.topic]
                data = orjson.loads(row.state).get("data") or {}
                subject = data.get("agreement_id") if kind == "agreement" else None
                if kind == "agreement":
                    key = subject or log.subjects_of([row.originator_id]).get(row.originator_id)
                    per[broker.partition_for((key or row.originator_id).encode(), partitions)] += 1
                else:
                    for p in per:
                        per[p] += 1
        last = log.last_id()
    finally:
        log.close()
    offsets = (position.offsets if position else None) or {}
    return [
        {
            "part": "relay",
            "group": "",
            "partition": p,
            "position": offsets.get(p),
            "end": None,
            "behind": per[p] if counted else None,
            "note": f"store at notification {last}, relay at {after}: {total} events to send",
        }
        for p in range(partitions)
    ]


def projector_lag(
    views: str, settings: KafkaSettings, ends: dict[int, int]
) -> list[dict[str, Any]]:
    """One row per group and partition: messages the group has still to apply."""
    from consumers.views_db import ViewsDB

    db = ViewsDB.open(views)
    try:
        stored = db.offsets().filter(topic=settings.topic)
    finally:
        db.close()
    rows = []
    groups = sorted(set(stored["grp"].to_list()))
    for group in groups:
        mine = {
            r["partition"]: r["next_offset"] for r in stored.filter(grp=group).iter_rows(named=True)
        }
        for p, end in sorted(ends.items()):
            at = mine.get(p)
            rows.append(
                {
                    "part": "projector",
                    "group": group,
                    "partition": p,
                    "position": at,
                    "end": end,
                    "behind": end - (at or 0) if at is None or at <= end else 0,
                    "note": "" if at is not None else "never read",
                }
            )
    return rows


def topic_ends(settings: KafkaSettings) -> dict[int, int]:
    """Each partition's end offset (the offset the next message written there will take)."""
    from kafka import KafkaConsumer, TopicPartition

    client = broker.admin(settings)
    try:
        count = broker.topic_partitions(client, settings.topic) or 0
    finally:
        client.close()
    if not count:
        return {}
    consumer = KafkaConsumer(**settings.client(), enable_auto_commit=False)
    try:
        tps = [TopicPartition(settings.topic, p) for p in range(count)]
        consumer.assign(tps)
        return {tp.partition: end for tp, end in high_watermarks(consumer, tps).items()}
    finally:
        consumer.close()


def high_watermarks(consumer: Any, tps: list[Any], wait_ms: int = 3_000) -> dict[Any, int]:
    """End offsets as the broker's fetch responses give them (the high watermark), never less
    than its offset listing says: a broker may list the start of its last batch rather than
    the end of it. Fetches one message at most from near each end."""
    import time

    listed = {tp: int(o) for tp, o in consumer.end_offsets(tps).items()}
    positions = {tp: consumer.position(tp) for tp in tps}
    for tp in tps:
        consumer.seek(tp, max(0, listed[tp] - 1))
    deadline = time.monotonic() + wait_ms / 1000
    while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in tps):
        consumer.poll(timeout_ms=200, max_records=1)
    for tp, at in positions.items():
        consumer.seek(tp, at)
    return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in tps}


def lag(store: str | None, views: str | None, settings: KafkaSettings) -> list[dict[str, Any]]:
    ends = topic_ends(settings)
    rows: list[dict[str, Any]] = []
    if store is not None:
        rows += relay_lag(store, settings, len(ends))
        for row in rows:
            row["end"] = ends.get(row["partition"])
    if views is not None:
        rows += projector_lag(views, settings, ends)
    return rows
