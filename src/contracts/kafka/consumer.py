"""``EventConsumer``: typed handlers, at-least-once, retries, dead letters, dedupe, clean shutdown.

For each message: deserialize (failure: dead-letter at once), find the handler for
its class, run it (with the dedupe store when given), retry it after a bounded
exponential backoff, and after the last failure produce the original bytes to the
topic's dead-letter topic with headers saying why. A message counts as finished once
its handler succeeded or its dead letter was acknowledged; each partition's offset is
committed up to the lowest unfinished message (``loop``). A message is never lost: a
crash before its offset is committed means it is delivered again.

``concurrency=1`` (the default) runs one handler at a time on the poll thread; more
runs that many at once, in order per key (``ordering``). Both are the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from confluent_kafka import Consumer, Message, TopicPartition

from contracts.catalog import Catalog
from contracts.errors import BadInputError, ContractsError
from contracts.kafka import clients
from contracts.kafka.deadletter import DeadLetters
from contracts.kafka.dedupe import DedupeStore
from contracts.kafka.handling import Handler, Handling
from contracts.kafka.lanes import ORDERINGS, Ordering
from contracts.kafka.loop import ConsumerLoop, LoopOptions
from contracts.kafka.stats import ConsumerStats
from contracts.live import LIVE
from contracts.record import AvroRecord
from contracts.retry import RetryPolicy
from contracts.serde import EventDeserializer
from contracts.shutdown import calling_on_signals

__all__ = ["CONSUMER_DEFAULTS", "SESSION_TIMEOUT_ENV", "ConsumerStats", "EventConsumer"]

log = logging.getLogger("contracts.kafka.consumer")
E = TypeVar("E", bound=AvroRecord)

# A fetch in flight holds back the next one, a resumed partition's included (``flow``): librdkafka's long poll
# of 500 ms left a partition resumed from backpressure idle that long; 100 ms costs an idle consumer 10 fetches a second.
CONSUMER_DEFAULTS = {"auto.offset.reset": "earliest", "fetch.wait.max.ms": 100}
LOOP_COMMITS = {"enable.auto.commit": False}  # the loop commits what finished, with the commit metadata
DEFAULT_COMMIT_INTERVAL = 0.5  # seconds, unless ``commit_interval`` or ``auto.commit.interval.ms`` says otherwise


SESSION_TIMEOUT_ENV = "CONTRACTS_KAFKA_SESSION_TIMEOUT_MS"
"""Default ``session.timeout.ms`` for consumers that set none (``contracts dev up`` exports it for Tansu)."""


def _session_defaults(conf: dict[str, Any]) -> dict[str, Any]:
    """``session.timeout.ms`` (and a heartbeat a third of it) from the environment, unless ``conf`` sets them."""
    value = os.environ.get(SESSION_TIMEOUT_ENV)
    if not value or "session.timeout.ms" in conf:
        return {}
    try:
        timeout = int(value)
    except ValueError:
        raise BadInputError(f"{SESSION_TIMEOUT_ENV}={value!r} is not a number of milliseconds") from None
    return {"session.timeout.ms": timeout, "heartbeat.interval.ms": min(conf.get("heartbeat.interval.ms", 3000), max(1, timeout // 3))}


def _metrics_port(given: int | None) -> int | None:
    """The argument, else ``$CONTRACTS_METRICS_PORT``, else none (metrics off: nothing of them is imported)."""
    if given is not None:
        return given
    from contracts.observe.metrics import METRICS_PORT_ENV, metrics_port

    value = os.environ.get(METRICS_PORT_ENV)
    return metrics_port(value) if value else None


class EventConsumer:
    """Consume events of the registered classes from their catalog topics.

    >>> consumer = EventConsumer(bootstrap, deserializer, catalog, group_id="payments", name="payments-1")
    >>> @consumer.handler(OrderCreated)
    ... def charge(event: OrderCreated) -> None: ...
    >>> consumer.run()
    """

    def __init__(
        self,
        bootstrap_servers: str,
        deserializer: EventDeserializer,
        catalog: Catalog,
        *,
        group_id: str,
        name: str,
        dedupe: DedupeStore | None = None,
        retry: RetryPolicy | None = None,
        topics: list[str] | None = None,
        concurrency: int = 1,
        ordering: Ordering = "key",
        max_in_flight: int | None = None,
        commit_interval: float | None = None,
        drain_timeout: float = 10.0,
        metrics_port: int | None = None,
        tracing: bool = True,
        tracer_provider: Any = None,
        **conf: Any,
    ) -> None:
        if concurrency < 1:
            raise ContractsError(f"concurrency must be at least 1, not {concurrency}")
        if ordering not in ORDERINGS:
            raise ContractsError(f"ordering must be one of {', '.join(ORDERINGS)}, not {ordering!r}")
        if commit_interval is None:  # librdkafka's own setting, for those who set it: we commit, at that cadence
            commit_interval = float(conf.get("auto.commit.interval.ms", DEFAULT_COMMIT_INTERVAL * 1000)) / 1000
        self.concurrency = concurrency
        self.ordering: Ordering = ordering
        self.max_in_flight = max_in_flight or max(1000, 16 * concurrency)
        self.commit_interval = commit_interval
        self.drain_timeout = drain_timeout
        self.event_loop: asyncio.AbstractEventLoop | None = None  # where async handlers run (default: a loop of its own)
        self.bootstrap_servers = bootstrap_servers
        self.deserializer = deserializer
        self.catalog = catalog
        self.group_id = group_id
        self.name = name
        self.dedupe = dedupe
        self.retry = retry or RetryPolicy()
        self.stats = ConsumerStats()
        LIVE.add(self)  # the process's metrics endpoint reports it
        self.metrics_port = _metrics_port(metrics_port)  # /metrics, /healthz and /readyz while it runs
        self.metrics_server: Any = None
        self.dead_letters = DeadLetters(bootstrap_servers, catalog, group_id=group_id, name=name)
        self.assignment: list[tuple[str, int]] = []
        self._topics = topics
        self._handling = Handling(deserializer, catalog, name=name, dedupe=dedupe, group=group_id, tracing=tracing, tracer_provider=tracer_provider)
        self._handling.decode_errors = self.stats.decode_errors  # counted where messages are decoded
        self._conf = {"bootstrap.servers": bootstrap_servers, "group.id": group_id, "client.id": name, **CONSUMER_DEFAULTS, **_session_defaults(conf), **conf, **LOOP_COMMITS}
        self._stop = threading.Event()
        self._loop: ConsumerLoop | None = None

    # -- registration -------------------------------------------------------
    def handler(self, cls: type[E]) -> Callable[[Callable[[E], object]], Callable[[E], object]]:
        def register(fn: Callable[[E], object]) -> Callable[[E], object]:
            self.on(cls, fn)
            return fn

        return register

    def on(self, cls: type[E], fn: Callable[[E], object]) -> None:
        self._handling.on(cls, fn)

    def event_id(self, msg: Message, event: AvroRecord | None) -> str:
        """What the dedupe store keys on: the catalog's idempotency key of the event, else its ``event-id`` header."""
        return self._handling.event_id(msg, event)

    def topics(self) -> list[str]:
        if self._topics:
            return list(self._topics)
        names = set()
        for cls in self._handling.handlers:
            t = self.catalog.topic_for(cls.__avro_fullname__)
            if t is None:
                raise ContractsError(f"no topic in the catalog carries {cls.__avro_fullname__}")
            names.add(t.name)
        return sorted(names)

    @property
    def handlers(self) -> dict[type[AvroRecord], Handler]:
        """The handler of each event class (read-only: register with ``handler``/``on``)."""
        return self._handling.handlers

    @property
    def stopping(self) -> bool:
        """Whether ``stop()`` (or a signal) asked the loop to stop."""
        return self._stop.is_set()

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages behind the end of each partition, from the committed offsets (as of the last half second)."""
        return self.stats.lag()

    # -- lifecycle ------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to stop after the messages in hand."""
        self._stop.set()

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None, handle_signals: bool = True) -> ConsumerStats:
        """Consume until ``stop()``, SIGTERM/SIGINT, ``max_messages`` or ``idle_timeout`` seconds without messages.

        A signal stops the loop after the messages in hand; SIGINT is left alone where it is ignored
        (a shell's background job), as every long-running command here does.
        """
        with calling_on_signals(self._on_signal) if handle_signals else contextlib.nullcontext(), self._serving_metrics():
            kafka = clients.consumer(None, **self._conf)
            options = LoopOptions(
                self.name, self.concurrency, self.ordering, self.max_in_flight, self.commit_interval, self.drain_timeout, self.retry, self.event_loop
            )
            self._loop = ConsumerLoop(kafka, self._handling, self.dead_letters, self.stats, options, self._stop)
            try:
                kafka.subscribe(self.topics(), on_assign=self._on_assign, on_revoke=self._on_revoke)
                self._loop.run(max_messages, idle_timeout)
            finally:
                self._loop = None
                self._close(kafka)
        return self.stats

    @contextlib.contextmanager
    def _serving_metrics(self) -> Iterator[None]:
        if self.metrics_port is None:
            yield
            return
        from contracts.observe.metrics import serve_metrics

        self.metrics_server = serve_metrics(self.metrics_port, ready=self._not_ready)
        log.info("%s: metrics on http://%s:%d/metrics", self.name, self.metrics_server.host, self.metrics_server.port)
        try:
            yield
        finally:
            self.metrics_server.stop()

    def _not_ready(self) -> str | None:
        """Why the consumer is not ready (``None``: it is): it has partitions, and so a broker that answers."""
        if self.stopping:
            return "stopping"
        return None if self.assignment else "no partitions assigned (joining the group, or the broker does not answer)"

    def _on_signal(self, signum: int) -> None:
        log.info("%s: signal %d, stopping after the messages in hand", self.name, signum)
        self._stop.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment = sorted({*self.assignment, *((p.topic, p.partition) for p in partitions)})
        self.stats.rebalances += 1
        log.info("%s assigned %s", self.name, self.assignment)
        if self._loop is not None:
            self._loop.assigned(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        self.stats.rebalances += 1
        log.info("%s revoked %s", self.name, sorted(gone))
        if self._loop is not None:
            self._loop.revoked_partitions(partitions)
        self.assignment = [tp for tp in self.assignment if tp not in gone]

    def _close(self, kafka: Consumer) -> None:
        kafka.close()  # leaves the group: partitions move at once (the loop committed what finished)
        self.dead_letters.flush(10)
