"""The consumer's concurrent loop: many handlers at once, in order where the ordering says, never blocking the poll.

The poll thread fetches, decodes and queues each message in its lane (``lanes``),
starts what may run (plain handlers on a bounded thread pool, ``async def`` handlers
on an event loop of their own), and takes completions back: a failed attempt waits
out its backoff on a timer while every other lane goes on, and after the last
attempt the message is dead-lettered. Offsets are committed per partition up to the
lowest unfinished one, with the finished ones beyond it in the commit metadata
(``offsets``). Partitions are paused while too much is fetched and unfinished.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from contracts.kafka._logctx import message_context, redact
from contracts.kafka.deadletter import DeadLetterError
from contracts.kafka.headers import event_id_of, header
from contracts.kafka.lanes import Lanes, Work
from contracts.kafka.offsets import PartitionOffsets, decode
from contracts.serde import EventDeserializationError

if TYPE_CHECKING:
    from contracts.kafka.consumer import EventConsumer

log = logging.getLogger("contracts.kafka.consumer")
HANDLED, DUPLICATE, DEAD_LETTERED = "handled", "duplicate", "dead-lettered"
TP = tuple[str, int]


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


class ConcurrentLoop:
    """Runs ``owner``'s handlers concurrently on ``kafka`` (see the module docstring)."""

    def __init__(self, owner: EventConsumer, kafka: Consumer) -> None:
        self.owner = owner
        self.kafka = kafka
        self.lanes = Lanes(owner.ordering)
        self.offsets: dict[TP, PartitionOffsets] = {}
        self.revoked: set[TP] = set()
        self.running = 0
        self.finished = 0
        self.completions: queue.SimpleQueue[tuple[Work, Any]] = queue.SimpleQueue()
        self.pool = ThreadPoolExecutor(max_workers=owner.concurrency, thread_name_prefix=f"{owner.name}-handler")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_loop = True
        self._loop_thread: threading.Thread | None = None
        self._paused = False
        self._last_commit = 0.0
        self._committed: dict[TP, tuple[int, str]] = {}
        self.fatal: BaseException | None = None

    # -- the loop ---------------------------------------------------------------------
    def run(self, max_messages: int | None, idle_timeout: float | None) -> None:
        owner = self.owner
        last_activity = time.monotonic()
        try:
            while not owner._stop.is_set() and self.fatal is None:
                wait = 0.002 if self.running or self.lanes.queued else 0.1
                batch = self.kafka.consume(num_messages=256, timeout=0) or self.kafka.consume(num_messages=1, timeout=wait)
                now = time.monotonic()
                if batch:
                    last_activity = now
                    for msg in batch:
                        self._accept(msg)
                self._take_completions()
                self._dispatch()
                self._backpressure()
                if now - self._last_commit >= owner.commit_interval:
                    self.commit(asynchronous=True)
                if self.running or self.lanes.queued:
                    last_activity = now
                if max_messages is not None and self.finished >= max_messages:
                    break
                if idle_timeout is not None and now - last_activity > idle_timeout:
                    break
        finally:
            self.drain(owner.drain_timeout)
            self.commit(asynchronous=False)
            self.close()
        if self.fatal is not None:
            raise self.fatal

    def _accept(self, msg: Message) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", err)
            return
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        tp = (topic, partition)
        if tp in self.revoked:
            return
        tracker = self.offsets.setdefault(tp, PartitionOffsets())
        if not tracker.fetched(offset):
            self.owner.stats.skipped_finished += 1  # finished before a restart: the commit metadata says so
            return
        event_id = header(msg, "event-id") if self.owner.dedupe is not None else None
        work = Work(topic, partition, offset, msg.key(), None, event_id)
        try:
            event = self.owner.deserializer(msg.value(), topic=topic, partition=partition, offset=offset)
        except EventDeserializationError as exc:
            work.item = (msg, None, exc)  # a poison message: dead-lettered in its turn
        else:
            fn = self.owner._handlers.get(type(event))
            if fn is None:
                self.owner.stats.unhandled += 1
                tracker.finished(offset)
                return
            work.item = (msg, event, fn)
        self.lanes.add(work)

    def _dispatch(self) -> None:
        free = self.owner.concurrency - self.running
        if free <= 0:
            return
        now = time.monotonic()
        for work in self.lanes.ready(now, free):
            self.running += 1
            self.owner.stats.max_concurrent = max(self.owner.stats.max_concurrent, self.running)
            _, event, fn = work.item
            if event is None:
                self.pool.submit(self._dead_letter, work, fn, 0)
            elif is_async(fn) and self.owner.dedupe is None:
                asyncio.run_coroutine_threadsafe(self._run_async(work, fn, event, now), self._event_loop())
            else:
                self.pool.submit(self._run_sync, work, fn, event, now)

    # -- workers -------------------------------------------------------------------------
    def _run_sync(self, work: Work, fn: Callable[[Any], Any], event: Any, started: float) -> None:
        try:
            outcome: Any = HANDLED
            if self.owner.dedupe is not None:
                event_id = work.event_id or event_id_of(work.item[0], event)
                call = (lambda: self._await(fn(event))) if is_async(fn) else (lambda: fn(event))
                processed, _ = self.owner.dedupe.process(event_id, call)
                outcome = HANDLED if processed else DUPLICATE
            else:
                fn(event)
        except Exception as exc:
            outcome = exc
        self.owner.stats.latencies.append(time.monotonic() - started)
        self.completions.put((work, outcome))

    async def _run_async(self, work: Work, fn: Callable[[Any], Any], event: Any, started: float) -> None:
        try:
            await fn(event)
            outcome: Any = HANDLED
        except Exception as exc:
            outcome = exc
        self.owner.stats.latencies.append(time.monotonic() - started)
        self.completions.put((work, outcome))

    def _dead_letter(self, work: Work, error: BaseException, attempts: int) -> None:
        msg = work.item[0]
        try:
            self.owner._dead_letters.send(msg, error, attempts=attempts, event_id=work.event_id or header(msg, "event-id"))
            outcome: Any = DEAD_LETTERED
        except DeadLetterError as exc:
            outcome = exc
        self.completions.put((work, outcome))

    def _await(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._event_loop()).result()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None and self.owner.event_loop is not None:
            self._loop = self.owner.event_loop  # the caller's own loop (AsyncEventConsumer)
            self._own_loop = False
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop_thread = threading.Thread(target=self._loop.run_forever, name=f"{self.owner.name}-async", daemon=True)
            self._loop_thread.start()
        return self._loop

    # -- completions -------------------------------------------------------------------
    def _take_completions(self, block: float = 0.0) -> None:
        while True:
            try:
                work, outcome = self.completions.get(timeout=block) if block else self.completions.get_nowait()
            except queue.Empty:
                return
            block = 0.0
            self._complete(work, outcome)

    def _complete(self, work: Work, outcome: Any) -> None:
        self.running -= 1
        stats = self.owner.stats
        tp = (work.topic, work.partition)
        if tp in self.revoked or tp not in self.offsets:
            return  # its partition moved on while it ran: the new owner processes it again
        if outcome in (HANDLED, DUPLICATE, DEAD_LETTERED):
            if outcome == HANDLED:
                stats.handled += 1
                stats.by_type[type(work.item[1]).__name__] += 1
                stats.by_partition[tp] += 1
            elif outcome == DUPLICATE:
                stats.duplicates += 1
            else:
                stats.dead_lettered += 1
            self.lanes.done(work)
            self.offsets[tp].finished(work.offset)
            self.finished += 1
            return
        if isinstance(outcome, DeadLetterError):
            self.fatal = outcome  # not acknowledged: the offset stays uncommitted and the message comes back
            self.owner._stop.set()
            return
        attempt = work.attempt + 1
        stats.failed_attempts += 1
        log.warning(
            "%s: handler failed (attempt %d/%d) for event %s on %s[%d]@%d: %s",
            self.owner.name, attempt, self.owner.retry.attempts, work.event_id, work.topic, work.partition, work.offset,
            redact(repr(outcome)), extra=message_context(work.topic, work.partition, work.offset, work.event_id),
        )  # fmt: skip
        delays = self.owner._delays
        if attempt < self.owner.retry.attempts:
            self.lanes.retry_at(work, time.monotonic() + delays[min(attempt, len(delays)) - 1])
        else:
            self.running += 1  # the lane stays held until the dead letter is acknowledged
            self.pool.submit(self._dead_letter, work, outcome, attempt)

    # -- offsets, backpressure, rebalances ------------------------------------------
    def commit(self, *, asynchronous: bool, only: set[TP] | None = None) -> None:
        self._last_commit = time.monotonic()
        offsets = []
        for tp, tracker in self.offsets.items():
            if only is not None and tp not in only:
                continue
            low = tracker.committable()
            if low is None:
                continue
            meta = tracker.metadata()
            if self._committed.get(tp) == (low, meta):
                continue
            self._committed[tp] = (low, meta)
            offsets.append(TopicPartition(tp[0], tp[1], low, metadata=meta) if meta else TopicPartition(tp[0], tp[1], low))
            self.owner.stats.committed[tp] = low
        if not offsets:
            return
        try:
            if asynchronous:
                self.kafka.commit(offsets=offsets, asynchronous=True)
            else:
                self.kafka.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # a revoked partition, or no coordinator: the next commit carries it again
            for tp in {(o.topic, o.partition) for o in offsets}:
                self._committed.pop(tp, None)
            log.info("%s: commit of %s failed: %s", self.owner.name, offsets, exc)

    def _backpressure(self) -> None:
        in_flight = sum(t.in_flight for t in self.offsets.values())
        self.owner.stats.in_flight = in_flight
        limit = self.owner.max_in_flight
        assignment = [TopicPartition(t, p) for t, p in self.owner.assignment]
        if not self._paused and in_flight >= limit and assignment:
            self.kafka.pause(assignment)
            self._paused = True
            self.owner.stats.pauses += 1
        elif self._paused and in_flight <= limit // 2:
            self.kafka.resume(assignment)
            self._paused = False

    def assigned(self, partitions: list[TopicPartition]) -> None:
        tps = {(p.topic, p.partition) for p in partitions}
        self.revoked -= tps
        try:
            committed = self.kafka.committed(partitions, timeout=10)
        except KafkaException:
            committed = []
        for tp in tps:
            self.offsets[tp] = PartitionOffsets()
        for c in committed:
            if c.offset >= 0 and c.metadata:
                self.offsets[(c.topic, c.partition)].skip = decode(c.offset, c.metadata)

    def revoked_partitions(self, partitions: list[TopicPartition]) -> None:
        """Stop dispatching them, give their running handlers a bounded time, commit what finished."""
        tps = {(p.topic, p.partition) for p in partitions}
        self.lanes.drop_partitions(tps)
        deadline = time.monotonic() + self.owner.drain_timeout
        while self._running_on(tps) and time.monotonic() < deadline:
            self._take_completions(block=0.05)
        self.lanes.drop_partitions(tps)
        self.commit(asynchronous=False, only=tps)
        self.revoked |= tps
        for tp in tps:
            self.offsets.pop(tp, None)
            self._committed.pop(tp, None)

    def _running_on(self, tps: set[TP]) -> bool:
        return any(t.in_flight for tp, t in self.offsets.items() if tp in tps) and self.running > 0

    def drain(self, timeout: float) -> None:
        """Let running handlers finish (within ``timeout``); what was queued and never started comes back later."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self._take_completions(block=0.05)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._loop is not None and self._own_loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
