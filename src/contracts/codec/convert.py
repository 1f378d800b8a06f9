"""Converters between model values and what fastavro reads and writes, built per schema position.

A ``Lookup`` tells a converter where the generated class of a named type is and how
to get that class's codec, so that this module needs neither the class table nor
the compiled codec (it is used by both).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from pydantic import BaseModel

from contracts import schema as s
from contracts.codec import rawform

Converter = Callable[[Any], Any]
identity: Converter = lambda v: v  # noqa: E731
Resolver = Callable[[str], Any]


@dataclass(frozen=True)
class Lookup:
    """Where converters find a named type's generated class and that class's codec."""

    resolve: Resolver
    codec_of: Callable[[Any], Any]


def encoder(schema: s.Schema, lookup: Lookup, *, raw: bool = False, stripped: bool = False) -> Converter:
    """Turn a model value into what fastavro writes.

    ``raw``: for the codec's ``raw_schema`` (records in their raw form too); ``stripped``: this
    position's logical type is stripped there, so the value is converted here (see ``rawform``).
    """
    if isinstance(schema, s.Primitive):
        convert = rawform.unconverter(schema) if stripped else None
        return convert or identity
    if isinstance(schema, s.Enum):
        return enum_value
    if isinstance(schema, s.Fixed):
        if schema.logical == "uuid":
            return lambda v: v.bytes if isinstance(v, uuid.UUID) else v
        return identity
    if isinstance(schema, s.Record):
        if raw:
            return lambda v: lookup.codec_of(type(v)).encode_raw(v)
        return lambda v: v.to_avro()
    if isinstance(schema, s.Array):
        item = encoder(schema.items, lookup, raw=raw, stripped=stripped)
        if item is identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = encoder(schema.values, lookup, raw=raw, stripped=stripped)
        if val is identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_encoder(schema, lookup, raw=raw, stripped=stripped)


def enum_value(v: Any) -> Any:
    return v.value if isinstance(v, PyEnum) else v


def _union_encoder(union: s.Union, lookup: Lookup, *, raw: bool, stripped: bool) -> Converter:
    non_null = union.non_null
    if len(non_null) == 1:
        inner = encoder(non_null[0], lookup, raw=raw, stripped=stripped)
        return lambda v: None if v is None else inner(v)
    pinned = len(non_null) > 1
    # Several branches keep their logical types in the raw schema: fastavro converts those.
    encoders = [(b, encoder(b, lookup, raw=raw)) for b in non_null]

    def encode(v: Any) -> Any:
        if v is None:
            return None
        for branch, enc in encoders:
            if _matches(branch, v):
                out = enc(v)
                if pinned and isinstance(branch, s.Record | s.Enum | s.Fixed):
                    return (branch.fullname, out)
                return out
        raise ValueError(f"value {v!r} matches no branch of {s.type_label(union)}")

    return encode


PY_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "int": (int,),
    "long": (int,),
    "float": (float, int),
    "double": (float, int),
    "bytes": (bytes,),
    "string": (str,),
}


def _matches(branch: s.Schema, v: Any) -> bool:
    """Whether a Python value belongs to a union branch (used to pin the branch)."""
    if isinstance(branch, s.Record):
        return getattr(type(v), "__avro_fullname__", None) == branch.fullname
    if isinstance(branch, s.Enum):
        return getattr(type(v), "__avro_fullname__", None) == branch.fullname or (
            isinstance(v, str) and not isinstance(v, PyEnum) and v in branch.symbols
        )
    if isinstance(branch, s.Fixed):
        if branch.logical == "uuid":
            return isinstance(v, uuid.UUID)
        if branch.logical == "decimal":
            return isinstance(v, Decimal)
        return isinstance(v, bytes) and len(v) == branch.size
    if isinstance(branch, s.Array):
        return isinstance(v, list)
    if isinstance(branch, s.Map):
        return isinstance(v, dict)
    if isinstance(branch, s.Primitive):
        logical = branch.logical
        if logical == "decimal":
            return isinstance(v, Decimal)
        if logical == "uuid":
            return isinstance(v, uuid.UUID)
        if logical == "date":
            return isinstance(v, date) and not isinstance(v, datetime)
        if logical in ("time-millis", "time-micros"):
            return isinstance(v, time)
        if logical in ("timestamp-millis", "timestamp-micros"):
            return isinstance(v, datetime) and v.tzinfo is not None
        if logical in ("local-timestamp-millis", "local-timestamp-micros"):
            return isinstance(v, datetime) and v.tzinfo is None
        if isinstance(v, bool):
            return branch.type == "boolean"
        if isinstance(v, PyEnum):
            return False
        if branch.type == "int" and isinstance(v, int):
            return -(2**31) <= v < 2**31
        return isinstance(v, PY_TYPES.get(branch.type, ()))
    return False


def decoder(schema: s.Schema, lookup: Lookup, *, stripped: bool = False) -> Converter:
    """Turn a value as fastavro reads it into the model's value.

    ``stripped``: the value was read with the codec's ``raw_schema``, where this position's
    logical type was stripped (see ``rawform``); otherwise fastavro converted it.
    """
    if isinstance(schema, s.Primitive):
        convert = rawform.converter(schema) if stripped else None
        if convert is not None:
            return convert
        if schema.logical == "uuid":
            return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(v)
        return identity
    if isinstance(schema, s.Enum):
        members: dict[str, Any] = {}

        def dec_enum(v: Any) -> Any:
            if not members:  # resolved on first use: the class may be defined after this one
                members.update({m.value: m for m in lookup.resolve(schema.fullname)})
            if isinstance(v, tuple):
                v = v[1]
            try:
                return members[v]
            except (KeyError, TypeError):
                raise ValueError(f"{v!r} is not a symbol of {schema.fullname}; allowed: {', '.join(schema.symbols)}") from None

        return dec_enum
    if isinstance(schema, s.Fixed):
        # In a union, fastavro's return_record_name=True tags every named branch, fixed included.
        if schema.logical == "uuid":
            return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(bytes=bytes(untagged(v)))
        return untagged
    if isinstance(schema, s.Record):
        codecs: list[Any] = []

        def dec_record(v: Any) -> Any:
            if not codecs:
                codecs.append(lookup.codec_of(lookup.resolve(schema.fullname)))
            if v.__class__ is tuple:
                v = v[1]
            elif isinstance(v, BaseModel):  # already an instance of the generated class
                return v
            if not isinstance(v, dict):
                raise ValueError(f"expected a {schema.fullname} record as a dict, got {type(v).__name__}")
            return codecs[0].build(v)

        return dec_record
    if isinstance(schema, s.Array):
        item = decoder(schema.items, lookup, stripped=stripped)
        if item is identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = decoder(schema.values, lookup, stripped=stripped)
        if val is identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_decoder(schema, lookup, stripped=stripped)


def untagged(v: Any) -> Any:
    """A named union branch's value without the ``(fullname, value)`` tag fastavro may put on it."""
    return v[1] if v.__class__ is tuple and len(v) == 2 and isinstance(v[0], str) else v


def needs_pinning(schema: s.Schema) -> bool:
    """Whether any union under ``schema`` has several non-null branches (their values need tagging)."""
    seen: set[int] = set()

    def visit(t: s.Schema) -> bool:
        if isinstance(t, s.Record):
            if id(t) in seen:
                return False
            seen.add(id(t))
        elif isinstance(t, s.Fixed):
            return t.logical == "uuid"  # fastavro wants the 16 bytes, the model holds a UUID
        elif isinstance(t, s.Union) and t.multi_branch:
            return True
        return any(visit(child) for child in s.children(t))

    return visit(schema)


def trusted_plain(schema: s.Schema, *, stripped: bool) -> bool:
    """Whether fastavro's value for ``schema`` is already what the model holds (``stripped``: see ``decoder``)."""
    if isinstance(schema, s.Primitive):
        return not stripped or rawform.converter(schema) is None
    if isinstance(schema, s.Fixed):
        return schema.logical != "uuid"
    if isinstance(schema, s.Array):
        return trusted_plain(schema.items, stripped=stripped)
    if isinstance(schema, s.Map):
        return trusted_plain(schema.values, stripped=stripped)
    if isinstance(schema, s.Union):
        if any(isinstance(b, s.Fixed) for b in schema.branches):
            return False  # a named branch may arrive tagged as (fullname, value)
        if schema.multi_branch:
            # fastavro converts logical branches here, unless the writer had the plain type
            return all(isinstance(b, s.Primitive) and rawform.converter(b) is None for b in schema.branches)
        return all(trusted_plain(b, stripped=stripped) for b in schema.branches)
    return False


def _union_decoder(union: s.Union, lookup: Lookup, *, stripped: bool) -> Converter:
    non_null = union.non_null
    if len(non_null) == 1:
        inner = decoder(non_null[0], lookup, stripped=stripped)
        return lambda v: None if v is None else inner(v)
    by_name = {s.branch_key(b): decoder(b, lookup) for b in non_null}
    records = [b for b in non_null if isinstance(b, s.Record)]
    raw_branches = [(b, c) for b in non_null if isinstance(b, s.Primitive) and (c := rawform.converter(b)) is not None]

    def decode(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str):
            name, value = v
            dec = by_name.get(name)
            if dec is None:  # fastavro may report a short name when the writer had no namespace
                dec = next((d for k, d in by_name.items() if k.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]), None)
            if dec is None:
                raise ValueError(f"union value of type '{name}' matches no branch of {s.type_label(union)}")
            return dec(value)
        if isinstance(v, dict) and records:
            # An untagged record: take the first branch whose fields it fits, as Avro would write it.
            for r in records:
                if set(v) <= {f.name for f in r.fields} and all(f.name in v or f.has_default for f in r.fields):
                    return by_name[r.fullname](v)
            return by_name[records[0].fullname](v)
        for b in non_null:
            if _matches_raw(b, v):
                return by_name[s.branch_key(b)](v)
        # Still raw: the writer had a plain type here (its logical type stripped, see rawform),
        # so convert as the reader's branch of that physical type says.
        for b, convert in raw_branches:
            if isinstance(v, PY_TYPES[b.type]) and not isinstance(v, bool):
                return convert(v)
        return v

    return decode


def _matches_raw(branch: s.Schema, v: Any) -> bool:
    if isinstance(branch, s.Enum):
        return isinstance(v, str) and v in branch.symbols
    if isinstance(branch, s.Primitive) and branch.type == "string" and branch.logical is None:
        return isinstance(v, str)
    return _matches(branch, v)
