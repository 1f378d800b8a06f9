"""Real infrastructure for tests and local work: a broker (Tansu or Apache Kafka) and the embedded registry."""

from contracts.testing.apache_kafka import ApacheKafkaBroker
from contracts.testing.broker import FAST_JOIN, SESSION_TIMEOUT_MS, TansuBroker, create_topics, free_port
from contracts.testing.brokers import BROKER_ENV, Broker, broker_kind, broker_missing, make_broker

__all__ = [
    "BROKER_ENV",
    "FAST_JOIN",
    "SESSION_TIMEOUT_MS",
    "ApacheKafkaBroker",
    "Broker",
    "TansuBroker",
    "broker_kind",
    "broker_missing",
    "create_topics",
    "free_port",
    "make_broker",
]
