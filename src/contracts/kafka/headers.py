"""Kafka headers: what a producer sets on every event, and reading them back."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from confluent_kafka import Message

from contracts.record import AvroRecord

Headers = list[tuple[str, str | bytes | None]]


def type_headers(cls: type[AvroRecord], producer_name: str, schema_id: int) -> Headers:
    """Headers that are the same for every event of one class on one topic."""
    return [
        ("event-type", cls.__avro_fullname__.encode()),
        ("content-type", f"application/vnd.confluent.avro; schema-id={schema_id}".encode()),
        ("producer", producer_name.encode()),
    ]


def identity_headers(event: AvroRecord, key: str | None = None) -> Headers:
    """The event's id (its idempotency key when ``key`` names the field, else a fresh one) and correlation id."""
    meta = getattr(event, "metadata", None)
    found = key_of(event, key) if key else None
    headers: Headers = [("event-id", (found or str(uuid.uuid4())).encode())]
    correlation = getattr(meta, "correlation_id", None)
    if correlation is not None:
        headers.append(("correlation-id", str(correlation).encode()))
    return headers


def key_of(event: Any, path: str) -> str | None:
    """The value at ``path`` (Avro field names, dotted: ``metadata.event_id``) as text, ``None`` when unset."""
    value = event
    for name in path.split("."):
        cls: Any = type(value)
        value = getattr(value, _attribute(cls, name), None)
        if value is None:
            return None
    return str(value)


@functools.cache
def _attribute(cls: type, avro_name: str) -> str:
    """The Python attribute of ``cls`` for an Avro field name (``from`` is ``from_``)."""
    for attr, info in getattr(cls, "model_fields", {}).items():
        if (info.alias or attr) == avro_name:
            return str(attr)
    return avro_name


def message_headers(msg: Message) -> Headers:
    """A message's headers as a list of pairs, whatever shape the client returned."""
    raw: Any = msg.headers() or []
    return [(str(k), v) for k, v in (raw.items() if isinstance(raw, dict) else raw)]


def header(msg: Message, name: str) -> str | None:
    """The first value of a header, as text (``None`` when absent)."""
    for k, v in message_headers(msg):
        if k == name and v is not None:
            return v.decode(errors="replace") if isinstance(v, bytes) else str(v)
    return None


def event_id_of(msg: Message, event: Any, key: str | None = None) -> str:
    """The event's id: its idempotency key (``key``, from the catalog) when it has one, else its header, else where it sits in the log.

    The key is read from the event itself, so a duplicate is recognised whoever produced it.
    """
    found = (key_of(event, key) if key and event is not None else None) or header(msg, "event-id")
    return str(found) if found else f"{msg.topic()}:{msg.partition()}:{msg.offset()}"
