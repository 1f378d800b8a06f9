"""On Apache Kafka itself: what Tansu could not show (it keeps no commit metadata).

A restart after ``kill -9`` skips what the commit metadata marks finished; 10,000 gaps
fit the metadata and a wider span pauses the partition instead of dropping it;
cooperative rebalancing while handlers run loses nothing and (with the dedupe store)
handles nothing twice; a broker restart mid-stream loses nothing and writes nothing twice.
Each test is skipped, naming what is missing, on a machine without Java 17 or Maven.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventConsumer, EventProducer, SQLiteDedupeStore
from contracts.kafka.offsets import METADATA_LIMIT, PAUSE_SPAN, decode
from contracts.serde import EventDeserializer
from contracts.testing import FAST_JOIN, ApacheKafkaBroker, broker_missing, create_topics
from contracts.testing.examples import order
from contracts.testing.pipeline import Pipeline, example_catalog
from tests.test_kafka import _run_until, _stop

pytestmark = pytest.mark.slow


def _pipeline(tmp_path: Path, bootstrap: str, registry: str, partitions: int) -> Pipeline:
    suffix = uuid.uuid4().hex[:8]
    create_topics(bootstrap, {f"orders-{suffix}": partitions})  # before the pipeline, which would make two
    return Pipeline(bootstrap, registry, example_catalog(tmp_path, suffix))


def _send(env: Pipeline, events: list[tuple[OrderCreated, str]]) -> None:
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        for event, key in events:
            producer.send(event, key=key)


def _committed(env: Pipeline, group: str, partition: int = 0) -> TopicPartition:
    """The group's committed position of ``partition``, read as any admin tool would (without joining)."""
    reader = Consumer({"bootstrap.servers": env.bootstrap, "group.id": group})
    try:
        return reader.committed([TopicPartition(env.orders, partition)], timeout=10)[0]
    finally:
        reader.close()


_VICTIM = """
import os, sys, time
from contracts.catalog import load_catalog
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventConsumer
from contracts.serde import EventDeserializer, registry_client
bootstrap, registry, schemas, group, calls = sys.argv[1:6]
consumer = EventConsumer(bootstrap, EventDeserializer(registry_client(registry)), load_catalog(schemas), group_id=group,
                         name="victim", concurrency=8, ordering="key", **{"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
out = os.open(calls, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
@consumer.handler(OrderCreated)
def handle(e):
    os.write(out, f"{e.order_id}\\n".encode())
    if e.customer.customer_id == "c0":
        time.sleep(3600)  # the first message never finishes: everything after it finishes out of order
consumer.run()
"""


def test_a_restart_after_kill_9_skips_what_the_commit_metadata_marks_finished(apache_kafka: ApacheKafkaBroker, schema_registry_url: str, tmp_path: Path) -> None:
    env = _pipeline(tmp_path, apache_kafka.bootstrap_servers, schema_registry_url, partitions=1)
    sent = [order(i) for i in range(300)]
    _send(env, [(e, f"k{i}") for i, e in enumerate(sent)])  # one partition: offset i is sent[i]
    group, calls = f"restart-{uuid.uuid4().hex[:6]}", tmp_path / "calls.txt"
    script = tmp_path / "victim.py"
    script.write_text(_VICTIM)
    victim = subprocess.Popen([sys.executable, str(script), env.bootstrap, env.registry, str(env.catalog.root), group, str(calls)])
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(decode(0, _committed(env, group).metadata)) < len(sent) - 1:
            time.sleep(0.2)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    first = calls.read_text().split()
    position = _committed(env, group)
    finished = decode(position.offset, position.metadata)
    assert position.offset == 0, "the first message never finished: nothing beyond it may be committed plainly"
    assert finished == set(range(1, len(sent))), "Apache Kafka kept every finished offset in the commit metadata"
    assert len(first) == len(sent)

    again: list[str] = []
    consumer = env.consumer(group, "survivor", concurrency=8, ordering="key")
    consumer.on(OrderCreated, lambda e: again.append(str(e.order_id)))
    # The killed member holds its partition until its session times out: wait for the group, not a fixed time.
    thread = _run_until(consumer, lambda: bool(again) and consumer.stats.skipped_finished == len(sent) - 1, timeout=90)
    time.sleep(1)  # anything run twice would show up by now
    _stop((consumer, thread))
    stats = consumer.stats
    repeated = set(first) & set(again)
    assert again == [str(sent[0].order_id)], "only what the metadata did not cover runs again"
    assert repeated == {str(sent[o].order_id) for o in range(len(sent)) if o >= position.offset and o not in finished}
    assert stats.skipped_finished == len(sent) - 1
    assert _committed(env, group).offset == len(sent)


def test_ten_thousand_gaps_fit_the_metadata_and_a_wider_span_pauses_the_partition(apache_kafka: ApacheKafkaBroker, schema_registry_url: str, tmp_path: Path) -> None:
    env = _pipeline(tmp_path, apache_kafka.bootstrap_servers, schema_registry_url, partitions=1)
    total = PAUSE_SPAN + 4000
    # Even offsets share one key whose first handler blocks: 10,000 of them wait in its lane while every odd one finishes.
    events = [(order(i), "slow" if i % 2 == 0 else f"k{i}") for i in range(total)]
    _send(env, events)
    release, calls = threading.Event(), [0]
    group = f"gaps-{uuid.uuid4().hex[:6]}"
    consumer = env.consumer(group, "gaps", concurrency=8, ordering="key", max_in_flight=10 * total)

    def handle(event: OrderCreated) -> None:
        if event.customer.customer_id == "c0":
            release.wait(120)
        calls[0] += 1

    consumer.on(OrderCreated, handle)
    committed: list[TopicPartition] = []

    def paused_with_all_finished_committed() -> bool:
        committed[:] = [_committed(env, group)]
        finished = decode(committed[0].offset, committed[0].metadata)
        return consumer.stats.pauses > 0 and consumer.stats.handled >= 10_000 and len(finished) == consumer.stats.handled

    thread = _run_until(consumer, paused_with_all_finished_committed, timeout=120)
    try:
        assert consumer.stats.pauses >= 1, "the partition was paused before its span outgrew the metadata"
        assert consumer.stats.metadata_overflows == 0, "no commit had to drop its metadata"
        position = committed[0]
        assert position.offset == 0 and len(decode(0, position.metadata)) == consumer.stats.handled >= 10_000
        assert consumer.stats.in_flight >= 10_000, "10,000 unfinished offsets sit between the finished ones"
        assert len(position.metadata or "") <= METADATA_LIMIT < 4096  # Kafka's offset.metadata.max.bytes
        assert consumer.stats.in_flight + consumer.stats.handled <= PAUSE_SPAN + 256, "the pause held the span"
    finally:
        release.set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and consumer.stats.handled < total:
        time.sleep(0.1)
    _stop((consumer, thread))
    assert consumer.stats.handled == total and calls[0] == total
    assert _committed(env, group).offset == total


class _Revocations(logging.Handler):
    """The partitions each member gave up, from the consumer's own log."""

    def __init__(self) -> None:
        super().__init__()
        self.by_member: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if " revoked " in message:
            member, _, parts = message.partition(" revoked ")
            self.by_member.setdefault(member, []).append(parts)


def test_cooperative_rebalances_while_handlers_run_lose_nothing_and_handle_nothing_twice(apache_kafka: ApacheKafkaBroker, schema_registry_url: str, tmp_path: Path) -> None:
    env = _pipeline(tmp_path, apache_kafka.bootstrap_servers, schema_registry_url, partitions=6)
    sent = [order(i) for i in range(1500)]
    _send(env, [(e, f"k{i % 97}") for i, e in enumerate(sent)])
    store = SQLiteDedupeStore(tmp_path / "dedupe.sqlite")
    store.connection.execute("CREATE TABLE effects (order_id TEXT)")
    group = f"coop-{uuid.uuid4().hex[:6]}"
    revocations = _Revocations()
    logger = logging.getLogger("contracts.kafka.consumer")
    logger.addHandler(revocations)
    logger.setLevel(logging.INFO)

    def member(name: str) -> EventConsumer:
        consumer = env.consumer(group, name, concurrency=4, ordering="key", dedupe=store,
                                **{"partition.assignment.strategy": "cooperative-sticky"})  # fmt: skip

        @consumer.handler(OrderCreated)
        def handle(e: OrderCreated) -> None:
            time.sleep(0.004)  # handlers are running whenever the group rebalances
            store.connection.execute("INSERT INTO effects VALUES (?)", (str(e.order_id),))  # the dedupe mark's transaction

        return consumer

    def effects() -> int:
        return int(store.connection.execute("SELECT count(*) FROM effects").fetchone()[0])

    try:
        a = member("member-a")
        pa = (a, _run_until(a, lambda: effects() >= 150))
        b = member("member-b")
        pb = (b, _run_until(b, lambda: bool(b.assignment) and effects() >= 500))
        c = member("member-c")
        pc = (c, _run_until(c, lambda: bool(c.assignment) and effects() >= 900))
        _stop(pb)  # a member leaves mid-stream: its partitions move to the others
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and effects() < len(sent):
            time.sleep(0.1)
        time.sleep(1)  # anything handled twice would show up by now
        _stop(pa, pc)
    finally:
        logger.removeHandler(revocations)
    rows = [r[0] for r in store.connection.execute("SELECT order_id FROM effects")]
    assert set(rows) == {str(e.order_id) for e in sent}, "nothing lost across three rebalances"
    assert len(rows) == len(sent), "and nothing handled twice"
    first_revoke = revocations.by_member["member-a"][0]
    assert first_revoke.count("(") < 6, f"cooperative: member-a gave up only what moved, not all six ({first_revoke})"


def test_a_broker_restart_mid_stream_loses_nothing_and_writes_nothing_twice(schema_registry_url: str, tmp_path: Path) -> None:
    lacking = broker_missing("kafka")
    if lacking:
        pytest.skip(lacking)
    with ApacheKafkaBroker() as broker:  # its own: the restart must not disturb the other tests' broker
        env = _pipeline(tmp_path, broker.bootstrap_servers, schema_registry_url, partitions=2)
        sent = [order(i) for i in range(1200)]
        seen: list[str] = []
        consumer = env.consumer(f"restart-{uuid.uuid4().hex[:6]}", "through-restart")
        consumer.on(OrderCreated, lambda e: seen.append(str(e.order_id)))
        thread = _run_until(consumer, lambda: True, timeout=0)

        def produce() -> None:
            # Messages wait out the restart in the producer, however long the broker takes on a busy machine.
            with EventProducer(env.bootstrap, env.serializer(), name="orders-service", **{"message.timeout.ms": 180_000}) as producer:
                for i, event in enumerate(sent):
                    producer.send(event, key=f"k{i % 13}")
                    time.sleep(0.002)
                producer.flush(180)

        producing = threading.Thread(target=produce)
        producing.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(seen) < 200:
            time.sleep(0.02)
        restarting = time.monotonic()
        broker.restart()  # SIGTERM, then up again on the same ports and log folder
        print(f"broker restart took {time.monotonic() - restarting:.1f}s")
        producing.join(240)
        deadline = time.monotonic() + 120
        expected = {str(e.order_id) for e in sent}
        while time.monotonic() < deadline and not expected <= set(seen):
            time.sleep(0.1)
        _stop((consumer, thread))
        assert expected <= set(seen), f"lost {len(expected - set(seen))} event(s) across the broker restart"
        log = _read_all(env)
        assert len(log) == len(sent) and set(log) == expected, "the idempotent producer wrote each event once"


def _read_all(env: Pipeline) -> list[str]:
    """Every order id in the orders topic, from the start, as a fresh group sees it."""
    deserializer = EventDeserializer(env.client)
    reader = Consumer({"bootstrap.servers": env.bootstrap, "group.id": f"audit-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest",
                       "enable.partition.eof": True, **FAST_JOIN})  # fmt: skip
    reader.subscribe([env.orders])
    out: list[str] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(at_end) < 2:
        msg: Any = reader.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            at_end.add(msg.partition())
            continue
        at_end.discard(msg.partition())
        out.append(str(deserializer(msg.value()).order_id))
    reader.close()
    return out
