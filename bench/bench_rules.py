"""Data-contract rules on the serde path, against the same path without rules, in the same run.

Event: the serde bench's OrderCreated. Goals (issue: data contracts): serialize and deserialize
with one CEL condition at most 1.5x the same path without rules, and faster than
confluent-kafka's own AvroSerializer/AvroDeserializer executing the same rule with its CEL
executor. A JSONata migration on read is reported per message next to the plain read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bench.bench_serde import _best, _event

# One condition both clients can run (confluent-kafka's CEL executor cannot compare a decimal).
CONDITION = {"name": "quantities_positive", "kind": "CONDITION", "mode": "WRITEREAD", "type": "CEL", "expr": "message.lines.all(l, l.quantity > 0)"}
SUBJECT = "orders-com.acme.orders.OrderCreated"


def _registry(rules: list[dict[str, Any]]) -> Any:
    from contracts.catalog import load_catalog
    from contracts.events.com.acme.orders import OrderCreated
    from contracts.registry.client import RegistryClient
    from contracts.registry.server.app import RegistryApp
    from contracts.registry.server.inprocess import AppTransport
    from contracts.registry.server.store import Store
    from contracts.registry.sync import push
    from contracts.testing.examples import example_schemas

    catalog = load_catalog(example_schemas())
    catalog.contracts.clear()
    client = RegistryClient("app://bench", transport=AppTransport(RegistryApp(Store())))
    push(client, catalog)
    client.register(SUBJECT, json.dumps(OrderCreated.__avro_schema__), contract={"metadata": {}, "ruleSet": {"domainRules": rules}})
    return client, catalog


def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
    from confluent_kafka.serialization import MessageField, SerializationContext

    from contracts.events.com.acme.orders import OrderCreated
    from contracts.registry.server import EmbeddedRegistry
    from contracts.serde import EventDeserializer, EventSerializer

    CelExecutor.register()
    event = _event()
    plain_client, catalog = _registry([])
    ruled_client, _ = _registry([CONDITION])
    plain_ser = EventSerializer(plain_client, catalog, version="latest")
    ruled_ser = EventSerializer(ruled_client, catalog, version="latest")
    plain_bytes, ruled_bytes = plain_ser(event), ruled_ser(event)
    plain_de, ruled_de = EventDeserializer(plain_client, [OrderCreated]), EventDeserializer(ruled_client, [OrderCreated])
    assert ruled_de(ruled_bytes) == event
    enc_plain, enc_ruled = _best(lambda: plain_ser(event), lambda: ruled_ser(event))
    dec_plain, dec_ruled = _best(lambda: plain_de(plain_bytes), lambda: ruled_de(ruled_bytes))
    print(f"serialize with one CEL condition: {enc_ruled * 1e6:.1f} us, without rules {enc_plain * 1e6:.1f} us -> {enc_ruled / enc_plain:.2f}x (goal <= 1.5x)")
    print(f"deserialize with one CEL condition: {dec_ruled * 1e6:.1f} us, without rules {dec_plain * 1e6:.1f} us -> {dec_ruled / dec_plain:.2f}x (goal <= 1.5x)")

    with EmbeddedRegistry() as reg:
        from contracts.registry.client import RegistryClient
        from contracts.registry.sync import push

        client = RegistryClient(reg.url)
        push(client, catalog)
        client.register(SUBJECT, json.dumps(OrderCreated.__avro_schema__), contract={"metadata": {}, "ruleSet": {"domainRules": [CONDITION]}})
        from confluent_kafka.schema_registry import SchemaRegistryClient

        theirs_client = SchemaRegistryClient({"url": reg.url})
        conf = {"auto.register.schemas": False, "use.latest.version": True, "subject.name.strategy.type": "TOPIC_RECORD"}
        their_ser = AvroSerializer(theirs_client, json.dumps(OrderCreated.__avro_schema__), lambda e, ctx: e.model_dump(), conf=conf)
        their_de = AvroDeserializer(theirs_client, conf={"subject.name.strategy.type": "TOPIC_RECORD"})
        ours_ser = EventSerializer(client, catalog, version="latest")
        ours_de = EventDeserializer(client, [OrderCreated])
        ctx = SerializationContext("orders", MessageField.VALUE)
        data = ours_ser(event)
        their_de(data, ctx)
        ours_enc, their_enc = _best(lambda: ours_ser(event), lambda: their_ser(event, ctx), rounds=3)
        ours_dec, their_dec = _best(lambda: ours_de(data), lambda: OrderCreated.model_validate(their_de(data, ctx)), rounds=3)
    print(f"with the same rule, confluent-kafka's serializer: {their_enc * 1e6:.1f} us, ours {ours_enc * 1e6:.1f} us -> ours {their_enc / ours_enc:.1f}x faster (goal: faster)")
    print(f"with the same rule, confluent-kafka's deserializer (+ model_validate): {their_dec * 1e6:.1f} us, ours {ours_dec * 1e6:.1f} us -> ours {their_dec / ours_dec:.1f}x faster (goal: faster)")
    _migration()


def _migration() -> None:
    """A v1 reader of a v2 (major version 2) event, through one JSONata DOWNGRADE rule, against reading a v1 event."""
    from contracts import schema as s
    from contracts import wire
    from contracts.codec import codec_for
    from contracts.demo_contracts import MIGRATIONS
    from contracts.events.com.acme.notifications import EmailRequested, EmailTemplate
    from contracts.registry.client import RegistryClient
    from contracts.registry.server.app import RegistryApp
    from contracts.registry.server.inprocess import AppTransport
    from contracts.registry.server.store import Store
    from contracts.serde import EventDeserializer
    from contracts.testing.examples import meta

    client = RegistryClient("app://bench", transport=AppTransport(RegistryApp(Store())))
    v1 = s.to_json(codec_for(EmailRequested).record)
    v2 = {**v1, "fields": [({**f, "name": "recipient"} if f["name"] == "to" else f) for f in v1["fields"]]}
    client.request("PUT", "/config/n-value", {"compatibilityGroup": "major_version"})
    v1_id = client.register("n-value", s.compact(v1), contract={"metadata": {"properties": {"major_version": "1"}}})
    v2_id = client.register("n-value", s.compact(v2), contract={"metadata": {"properties": {"major_version": "2"}}, "ruleSet": {"migrationRules": MIGRATIONS}})
    event = EmailRequested(metadata=meta("notifications-service", None), to="a@example.com", template=EmailTemplate.GENERIC, variables={"name": "Ada"})
    body = event.to_avro_bytes()  # v1 and v2 write the same bytes: only a field's name differs
    reader = EventDeserializer(client, [EmailRequested])
    plain, migrated = wire.frame(v1_id) + body, wire.frame(v2_id) + body
    assert reader(migrated) == event
    read_plain, read_migrated = _best(lambda: reader(plain), lambda: reader(migrated))
    print(f"read through a JSONata migration: {read_migrated * 1e6:.0f} us per message, plain read {read_plain * 1e6:.1f} us -> {read_migrated / read_plain:.0f}x (reported, no goal)")


if __name__ == "__main__":
    main()
