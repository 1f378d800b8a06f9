"""Confluent's wire format in both framings, the schema GUID, and deleting associations.

confluent-kafka 2.16's own serializers and client run against the embedded registry over HTTP,
and our deserializer reads what they write, with the schema id in the payload or the GUID in a header.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from confluent_kafka.schema_registry import (
    AssociationCreateOrUpdateInfo,
    AssociationCreateOrUpdateRequest,
    Schema,
    SchemaRegistryClient,
    header_schema_id_serializer,
)
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import given
from hypothesis import strategies as st

from contracts import wire
from contracts.events.com.acme.common import EventMetadata, Money
from contracts.events.com.acme.payments import PaymentMethod, PaymentProcessed
from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.store import Store
from contracts.serde import EventDeserializationError, EventDeserializer


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as reg:
        yield reg


def _payment() -> PaymentProcessed:
    return PaymentProcessed(
        metadata=EventMetadata(event_id=uuid.uuid4(), occurred_at=datetime(2026, 1, 1, tzinfo=UTC), producer="payments"),
        payment_id=uuid.uuid4(), order_id=uuid.uuid4(), amount=Money(amount=Decimal("1.50"), currency="EUR"),
        method=PaymentMethod.CARD, processed_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
    )  # fmt: skip


@given(schema_id=st.integers(0, 2**31 - 1), body=st.binary(max_size=20))
def test_frame_and_unframe_are_inverse(schema_id: int, body: bytes) -> None:
    ref, start = wire.unframe(wire.frame(schema_id) + body)
    assert ref == wire.WriterRef(id=schema_id) and start == 5
    assert wire.schema_id_of(wire.frame(schema_id) + body) == schema_id


@given(guid=st.uuids(), body=st.binary(max_size=20), as_dict=st.booleans())
def test_a_guid_travels_in_the_payload_or_a_header(guid: uuid.UUID, body: bytes, as_dict: bool) -> None:
    assert wire.unframe(wire.guid_bytes(guid) + body) == (wire.WriterRef(guid=guid), 17)
    headers: wire.Headers = {wire.VALUE_HEADER: wire.guid_bytes(guid)} if as_dict else [("event-id", b"x"), (wire.VALUE_HEADER, wire.guid_bytes(guid))]
    assert wire.unframe(body, headers) == (wire.WriterRef(guid=guid), 0)
    assert wire.schema_id_of(wire.guid_bytes(guid) + body) is None


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x07\x00\x00\x00\x01", b"\x01" + b"\x00" * 8])
def test_malformed_framing_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(wire.FramingError, match=r"magic byte|shorter than|empty"):
        wire.unframe(data)


def test_registration_returns_a_guid_and_the_schema_is_found_by_it(registry: EmbeddedRegistry) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    text = PaymentProcessed.__avro_schema__

    registered = client.register_schema_full_response("guid-test-value", Schema(json.dumps(text), "AVRO"))
    assert registered.guid is not None and uuid.UUID(registered.guid)
    again = client.register_schema_full_response("guid-other-value", Schema(json.dumps(text), "AVRO"))
    assert again.guid == registered.guid, "one GUID for one schema across subjects, like its id"
    fresh = SchemaRegistryClient({"url": registry.url})  # no cache
    assert json.loads(fresh.get_schema_by_guid(registered.guid).schema_str)["name"] == text["name"]
    assert fresh.get_latest_version("guid-test-value").guid == registered.guid


def test_our_deserializer_reads_confluents_guid_header_framing(registry: EmbeddedRegistry) -> None:
    # Regression (adoption round 2, item 23): the serializer's GUID header format was not understood.
    client = SchemaRegistryClient({"url": registry.url})
    event = _payment()
    serializer = AvroSerializer(
        client, json.dumps(PaymentProcessed.__avro_schema__), to_dict=lambda e, ctx: e.to_avro(),
        conf={"auto.register.schemas": True, "schema.id.serializer": header_schema_id_serializer, "subject.name.strategy.type": "TOPIC"},
    )  # fmt: skip
    headers: list[tuple[str, bytes]] = []
    payload = serializer(event, SerializationContext("payments-guid", MessageField.VALUE, headers))
    assert payload is not None and headers and headers[0][0] == wire.VALUE_HEADER and headers[0][1][0] == wire.MAGIC_GUID
    reader = EventDeserializer(SchemaRegistryClient({"url": registry.url}), [PaymentProcessed])
    assert reader(payload, headers=headers) == event
    # The same GUID as a payload prefix, as Confluent's V1 framing writes it.
    assert reader(headers[0][1] + payload) == event
    with pytest.raises(EventDeserializationError, match="unknown schema guid"):
        reader(wire.guid_bytes(uuid.uuid4()) + payload)


def test_associations_are_deleted_by_resource_id(registry: EmbeddedRegistry) -> None:
    client = SchemaRegistryClient({"url": registry.url})
    request = AssociationCreateOrUpdateRequest(
        resource_name="assoc-topic", resource_namespace="lkc-1", resource_id="res-1", resource_type="topic",
        associations=[AssociationCreateOrUpdateInfo(subject="assoc-topic-value", association_type="value"),
                      AssociationCreateOrUpdateInfo(subject="assoc-topic-key", association_type="key")],
    )  # fmt: skip
    created = client.create_association(request)
    assert created.resource_id == "res-1"
    found = client.get_associations_by_resource_name("assoc-topic", "lkc-1")
    assert {(a.subject, a.resource_id) for a in found} == {("assoc-topic-value", "res-1"), ("assoc-topic-key", "res-1")}
    client.delete_associations("res-1", association_types=["key"])
    assert [a.association_type for a in client.get_associations_by_resource_name("assoc-topic", "lkc-1")] == ["value"]
    client.delete_associations("res-1")
    assert client.get_associations_by_resource_name("assoc-topic", "lkc-1") == []


def test_a_database_from_before_guids_gets_them_on_open(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    path = Path(str(tmp_path)) / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE schemas (id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL UNIQUE, schema TEXT NOT NULL,"
        " schema_type TEXT NOT NULL DEFAULT 'AVRO', refs TEXT NOT NULL DEFAULT '[]');"
        "INSERT INTO schemas(fingerprint, schema) VALUES ('" + "ab" * 32 + "', '\"string\"');"
        "CREATE TABLE associations (subject TEXT NOT NULL, resource_name TEXT NOT NULL, resource_namespace TEXT NOT NULL,"
        " resource_type TEXT NOT NULL, association_type TEXT NOT NULL,"
        " PRIMARY KEY (resource_namespace, resource_name, resource_type, association_type));"
    )
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        with store.read() as tx:
            row = tx.schema(1)
            assert row is not None and uuid.UUID(row.guid) and tx.schema_id_by_guid(row.guid) == 1
    finally:
        store.close()
