"""``EventConsumer``: typed handlers, at-least-once, retries, dead letters, dedupe, clean shutdown.

For each message: deserialize (failure: dead-letter at once), find the handler for
its class, run it (with the dedupe store when given) with bounded exponential
backoff between attempts, and after the last failure produce the original bytes to
the topic's dead-letter topic with headers saying why. Its offset is stored only
once the handler succeeded or the dead letter was acknowledged; librdkafka commits
stored offsets periodically, on rebalance and on close. A message is never lost:
a crash before its offset is committed means it is delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from contracts.catalog import Catalog
from contracts.errors import BadInputError, ContractsError
from contracts.kafka import clients
from contracts.kafka._logctx import message_context, redact
from contracts.kafka.concurrent import ConcurrentLoop, is_async
from contracts.kafka.deadletter import DeadLetterError, DeadLetters
from contracts.kafka.dedupe import DedupeStore
from contracts.kafka.headers import event_id_of, header
from contracts.kafka.lanes import ORDERINGS, Ordering
from contracts.record import AvroRecord
from contracts.retry import RetryPolicy
from contracts.serde import EventDeserializationError, EventDeserializer
from contracts.shutdown import calling_on_signals

log = logging.getLogger("contracts.kafka.consumer")
E = TypeVar("E", bound=AvroRecord)
Handler = Callable[[Any], object]  # a plain function, or an async def one

CONSUMER_DEFAULTS = {
    "enable.auto.commit": True,
    "enable.auto.offset.store": False,  # we store an offset only after the message is done
    "auto.commit.interval.ms": 1000,
    "auto.offset.reset": "earliest",
}


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


@dataclass
class ConsumerStats:
    """What a consumer did so far; safe to read at any time from any thread."""

    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    unhandled: int = 0
    failed_attempts: int = 0
    skipped_finished: int = 0  # finished before a restart, by the commit metadata
    in_flight: int = 0  # fetched and not finished (concurrent mode)
    max_concurrent: int = 0  # the most handlers that ran at once
    pauses: int = 0  # times the partitions were paused for backpressure
    by_type: Counter[str] = field(default_factory=Counter)
    by_partition: Counter[tuple[str, int]] = field(default_factory=Counter)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    high_watermarks: dict[tuple[str, int], int] = field(default_factory=dict)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000), repr=False)

    def latency(self, quantile: float) -> float | None:
        """A handler latency percentile in seconds (``0.5`` for the median), over the last 10,000 handled."""
        values = sorted(self.latencies)
        if not values:
            return None
        return values[min(len(values) - 1, int(quantile * len(values)))]

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages behind the high watermark per partition, from the committed offsets.

        The watermarks are the ones the poll thread last saw (every half second): reading them
        from another thread while it polls could deadlock inside the client.
        """
        return {tp: max(0, self.high_watermarks.get(tp, committed) - committed) for tp, committed in dict(self.committed).items()}


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
        commit_interval: float = 0.5,
        drain_timeout: float = 10.0,
        **conf: Any,
    ) -> None:
        if concurrency < 1:
            raise ContractsError(f"concurrency must be at least 1, not {concurrency}")
        if ordering not in ORDERINGS:
            raise ContractsError(f"ordering must be one of {', '.join(ORDERINGS)}, not {ordering!r}")
        self.concurrency = concurrency
        self.ordering: Ordering = ordering
        self.max_in_flight = max_in_flight or max(1000, 16 * concurrency)
        self.commit_interval = commit_interval
        self.drain_timeout = drain_timeout
        self._loop: ConcurrentLoop | None = None
        self.event_loop: asyncio.AbstractEventLoop | None = None  # where async handlers run (default: a loop of its own)
        self.bootstrap_servers = bootstrap_servers
        self.deserializer = deserializer
        self.catalog = catalog
        self.group_id = group_id
        self.name = name
        self.dedupe = dedupe
        self.retry = retry or RetryPolicy()
        self.retry_delays = self.retry.delays()
        self.stats = ConsumerStats()
        self._topics = topics
        self._handlers: dict[type[AvroRecord], Handler] = {}
        self._keys: dict[type[AvroRecord], str | None] = {}
        self._watermarks_at = 0.0
        self._conf = {"bootstrap.servers": bootstrap_servers, "group.id": group_id, "client.id": name, **CONSUMER_DEFAULTS, **_session_defaults(conf), **conf}
        self._stop = threading.Event()
        self._consumer: Consumer | None = None
        self.dead_letters = DeadLetters(bootstrap_servers, catalog, group_id=group_id, name=name)
        self._stats_lock = threading.Lock()
        self.assignment: list[tuple[str, int]] = []

    # -- registration -------------------------------------------------------
    def handler(self, cls: type[E]) -> Callable[[Callable[[E], object]], Callable[[E], object]]:
        def register(fn: Callable[[E], object]) -> Callable[[E], object]:
            self.on(cls, fn)
            return fn

        return register

    def on(self, cls: type[E], fn: Callable[[E], object]) -> None:
        self._handlers[cls] = fn
        self._keys[cls] = self.catalog.idempotency_key(cls.__avro_fullname__)
        self.deserializer.prefer(cls)

    def event_id(self, msg: Message, event: AvroRecord | None) -> str:
        """What the dedupe store keys on: the catalog's idempotency key of the event, else its ``event-id`` header."""
        return event_id_of(msg, event, self._keys.get(type(event)) if event is not None else None)

    def topics(self) -> list[str]:
        if self._topics:
            return list(self._topics)
        names = set()
        for cls in self._handlers:
            t = self.catalog.topic_for(cls.__avro_fullname__)
            if t is None:
                raise ContractsError(f"no topic in the catalog carries {cls.__avro_fullname__}")
            names.add(t.name)
        return sorted(names)

    @property
    def handlers(self) -> dict[type[AvroRecord], Handler]:
        """The handler of each event class (read-only: register with ``handler``/``on``)."""
        return self._handlers

    @property
    def stopping(self) -> bool:
        """Whether ``stop()`` (or a signal) asked the loop to stop."""
        return self._stop.is_set()

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages behind the end of each partition, from the committed offsets (as of the last half second)."""
        return self.stats.lag()

    def refresh_watermarks(self, now: float) -> None:
        """On the poll thread, at most every half second: the high watermarks ``lag()`` compares with."""
        if now - self._watermarks_at < 0.5 or self._consumer is None:
            return
        self._watermarks_at = now
        for topic, partition in list(self.assignment):
            try:
                _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                continue
            if high >= 0:
                self.stats.high_watermarks[(topic, partition)] = high

    # -- lifecycle ------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to stop after the current message."""
        self._stop.set()

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None, handle_signals: bool = True) -> ConsumerStats:
        """Consume until ``stop()``, SIGTERM/SIGINT, ``max_messages`` or ``idle_timeout`` seconds without messages.

        A signal stops the loop after the message in hand; SIGINT is left alone where it is ignored
        (a shell's background job), as every long-running command here does.
        """
        with calling_on_signals(self._on_signal) if handle_signals else contextlib.nullcontext():
            return self._run(max_messages, idle_timeout)

    def _run(self, max_messages: int | None, idle_timeout: float | None) -> ConsumerStats:
        concurrent = self.concurrency > 1 or any(is_async(fn) for fn in self._handlers.values())
        conf = {**self._conf, "enable.auto.commit": False} if concurrent else self._conf  # it commits what finished
        self._consumer = clients.consumer(None, **conf)
        self._consumer.subscribe(self.topics(), on_assign=self._on_assign, on_revoke=self._on_revoke)
        if concurrent:
            self._loop = ConcurrentLoop(self, self._consumer)
            try:
                self._loop.run(max_messages, idle_timeout)
            finally:
                self._loop = None
                self._close()
            return self.stats
        seen = 0
        last_message = time.monotonic()
        try:
            while not self._stop.is_set():
                # Take what is already fetched without waiting; block only when there is nothing.
                # consume(64, timeout) waits for a full batch: with a broker that answers fetches
                # in small pieces, that stalls the loop for much of its time.
                batch = self._consumer.consume(num_messages=64, timeout=0) or self._consumer.consume(num_messages=1, timeout=0.2)
                self.refresh_watermarks(time.monotonic())
                if not batch:
                    if idle_timeout is not None and time.monotonic() - last_message > idle_timeout:
                        break
                    continue
                last_message = time.monotonic()
                done: dict[tuple[str, int], int] = {}
                for msg in batch:
                    err = msg.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF:
                            log.warning("consumer error: %s", err)
                        continue
                    where = (msg.topic() or "", msg.partition() or 0)
                    offset = msg.offset() or 0
                    self._process(msg, where, offset)
                    done[where] = offset
                    seen += 1
                    if seen == max_messages or self._stop.is_set():
                        break  # the rest of the batch keeps no stored offset: it comes back
                self._store(done)
                if max_messages is not None and seen >= max_messages:
                    break
        finally:
            self._close()
        return self.stats

    def _store(self, done: dict[tuple[str, int], int]) -> None:
        """Store the offset after the last processed message of each partition (committed later)."""
        if not done or self._consumer is None:
            return
        offsets = [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in done.items()]
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:  # revoked by a rebalance mid-batch: its new owner redelivers it
            log.info("%s: offsets %s not stored: %s", self.name, offsets, exc)
            return
        # Stored offsets are what auto-commit sends within auto.commit.interval.ms (and the close, at once).
        # No on_commit callback: it runs inside consume() and could deadlock with another thread's client call.
        with self._stats_lock:
            for p in offsets:
                self.stats.committed[(p.topic, p.partition)] = p.offset

    def _on_signal(self, signum: int) -> None:
        log.info("%s: signal %d, stopping after the current message", self.name, signum)
        self._stop.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assignment = sorted({*self.assignment, *((p.topic, p.partition) for p in partitions)})
        log.info("%s assigned %s", self.name, self.assignment)
        if self._loop is not None:
            self._loop.assigned(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        log.info("%s revoked %s", self.name, sorted(gone))
        if self._loop is not None:
            self._loop.revoked_partitions(partitions)
        self.assignment = [tp for tp in self.assignment if tp not in gone]

    def _close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.commit(asynchronous=False)
            except Exception as exc:
                if "_NO_OFFSET" not in str(exc):
                    log.warning("final commit failed: %s", exc)
            self._consumer.close()  # leaves the group: partitions move at once
            self._consumer = None
        self.dead_letters.flush(10)

    # -- one message ----------------------------------------------------------
    def _process(self, msg: Message, where: tuple[str, int], offset: int) -> None:
        topic, partition = where
        try:
            event = self.deserializer(msg.value(), topic=topic, partition=partition, offset=offset, headers=msg.headers())
        except EventDeserializationError as exc:
            event_id = header(msg, "event-id")
            log.error("%s: event %s: %s; dead-lettering", self.name, event_id, redact(str(exc)), extra=message_context(topic, partition, offset, event_id))
            self._dead_letter(msg, exc, attempts=0, event_id=event_id)
            return
        cls = type(event)
        fn = self._handlers.get(cls)
        if fn is None:
            self.stats.unhandled += 1
            log.debug("%s: no handler for %s at %s[%d]@%d", self.name, event.__avro_fullname__, topic, partition, offset, extra=message_context(topic, partition, offset))
            return
        if self.dedupe is None:
            try:
                fn(event)
            except Exception as exc:  # the retries, then the dead letter, are off the common path
                self._run_handler(msg, where, offset, event, fn, exc)
                return
            self._count(cls, where)
            return
        self._run_handler(msg, where, offset, event, fn, None)

    def _count(self, cls: type[AvroRecord], where: tuple[str, int]) -> None:
        stats = self.stats
        stats.handled += 1
        stats.max_concurrent = stats.max_concurrent or 1
        stats.by_type[cls.__name__] += 1
        stats.by_partition[where] += 1

    def _run_handler(self, msg: Message, where: tuple[str, int], offset: int, event: AvroRecord, fn: Handler, failed: Exception | None) -> None:
        """Run ``fn`` (through the dedupe store when there is one) up to the policy's attempts, then dead-letter.

        ``failed``: the error of an attempt already made without a dedupe store.
        """
        topic, partition = where
        event_id = ""
        last = failed
        if failed is not None:
            event_id = self.event_id(msg, event)
            self._attempt_failed(1, event_id, where, offset, failed)
        for attempt in range(1 if failed is None else 2, self.retry.attempts + 1):
            try:
                if self.dedupe is not None:
                    event_id = event_id or self.event_id(msg, event)
                    processed, _ = self.dedupe.process(event_id, lambda: fn(event))
                    if not processed:
                        self.stats.duplicates += 1
                        log.info("%s: duplicate event %s on %s[%d]@%d skipped", self.name, event_id, topic, partition, offset, extra=message_context(topic, partition, offset, event_id))
                        return
                else:
                    fn(event)
                self._count(type(event), where)
                return
            except Exception as exc:
                last = exc
                event_id = event_id or self.event_id(msg, event)
                self._attempt_failed(attempt, event_id, where, offset, exc)
        assert last is not None
        self._dead_letter(msg, last, attempts=self.retry.attempts, event_id=event_id)

    def _attempt_failed(self, attempt: int, event_id: str, where: tuple[str, int], offset: int, exc: Exception) -> None:
        """Count and log a failed attempt, then wait the backoff before the next one (if any)."""
        topic, partition = where
        with self._stats_lock:
            self.stats.failed_attempts += 1
        log.warning(
            "%s: handler failed (attempt %d/%d) for event %s on %s[%d]@%d: %s",
            self.name, attempt, self.retry.attempts, event_id, topic, partition, offset, redact(repr(exc)),
            extra=message_context(topic, partition, offset, event_id),
        )  # fmt: skip
        if attempt <= len(self.retry_delays):
            time.sleep(self.retry_delays[attempt - 1])

    def _dead_letter(self, msg: Message, error: BaseException, *, attempts: int, event_id: str | None) -> None:
        try:
            self.dead_letters.send(msg, error, attempts=attempts, event_id=event_id)
        except DeadLetterError:
            self._stop.set()  # not acknowledged: the offset is not stored, so the message comes back after a restart
            raise
        with self._stats_lock:
            self.stats.dead_lettered += 1
