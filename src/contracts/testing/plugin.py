"""pytest plugin (entry point ``contracts``): a real broker and registry for your tests.

Fixtures (session-scoped):

- ``kafka_bootstrap``: bootstrap servers. By default a Tansu broker on a free
  127.0.0.1 port; ``CONTRACTS_BROKER=kafka`` starts Apache Kafka instead (skipped, saying
  what is missing, without Java 17 or Maven). ``CONTRACTS_KAFKA_BOOTSTRAP_SERVERS=host:9092``
  uses your cluster.
- ``apache_kafka``: an Apache Kafka broker object (``ApacheKafkaBroker``) of its own, for
  tests of what only Apache Kafka does (commit metadata, a broker restart); skipped the same way.
- ``schema_registry_url``: the embedded registry on a free port, or
  ``CONTRACTS_SCHEMA_REGISTRY_URL`` when set.
- With ``CONTRACTS_TESTCONTAINERS=1`` and a Docker engine, both come from Confluent's
  images through testcontainers instead; with no engine those tests skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from contracts.testing.apache_kafka import ApacheKafkaBroker
from contracts.testing.brokers import BROKER_ENV, broker_kind, broker_missing, make_broker

BOOTSTRAP_ENV = "CONTRACTS_KAFKA_BOOTSTRAP_SERVERS"
REGISTRY_ENV = "CONTRACTS_SCHEMA_REGISTRY_URL"
TESTCONTAINERS_ENV = "CONTRACTS_TESTCONTAINERS"


def docker_available() -> tuple[bool, str]:
    """Whether a Docker engine answers (testcontainers needs one, the docker CLI alone is not enough)."""
    try:
        import docker
    except ImportError:
        return False, "the docker Python package is not installed"
    try:
        docker.from_env(timeout=3).ping()
    except Exception as exc:
        return False, f"no Docker engine is reachable ({type(exc).__name__})"
    return True, ""


def backend() -> str:
    """Which infrastructure the fixtures use: ``env``, ``testcontainers`` or ``embedded``."""
    if os.environ.get(BOOTSTRAP_ENV):
        return "env"
    if os.environ.get(TESTCONTAINERS_ENV) == "1":
        return "testcontainers"
    return "embedded"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real Kafka-protocol broker."""
    mode = backend()
    if mode == "env":
        yield os.environ[BOOTSTRAP_ENV]
        return
    if mode == "testcontainers":
        ok, why = docker_available()
        if not ok:
            pytest.skip(f"{TESTCONTAINERS_ENV}=1 but {why}; unset it to use the embedded Tansu broker")
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.1") as kafka:
            yield kafka.get_bootstrap_server()
        return
    lacking = broker_missing()
    if lacking:
        pytest.skip(f"{BROKER_ENV}={broker_kind()}: {lacking}")
    with make_broker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def apache_kafka() -> Iterator[ApacheKafkaBroker]:
    """A running Apache Kafka broker (KRaft, one node) for this session."""
    lacking = broker_missing("kafka")
    if lacking:
        pytest.skip(lacking)
    with ApacheKafkaBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """URL of a Confluent-compatible schema registry."""
    if os.environ.get(REGISTRY_ENV):
        yield os.environ[REGISTRY_ENV]
        return
    from contracts.registry.server import EmbeddedRegistry

    with EmbeddedRegistry() as registry:
        yield registry.url
