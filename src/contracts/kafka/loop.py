"""The consumer's one loop: handlers in order where the ordering says, never more at once than ``concurrency``.

The poll thread fetches, decodes and queues each message in its lane (``lanes``),
starts what may run, and takes completions back. Where a handler runs is the loop's
choice: on the poll thread itself when calls are fast or ``concurrency`` is 1 (as a
plain sequential consumer would), on a bounded thread pool otherwise, and ``async def``
handlers on an event loop. A failed attempt waits out its backoff on a timer while
every other lane goes on, and after the last attempt the message is dead-lettered.
Offsets are committed per partition up to the lowest unfinished one, with the
finished ones beyond it in the commit metadata (``offsets``). Partitions holding too
much that is fetched and unfinished are paused (``flow``).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from contracts.kafka._logctx import message_context, redact
from contracts.kafka.deadletter import DeadLetterError, DeadLetters
from contracts.kafka.flow import FlowControl
from contracts.kafka.handling import DEAD_LETTERED, DUPLICATE, HANDLED, EventLoopHost, Handling, Job
from contracts.kafka.headers import header
from contracts.kafka.lanes import Lanes, Ordering, Work
from contracts.kafka.offsets import Commits, PartitionOffsets, decode
from contracts.kafka.stats import TP, ConsumerStats
from contracts.retry import RetryPolicy

log = logging.getLogger("contracts.kafka.consumer")
FETCH = 256  # the most messages one call into librdkafka hands over
FETCH_RUNNING = 16  # the same while handlers run: each call gives them the GIL, and a short turn takes their ends back sooner
CHUNK = 16  # the most fast plain handlers one thread runs in a row
FAST_HANDLER = 0.0002  # seconds: below this average, handlers are chunked
INLINE_HANDLER = 0.00005  # seconds: below this average, they run on the poll thread itself
Outcome = Any  # HANDLED, DUPLICATE, DEAD_LETTERED, or the exception an attempt raised
Completion = tuple[tuple[Work, Outcome], bool]  # a handler call's end, and whether it frees a slot
UNREADABLE = "(unreadable)"  # the event type of a message that could not be decoded, in the per-type counts


@dataclass(frozen=True)
class LoopOptions:
    """How the loop runs: what ``EventConsumer`` was given, nothing else."""

    name: str
    concurrency: int
    ordering: Ordering
    max_in_flight: int
    commit_interval: float
    drain_timeout: float
    retry: RetryPolicy
    event_loop: asyncio.AbstractEventLoop | None = None  # where async handlers run (default: a loop of its own)


class ConsumerLoop:
    """Runs ``handling``'s handlers on ``kafka`` (see the module docstring) until ``stop`` is set or a limit is reached."""

    def __init__(self, kafka: Consumer, handling: Handling, dead_letters: DeadLetters, stats: ConsumerStats, options: LoopOptions, stop: threading.Event) -> None:
        self.kafka = kafka
        self.handling = handling
        self.dead_letters = dead_letters
        self.stats = stats
        self.options = options
        self.stop = stop
        self.delays = options.retry.delays()
        self.lanes = Lanes(options.ordering)
        self.offsets: dict[TP, PartitionOffsets] = {}  # by assigned partition
        self.revoked: set[TP] = set()
        self.running = 0
        self.finished = 0
        # Ends of handler calls, in batches: (work, outcome) and whether it frees a slot.
        self.completions: queue.SimpleQueue[list[Completion]] = queue.SimpleQueue()
        self._async_ended: list[Completion] = []  # touched on the handlers' event loop only
        self._running_works: dict[Any, Work] = {}  # by lane: what runs now
        self._sync_only = handling.sync_only
        self._one = options.concurrency == 1 and self._sync_only  # a sequential consumer: every call on the poll thread
        self._dedupe = handling.dedupe is not None
        self._average = 1.0  # seconds per handler call, measured; start as if slow
        self.pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix=f"{options.name}-handler")
        self.async_host = EventLoopHost(options.name, options.event_loop)
        self.flow = FlowControl(kafka, stats, options.max_in_flight)
        self._last_commit = 0.0
        self._last_fetch = 0.0
        self._commits = Commits()
        self.fatal: BaseException | None = None

    # -- the loop ---------------------------------------------------------------------
    def run(self, max_messages: int | None, idle_timeout: float | None) -> None:
        options = self.options
        last_activity = time.monotonic()
        try:
            while not self.stop.is_set() and self.fatal is None:
                # Every call into librdkafka gives up the GIL, and taking it back from busy handler threads costs
                # up to a switch interval: fetch only when the lanes run low (or every 50 ms, for rebalances).
                # Also while fewer lanes could start than there are free slots (the fetched messages hold too few keys:
                # librdkafka hands them over partition after partition) and a partition is not paused (``flow``).
                starved = self.lanes.startable < options.concurrency - self.running and self.flow.fetching(len(self.offsets))
                hungry = starved or self.lanes.queued < 4 * options.concurrency or time.monotonic() - self._last_fetch > 0.05
                batch = self.kafka.consume(num_messages=FETCH_RUNNING if self.running else FETCH, timeout=0) if hungry else []
                if hungry:
                    self._last_fetch = time.monotonic()
                if not batch:
                    due = self.lanes.next_retry()
                    wait = 0.005 if due is None else max(0.0005, min(0.005, due - time.monotonic()))
                    if self.running:
                        # Wait on the completions, not in librdkafka: a finished handler wakes the loop at once.
                        self._take_completions(block=wait)
                    elif self.lanes.queued:
                        batch = self.kafka.consume(num_messages=FETCH, timeout=wait)
                    else:
                        batch = self.kafka.consume(num_messages=1, timeout=0.1)
                now = time.monotonic()
                if batch:
                    last_activity = now
                    for msg in batch:
                        self._accept(msg)
                self._take_completions()
                self._dispatch()
                self.flow.check(self.offsets)
                if now - self._last_commit >= options.commit_interval:
                    self.commit(asynchronous=True)
                self.flow.refresh_watermarks(self.offsets, now)
                if self.running or self.lanes.queued:
                    last_activity = now
                if max_messages is not None and self.finished >= max_messages:
                    break
                if idle_timeout is not None and now - last_activity > idle_timeout:
                    break
        finally:
            self.drain(options.drain_timeout)
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
        tracker = self.offsets.get(tp)
        if tracker is None:
            tracker = self.offsets[tp] = PartitionOffsets()
        if not tracker.fetched(offset):
            self.stats.skipped_finished += 1  # finished before a restart: the commit metadata says so
            return
        inline = not self.lanes.queued and not self._dedupe and self._inline()
        if not inline and not self._dedupe:
            # Decoded when its turn comes: a waiting message is its bytes, not the 20-odd objects of its event, and
            # thousands of those waiting made every full pass of the garbage collector stop all threads for 50-130 ms.
            self.lanes.add(Work(topic, partition, offset, msg.key(), msg))
            return
        job = self._decoded(msg, tp, offset)
        if job is None:
            return
        if job.event is not None and inline:
            # Nothing waits in any lane: run it right here (any ordering allows it); only a failure takes the lanes' way.
            started = time.monotonic()
            try:
                self.handling.call(job)
            except Exception as exc:
                self._fail_inline(Work(topic, partition, offset, msg.key(), job), exc)
                return
            self._timed(started, started)
            self.stats.max_concurrent = self.stats.max_concurrent or 1
            self._handled(tp, job, offset)
            return
        event_id = self.handling.event_id(msg, job.event) if self._dedupe else None
        self.lanes.add(Work(topic, partition, offset, msg.key(), job, event_id))

    def _decoded(self, msg: Message, tp: TP, offset: int) -> Job | None:
        """The message's job; ``None`` (and the message finished) when no handler takes its event."""
        job = self.handling.decode(msg, *tp, offset)
        if job is None:
            self.stats.unhandled += 1
            self._finished(tp, offset)
        return job

    def _job(self, work: Work) -> Job | None:
        """``work``'s job, decoding it now if it waited undecoded; ``None`` when no handler takes it (its lane moves on)."""
        if isinstance(work.item, Job):
            return work.item
        job = self._decoded(work.item, (work.topic, work.partition), work.offset)
        if job is None:
            self.lanes.done(work)
        else:
            work.item = job
        return job

    def _inline(self) -> bool:
        """Whether plain handlers run on the poll thread: always for a sequential consumer, else while they are fast."""
        return self._one or (self._sync_only and self._average < INLINE_HANDLER)

    def _fail_inline(self, work: Work, error: Exception) -> None:
        """A handler run inline failed: from here on its work takes the lanes' way (retries, then the dead letter)."""
        self.lanes.add(work)
        for started in self.lanes.ready(time.monotonic(), 1):
            self._running_works[started.lane] = started
        self._complete(work, error)

    def _timed(self, dispatched: float, began: float) -> float:
        """Record a handler call that began at ``began`` (latency counts from ``dispatched``); the time now."""
        finished = time.monotonic()
        self.stats.observe_latency(finished - dispatched)
        self._average += (finished - began - self._average) / 8  # a moving average of one handler call
        return finished

    def _handled(self, tp: TP, job: Job, offset: int) -> None:
        self.stats.count_handled(tp, type(job.event).__name__)
        self._finished(tp, offset)

    def _finished(self, tp: TP, offset: int) -> None:
        self.offsets[tp].finished(offset)
        self.finished += 1

    def _dispatch(self) -> None:
        # Inline rounds finish at once and free their lanes' next messages: go round until nothing is ready.
        while self._dispatch_round() and not self.stop.is_set():
            pass

    def _dispatch_round(self) -> bool:
        """Start what may start; ``True`` when it ran handlers inline (another round may find more ready)."""
        free = self.options.concurrency - self.running
        if free <= 0:
            return False
        now = time.monotonic()
        # Fast plain handlers go out in chunks, one per free thread, paying one hand-off per chunk instead of
        # one per message; slower ones (by the measured average) one per thread, so that every thread stays busy.
        chunk = CHUNK if self._sync_only and self._average < FAST_HANDLER else 1
        plain: list[Work] = []
        coroutines: list[Coroutine[Any, Any, None]] = []
        for work in self.lanes.ready(now, free * chunk):
            job = self._job(work)
            if job is None:
                continue
            self._running_works[work.lane] = work
            if job.event is None:
                self._start(self._dead_letter, work, job.error, 0, header(job.msg, "event-id"))
            elif not self._sync_only and not self._dedupe and self.handling.awaits(job):
                self.running += 1
                coroutines.append(self._run_async(work, now))
            else:
                plain.append(work)
        if coroutines:
            self.async_host.start_all(coroutines)  # one wake-up of the handlers' loop for all of them
        self.stats.max_concurrent = max(self.stats.max_concurrent, self.running + (1 if plain else 0))
        if plain and self._inline():
            self.running += 1
            self._run_chunk(plain, now, inline=True)
            return True
        if plain:
            slots = max(1, min(self.options.concurrency - self.running, len(plain)))
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
            try:
                outcome: Outcome = self.handling.run(work.item, work.event_id, self.async_host.wait, work.attempt + 1)
            except Exception as exc:
                outcome = exc
            began = self._timed(started, began)
            if inline:
                self._complete(work, outcome)
                continue
            # Each result goes back at once, so its lane moves on; the last one frees the thread's slot.
            self.completions.put([((work, outcome), i == len(works) - 1)])
        if inline:
            self.running -= 1

    async def _run_async(self, work: Work, started: float) -> None:
        try:
            await self.handling.call(work.item, work.attempt + 1)
            outcome: Outcome = HANDLED
        except Exception as exc:
            outcome = exc
        self.stats.observe_latency(time.monotonic() - started)
        # The coroutines that end in one turn of the event loop go back together: one wake-up of this loop for all.
        self._async_ended.append(((work, outcome), True))
        if len(self._async_ended) == 1:
            asyncio.get_running_loop().call_soon(self._hand_back_async)

    def _hand_back_async(self) -> None:
        ended, self._async_ended = self._async_ended, []
        self.completions.put(ended)

    def _dead_letter(self, work: Work, error: BaseException, attempts: int, event_id: str | None) -> None:
        try:
            self.dead_letters.send(work.item.msg, error, attempts=attempts, event_id=event_id)
            outcome: Outcome = DEAD_LETTERED
        except DeadLetterError as exc:
            outcome = exc
        self.completions.put([((work, outcome), True)])

    # -- completions -------------------------------------------------------------------
    def _take_completions(self, block: float = 0.0) -> None:
        while True:
            try:
                ended = self.completions.get(timeout=block) if block else self.completions.get_nowait()
            except queue.Empty:
                return
            block = 0.0
            for (work, outcome), frees_slot in ended:
                if frees_slot:  # a task ended: a chunk, a coroutine or a dead letter
                    self.running -= 1
                self._complete(work, outcome)

    def _complete(self, work: Work, outcome: Outcome) -> None:
        self._running_works.pop(work.lane, None)
        tp = (work.topic, work.partition)
        if tp in self.revoked or tp not in self.offsets:
            return  # its partition moved on while it ran: the new owner processes it again
        if outcome in (HANDLED, DUPLICATE, DEAD_LETTERED):
            self.lanes.done(work)
            if outcome == HANDLED:
                self._handled(tp, work.item, work.offset)
                return
            type_name = type(work.item.event).__name__ if work.item.event is not None else UNREADABLE
            if outcome == DUPLICATE:
                self.stats.duplicates += 1
                self.stats.duplicates_by_type[type_name] += 1
                log.info("%s: duplicate event %s on %s[%d]@%d skipped", self.options.name, work.event_id, *tp, work.offset, extra=message_context(*tp, work.offset, work.event_id))
            else:
                self.stats.dead_lettered += 1
                self.stats.dead_lettered_by_type[type_name] += 1
            self._finished(tp, work.offset)
            return
        if isinstance(outcome, DeadLetterError):
            self.fatal = outcome  # not acknowledged: the offset stays uncommitted and the message comes back
            self.stop.set()
            return
        self._attempt_failed(work, outcome)

    def _attempt_failed(self, work: Work, error: Exception) -> None:
        """Wait the backoff on a timer (its lane only), or after the last attempt dead-letter it."""
        attempt = work.attempt + 1
        attempts = self.options.retry.attempts
        event_id = work.event_id or self.handling.event_id(work.item.msg, work.item.event)
        self.stats.failed_attempts += 1
        self.stats.failures_by_type[type(work.item.event).__name__ if work.item.event is not None else UNREADABLE] += 1
        log.warning(
            "%s: handler failed (attempt %d/%d) for event %s on %s[%d]@%d: %s",
            self.options.name, attempt, attempts, event_id, work.topic, work.partition, work.offset,
            redact(repr(error)), extra=message_context(work.topic, work.partition, work.offset, event_id),
        )  # fmt: skip
        if attempt < attempts:
            self.lanes.retry_at(work, time.monotonic() + self.delays[min(attempt, len(self.delays)) - 1])
        else:
            self._running_works[work.lane] = work  # the lane stays held until the dead letter is acknowledged
            self._start(self._dead_letter, work, error, attempt, event_id)

    # -- offsets, backpressure, rebalances ------------------------------------------
    def commit(self, *, asynchronous: bool, only: set[TP] | None = None) -> None:
        """Commit each partition's lowest unfinished offset, with the finished ones beyond it as metadata."""
        self._last_commit = time.monotonic()
        due = self._commits.due(self.offsets, only)
        offsets = [TopicPartition(t, p, low, metadata=meta) if meta else TopicPartition(t, p, low) for t, p, low, meta in due]
        for t, p, low, meta in due:
            self.stats.committed[(t, p)] = low
            if not meta and self.offsets[(t, p)].finished_beyond:
                self.stats.metadata_overflows += 1
        if not offsets:
            return
        started = time.perf_counter()
        try:
            if asynchronous:
                self.kafka.commit(offsets=offsets, asynchronous=True)
            else:
                self.kafka.commit(offsets=offsets, asynchronous=False)
            self.stats.commit_seconds.observe(time.perf_counter() - started)  # an asynchronous commit: handing it over
        except KafkaException as exc:  # a revoked partition, or no coordinator: the next commit carries it again
            self._commits.forget([(t, p) for t, p, _, _ in due])
            log.info("%s: commit of %s failed: %s", self.options.name, offsets, exc)

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Track new partitions, skipping what the committed metadata says finished before."""
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
        deadline = time.monotonic() + self.options.drain_timeout
        while self._running_on(tps) and time.monotonic() < deadline:
            self._take_completions(block=0.05)
        self.lanes.drop_partitions(tps, set(self._running_works))
        self.commit(asynchronous=False, only=tps)
        self.revoked |= tps
        self._commits.forget(tps)
        self.flow.revoked(tps)
        for tp in tps:
            self.offsets.pop(tp, None)

    def _running_on(self, tps: set[TP]) -> bool:
        return any((w.topic, w.partition) in tps for w in self._running_works.values())

    def drain(self, timeout: float) -> None:
        """Let running handlers finish (within ``timeout``); what was queued and never started comes back later."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self._take_completions(block=0.05)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.async_host.close()
