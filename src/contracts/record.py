"""``AvroRecord``: the base class of every generated event class.

A generated class carries its Avro schema and full name. Conversion to and from
the "Avro-ready" dict that fastavro reads and writes is compiled once per class
from that schema, so that union branches are pinned by full name (fastavro
would otherwise pick the first record that fits) and logical types fastavro
leaves raw (uuid on fixed) are handled here.

Two forms: ``to_avro()``/``from_avro()`` speak fastavro's usual form for
``parsed_schema()``; the serializers and ``to_avro_bytes()``/``from_avro_bytes()``
use the faster raw form for the codec's ``raw_schema`` (see ``_rawform``).
"""

from __future__ import annotations

import functools
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
from pydantic import BaseModel, ConfigDict, ValidationError

from contracts import _rawform as rf
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
        codec = _codec(type(self))
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, codec.raw_schema, codec.encode_raw(self))
        return buf.getvalue()

    @classmethod
    def from_avro_bytes(cls, data: bytes, writer_schema: dict[str, Any] | None = None) -> Self:
        """Decode schemaless Avro binary, resolving ``writer_schema`` to this class's schema."""
        codec = _codec(cls)
        if writer_schema is None:
            raw = fastavro.schemaless_reader(io.BytesIO(data), codec.raw_schema, None, return_record_name=True)
            return cast(Self, codec.decode_own(raw))  # type: ignore[arg-type]
        writer = codec.writer_layout(s.parse_schema(writer_schema))
        raw = fastavro.schemaless_reader(io.BytesIO(data), writer, codec.raw_schema, return_record_name=True)
        return cast(Self, codec.decode_trusted(raw))  # type: ignore[arg-type]


# -- the compiled codec ----------------------------------------------------


class _Codec:
    """Per-class converters between model instances and Avro-ready dicts."""

    def __init__(self, cls: type[AvroRecord]) -> None:
        self.cls = cls
        self.record = s.parse_schema(cls.__avro_schema__)
        if not isinstance(self.record, s.Record):
            raise TypeError(f"{cls.__name__}.__avro_schema__ is not a record schema")
        # What the compiled builders read with: fastavro leaves most logical types raw (see _rawform).
        self.raw_schema = rf.raw_schema(self.record)
        # fullname -> python attribute name of each field
        by_alias = {(info.alias or name): name for name, info in cls.model_fields.items()}
        self._encoders: list[tuple[str, str, Converter]] = []
        self._decoders: list[tuple[str, str, Converter, bool, Any]] = []
        resolve = _resolver(cls)
        self._resolve = resolve
        self._builders: dict[bool, Callable[[dict[str, Any]], AvroRecord]] = {}
        self._raw_encoder: Callable[[AvroRecord], dict[str, Any]] | None = None
        self._compiling = False
        self.dump_is_avro = not _needs_pinning(self.record)
        self._plain_out: list[tuple[str, str]] = []
        # (avro name, attribute, field schema) as the builders read them
        self._fields_in: list[tuple[str, str, s.Schema]] = []
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
            self._fields_in.append((f.name, attr, f.type))
        # fastavro's own dict can become the instance's __dict__ when the keys are the attribute names.
        self._renames = any(name != attr for name, attr, *_ in self._fields_in)

    @functools.cached_property
    def fastavro_schema(self) -> Any:
        """The schema as written, parsed by fastavro; only ``parsed_schema()`` asks for it, so it waits until then."""
        return fastavro.parse_schema(self.cls.__avro_schema__)

    @staticmethod
    def writer_layout(writer: s.Schema) -> Any:
        """A writer's schema parsed for reading into ``raw_schema``: logical types stripped alike."""
        if isinstance(writer, s.Record):
            return rf.raw_schema(writer, with_defaults=False)
        return fastavro.parse_schema(s.to_json(writer))

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

    def encode_raw(self, obj: AvroRecord) -> dict[str, Any]:
        """``encode`` for ``raw_schema``: logical values already converted, cheaper than fastavro does.

        Compiled once per class, like the decoders: this is the hot path of every producer.
        """
        return self.compiled_encoder()(obj)

    def compiled_encoder(self) -> Callable[[AvroRecord], dict[str, Any]]:
        """The compiled encoder, to call directly on hot paths (the method while compiling: recursion)."""
        if self._raw_encoder is not None:
            return self._raw_encoder
        return self.encode_raw if self._compiling else self._compile_encoder()

    def compiled_builder(self, in_place: bool) -> Callable[[dict[str, Any]], AvroRecord]:
        """The compiled builder, to call directly on hot paths (the method while compiling: recursion)."""
        found = self._builders.get(in_place)
        if found is not None:
            return found
        if self._compiling:
            return self.decode_own if in_place else self.decode_trusted
        return self._compile(in_place=in_place)

    def _compile_encoder(self) -> Callable[[AvroRecord], dict[str, Any]]:
        self._compiling = True
        try:
            return self._compile_encoder_now()
        finally:
            self._compiling = False

    def _compile_encoder_now(self) -> Callable[[AvroRecord], dict[str, Any]]:
        scope: dict[str, Any] = {}
        entries = []
        for i, (name, attr, schema) in enumerate(self._fields_in):
            item = f"d[{attr!r}]"
            entries.append(f"{name!r}: {self._raw_expression(schema, item, f'_{i}', scope) or item}")
        source = f"def encode(obj):\n    d = obj.__dict__\n    return {{{', '.join(entries)}}}"
        exec(compile(source, f"<contracts encoder for {self.cls.__avro_fullname__}>", "exec"), scope)
        encoder: Callable[[AvroRecord], dict[str, Any]] = scope["encode"]
        self._raw_encoder = encoder
        return encoder

    def _raw_expression(self, schema: s.Schema, item: str, key: str, scope: dict[str, Any]) -> str | None:
        """Python source turning the model's ``item`` into its raw form; ``None`` when it is already."""
        if isinstance(schema, s.Enum) or (isinstance(schema, s.Primitive) and rf.unconverter(schema) is None):
            return None  # enums are StrEnums: fastavro writes them as the strings they are
        if isinstance(schema, s.Record):
            scope[key] = _codec(self._resolve(schema.fullname)).compiled_encoder()
            return f"{key}({item})"
        if isinstance(schema, s.Array) and isinstance(schema.items, s.Record):
            scope[key] = _codec(self._resolve(schema.items.fullname)).compiled_encoder()
            return f"[{key}(x) for x in {item}]"
        if isinstance(schema, s.Primitive):
            scope[key] = rf.unconverter(schema)
            return f"{key}({item})"
        if isinstance(schema, s.Union) and not schema.multi_branch:
            inner = schema.non_null[0]
            if isinstance(inner, s.Primitive):
                converted = self._raw_expression(inner, "_v", key, scope)
                return None if converted is None else f"(None if (_v := {item}) is None else {converted})"
        encode = _encoder(schema, self._resolve, raw=True, owned=True)
        if encode is _identity:
            return None
        scope[key] = encode
        return f"{key}({item})"

    def decode(self, data: dict[str, Any], validate: bool) -> AvroRecord:
        if validate and not isinstance(data, dict):
            raise ValidationError.from_exception_data(
                self.cls.__name__, [{"type": "dict_type", "loc": (), "input": data}]
            )
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for name, attr, dec, has_default, info in self._decoders:
            if name in data:
                try:
                    values[attr] = dec(data[name])
                except (ValueError, TypeError, KeyError, AttributeError, LookupError, ArithmeticError) as exc:
                    if not validate:
                        raise
                    # Reported the way pydantic reports every other invalid value: field and reason.
                    errors.append({"type": "value_error", "loc": (name,), "input": data[name], "ctx": {"error": str(exc) or type(exc).__name__}})
            elif has_default:
                values[attr] = info.get_default(call_default_factory=True)
            elif validate:
                continue  # let pydantic report the missing field
            else:
                raise ValueError(f"{self.cls.__avro_fullname__}: missing field '{name}'")
        if errors:
            raise ValidationError.from_exception_data(self.cls.__name__, errors)
        if validate:
            return self.cls.model_validate(values, by_name=True)
        return self.construct(values)

    def decode_trusted(self, data: dict[str, Any]) -> AvroRecord:
        """``decode(data, validate=False)`` for what fastavro read with this class's schema as reader.

        fastavro fills every reader field and already turns logical types into
        Python values, so plain fields are copied as they are. The builder is
        straight-line code compiled once per class: this is the hot path of every
        consumer.
        """
        return self.compiled_builder(False)(data)

    def decode_own(self, data: dict[str, Any]) -> AvroRecord:
        """``decode_trusted`` for data written *and* read with exactly this class's schema.

        fastavro's dict then holds the fields in schema order under their Avro names,
        so (unless a name needed a Python alias) it becomes the instance's ``__dict__``
        in place, nested records replaced by instances. ``data`` is consumed.
        """
        return self.compiled_builder(True)(data)

    def _compile(self, *, in_place: bool) -> Callable[[dict[str, Any]], AvroRecord]:
        self._compiling = True
        try:
            return self._compile_now(in_place=in_place)
        finally:
            self._compiling = False

    def _compile_now(self, *, in_place: bool) -> Callable[[dict[str, Any]], AvroRecord]:
        in_place = in_place and not self._renames
        scope: dict[str, Any] = {
            "_new": _new,
            "_cls": self.cls,
            "_set_dict": _set_dict,
            "_set_fields": _set_fields_set,
            "_set_extra": _set_extra,
            "_set_private": _set_private,
            "_fields": frozenset(attr for _, attr, *_ in self._fields_in),
        }
        values: list[tuple[str, str, str]] = []  # (avro name, attribute, expression)
        for i, (name, attr, schema) in enumerate(self._fields_in):
            item = f"data[{name!r}]"
            values.append((name, attr, self._expression(schema, item, f"_{i}", scope, in_place) or item))
        if in_place:
            lines = [f"    data[{name!r}] = {expr}" for name, _, expr in values if expr != f"data[{name!r}]"]
            body = "data"
        else:
            lines = []
            body = "{" + ", ".join(f"{attr!r}: {expr}" for _, attr, expr in values) + "}"
        source = "\n".join(
            [
                "def build(data):",
                *lines,
                "    obj = _new(_cls)",
                f"    _set_dict(obj, {body})",
                "    _set_fields(obj, set(_fields))",
                "    _set_extra(obj, None)",
                "    _set_private(obj, None)",
                "    return obj",
            ]
        )
        exec(compile(source, f"<contracts decoder for {self.cls.__avro_fullname__}>", "exec"), scope)
        builder: Callable[[dict[str, Any]], AvroRecord] = scope["build"]
        self._builders[in_place] = builder
        if not in_place and self._renames:
            self._builders[True] = builder
        return builder

    def _expression(self, schema: s.Schema, item: str, key: str, scope: dict[str, Any], in_place: bool) -> str | None:
        """Python source turning ``item`` (as fastavro read it with ``raw_schema``) into the model's value.

        ``None`` when fastavro's value is already the model's. Helpers go into ``scope``
        under names starting with ``key``.
        """
        if _trusted_plain(schema, owned=True):
            return None
        if isinstance(schema, s.Enum):
            scope[key] = {m.value: m for m in self._resolve(schema.fullname)}
            return f"{key}[{item}]"
        if isinstance(schema, s.Record) or (isinstance(schema, s.Array) and isinstance(schema.items, s.Record)):
            # A record (or an array of records) outside any union: fastavro gives plain dicts,
            # so the nested class's builder is called directly.
            fullname = schema.fullname if isinstance(schema, s.Record) else cast(s.Record, schema.items).fullname
            scope[key] = _codec(self._resolve(fullname)).compiled_builder(in_place)
            return f"{key}({item})" if isinstance(schema, s.Record) else f"[{key}(x) for x in {item}]"
        if isinstance(schema, s.Union) and not schema.multi_branch:
            inner = schema.non_null[0]
            if isinstance(inner, s.Primitive):  # named types in unions come tagged (name, value)
                converted = self._expression(inner, "_v", key, scope, in_place)
                return None if converted is None else f"(None if (_v := {item}) is None else {converted})"
        if isinstance(schema, s.Primitive):
            scope[key] = rf.converter(schema)
            return f"{key}({item})"
        scope[key] = _decoder(schema, self._resolve, owned=True)
        return f"{key}({item})"

    def construct(self, values: dict[str, Any]) -> AvroRecord:
        obj = _new(self.cls)
        _set_dict(obj, values)
        _set_fields_set(obj, set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj


_new = object.__new__
# BaseModel's slot descriptors, called directly: cheaper than object.__setattr__ by name.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


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


def _encoder(schema: s.Schema, resolve: Resolver, *, raw: bool = False, owned: bool = False) -> Converter:
    """Turn a model value into what fastavro writes.

    ``raw``: for the codec's ``raw_schema`` (records in their raw form too); ``owned``: this
    position's logical type is stripped there, so the value is converted here (see ``_rawform``).
    """
    if isinstance(schema, s.Primitive):
        convert = rf.unconverter(schema) if owned else None
        return convert or _identity
    if isinstance(schema, s.Enum):
        return _enum_value
    if isinstance(schema, s.Fixed):
        if schema.logical == "uuid":
            return lambda v: v.bytes if isinstance(v, uuid.UUID) else v
        return _identity
    if isinstance(schema, s.Record):
        if raw:
            return lambda v: _codec(type(v)).encode_raw(v)
        return lambda v: v.to_avro()
    if isinstance(schema, s.Array):
        item = _encoder(schema.items, resolve, raw=raw, owned=owned)
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = _encoder(schema.values, resolve, raw=raw, owned=owned)
        if val is _identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_encoder(schema, resolve, raw=raw, owned=owned)


def _enum_value(v: Any) -> Any:
    return v.value if isinstance(v, PyEnum) else v


def _union_encoder(union: s.Union, resolve: Resolver, *, raw: bool, owned: bool) -> Converter:
    non_null = union.non_null
    if len(non_null) == 1:
        inner = _encoder(non_null[0], resolve, raw=raw, owned=owned)
        return lambda v: None if v is None else inner(v)
    pinned = len(non_null) > 1
    # Several branches keep their logical types in the raw schema: fastavro converts those.
    encoders = [(b, _encoder(b, resolve, raw=raw)) for b in non_null]

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


def _decoder(schema: s.Schema, resolve: Resolver, *, owned: bool = False) -> Converter:
    """Turn a value as fastavro reads it into the model's value.

    ``owned``: the value was read with the codec's ``raw_schema``, where this position's
    logical type was stripped (see ``_rawform``); otherwise fastavro converted it.
    """
    if isinstance(schema, s.Primitive):
        convert = rf.converter(schema) if owned else None
        if convert is not None:
            return convert
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
            try:
                return members[v]
            except (KeyError, TypeError):
                raise ValueError(f"{v!r} is not a symbol of {schema.fullname}; allowed: {', '.join(schema.symbols)}") from None

        return dec_enum
    if isinstance(schema, s.Fixed):
        # In a union, fastavro's return_record_name=True tags every named branch, fixed included.
        if schema.logical == "uuid":
            return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(bytes=bytes(_untagged(v)))
        return _untagged
    if isinstance(schema, s.Record):
        codecs: list[_Codec] = []

        def dec_record(v: Any) -> Any:
            if not codecs:
                codecs.append(_codec(resolve(schema.fullname)))
            if v.__class__ is tuple:
                v = v[1]
            elif isinstance(v, AvroRecord):
                return v
            if not isinstance(v, dict):
                raise ValueError(f"expected a {schema.fullname} record as a dict, got {type(v).__name__}")
            return codecs[0].decode_trusted(v)

        return dec_record
    if isinstance(schema, s.Array):
        item = _decoder(schema.items, resolve, owned=owned)
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if isinstance(schema, s.Map):
        val = _decoder(schema.values, resolve, owned=owned)
        if val is _identity:
            return dict
        return lambda v: {k: val(x) for k, x in v.items()}
    return _union_decoder(schema, resolve, owned=owned)


def _untagged(v: Any) -> Any:
    """A named union branch's value without the ``(fullname, value)`` tag fastavro may put on it."""
    return v[1] if v.__class__ is tuple and len(v) == 2 and isinstance(v[0], str) else v


def _needs_pinning(schema: s.Schema) -> bool:
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


def _trusted_plain(schema: s.Schema, *, owned: bool) -> bool:
    """Whether fastavro's value for ``schema`` is already what the model holds (``owned``: see ``_decoder``)."""
    if isinstance(schema, s.Primitive):
        return not owned or rf.converter(schema) is None
    if isinstance(schema, s.Fixed):
        return schema.logical != "uuid"
    if isinstance(schema, s.Array):
        return _trusted_plain(schema.items, owned=owned)
    if isinstance(schema, s.Map):
        return _trusted_plain(schema.values, owned=owned)
    if isinstance(schema, s.Union):
        if any(isinstance(b, s.Fixed) for b in schema.branches):
            return False  # a named branch may arrive tagged as (fullname, value)
        if schema.multi_branch:
            # fastavro converts logical branches here, unless the writer had the plain type
            return all(isinstance(b, s.Primitive) and rf.converter(b) is None for b in schema.branches)
        return all(_trusted_plain(b, owned=owned) for b in schema.branches)
    return False


def _union_decoder(union: s.Union, resolve: Resolver, *, owned: bool) -> Converter:
    non_null = union.non_null
    if len(non_null) == 1:
        inner = _decoder(non_null[0], resolve, owned=owned)
        return lambda v: None if v is None else inner(v)
    by_name = {s.branch_key(b): _decoder(b, resolve) for b in non_null}
    records = [b for b in non_null if isinstance(b, s.Record)]
    raw_branches = [(b, c) for b in non_null if isinstance(b, s.Primitive) and (c := rf.converter(b)) is not None]

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
        # Still raw: the writer had a plain type here (its logical type stripped, see _rawform),
        # so convert as the reader's branch of that physical type says.
        for b, convert in raw_branches:
            if isinstance(v, _PY_TYPES[b.type]) and not isinstance(v, bool):
                return convert(v)
        return v

    return decode


def _matches_raw(branch: s.Schema, v: Any) -> bool:
    if isinstance(branch, s.Enum):
        return isinstance(v, str) and v in branch.symbols
    if isinstance(branch, s.Primitive) and branch.type == "string" and branch.logical is None:
        return isinstance(v, str)
    return _matches(branch, v)


__all__ = ["AvroEnum", "AvroRecord", "register"]
