"""Typed Kafka producer and consumer for generated events."""

from contracts.kafka.consumer import ConsumerStats, DeadLetterError, EventConsumer, RetryPolicy
from contracts.kafka.dedupe import DedupeStore, MemoryDedupeStore, SQLiteDedupeStore
from contracts.kafka.producer import DeliveryError, EventProducer

__all__ = [
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
