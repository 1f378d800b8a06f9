"""asyncio-native producer and consumer for services that already run an event loop (FastAPI and the like).

``AsyncEventProducer.send()`` returns once the broker acknowledged the event (with all
our headers: confluent-kafka's own ``AIOProducer`` refuses headers in its batch mode),
and raises when delivery failed. ``AsyncEventConsumer`` runs the concurrent consumer's
poll loop on a thread and its ``async def`` handlers on the caller's own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from confluent_kafka import KafkaError, Message

from contracts.catalog import Catalog
from contracts.kafka.consumer import EventConsumer
from contracts.kafka.lanes import Ordering
from contracts.kafka.producer import EventProducer, delivery_error
from contracts.kafka.stats import ConsumerStats
from contracts.record import AvroRecord
from contracts.serde import EventDeserializer, EventSerializer

E = TypeVar("E", bound=AvroRecord)


@dataclass(frozen=True)
class Delivered:
    """Where the broker put an event."""

    topic: str
    partition: int
    offset: int


class AsyncEventProducer:
    """``async with AsyncEventProducer(bootstrap, serializer, name=...) as p: await p.send(event, key=...)``."""

    def __init__(self, bootstrap_servers: str, serializer: EventSerializer, *, name: str, **conf: Any) -> None:
        self._sync = EventProducer(bootstrap_servers, serializer, name=name, **conf)
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"{name}-delivery", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        # Delivery reports are served here, so an awaiting coroutine wakes as soon as the broker answers.
        while not self._closing.is_set():
            self._sync.kafka.poll(0.05)

    async def send(self, event: AvroRecord, *, key: str | bytes | None = None, topic: str | None = None) -> Delivered:
        """Produce ``event`` and wait for the acknowledgement; ``DeliveryError`` or ``InfrastructureError`` when it failed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Delivered] = loop.create_future()
        target, value, headers = self._sync.prepare(event, topic, key=key)

        def delivered(err: KafkaError | None, msg: Message) -> None:
            loop.call_soon_threadsafe(_settle, done, err, msg, target)

        key_bytes = key.encode() if isinstance(key, str) else key
        while True:
            try:
                self._sync.kafka.produce(target, value=value, key=key_bytes, headers=headers, on_delivery=delivered)
                break
            except BufferError:
                await asyncio.sleep(0.05)  # the local queue is full: let deliveries make room
        return await done

    async def flush(self, timeout: float = 30.0) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._sync.flush, timeout)

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            self._closing.set()
            self._poller.join(1.0)

    async def __aenter__(self) -> AsyncEventProducer:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()


def _settle(done: asyncio.Future[Delivered], err: KafkaError | None, msg: Message, topic: str) -> None:
    if done.done():
        return
    if err is not None:
        done.set_exception(delivery_error(topic, err))
    else:
        done.set_result(Delivered(msg.topic() or topic, msg.partition() or 0, msg.offset() or 0))


class AsyncEventConsumer:
    """``async with AsyncEventConsumer(...) as consumer: await consumer.run()``; handlers may be ``async def``.

    Concurrent by default (``concurrency=64``, ``ordering="key"``); the same at-least-once
    commits, retries, dead letters and dedupe as ``EventConsumer``, whose options it takes.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        deserializer: EventDeserializer,
        catalog: Catalog,
        *,
        group_id: str,
        name: str,
        concurrency: int = 64,
        ordering: Ordering = "key",
        **options: Any,
    ) -> None:
        self.consumer = EventConsumer(
            bootstrap_servers, deserializer, catalog, group_id=group_id, name=name, concurrency=concurrency, ordering=ordering, **options
        )
        self._task: asyncio.Future[ConsumerStats] | None = None

    @property
    def stats(self) -> ConsumerStats:
        return self.consumer.stats

    def handler(self, cls: type[E]) -> Callable[[Callable[[E], object]], Callable[[E], object]]:
        return self.consumer.handler(cls)

    def on(self, cls: type[E], fn: Callable[[E], object]) -> None:
        self.consumer.on(cls, fn)

    async def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None) -> ConsumerStats:
        """Consume until ``stop()`` (or the limits); async handlers run on this event loop."""
        loop = asyncio.get_running_loop()
        self.consumer.event_loop = loop
        self._task = loop.run_in_executor(
            None, lambda: self.consumer.run(max_messages=max_messages, idle_timeout=idle_timeout, handle_signals=False)
        )
        return await self._task

    def stop(self) -> None:
        self.consumer.stop()

    async def __aenter__(self) -> AsyncEventConsumer:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
