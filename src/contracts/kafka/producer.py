"""``EventProducer``: send generated events to their catalog topic, typed and registry-framed."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from contracts.catalog import Catalog
from contracts.errors import ContractsError, InfrastructureError
from contracts.record import AvroRecord
from contracts.serde import EventSerializer

log = logging.getLogger("contracts.kafka.producer")

# Producer defaults: no duplicates from retries, every replica acknowledges.
SAFE_DEFAULTS = {"enable.idempotence": True, "acks": "all", "linger.ms": 5, "message.timeout.ms": 30000}


class DeliveryError(ContractsError):
    """One or more events were not delivered (broker down, timeout, topic refused them)."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} event(s) not delivered: " + "; ".join(f"{t}: {e}" for t, e in failures[:5]))


Headers = list[tuple[str, str | bytes | None]]


def type_headers(cls: type[AvroRecord], producer_name: str, schema_id: int) -> Headers:
    """Headers that are the same for every event of one class on one topic."""
    return [
        ("event-type", cls.__avro_fullname__.encode()),
        ("content-type", f"application/vnd.confluent.avro; schema-id={schema_id}".encode()),
        ("producer", producer_name.encode()),
    ]


def identity_headers(event: AvroRecord) -> Headers:
    """The event's id and correlation id, from its metadata when it has one."""
    meta = getattr(event, "metadata", None)
    headers: Headers = [("event-id", str(getattr(meta, "event_id", None) or uuid.uuid4()).encode())]
    correlation = getattr(meta, "correlation_id", None)
    if correlation is not None:
        headers.append(("correlation-id", str(correlation).encode()))
    return headers


def event_headers(event: AvroRecord, producer_name: str, schema_id: int) -> Headers:
    """Every header an event carries."""
    return identity_headers(event) + type_headers(type(event), producer_name, schema_id)


class EventProducer:
    """Typed producer: ``send(event, key=...)`` picks the topic from the catalog.

    Delivery failures are never dropped: they go to ``on_error`` when given, and are
    raised by ``flush()`` (and so by leaving the ``with`` block) otherwise.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        serializer: EventSerializer,
        *,
        name: str,
        on_error: Callable[[AvroRecord | None, KafkaError], None] | None = None,
        **conf: Any,
    ) -> None:
        self.name = name
        self.serializer = serializer
        self.catalog: Catalog = serializer.catalog
        self.on_error = on_error
        self._failures: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._sent = 0
        self._topics: dict[type[AvroRecord], str] = {}
        self._constant_headers: dict[tuple[type[AvroRecord], str], Headers] = {}
        config = {"bootstrap.servers": bootstrap_servers, "client.id": name, **SAFE_DEFAULTS, **conf}
        self._producer = Producer(config, logger=logging.getLogger("contracts.kafka.librdkafka"))

    def send(self, event: AvroRecord, *, key: str | bytes | None = None, topic: str | None = None) -> None:
        """Serialize and enqueue; delivery is confirmed by ``flush()`` or reported to ``on_error``."""
        cls = type(event)
        topic = topic or self._topics.get(cls) or self.serializer.topic_for(cls)
        value = self.serializer(event, topic)
        constant = self._constant_headers.get((cls, topic))
        if constant is None:
            constant = self._constant_headers[(cls, topic)] = type_headers(cls, self.name, self.serializer.schema_id(cls, topic))
            self._topics[cls] = topic
        self.send_raw(topic, value, key=key, headers=identity_headers(event) + constant, event=event)

    def send_raw(self, topic: str, value: bytes | None, *, key: str | bytes | None = None, headers: Headers | None = None, event: AvroRecord | None = None) -> None:
        on_error = self.on_error
        if on_error is None:
            delivered = self._delivered  # no per-message closure on the common path
        else:

            def delivered(err: KafkaError | None, msg: Message) -> None:
                if err is not None:
                    log.error("delivery to %s failed: %s", topic, err)
                    on_error(event, err)

        key_bytes = key.encode() if isinstance(key, str) else key
        while True:
            try:
                self._producer.produce(topic, value=value, key=key_bytes, headers=headers, on_delivery=delivered)
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: make room
        self._sent += 1
        if self._sent % 64 == 0:
            self._producer.poll(0)  # serve delivery reports in batches

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        log.error("delivery to %s failed: %s", msg.topic(), err)
        with self._lock:
            self._failures.append((msg.topic() or "", str(err)))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for every enqueued event; raise ``DeliveryError`` for any that failed."""
        remaining = self._producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if remaining:
            failures.append(("(queue)", f"{remaining} event(s) still undelivered after {timeout}s"))
        if failures:
            if all("Local: Message timed out" in e or "undelivered" in e or "Broker" in e or "Transport" in e for _, e in failures):
                raise InfrastructureError(str(DeliveryError(failures)))
            raise DeliveryError(failures)

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.flush()
        else:  # keep the original error; still try to deliver what was sent before it
            try:
                self.flush()
            except ContractsError:
                log.exception("events undelivered while leaving after an error")
