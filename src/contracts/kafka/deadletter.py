"""Dead letters: the original bytes to the topic's dead-letter topic, with headers that say why.

Thread-safe: the sequential consumer and the concurrent one's workers share one producer.
A dead letter counts only once the broker acknowledged it; otherwise ``DeadLetterError``
and the message's offset is not committed, so it comes back after a restart.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from confluent_kafka import KafkaError, Message, Producer

from contracts.catalog import Catalog, dead_letter_topic
from contracts.datacontract.runner import RuleFailure
from contracts.errors import ContractsError
from contracts.kafka import clients
from contracts.kafka._logctx import message_context, redact
from contracts.kafka.headers import message_headers

log = logging.getLogger("contracts.kafka.consumer")


class DeadLetterError(ContractsError):
    """A message could not be dead-lettered; its offset is not committed."""


class DeadLetters:
    def __init__(self, bootstrap_servers: str, catalog: Catalog, *, group_id: str, name: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.catalog = catalog
        self.group_id = group_id
        self.name = name
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def target(self, topic: str) -> str:
        t = self.catalog.topics.get(topic)
        return t.dlq if t else dead_letter_topic(topic)

    def _get(self) -> Producer:
        with self._lock:
            if self._producer is None:
                self._producer = clients.producer(self.bootstrap_servers, **{"client.id": f"{self.name}-dlq"})
            return self._producer

    def send(self, msg: Message, error: BaseException, *, attempts: int, event_id: str | None) -> None:
        """Produce ``msg`` to its dead-letter topic and wait for the acknowledgement."""
        topic = msg.topic() or ""
        target = self.target(topic)
        _, ts = msg.timestamp()
        headers: list[tuple[str, str | bytes | None]] = [
            *message_headers(msg),
            ("dlq-error-type", type(error).__name__.encode()),
            ("dlq-error-message", redact(str(error))[:2000].encode()),
            ("dlq-original-topic", topic.encode()),
            ("dlq-original-partition", str(msg.partition()).encode()),
            ("dlq-original-offset", str(msg.offset()).encode()),
            ("dlq-original-timestamp", (datetime.fromtimestamp(ts / 1000, UTC).isoformat() if ts > 0 else "").encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-attempts", str(attempts).encode()),
        ]
        rule = getattr(error, "rule", None)
        if isinstance(rule, RuleFailure):  # a READ rule refused it: say which
            headers += rule.headers()
        failure: list[str] = []
        done = threading.Event()

        def delivered(err: KafkaError | None, _: Message) -> None:
            if err is not None:
                failure.append(str(err))
            done.set()

        producer = self._get()
        producer.produce(target, value=msg.value(), key=msg.key(), headers=headers, on_delivery=delivered)
        remaining = producer.flush(30)
        if remaining or failure or not done.is_set():
            raise DeadLetterError(f"could not dead-letter {topic}[{msg.partition()}]@{msg.offset()} to {target}: {failure or 'timeout'}")
        log.error(
            "%s: event %s at %s[%d]@%d dead-lettered to %s: %s",
            self.name, event_id, topic, msg.partition(), msg.offset(), target, redact(repr(error)),
            extra=message_context(topic, msg.partition(), msg.offset(), event_id),
        )  # fmt: skip

    def flush(self, timeout: float) -> None:
        with self._lock:
            producer = self._producer
        if producer is not None:
            producer.flush(timeout)
