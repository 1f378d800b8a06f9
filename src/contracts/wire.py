"""Confluent's wire format: how a message says which schema wrote it.

Confluent clients send the writer's identity in one of two ways, and readers accept both:

- in the payload: magic byte 0 and the schema id (4 bytes, big-endian) before the Avro body,
  the classic framing; or magic byte 1 and the schema's 16-byte GUID;
- in a header (``__value_schema_id``, or ``__key_schema_id`` for keys): magic byte 1 and the
  GUID, and the payload is the bare Avro body.

Everything here is about bytes: no registry, no schema. The serializers, replay and the
demo frame and unframe through it.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

MAGIC_ID = 0
MAGIC_GUID = 1
VALUE_HEADER = "__value_schema_id"
KEY_HEADER = "__key_schema_id"
_ID = struct.Struct(">bI")
ID_PREFIX_SIZE = _ID.size

Headers = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None] | None


class FramingError(ValueError):
    """A payload or header that is not in Confluent's wire format."""


@dataclass(frozen=True)
class WriterRef:
    """The writer schema's identity as a message carries it: an id or a GUID."""

    id: int | None = None
    guid: uuid.UUID | None = None

    def __str__(self) -> str:
        return f"schema id {self.id}" if self.id is not None else f"schema guid {self.guid}"


def frame(schema_id: int) -> bytes:
    """The classic prefix: magic byte 0 and the schema id."""
    return _ID.pack(MAGIC_ID, schema_id)


def guid_bytes(guid: uuid.UUID) -> bytes:
    """A GUID as a header value or payload prefix: magic byte 1 and its 16 bytes."""
    return bytes((MAGIC_GUID,)) + guid.bytes


def unframe(data: bytes, headers: Headers = None, *, key: bool = False) -> tuple[WriterRef, int]:
    """The writer's identity and where the Avro body starts in ``data``.

    A schema-id header wins over the payload, as Confluent's readers decide.
    """
    if headers:
        value = _header(headers, KEY_HEADER if key else VALUE_HEADER)
        if value is not None:
            ref, size = _prefix(value if isinstance(value, bytes) else value.encode("latin-1"), "header")
            if size != len(value):
                raise FramingError(f"schema id header of {len(value)} bytes, expected {size}")
            return ref, 0
    return _prefix(data, "payload")


def schema_id_of(data: bytes) -> int | None:
    """The classic framing's schema id, or None when ``data`` is framed otherwise: the readers' fast path."""
    if len(data) >= ID_PREFIX_SIZE and data[0] == MAGIC_ID:
        return int(_ID.unpack_from(data)[1])
    return None


def has_schema_header(headers: Headers, *, key: bool = False) -> bool:
    """Whether the headers carry the writer's schema (then the payload is the bare body)."""
    return _header(headers, KEY_HEADER if key else VALUE_HEADER) is not None


def _prefix(data: bytes, where: str) -> tuple[WriterRef, int]:
    if not data:
        raise FramingError(f"empty {where}: no schema id")
    magic = data[0]
    if magic == MAGIC_ID:
        if len(data) < ID_PREFIX_SIZE:
            raise FramingError(f"{where} of {len(data)} bytes is shorter than the 5-byte header")
        return WriterRef(id=int(_ID.unpack_from(data)[1])), ID_PREFIX_SIZE
    if magic == MAGIC_GUID:
        if len(data) < 17:
            raise FramingError(f"{where} of {len(data)} bytes is shorter than the 17-byte GUID header")
        return WriterRef(guid=uuid.UUID(bytes=bytes(data[1:17]))), 17
    raise FramingError(f"unknown magic byte {magic} in the {where} (expected 0 or 1, Confluent wire format)")


def _header(headers: Headers, name: str) -> bytes | str | None:
    if isinstance(headers, list):  # confluent-kafka's form, on every message: no ABC check first
        for k, v in headers:
            if k == name:
                return cast("bytes | str | None", v)
        return None
    if isinstance(headers, Mapping):
        return headers.get(name)
    for k, v in headers or ():
        if k == name:
            return v
    return None


__all__ = [
    "ID_PREFIX_SIZE", "KEY_HEADER", "MAGIC_GUID", "MAGIC_ID", "VALUE_HEADER", "FramingError", "Headers", "WriterRef",
    "frame", "guid_bytes", "has_schema_header", "schema_id_of", "unframe",
]  # fmt: skip
