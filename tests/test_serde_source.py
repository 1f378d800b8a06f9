"""The serializers through their registry seam: in process (no socket, no broker), and over HTTP through
confluent-kafka's client, with the same answers and the same errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from contracts.errors import InfrastructureError
from contracts.events.com.acme.orders import OrderCreated
from contracts.registry.client import RegistryClient
from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.inprocess import AppTransport
from contracts.registry.server.store import Store
from contracts.registry.source import ClientSource, ConfluentSource, SchemaNotFound
from contracts.registry.sync import push
from contracts.serde import (
    EventDeserializationError,
    EventDeserializer,
    EventSerializer,
    SerializationError,
    registry_client,
)
from contracts.testing import free_port
from contracts.testing.examples import order
from tests.conftest import SCHEMAS

CATALOG = load_catalog(SCHEMAS)


def _in_process() -> RegistryClient:
    return RegistryClient("app://embedded", transport=AppTransport(RegistryApp(Store())))


@pytest.fixture(scope="module")
def pushed() -> RegistryClient:
    client = _in_process()
    push(client, CATALOG)
    return client


@given(i=st.integers(0, 10_000))
def test_events_round_trip_through_an_in_process_registry(pushed: RegistryClient, i: int) -> None:
    event = order(i)
    data = EventSerializer(pushed, CATALOG)(event)
    assert EventDeserializer(pushed, [OrderCreated])(data) == event


def test_unregistered_and_unknown_are_the_same_errors_in_process() -> None:
    client = _in_process()
    with pytest.raises(SerializationError, match="is not registered under subject"):
        EventSerializer(client, CATALOG)(order(1))
    data = EventSerializer(client, CATALOG, auto_register=True)(order(1))
    with pytest.raises(EventDeserializationError, match="unknown schema id 7"):
        EventDeserializer(client)(b"\x00\x00\x00\x00\x07" + data[5:])


@pytest.fixture(scope="module")
def http_registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as reg:
        push(RegistryClient(reg.url), CATALOG)
        yield reg


def test_both_adapters_give_the_same_answers(http_registry: EmbeddedRegistry) -> None:
    ours, theirs = ClientSource(RegistryClient(http_registry.url)), ConfluentSource(registry_client(http_registry.url))
    for subject in (s.name for s in CATALOG.subjects()):
        versions = ours.versions(subject)
        assert versions and versions == theirs.versions(subject)
        for number in versions:
            stored = ours.version(subject, number)
            assert stored == theirs.version(subject, number)
            assert ours.by_id(stored.id) == theirs.by_id(stored.id)
    assert ours.versions("nope-value") == theirs.versions("nope-value") == []
    for source in (ours, theirs):
        with pytest.raises(SchemaNotFound):
            source.by_id(999)


def test_an_unreachable_registry_is_an_outage_through_either_adapter() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    from contracts.retry import RetryPolicy

    for client in (RegistryClient(url, retry=RetryPolicy(attempts=1)), registry_client(url)):
        with pytest.raises(InfrastructureError):
            EventSerializer(client, CATALOG)(order(1))
