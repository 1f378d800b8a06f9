"""Walking a message's values with its schema, for field rules (CEL_FIELD): which fields, what tags.

A field's tags are its inline ``confluent:tags`` and the metadata's tags whose path pattern
matches its full name (``com.acme.Order.email``; ``*`` within a name, ``**`` across names, ``?``
one character), as Confluent's clients read them. Only primitive values (string, bytes, numbers,
booleans, null) reach a field rule; records, arrays and maps are walked into, enums and fixed
are left alone, again as Confluent's clients do.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from contracts import schema as s

PRIMITIVE_TYPES = {"string": "STRING", "bytes": "BYTES", "int": "INT", "long": "LONG", "float": "FLOAT", "double": "DOUBLE", "boolean": "BOOLEAN", "null": "NULL"}
_BY_PYTHON: tuple[tuple[type, tuple[str, ...]], ...] = (
    (bool, ("boolean",)), (int, ("int", "long")), (float, ("double", "float")), (str, ("string",)), (bytes, ("bytes",)),
)  # fmt: skip


@dataclass(frozen=True)
class FieldInfo:
    """What a field rule is told about the field it runs on (Confluent's names: fullName, name, typeName, tags)."""

    full_name: str
    name: str
    type_name: str
    tags: frozenset[str]


@lru_cache(maxsize=512)
def pattern(glob: str) -> re.Pattern[str]:
    """A tag path pattern as a regular expression: ``**`` crosses dots, ``*`` and ``?`` do not."""
    out, i = [], 0
    glob = glob.replace("**.*", "**")
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^.]*" if c == "*" else "[^.]" if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out))


def field_tags(record: s.Record, f: s.Field, metadata_tags: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
    full = f"{record.fullname}.{f.name}"
    inline = f.props.get("confluent:tags")
    tags = set(inline) if isinstance(inline, list) else set()
    for path, given in metadata_tags.items():
        if pattern(path).fullmatch(full):
            tags.update(given)
    return frozenset(tags)


Visit = Callable[[FieldInfo, s.Schema, Any, dict[str, Any], s.Record], Any]
"""Called for a primitive value: (its field, its schema, the value, the record holding it and that record's schema) -> the value to keep."""


class FieldWalker:
    """Walks values of one schema, calling ``visit`` on each primitive field value whose tags ``wanted`` accepts."""

    def __init__(self, schema: s.Schema, metadata_tags: Mapping[str, tuple[str, ...]]) -> None:
        self.schema = schema
        self.metadata_tags = metadata_tags
        self._tags: dict[int, list[frozenset[str]]] = {}

    def tags_of(self, record: s.Record) -> list[frozenset[str]]:
        found = self._tags.get(id(record))
        if found is None:
            found = self._tags[id(record)] = [field_tags(record, f, self.metadata_tags) for f in record.fields]
        return found

    def every_tag(self) -> set[str]:
        return {t for r in s.walk_named(self.schema) if isinstance(r, s.Record) for tags in self.tags_of(r) for t in tags}

    def walk(self, value: Any, wanted: Callable[[frozenset[str]], bool], visit: Visit) -> Any:
        return self._value(self.schema, value, None, wanted, visit)

    def _value(
        self, schema: s.Schema, value: Any, at: tuple[FieldInfo, dict[str, Any], s.Record] | None, wanted: Callable[[frozenset[str]], bool], visit: Visit
    ) -> Any:
        if isinstance(schema, s.Union):
            branch, inner = branch_of(schema, value)
            if branch is None:
                return value
            new = self._value(branch, inner, at, wanted, visit)
            return (value[0], new) if isinstance(value, tuple) and new is not inner else value if new is inner else new
        if isinstance(schema, s.Record):
            if not isinstance(value, dict):
                return value
            out = value
            for f, tags in zip(schema.fields, self.tags_of(schema), strict=True):
                if f.name not in value:
                    continue
                info = FieldInfo(f"{schema.fullname}.{f.name}", f.name, _type_name(f.type), tags)
                new = self._value(f.type, value[f.name], (info, value, schema), wanted, visit)
                if new is not value[f.name]:
                    if out is value:
                        out = dict(value)
                    out[f.name] = new
            return out
        if isinstance(schema, s.Array) and isinstance(value, list):
            items = [self._value(schema.items, v, at, wanted, visit) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(schema, s.Map) and isinstance(value, dict):
            values = {k: self._value(schema.values, v, at, wanted, visit) for k, v in value.items()}
            return value if all(values[k] is v for k, v in value.items()) else values
        if isinstance(schema, s.Primitive) and at is not None:
            info, holder, record = at
            if wanted(info.tags):
                typed = FieldInfo(info.full_name, info.name, PRIMITIVE_TYPES[schema.type], info.tags)
                return visit(typed, schema, value, holder, record)
        return value


def _type_name(schema: s.Schema) -> str:
    if isinstance(schema, s.Primitive):
        return PRIMITIVE_TYPES[schema.type]
    return {"record": "RECORD", "enum": "ENUM", "array": "ARRAY", "map": "MAP", "fixed": "FIXED"}.get(schema.kind, "COMBINED")


def branch_of(union: s.Union, value: Any) -> tuple[s.Schema | None, Any]:
    """The branch ``value`` belongs to, and the value inside a fastavro ``(name, value)`` pair."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        for b in union.branches:
            if s.branch_key(b) == value[0]:
                return b, value[1]
        return None, value
    if value is None:
        return next((b for b in union.branches if isinstance(b, s.Primitive) and b.type == "null"), None), value
    if isinstance(value, dict):
        records = [b for b in union.branches if isinstance(b, s.Record)]
        fitting = [r for r in records if set(value) <= {f.name for f in r.fields}]
        candidates: list[s.Schema] = [*fitting, *records, *(b for b in union.branches if isinstance(b, s.Map))]
        return (candidates[0] if candidates else None), value
    if isinstance(value, list):
        return next((b for b in union.branches if isinstance(b, s.Array)), None), value
    for python_type, names in _BY_PYTHON:
        if isinstance(value, python_type):
            return next((b for b in union.branches if isinstance(b, s.Primitive) and b.type in names), None), value
    return None, value


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def cel_view(schema: s.Schema, value: Any, only: frozenset[str] | None = None) -> Any:
    """``value`` as a CEL expression sees it: the serializers' raw Avro values made into what they mean.

    A decimal is its number (a double), a timestamp a timestamp, a date its day number, a uuid and
    an enum symbol their text, as Confluent's clients bind the same data. ``only`` keeps just these
    fields of a record (the ones an expression reads).
    """
    if isinstance(schema, s.Union):
        branch, inner = branch_of(schema, value)
        return value if branch is None else cel_view(branch, inner, only)
    if isinstance(schema, s.Record):
        if not isinstance(value, dict):
            return value
        return {f.name: cel_view(f.type, value[f.name]) for f in schema.fields if f.name in value and (only is None or f.name in only)}
    if isinstance(schema, s.Array) and isinstance(value, list):
        return [cel_view(schema.items, v) for v in value]
    if isinstance(schema, s.Map) and isinstance(value, dict):
        return {k: cel_view(schema.values, v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    logical = getattr(schema, "logical", None)
    if logical is None:
        return value
    if logical == "decimal":
        if isinstance(value, bytes):
            scale = int(getattr(schema, "props", {}).get("scale", 0))
            return float(decimal.Decimal(int.from_bytes(value, "big", signed=True)).scaleb(-scale))
        return float(value) if isinstance(value, decimal.Decimal) else value
    if isinstance(value, int) and not isinstance(value, bool):
        if logical in ("timestamp-millis", "local-timestamp-millis"):
            return _EPOCH + datetime.timedelta(milliseconds=value)
        if logical in ("timestamp-micros", "local-timestamp-micros"):
            return _EPOCH + datetime.timedelta(microseconds=value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return (value - _EPOCH.date()).days
    return value
