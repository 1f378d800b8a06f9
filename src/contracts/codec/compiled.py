"""The compiled codec of a generated class: encoders and builders compiled once per class, and the one
bytes path (``write`` / ``read_plan``) that the classes and the serializers share.

Two dict forms: ``encode``/``decode`` speak fastavro's usual form for the schema as
written; the compiled encoder and builders use the faster raw form for ``raw_schema``
(see ``rawform``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import fastavro
from pydantic import BaseModel, ValidationError

from contracts import schema as s
from contracts.codec import backend, rawform
from contracts.codec.classes import resolver
from contracts.codec.convert import Converter, Lookup, decoder, encoder, identity, needs_pinning, trusted_plain

if TYPE_CHECKING:
    from contracts.record import AvroRecord


@dataclass(frozen=True)
class ReadPlan:
    """Reading one writer schema's data into one class: the two schemas (fastavro-parsed) and the compiled builder."""

    cls: type[AvroRecord]
    writer: backend.Layout  # the writer's schema in the raw form
    reader: backend.Layout | None  # the class's raw schema when the writer's differs, else None
    build: Callable[[dict[str, Any]], AvroRecord]
    _reads: dict[str, backend.Read] = field(default_factory=dict, compare=False, repr=False)

    def decode(self, data: bytes, start: int = 0) -> Any:
        """The raw form of the Avro body at ``data[start:]`` (``backend.TrailingBytes`` if it ends early)."""
        now = backend.current()
        read = self._reads.get(now.name)
        if read is None:
            read = self._reads[now.name] = now.reader(self.writer, self.reader)
        return read(data, start)

    def read(self, data: bytes, start: int = 0) -> AvroRecord:
        return self.build(self.decode(data, start))


class Codec:
    """Per-class converters between model instances and Avro-ready dicts."""

    def __init__(self, cls: type[AvroRecord]) -> None:
        self.cls = cls
        self.record = s.parse_schema(cls.__avro_schema__)
        if not isinstance(self.record, s.Record):
            raise TypeError(f"{cls.__name__}.__avro_schema__ is not a record schema")
        # What the compiled builders read with: fastavro leaves most logical types raw (see rawform).
        self.raw_schema = rawform.raw_schema(self.record)
        self.raw_layout = backend.Layout(self.raw_schema, rawform.raw_json(self.record))
        # fullname -> python attribute name of each field
        by_alias = {(info.alias or name): name for name, info in cls.model_fields.items()}
        self._encoders: list[tuple[str, str, Converter]] = []
        self._decoders: list[tuple[str, str, Converter, bool, Any]] = []
        resolve = resolver(cls)
        self._resolve = resolve
        self._lookup = Lookup(resolve, codec_for)
        self._builders: dict[bool, Callable[[dict[str, Any]], AvroRecord]] = {}
        self._raw_encoder: Callable[[AvroRecord], dict[str, Any]] | None = None
        self._compiling = False
        self.dump_is_avro = not needs_pinning(self.record)
        self._plain_out: list[tuple[str, str]] = []
        # (avro name, attribute, field schema) as the builders read them
        self._fields_in: list[tuple[str, str, s.Schema]] = []
        for f in self.record.fields:
            attr = by_alias.get(f.name)
            if attr is None:
                raise TypeError(f"{cls.__name__} has no attribute for Avro field '{f.name}'")
            enc = encoder(f.type, self._lookup)
            if enc is identity or isinstance(f.type, s.Enum):
                self._plain_out.append((f.name, attr))
            else:
                self._encoders.append((f.name, attr, enc))
            info = cls.model_fields[attr]
            has_default = not info.is_required()
            dec = decoder(f.type, self._lookup)
            self._decoders.append((f.name, attr, dec, has_default, info))
            self._fields_in.append((f.name, attr, f.type))
        # fastavro's own dict can become the instance's __dict__ when the keys are the attribute names.
        self._renames = any(name != attr for name, attr, *_ in self._fields_in)
        self._plans: dict[str | None, ReadPlan] = {}
        self._writes: dict[str, backend.Write] = {}
        self._json_plans: dict[str, ReadPlan] = {}

    @functools.cached_property
    def fastavro_schema(self) -> Any:
        """The schema as written, parsed by fastavro; only ``parsed_schema()`` asks for it, so it waits until then."""
        return fastavro.parse_schema(self.cls.__avro_schema__)

    @staticmethod
    def writer_layout(writer: s.Schema) -> backend.Layout:
        """A writer's schema for reading into ``raw_schema``: logical types stripped alike."""
        if isinstance(writer, s.Record):
            return backend.Layout(rawform.raw_schema(writer, with_defaults=False), rawform.raw_json(writer))
        return backend.Layout(fastavro.parse_schema(s.to_json(writer)), s.to_json(writer))

    # -- the bytes path: the class's own methods and the serializers both take it ------------
    def to_bytes(self, obj: AvroRecord) -> bytes:
        """``obj`` as schemaless Avro binary."""
        return self.raw_write()(self.compiled_encoder()(obj))

    def raw_write(self) -> backend.Write:
        """Writing a value in the raw form (what ``encode_raw`` gives) as schemaless Avro binary, through the backend."""
        now = backend.current()
        write = self._writes.get(now.name)
        if write is None:
            write = self._writes[now.name] = now.writer(self.raw_layout)
        return write

    def read_plan_for_json(self, data: dict[str, Any]) -> ReadPlan:
        """``read_plan`` for a writer's schema given as JSON: parsed and planned once per distinct text."""
        key = s.compact(data)
        plan = self._json_plans.get(key)
        if plan is None:
            plan = self._json_plans[key] = self.read_plan(s.parse_schema(data))
        return plan

    def read_plan(self, writer: s.Schema | None) -> ReadPlan:
        """How to read data written with ``writer`` (``None``: with this class's own schema) into the class.

        Cached per writer schema (by its canonical form): the writer's layout is worked out once.
        """
        key = None if writer is None else s.canonical_form(writer)
        plan = self._plans.get(key)
        if plan is None:
            if writer is None or key == self._own_canonical:
                # Same schema: no resolution, fastavro's plain read path, and its dict becomes the instance's own.
                plan = ReadPlan(self.cls, self.raw_layout, None, self.compiled_builder(True))
            else:
                plan = ReadPlan(self.cls, self.writer_layout(writer), self.raw_layout, self.compiled_builder(False))
            self._plans[key] = plan
        return plan

    @functools.cached_property
    def _own_canonical(self) -> str:
        return s.canonical_form(self.record)

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
            return self.build_in_place if in_place else self.build
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
        if isinstance(schema, s.Enum) or (isinstance(schema, s.Primitive) and rawform.unconverter(schema) is None):
            return None  # enums are StrEnums: fastavro writes them as the strings they are
        if isinstance(schema, s.Record):
            scope[key] = codec_for(self._resolve(schema.fullname)).compiled_encoder()
            return f"{key}({item})"
        if isinstance(schema, s.Array) and isinstance(schema.items, s.Record):
            scope[key] = codec_for(self._resolve(schema.items.fullname)).compiled_encoder()
            return f"[{key}(x) for x in {item}]"
        if isinstance(schema, s.Primitive):
            scope[key] = rawform.unconverter(schema)
            return f"{key}({item})"
        if isinstance(schema, s.Union) and not schema.multi_branch:
            inner = schema.non_null[0]
            if isinstance(inner, s.Primitive):
                converted = self._raw_expression(inner, "_v", key, scope)
                return None if converted is None else f"(None if (_v := {item}) is None else {converted})"
        encode = encoder(schema, self._lookup, raw=True, stripped=True)
        if encode is identity:
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

    def build(self, data: dict[str, Any]) -> AvroRecord:
        """``decode(data, validate=False)`` for what fastavro read with this class's schema as reader.

        fastavro fills every reader field and already turns logical types into
        Python values, so plain fields are copied as they are. The builder is
        straight-line code compiled once per class: this is the hot path of every
        consumer.
        """
        return self.compiled_builder(False)(data)

    def build_in_place(self, data: dict[str, Any]) -> AvroRecord:
        """``build`` for data written *and* read with exactly this class's schema.

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
        if trusted_plain(schema, stripped=True):
            return None
        if isinstance(schema, s.Enum):
            scope[key] = {m.value: m for m in self._resolve(schema.fullname)}
            return f"{key}[{item}]"
        if isinstance(schema, s.Record) or (isinstance(schema, s.Array) and isinstance(schema.items, s.Record)):
            # A record (or an array of records) outside any union: fastavro gives plain dicts,
            # so the nested class's builder is called directly.
            fullname = schema.fullname if isinstance(schema, s.Record) else cast(s.Record, schema.items).fullname
            scope[key] = codec_for(self._resolve(fullname)).compiled_builder(in_place)
            return f"{key}({item})" if isinstance(schema, s.Record) else f"[{key}(x) for x in {item}]"
        if isinstance(schema, s.Union) and not schema.multi_branch:
            inner = schema.non_null[0]
            if isinstance(inner, s.Primitive):  # named types in unions come tagged (name, value)
                converted = self._expression(inner, "_v", key, scope, in_place)
                return None if converted is None else f"(None if (_v := {item}) is None else {converted})"
        if isinstance(schema, s.Primitive):
            scope[key] = rawform.converter(schema)
            return f"{key}({item})"
        scope[key] = decoder(schema, self._lookup, stripped=True)
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


def codec_for(cls: type[AvroRecord]) -> Codec:
    """The class's codec, made on first use and kept on the class."""
    codec: Codec | None = cls.__dict__.get("_avro_codec_")
    if codec is None:
        codec = Codec(cls)
        type.__setattr__(cls, "_avro_codec_", codec)
    return codec


__all__ = ["Codec", "ReadPlan", "codec_for"]
