"""Hypothesis strategies: random valid Avro data for any schema, as fastavro writes it.

Named branches of multi-branch unions are tagged ``(fullname, value)`` so the
written branch is the intended one; logical types are Python objects (Decimal,
UUID, datetime...) at the precision the logical type keeps.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from contracts import schema as s

_EPOCH = datetime(1970, 1, 1)
_MAX_DEPTH = 3


def _float32() -> st.SearchStrategy[float]:
    return st.floats(allow_nan=False, width=32).map(lambda f: struct.unpack("<f", struct.pack("<f", f))[0])


def _decimal(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    bound = 10**precision - 1
    return st.integers(-bound, bound).map(lambda n: Decimal(n).scaleb(-scale))


def _datetime(unit_us: int, aware: bool) -> st.SearchStrategy[datetime]:
    # Years 1..9999 in microseconds since the epoch, rounded to the unit.
    lo = int((datetime(1, 1, 2) - _EPOCH).total_seconds()) * 1_000_000 // unit_us
    hi = int((datetime(9999, 12, 30) - _EPOCH).total_seconds()) * 1_000_000 // unit_us

    def build(n: int) -> datetime:
        dt = _EPOCH + timedelta(microseconds=n * unit_us)
        return dt.replace(tzinfo=UTC) if aware else dt

    return st.integers(lo, hi).map(build)


def _time(unit_us: int) -> st.SearchStrategy[time]:
    return st.integers(0, 86_400_000_000 // unit_us - 1).map(
        lambda n: (datetime(2000, 1, 1) + timedelta(microseconds=n * unit_us)).time()
    )


def _primitive(p: s.Primitive) -> st.SearchStrategy[Any]:
    logical = p.logical
    if logical == "decimal":
        return _decimal(p.props["precision"], p.props.get("scale", 0))
    if logical == "uuid":
        return st.uuids()
    if logical == "date":
        return st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
    if logical == "time-millis":
        return _time(1000)
    if logical == "time-micros":
        return _time(1)
    if logical in ("timestamp-millis", "local-timestamp-millis"):
        return _datetime(1000, logical.startswith("timestamp"))
    if logical in ("timestamp-micros", "local-timestamp-micros"):
        return _datetime(1, logical.startswith("timestamp"))
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": _float32(),
        "double": st.floats(allow_nan=False),
        "bytes": st.binary(max_size=20),
        "string": st.text(max_size=20),
    }[p.type]


def avro_values(schema: s.Schema, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``schema`` ready for ``fastavro.schemaless_writer``."""
    if isinstance(schema, s.Primitive):
        return _primitive(schema)
    if isinstance(schema, s.Enum):
        return st.sampled_from(schema.symbols)
    if isinstance(schema, s.Fixed):
        if schema.logical == "decimal":
            return _decimal(schema.props["precision"], schema.props.get("scale", 0))
        if schema.logical == "uuid":
            return st.uuids().map(lambda u: u.bytes)
        return st.binary(min_size=schema.size, max_size=schema.size)
    if isinstance(schema, s.Array):
        if depth >= _MAX_DEPTH:
            return st.just([])
        return st.lists(avro_values(schema.items, depth + 1), max_size=3)
    if isinstance(schema, s.Map):
        if depth >= _MAX_DEPTH:
            return st.just({})
        return st.dictionaries(st.text(max_size=5), avro_values(schema.values, depth + 1), max_size=3)
    if isinstance(schema, s.Union):
        return _union(schema, depth)
    return _record(schema, depth)


def _record(r: s.Record, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.name: avro_values(f.type, depth + 1) for f in r.fields})


def _union(u: s.Union, depth: int) -> st.SearchStrategy[Any]:
    non_null = [b for b in u.branches if not (isinstance(b, s.Primitive) and b.type == "null")]
    has_null = len(non_null) < len(u.branches)
    options: list[st.SearchStrategy[Any]] = []
    if has_null:
        options.append(st.none())
    # Past the depth limit only null (or a non-recursive branch) keeps data finite.
    candidates = non_null if depth < _MAX_DEPTH or not has_null else []
    for b in candidates:
        strat = avro_values(b, depth + 1)
        if isinstance(b, s.Record | s.Enum | s.Fixed) and len(non_null) > 1:
            strat = strat.map(lambda v, name=b.fullname: (name, v))
        elif len(non_null) > 1:
            strat = _unambiguous(b, non_null, strat)
        options.append(strat)
    return st.one_of(*options)


def _unambiguous(b: s.Schema, branches: list[s.Schema], strat: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Keep values whose branch fastavro will pick back (an int also fits a later long, a float a double)."""
    kinds = [x.type for x in branches if isinstance(x, s.Primitive)]
    if isinstance(b, s.Primitive) and b.type == "long" and "int" in kinds:
        return strat.filter(lambda v: not -(2**31) <= v < 2**31)
    if isinstance(b, s.Primitive) and b.type == "double" and "float" in kinds:
        return strat.filter(lambda v: struct.unpack("<f", struct.pack("<f", v))[0] != v if abs(v) < 3e38 else True)
    return strat

