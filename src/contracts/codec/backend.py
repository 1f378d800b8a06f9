"""Avro binary under the compiled codec: fastavro, the reference, or cavro where it is installed.

Both read and write the codec's raw form (logical types left to the compiled converters) from
the same fastavro-parsed schemas, give unions of records as ``(name, value)`` and refuse data
with bytes left over. cavro (the ``fast`` extra) was chosen by measurement: on the shipped
``OrderCreated`` it reads in about half of fastavro's time and writes in half too, which is
what takes typed decode and encode below bare fastavro. ``CONTRACTS_AVRO_BACKEND=fastavro``
(or ``cavro``) chooses; the differential tests hold every case kind to fastavro's answers.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import fastavro

from contracts.errors import BadInputError

BACKEND_ENV = "CONTRACTS_AVRO_BACKEND"
EXTRA = "fast"

Write = Callable[[Any], bytes]
Read = Callable[[bytes, int], Any]


@dataclass(frozen=True)
class Layout:
    """One schema in the codec's raw form, as each backend takes it."""

    parsed: Any  # fastavro-parsed (a reader's defaults in the form fastavro reads values in)
    json: Any  # Avro JSON, defaults as written


class TrailingBytes(ValueError):
    """Bytes were left over after the Avro body: it was written with another schema than the one named."""


class Backend(Protocol):
    name: str

    def writer(self, schema: Layout) -> Write:
        """A function writing a datum of ``schema`` as schemaless Avro."""

    def reader(self, writer: Layout, reader: Layout | None) -> Read:
        """Data written with ``writer`` read as ``reader`` (``None``: the same) -> a function of ``(data, start)``."""


class Fastavro:
    name = "fastavro"

    def writer(self, schema: Layout) -> Write:
        parsed = schema.parsed

        def write(datum: Any) -> bytes:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, parsed, datum)
            return buf.getvalue()

        return write

    def reader(self, writer: Layout, reader: Layout | None) -> Read:
        written, wanted = writer.parsed, reader.parsed if reader is not None else None

        def read(data: bytes, start: int) -> Any:
            body = io.BytesIO(data)
            body.seek(start)
            value = fastavro.schemaless_reader(body, written, wanted, return_record_name=True)
            if body.tell() != len(data):
                raise TrailingBytes(f"{len(data) - body.tell()} trailing bytes after the Avro body")
            return value

        return read


class Cavro:
    name = "cavro"

    def __init__(self) -> None:
        import cavro

        self._cavro = cavro
        self._options = cavro.DEFAULT_OPTIONS.replace(
            record_decodes_to_dict=True,
            allow_error_type=True,  # an "error" is a record
            allow_tuple_notation=True,  # the encoders name a union's branch as fastavro takes it: (name, value)
            union_decodes_to=cavro.UnionDecodeOption.TYPE_TUPLE_IF_RECORD,
            logical_types=(),  # the raw form: the compiled converters do the logical types
        )
        self._one_byte = cavro.Schema({"type": "fixed", "name": "contracts.OneByte", "size": 1}, options=self._options)

    def _schema(self, layout: Layout) -> Any:
        return self._cavro.Schema(layout.json, options=self._options)

    def writer(self, schema: Layout) -> Write:
        if _logical(schema.json):
            return _FASTAVRO.writer(schema)
        try:
            encode: Write = self._schema(schema).binary_encode
        except Exception:  # a schema cavro does not take (a "NaN" default, say): fastavro, the reference, does
            return _FASTAVRO.writer(schema)
        return encode

    def reader(self, writer: Layout, reader: Layout | None) -> Read:
        if _logical(writer.json) or (reader is not None and _logical(reader.json)):
            return _FASTAVRO.reader(writer, reader)
        try:
            written = self._schema(writer)
            schema = written if reader is None else self._schema(reader).reader_for_writer(written)
        except Exception:  # as for the writer: what cavro does not take, fastavro reads
            return _FASTAVRO.reader(writer, reader)
        read_one, more, memory = schema.binary_read, self._one_byte.binary_read, self._cavro.MemoryReader

        def read(data: bytes, start: int) -> Any:
            source = memory(data[start:] if start else data)
            value = read_one(source)
            try:
                more(source)  # one more byte to read means the body did not end where the data does
            except EOFError:
                return value
            raise TrailingBytes("trailing bytes after the Avro body")

        return read


_FASTAVRO = Fastavro()


def _logical(schema: Any) -> bool:
    """Whether a logical type is left in a raw-form schema (in a union of several branches, on a fixed).

    fastavro converts those itself, and the builders take its values: such schemas stay with
    fastavro, so that every backend hands the builders the same values.
    """
    if isinstance(schema, dict):
        return "logicalType" in schema or any(_logical(v) for k, v in schema.items() if k != "default")
    if isinstance(schema, list):
        return any(_logical(v) for v in schema)
    return False


class MissingBackend(BadInputError):
    """``CONTRACTS_AVRO_BACKEND`` names a backend that is not installed or not known."""


def _choose(name: str | None) -> Backend:
    if name in (None, ""):
        try:
            return Cavro()
        except ImportError:
            return Fastavro()
    if name == "fastavro":
        return Fastavro()
    if name == "cavro":
        try:
            return Cavro()
        except ImportError:
            raise MissingBackend(f"{BACKEND_ENV}=cavro needs the {EXTRA!r} extra: pip install 'event-contracts[{EXTRA}]'") from None
    raise MissingBackend(f"{BACKEND_ENV}={name!r}: expected 'fastavro' or 'cavro'")


_current: Backend | None = None


def current() -> Backend:
    """The backend of this process: ``CONTRACTS_AVRO_BACKEND``, else cavro where installed, else fastavro."""
    global _current
    if _current is None:
        _current = _choose(os.environ.get(BACKEND_ENV))
    return _current


@contextlib.contextmanager
def using(name: str) -> Iterator[Backend]:
    """Every codec reads and writes through ``name`` within the block (the differential tests and the bench)."""
    global _current
    before = _current
    _current = _choose(name)
    try:
        yield _current
    finally:
        _current = before
