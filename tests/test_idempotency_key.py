"""The idempotency key: the catalog names the field that identifies one event; consumers skip a resent one."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.errors import SchemaError
from contracts.kafka import EventConsumer, EventProducer, MemoryDedupeStore
from contracts.registry.client import RegistryClient
from contracts.registry.sync import push
from contracts.serde import EventDeserializer, EventSerializer, registry_client
from contracts.testing import FAST_JOIN, create_topics
from tests.conftest import generate_into

FAST = FAST_JOIN


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory, gen_root: Path) -> Any:
    """The repository `contracts init` writes, generated into an importable package."""
    root = tmp_path_factory.mktemp("init")
    assert CliRunner().invoke(main, ["init", str(root), "--package", "billing_events", "--install", "event-contracts"]).exit_code == 0
    return generate_into(gen_root, root / "schemas", f"billing_{uuid.uuid4().hex[:6]}")


def _without_key(catalog_text: str) -> str:
    return re.sub(r"^idempotency_key = .*\n", "", catalog_text, flags=re.M)


def _invoice(cls: Any, money: Any, invoice_id: uuid.UUID) -> Any:
    return cls(invoice_id=invoice_id, customer_id="c1", total=money(amount=Decimal("9.99"), currency="EUR"), issued_at=datetime.now(UTC))


def test_catalog_key_validation(tmp_path: Path, scaffolded: Any) -> None:
    catalog = scaffolded.catalog
    assert catalog.idempotency_key("com.example.billing.InvoiceIssued") == "invoice_id"
    text = (catalog.root / "catalog.toml").read_text()
    schemas = tmp_path / "schemas"
    import shutil

    shutil.copytree(catalog.root, schemas)
    (schemas / "catalog.toml").write_text(text.replace('idempotency_key = "invoice_id"', 'idempotency_key = "invoice"'))
    with pytest.raises(SchemaError, match=r"has no field 'invoice'.*did you mean 'invoice_id'") as exc:
        load_catalog(schemas)
    assert exc.value.location.path == "topics.invoices.idempotency_key"
    (schemas / "catalog.toml").write_text(text.replace('idempotency_key = "invoice_id"', 'idempotency_key = "total"'))
    with pytest.raises(SchemaError, match="must be a string, int or long"):
        load_catalog(schemas)
    (schemas / "catalog.toml").write_text(_without_key(text))
    assert load_catalog(schemas).idempotency_key("com.example.billing.InvoiceIssued") is None, "no metadata.event_id: no key"


@pytest.mark.kafka
@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_event_sent_twice_is_handled_once(scaffolded: Any, kafka_bootstrap: str, schema_registry_url: str, concurrency: int, tmp_path: Path) -> None:
    # Regression: the dedupe store keyed on the event-id header, a fresh uuid4 per send for this event, so duplicates=0.
    import shutil

    schemas = tmp_path / "schemas"
    shutil.copytree(scaffolded.catalog.root, schemas)
    topic = f"invoices-{uuid.uuid4().hex[:6]}"
    (schemas / "catalog.toml").write_text((schemas / "catalog.toml").read_text().replace("[topics.invoices]", f"[topics.{topic}]"))
    catalog = load_catalog(schemas)
    push(RegistryClient(schema_registry_url), catalog)
    create_topics(kafka_bootstrap, {topic: 2, f"{topic}.dlq": 1})
    invoice_cls = scaffolded.cls("com.example.billing.InvoiceIssued")
    money = scaffolded.cls("com.example.common.Money")
    client = registry_client(schema_registry_url)
    same = _invoice(invoice_cls, money, uuid.uuid4())
    with EventProducer(kafka_bootstrap, EventSerializer(client, catalog), name="billing-service") as producer:
        producer.send(same, key=str(same.invoice_id))
        producer.send(same, key=str(same.invoice_id))
        producer.send(_invoice(invoice_cls, money, uuid.uuid4()))
    seen: list[str] = []
    consumer = EventConsumer(kafka_bootstrap, EventDeserializer(client), catalog, group_id=f"g-{topic}", name="ledger-1",
                             dedupe=MemoryDedupeStore(), concurrency=concurrency, **FAST)  # fmt: skip
    consumer.on(invoice_cls, lambda e: seen.append(str(e.invoice_id)))
    thread = threading.Thread(target=consumer.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and consumer.stats.handled + consumer.stats.duplicates < 3:
        time.sleep(0.05)
    consumer.stop()
    thread.join(30)
    assert sorted(seen) == sorted({str(same.invoice_id), *seen}), seen
    assert seen.count(str(same.invoice_id)) == 1 and len(seen) == 2
    assert consumer.stats.duplicates == 1


def test_sending_without_a_stable_key_warns_once(scaffolded: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    from contracts.registry.server import EmbeddedRegistry

    schemas = tmp_path / "schemas"
    shutil.copytree(scaffolded.catalog.root, schemas)
    (schemas / "catalog.toml").write_text(_without_key((schemas / "catalog.toml").read_text()))
    catalog = load_catalog(schemas)
    invoice_cls, money = scaffolded.cls("com.example.billing.InvoiceIssued"), scaffolded.cls("com.example.common.Money")
    with EmbeddedRegistry() as registry:
        producer = EventProducer("127.0.0.1:9", EventSerializer(registry_client(registry.url), catalog, auto_register=True), name="p")
        caplog.set_level(logging.WARNING, logger="contracts.kafka.producer")
        ids = {dict(producer.prepare(_invoice(invoice_cls, money, uuid.uuid4()))[2])["event-id"] for _ in range(3)}
    warnings = [r for r in caplog.records if "no idempotency key" in r.getMessage()]
    assert len(warnings) == 1 and "com.example.billing.InvoiceIssued" in warnings[0].getMessage()
    assert len(ids) == 3, "each send a fresh id"
