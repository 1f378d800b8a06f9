"""OpenTelemetry traces across a real broker, with the real SDK: one trace from `send` through each handler
attempt to the dead letter, whatever the consumer's concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventProducer, MemoryDedupeStore, RetryPolicy
from contracts.testing.examples import order
from contracts.testing.pipeline import Pipeline, example_catalog
from tests.test_kafka import _read_all, _run_until, _stop

EXPORTER = InMemorySpanExporter()


class _While(SimpleSpanProcessor):
    """Exports only while this module's tests run: a provider is set once per process and keeps its processors."""

    active = False

    def on_end(self, span: Any) -> None:
        if self.active:
            super().on_end(span)


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[None]:
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        current = TracerProvider()
        trace.set_tracer_provider(current)
    processor = _While(EXPORTER)
    current.add_span_processor(processor)
    processor.active = True
    yield
    processor.active = False
    EXPORTER.clear()


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Pipeline:
    EXPORTER.clear()
    return Pipeline(kafka_bootstrap, schema_registry_url, example_catalog(tmp_path, uuid.uuid4().hex[:8]))


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.mark.parametrize("concurrency", [1, 8])
def test_one_trace_from_send_through_each_attempt_to_the_dead_letter(env: Pipeline, concurrency: int) -> None:
    bad, good = order(1), order(2)
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        producer.send(bad, key="bad")
        producer.send(good, key="good")

    def handle(e: OrderCreated) -> None:
        if e.order_id == bad.order_id:
            raise RuntimeError("declined")

    group = f"traced-{uuid.uuid4().hex[:6]}"
    consumer = env.consumer(group, "payments-1", concurrency=concurrency, retry=RetryPolicy(attempts=2, initial_backoff=0.01))
    consumer.on(OrderCreated, handle)
    thread = _run_until(consumer, lambda: consumer.stats.handled == 1 and consumer.stats.dead_lettered == 1)
    _stop((consumer, thread))
    spans = EXPORTER.get_finished_spans()
    sends = {_attrs(s)["messaging.kafka.message.key"]: s for s in spans if s.name == f"send {env.orders}"}
    process = [s for s in spans if s.name == f"process {env.orders}"]
    by_key: dict[str, list[Any]] = {}
    for s in process:
        by_key.setdefault(_attrs(s)["messaging.kafka.message.key"], []).append(s)
    assert sorted(_attrs(s)["contracts.attempt"] for s in by_key["bad"]) == [1, 2]  # one span per attempt
    assert len(by_key["good"]) == 1
    for key, spans_of in by_key.items():
        sent = sends[key]
        for s in spans_of:
            assert s.context.trace_id == sent.context.trace_id and s.parent is not None and s.parent.span_id == sent.context.span_id
            a = _attrs(s)
            assert a["messaging.system"] == "kafka" and a["messaging.operation.type"] == "process" and a["messaging.consumer.group.name"] == group
            assert a["messaging.destination.name"] == env.orders and a["contracts.event_type"] == "com.acme.orders.OrderCreated" and "messaging.kafka.offset" in a
    assert all(s.status.status_code.name == "ERROR" for s in by_key["bad"])
    sent_attrs = _attrs(sends["bad"])
    assert sent_attrs["contracts.subject"] == f"{env.orders}-com.acme.orders.OrderCreated" and sent_attrs["contracts.schema_id"] > 0
    (dead,) = _read_all(env.bootstrap, env.catalog.topics[env.orders].dlq, 1)
    assert f"{sends['bad'].context.trace_id:032x}" in dead["headers"]["traceparent"].decode()  # the dead letter carries the trace
    assert not [s for s in spans for v in _attrs(s).values() if isinstance(v, str) and bad.customer.email in v], "no payload in a span"


def test_an_idempotent_skip_is_marked_and_async_handlers_are_traced(env: Pipeline) -> None:
    event = order(3)
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        producer.send(event, key="k")
        producer.send(event, key="k")  # the same event again
    seen: list[str] = []

    async def handle(e: OrderCreated) -> None:
        await asyncio.sleep(0)
        seen.append(str(e.order_id))

    consumer = env.consumer(f"traced-{uuid.uuid4().hex[:6]}", "payments-1", concurrency=4, dedupe=MemoryDedupeStore())
    consumer.on(OrderCreated, handle)
    thread = _run_until(consumer, lambda: consumer.stats.handled + consumer.stats.duplicates == 2)
    _stop((consumer, thread))
    process = [s for s in EXPORTER.get_finished_spans() if s.name == f"process {env.orders}"]
    assert len(process) == 2 and sorted(bool(_attrs(s).get("contracts.duplicate")) for s in process) == [False, True]
    assert len({s.context.trace_id for s in process}) == 2  # each send is its own trace


@pytest.mark.parametrize("extra", [[], [("tracestate", b"vendor=1")], [("baggage", b"tenant=acme")]])
def test_the_producers_context_is_read_alike_with_or_without_tracestate_and_baggage(extra: list[tuple[str, bytes]]) -> None:
    from opentelemetry import baggage, propagate

    from contracts.observe.tracing import Tracing

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = [("traceparent", parent.encode()), *extra]
    mine = Tracing().parent(headers)
    theirs = propagate.extract({k: v.decode() for k, v in headers})
    assert trace.get_current_span(mine).get_span_context() == trace.get_current_span(theirs).get_span_context()
    assert baggage.get_all(mine) == baggage.get_all(theirs)


def test_beside_opentelemetrys_own_confluent_kafka_instrumentation_nothing_is_doubled(env: Pipeline) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.confluent_kafka", reason="in the dev extra")
    instrumentor = instrumentation.ConfluentKafkaInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    try:
        event = order(4)
        with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
            producer.send(event, key="k")
        handled: list[OrderCreated] = []
        consumer = env.consumer(f"traced-{uuid.uuid4().hex[:6]}", "payments-1")
        consumer.on(OrderCreated, handled.append)
        thread = _run_until(consumer, lambda: len(handled) == 1)
        _stop((consumer, thread))
    finally:
        instrumentor.uninstrument()
    spans = EXPORTER.get_finished_spans()
    sends = [s for s in spans if s.kind.name == "PRODUCER" and env.orders in s.name]
    assert len(sends) == 1, [s.name for s in sends]  # theirs; ours stood aside
    traceparents = [v for k, v in _headers_of_first(env.bootstrap, env.orders) if k == "traceparent"]
    assert len(traceparents) == 1 and f"{sends[0].context.trace_id:032x}" in traceparents[0].decode()
    (mine,) = [s for s in spans if s.name == f"process {env.orders}"]
    assert mine.parent is not None and mine.parent.span_id == sends[0].context.span_id  # one trace across both


def _headers_of_first(bootstrap: str, topic: str) -> list[tuple[str, bytes]]:
    """The first record's headers as a list: a repeated header shows twice (a dict would hide it)."""
    import time

    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                return list(m.headers() or [])
    finally:
        c.close()
    raise AssertionError(f"nothing on {topic}")


def test_a_replayed_record_continues_its_trace(env: Pipeline) -> None:
    from confluent_kafka import Producer

    from contracts.kafka.replay import Start, replay

    dlq = env.catalog.topics[env.orders].dlq
    original = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    p = Producer({"bootstrap.servers": env.bootstrap})
    p.produce(dlq, value=b"x", key=b"k", headers=[("traceparent", original.encode()), ("dlq-original-topic", env.orders.encode())])
    p.flush(10)
    result = replay(env.bootstrap, dlq, Start(), to_original=True)
    assert result.sent == {env.orders: 1}
    (span,) = [s for s in EXPORTER.get_finished_spans() if s.name == f"send {env.orders}" and _attrs(s).get("contracts.replay")]
    assert f"{span.context.trace_id:032x}" == original.split("-")[1] and span.parent is not None and f"{span.parent.span_id:016x}" == original.split("-")[2]
    resent = [v for k, v in _headers_of_first(env.bootstrap, env.orders) if k == "traceparent"]
    assert resent == [f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-01".encode()]
