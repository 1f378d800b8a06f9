"""Data-contract rules in the producers and consumers, on a real broker: a refused event lands in the
dead-letter topic with the rule's name, from the sync and asyncio producers and from the consumers."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.events.com.acme.common import Money
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import AsyncEventProducer, EventProducer
from contracts.testing.examples import order
from contracts.testing.pipeline import Pipeline, example_catalog
from tests.test_kafka import _read_all, _run_until, _stop

READ_RULE = """
[[events."com.acme.orders.OrderCreated".rules]]
name = "no_test_orders"
kind = "CONDITION"
mode = "READ"
type = "CEL"
expr = "message.note == null || !message.note.startsWith('test')"
onFailure = "DLQ"
"""


def _with_read_rule(schemas: Path) -> None:
    catalog = schemas / "catalog.toml"
    catalog.write_text(catalog.read_text() + READ_RULE)


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Pipeline:
    return Pipeline(kafka_bootstrap, schema_registry_url, example_catalog(tmp_path, uuid.uuid4().hex[:8], _with_read_rule))


def _negative(i: int) -> OrderCreated:
    return order(i).model_copy(update={"total": Money(amount=Decimal("-1.00"), currency="EUR")})


def test_a_write_rule_sends_refused_events_to_the_dead_letter_topic_from_both_producers(env: Pipeline) -> None:
    good, bad, bad_async = order(1), _negative(2), _negative(3)
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        producer.send(good, key="good")
        producer.send(bad, key="bad")

    async def send_async() -> None:
        async with AsyncEventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
            delivered = await producer.send(bad_async, key="bad-async")
            assert delivered.topic == env.catalog.topics[env.orders].dlq

    asyncio.run(send_async())
    dead = _read_all(env.bootstrap, env.catalog.topics[env.orders].dlq, 2)
    assert sorted(m["key"] for m in dead) == [b"bad", b"bad-async"]
    for m in dead:
        assert m["headers"]["dlq-rule-name"] == b"total_not_negative"
        assert m["headers"]["dlq-rule-subject"] == f"{env.orders}-com.acme.orders.OrderCreated".encode()
        assert m["headers"]["dlq-original-topic"] == env.orders.encode()
    assert [m["key"] for m in _read_all(env.bootstrap, env.orders, 3, timeout=5)] == [b"good"], "refused events never reach the topic"


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_read_rule_dead_letters_what_it_refuses_and_the_rest_is_handled(env: Pipeline, concurrency: int) -> None:
    events = [order(i) for i in range(6)]
    events[2] = events[2].model_copy(update={"note": "test order, ignore"})
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        for e in events:
            producer.send(e, key=str(e.order_id))
    handled: list[uuid.UUID] = []
    consumer = env.consumer(f"rules-{uuid.uuid4().hex[:6]}", "payments-1", concurrency=concurrency)
    consumer.on(OrderCreated, lambda e: handled.append(e.order_id))
    thread = _run_until(consumer, lambda: len(handled) == 5 and consumer.stats.dead_lettered == 1)
    _stop((consumer, thread))
    assert sorted(map(str, handled)) == sorted(str(e.order_id) for i, e in enumerate(events) if i != 2)
    (dead,) = _read_all(env.bootstrap, env.catalog.topics[env.orders].dlq, 1)
    assert dead["key"] == str(events[2].order_id).encode()
    assert dead["headers"]["dlq-rule-name"] == b"no_test_orders" and dead["headers"]["dlq-rule-mode"] == b"READ"
    assert dead["headers"]["dlq-error-type"] == b"EventDeserializationError"
