"""The raw form: values as fastavro reads and writes them under a logical-type-stripped schema.

fastavro turns logical types into Python values and back itself, but slowly
(``uuid.UUID`` parsing, a decimal context per value, datetime arithmetic in Python):
on a typical event that is about half of its read and write time. Generated classes
read and write with a schema whose primitive logical types are stripped, so fastavro
moves the raw int, str or bytes, and the class's compiled code converts them with the
cheaper functions below (``converter`` when reading, ``unconverter`` when writing):
byte for byte what fastavro's own conversions give for every value they accept
(``tests/test_rawform.py`` checks that against fastavro). Decimals are checked more
strictly: fastavro writes 1E+29 into a decimal of precision 29.

Positions directly inside a union of several non-null branches keep their logical
types: there the raw value could not tell two branches apart (a date from a
timestamp), so fastavro still converts them. Every record starts afresh.

fastavro fills a reader field missing from the writer with the schema's *JSON*
default (a timestamp as an int, bytes as a str of code points). The reader schema
gets those defaults rewritten to what reading them from the wire would give, so a
default is decoded exactly like a value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

import fastavro

from contracts import schema as s

Converter = Callable[[Any], Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_new = object.__new__
# UUID's slot descriptors: cheaper than object.__setattr__ by name (UUID forbids plain setattr).
_set_uuid_int = uuid.UUID.__dict__["int"].__set__
_set_uuid_safe = uuid.UUID.__dict__["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid(v: Any) -> Any:
    if v.__class__ is str:
        digits = v.replace("-", "")
        if len(digits) == 32:
            # What uuid.UUID(v) does for a hyphenated string, without its Python-level checks.
            try:
                value = int(digits, 16)
            except ValueError:
                return uuid.UUID(v)  # raises the usual error
            u = _new(uuid.UUID)
            _set_uuid_int(u, value)
            _set_uuid_safe(u, _UNKNOWN)
            return u
        return uuid.UUID(v)
    return v


def _decimal(scale: int) -> Converter:
    exponent = f"E-{scale}"

    def convert(v: Any) -> Any:
        if v.__class__ is bytes:
            # Coefficient and exponent exactly as written (12.99 stays 12.99, 5.00 stays 5.00).
            return Decimal(f"{int.from_bytes(v, 'big', signed=True)}{exponent}")
        return v

    return convert


def _instant(epoch: datetime, per_second: int) -> Converter:
    if per_second == 1000:

        def millis(v: Any) -> Any:
            # positional timedelta(days, seconds, microseconds, milliseconds): keywords cost more
            return epoch + timedelta(0, 0, 0, v) if v.__class__ is int else v

        return millis

    def micros(v: Any) -> Any:
        return epoch + timedelta(0, 0, v) if v.__class__ is int else v

    return micros


def _date(v: Any) -> Any:
    return date.fromordinal(v + _EPOCH_ORDINAL) if v.__class__ is int else v


def _time(per_second: int) -> Converter:
    def convert(v: Any) -> Any:
        if v.__class__ is not int:
            return v
        seconds, fraction = divmod(v, per_second)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return time(hour, minute, second, fraction * (1_000_000 // per_second))

    return convert


def converter(schema: s.Primitive) -> Converter | None:
    """The raw-to-Python conversion of a primitive's logical type, ``None`` when it has none."""
    logical = schema.logical
    if logical == "uuid" and schema.type == "string":
        return _uuid
    if logical == "decimal" and schema.type == "bytes":
        return _decimal(int(schema.props.get("scale", 0)))
    if logical in _INSTANTS and schema.type == "long":
        epoch, per_second = _INSTANTS[logical]
        return _instant(epoch, per_second)
    if logical == "date" and schema.type == "int":
        return _date
    if logical == "time-millis" and schema.type == "int":
        return _time(1000)
    if logical == "time-micros" and schema.type == "long":
        return _time(1_000_000)
    return None


def unconverter(schema: s.Primitive) -> Converter | None:
    """The Python-to-raw conversion of a primitive's logical type (``converter`` reversed)."""
    if converter(schema) is None:
        return None
    logical = schema.logical
    if logical == "uuid":
        return _uuid_text
    if logical == "decimal":
        return _decimal_bytes(int(schema.props.get("scale", 0)), int(schema.props["precision"]))
    if logical in _INSTANTS:
        epoch, per_second = _INSTANTS[logical]
        return _instant_number(epoch, per_second)
    if logical == "date":
        return _day_number
    return _time_number(1000 if logical == "time-millis" else 1_000_000)


def _uuid_text(v: Any) -> Any:
    return str(v) if isinstance(v, uuid.UUID) else v


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # scaleb never rounds here


def _decimal_bytes(scale: int, precision: int) -> Converter:
    limit = 10**precision

    def convert(v: Any) -> Any:
        if not isinstance(v, Decimal):
            return v
        if not v.is_finite():
            raise ValueError(f"{v} is not a finite number: Avro decimals cannot hold it")
        scaled = v.scaleb(scale, _EXACT)
        unscaled = int(scaled)
        if scaled != unscaled:
            raise ValueError(f"{v} has more than the schema's {scale} decimal places")
        if not -limit < unscaled < limit:
            raise ValueError(f"{v} has more than the schema's {precision} digits")
        # fastavro sizes the two's complement by the magnitude (-128 takes two bytes): same bytes
        return unscaled.to_bytes((abs(unscaled).bit_length() + 8) // 8, "big", signed=True)

    return convert


def _instant_number(epoch: datetime, per_second: int) -> Converter:
    unit = timedelta(microseconds=1_000_000 // per_second)

    def convert(v: Any) -> Any:
        return (v - epoch) // unit if isinstance(v, datetime) else v

    return convert


def _day_number(v: Any) -> Any:
    return v.toordinal() - _EPOCH_ORDINAL if isinstance(v, date) else v


def _time_number(per_second: int) -> Converter:
    def convert(v: Any) -> Any:
        if not isinstance(v, time):
            return v
        return (v.hour * 3600 + v.minute * 60 + v.second) * per_second + v.microsecond // (1_000_000 // per_second)

    return convert


_INSTANTS = {
    "timestamp-millis": (_EPOCH, 1000),
    "timestamp-micros": (_EPOCH, 1_000_000),
    "local-timestamp-millis": (_EPOCH_NAIVE, 1000),
    "local-timestamp-micros": (_EPOCH_NAIVE, 1_000_000),
}


def raw_schema(record: s.Record, *, with_defaults: bool = True) -> Any:
    """``record`` parsed by fastavro, logical types stripped where the decoders convert them.

    ``with_defaults`` rewrites field defaults to their read form; a reader schema needs
    it, a writer schema (only its layout counts) does not.
    """
    parsed: dict[str, Any] = fastavro.parse_schema(_strip(record, stripped=True, defined=set()))  # type: ignore[assignment]
    if with_defaults:
        by_name = {n.fullname: n for n in s.walk_named(record) if isinstance(n, s.Record)}
        copies = [parsed, *parsed.get("__named_schemas", {}).values()]
        for node in copies:
            _patch_defaults(node, by_name)
    return parsed


def raw_json(record: s.Record) -> Any:
    """``raw_schema`` as Avro JSON, defaults as written (for a backend that reads JSON, not fastavro's parse)."""
    return _strip(record, stripped=True, defined=set())


def _strip(schema: s.Schema, *, stripped: bool, defined: set[str], namespace: str = "") -> Any:
    if isinstance(schema, s.Primitive):
        if stripped and converter(schema) is not None:
            return schema.type
        return s.to_json(schema)
    if isinstance(schema, s.Record):
        if schema.fullname in defined:
            return schema.fullname
        defined.add(schema.fullname)
        out: dict[str, Any] = {"type": "error" if schema.is_error else "record", "name": schema.fullname}
        if namespace and not schema.namespace:
            out["namespace"] = ""  # a bare name would inherit the enclosing namespace
        if schema.aliases:
            out["aliases"] = list(schema.aliases)
        fields = []
        for f in schema.fields:
            fj: dict[str, Any] = {"name": f.name, "type": _strip(f.type, stripped=True, defined=defined, namespace=schema.namespace)}
            if f.has_default:
                fj["default"] = f.default
            if f.aliases:
                fj["aliases"] = list(f.aliases)
            fields.append(fj)
        out["fields"] = fields
        return out
    if isinstance(schema, s.Enum | s.Fixed):
        return s.to_json(schema, namespace=namespace, defined=defined)
    if isinstance(schema, s.Array):
        return {"type": "array", "items": _strip(schema.items, stripped=stripped, defined=defined, namespace=namespace)}
    if isinstance(schema, s.Map):
        return {"type": "map", "values": _strip(schema.values, stripped=stripped, defined=defined, namespace=namespace)}
    inner = stripped and not schema.multi_branch
    return [_strip(b, stripped=inner, defined=defined, namespace=namespace) for b in schema.branches]


def _patch_defaults(node: Any, records: dict[str, s.Record]) -> None:
    """Rewrite the defaults of every record defined in a fastavro-parsed schema node."""
    if isinstance(node, list):
        for b in node:
            _patch_defaults(b, records)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind in ("record", "error"):
        record = records[node["name"]]
        for fdict, f in zip(node["fields"], record.fields, strict=True):
            if "default" in fdict:
                fdict["default"] = read_form(f.type, f.default, stripped=True)
            _patch_defaults(fdict["type"], records)
    elif kind == "array":
        _patch_defaults(node["items"], records)
    elif kind == "map":
        _patch_defaults(node["values"], records)


def read_form(schema: s.Schema, value: Any, *, stripped: bool) -> Any:
    """A JSON default as fastavro would give it reading the same value from the wire."""
    if isinstance(schema, s.Union):
        return read_form(schema.branches[0], value, stripped=stripped and not schema.multi_branch)
    if isinstance(schema, s.Primitive):
        raw: Any = value
        if schema.type in ("float", "double"):
            raw = float(value)  # Avro's JSON spells them "NaN", "Infinity", "-Infinity": float() reads those
        elif schema.type == "bytes":
            raw = value.encode("latin-1")
        convert = converter(schema)
        # Where the logical type is kept, fastavro converts and so must the default.
        return convert(raw) if convert is not None and not stripped else raw
    if isinstance(schema, s.Fixed):
        raw = value.encode("latin-1")
        if schema.logical == "decimal":  # fastavro converts decimals on fixed itself
            return _decimal(int(schema.props.get("scale", 0)))(raw)
        return raw
    if isinstance(schema, s.Array):
        return [read_form(schema.items, v, stripped=stripped) for v in value]
    if isinstance(schema, s.Map):
        return {k: read_form(schema.values, v, stripped=stripped) for k, v in value.items()}
    if isinstance(schema, s.Record):
        return {
            f.name: read_form(f.type, value.get(f.name, f.default), stripped=True)
            for f in schema.fields
            if f.name in value or f.has_default
        }
    return value  # enum symbol
