"""``AvroRecord``: the base class of every generated event class.

A generated class carries its Avro schema and full name. Conversion to and from
the "Avro-ready" dict that fastavro reads and writes is compiled once per class
from that schema, so that union branches are pinned by full name (fastavro
would otherwise pick the first record that fits) and logical types fastavro
leaves raw (uuid on fixed) are handled here.
"""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum as PyEnum
from enum import StrEnum
from typing import Any, ClassVar, Self, cast

import fastavro
from pydantic import BaseModel, ConfigDict

from contracts import schema as s

Converter = Callable[[Any], Any]
_identity: Converter = lambda v: v  # noqa: E731


class AvroEnum(StrEnum):
    """Base of generated enums: a ``StrEnum`` (fastavro writes its value as is)."""


class AvroRecord(BaseModel):
    """A pydantic model bound to one Avro record schema."""

    model_config = ConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        arbitrary_types_allowed=False,
    )

    __avro_schema__: ClassVar[dict[str, Any]]
    __avro_fullname__: ClassVar[str]

    # -- schema access ----------------------------------------------------
    @classmethod
    def avro_schema(cls) -> dict[str, Any]:
        """The class's self-contained Avro schema (a dict; treat as read-only)."""
        return cls.__avro_schema__

    @classmethod
    def parsed_schema(cls) -> Any:
        """The schema parsed by fastavro, cached per class."""
        return _codec(cls).fastavro_schema

    # -- dict conversion --------------------------------------------------
    def to_avro(self) -> dict[str, Any]:
        """The Avro-ready dict fastavro writes (union records as ``(fullname, dict)``)."""
        return _codec(type(self)).encode(self)

    @classmethod
    def from_avro(cls, data: dict[str, Any], *, validate: bool = True) -> Self:
        """Build an instance from a dict as fastavro reads it.

        ``validate=False`` skips pydantic validation: only for data that was
        decoded with this class's schema, whose types Avro already guarantees.
        """
        return cast(Self, _codec(cls).decode(data, validate))

    # -- binary -----------------------------------------------------------
    def to_avro_bytes(self) -> bytes:
        """Schemaless Avro binary (no header, no registry framing)."""
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, _codec(type(self)).fastavro_schema, self.to_avro())
        return buf.getvalue()

    @classmethod
    def from_avro_bytes(cls, data: bytes, writer_schema: dict[str, Any] | None = None) -> Self:
        """Decode schemaless Avro binary, resolving ``writer_schema`` to this class's schema."""
        codec = _codec(cls)
        writer = codec.fastavro_schema if writer_schema is None else fastavro.parse_schema(writer_schema)
        raw = fastavro.schemaless_reader(io.BytesIO(data), writer, codec.fastavro_schema, return_record_name=True)
        return cls.from_avro(raw, validate=False)  # type: ignore[arg-type]


# -- the compiled codec ----------------------------------------------------


class _Codec:
    """Per-class converters between model instances and Avro-ready dicts."""

    def __init__(self, cls: type[AvroRecord]) -> None:
        self.cls = cls
        self.record = s.parse_schema(cls.__avro_schema__)
        if not isinstance(self.record, s.Record):
            raise TypeError(f"{cls.__name__}.__avro_schema__ is not a record schema")
        self.fastavro_schema = fastavro.parse_schema(cls.__avro_schema__)
        # fullname -> python attribute name of each field
        by_alias = {(info.alias or name): name for name, info in cls.model_fields.items()}
        self._encoders: list[tuple[str, str, Converter]] = []
        self._decoders: list[tuple[str, str, Converter, bool, Any]] = []
        resolve = _resolver(cls)
        # Fields fastavro takes and gives as they are (primitives, logical values, enums
        # outside unions) are copied without a call; the others go through a converter.
        self._build: Callable[[dict[str, Any]], AvroRecord] | None = None
        self._resolve = _resolver(cls)
        self._shapes: dict[str, tuple[str, str] | None] = {}
        self.dump_is_avro = not _needs_pinning(self.record)
        self._plain_out: list[tuple[str, str]] = []
        self._plain_in: list[tuple[str, str]] = []
        self._convert_in: list[tuple[str, str, Converter]] = []
        for f in self.record.fields:
            attr = by_alias.get(f.name)
            if attr is None:
                raise TypeError(f"{cls.__name__} has no attribute for Avro field '{f.name}'")
            enc = _encoder(f.type, resolve)
            if enc is _identity or isinstance(f.type, s.Enum):
                self._plain_out.append((f.name, attr))
            else:
                self._encoders.append((f.name, attr, enc))
            info = cls.model_fields[attr]
            has_default = not info.is_required()
            dec = _decoder(f.type, resolve)
            self._decoders.append((f.name, attr, dec, has_default, info))
            if _trusted_plain(f.type):
                self._plain_in.append((f.name, attr))
            else:
                self._convert_in.append((f.name, attr, dec))
                self._shapes[f.name] = _shape(f.type)

    def encode(self, obj: AvroRecord) -> dict[str, Any]:
        if self.dump_is_avro:
            # pydantic-core builds the same dict in Rust: aliases are the Avro names, and
            # without multi-branch unions there is no branch to pin.
            return obj.model_dump(by_alias=True)
        d = obj.__dict__
        out = {name: d[attr] for name, attr in self._plain_out}
        for name, attr, enc in self._encoders:
            out[name] = enc(d[attr])
        return out

    def decode(self, data: dict[str, Any], validate: bool) -> AvroRecord:
        values: dict[str, Any] = {}
        for name, attr, dec, has_default, info in self._decoders:
            if name in data:
                values[attr] = dec(data[name])
            elif has_default:
                values[attr] = info.get_default(call_default_factory=True)
            elif validate:
                continue  # let pydantic report the missing field
            else:
                raise ValueError(f"{self.cls.__avro_fullname__}: missing field '{name}'")
        if validate:
            return self.cls.model_validate(values, by_name=True)
        return self.construct(values)

    def decode_trusted(self, data: dict[str, Any]) -> AvroRecord:
        """``decode(data, validate=False)`` for what fastavro read with this class's schema.

        fastavro fills every reader field and already turns logical types into
        Python values, so plain fields are copied as they are. The builder is
        straight-line code compiled once per class: this is the hot path of every
        consumer.
        """
        build = self._build
        if build is None:
            build = self._build = self._compile_builder()
        return build(data)

    def _compile_builder(self) -> Callable[[dict[str, Any]], AvroRecord]:
        entries = [f"{attr!r}: data[{name!r}]" for name, attr in self._plain_in]
        scope: dict[str, Any] = {}
        for i, (name, attr, dec) in enumerate(self._convert_in):
            shape = self._shapes.get(name)
            if shape is None:
                scope[f"_dec{i}"] = dec
                entries.append(f"{attr!r}: _dec{i}(data[{name!r}])")
                continue
            # A record (or an array of records) outside any union: fastavro gives plain dicts,
            # so the nested class's builder is called directly.
            kind, fullname = shape
            scope[f"_dec{i}"] = _codec(self._resolve(fullname)).decode_trusted
            if kind == "record":
                entries.append(f"{attr!r}: _dec{i}(data[{name!r}])")
            else:
                entries.append(f"{attr!r}: [_dec{i}(x) for x in data[{name!r}]]")
        source = (
            "def build(data):\n"
            "    obj = _new(_cls)\n"
            f"    _set(obj, '__dict__', {{{', '.join(entries)}}})\n"
            "    _set(obj, '__pydantic_fields_set__', set(_fields))\n"
            "    _set(obj, '__pydantic_extra__', None)\n"
            "    _set(obj, '__pydantic_private__', None)\n"
            "    return obj\n"
        )
        scope.update({"_new": _new, "_set": _setattr, "_cls": self.cls, "_fields": frozenset(a for _, a, *_ in self._decoders)})
        exec(compile(source, f"<contracts decoder for {self.cls.__avro_fullname__}>", "exec"), scope)
        builder: Callable[[dict[str, Any]], AvroRecord] = scope["build"]
        return builder

    def construct(self, values: dict[str, Any]) -> AvroRecord:
        obj = _new(self.cls)
        _setattr(obj, "__dict__", values)
        _setattr(obj, "__pydantic_fields_set__", set(values))
        _setattr(obj, "__pydantic_extra__", None)
        _setattr(obj, "__pydantic_private__", None)
        return obj


_new = object.__new__
_setattr = object.__setattr__


def _codec(cls: type[AvroRecord]) -> _Codec:
    codec: _Codec | None = cls.__dict__.get("_avro_codec_")
    if codec is None:
        codec = _Codec(cls)
        type.__setattr__(cls, "_avro_codec_", codec)
    return codec


Resolver = Callable[[str], Any]


def _resolver(cls: type[AvroRecord]) -> Resolver:
    """Find the generated class (record or enum) for a full name, from the class's module first."""

    def resolve(fullname: str) -> Any:
        module = sys.modules.get(cls.__module__)
        candidates: list[Any] = list(vars(module).values()) if module else []
        for obj in candidates:
            if isinstance(obj, type) and getattr(obj, "__avro_fullname__", None) == fullname:
                return obj
        found = _REGISTRY.get(fullname)
        if found is None:
            raise LookupError(f"no generated class for Avro type '{fullname}' (needed by {cls.__name__})")
        return found

    return resolve


_REGISTRY: dict[str, Any] = {}


def register(cls: Any) -> Any:
    """Record a generated class (record or enum) under its Avro full name; used as a decorator."""
    _REGISTRY[cls.__avro_fullname__] = cls
    return cls


def _encoder(schema: s.Schema, resolve: Resolver) -> Converter:
    if isinstance(schema, s.Primitive):
        return _identity
    if isinstance(schema, s.Enum):
        return _enum_value
    if isinstance(schema, s.Fixed):
        if schema.logical == "uuid":
            return lambda v: v.bytes if isinstance(v, uuid.UUID) else v
        return _identity
    if isinstance(schema, s.Record):
        return lambda v: v.to_avro()
    if isinstance(schema, s.Array):
        item = _encoder(schema.items, resolve)
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = _encoder(schema.values, resolve)
        if val is _identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_encoder(schema, resolve)


def _enum_value(v: Any) -> Any:
    return v.value if isinstance(v, PyEnum) else v


def _union_encoder(union: s.Union, resolve: Resolver) -> Converter:
    branches = union.branches
    non_null = [b for b in branches if not (isinstance(b, s.Primitive) and b.type == "null")]
    if len(non_null) == 1:
        inner = _encoder(non_null[0], resolve)
        return lambda v: None if v is None else inner(v)
    pinned = len(non_null) > 1
    encoders = [(b, _encoder(b, resolve)) for b in non_null]

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


_PY_TYPES: dict[str, tuple[type, ...]] = {
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
        return isinstance(v, _PY_TYPES.get(branch.type, ()))
    return False


def _decoder(schema: s.Schema, resolve: Resolver) -> Converter:
    if isinstance(schema, s.Primitive):
        if schema.logical == "uuid":
            return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(v)
        return _identity
    if isinstance(schema, s.Enum):
        members: dict[str, Any] = {}

        def dec_enum(v: Any) -> Any:
            if not members:  # resolved on first use: the class may be defined after this one
                members.update({m.value: m for m in resolve(schema.fullname)})
            if isinstance(v, tuple):
                v = v[1]
            return members[v]

        return dec_enum
    if isinstance(schema, s.Fixed):
        if schema.logical == "uuid":
            return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(bytes=bytes(v))
        return _identity
    if isinstance(schema, s.Record):
        codecs: list[_Codec] = []

        def dec_record(v: Any) -> Any:
            if not codecs:
                codecs.append(_codec(resolve(schema.fullname)))
            if v.__class__ is tuple:
                v = v[1]
            elif isinstance(v, AvroRecord):
                return v
            return codecs[0].decode_trusted(v)

        return dec_record
    if isinstance(schema, s.Array):
        item = _decoder(schema.items, resolve)
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = _decoder(schema.values, resolve)
        if val is _identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_decoder(schema, resolve)


def _shape(schema: s.Schema) -> tuple[str, str] | None:
    """``("record", name)`` or ``("array", name)`` for fields the builder can inline, else ``None``."""
    if isinstance(schema, s.Record):
        return ("record", schema.fullname)
    if isinstance(schema, s.Array) and isinstance(schema.items, s.Record):
        return ("array", schema.items.fullname)
    return None


def _needs_pinning(schema: s.Schema) -> bool:
    """Whether any union under ``schema`` has several non-null branches (their values need tagging)."""
    seen: set[int] = set()

    def visit(t: s.Schema) -> bool:
        if isinstance(t, s.Record):
            if id(t) in seen:
                return False
            seen.add(id(t))
            return any(visit(f.type) for f in t.fields)
        if isinstance(t, s.Fixed):
            return t.logical == "uuid"  # fastavro wants the 16 bytes, the model holds a UUID
        if isinstance(t, s.Array):
            return visit(t.items)
        if isinstance(t, s.Map):
            return visit(t.values)
        if isinstance(t, s.Union):
            non_null = [b for b in t.branches if not (isinstance(b, s.Primitive) and b.type == "null")]
            return len(non_null) > 1 or any(visit(b) for b in non_null)
        return False

    return visit(schema)


def _trusted_plain(schema: s.Schema) -> bool:
    """Whether fastavro's value for ``schema`` is already what the model holds."""
    if isinstance(schema, s.Primitive):
        return True
    if isinstance(schema, s.Fixed):
        return schema.logical != "uuid"
    if isinstance(schema, s.Array):
        return _trusted_plain(schema.items)
    if isinstance(schema, s.Map):
        return _trusted_plain(schema.values)
    if isinstance(schema, s.Union):
        return all(isinstance(b, s.Primitive) for b in schema.branches)
    return False


def _union_decoder(union: s.Union, resolve: Resolver) -> Converter:
    non_null = [b for b in union.branches if not (isinstance(b, s.Primitive) and b.type == "null")]
    if len(non_null) == 1:
        inner = _decoder(non_null[0], resolve)
        return lambda v: None if v is None else inner(v)
    by_name = {s.branch_key(b): _decoder(b, resolve) for b in non_null}
    records = [b for b in non_null if isinstance(b, s.Record)]

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
        return v

    return decode


def _matches_raw(branch: s.Schema, v: Any) -> bool:
    if isinstance(branch, s.Enum):
        return isinstance(v, str) and v in branch.symbols
    if isinstance(branch, s.Primitive) and branch.type == "string" and branch.logical is None:
        return isinstance(v, str)
    return _matches(branch, v)


__all__ = ["AvroEnum", "AvroRecord", "register"]
