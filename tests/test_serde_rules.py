"""The serializers run a version's domain rules: conditions on write and read, field transforms on tagged fields."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from contracts.datacontract.runner import RuleFailure
from contracts.events.com.acme.common import Money
from contracts.events.com.acme.orders import OrderCreated
from contracts.registry.client import RegistryClient
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.inprocess import AppTransport
from contracts.registry.server.store import Store
from contracts.registry.sync import push
from contracts.serde import EventDeserializationError, EventDeserializer, EventSerializer
from contracts.testing.examples import order
from tests.conftest import SCHEMAS

CATALOG = load_catalog(SCHEMAS)
CATALOG.contracts.clear()  # each test registers the rules it is about
SUBJECT = "orders-com.acme.orders.OrderCreated"
NOT_NEGATIVE = {"name": "total_not_negative", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "message.total.amount >= 0.0"}
MASK = {"name": "mask_pii", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": ["PII"], "expr": "'***'"}
PII = {"tags": {"com.acme.orders.Customer.email": ["PII"]}}


def registry(*rules: dict[str, Any], metadata: dict[str, Any] | None = None) -> RegistryClient:
    """An in-process registry with the catalog pushed, then OrderCreated's schema again with ``rules``."""
    client = RegistryClient("app://embedded", transport=AppTransport(RegistryApp(Store())))
    push(client, CATALOG)
    body: dict[str, Any] = {"schema": json.dumps(OrderCreated.__avro_schema__), "ruleSet": {"domainRules": list(rules)}}
    if metadata:
        body["metadata"] = metadata
    client.request("POST", f"/subjects/{SUBJECT}/versions", body)
    return client


def with_total(i: int, amount: Decimal) -> OrderCreated:
    event = order(i)
    return event.model_copy(update={"total": Money(amount=amount, currency="EUR")})


def test_a_write_condition_refuses_naming_the_rule_and_passes_the_rest() -> None:
    client = registry(NOT_NEGATIVE)
    serialize = EventSerializer(client, CATALOG, version="latest")
    assert EventDeserializer(client, [OrderCreated])(serialize(with_total(1, Decimal("0.00")))).total.amount == 0
    with pytest.raises(RuleFailure, match=rf"rule total_not_negative \(CEL CONDITION, WRITE\) of subject {SUBJECT}: the condition was false") as failed:
        serialize(with_total(2, Decimal("-0.01")))
    assert failed.value.action == "ERROR" and failed.value.payload is None


@settings(max_examples=60, deadline=None)
@given(cents=st.integers(-500, 500))
def test_accepts_exactly_the_totals_the_condition_allows(cents: int) -> None:
    serialize = _serializers[0]
    amount = Decimal(cents).scaleb(-2)
    if amount >= 0:
        serialize(with_total(cents, amount))
    else:
        with pytest.raises(RuleFailure):
            serialize(with_total(cents, amount))


_serializers = [EventSerializer(registry(NOT_NEGATIVE), CATALOG, version="latest")]


def test_dlq_on_write_carries_the_bytes_for_the_dead_letter_topic() -> None:
    client = registry({**NOT_NEGATIVE, "onFailure": "DLQ"})
    with pytest.raises(RuleFailure) as failed:
        EventSerializer(client, CATALOG, version="latest")(with_total(3, Decimal("-5")))
    assert failed.value.action == "DLQ" and failed.value.payload is not None
    assert EventDeserializer(client, [OrderCreated])(failed.value.payload).total.amount == Decimal("-5")
    assert dict(failed.value.headers())["dlq-rule-name"] == b"total_not_negative"


def test_none_on_failure_logs_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    client = registry({**NOT_NEGATIVE, "onFailure": "NONE"})
    with caplog.at_level(logging.WARNING, "contracts.rules"):
        EventSerializer(client, CATALOG, version="latest")(with_total(4, Decimal("-1")))
    assert "total_not_negative" in caplog.text and "onFailure NONE" in caplog.text


def test_a_guard_skips_the_rule() -> None:
    client = registry({**NOT_NEGATIVE, "expr": "message.total.currency == 'USD'; message.total.amount >= 0.0"})
    EventSerializer(client, CATALOG, version="latest")(with_total(5, Decimal("-1")))  # EUR: the guard is false


def test_a_read_field_transform_masks_tagged_fields_only() -> None:
    client = registry(MASK, metadata=PII)
    data = EventSerializer(client, CATALOG, version="latest")(order(6))
    event = EventDeserializer(client, [OrderCreated])(data)
    assert event.customer.email == "***"
    assert event.customer.customer_id == order(6).customer.customer_id and event.lines == order(6).lines


def test_a_read_condition_failure_is_a_deserialization_error_carrying_the_rule() -> None:
    rule = {**NOT_NEGATIVE, "name": "read_not_negative", "mode": "READ"}
    client = registry(rule)
    data = EventSerializer(client, CATALOG, version="latest")(with_total(7, Decimal("-1")))
    with pytest.raises(EventDeserializationError, match="read_not_negative") as failed:
        EventDeserializer(client, [OrderCreated])(data, topic="orders", partition=0, offset=9)
    assert failed.value.rule is not None and failed.value.rule.rule.name == "read_not_negative"


def test_a_rule_on_a_missing_field_fails_and_an_unknown_type_is_refused_not_skipped() -> None:
    client = registry({**NOT_NEGATIVE, "name": "typo", "expr": "message.totl > 0.0"})
    with pytest.raises(RuleFailure, match="typo"):
        EventSerializer(client, CATALOG, version="latest")(order(8))
    client = registry({"name": "enc", "kind": "TRANSFORM", "mode": "WRITE", "type": "ENCRYPT", "tags": ["PII"]})
    with pytest.raises(RuleFailure, match="ENCRYPT are not executed"):
        EventSerializer(client, CATALOG, version="latest")(order(8))


def test_the_version_the_class_matches_brings_its_own_rules() -> None:
    client = registry(NOT_NEGATIVE)  # v1 has no rules, v2 (the same schema) has the condition
    assert EventSerializer(client, CATALOG, version=1)(with_total(9, Decimal("-1")))
    with pytest.raises(RuleFailure):
        EventSerializer(client, CATALOG)(with_total(9, Decimal("-1")))  # newest version holding the class's schema
