"""The raw-form conversions agree with fastavro's own logical readers and writers (differential)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro._logical_readers_py import LOGICAL_READERS
from fastavro._logical_writers_py import LOGICAL_WRITERS
from hypothesis import given
from hypothesis import strategies as st

from contracts import schema as s
from contracts.codec import rawform as rf
from tests.conftest import generate_into

_INT32 = st.integers(-(2**31), 2**31 - 1)
_MAX_DATE = (date(9999, 12, 31) - date(1970, 1, 1)).days
_MIN_DATE = (date(1, 1, 1) - date(1970, 1, 1)).days
_MS = 1000 * 86400
_RAW: dict[str, st.SearchStrategy[Any]] = {
    "timestamp-millis": st.integers(_MIN_DATE * _MS, _MAX_DATE * _MS),
    "timestamp-micros": st.integers(_MIN_DATE * _MS * 1000, _MAX_DATE * _MS * 1000),
    "local-timestamp-millis": st.integers(_MIN_DATE * _MS, _MAX_DATE * _MS),
    "local-timestamp-micros": st.integers(_MIN_DATE * _MS * 1000, _MAX_DATE * _MS * 1000),
    "date": st.integers(_MIN_DATE, _MAX_DATE),
    "time-millis": st.integers(0, _MS - 1),
    "time-micros": st.integers(0, _MS * 1000 - 1),
}
_PHYSICAL = {"date": "int", "time-millis": "int"}


@pytest.mark.parametrize("logical", sorted(_RAW))
@given(data=st.data())
def test_time_values_read_and_write_as_fastavro_does(logical: str, data: st.DataObject) -> None:
    physical = _PHYSICAL.get(logical, "long")
    schema = s.Primitive(physical, logical)
    raw = data.draw(_RAW[logical])
    key = f"{physical}-{logical}"
    value = rf.converter(schema)(raw)  # type: ignore[misc]
    assert value == LOGICAL_READERS[key](raw, {"type": physical, "logicalType": logical})
    assert rf.unconverter(schema)(value) == raw == LOGICAL_WRITERS[key](value, {"type": physical, "logicalType": logical})  # type: ignore[misc]


@given(u=st.uuids())
def test_uuids_read_and_write_as_fastavro_does(u: uuid.UUID) -> None:
    schema = s.Primitive("string", "uuid")
    text = str(u)
    read = rf.converter(schema)(text)  # type: ignore[misc]
    assert read == LOGICAL_READERS["string-uuid"](text) and hash(read) == hash(u) and str(read) == text
    assert rf.converter(schema)(text.upper()) == u  # type: ignore[misc]
    assert rf.unconverter(schema)(u) == LOGICAL_WRITERS["string-uuid"](u, {}) == text  # type: ignore[misc]


@given(precision=st.integers(1, 40), data=st.data())
def test_decimals_read_and_write_as_fastavro_does(precision: int, data: st.DataObject) -> None:
    scale = data.draw(st.integers(0, precision))
    unscaled = data.draw(st.integers(-(10**precision) + 1, 10**precision - 1))
    props = {"precision": precision, "scale": scale}
    schema = s.Primitive("bytes", "decimal", props)
    value = Decimal(f"{unscaled}E-{scale}")  # exact: Decimal arithmetic would round to 28 digits
    written = LOGICAL_WRITERS["bytes-decimal"](value, {"type": "bytes", "logicalType": "decimal", **props})
    assert rf.unconverter(schema)(value) == written  # type: ignore[misc]
    read = rf.converter(schema)(written)  # type: ignore[misc]
    expected = LOGICAL_READERS["bytes-decimal"](written, {"type": "bytes", "logicalType": "decimal", **props})
    assert read == expected and read.as_tuple().exponent == -scale


@pytest.mark.parametrize(
    ("value", "problem"),
    [(Decimal("1.234"), "decimal places"), (Decimal("123456"), "digits"), (Decimal("NaN"), "finite"), (Decimal("-Infinity"), "finite")],
)
def test_decimals_that_do_not_fit_are_refused(value: Decimal, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        rf.unconverter(s.Primitive("bytes", "decimal", {"precision": 5, "scale": 2}))(value)  # type: ignore[misc]


def test_defaults_take_their_read_form() -> None:
    union_first_timestamp = s.Union([s.Primitive("long", "timestamp-millis"), s.Primitive("string")])
    assert rf.read_form(s.Primitive("bytes"), "\u00ff\u0000", stripped=True) == b"\xff\x00"
    assert rf.read_form(s.Primitive("double"), "-Infinity", stripped=True) == float("-inf")
    assert rf.read_form(s.Primitive("long", "timestamp-millis"), 1000, stripped=True) == 1000  # converted by the builder
    # inside a union of several branches fastavro converts, and so must the default
    assert rf.read_form(union_first_timestamp, 1000, stripped=True) == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert rf.read_form(s.Primitive("int", "time-millis"), 1, stripped=False) == time(0, 0, 0, 1000)


def test_a_plain_writer_field_read_into_a_reader_union_keeps_the_readers_logical_type(tmp_path: Path, gen_root: Path) -> None:
    """v1 writes a plain timestamp; v2 reads it in a union of several branches (still Avro-compatible)."""
    (tmp_path / "acme" / "t").mkdir(parents=True)
    reader = {"type": "record", "name": "Tick", "namespace": "acme.t", "doc": "t", "fields": [
        {"name": "at", "type": ["null", "string", {"type": "long", "logicalType": "timestamp-millis"}], "default": None, "doc": "a"},
        {"name": "day", "type": ["null", "string", {"type": "int", "logicalType": "date"}], "default": None, "doc": "d"},
    ]}  # fmt: skip
    (tmp_path / "acme" / "t" / "Tick.avsc").write_text(json.dumps(reader))
    tick = generate_into(gen_root, tmp_path, "rawform_union_gen").cls("acme.t.Tick")
    writer = {"type": "record", "name": "Tick", "namespace": "acme.t", "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    ]}  # fmt: skip
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(writer), {"at": 1000, "day": 1})
    read = tick.from_avro_bytes(buf.getvalue(), writer_schema=writer)
    assert read.at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC) and read.day == date(1970, 1, 2)
