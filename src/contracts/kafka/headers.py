"""Kafka headers: what a producer sets on every event, and reading them back."""

from __future__ import annotations

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


def identity_headers(event: AvroRecord) -> Headers:
    """The event's id and correlation id, from its metadata when it has one."""
    meta = getattr(event, "metadata", None)
    headers: Headers = [("event-id", str(getattr(meta, "event_id", None) or uuid.uuid4()).encode())]
    correlation = getattr(meta, "correlation_id", None)
    if correlation is not None:
        headers.append(("correlation-id", str(correlation).encode()))
    return headers


def event_headers(event: AvroRecord, producer_name: str, schema_id: int) -> Headers:
    """Every header an event carries."""
    return identity_headers(event) + type_headers(type(event), producer_name, schema_id)


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


def event_id_of(msg: Message, event: Any) -> str:
    """The event's id: its header, else its metadata, else where it sits in the log."""
    found = header(msg, "event-id") or getattr(getattr(event, "metadata", None), "event_id", None)
    return str(found) if found else f"{msg.topic()}:{msg.partition()}:{msg.offset()}"
