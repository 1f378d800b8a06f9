"""Replay a topic (or a dead-letter topic) from a point in time or offset.

Reads every partition from the start point until the reader reaches its end
(librdkafka's end-of-partition event; watermarks are not trusted, as some
Kafka-protocol brokers report them per batch), with manual assignment: no consumer group is
joined and no committed offsets move. Each message goes to a handler, or back to
a topic: ``to_original`` sends dead letters back where they came from (the
``dlq-original-topic`` header) with the ``dlq-*`` headers removed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from contracts.errors import BadInputError, InfrastructureError
from contracts.kafka import clients
from contracts.kafka.headers import message_headers

log = logging.getLogger("contracts.kafka.replay")


@dataclass
class Start:
    """Where to start: the beginning, an offset (in every partition), or a time."""

    offset: int | None = None
    time: datetime | None = None

    def label(self) -> str:
        if self.time is not None:
            return f"from {self.time.isoformat()}"
        return "from the beginning" if self.offset is None else f"from offset {self.offset}"


@dataclass
class ReplayResult:
    read: int = 0
    sent: dict[str, int] = field(default_factory=dict)


def replay(
    bootstrap_servers: str,
    topic: str,
    start: Start,
    *,
    handler: Callable[[Message], None] | None = None,
    to_topic: str | None = None,
    to_original: bool = False,
    limit: int | None = None,
    timeout: float = 10.0,
) -> ReplayResult:
    if (handler is not None) + (to_topic is not None) + bool(to_original) != 1:
        raise BadInputError("replay needs exactly one destination: a handler, a topic, or the original topic")
    consumer = clients.consumer(
        bootstrap_servers,
        **{"group.id": f"contracts-replay-{uuid.uuid4().hex}", "enable.auto.commit": False, "enable.partition.eof": True},
    )
    producer = clients.producer(bootstrap_servers) if handler is None else None
    from contracts.observe.tracing import for_client  # finds OpenTelemetry without importing it

    tracing = for_client() if producer is not None else None  # each resend a span of the event's own trace
    result = ReplayResult()
    try:
        try:
            meta = consumer.list_topics(topic, timeout=timeout)
        except Exception as exc:
            raise InfrastructureError(f"broker {bootstrap_servers} unreachable: {exc}") from exc
        info = meta.topics.get(topic)
        if info is None or info.error is not None:
            raise BadInputError(f"topic {topic!r} does not exist")
        parts = [TopicPartition(topic, p) for p in sorted(info.partitions)]
        if start.time is not None:
            ms = int(start.time.timestamp() * 1000)
            parts = consumer.offsets_for_times([TopicPartition(topic, p.partition, ms) for p in parts], timeout=timeout)
        else:
            parts = [TopicPartition(topic, p.partition, OFFSET_BEGINNING if start.offset is None else start.offset) for p in parts]
        pending = {p.partition for p in parts if p.offset != -1}  # -1: nothing at or after that time
        consumer.assign([p for p in parts if p.partition in pending])
        idle_since = time.monotonic()
        while pending and (limit is None or result.read < limit):
            msg = consumer.poll(0.5)
            if msg is None:
                if time.monotonic() - idle_since > timeout:
                    break  # nothing arrives: treat every partition as read
                continue
            idle_since = time.monotonic()
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition() or 0)
                continue
            partition = msg.partition() or 0
            offset = msg.offset() or 0
            result.read += 1
            if handler is not None:
                handler(msg)
            else:
                assert producer is not None
                pairs = message_headers(msg)
                headers = [(k, v) for k, v in pairs if not k.startswith("dlq-")]
                target = to_topic
                if to_original:
                    original = dict(pairs).get("dlq-original-topic")
                    if not original:
                        log.warning("%s[%d]@%d has no dlq-original-topic header; skipped", topic, partition, offset)
                        continue
                    target = original.decode() if isinstance(original, bytes) else str(original)
                    headers.append(("replayed-from", f"{topic}[{partition}]@{offset}".encode()))
                assert target is not None
                if tracing is not None:
                    tracing.replayed(headers, target, msg.key(), f"{topic}[{partition}]@{offset}")
                producer.produce(target, value=msg.value(), key=msg.key(), headers=headers)
                producer.poll(0)
                result.sent[target] = result.sent.get(target, 0) + 1
        if producer is not None and producer.flush(timeout):
            raise InfrastructureError("replayed messages were not all acknowledged by the broker")
    finally:
        consumer.close()
    return result
