"""Backpressure per partition: a backlog on one partition pauses that partition, never the others' keys."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventProducer
from contracts.kafka.flow import FlowControl, pressed
from contracts.kafka.offsets import PartitionOffsets
from contracts.kafka.stats import ConsumerStats
from contracts.testing.examples import order
from tests.test_kafka import Env

BATCH = 256  # the most one call into librdkafka hands over

counts = st.dictionaries(st.tuples(st.just("t"), st.integers(0, 7)), st.integers(0, 3000), min_size=1)


@given(counts, st.integers(1, 4000), st.data())
def test_pressure_pauses_the_partitions_over_their_share_and_no_idle_one(in_flight: dict[Any, int], bound: int, data: st.DataObject) -> None:
    before = data.draw(st.sets(st.sampled_from(sorted(in_flight))))
    paused = pressed(in_flight, before, bound)
    share = max(1, bound // len(in_flight))
    if sum(in_flight.values()) >= bound:
        assert paused, "at the bound, something pauses"
        assert {tp for tp, n in in_flight.items() if n >= share} <= paused
    else:
        assert paused <= before, "below the bound nothing new pauses"
    assert all(in_flight[tp] > share // 2 for tp in paused), "a partition holding half its share or less fetches"


class _Recorder:
    """Stands in for librdkafka's pause and resume only: which partitions the flow control paused."""

    def __init__(self) -> None:
        self.paused: set[tuple[str, int]] = set()
        self.asleep = False  # whether librdkafka's fetcher waits for a request to wake it (after a resume)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused |= {(p.topic, p.partition) for p in partitions}

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused -= {(p.topic, p.partition) for p in partitions}
        self.asleep = True

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float, cached: bool) -> tuple[int, int]:
        self.asleep = self.asleep and cached  # a query of the broker wakes the fetcher; the cached values do not
        return 0, 0


@given(st.integers(1, 6), st.integers(1, 2000), st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(1, BATCH)), max_size=200))
def test_in_flight_stays_bounded_while_unpaused_partitions_fetch(partitions: int, bound: int, steps: list[tuple[bool, int, int]]) -> None:
    kafka = _Recorder()
    flow = FlowControl(kafka, ConsumerStats(), bound)  # type: ignore[arg-type]
    offsets = {("t", p): PartitionOffsets() for p in range(partitions)}
    nxt = dict.fromkeys(offsets, 0)
    for fetch, which, n in steps:
        tp = ("t", which % partitions)
        tracker = offsets[tp]
        if fetch and tp not in kafka.paused:  # a fetch brings up to a batch of one partition's messages
            for _ in range(n):
                tracker.fetched(nxt[tp])
                nxt[tp] += 1
        elif not fetch:  # handlers finish its oldest ones
            for offset in range(nxt[tp] - tracker.in_flight, nxt[tp])[:n]:
                tracker.finished(offset)
        flow.check(offsets)
        assert kafka.paused == flow.paused
        assert not kafka.asleep, "a resumed partition is fetched at once"
        assert sum(t.in_flight for t in offsets.values()) <= 2 * bound + (partitions + 1) * BATCH
        assert all(offsets[p].in_flight > 0 for p in flow.pressed)


def test_a_backlog_on_one_partition_leaves_the_other_fetching() -> None:
    # Regression: the whole assignment paused at the bound, the idle partition with it.
    kafka = _Recorder()
    flow = FlowControl(kafka, ConsumerStats(), 100)  # type: ignore[arg-type]
    busy, idle = PartitionOffsets(), PartitionOffsets()
    for offset in range(120):
        busy.fetched(offset)
    flow.check({("t", 0): busy, ("t", 1): idle})
    assert kafka.paused == {("t", 0)}


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Env:
    from tests.test_kafka import _catalog

    return Env(kafka_bootstrap, schema_registry_url, _catalog(tmp_path, uuid.uuid4().hex[:8]))


@pytest.mark.kafka
def test_keys_of_every_partition_run_while_one_partition_holds_a_backlog(env: Env) -> None:
    """librdkafka hands over one partition's messages before the next one's: the other partition's keys still run."""
    framing = EventProducer(env.bootstrap, env.serializer(), name="orders-service")
    raw = Producer({"bootstrap.servers": env.bootstrap, "linger.ms": 5})
    partition_of: dict[Any, int] = {}
    for partition in (0, 1):
        for i in range(300):
            event = order(partition * 1000 + i)
            partition_of[event.order_id] = partition
            topic, value, headers = framing.prepare(event)
            raw.produce(topic, value, key=f"p{partition}-k{i % 10}", partition=partition, headers=headers)
    raw.flush(30)
    consumer = env.consumer("fair", "c1", concurrency=20, ordering="key", max_in_flight=60)
    running: dict[int, int] = {0: 0, 1: 0}
    both_at_once: list[tuple[int, int]] = []
    lock = threading.Lock()

    @consumer.handler(OrderCreated)
    def handle(e: OrderCreated) -> None:
        partition = partition_of[e.order_id]
        with lock:
            running[partition] += 1
            if running[0] and running[1]:
                both_at_once.append((running[0], running[1]))
        time.sleep(0.01)
        with lock:
            running[partition] -= 1

    stats = consumer.run(handle_signals=False, max_messages=600, idle_timeout=30)
    assert stats.handled == 600
    # Each partition holds 10 keys: were one partition's backlog let through alone, at most 10 would run.
    assert stats.max_concurrent > 10
    assert len(both_at_once) > 200, f"the two partitions' keys ran side by side for much of the run ({len(both_at_once)} of 600 starts)"


@pytest.mark.kafka
def test_a_resumed_partition_is_fetched_at_once(env: Env) -> None:
    """librdkafka's fetcher, idle while everything is paused, is not woken by a resume: the flow control wakes it."""
    from contracts.kafka.clients import consumer as make_consumer
    from contracts.kafka.consumer import CONSUMER_DEFAULTS

    topic = EventProducer(env.bootstrap, env.serializer(), name="orders-service").prepare(order(0))[0]
    raw = Producer({"bootstrap.servers": env.bootstrap, "linger.ms": 5})
    for i in range(200):
        raw.produce(topic, b"x", key=str(i).encode(), partition=0)
    raw.flush(30)
    kafka = make_consumer(env.bootstrap, **{"group.id": "wake", **CONSUMER_DEFAULTS, "enable.auto.commit": False})
    try:
        kafka.assign([TopicPartition(topic, 0, 0)])
        assert _first(kafka, 30.0) is not None
        flow, busy = FlowControl(kafka, ConsumerStats(), 10), PartitionOffsets()
        for offset in range(1000, 1020):
            busy.fetched(offset)
        flow.check({(topic, 0): busy})
        assert flow.paused == {(topic, 0)}
        time.sleep(0.3)  # the fetch in flight has returned (its long poll is 100 ms); with nothing to fetch, the fetcher sleeps for a second
        for offset in range(1000, 1020):
            busy.finished(offset)
        started = time.monotonic()
        flow.check({(topic, 0): busy})
        assert flow.paused == set()
        assert _first(kafka, 5.0) is not None
        # Not woken, librdkafka fetched 0.7 s after this resume (0.3 to 1 s in the consumer); woken, within a few ms.
        assert time.monotonic() - started < 0.25
    finally:
        kafka.close()


def _first(kafka: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in kafka.consume(1, 0.005):
            if msg.error() is None:
                return msg
    return None
