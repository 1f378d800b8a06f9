"""Typed Kafka producer and consumer for generated events, blocking or asyncio-native."""

from contracts.kafka.aio import AsyncEventConsumer, AsyncEventProducer, Delivered
from contracts.kafka.consumer import EventConsumer
from contracts.kafka.deadletter import DeadLetterError
from contracts.kafka.dedupe import DedupeStore, MemoryDedupeStore, SQLiteDedupeStore
from contracts.kafka.producer import DeliveryError, EventProducer
from contracts.kafka.stats import ConsumerStats
from contracts.retry import RetryPolicy

__all__ = [
    "AsyncEventConsumer",
    "AsyncEventProducer",
    "Delivered",
    "ConsumerStats",
    "DeadLetterError",
    "DedupeStore",
    "DeliveryError",
    "EventConsumer",
    "EventProducer",
    "MemoryDedupeStore",
    "RetryPolicy",
    "SQLiteDedupeStore",
]
