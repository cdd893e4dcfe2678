"""kafka-python clients made from `KafkaSettings`: the admin client that creates the topic and
names the cluster, the relay's producer and the projector's consumer.

Nothing here knows which broker answers: the same calls work against Apache Kafka, Redpanda or
the Tansu broker the tests start. kafka-python's own errors are turned into one-line
`StreamError`s naming the broker and what was expected.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from consumers.settings import KafkaSettings, StreamError

# kafka-python logs every reconnect attempt and rebalance at WARNING/ERROR; the processes log
# their own structured lines, and a raw library traceback must never reach a user's terminal
logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _explain(settings: KafkaSettings, err: Exception) -> StreamError:
    what = " ".join(str(err).split()) or type(err).__name__
    return StreamError(
        f"cannot use the Kafka cluster at {settings.bootstrap} ({type(err).__name__}: {what}); "
        "expected a reachable broker (check --bootstrap and the TLS/SASL settings)"
    )


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (the Java client's murmur2, as
    kafka-python reproduces it), so other producers keying by agreement id agree with ours."""
    from kafka.partitioner.default import murmur2

    return int((murmur2(key) & 0x7FFFFFFF) % partitions)


def admin(settings: KafkaSettings) -> Any:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(**settings.client(), request_timeout_ms=15_000)
    except (KafkaError, OSError, ValueError) as err:
        raise _explain(settings, err) from None


def cluster_id(client: Any, settings: KafkaSettings) -> str:
    """The cluster's own id (the relay's position is kept per cluster and topic); the bootstrap
    list where a broker does not say."""
    with contextlib.suppress(Exception):
        found = client.describe_cluster().get("cluster_id")
        if found:
            return str(found)
    return settings.bootstrap


def topic_partitions(client: Any, topic: str) -> int | None:
    """How many partitions `topic` has, or None when it does not exist."""
    from kafka.errors import KafkaError

    if topic not in set(client.list_topics()):
        return None
    try:
        described = client.describe_topics([topic])
    except KafkaError:
        return None
    for entry in described:
        if (entry.get("name") or entry.get("topic")) == topic and entry.get("partitions"):
            return len(entry["partitions"])
    return None


def ensure_topic(
    client: Any, settings: KafkaSettings, partitions: int, replication: int
) -> tuple[int, bool]:
    """(partitions, created): the topic's partition count, creating it when missing with
    `partitions` and `replication` and unlimited retention (the projectors of a new views
    database read it from the start)."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    found = topic_partitions(client, settings.topic)
    if found is not None:
        return found, False
    try:
        client.create_topics(
            [
                NewTopic(
                    settings.topic,
                    num_partitions=partitions,
                    replication_factor=replication,
                    topic_configs={"retention.ms": "-1"},
                )
            ]
        )
    except TopicAlreadyExistsError:
        pass  # another relay made it a moment ago
    except KafkaError as err:
        raise _explain(settings, err) from None
    for _ in range(50):
        found = topic_partitions(client, settings.topic)
        if found:
            return found, True
        import time

        time.sleep(0.1)
    raise StreamError(f"topic {settings.topic} was created but the cluster does not list it")


def producer(settings: KafkaSettings, **tuning: Any) -> Any:
    """An idempotent producer that waits for every in-sync replica (acks=all). Asking for
    idempotence explicitly makes kafka-python refuse, rather than quietly drop it, on a broker
    that lacks it (before Kafka 0.11) or with settings that conflict."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaConfigurationError, KafkaError

    try:
        return KafkaProducer(
            **settings.client(),
            acks="all",
            enable_idempotence=True,
            max_in_flight_requests_per_connection=5,
            **tuning,
        )
    except KafkaConfigurationError as err:
        raise StreamError(
            f"the Kafka cluster at {settings.bootstrap} cannot take an idempotent producer "
            f"({' '.join(str(err).split())}); expected Kafka 0.11 or later"
        ) from None
    except (KafkaError, OSError, ValueError) as err:
        raise _explain(settings, err) from None


def consumer(settings: KafkaSettings, group: str, **tuning: Any) -> Any:
    """A consumer in `group` that commits nothing by itself: the projector keeps its offsets in
    the views database, in the transaction that applies the events."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(
            **settings.client(),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **tuning,
        )
    except (KafkaError, OSError, ValueError) as err:
        raise _explain(settings, err) from None
