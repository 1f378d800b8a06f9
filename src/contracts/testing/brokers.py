"""Which broker tests, the demo, the benchmarks and ``contracts dev`` start: Tansu or Apache Kafka.

``CONTRACTS_BROKER=kafka`` (or ``--broker kafka``) picks Apache Kafka, ``tansu`` (the
default) Tansu: Tansu starts in a fraction of a second with nothing but Python, Apache
Kafka needs Java 17 and its jars (``contracts.testing.apache_kafka``).
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Protocol

from contracts.errors import BadInputError
from contracts.testing.apache_kafka import ApacheKafkaBroker, missing
from contracts.testing.broker import TansuBroker

BROKER_ENV = "CONTRACTS_BROKER"
BROKERS: dict[str, type[TansuBroker] | type[ApacheKafkaBroker]] = {"tansu": TansuBroker, "kafka": ApacheKafkaBroker}


class Broker(Protocol):
    """What every broker here offers."""

    name: str
    port: int

    @property
    def bootstrap_servers(self) -> str: ...
    @property
    def pid(self) -> int | None: ...
    def start(self) -> Broker: ...
    def stop(self) -> None: ...
    def __enter__(self) -> Broker: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None: ...


def broker_kind(kind: str | None = None) -> str:
    """``kind``, else ``$CONTRACTS_BROKER``, else ``tansu``; anything else is bad input, naming the choices."""
    chosen = (kind or os.environ.get(BROKER_ENV) or "tansu").strip().lower()
    if chosen not in BROKERS:
        source = "--broker" if kind else BROKER_ENV
        raise BadInputError(f"{source}: unknown broker {chosen!r}; expected one of {', '.join(sorted(BROKERS))}")
    return chosen


def broker_missing(kind: str | None = None) -> str | None:
    """What this machine lacks to run the broker ``kind`` (``None`` when nothing)."""
    return missing() if broker_kind(kind) == "kafka" else None


def make_broker(kind: str | None = None, **options: Any) -> Broker:
    """A broker of ``kind`` (see ``broker_kind``), not started: ``with make_broker() as broker: ...``."""
    broker: Broker = BROKERS[broker_kind(kind)](**options)
    return broker
