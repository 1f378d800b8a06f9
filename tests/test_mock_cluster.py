"""Commit metadata on librdkafka's own mock cluster: a fast check that needs neither Java nor Tansu.

The mock cluster (``test.mock.num.brokers``) lives inside one client, listens on loopback and,
unlike Tansu, keeps commit metadata; it makes topics on first use (four partitions) but has no
admin API to create them. The same behaviour on Apache Kafka is in ``test_apache_kafka``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventConsumer, EventProducer
from contracts.kafka.offsets import decode
from contracts.registry.client import RegistryClient
from contracts.registry.sync import push
from contracts.serde import EventDeserializer, EventSerializer, registry_client
from contracts.testing import FAST_JOIN
from contracts.testing.examples import order
from contracts.testing.pipeline import example_catalog


@pytest.fixture
def mock_bootstrap() -> Iterator[str]:
    """A one-broker mock cluster, alive while its host client is."""
    host = Producer({"test.mock.num.brokers": 1, "log_level": 0})
    broker = next(iter(host.list_topics(timeout=10).brokers.values()))
    yield f"{broker.host}:{broker.port}"
    del host


def test_a_graceful_restart_skips_what_the_commit_metadata_marks_finished(mock_bootstrap: str, schema_registry_url: str, tmp_path: Path) -> None:
    catalog = example_catalog(tmp_path, uuid.uuid4().hex[:8])
    push(RegistryClient(schema_registry_url), catalog)
    client = registry_client(schema_registry_url)
    topic = next(t for t in catalog.topics if t.startswith("orders"))
    sent = [order(i) for i in range(60)]
    with EventProducer(mock_bootstrap, EventSerializer(client, catalog), name="orders-service") as producer:
        for i, event in enumerate(sent):
            producer.send(event, key="one-partition" if i == 0 else f"k{i}")
    group = f"mock-{uuid.uuid4().hex[:6]}"
    release = threading.Event()

    def consumer(name: str) -> EventConsumer:
        return EventConsumer(mock_bootstrap, EventDeserializer(client), catalog, group_id=group, name=name, concurrency=8,
                             ordering="key", drain_timeout=0.5, **FAST_JOIN)  # fmt: skip

    first, again = consumer("first"), consumer("again")
    first_calls: list[str] = []
    again_calls: list[str] = []

    def slow_first(e: OrderCreated) -> None:
        first_calls.append(str(e.order_id))
        if e.order_id == sent[0].order_id:
            release.wait(30)  # unfinished when the consumer stops: its offset holds every partition's commit there

    first.on(OrderCreated, slow_first)
    again.on(OrderCreated, lambda e: again_calls.append(str(e.order_id)))
    thread = threading.Thread(target=first.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(first_calls) < len(sent):
        time.sleep(0.05)
    first.stop()
    thread.join(30)
    release.set()

    reader = Consumer({"bootstrap.servers": mock_bootstrap, "group.id": group})
    positions = reader.committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    reader.close()
    carried = sum(len(decode(p.offset, p.metadata)) for p in positions)
    assert carried > 0, "the finished offsets beyond the unfinished one travelled in the commit metadata"
    stats = again.run(idle_timeout=8, handle_signals=False)
    assert again_calls == [str(sent[0].order_id)], "only the unfinished event runs again"
    assert stats.skipped_finished == carried
