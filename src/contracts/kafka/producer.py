"""``EventProducer``: send generated events to their catalog topic, typed and registry-framed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from contracts.catalog import Catalog, dead_letter_topic
from contracts.datacontract.runner import RuleFailure
from contracts.errors import ContractsError, InfrastructureError
from contracts.kafka import clients
from contracts.kafka._logctx import message_context, redact
from contracts.kafka.headers import Headers, header, identity_headers, type_headers
from contracts.kafka.stats import ProducerStats
from contracts.live import LIVE
from contracts.record import AvroRecord
from contracts.serde import EventSerializer, SerializationError

log = logging.getLogger("contracts.kafka.producer")



class DeliveryError(ContractsError):
    """One or more events were not delivered (broker down, timeout, topic refused them)."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} event(s) not delivered: " + "; ".join(f"{t}: {e}" for t, e in failures[:5]))


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
        tracing: bool = True,
        tracer_provider: Any = None,
        **conf: Any,
    ) -> None:
        self.name = name
        self.serializer = serializer
        self.catalog: Catalog = serializer.catalog
        self.on_error = on_error
        self._failures: list[tuple[str, str, bool]] = []  # topic, error, whether an outage
        self._lock = threading.Lock()
        self._sent = 0
        self.stats = ProducerStats()
        LIVE.add(self)  # the process's metrics endpoint reports it
        # Per class and topic: the headers every such event shares, its idempotency key field, its subject and schema id.
        self._constant_headers: dict[tuple[type[AvroRecord], str], tuple[Headers, str | None, str, int]] = {}
        from contracts.observe.tracing import for_client, instrumented  # finds OpenTelemetry without importing it

        self._tracing = for_client(tracer_provider) if tracing else None  # a send span per event, its context in the headers
        self._producer = clients.producer(bootstrap_servers, **{"client.id": name, **clients.SAFE_DEFAULTS, **conf})
        if self._tracing is not None and instrumented(self._producer):
            self._tracing = None  # OpenTelemetry's confluent-kafka instrumentation makes the send span and the context

    @property
    def kafka(self) -> Producer:
        """The confluent-kafka producer underneath (the asyncio producer serves its delivery reports)."""
        return self._producer

    def send(self, event: AvroRecord, *, key: str | bytes | None = None, topic: str | None = None) -> None:
        """Serialize and enqueue; delivery is confirmed by ``flush()`` or reported to ``on_error``."""
        topic, value, headers = self.prepare(event, topic, key=key)
        self.send_raw(topic, value, key=key, headers=headers, event=event)

    def prepare(self, event: AvroRecord, topic: str | None = None, *, key: str | bytes | None = None) -> tuple[str, bytes, Headers]:
        """The topic, the framed bytes and the headers ``send`` produces for ``event`` (with the trace context, where traced)."""
        cls = type(event)
        topic = topic or self.serializer.topic_for(cls)  # an explicit topic holds for its call alone
        try:
            value = self.serializer(event, topic)
        except RuleFailure as failure:
            if failure.action != "DLQ" or failure.payload is None:
                self.stats.serialize_errors["rule"] += 1
                raise
            return self._dead_letter(event, topic, failure)
        except SerializationError:
            self.stats.serialize_errors["schema_not_found"] += 1
            raise
        known = self._constant_headers.get((cls, topic))
        if known is None:
            schema_id = self.serializer.schema_id(cls, topic)
            known = (type_headers(cls, self.name, schema_id), self._key_field(cls), self.serializer.subject_for(cls, topic), schema_id)
            self._constant_headers[(cls, topic)] = known
        constant, key_field, subject, schema_id = known
        headers = identity_headers(event, key_field) + constant
        if self._tracing is not None:
            self._tracing.sent(headers, topic, key, cls.__avro_fullname__, subject, schema_id)
        return topic, value, headers

    def _dead_letter(self, event: AvroRecord, topic: str, failure: RuleFailure) -> tuple[str, bytes, Headers]:
        """Where a WRITE rule with ``onFailure = "DLQ"`` sends the event: its topic's dead-letter topic, saying why."""
        assert failure.payload is not None
        cls = type(event)
        target = self.catalog.topics[topic].dlq if topic in self.catalog.topics else dead_letter_topic(topic)
        headers: Headers = [
            *identity_headers(event, self._key_field(cls)),
            *type_headers(cls, self.name, self.serializer.schema_id(cls, topic)),
            *failure.headers(),
            ("dlq-error-type", type(failure).__name__.encode()),
            ("dlq-error-message", redact(str(failure))[:2000].encode()),
            ("dlq-original-topic", topic.encode()),
        ]
        log.error("%s: %s refused by rule %s; sent to %s: %s", self.name, cls.__avro_fullname__, failure.rule.name, target, redact(failure.reason))
        self.stats.refused[topic] += 1
        return target, failure.payload, headers

    def _key_field(self, cls: type[AvroRecord]) -> str | None:
        """The catalog's idempotency key of ``cls``; without one, say once that duplicates cannot be told apart."""
        key = self.catalog.idempotency_key(cls.__avro_fullname__)
        if key is None:
            log.warning(
                "%s has no idempotency key (no metadata.event_id field and no idempotency_key for its topic in the catalog): "
                "each send gets a fresh event id, so a consumer cannot tell a resent event from a new one",
                cls.__avro_fullname__,
            )
        return key

    def send_raw(self, topic: str, value: bytes | None, *, key: str | bytes | None = None, headers: Headers | None = None, event: AvroRecord | None = None) -> None:
        on_error = self.on_error
        if on_error is None:
            delivered = self._delivered  # no per-message closure on the common path
        else:

            def delivered(err: KafkaError | None, msg: Message) -> None:
                if err is None and (latency := msg.latency()) is not None:
                    self.stats.delivery_seconds.observe(latency)
                if err is not None:
                    _log_failure(msg, err)
                    self.stats.delivery_errors[msg.topic() or ""] += 1
                    on_error(event, err)

        key_bytes = key.encode() if isinstance(key, str) else key
        while True:
            try:
                self._producer.produce(topic, value=value, key=key_bytes, headers=headers, on_delivery=delivered)
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: make room
        self._sent += 1
        self.stats.sent[topic] += 1
        if self._sent % 64 == 0:
            self._producer.poll(0)  # serve delivery reports in batches

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            latency = msg.latency()
            if latency is not None:
                self.stats.delivery_seconds.observe(latency)
            return
        _log_failure(msg, err)
        self.stats.delivery_errors[msg.topic() or ""] += 1
        with self._lock:
            self._failures.append((msg.topic() or "", redact(str(err)), err.code() in _OUTAGES or err.retriable()))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for every enqueued event; raise ``DeliveryError`` for any that failed."""
        remaining = self._producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if remaining:
            failures.append(("(queue)", f"{remaining} event(s) still undelivered after {timeout}s", True))
        if failures:
            error = DeliveryError([(topic, message) for topic, message, _ in failures])
            if all(outage for *_, outage in failures):  # nothing refused: the cluster is unreachable (exit 3)
                raise InfrastructureError(str(error)) from error
            raise error

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.flush()
            return
        # Keep the original error; still try to deliver what was sent before it. A stop signal
        # (not an ``Exception``) gets a short flush: the process is on its way out.
        try:
            self.flush(30.0 if isinstance(exc, Exception) else 2.0)
        except ContractsError:
            log.exception("events undelivered while leaving after an error")


def delivery_error(topic: str, err: KafkaError) -> ContractsError:
    """A failed delivery as an error: ``InfrastructureError`` (exit 3) when the cluster was unreachable."""
    error = DeliveryError([(topic, redact(str(err)))])
    if err.code() in _OUTAGES or err.retriable():
        return InfrastructureError(str(error))
    return error


# Delivery errors that mean "could not reach the cluster", not "the cluster refused it".
_OUTAGES = frozenset(
    {
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.BROKER_NOT_AVAILABLE,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_ENOUGH_REPLICAS,
        KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    }
)


def _log_failure(msg: Message, err: KafkaError) -> None:
    event_id = header(msg, "event-id")
    log.error(
        "delivery of event %s to %s failed: %s", event_id, msg.topic(), redact(str(err)),
        extra=message_context(msg.topic(), msg.partition(), None, event_id),
    )  # fmt: skip
