"""One home for the librdkafka clients this package makes: their safe settings and where they log.

Every producer (events, dead letters, replay) is idempotent and waits for every in-sync replica,
so a retry never duplicates and an acknowledged message is not lost with one broker; every client
logs through the standard ``logging`` module under ``contracts.kafka.librdkafka`` (quiet unless
asked for), never straight to stderr.
"""

from __future__ import annotations

import logging
from typing import Any

import confluent_kafka
from confluent_kafka import Consumer, Producer

LOGGER = logging.getLogger("contracts.kafka.librdkafka")
PRODUCER_SAFETY = {"enable.idempotence": True, "acks": "all"}
SAFE_DEFAULTS = {**PRODUCER_SAFETY, "linger.ms": 5, "message.timeout.ms": 30000}
"""What an event producer starts from; the caller's settings override them."""


def producer(bootstrap_servers: str, **conf: Any) -> Producer:
    """A producer with the safety settings (``conf`` on top, librdkafka names: ``**{"linger.ms": 20}``)."""
    # Looked up at each call: OpenTelemetry's confluent-kafka instrumentation swaps the class when it is switched on.
    made: Producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap_servers, **PRODUCER_SAFETY, **conf}, logger=LOGGER)
    return made


def consumer(bootstrap_servers: str | None, **conf: Any) -> Consumer:
    """A consumer logging through ``logging`` (``bootstrap_servers`` None: ``conf`` names them)."""
    settings = {**({"bootstrap.servers": bootstrap_servers} if bootstrap_servers else {}), **conf}
    made: Consumer = confluent_kafka.Consumer(settings, logger=LOGGER)
    return made
