"""Typed producer and consumer against the real broker (Tansu) and the embedded registry."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from contracts.catalog import load_catalog
from contracts.errors import InfrastructureError
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import DeliveryError, EventConsumer, EventProducer, RetryPolicy
from contracts.serde import (
    EventDeserializationError,
    EventDeserializer,
    EventSerializer,
    SerializationError,
    registry_client,
)
from contracts.testing import FAST_JOIN, SESSION_TIMEOUT_MS, create_topics, make_broker
from contracts.testing.examples import order
from contracts.testing.pipeline import Pipeline, example_catalog
from tests.conftest import ROOT, generate_into

pytestmark = pytest.mark.kafka
FAST = FAST_JOIN


_catalog = example_catalog
Env = Pipeline


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Env:
    return Env(kafka_bootstrap, schema_registry_url, _catalog(tmp_path, uuid.uuid4().hex[:8]))


def _run_until(consumer: EventConsumer, done: Callable[[], bool], timeout: float = 60) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)
    return thread


def _stop(*pairs: tuple[EventConsumer, threading.Thread]) -> None:
    for c, _ in pairs:
        c.stop()
    for _, t in pairs:
        t.join(30)


def test_serde_is_wire_compatible_with_confluent(env: Env) -> None:
    ser = env.serializer()
    event = order(1)
    data = ser(event)
    ctx = SerializationContext(env.orders, MessageField.VALUE)
    assert AvroDeserializer(env.client)(data, ctx)["order_id"] == event.order_id
    theirs = AvroSerializer(env.client, json.dumps(OrderCreated.__avro_schema__), to_dict=lambda e, _: e.to_avro(), conf={"auto.register.schemas": True})
    back = EventDeserializer(env.client)(theirs(event, SerializationContext("elsewhere", MessageField.VALUE)))
    assert back == event


def test_deserializer_errors_carry_where_and_why(env: Env) -> None:
    de = EventDeserializer(env.client)
    good = env.serializer()(order(2))
    cases = {b"\x07" + good[1:]: "magic",  # 1 is the GUID framing now, so 7 stands for a foreign one
              good[:3]: "shorter", b"\x00\x00\x00\x03\xe7" + good[5:]: "unknown schema id 999", good[:5] + b"\xff": "does not match"}
    for payload, why in cases.items():
        with pytest.raises(EventDeserializationError) as exc:
            de(payload, topic="t", partition=3, offset=42)
        assert exc.value.topic == "t" and exc.value.partition == 3 and exc.value.offset == 42 and why in exc.value.reason


def test_unregistered_class_is_refused_naming_the_subject(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> None:
    catalog = _catalog(tmp_path, uuid.uuid4().hex[:8])  # not pushed
    client = registry_client(schema_registry_url)
    with pytest.raises(SerializationError, match=r"orders-.*-com\.acme\.orders\.OrderCreated"):
        EventSerializer(client, catalog)(order(1))
    assert EventSerializer(client, catalog, auto_register=True)(order(1))[0] == 0


def _add_coupon(schemas: Path) -> None:
    path = schemas / "com/acme/orders/OrderCreated.avsc"
    data = json.loads(path.read_text())
    data["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None, "doc": "Coupon code."})
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("producer_version", ["v2", "v1"])
def test_schema_evolution_across_services(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str, gen_root: Path, producer_version: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    v1 = _catalog(tmp_path / "v1", suffix)
    v2 = _catalog(tmp_path / "v2", suffix, _add_coupon)
    env1, env2 = Env(kafka_bootstrap, schema_registry_url, v1), Env(kafka_bootstrap, schema_registry_url, v2)  # v1 then v2 registered
    pkg1 = generate_into(gen_root, v1.root, f"evo_v1_{suffix}")
    pkg2 = generate_into(gen_root, v2.root, f"evo_v2_{suffix}")
    V1, V2 = pkg1.cls("com.acme.orders.OrderCreated"), pkg2.cls("com.acme.orders.OrderCreated")
    base = order(7).to_avro()
    producer_env, consumer_env = (env2, env1) if producer_version == "v2" else (env1, env2)
    Produced = V2 if producer_version == "v2" else V1
    Expected = V1 if producer_version == "v2" else V2
    event = Produced.from_avro({**base, "coupon": "SAVE10"} if producer_version == "v2" else base)
    with EventProducer(kafka_bootstrap, producer_env.serializer(), name="orders-service") as p:
        p.send(event, key="k")
    got: list[Any] = []
    consumer = consumer_env.consumer(f"evo-{suffix}", "reader", classes=[Expected])
    consumer.on(Expected, got.append)
    thread = _run_until(consumer, lambda: bool(got))
    _stop((consumer, thread))
    assert len(got) == 1 and type(got[0]) is Expected
    assert got[0].order_id == event.order_id and got[0].total.to_avro() == event.total.to_avro()
    if producer_version == "v1":
        assert got[0].coupon is None, "a v2 reader fills the new field from its default"


def test_poison_and_failing_handler_go_to_the_dead_letter_topic(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="contracts")
    events = [order(i) for i in range(5)]
    bad = events[2].order_id
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for e in events:
            p.send(e, key=str(e.order_id))
        p.send_raw(env.orders, b"garbage", key=b"poison")
    handled: list[uuid.UUID] = []
    attempts: list[int] = []

    def handle(e: OrderCreated) -> None:
        if e.order_id == bad:
            attempts.append(1)
            raise RuntimeError("payment provider down at https://svc:hunter2@pay.example/charge")
        handled.append(e.order_id)

    consumer = env.consumer(f"dlq-{uuid.uuid4().hex[:6]}", "payments-1", retry=RetryPolicy(attempts=3, initial_backoff=0.01))
    consumer.on(OrderCreated, handle)
    thread = _run_until(consumer, lambda: len(handled) == 4 and consumer.stats.dead_lettered == 2)
    _stop((consumer, thread))
    assert sorted(map(str, handled)) == sorted(str(e.order_id) for e in events if e.order_id != bad), "the consumer kept running"
    assert len(attempts) == 3
    dead = _read_all(env.bootstrap, env.catalog.topics[env.orders].dlq, 2)
    by_key = {m["key"]: m["headers"] for m in dead}
    failing = by_key[str(bad).encode()]
    assert failing["dlq-error-type"] == b"RuntimeError"
    assert failing["dlq-error-message"] == b"payment provider down at https://***@pay.example/charge"  # no secrets
    assert failing["dlq-original-topic"] == env.orders.encode() and failing["dlq-attempts"] == b"3"
    assert {"dlq-original-partition", "dlq-original-offset", "dlq-original-timestamp", "event-id"} <= set(failing)
    assert by_key[b"poison"]["dlq-error-type"] == b"EventDeserializationError" and by_key[b"poison"]["dlq-attempts"] == b"0"
    # every record about the failing event carries its id and topic, and no secret
    about = [r for r in caplog.records if getattr(r, "event_id", None) == str(events[2].metadata.event_id)]
    assert len(about) == 4, [r.getMessage() for r in about]  # three failed attempts, then the dead letter
    assert all(r.topic == env.orders and r.offset is not None for r in about)  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if "hunter2" in r.getMessage()]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_stats_are_the_same_on_every_path(env: Env, concurrency: int) -> None:
    # Regression: the sequential consumer reported failed_attempts=0 and committed={} (so lag() had nothing).
    events = [order(i) for i in range(4)]
    bad = events[1].order_id
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for e in events:
            p.send(e, key=str(e.order_id))

    def handle(e: OrderCreated) -> None:
        if e.order_id == bad:
            raise RuntimeError("down")

    consumer = env.consumer(f"stats-{uuid.uuid4().hex[:6]}", "payments-1", retry=RetryPolicy(attempts=3, initial_backoff=0.01), concurrency=concurrency)
    consumer.on(OrderCreated, handle)
    thread = threading.Thread(target=consumer.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (consumer.stats.handled == 3 and consumer.stats.dead_lettered == 1 and sum(consumer.stats.committed.values()) >= 4):
        time.sleep(0.05)
    lag = consumer.lag()
    _stop((consumer, thread))
    stats = consumer.stats
    assert (stats.handled, stats.failed_attempts, stats.dead_lettered) == (3, 3, 1)
    assert sum(stats.committed.values()) == 4, stats.committed
    assert lag and sum(lag.values()) == 0, lag
    assert stats.max_concurrent >= 1


def _read_all(bootstrap: str, topic: str, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", **FAST})
    c.subscribe([topic])
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            out.append({"key": m.key(), "value": m.value(), "headers": dict(m.headers() or [])})
    c.close()
    return out


def test_group_members_share_partitions_and_a_third_rebalances_without_loss(env: Env) -> None:
    group = f"share-{uuid.uuid4().hex[:6]}"
    seen: list[str] = []
    lock = threading.Lock()

    def record(e: OrderCreated) -> None:
        with lock:
            seen.append(str(e.order_id))

    members = [env.consumer(group, f"m{i}") for i in range(3)]
    for m in members:
        m.on(OrderCreated, record)
    first = [(m, _run_until(m, lambda: True, 0)) for m in members[:2]]
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not all(m.assignment for m in members[:2]):
        time.sleep(0.1)
    parts = [set(m.assignment) for m in members[:2]]
    assert parts[0] and parts[1] and not parts[0] & parts[1], "two members split the partitions"
    sent = [order(i) for i in range(30)]
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for e in sent:
            p.send(e, key=str(e.order_id))
    third = (members[2], _run_until(members[2], lambda: True, 0))
    more = [order(i) for i in range(30)]
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for e in more:
            p.send(e, key=str(e.order_id))
    expected = {str(e.order_id) for e in sent + more}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not expected <= set(seen):
        time.sleep(0.1)
    _stop(*first, third)
    assert expected <= set(seen), f"lost {len(expected - set(seen))} event(s) across the rebalance"


def test_delivery_failure_is_reported_not_swallowed(env: Env) -> None:
    with make_broker() as broker:
        create_topics(broker.bootstrap_servers, {env.orders: 1})
        producer = EventProducer(broker.bootstrap_servers, env.serializer(), name="orders-service", **{"message.timeout.ms": 1500})
        producer.send(order(1))
        producer.flush()  # delivered while the broker runs
    producer.send(order(2))
    with pytest.raises((InfrastructureError, DeliveryError)):
        producer.flush(10)
    failures: list[Any] = []
    reporting = EventProducer(broker.bootstrap_servers, env.serializer(), name="x", on_error=lambda e, err: failures.append((e, err)), **{"message.timeout.ms": 1000})
    reporting.send(order(3))
    reporting.flush(10)
    assert len(failures) == 1 and failures[0][0].order_id


_CONSUMER_SCRIPT = """
import sys, time
from contracts.catalog import load_catalog
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventConsumer, SQLiteDedupeStore
from contracts.serde import EventDeserializer, registry_client
bootstrap, registry, schemas, db, group = sys.argv[1:6]
store = SQLiteDedupeStore(db)
store.connection.execute("CREATE TABLE IF NOT EXISTS effects (order_id TEXT)")
consumer = EventConsumer(bootstrap, EventDeserializer(registry_client(registry)), load_catalog(schemas), group_id=group,
                         name="victim", dedupe=store, **{"session.timeout.ms": 6000, "auto.commit.interval.ms": 2000})
@consumer.handler(OrderCreated)
def handle(e):
    store.connection.execute("INSERT INTO effects VALUES (?)", (str(e.order_id),))  # same transaction as the dedupe mark
    time.sleep(0.01)
stats = consumer.run(idle_timeout=120)
print("duplicates", stats.duplicates, flush=True)
"""


def kill_9_then_restart(env: Env, tmp_path: Path, script_text: str, total: int, kill_after: int) -> tuple[int, str, int, list[str]]:
    """Run a consumer script, ``kill -9`` it once ``kill_after`` effects are recorded, run it again until all
    ``total`` are there, then SIGTERM it: (effects at the kill, the survivor's output, its exit code, all effects)."""
    import sqlite3

    db, group = tmp_path / "dedupe.sqlite", f"kill-{uuid.uuid4().hex[:6]}"
    script = tmp_path / "consumer.py"
    script.write_text(script_text)
    args = [sys.executable, str(script), env.bootstrap, env.registry, str(env.catalog.root), str(db), group]

    def effects() -> list[str]:
        if not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            try:
                return [r[0] for r in conn.execute("SELECT order_id FROM effects")]
            except sqlite3.OperationalError:
                return []

    victim = subprocess.Popen(args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(effects()) < kill_after:
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)  # mid-batch: what finished last is not committed yet
    victim.wait()
    at_kill = len(effects())
    survivor = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(set(effects())) < total:
        time.sleep(0.1)
    survivor.send_signal(signal.SIGTERM)  # graceful: finish, commit, leave the group
    out, _ = survivor.communicate(timeout=30)
    return at_kill, out, survivor.returncode, effects()


def test_kill_9_mid_batch_loses_nothing_and_dedupe_makes_it_exactly_once(env: Env, tmp_path: Path) -> None:
    sent = [order(i) for i in range(150)]
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as p:
        for e in sent:
            p.send(e, key=str(e.order_id))
    at_kill, out, returncode, done = kill_9_then_restart(env, tmp_path, _CONSUMER_SCRIPT, len(sent), 40)
    assert 0 < at_kill < len(sent)
    assert returncode == 0
    assert int(out.split()[-1]) > 0, "the kill left uncommitted offsets: redelivered events were skipped"
    assert set(done) == {str(e.order_id) for e in sent}, "every event handled at least once"
    assert len(done) == len(sent), "and, with the dedupe store, exactly once"


def test_testcontainers_path_selects_and_skips_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    from contracts.testing import plugin

    monkeypatch.delenv(plugin.BOOTSTRAP_ENV, raising=False)
    monkeypatch.setenv(plugin.TESTCONTAINERS_ENV, "1")
    assert plugin.backend() == "testcontainers"
    ok, why = plugin.docker_available()
    if not ok:
        assert why, "a reason is given when there is no engine"
    monkeypatch.setenv(plugin.BOOTSTRAP_ENV, "example:9092")
    assert plugin.backend() == "env"


def test_replay_dead_letters_back_to_the_original_topic(env: Env) -> None:
    from click.testing import CliRunner

    from contracts.cli import main

    dlq = env.catalog.topics[env.orders].dlq
    with EventProducer(env.bootstrap, env.serializer(), name="ops") as p:
        p.send_raw(dlq, b"payload-1", key=b"k1", headers=[("dlq-original-topic", env.orders.encode()), ("dlq-error-type", b"X"), ("event-id", b"e1")])
        p.send_raw(dlq, b"payload-2", key=b"k2", headers=[("dlq-original-topic", env.orders.encode()), ("event-id", b"e2")])
    result = CliRunner().invoke(main, ["replay", "--bootstrap-servers", env.bootstrap, "--topic", dlq, "--from-beginning", "--to-original"])
    assert result.exit_code == 0, result.output
    assert f"replayed 2 message(s) of {dlq} from the beginning: 2 to {env.orders}" in result.output
    back = _read_all(env.bootstrap, env.orders, 2)
    assert {m["value"] for m in back} == {b"payload-1", b"payload-2"}
    assert all(not any(k.startswith("dlq-") for k in m["headers"]) and "replayed-from" in m["headers"] for m in back)
    bad = CliRunner().invoke(main, ["replay", "--bootstrap-servers", env.bootstrap, "--topic", "no-such-topic", "--to-topic", "x"])
    assert bad.exit_code == 2
    down = CliRunner().invoke(main, ["replay", "--bootstrap-servers", "127.0.0.1:9", "--topic", dlq, "--to-original"])
    assert down.exit_code == 3, down.output
    assert len(down.output.strip().splitlines()) <= 2, "one clear line, not librdkafka's every failed connection"


def test_dev_up_and_down_leave_nothing_behind(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "contracts", "dev"]
    up = subprocess.run([*cli, "up", "--kafka-port", "0", "--registry-port", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
    state = json.loads((tmp_path / ".contracts-dev/state.json").read_text())
    again = subprocess.run([*cli, "up"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == up.stdout, "a second up prints the same eval-safe lines"
    assert all(line.startswith("export CONTRACTS_") for line in again.stdout.splitlines())
    import requests

    assert requests.get(exports["CONTRACTS_SCHEMA_REGISTRY_URL"] + "/subjects", timeout=5).json() == []
    create_topics(exports["CONTRACTS_KAFKA_BOOTSTRAP_SERVERS"], {"dev-check": 1})
    down = subprocess.run([*cli, "down"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0
    for pid in state["pids"].values():
        with pytest.raises(OSError):
            os.kill(pid, 0)


def test_dev_up_on_a_taken_port_is_exit_3_and_starts_nothing(tmp_path: Path) -> None:
    # Regression: a taken port exited 0 and printed an export pointing at somebody else's server.
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cli = [sys.executable, "-m", "contracts", "dev", "up", "--kafka-port", "0", "--registry-port", str(port)]
        done = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 3 and f"port {port}" in done.stderr and done.stdout == ""
        assert not (tmp_path / ".contracts-dev/state.json").exists()


def test_dev_up_after_a_partial_crash_leaves_no_orphan(tmp_path: Path) -> None:
    # Regression: a second `up` overwrote the broker's pid, so `down` left a broker running.
    cli = [sys.executable, "-m", "contracts", "dev"]
    assert subprocess.run([*cli, "up", "--kafka-port", "0", "--registry-port", "0"], cwd=tmp_path, timeout=60, capture_output=True).returncode == 0
    first = json.loads((tmp_path / ".contracts-dev/state.json").read_text())["pids"]
    os.kill(first["registry"], signal.SIGKILL)
    time.sleep(0.3)
    assert subprocess.run([*cli, "up", "--kafka-port", "0", "--registry-port", "0"], cwd=tmp_path, timeout=60, capture_output=True).returncode == 0
    second = json.loads((tmp_path / ".contracts-dev/state.json").read_text())["pids"]
    assert subprocess.run([*cli, "down"], cwd=tmp_path, timeout=60, capture_output=True).returncode == 0
    time.sleep(0.3)
    for pid in [*first.values(), *second.values()]:
        with pytest.raises(OSError):
            os.kill(pid, 0)


def test_dev_up_creates_the_catalogs_topics_and_consumers_join_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: `dev up` created no topics (they appeared with 4 partitions on first produce), and a
    # consumer with default settings took ~23 s to join (Tansu holds the first join for half the session timeout).
    from confluent_kafka.admin import AdminClient

    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    assert "partitions = 2" in (tmp_path / "schemas/catalog.toml").read_text().split("[topics.notifications]")[1]
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    cli = [sys.executable, "-m", "contracts", "dev"]
    up = subprocess.run([*cli, "up", "--kafka-port", "0", "--registry-port", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    try:
        assert up.returncode == 0, up.stderr
        exports = dict(line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines())
        bootstrap = exports["CONTRACTS_KAFKA_BOOTSTRAP_SERVERS"]
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        made = {name: len(t.partitions) for name, t in topics.items() if not name.startswith("_")}
        expected = {"orders": 4, "payments": 4, "notifications": 2, "orders.dlq": 1, "payments.dlq": 1, "notifications.dlq": 1}
        assert made.items() >= expected.items(), made
        assert exports["CONTRACTS_KAFKA_SESSION_TIMEOUT_MS"] == str(SESSION_TIMEOUT_MS)
        monkeypatch.setenv("CONTRACTS_KAFKA_SESSION_TIMEOUT_MS", exports["CONTRACTS_KAFKA_SESSION_TIMEOUT_MS"])
        client = registry_client(exports["CONTRACTS_SCHEMA_REGISTRY_URL"])
        consumer = EventConsumer(bootstrap, EventDeserializer(client), load_catalog(tmp_path / "schemas"), group_id="dev-join", name="dev-1")
        consumer.on(OrderCreated, lambda e: None)
        started = time.monotonic()
        thread = threading.Thread(target=consumer.run, kwargs={"handle_signals": False}, daemon=True)
        thread.start()
        while not consumer.assignment and time.monotonic() - started < 60:
            time.sleep(0.05)
        joined = time.monotonic() - started
        consumer.stop()
        thread.join(30)
        assert consumer.assignment or joined < 60
        assert joined < 15, f"joined after {joined:.1f} s: the dev session timeout did not apply"
    finally:
        subprocess.run([*cli, "down"], cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_run_leaves_an_ignored_sigint_alone_and_stops_on_sigterm(env: Env) -> None:
    # Regression (issue 16): run() installed its own SIGINT handler, so a consumer started as a shell's
    # background job (SIGINT ignored) stopped on Ctrl-C meant for the foreground; signals now go through shutdown.py.
    consumer = env.consumer(f"g-{uuid.uuid4().hex[:6]}", "sig")
    consumer.on(OrderCreated, lambda event: None)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        consumer.run(idle_timeout=3.0)
        assert time.monotonic() - started >= 2.9, "SIGINT, ignored by whoever started us, did not stop the consumer"
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        again = env.consumer(f"g-{uuid.uuid4().hex[:6]}", "sig2")
        again.on(OrderCreated, lambda event: None)
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
        started = time.monotonic()
        again.run(idle_timeout=30.0)
        assert time.monotonic() - started < 20, "SIGTERM stops it"
    finally:
        signal.signal(signal.SIGINT, previous)
