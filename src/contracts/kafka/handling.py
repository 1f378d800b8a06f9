"""From a fetched message to its handler's outcome: decode, find the handler, call it (through the dedupe store).

``Handling.call`` is the one place a handler runs, whether the consumer's loop runs it on
its own thread, on a pool thread or as a coroutine on an event loop; the loop decides
where and when, this module what a call means.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

from confluent_kafka import Message

from contracts.catalog import Catalog
from contracts.kafka._logctx import message_context, redact
from contracts.kafka.dedupe import DedupeStore
from contracts.kafka.headers import event_id_of, header
from contracts.record import AvroRecord
from contracts.serde import EventDeserializationError, EventDeserializer

log = logging.getLogger("contracts.kafka.consumer")
E = TypeVar("E", bound=AvroRecord)
Handler = Callable[[Any], object]  # a plain function, or an async def one
Awaiting = Callable[[Awaitable[Any]], Any]  # runs a coroutine to its end from a plain thread

HANDLED, DUPLICATE, DEAD_LETTERED = "handled", "duplicate", "dead-lettered"


class Job(NamedTuple):
    """A fetched message, decoded: its event and handler, or why it could not be read."""

    msg: Message
    event: AvroRecord | None  # None when it could not be read
    handler: Handler | None
    error: EventDeserializationError | None  # set when ``event`` is None: dead-lettered in its turn


def is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


class EventLoopHost:
    """Where ``async def`` handlers run: the caller's event loop, else one of its own on a daemon thread, started on first use."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._name = name
        self._loop = loop
        self._own = loop is None
        self._tasks: set[asyncio.Task[None]] = set()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name=f"{self._name}-async", daemon=True).start()
        return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())

    def start_all(self, coroutines: list[Coroutine[Any, Any, None]]) -> None:
        """Start ``coroutines`` on the loop with one wake-up for all (they report their own ends)."""
        loop = self._running_loop()
        loop.call_soon_threadsafe(self._spawn, loop, coroutines)

    def _spawn(self, loop: asyncio.AbstractEventLoop, coroutines: list[Coroutine[Any, Any, None]]) -> None:
        for coroutine in coroutines:
            task = loop.create_task(coroutine)
            self._tasks.add(task)  # held until done: the loop keeps only weak references to tasks
            task.add_done_callback(self._tasks.discard)

    def wait(self, awaitable: Awaitable[Any]) -> Any:
        """Run ``awaitable`` to its end from a plain thread (an ``Awaiting``)."""
        return self.submit(awaitable if inspect.iscoroutine(awaitable) else _awaiting(awaitable)).result()

    def close(self) -> None:
        if self._loop is not None and self._own:
            self._loop.call_soon_threadsafe(self._loop.stop)


async def _awaiting(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class Handling:
    """The handlers of one consumer, by event class, and how a message reaches one."""

    def __init__(
        self, deserializer: EventDeserializer, catalog: Catalog, *, name: str, dedupe: DedupeStore | None, group: str = "", tracing: bool = True,
        tracer_provider: Any = None,
    ) -> None:
        from contracts.observe.tracing import for_client  # finds OpenTelemetry without importing it

        self.deserializer = deserializer
        self.catalog = catalog
        self.name = name
        self.dedupe = dedupe
        self.group = group
        self.decode_errors: Counter[str] = Counter()  # shared with the consumer's stats
        self.tracing = for_client(tracer_provider) if tracing else None  # a span per handler attempt, where OpenTelemetry is set up
        self.handlers: dict[type[AvroRecord], Handler] = {}
        self._async: set[Handler] = set()
        self._keys: dict[type[AvroRecord], str | None] = {}

    def on(self, cls: type[E], fn: Callable[[E], object]) -> None:
        self.handlers[cls] = fn
        if is_async(fn):
            self._async.add(fn)  # known once, not asked per message
        self._keys[cls] = self.catalog.idempotency_key(cls.__avro_fullname__)
        self.deserializer.prefer(cls)

    def awaits(self, job: Job) -> bool:
        """Whether the job's handler is ``async def`` (known since it was added, not asked per message)."""
        return job.handler in self._async

    @property
    def sync_only(self) -> bool:
        """No handler is ``async def``: every call finishes on the thread that makes it."""
        return not any(is_async(fn) for fn in self.handlers.values())

    def event_id(self, msg: Message, event: AvroRecord | None) -> str:
        """What the dedupe store keys on: the catalog's idempotency key of the event, else its ``event-id`` header."""
        return event_id_of(msg, event, self._keys.get(type(event)) if event is not None else None)

    def decode(self, msg: Message, topic: str, partition: int, offset: int) -> Job | None:
        """The message's job, or ``None`` when no handler takes its event."""
        try:
            event = self.deserializer(msg.value(), topic=topic, partition=partition, offset=offset, headers=msg.headers())
        except EventDeserializationError as exc:
            self.decode_errors[exc.kind] += 1
            event_id = header(msg, "event-id")
            log.error("%s: event %s: %s; dead-lettering", self.name, event_id, redact(str(exc)), extra=message_context(topic, partition, offset, event_id))
            return Job(msg, None, None, exc)
        fn = self.handlers.get(type(event))
        if fn is None:
            log.debug("%s: no handler for %s at %s[%d]@%d", self.name, event.__avro_fullname__, topic, partition, offset, extra=message_context(topic, partition, offset))
            return None
        return Job(msg, event, fn, None)

    def call(self, job: Job, attempt: int = 1) -> Any:
        """Call the job's handler (attempt number ``attempt``): its result, a coroutine for an ``async def`` one."""
        assert job.handler is not None
        if self.tracing is None:
            return job.handler(job.event)
        if job.handler in self._async:
            return self._traced(job, attempt)
        with self.tracing.processing(job.msg, self.group, getattr(job.event, "__avro_fullname__", None), attempt):
            return job.handler(job.event)

    async def _traced(self, job: Job, attempt: int) -> Any:
        assert job.handler is not None and self.tracing is not None
        with self.tracing.processing(job.msg, self.group, getattr(job.event, "__avro_fullname__", None), attempt):
            return await job.handler(job.event)  # type: ignore[misc]

    def run(self, job: Job, event_id: str | None, awaiting: Awaiting, attempt: int = 1) -> str:
        """One attempt, to its end: ``HANDLED``, or ``DUPLICATE`` when the dedupe store saw the event; raises what the handler raised."""
        if self.tracing is None:
            return self._run(job, event_id, awaiting)
        with self.tracing.processing(job.msg, self.group, getattr(job.event, "__avro_fullname__", None), attempt) as span:
            outcome = self._run(job, event_id, awaiting)
            if outcome == DUPLICATE:
                span.set_attribute("contracts.duplicate", True)
            return outcome

    def _run(self, job: Job, event_id: str | None, awaiting: Awaiting) -> str:
        assert job.handler is not None
        handler = job.handler

        def attempt() -> Any:
            result = handler(job.event)
            return awaiting(result) if inspect.isawaitable(result) else result

        if self.dedupe is None:
            attempt()
            return HANDLED
        processed, _ = self.dedupe.process(event_id or self.event_id(job.msg, job.event), attempt)
        return HANDLED if processed else DUPLICATE
