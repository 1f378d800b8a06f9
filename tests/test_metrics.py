"""Prometheus metrics and health endpoints, scraped over HTTP while a consumer runs on a real broker."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.errors import BadInputError
from contracts.events.com.acme.orders import OrderCreated
from contracts.kafka import EventProducer, RetryPolicy
from contracts.observe import MissingMetricsExtra, serve_metrics
from contracts.testing.examples import order
from contracts.testing.pipeline import Pipeline, example_catalog
from tests.test_kafka import _run_until, _stop


@pytest.fixture
def env(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str) -> Pipeline:
    return Pipeline(kafka_bootstrap, schema_registry_url, example_catalog(tmp_path, uuid.uuid4().hex[:8]))


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = _get(url + "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_scrape_tells_what_happened(env: Pipeline) -> None:
    group = f"metrics-{uuid.uuid4().hex[:6]}"
    events = [order(i) for i in range(6)]
    bad = events[3].order_id
    with EventProducer(env.bootstrap, env.serializer(), name="orders-service") as producer:
        for e in events:
            producer.send(e, key=str(e.order_id))
        producer.send_raw(env.orders, b"\x00\x00\x00\x00\x63avro", key=b"poison")  # schema id 99: not in the registry

    def handle(e: OrderCreated) -> None:
        if e.order_id == bad:
            raise RuntimeError("declined")

    from contracts.registry.client import RegistryClient

    ours = RegistryClient(env.registry)
    assert ours.subjects()  # one call, counted
    consumer = env.consumer(group, "payments-1", metrics_port=0, retry=RetryPolicy(attempts=2, initial_backoff=0.01))
    consumer.on(OrderCreated, handle)
    thread = _run_until(consumer, lambda: consumer.stats.handled == 5 and consumer.stats.dead_lettered == 2 and not any(consumer.lag().values()))
    try:
        url = f"http://127.0.0.1:{consumer.metrics_server.port}"
        assert _get(url + "/healthz") == (200, "ok\n")
        assert _get(url + "/readyz")[0] == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _samples(url).get(("contracts_consumer_lag", (("group", group), ("partition", "0"), ("topic", env.orders)))) != 0:
            time.sleep(0.2)
        got = _samples(url)
        assert got[("contracts_consumer_events_handled_total", (("event_type", "OrderCreated"), ("group", group)))] == 5
        dead = ("contracts_consumer_events_dead_lettered_total", (("event_type", "OrderCreated"), ("group", group)))
        assert got[dead] == 1 and got[(dead[0], (("event_type", "(unreadable)"), ("group", group)))] == 1  # the failing event, the poison
        assert got[("contracts_consumer_decode_errors_total", (("group", group), ("kind", "schema_not_found")))] == 1
        assert got[("contracts_consumer_handler_failures_total", (("event_type", "OrderCreated"), ("group", group)))] == 2  # both attempts
        assert got[("contracts_consumer_paused_partitions", (("group", group),))] == 0
        assert got[("contracts_consumer_commit_duration_seconds_count", (("group", group),))] >= 1
        assert got[("contracts_consumer_handler_duration_seconds_count", (("group", group),))] >= 5  # every handled event was timed
        assert got[("contracts_consumer_assigned_partitions", (("group", group),))] == 2
        lags = {k: v for k, v in got.items() if k[0] == "contracts_consumer_lag" and ("group", group) in k[1]}
        assert lags and all(v == 0 for v in lags.values()), lags
        assert got[("contracts_producer_events_sent_total", (("producer", "orders-service"), ("topic", env.orders)))] >= 6
        assert got[("contracts_producer_delivery_duration_seconds_count", (("producer", "orders-service"),))] >= 7  # every send acknowledged
        assert got[("contracts_registry_client_requests_total", (("area", "/subjects"), ("method", "GET"), ("registry", env.registry), ("status", "200")))] == 1
        assert not [k for k in got if any(v == str(bad) or v == str(events[0].order_id) for _, v in k[1])], "no ids as labels"
    finally:
        _stop((consumer, thread))
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/healthz", timeout=2)  # stopped with the consumer


def test_readyz_says_why_not_until_partitions_are_assigned() -> None:
    reasons: list[str | None] = ["no partitions assigned", None]
    server = serve_metrics(0, host="127.0.0.1", ready=lambda: reasons[0])
    try:
        url = f"http://127.0.0.1:{server.port}"
        assert _get(url + "/readyz") == (503, "not ready: no partitions assigned\n")
        reasons.pop(0)
        assert _get(url + "/readyz") == (200, "ready\n")
        assert _get(url + "/nope")[0] == 404
    finally:
        server.stop()


def test_a_missing_extra_or_a_bad_port_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingMetricsExtra, match=r"pip install 'event-contracts\[metrics\]'"):
        serve_metrics(0)
    monkeypatch.delitem(sys.modules, "prometheus_client")
    monkeypatch.setenv("CONTRACTS_METRICS_PORT", "http")
    with pytest.raises(BadInputError, match="CONTRACTS_METRICS_PORT='http' is not a port number"):
        serve_metrics()




def test_the_registry_serves_its_metrics_on_their_own_port(tmp_path: Path) -> None:
    import signal
    import subprocess

    from contracts.testing import free_port

    port, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", str(port), "--data", str(tmp_path / "r.sqlite"), "--metrics-port", str(metrics)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{metrics}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        body = b'{"schema": "{\\"type\\": \\"record\\", \\"name\\": \\"A\\", \\"fields\\": []}"}'
        request = urllib.request.Request(base + "/subjects/a-value/versions", data=body, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).read()
        for _ in range(3):
            _get(base + "/subjects/a-value/versions/latest")
        _get(base + "/subjects/nope/versions/1")
        got = _samples(f"http://127.0.0.1:{metrics}")
        route = "/subjects/{subject}/versions/{version}"
        assert got[("contracts_registry_requests_total", (("method", "GET"), ("route", route), ("status", "200")))] == 3
        assert got[("contracts_registry_requests_total", (("method", "GET"), ("route", route), ("status", "404")))] == 1
        assert got[("contracts_registry_request_duration_seconds_count", (("route", route),))] == 4
        assert got[("contracts_registry_schemas", ())] == 1
        assert not [k for k in got if any("a-value" in v or "nope" in v for _, v in k[1])], "routes, never paths, as labels"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


@pytest.mark.kafka
def test_dev_up_prints_where_the_registrys_metrics_are(tmp_path: Path) -> None:
    import subprocess

    cli = [sys.executable, "-m", "contracts", "dev"]
    up = subprocess.run([*cli, "up", "--kafka-port", "0", "--registry-port", "0", "--metrics-port", "0"], cwd=tmp_path, capture_output=True, text=True, timeout=90)
    try:
        assert up.returncode == 0, up.stderr
        comment = next(line for line in up.stdout.splitlines() if line.startswith("# the registry's metrics: "))
        url = comment.split(": ", 1)[1]
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status, text = _get(url)
            except OSError:
                time.sleep(0.2)
        assert status == 200 and "contracts_registry_schemas" in text
    finally:
        subprocess.run([*cli, "down"], cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_without_the_extras_nothing_of_them_is_imported(tmp_path: Path) -> None:
    # Producers, consumers and serializers made and used, with prometheus_client and opentelemetry unavailable.
    import subprocess

    script = """
import sys
sys.modules["prometheus_client"] = None  # as if not installed
sys.modules["opentelemetry"] = None
from contracts.catalog import load_catalog
from contracts.kafka import EventConsumer, EventProducer
from contracts.serde import EventDeserializer, EventSerializer
from contracts.registry.client import RegistryClient
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.inprocess import AppTransport
from contracts.registry.server.store import Store
from contracts.testing.examples import example_schemas
catalog = load_catalog(example_schemas())
client = RegistryClient("app://x", transport=AppTransport(RegistryApp(Store())))
EventProducer("127.0.0.1:9", EventSerializer(client, catalog), name="p")
EventConsumer("127.0.0.1:9", EventDeserializer(client), catalog, group_id="g", name="c")
assert all(sys.modules.get(m) is None for m in ("prometheus_client", "opentelemetry")), "imported"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
