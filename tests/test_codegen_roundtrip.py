"""Round trip of random valid data through every generated class, and rejection of invalid values."""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import schema as s
from contracts.codec import backend
from contracts.record import AvroRecord
from tests.avro_data import avro_values
from tests.conftest import Generated


@pytest.fixture(autouse=True, params=["fastavro", "cavro"])
def avro_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every round trip through each Avro backend: cavro is held to fastavro's bytes and values."""
    with backend.using(request.param):
        yield request.param


def _records(gen: Generated) -> list[str]:
    return sorted(n for n, t in gen.catalog.types.items() if isinstance(t, s.Record))


def _write(schema: Any, value: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, value)
    return buf.getvalue()


def _roundtrip(cls: type[AvroRecord], data: st.DataObject) -> None:
    record = s.parse_schema(cls.__avro_schema__)
    parsed = cls.parsed_schema()
    value = data.draw(avro_values(record))
    written = _write(parsed, value)
    read = fastavro.schemaless_reader(io.BytesIO(written), parsed, return_record_name=True)
    # validated construction must accept every valid Avro value...
    instance = cls.from_avro(read, validate=True)
    # ...and write back the very same bytes (no branch switched, no precision lost).
    assert instance.to_avro_bytes() == written
    # The compiled builders (fastavro's dict reused in place, or resolved from a writer schema)
    # build what validation builds, fields in declaration order.
    for again in (cls.from_avro_bytes(written), cls.from_avro_bytes(written, writer_schema=cls.__avro_schema__)):
        assert again == instance
        assert list(again.__dict__) == list(cls.model_fields) == list(instance.__dict__)
        assert again.model_fields_set == instance.model_fields_set
        assert again.model_dump() == instance.model_dump()
    assert cls.from_avro(instance.to_avro(), validate=True) == instance
    _missing_fields_take_defaults(cls, value)


def _missing_fields_take_defaults(cls: type[AvroRecord], value: dict[str, Any]) -> None:
    """Data from a writer that lacks the defaulted fields reads as the class's own defaults."""
    record = s.parse_schema(cls.__avro_schema__)
    assert isinstance(record, s.Record)
    kept = [f.name for f in record.fields if not f.has_default]
    if len(kept) == len(record.fields) or f'"{record.fullname}"' in json.dumps(cls.__avro_schema__["fields"]):
        return  # nothing to leave out, or recursive (nested values would lose their fields too)
    if any(isinstance(f.type, s.Union) and {"bytes", "string"} <= {s.type_label(b) for b in f.type.branches} for f in record.fields):
        return  # fastavro resolves a written string to a reader's earlier bytes branch (Java picks the exact match)
    writer = s.to_json(dataclasses.replace(record, fields=[f for f in record.fields if f.name in kept]))
    parsed = fastavro.parse_schema(writer)
    written = _write(parsed, {name: value[name] for name in kept})
    read = cls.from_avro_bytes(written, writer_schema=writer)
    # validated construction from the kept fields alone: the model's defaults fill the rest
    as_written = fastavro.schemaless_reader(io.BytesIO(written), parsed, return_record_name=True)
    expected = cls.from_avro(as_written, validate=True)  # type: ignore[arg-type]
    assert repr(read) == repr(expected)  # repr: NaN defaults are equal to themselves there


TRICKY = [
    "tricky.defaults.AllDefaults", "tricky.logical.Decimals", "tricky.logical.Times", "tricky.logical.Uuids",
    "tricky.named.Empty", "tricky.named.Enums", "tricky.named.Error", "tricky.named.Fixeds", "tricky.names.Field",
    "tricky.names.Keywords", "tricky.names.Underscore", "tricky.nested.Deep", "tricky.nested.LinkedList",
    "tricky.nested.Tree", "tricky.prims.AllPrimitives", "tricky.prims.Floats", "tricky.prims.IntBounds",
    "tricky.unions.Mixed", "tricky.unions.RecordDefault", "tricky.unions.SameShape", "tricky.b.UsesBoth",
]  # fmt: skip


def test_corpus_is_covered(tricky: Generated) -> None:
    assert len(list((tricky.catalog.root).rglob("*.avsc"))) >= 20
    top_level = {f.root.fullname for f in tricky.catalog.files if isinstance(f.root, s.Record)}
    assert top_level <= set(TRICKY), "add new corpus records to TRICKY"


@pytest.mark.parametrize("fullname", TRICKY)
@given(data=st.data())
def test_tricky_roundtrip(tricky: Generated, fullname: str, data: st.DataObject) -> None:
    _roundtrip(tricky.cls(fullname), data)


@pytest.mark.parametrize(
    "fullname",
    [
        "com.acme.orders.OrderCreated", "com.acme.orders.OrderCancelled", "com.acme.payments.PaymentProcessed",
        "com.acme.payments.PaymentFailed", "com.acme.notifications.EmailRequested",
    ],
)  # fmt: skip
@given(data=st.data())
def test_shipped_roundtrip(shipped: Generated, fullname: str, data: st.DataObject) -> None:
    _roundtrip(shipped.cls(fullname), data)


def test_every_shipped_record_is_generated(shipped: Generated) -> None:
    for name in _records(shipped):
        cls = shipped.cls(name)
        assert cls.__avro_fullname__ == name
        assert s.canonical_form(s.parse_schema(cls.__avro_schema__)) == s.canonical_form(shipped.catalog.types[name])


def test_same_shape_union_keeps_the_branch(tricky: Generated) -> None:
    SameShape = tricky.cls("tricky.unions.SameShape")
    Dog = tricky.cls("tricky.unions.Dog")
    Cat = tricky.cls("tricky.unions.Cat")
    value = SameShape(payload=Dog(name="Rex"), maybe=Dog(name="Fido"), many=[Cat(name="a"), Dog(name="b")])
    back = SameShape.from_avro_bytes(value.to_avro_bytes())
    assert type(back.payload) is Dog and type(back.maybe) is Dog
    assert [type(x) for x in back.many] == [Cat, Dog]


def test_defaults_are_not_optional(tricky: Generated) -> None:
    AllDefaults = tricky.cls("tricky.defaults.AllDefaults")
    d = AllDefaults()
    assert d.b is True and d.s == "hé" and d.arr == ["a", "b"] and d.m == {"k": 1} and d.u == "x"
    assert AllDefaults.model_fields["b"].annotation is not None
    assert "None" not in str(AllDefaults.model_fields["s"].annotation)
    with pytest.raises(ValidationError):
        AllDefaults(b=None)
    Enums = tricky.cls("tricky.named.Enums")
    Color = tricky.cls("tricky.named.Color")
    assert Enums(keywordish="class", colors={}).color is Color.GREEN
    assert Color.__avro_default__ == "RED"
    Decimals = tricky.cls("tricky.logical.Decimals")
    assert Decimals.model_fields["defaulted"].default == Decimal("1.50")
    RecordDefault = tricky.cls("tricky.unions.RecordDefault")
    rd = RecordDefault()
    assert rd.pet.name == "Tom" and rd.point.x == 0 and rd.point.y == 3
    assert RecordDefault().point is not rd.point, "mutable defaults must not be shared"


def test_keywords_are_aliased(tricky: Generated) -> None:
    Keywords = tricky.cls("tricky.names.Keywords")
    k = Keywords.model_validate(
        {"from": "a", "class": 1, "json": 2, "model_config": True, "copy": "c", "dict": "d", "fields": "f", "validate": "v"}
    )
    assert k.from_ == "a" and k.class_ == 1 and k.schema_ == "s"
    avro = k.to_avro()
    assert avro["from"] == "a" and avro["class"] == 1 and "from_" not in avro
    assert k.model_dump()["from"] == "a"


def _model_error(cls: type, **kwargs: Any) -> str:
    with pytest.raises(ValidationError) as exc:
        cls(**kwargs)
    return str(exc.value)


def test_invalid_values_are_rejected(tricky: Generated) -> None:
    IntBounds = tricky.cls("tricky.prims.IntBounds")
    assert "small" in _model_error(IntBounds, small=2**31, ints=[])
    assert "big" in _model_error(IntBounds, big=2**63, ints=[])
    assert "ints.0" in _model_error(IntBounds, ints=[-(2**31) - 1])
    assert "small" in _model_error(IntBounds, small="5", ints=[]), "no silent coercion from strings"
    Decimals = tricky.cls("tricky.logical.Decimals")
    base = {"whole": Decimal(1), "fixed_amount": Decimal("1.5")}
    assert "price" in _model_error(Decimals, price=Decimal("1.23456"), **base)  # scale 4
    assert "price" in _model_error(Decimals, price=Decimal("123456.1"), **base)  # precision 9
    Enums = tricky.cls("tricky.named.Enums")
    assert "keywordish" in _model_error(Enums, keywordish="PURPLE", colors={})
    Fixeds = tricky.cls("tricky.named.Fixeds")
    assert "md5" in _model_error(Fixeds, md5=b"short", hashes=[])
    Floats = tricky.cls("tricky.prims.Floats")
    assert "single" in _model_error(Floats, single=1e39, singles={})
    Times = tricky.cls("tricky.logical.Times")
    from datetime import date, datetime, time

    naive = datetime(2024, 1, 1)
    err = _model_error(
        Times, day=date.today(), t_ms=time(1), t_us=time(1), ts_ms=naive, ts_us=naive, lts_ms=naive, lts_us=naive
    )
    assert "ts_ms" in err and "timezone" in err.lower()
    Uuids = tricky.cls("tricky.logical.Uuids")
    assert "id" in _model_error(Uuids, id="not-a-uuid", raw_id=uuid.uuid4(), ids=[])


def test_millisecond_types_keep_what_the_wire_keeps(tricky: Generated) -> None:
    from datetime import UTC, date, datetime, time

    Times = tricky.cls("tricky.logical.Times")
    now = datetime(2026, 11, 23, 9, 30, 1, 123456, tzinfo=UTC)
    t = Times(day=date(2026, 1, 1), t_ms=time(1, 2, 3, 456789), t_us=time(1, 2, 3, 456789), ts_ms=now, ts_us=now,
              lts_ms=now.replace(tzinfo=None), lts_us=now.replace(tzinfo=None))  # fmt: skip
    assert t.ts_ms.microsecond == 123000 and t.t_ms.microsecond == 456000 and t.lts_ms.microsecond == 123000
    assert t.ts_us.microsecond == 123456, "micros types keep micros"
    assert Times.from_avro_bytes(t.to_avro_bytes()) == t


def test_tagged_named_branches_are_accepted_in_every_union_shape(tricky: Generated) -> None:
    # Regression: fastavro's return_record_name=True tags a nullable fixed as ("ns.Md5", b"..."), which was
    # passed on as a tuple. Every named branch (record, enum, fixed) may arrive tagged.
    cls = tricky.cls("tricky.named.Fixeds")
    md5 = bytes(range(16))
    value = {"md5": md5, "tiny": b"\x01", "blob": b"", "hashes": [md5], "maybe_md5": md5, "md5_or_one": ("tricky.named.One", b"\x02"),
             "maybe_hashes": {"a": md5, "b": None}}  # fmt: skip
    parsed = cls.parsed_schema()
    written = _write(parsed, value)
    read = fastavro.schemaless_reader(io.BytesIO(written), parsed, return_record_name=True)
    assert isinstance(read["maybe_md5"], tuple)  # what fastavro hands over
    for instance in (cls.from_avro(read), cls.from_avro(read, validate=False), cls.from_avro_bytes(written)):
        assert instance.maybe_md5 == md5 and instance.md5_or_one == b"\x02" and instance.maybe_hashes == {"a": md5, "b": None}
        assert instance.to_avro_bytes() == written


def test_invalid_input_to_from_avro_is_a_validation_error(shipped: Generated) -> None:
    # Regression: an unknown enum symbol raised a bare KeyError.
    cls = shipped.cls("com.acme.orders.OrderCreated")
    good = _valid_order(cls)
    for field, bad, says in [
        ("channel", "TELEPATHY", "allowed: UNKNOWN, WEB, MOBILE, STORE"),
        ("customer", 5, "expected a com.acme.orders.Customer record"),
        ("order_id", "not-a-uuid", "UUID"),
        ("lines", 3, ""),
    ]:
        with pytest.raises(ValidationError) as exc:
            cls.from_avro({**good, field: bad})
        assert exc.value.errors()[0]["loc"][0] == field and says in str(exc.value)
    with pytest.raises(ValidationError):
        cls.from_avro([1, 2])  # type: ignore[arg-type]


def _valid_order(cls: type[AvroRecord]) -> dict[str, Any]:
    record = s.parse_schema(cls.__avro_schema__)
    return dict(_example(record))


_PLAIN_EXAMPLES: dict[str, Any] = {"string": "x", "long": 1, "int": 1, "boolean": True, "double": 1.0, "float": 1.0, "bytes": b"x", "null": None}
_LOGICAL_EXAMPLES: dict[str, Any] = {
    "uuid": uuid.UUID(int=1),
    "timestamp-millis": datetime(2020, 1, 1, tzinfo=UTC),
    "decimal": Decimal("1.00"),
    "date": date(2020, 1, 1),
}


def _example(t: s.Schema) -> Any:
    """One valid value of ``t`` as fastavro reads it."""
    if isinstance(t, s.Record):
        return {f.name: _example(f.type) for f in t.fields}
    if isinstance(t, s.Enum):
        return t.symbols[0]
    if isinstance(t, s.Fixed):
        return b"\0" * t.size
    if isinstance(t, s.Array):
        return []
    if isinstance(t, s.Map):
        return {}
    if isinstance(t, s.Union):
        return None if len(t.non_null) < len(t.branches) else _example(t.branches[0])
    return _LOGICAL_EXAMPLES[t.logical] if t.logical else _PLAIN_EXAMPLES[t.type]
