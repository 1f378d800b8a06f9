"""The demo's scenes beyond the pipeline: a rule refuses an order, a consumer on v1 reads a v2 event through
a migration, and what the metrics endpoint says about the run.

They run against the demo's broker and registry and return what they saw, for the summary.
"""

from __future__ import annotations

import io
import threading
import time
from decimal import Decimal
from importlib.util import find_spec
from typing import Any

import fastavro
from confluent_kafka import Consumer

from contracts import schema as s
from contracts import wire
from contracts.catalog import Catalog
from contracts.codec import codec_for
from contracts.datacontract.migrate import plain_schema
from contracts.events.com.acme.common import Money
from contracts.events.com.acme.notifications import EmailRequested, EmailTemplate
from contracts.kafka import EventConsumer, EventProducer
from contracts.registry.client import RegistryClient
from contracts.serde import EventDeserializer, EventSerializer
from contracts.testing import FAST_JOIN
from contracts.testing.examples import meta, order

NOTIFICATIONS = "notifications-value"
RECIPIENT = "reader-on-v1@example.com"
# v2 of EmailRequested renames `to` to `recipient`: no alias, so a new major version, with migrations both ways.
MIGRATIONS = [
    {"name": "recipient_to_to", "kind": "TRANSFORM", "mode": "DOWNGRADE", "type": "JSONATA",
     "expr": "$merge([$sift($, function($v, $k) {$k != 'recipient'}), {'to': $.recipient}])"},
    {"name": "to_to_recipient", "kind": "TRANSFORM", "mode": "UPGRADE", "type": "JSONATA",
     "expr": "$merge([$sift($, function($v, $k) {$k != 'to'}), {'recipient': $.to}])"},
]  # fmt: skip


def rules_installed() -> bool:
    """Whether the ``rules`` extra (the CEL and JSONata engines) is installed."""
    return find_spec("cel") is not None and find_spec("jsonata") is not None


def refused_order(bootstrap: str, serializer: EventSerializer, catalog: Catalog) -> dict[str, str]:
    """An order with a negative total: the WRITE rule refuses it, the producer dead-letters it; the dead letter's rule headers."""
    bad = order(999).model_copy(update={"total": Money(amount=Decimal("-5.00"), currency="EUR")})
    with EventProducer(bootstrap, serializer, name="orders-service") as producer:
        producer.send(bad, key=str(bad.order_id))
    dlq = catalog.topics["orders"].dlq
    found = _first(bootstrap, dlq, lambda m: _header(m, "dlq-rule-name") is not None)
    return {} if found is None else {k: v for k in ("dlq-rule-name", "dlq-rule-subject") if (v := _header(found, k)) is not None}


def migrated_email(bootstrap: str, client: RegistryClient, serializer: EventSerializer, catalog: Catalog) -> tuple[int, EmailRequested | None]:
    """Register v2 of EmailRequested as major version 2, write one v2 event, read it with the v1 class: (v2's version, what was read)."""
    v2 = s.to_json(codec_for(EmailRequested).record)  # self-contained
    v2["fields"] = [({**f, "name": "recipient"} if f["name"] == "to" else f) for f in v2["fields"]]
    client.request("PUT", f"/config/{NOTIFICATIONS}", {"compatibilityGroup": "major_version"})
    contract = {"metadata": {"properties": {"major_version": "2"}}, "ruleSet": {"migrationRules": MIGRATIONS}}
    v2_id = client.register(NOTIFICATIONS, s.compact(v2), contract=contract)
    event = EmailRequested(metadata=meta("notifications-service", None), to=RECIPIENT, template=EmailTemplate.GENERIC)
    raw = codec_for(EmailRequested).compiled_encoder()(event)
    raw["recipient"] = raw.pop("to")
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(plain_schema(v2)), raw)
    with EventProducer(bootstrap, serializer, name="notifications-service-v2") as producer:
        producer.send_raw("notifications", wire.frame(v2_id) + body.getvalue(), key=b"v2")
    seen: list[EmailRequested] = []
    gateway = EventConsumer(
        bootstrap, EventDeserializer(client, [EmailRequested]), catalog, group_id="email-gateway", name="email-gateway", **FAST_JOIN
    )  # built on v1: its generated class has `to`
    gateway.on(EmailRequested, lambda e: seen.append(e) if e.to == RECIPIENT else None)
    thread = threading.Thread(target=gateway.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not seen and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.1)
    gateway.stop()
    thread.join(5)
    return client.versions(NOTIFICATIONS)[-1], (seen[0] if seen else None)


def _header(msg: Any, name: str) -> str | None:
    for key, value in msg.headers() or []:
        if key == name and value is not None:
            return bytes(value).decode()
    return None


def _first(bootstrap: str, topic: str, want: Any, timeout: float = 20.0) -> Any:
    """The first message of ``topic`` that ``want`` accepts (``None`` after ``timeout``)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-reader-{time.monotonic_ns()}", "auto.offset.reset": "earliest", **FAST_JOIN})
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and want(msg):
                return msg
    finally:
        consumer.close()
    return None


def metrics_endpoint() -> Any:
    """``/metrics`` of the demo's consumers and producers on a free local port, where the metrics extra is installed."""
    if find_spec("prometheus_client") is None:
        return None
    from contracts.observe.metrics import serve_metrics

    return serve_metrics(0, host="127.0.0.1")


def metrics_summary(port: int) -> str:
    """One line drawn from a scrape of ``/metrics``: what was handled, dead-lettered, and the lag left."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    handled: dict[str, float] = {}
    dead = lag = sent = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "contracts_consumer_events_handled_total":
                handled[sample.labels["event_type"]] = handled.get(sample.labels["event_type"], 0) + sample.value
            elif sample.name == "contracts_consumer_events_dead_lettered_total":
                dead += sample.value
            elif sample.name == "contracts_consumer_lag":
                lag += sample.value
            elif sample.name == "contracts_producer_events_sent_total":
                sent += sample.value
    kinds = ", ".join(f"{int(n)} {name}" for name, n in sorted(handled.items()))
    return f"sent {int(sent)}; handled {kinds}; dead-lettered {int(dead)}; lag {int(lag)} across every partition"
