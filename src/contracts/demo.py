"""``make demo``: the order pipeline, for real, on the embedded broker and registry.

orders-service produces OrderCreated events; a payments-service consumer group of
two members shares the orders partitions and emits PaymentProcessed or
PaymentFailed; notifications-service turns orders and payments into
EmailRequested. One poison message goes to the dead-letter topic and one
duplicate event is skipped by the idempotent consumer. Prints a summary, exits 0,
and leaves no process behind.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from contracts import wire
from contracts.catalog import load_catalog
from contracts.demo_contracts import metrics_endpoint, metrics_summary, migrated_email, refused_order, rules_installed
from contracts.events.com.acme.notifications import EmailRequested, EmailTemplate
from contracts.events.com.acme.orders import OrderCreated
from contracts.events.com.acme.payments import PaymentFailed, PaymentMethod, PaymentProcessed
from contracts.kafka import EventConsumer, EventProducer, MemoryDedupeStore, SQLiteDedupeStore
from contracts.registry.client import RegistryClient
from contracts.registry.server import EmbeddedRegistry
from contracts.registry.sync import push
from contracts.serde import EventDeserializer, EventSerializer
from contracts.shutdown import Stopped, stop_on_signals
from contracts.shutdown import check as check_stopped
from contracts.testing import FAST_JOIN, create_topics, make_broker
from contracts.testing.examples import example_compatibility, example_schemas, meta, order

ORDERS = 12


def run(schemas: Path | None = None, orders: int = ORDERS, out: object = print, broker_kind: str | None = None) -> dict[str, object]:
    say = out if callable(out) else print
    catalog = load_catalog(schemas or example_schemas())
    rules = rules_installed()
    if not rules:  # the catalog's rules need the engines to run: the demo goes on without them
        catalog.contracts.clear()
        say("data contracts: not run (pip install 'event-contracts[rules]' for the CEL and JSONata engines)")
    with tempfile.TemporaryDirectory() as tmp, make_broker(broker_kind) as broker, EmbeddedRegistry(Path(tmp) / "registry.sqlite") as registry:
        bootstrap = broker.bootstrap_servers
        say(f"broker {bootstrap} ({broker.name}), schema registry {registry.url} (embedded)")
        metrics = metrics_endpoint()
        if metrics is not None:
            say(f"metrics of every consumer and producer: http://127.0.0.1:{metrics.port}/metrics (and /healthz, /readyz)")
        client = RegistryClient(registry.url)  # one client: the sync and the serializers share it
        pushed = push(client, catalog)
        say(f"registered {sum(c.action != 'set compatibility' for c in pushed)} subject version(s) from schemas/")
        topics = {t.name: t.partitions for t in catalog.topics.values()} | {t.dlq: 1 for t in catalog.topics.values()}
        create_topics(bootstrap, topics)

        serializer = EventSerializer(client, catalog)
        consumer_conf = FAST_JOIN
        payments_out = EventProducer(bootstrap, serializer, name="payments-service")
        notify_out = EventProducer(bootstrap, serializer, name="notifications-service")
        handled: Counter[str] = Counter()
        lock = threading.Lock()

        dedupe = SQLiteDedupeStore(Path(tmp) / "payments-dedupe.sqlite")  # shared by both members

        def make_payments(member: str) -> EventConsumer:
            # Key-ordered concurrency: orders of one customer in order, different orders at once.
            consumer = EventConsumer(
                bootstrap, EventDeserializer(client), catalog, group_id="payments-service", name=member, dedupe=dedupe,
                concurrency=8, ordering="key", **consumer_conf,
            )  # fmt: skip

            @consumer.handler(OrderCreated)
            def charge(event: OrderCreated) -> None:
                time.sleep(0.05)  # the payment provider's answer: simulated I/O
                m = meta("payments-service", event.order_id)
                payment: PaymentFailed | PaymentProcessed
                if event.total.amount > Decimal("40"):
                    payment = PaymentFailed(
                        metadata=m, payment_id=uuid.uuid4(), order_id=event.order_id, amount=event.total, reason="card declined", retryable=True
                    )
                else:
                    payment = PaymentProcessed(
                        metadata=m, payment_id=uuid.uuid4(), order_id=event.order_id, amount=event.total,
                        method=PaymentMethod.CARD, processed_at=datetime.now(UTC),
                    )  # fmt: skip
                payments_out.send(payment, key=str(event.order_id))
                with lock:
                    handled[member] += 1

            return consumer

        notifications = EventConsumer(
            bootstrap, EventDeserializer(client), catalog, group_id="notifications-service", name="notifications-1",
            dedupe=MemoryDedupeStore(), **consumer_conf,
        )  # fmt: skip
        emails: Counter[str] = Counter()

        def email(to: str, template: EmailTemplate, order_id: uuid.UUID) -> None:
            notify_out.send(EmailRequested(metadata=meta("notifications-service", order_id), to=to, template=template, order_id=order_id), key=str(order_id))
            with lock:
                emails[template.value] += 1

        customers: dict[uuid.UUID, str] = {}

        @notifications.handler(OrderCreated)
        def confirm(event: OrderCreated) -> None:
            customers[event.order_id] = event.customer.email
            email(event.customer.email, EmailTemplate.ORDER_CONFIRMATION, event.order_id)

        @notifications.handler(PaymentProcessed)
        def receipt(event: PaymentProcessed) -> None:
            email(customers.get(event.order_id, "unknown@example.com"), EmailTemplate.PAYMENT_RECEIPT, event.order_id)

        @notifications.handler(PaymentFailed)
        def failed(event: PaymentFailed) -> None:
            email(customers.get(event.order_id, "unknown@example.com"), EmailTemplate.PAYMENT_FAILED, event.order_id)

        members = [make_payments("payments-1"), make_payments("payments-2")]
        consumers = [*members, notifications]
        # Daemon threads, stopped in ``finally``: a Ctrl-C or SIGTERM anywhere below must not leave
        # the interpreter waiting on consumer threads (and their librdkafka threads) at exit.
        threads = [threading.Thread(target=c.run, kwargs={"handle_signals": False}, name=c.name, daemon=True) for c in consumers]
        try:
            for t in threads:
                t.start()
            _wait(lambda: all(c.assignment for c in members), 60)
            say("payments-service group: " + "; ".join(f"{c.name} has {', '.join(f'{t}[{p}]' for t, p in c.assignment)}" for c in members))

            with EventProducer(bootstrap, serializer, name="orders-service") as orders_out:
                sent = [order(i) for i in range(orders)]
                for event in sent:
                    orders_out.send(event, key=str(event.order_id))
                orders_out.send(sent[0], key=str(sent[0].order_id))  # a redelivery: same event id
                orders_out.send_raw("orders", wire.frame(99) + b"not avro", key=b"poison")  # unknown schema id 99
            say(f"orders-service sent {orders} OrderCreated, 1 duplicate and 1 poison message")

            expected_payments = orders
            _wait(lambda: sum(handled.values()) >= expected_payments and sum(emails.values()) >= 2 * orders, 90)
            _wait(lambda: all(c.stats.dead_lettered >= 1 for c in [notifications]) and sum(c.stats.dead_lettered for c in members) >= 1, 30)
            _wait(lambda: sum(c.stats.duplicates for c in members) >= 1, 30)
            payments_out.flush()
            notify_out.flush()
        finally:
            _stop_all(consumers, threads, deadline=2.0)
            dedupe.close()

        contract_scenes: dict[str, Any] = {}
        if rules:
            contract_scenes["refused"] = refused_order(bootstrap, serializer, catalog)
            version, read = migrated_email(bootstrap, client, serializer, catalog)
            contract_scenes["migrated"] = {"version": version, "to": read.to if read is not None else None}
        summary = {
            "orders": orders,
            "payments_by_member": {c.name: c.stats.handled for c in members},
            "partitions_by_member": {c.name: sorted({p for _, p in c.stats.by_partition}) for c in members},
            "payments": {"processed": sum(1 for e in sent if e.total.amount <= Decimal("40")), "failed": sum(1 for e in sent if e.total.amount > Decimal("40"))},
            "emails": dict(emails),
            "dead_letters": {c.group_id: c.stats.dead_lettered for c in (members[0], notifications)} | {"payments-service": sum(c.stats.dead_lettered for c in members)},
            "duplicates_skipped": sum(c.stats.duplicates for c in members) + notifications.stats.duplicates,
            "max_concurrent": {c.name: c.stats.max_concurrent for c in members},
            "data_contracts": contract_scenes,
        }
        _tell(say, consumers, summary)
        if metrics is not None:
            say("")
            say(f"  from /metrics {metrics_summary(metrics.port)}")
            metrics.stop()
        _gate_story(say, schemas or example_schemas())
        return summary


def _tell(say: Any, consumers: list[EventConsumer], summary: dict[str, Any]) -> None:
    """The summary as a small aligned table, then what happened to the poison message and the duplicate."""
    say("")
    say(f"  {'consumer':<17}{'group':<24}{'partitions':<34}{'events':>7}{'at once':>9}")
    for c in consumers:
        by_topic: dict[str, list[str]] = {}
        for t, p in sorted(c.stats.by_partition):
            by_topic.setdefault(t, []).append(str(p))
        parts = ", ".join(f"{t} {','.join(ps)}" for t, ps in by_topic.items())
        say(f"  {c.name:<17}{c.group_id:<24}{parts:<34}{c.stats.handled:>7}{max(1, c.stats.max_concurrent):>9}")
    payments = summary["payments"]
    emails = sum(summary["emails"].values())
    say("")
    say(f"  produced      {summary['orders']} OrderCreated to orders; {payments['processed']} PaymentProcessed and "
        f"{payments['failed']} PaymentFailed to payments; {emails} EmailRequested to notifications")  # fmt: skip
    say(f"  dead letters  {summary['dead_letters']['payments-service'] + summary['dead_letters']['notifications-service']} in orders.dlq: "
        "the poison message (unknown schema id 99) could not be read, once per consumer group")  # fmt: skip
    say(f"  duplicates    {summary['duplicates_skipped']} skipped: the redelivered OrderCreated carried an event id already handled")
    scenes = summary["data_contracts"]
    if scenes:
        refused, migrated = scenes["refused"], scenes["migrated"]
        say(f"  rules         an order with a negative total was refused by rule {refused.get('dlq-rule-name', '?')} "
            f"({refused.get('dlq-rule-subject', '?')}) and went to orders.dlq, not to orders")  # fmt: skip
        say(f"  migration     email-gateway, built on EmailRequested v1, read an event written with v{migrated['version']} "
            f"(major version 2: `to` renamed `recipient`) through rule recipient_to_to: to = {migrated['to']}")  # fmt: skip
    say("  at once       the most events a consumer had in its handlers at the same moment: payments ran key-ordered")
    say("                with concurrency 8 (each payment waits 50 ms on the provider), notifications one at a time")


def _gate_story(say: Any, schemas: Path) -> None:
    """In a temporary copy: one breaking change, and the gate refusing it as a user sees it."""
    from contracts.compat import load_history, run_gate
    from contracts.findings import render

    history_root = example_compatibility(schemas)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "schemas"
        shutil.copytree(schemas, copy)
        order_file = copy / "com" / "acme" / "orders" / "OrderCreated.avsc"
        data = json.loads(order_file.read_text())
        data["fields"] = [f for f in data["fields"] if f["name"] != "total"]
        order_file.write_text(json.dumps(data, indent=2))
        result = run_gate(load_catalog(copy), load_history(history_root), jobs=1, compile_rules=rules_installed())
    say("")
    say("the gate, on a breaking change (a temporary copy of schemas/ where OrderCreated loses its required field `total`):")
    for line in render(result.findings, "text", tool="compat", checked=result.checked).splitlines():
        say(f"  {line}")
    say(f"  -> exit {1 if result.blocking else 0}: CI stops the change before any producer ships it")
    say("")
    say("next steps")
    say("  contracts compat check                 the gate on your own schemas/")
    say("  contracts docs build -o site           the event catalog, with the topology picture")
    say("  contracts asyncapi -o asyncapi.yaml    an AsyncAPI 3.0 document")
    say("  contracts init DIR --package NAME      start in your own repository")


def _stop_all(consumers: list[EventConsumer], threads: list[threading.Thread], deadline: float) -> None:
    """Stop every consumer and wait for its thread, all within ``deadline`` seconds."""
    for c in consumers:
        c.stop()
    until = time.monotonic() + deadline
    for t in threads:
        t.join(max(0.0, until - time.monotonic()))


def _wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_stopped()  # a stop signal whose exception a librdkafka callback swallowed
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(f"the pipeline did not settle within {timeout}s")


def main(broker_kind: str | None = None) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    for name in ("contracts.kafka", "contracts.registry"):  # the summary tells the story; -v on the CLI does not apply here
        logging.getLogger(name).setLevel(logging.CRITICAL)
    started = time.monotonic()
    try:
        with stop_on_signals():
            summary = run(broker_kind=broker_kind)
    except Stopped as stop:  # everything it started was stopped on the way out
        print(f"demo {stop}; broker and registry stopped", file=sys.stderr)
        return stop.exit_code
    scenes: Any = summary["data_contracts"]
    ok = (
        sum(summary["payments_by_member"].values()) == ORDERS  # type: ignore[attr-defined]
        and summary["duplicates_skipped"] >= 1  # type: ignore[operator]
        and summary["dead_letters"]["payments-service"] >= 1  # type: ignore[index]
        and (not scenes or (scenes["refused"].get("dlq-rule-name") == "total_not_negative" and scenes["migrated"]["to"] is not None))
    )
    print(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
