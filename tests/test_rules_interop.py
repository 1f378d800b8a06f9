"""Our serializers and confluent-kafka's, executing the same data contract, agree: what one accepts,
refuses or masks, the other does too, across a real broker and the embedded registry over HTTP.

confluent-kafka's serializers run its own rule executors (cel-python); ours run the Rust CEL engine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from contracts.datacontract.runner import RuleFailure
from contracts.events.com.acme.orders import OrderCreated, OrderLine
from contracts.registry.client import RegistryClient
from contracts.registry.server import EmbeddedRegistry
from contracts.registry.sync import push
from contracts.serde import EventDeserializer, EventSerializer
from contracts.testing import FAST_JOIN, create_topics
from contracts.testing.examples import order
from tests.conftest import SCHEMAS

pytest.importorskip("celpy", reason="confluent-kafka's CEL executor needs cel-python (in the dev extra)")
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import CelFieldExecutor

CelExecutor.register()
CelFieldExecutor.register()

CATALOG = load_catalog(SCHEMAS)
TOPIC = "orders"
SUBJECT = "orders-com.acme.orders.OrderCreated"
QUANTITIES = {"name": "quantities_positive", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "message.lines.all(l, l.quantity > 0)"}
MASK = {"name": "mask_pii", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": ["PII"], "expr": "typeName == 'STRING' ; '***'"}
PII = {"tags": {"com.acme.orders.Customer.email": ["PII"]}}
CONF = {"auto.register.schemas": False, "use.latest.version": True, "subject.name.strategy.type": "TOPIC_RECORD"}


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as reg:
        client = RegistryClient(reg.url)
        push(client, CATALOG)
        body = {"schema": json.dumps(OrderCreated.__avro_schema__), "ruleSet": {"domainRules": [QUANTITIES, MASK]}, "metadata": PII}
        client.request("POST", f"/subjects/{SUBJECT}/versions", body)
        yield reg


@pytest.fixture(scope="module")
def theirs(registry: EmbeddedRegistry) -> tuple[AvroSerializer, AvroDeserializer]:
    client = SchemaRegistryClient({"url": registry.url})
    schema = json.dumps(OrderCreated.__avro_schema__)
    to_dict = lambda event, ctx: event.model_dump()  # noqa: E731 - confluent's to_dict signature
    return AvroSerializer(client, schema, to_dict, conf=CONF), AvroDeserializer(client, conf={"subject.name.strategy.type": "TOPIC_RECORD"})


@pytest.fixture(scope="module")
def ours(registry: EmbeddedRegistry) -> tuple[EventSerializer, EventDeserializer]:
    client = RegistryClient(registry.url)
    return EventSerializer(client, CATALOG, version="latest"), EventDeserializer(client, [OrderCreated])


def with_quantity(i: int, quantity: int) -> OrderCreated:
    event = order(i)
    line = event.lines[0]
    return event.model_copy(update={"lines": [line, OrderLine(sku=line.sku, quantity=quantity, unit_price=line.unit_price)]})


CTX = SerializationContext(TOPIC, MessageField.VALUE)


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except RuleFailure as exc:
        return "refused", exc.rule.name
    except Exception as exc:  # confluent-kafka raises a bare SerializationError from its RuleConditionError
        cause = exc.__cause__
        refused = type(cause).__name__ == "RuleConditionError" and "l.quantity > 0" in str(cause)
        return ("refused", "quantities_positive") if refused else ("error", repr(exc))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantity=st.integers(-3, 3))
def test_both_serializers_accept_and_refuse_alike(
    theirs: tuple[AvroSerializer, AvroDeserializer], ours: tuple[EventSerializer, EventDeserializer], quantity: int
) -> None:
    event = with_quantity(1, quantity)
    mine, other = _outcome(ours[0], event, TOPIC), _outcome(theirs[0], event, CTX)
    assert mine[0] == other[0] == ("ok" if quantity > 0 else "refused"), (mine, other)
    if mine[0] == "ok":
        assert mine[1] == other[1]  # the same bytes: same schema id, same body


def test_across_a_broker_each_reads_the_other_masked_alike(
    kafka_bootstrap: str, theirs: tuple[AvroSerializer, AvroDeserializer], ours: tuple[EventSerializer, EventDeserializer]
) -> None:
    topic = f"rules-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, {topic: 1})
    events = [order(i) for i in range(4)]
    ctx = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i, event in enumerate(events):
        value = ours[0](event, TOPIC) if i % 2 else theirs[0](event, CTX)  # written by each in turn
        producer.produce(topic, value=value)
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": topic, "auto.offset.reset": "earliest", **FAST_JOIN})
    consumer.subscribe([topic])
    payloads: list[bytes] = []
    try:
        while len(payloads) < len(events):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                payloads.append(msg.value())
    finally:
        consumer.close()
    for event, data in zip(events, payloads, strict=True):
        mine = ours[1](data)
        other = theirs[1](data, ctx)
        assert mine.customer.email == other["customer"]["email"] == "***"
        assert mine.customer.customer_id == other["customer"]["customer_id"] == event.customer.customer_id
        assert mine.model_copy(update={"customer": event.customer}) == event
