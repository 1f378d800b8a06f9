"""The concurrent consumer: ordering, commits when messages finish out of order, retries per key, async handlers."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer
from hypothesis import given
from hypothesis import strategies as st

from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import AsyncEventConsumer, AsyncEventProducer, EventProducer, MemoryDedupeStore, RetryPolicy
from contracts.kafka.lanes import Lanes, Work
from contracts.kafka.offsets import METADATA_LIMIT, PAUSE_SPAN, SPAN_LIMIT, PartitionOffsets, decode, encode
from contracts.serde import EventDeserializer
from contracts.testing import create_topics, make_broker
from contracts.testing.examples import order
from tests.test_kafka import Env, _run_until, _stop, kill_9_then_restart

# -- the bookkeeping, by property ----------------------------------------------------------


@given(st.lists(st.integers(0, 400), min_size=1, max_size=200, unique=True), st.randoms())
def test_committable_is_the_lowest_unfinished_offset(offsets: list[int], rnd: random.Random) -> None:
    tracker = PartitionOffsets()
    for o in sorted(offsets):
        assert tracker.fetched(o)
    order_ = offsets[:]
    rnd.shuffle(order_)
    done: set[int] = set()
    for o in order_:
        tracker.finished(o)
        done.add(o)
        pending = set(offsets) - done
        expected = min(pending) if pending else max(offsets) + 1
        assert tracker.committable() == expected
        # what the metadata carries is exactly what finished beyond the committed offset
        assert decode(expected, tracker.metadata()) == {x for x in done if x > expected} or tracker.metadata() == ""


@given(st.integers(0, 10**12), st.sets(st.integers(1, 5000), max_size=400))
def test_metadata_round_trips_or_stays_empty(base: int, deltas: set[int]) -> None:
    finished = {base + d for d in deltas}
    text = encode(base, finished)
    assert len(text) <= METADATA_LIMIT
    assert decode(base, text) == (finished if text else set())


def test_metadata_too_large_falls_back_to_a_plain_commit() -> None:
    scattered = {i * 2 + 1 for i in range(40_000)}  # neither run lengths nor bits fit in 4 KB
    assert encode(0, scattered) == ""
    assert decode(0, "something else") == set() and decode(0, None) == set()


def test_a_restart_skips_what_the_metadata_says_finished() -> None:
    before = PartitionOffsets()
    for o in range(10):
        before.fetched(o)
    for o in (0, 1, 4, 5, 7):
        before.finished(o)
    base, meta = before.committable(), before.metadata()
    assert base == 2
    after = PartitionOffsets()
    after.skip = decode(base, meta)
    runs = [o for o in range(2, 10) if after.fetched(o)]
    assert runs == [2, 3, 6, 8, 9], "finished events beyond the committed offset are not run again"


@given(
    st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 2)), min_size=1, max_size=60),
    st.sampled_from(["key", "partition", "unordered"]),
    st.randoms(),
)
def test_lanes_start_each_key_in_offset_order_one_at_a_time(messages: list[tuple[str, int]], ordering: Any, rnd: random.Random) -> None:
    lanes = Lanes(ordering)
    for offset, (key, partition) in enumerate(messages):
        lanes.add(Work("t", partition, offset, key.encode(), None))
    started: list[Work] = []
    running: list[Work] = []
    while lanes.queued:
        running += list(lanes.ready(0.0, 8))
        assert running, "something can always run"
        lane_ids = [w.lane for w in running]
        assert len(lane_ids) == len(set(lane_ids)), "never two of one lane at once"
        finishing = running.pop(rnd.randrange(len(running)))
        started.append(finishing)
        if rnd.random() < 0.2 and finishing.attempt == 0:
            lanes.retry_at(finishing, 0.0)  # a failed attempt: it runs again, still first in its lane
            started.pop()
            continue
        lanes.done(finishing)
    assert len(started) == len(messages)
    if ordering != "unordered":
        by_lane: dict[Any, list[int]] = defaultdict(list)
        for w in started:
            by_lane[(w.partition, w.key) if ordering == "key" else w.partition].append(w.offset)
        assert all(offsets == sorted(offsets) for offsets in by_lane.values())


# -- through the broker ----------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Env:
    from tests.test_kafka import _catalog

    return Env(kafka_bootstrap, schema_registry_url, _catalog(tmp_path, uuid.uuid4().hex[:8]))


def _send(env: Env, keys: list[str]) -> list[OrderCreated]:
    sent = [order(i) for i in range(len(keys))]
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for event, key in zip(sent, keys, strict=True):
            p.send(event, key=key)
    return sent


@pytest.mark.kafka
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_per_key_order_holds_under_random_handler_delays(env: Env, kind: str) -> None:
    rnd = random.Random(kind)
    keys = [f"k{rnd.randrange(12)}" for _ in range(150)]
    sent = _send(env, keys)
    key_of = {e.order_id: k for e, k in zip(sent, keys, strict=True)}
    position = {e.order_id: i for i, e in enumerate(sent)}
    delays = {e.order_id: rnd.uniform(0, 0.02) for e in sent}
    seen: list[Any] = []
    lock = threading.Lock()
    consumer = env.consumer(f"order-{kind}", "c1", concurrency=32, ordering="key")
    if kind == "sync":

        def handle(e: OrderCreated) -> None:
            time.sleep(delays[e.order_id])
            with lock:
                seen.append(e.order_id)

        consumer.on(OrderCreated, handle)
    else:

        async def handle_async(e: OrderCreated) -> None:
            await asyncio.sleep(delays[e.order_id])
            seen.append(e.order_id)

        consumer.on(OrderCreated, handle_async)
    thread = _run_until(consumer, lambda: len(seen) >= len(sent))
    _stop((consumer, thread))
    assert sorted(seen, key=position.__getitem__) == [e.order_id for e in sent] and len(seen) == len(sent)
    for key in set(keys):
        mine = [position[o] for o in seen if key_of[o] == key]
        assert mine == sorted(mine), f"key {key} out of order"
    assert consumer.stats.max_concurrent > 1, "different keys ran at once"


@pytest.mark.kafka
def test_a_failing_key_does_not_delay_other_keys_and_is_dead_lettered(env: Env) -> None:
    keys = ["bad"] + [f"k{i}" for i in range(60)]
    sent = _send(env, keys)
    bad = sent[0].order_id
    finished_at: dict[Any, float] = {}
    bad_attempts: list[float] = []
    consumer = env.consumer("hol", "c1", concurrency=16, retry=RetryPolicy(attempts=4, initial_backoff=0.3, max_backoff=0.6),
                            **{"fetch.wait.max.ms": 50})  # fmt: skip

    @consumer.handler(OrderCreated)
    def handle(e: OrderCreated) -> None:
        if e.order_id == bad:
            bad_attempts.append(time.monotonic())
            raise RuntimeError("always fails")
        finished_at[e.order_id] = time.monotonic()

    thread = _run_until(consumer, lambda: consumer.stats.dead_lettered >= 1 and len(finished_at) >= 60)
    _stop((consumer, thread))
    assert consumer.stats.dead_lettered == 1 and consumer.stats.failed_attempts == 4 and len(bad_attempts) == 4
    # 0.3 + 0.6 + 0.6 s of backoff for the bad key (sent first); the other keys did not wait for it
    assert max(finished_at.values()) < bad_attempts[-1], "other keys finished while the failing one waited out its backoff"
    dlq = Consumer({"bootstrap.servers": env.bootstrap, "group.id": f"dlq-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    dlq.subscribe([env.catalog.topics[env.orders].dlq])
    msg = None
    deadline = time.monotonic() + 30
    while msg is None and time.monotonic() < deadline:
        m = dlq.poll(0.5)
        msg = m if m is not None and m.error() is None else None
    dlq.close()
    assert msg is not None
    headers = {k: v for k, v in msg.headers() or []}
    assert headers["dlq-attempts"] == b"4" and headers["dlq-error-type"] == b"RuntimeError" and msg.key() == b"bad"


@pytest.mark.kafka
def test_shutdown_drains_in_flight_handlers_and_commits(env: Env) -> None:
    sent = _send(env, [f"k{i}" for i in range(40)])
    done: list[Any] = []
    consumer = env.consumer("drain", "c1", concurrency=40, drain_timeout=5)

    @consumer.handler(OrderCreated)
    def handle(e: OrderCreated) -> None:
        time.sleep(0.5)
        done.append(e.order_id)

    thread = _run_until(consumer, lambda: consumer.stats.in_flight >= 20, timeout=30)
    _stop((consumer, thread))  # while handlers sleep
    assert len(done) >= 20 and consumer.stats.handled == len(done), "running handlers finished before it left"
    committed = sum(consumer.stats.committed.values())
    assert committed >= len(done), "what finished was committed"
    # the rest comes to the next member of the group
    again: list[Any] = []
    second = env.consumer("drain", "c2", concurrency=8)
    second.on(OrderCreated, lambda e: again.append(e.order_id))
    t2 = _run_until(second, lambda: len(set(done) | set(again)) >= len(sent))
    _stop((second, t2))
    assert set(done) | set(again) == {e.order_id for e in sent}


@pytest.mark.kafka
def test_backpressure_pauses_and_resumes_partitions(env: Env) -> None:
    sent = _send(env, [f"k{i % 4}" for i in range(120)])
    seen: list[Any] = []
    consumer = env.consumer("pressure", "c1", concurrency=4, max_in_flight=10)

    @consumer.handler(OrderCreated)
    def handle(e: OrderCreated) -> None:
        time.sleep(0.005)
        seen.append(e.order_id)

    thread = _run_until(consumer, lambda: len(seen) >= len(sent))
    _stop((consumer, thread))
    assert len(seen) == len(sent)
    assert consumer.stats.pauses >= 1, "paused while the buffer was full, and resumed (everything arrived)"


@pytest.mark.kafka
def test_waiting_messages_are_decoded_only_when_their_turn_comes(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backlog waits as bytes: its events (20-odd objects each) would make every full garbage collection long."""
    sent = _send(env, ["one-key"] * 200)  # one lane: one message runs, the rest wait
    consumer = env.consumer("lazy", "c1", concurrency=8)
    decoded: list[int] = []
    real = EventDeserializer.__call__

    def counting(self: EventDeserializer, *args: Any, **kwargs: Any) -> Any:
        decoded.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(EventDeserializer, "__call__", counting)
    at_call: list[int] = []

    @consumer.handler(OrderCreated)
    def handle(e: OrderCreated) -> None:
        at_call.append(len(decoded))
        time.sleep(0.001)

    consumer.run(handle_signals=False, max_messages=len(sent), idle_timeout=30)
    assert len(at_call) == len(sent) and len(decoded) == len(sent)
    # Each call finds its own event decoded, and the rest of the backlog not yet (eagerly, a whole fetch was).
    assert all(n <= i + 2 for i, n in enumerate(at_call)), at_call[:20]


@pytest.mark.kafka
def test_rebalance_while_handlers_run_loses_nothing(env: Env) -> None:
    sent = _send(env, [f"k{i}" for i in range(200)])
    handled: list[Any] = []
    lock = threading.Lock()
    dedupe = MemoryDedupeStore()

    def make(name: str) -> Any:
        c = env.consumer("rebalance", name, concurrency=16, dedupe=dedupe)

        @c.handler(OrderCreated)
        def handle(e: OrderCreated) -> None:
            time.sleep(0.02)
            with lock:
                handled.append(e.order_id)

        return c

    first = make("m1")
    t1 = _run_until(first, lambda: len(handled) >= 40)
    second = make("m2")
    t2 = _run_until(second, lambda: len(set(handled)) >= len(sent), timeout=90)
    _stop((first, t1), (second, t2))
    assert set(handled) == {e.order_id for e in sent}, "nothing lost"
    assert len(handled) == len(set(handled)), "no event handled by both members without the dedupe store noticing"


_KILL_SCRIPT = """
import random, sys, time
from contracts.catalog import load_catalog
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventConsumer, SQLiteDedupeStore
from contracts.serde import EventDeserializer, registry_client
bootstrap, registry, schemas, db, group = sys.argv[1:6]
store = SQLiteDedupeStore(db)
store.connection.execute("CREATE TABLE IF NOT EXISTS effects (order_id TEXT)")
consumer = EventConsumer(bootstrap, EventDeserializer(registry_client(registry)), load_catalog(schemas), group_id=group,
                         name="victim", dedupe=store, concurrency=8, ordering="unordered", commit_interval=0.2,
                         **{"session.timeout.ms": 6000})
@consumer.handler(OrderCreated)
def handle(e):
    time.sleep(random.uniform(0, 0.02))  # finishes out of order
    store.connection.execute("INSERT INTO effects VALUES (?)", (str(e.order_id),))  # the dedupe mark's transaction
stats = consumer.run(idle_timeout=120)
print("duplicates", stats.duplicates, flush=True)
"""


@pytest.mark.kafka
@pytest.mark.slow
def test_kill_9_with_out_of_order_completion_loses_nothing(env: Env, tmp_path: Path) -> None:
    sent = _send(env, [f"k{i}" for i in range(150)])
    at_kill, _, returncode, done = kill_9_then_restart(env, tmp_path, _KILL_SCRIPT, len(sent), 50)
    assert 0 < at_kill < len(sent)
    assert returncode == 0
    assert set(done) == {str(e.order_id) for e in sent}, "every event handled at least once"
    assert len(done) == len(sent), "and, with the dedupe store, exactly once"


@pytest.mark.kafka
def test_async_consumer_and_producer_on_the_callers_loop(env: Env) -> None:
    async def main() -> list[Any]:
        got: list[Any] = []
        loop = asyncio.get_running_loop()
        async with AsyncEventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
            sent = [order(i) for i in range(20)]
            for e in sent:
                where = await producer.send(e, key=str(e.order_id))
                assert where.topic == env.orders and where.offset >= 0
        async with AsyncEventConsumer(env.bootstrap, EventDeserializer(env.client), env.catalog, group_id="aio", name="aio-1",
                                      **{"session.timeout.ms": 6000}) as consumer:  # fmt: skip

            @consumer.handler(OrderCreated)
            async def handle(e: OrderCreated) -> None:
                assert asyncio.get_running_loop() is loop, "handlers run on the caller's loop"
                got.append(e.order_id)

            await consumer.run(max_messages=len(sent), idle_timeout=30)
        assert {e.order_id for e in sent} == set(got)
        return got

    assert len(asyncio.run(main())) == 20


@pytest.mark.kafka
def test_async_producer_reports_a_stopped_broker_as_an_exception(env: Env) -> None:
    from contracts.errors import InfrastructureError

    with make_broker() as broker:
        create_topics(broker.bootstrap_servers, {env.orders: 1})
        bootstrap = broker.bootstrap_servers

    async def main() -> None:
        async with AsyncEventProducer(bootstrap, env.serializer(), name="orders-service", **{"message.timeout.ms": 2000}) as producer:
            await producer.send(order(1), key="k")

    with pytest.raises(InfrastructureError):
        asyncio.run(main())


@given(st.integers(0, 10**12), st.integers(1, SPAN_LIMIT), st.randoms(use_true_random=False))
def test_any_span_the_loop_lets_through_fits_the_metadata(base: int, span: int, rnd: random.Random) -> None:
    """Below ``SPAN_LIMIT`` every pattern of finished offsets fits Kafka's limit; the loop pauses a partition a
    consume batch (256) before it, so no commit has to drop its metadata."""
    assert PAUSE_SPAN + 256 <= SPAN_LIMIT
    finished = {base + d for d in range(1, span + 1) if rnd.random() < 0.5} | {base + span}
    text = encode(base, finished)
    assert text and len(text) <= METADATA_LIMIT
    assert decode(base, text) == finished
