"""Migrations across a breaking change: a consumer on v1 reads v2 data through the DOWNGRADE rule, one on v2
reads v1 data through the UPGRADE rule, as v1 and v2 objects of their generated classes; confluent-kafka's
deserializer with its JSONata executor migrates alike."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.rules.jsonata.jsonata_executor import JsonataExecutor
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import wire
from contracts.registry.client import RegistryClient
from contracts.registry.server import EmbeddedRegistry
from contracts.serde import EventDeserializationError, EventDeserializer
from tests.conftest import Generated, generate_into

JsonataExecutor.register()

SUBJECT = "items-value"
V1 = {"type": "record", "name": "Item", "namespace": "com.acme.shop", "fields": [
    {"name": "id", "type": "string"}, {"name": "note", "type": "string"}, {"name": "price", "type": "double"}]}
V2 = {"type": "record", "name": "Item", "namespace": "com.acme.shop", "fields": [
    {"name": "id", "type": "string"}, {"name": "remark", "type": "string"}, {"name": "price", "type": "double"}]}
UP = {"name": "note_to_remark", "kind": "TRANSFORM", "mode": "UPGRADE", "type": "JSONATA",
      "expr": "$merge([$sift($, function($v, $k) {$k != 'note'}), {'remark': $.note}])"}
DOWN = {"name": "remark_to_note", "kind": "TRANSFORM", "mode": "DOWNGRADE", "type": "JSONATA",
        "expr": "$merge([$sift($, function($v, $k) {$k != 'remark'}), {'note': $.remark}])"}  # fmt: skip


def _classes(gen_root: Path, tmp: Path, schema: dict[str, Any], package: str) -> Generated:
    root = tmp / package
    (root / "com/acme/shop").mkdir(parents=True)
    (root / "com/acme/shop/Item.avsc").write_text(json.dumps(schema))
    (root / "catalog.toml").write_text('[topics.items]\nvalue = "com.acme.shop.Item"\n')
    return generate_into(gen_root, root, package)


@pytest.fixture(scope="module")
def item_classes(gen_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[type, type]:
    tmp = tmp_path_factory.mktemp("migrations")
    return _classes(gen_root, tmp, V1, "mig_v1").cls("com.acme.shop.Item"), _classes(gen_root, tmp, V2, "mig_v2").cls("com.acme.shop.Item")


@pytest.fixture(scope="module")
def registry() -> Iterator[tuple[EmbeddedRegistry, int, int]]:
    with EmbeddedRegistry() as reg:
        client = RegistryClient(reg.url)
        client.request("PUT", f"/config/{SUBJECT}", {"compatibility": "BACKWARD", "compatibilityGroup": "major_version"})
        v1 = client.register(SUBJECT, json.dumps(V1), contract={"metadata": {"properties": {"major_version": "1"}}})
        v2 = client.register(SUBJECT, json.dumps(V2), contract={"metadata": {"properties": {"major_version": "2"}}, "ruleSet": {"migrationRules": [UP, DOWN]}})
        yield reg, v1, v2


def framed(schema: dict[str, Any], schema_id: int, datum: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), datum)
    return wire.frame(schema_id) + out.getvalue()


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
prices = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ident=texts, note=texts, amount=prices)
def test_each_side_reads_the_other_major_version_through_its_migration(
    registry: tuple[EmbeddedRegistry, int, int], item_classes: tuple[type, type], ident: str, note: str, amount: float
) -> None:
    reg, v1_id, v2_id = registry
    v1_cls, v2_cls = item_classes
    client = RegistryClient(reg.url)
    old_reader, new_reader = EventDeserializer(client, [v1_cls]), EventDeserializer(client, [v2_cls])
    from_v2 = old_reader(framed(V2, v2_id, {"id": ident, "remark": note, "price": amount}))
    assert (type(from_v2), from_v2.id, from_v2.note, from_v2.price) == (v1_cls, ident, note, amount)
    from_v1 = new_reader(framed(V1, v1_id, {"id": ident, "note": note, "price": amount}))
    assert (type(from_v1), from_v1.id, from_v1.remark, from_v1.price) == (v2_cls, ident, note, amount)
    # confluent-kafka's deserializer pinned to major_version 1 migrates v2 data alike
    theirs = AvroDeserializer(SchemaRegistryClient({"url": reg.url}), conf={"use.latest.with.metadata": {"major_version": "1"}})
    other = theirs(framed(V2, v2_id, {"id": ident, "remark": note, "price": amount}), SerializationContext("items", MessageField.VALUE))
    assert (other["id"], other["note"], other["price"]) == (ident, note, amount)


def test_without_migration_rules_the_breaking_change_is_a_clear_error(item_classes: tuple[type, type]) -> None:
    v1_cls, _ = item_classes
    with EmbeddedRegistry() as reg:
        client = RegistryClient(reg.url)
        client.request("PUT", f"/config/{SUBJECT}", {"compatibility": "NONE"})
        client.register(SUBJECT, json.dumps(V1))
        v2 = client.register(SUBJECT, json.dumps(V2))
        with pytest.raises(EventDeserializationError):
            EventDeserializer(client, [v1_cls])(framed(V2, v2, {"id": "a", "remark": "b", "price": 1.0}))


DECIMAL = {"type": "record", "name": "P", "fields": [
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 30, "scale": 2}},
    {"name": "hash", "type": {"type": "fixed", "name": "H", "size": 4}},
    {"name": "maybe", "type": ["null", "bytes"]}]}  # fmt: skip


@given(amount=st.binary(max_size=12), digest=st.binary(min_size=4, max_size=4), maybe=st.none() | st.binary(max_size=8))
def test_raw_values_survive_the_json_form_a_migration_works_on(amount: bytes, digest: bytes, maybe: bytes | None) -> None:
    # confluent-kafka's JSONata executor refuses a decimal (not a JSON type); ours migrates its bytes untouched
    from contracts import schema as s
    from contracts.datacontract.migrate import avro_value, json_value

    schema = s.parse_schema(DECIMAL)
    raw = {"amount": amount, "hash": digest, "maybe": maybe}
    as_json = json_value(schema, raw)
    json.dumps(as_json)  # JSONata takes it
    assert avro_value(schema, as_json) == raw
