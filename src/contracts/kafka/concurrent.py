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
from typing import TYPE_CHECKING, Any, NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from contracts.kafka._logctx import message_context, redact
from contracts.kafka.deadletter import DeadLetterError
from contracts.kafka.headers import header
from contracts.kafka.lanes import Lanes, Work
from contracts.kafka.offsets import PartitionOffsets, decode
from contracts.serde import EventDeserializationError

if TYPE_CHECKING:
    from contracts.kafka.consumer import EventConsumer

log = logging.getLogger("contracts.kafka.consumer")
HANDLED, DUPLICATE, DEAD_LETTERED = "handled", "duplicate", "dead-lettered"
CHUNK = 16  # the most fast plain handlers one thread runs in a row
FAST_HANDLER = 0.0002  # seconds: below this average, handlers are chunked
INLINE_HANDLER = 0.00005  # seconds: below this average, they run on the poll thread itself
TP = tuple[str, int]


class Job(NamedTuple):
    """What a lane's work item carries for the runner: the message, its event, and what to do with it."""

    msg: Message
    event: Any  # the decoded event; None when it could not be read
    run: Any  # the handler, or (event None) the deserialization error to dead-letter


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
        self.completions: queue.SimpleQueue[tuple[tuple[Work, Any], bool]] = queue.SimpleQueue()
        self._running_works: dict[Any, Work] = {}  # by lane: what runs now
        self._sync_only = not any(is_async(fn) for fn in owner.handlers.values())
        self._average = 1.0  # seconds per handler call, measured; start as if slow
        self.pool = ThreadPoolExecutor(max_workers=owner.concurrency, thread_name_prefix=f"{owner.name}-handler")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_loop = True
        self._loop_thread: threading.Thread | None = None
        self._paused = False
        self._last_commit = 0.0
        self._last_fetch = 0.0
        self._committed: dict[TP, tuple[int, str]] = {}
        self.fatal: BaseException | None = None

    # -- the loop ---------------------------------------------------------------------
    def run(self, max_messages: int | None, idle_timeout: float | None) -> None:
        owner = self.owner
        last_activity = time.monotonic()
        try:
            while not owner.stopping and self.fatal is None:
                # Every call into librdkafka gives up the GIL, and taking it back from busy handler threads costs
                # up to a switch interval: fetch only when the lanes run low (or every 50 ms, for rebalances).
                hungry = self.lanes.queued < 4 * self.owner.concurrency or time.monotonic() - self._last_fetch > 0.05
                batch = self.kafka.consume(num_messages=256, timeout=0) if hungry else []
                if hungry:
                    self._last_fetch = time.monotonic()
                if not batch:
                    if self.running:
                        # Wait on the completions, not in librdkafka: a finished handler wakes the loop at once.
                        due = self.lanes.next_retry()
                        self._take_completions(block=0.005 if due is None else max(0.0005, min(0.005, due - time.monotonic())))
                    elif self.lanes.queued:
                        due = self.lanes.next_retry()
                        batch = self.kafka.consume(num_messages=256, timeout=0.005 if due is None else max(0.0, min(0.005, due - time.monotonic())))
                    else:
                        batch = self.kafka.consume(num_messages=1, timeout=0.1)
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
                owner.refresh_watermarks(now)
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
        owner = self.owner
        try:
            event = owner.deserializer(msg.value(), topic=topic, partition=partition, offset=offset, headers=msg.headers())
        except EventDeserializationError as exc:
            job = Job(msg, None, exc)  # a poison message: dead-lettered in its turn
        else:
            fn = owner.handlers.get(type(event))
            if fn is None:
                owner.stats.unhandled += 1
                tracker.finished(offset)
                return
            if not self.lanes.queued and owner.dedupe is None and self._sync_only and self._average < INLINE_HANDLER:
                # Nothing waits in any lane and handlers are fast: run it right here, as the sequential
                # consumer would (any ordering allows it); only a failure takes the lanes' way.
                started = time.monotonic()
                try:
                    fn(event)
                except Exception as exc:
                    self._fail_inline(Work(topic, partition, offset, msg.key(), Job(msg, event, fn)), exc)
                    return
                self._timed(started, started)
                self._handled(tp, event, offset)
                return
            job = Job(msg, event, fn)
        event_id = owner.event_id(msg, job.event) if owner.dedupe is not None else None
        self.lanes.add(Work(topic, partition, offset, msg.key(), job, event_id))

    def _fail_inline(self, work: Work, error: Exception) -> None:
        """A handler run inline failed: from here on its work takes the lanes' way (retries, then the dead letter)."""
        self.lanes.add(work)
        for started in self.lanes.ready(time.monotonic(), 1):
            self._running_works[started.lane] = started
        self._complete(work, error)

    def _timed(self, dispatched: float, began: float) -> float:
        """Record a handler call that began at ``began`` (latency counts from ``dispatched``); the time now."""
        finished = time.monotonic()
        self.owner.stats.latencies.append(finished - dispatched)
        self._average += (finished - began - self._average) / 8  # a moving average of one handler call
        return finished

    def _handled(self, tp: TP, event: Any, offset: int) -> None:
        stats = self.owner.stats
        stats.handled += 1
        stats.by_type[type(event).__name__] += 1
        stats.by_partition[tp] += 1
        self.offsets[tp].finished(offset)
        self.finished += 1

    def _dispatch(self) -> None:
        # Inline rounds finish at once and free their lanes' next messages: go round until nothing is ready.
        while self._dispatch_round():
            pass

    def _dispatch_round(self) -> bool:
        """Start what may start; ``True`` when it ran handlers inline (another round may find more ready)."""
        free = self.owner.concurrency - self.running
        if free <= 0:
            return False
        now = time.monotonic()
        # Fast plain handlers go out in chunks, one per free thread, paying one hand-off per chunk instead of
        # one per message; slower ones (by the measured average) one per thread, so that every thread stays busy.
        chunk = CHUNK if self._sync_only and self._average < FAST_HANDLER else 1
        works = list(self.lanes.ready(now, free * chunk))
        plain: list[Work] = []
        for work in works:
            self._running_works[work.lane] = work
            job: Job = work.item
            event, fn = job.event, job.run
            if event is None:
                self._start(self._dead_letter, work, fn, 0)
            elif not self._sync_only and is_async(fn) and self.owner.dedupe is None:
                self.running += 1
                asyncio.run_coroutine_threadsafe(self._run_async(work, fn, event, now), self._event_loop())
            else:
                plain.append(work)
        self.owner.stats.max_concurrent = max(self.owner.stats.max_concurrent, self.running + (1 if plain else 0))
        if plain and self._average < INLINE_HANDLER:
            # Handlers this fast finish sooner than a hand-off to a thread: run them here, in lane order.
            self.running += 1
            self._run_chunk(plain, now, inline=True)
            return True
        if plain:
            slots = max(1, min(self.owner.concurrency - self.running, len(plain)))
            for i in range(slots):
                self._start(self._run_chunk, plain[i::slots], now)
        return False

    def _start(self, task: Callable[..., None], *args: Any) -> None:
        self.running += 1
        self.pool.submit(task, *args)

    # -- workers -------------------------------------------------------------------------
    def _run_chunk(self, works: list[Work], started: float, inline: bool = False) -> None:
        began = time.monotonic()
        for i, work in enumerate(works):
            job: Job = work.item
            event, fn = job.event, job.run
            try:
                outcome: Any = HANDLED
                if self.owner.dedupe is not None:
                    event_id = work.event_id or self.owner.event_id(job.msg, event)
                    call = (lambda fn=fn, event=event: self._await(fn(event))) if not self._sync_only and is_async(fn) else (lambda fn=fn, event=event: fn(event))
                    processed, _ = self.owner.dedupe.process(event_id, call)
                    outcome = HANDLED if processed else DUPLICATE
                else:
                    fn(event)
            except Exception as exc:
                outcome = exc
            began = self._timed(started, began)
            if inline:
                self._complete(work, outcome)
                continue
            # Each result goes back at once, so its lane moves on; the last one frees the thread's slot.
            self.completions.put(((work, outcome), i == len(works) - 1))
        if inline:
            self.running -= 1

    async def _run_async(self, work: Work, fn: Callable[[Any], Any], event: Any, started: float) -> None:
        try:
            await fn(event)
            outcome: Any = HANDLED
        except Exception as exc:
            outcome = exc
        self.owner.stats.latencies.append(time.monotonic() - started)
        self.completions.put(((work, outcome), True))

    def _dead_letter(self, work: Work, error: BaseException, attempts: int) -> None:
        msg = work.item.msg
        try:
            self.owner.dead_letters.send(msg, error, attempts=attempts, event_id=work.event_id or header(msg, "event-id"))
            outcome: Any = DEAD_LETTERED
        except DeadLetterError as exc:
            outcome = exc
        self.completions.put(((work, outcome), True))

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
                (work, outcome), frees_slot = self.completions.get(timeout=block) if block else self.completions.get_nowait()
            except queue.Empty:
                return
            block = 0.0
            if frees_slot:  # a task ended: a chunk, a coroutine or a dead letter
                self.running -= 1
            self._complete(work, outcome)

    def _complete(self, work: Work, outcome: Any) -> None:
        self._running_works.pop(work.lane, None)
        stats = self.owner.stats
        tp = (work.topic, work.partition)
        if tp in self.revoked or tp not in self.offsets:
            return  # its partition moved on while it ran: the new owner processes it again
        if outcome in (HANDLED, DUPLICATE, DEAD_LETTERED):
            self.lanes.done(work)
            if outcome == HANDLED:
                self._handled(tp, work.item.event, work.offset)
                return
            if outcome == DUPLICATE:
                stats.duplicates += 1
            else:
                stats.dead_lettered += 1
            self.offsets[tp].finished(work.offset)
            self.finished += 1
            return
        if isinstance(outcome, DeadLetterError):
            self.fatal = outcome  # not acknowledged: the offset stays uncommitted and the message comes back
            self.owner.stop()
            return
        attempt = work.attempt + 1
        stats.failed_attempts += 1
        log.warning(
            "%s: handler failed (attempt %d/%d) for event %s on %s[%d]@%d: %s",
            self.owner.name, attempt, self.owner.retry.attempts, work.event_id, work.topic, work.partition, work.offset,
            redact(repr(outcome)), extra=message_context(work.topic, work.partition, work.offset, work.event_id),
        )  # fmt: skip
        delays = self.owner.retry_delays
        if attempt < self.owner.retry.attempts:
            self.lanes.retry_at(work, time.monotonic() + delays[min(attempt, len(delays)) - 1])
        else:
            self._running_works[work.lane] = work  # the lane stays held until the dead letter is acknowledged
            self._start(self._dead_letter, work, outcome, attempt)

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
        if not self._paused and in_flight >= limit and self.owner.assignment:
            self.kafka.pause([TopicPartition(t, p) for t, p in self.owner.assignment])
            self._paused = True
            self.owner.stats.pauses += 1
        elif self._paused and in_flight <= limit // 2:
            self.kafka.resume([TopicPartition(t, p) for t, p in self.owner.assignment])
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
        self.lanes.drop_partitions(tps, set(self._running_works))
        deadline = time.monotonic() + self.owner.drain_timeout
        while self._running_on(tps) and time.monotonic() < deadline:
            self._take_completions(block=0.05)
        self.lanes.drop_partitions(tps, set(self._running_works))
        self.commit(asynchronous=False, only=tps)
        self.revoked |= tps
        for tp in tps:
            self.offsets.pop(tp, None)
            self._committed.pop(tp, None)

    def _running_on(self, tps: set[TP]) -> bool:
        return any((w.topic, w.partition) in tps for w in self._running_works.values())

    def drain(self, timeout: float) -> None:
        """Let running handlers finish (within ``timeout``); what was queued and never started comes back later."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self._take_completions(block=0.05)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._loop is not None and self._own_loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
