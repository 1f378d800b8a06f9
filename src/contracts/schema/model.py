"""The typed model of Avro schemas: one class per kind, full names, and one walker over children.

fastavro validates schemas but keeps them as dicts; lint, codegen and the
compatibility engine need named types as objects (for recursion and identity),
hence this small model. ``children`` is the one place that knows which nodes a
node holds; walks over the model use it instead of their own isinstance ladders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""Marker for a field without a default (``None`` is the Avro default ``null``)."""


@dataclass(eq=False)
class Primitive:
    """A primitive type, possibly carrying a logical type (decimal, uuid, timestamp...)."""

    type: str
    logical: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    ignored: str | None = None
    """Why a ``logicalType`` given here was ignored (the spec's rule: the underlying type is used)."""

    @property
    def kind(self) -> str:
        return self.type


@dataclass(eq=False)
class Named:
    """Common part of record, enum and fixed: a full name, aliases and a doc."""

    fullname: str
    aliases: list[str] = field(default_factory=list)
    doc: str | None = None
    file: str | None = None

    @property
    def name(self) -> str:
        return self.fullname.rsplit(".", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.fullname.rsplit(".", 1)[0] if "." in self.fullname else ""


@dataclass(eq=False)
class Field:
    """A record field; ``default`` is ``NO_DEFAULT`` when the field has none."""

    name: str
    type: Schema
    default: Any = NO_DEFAULT
    doc: str | None = None
    aliases: list[str] = field(default_factory=list)
    order: str = "ascending"
    props: dict[str, Any] = field(default_factory=dict)
    """Properties Avro does not define (``confluent:tags``...), kept as written."""

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(eq=False)
class Record(Named):
    fields: list[Field] = field(default_factory=list)
    is_error: bool = False
    props: dict[str, Any] = field(default_factory=dict)
    """Properties Avro does not define, kept as written."""

    kind = "record"

    def field_named(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(eq=False)
class Enum(Named):
    symbols: list[str] = field(default_factory=list)
    default: str | None = None
    props: dict[str, Any] = field(default_factory=dict)

    kind = "enum"


@dataclass(eq=False)
class Fixed(Named):
    size: int = 0
    logical: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    ignored: str | None = None
    """Why a ``logicalType`` given here was ignored (the spec's rule: the underlying type is used)."""

    kind = "fixed"


@dataclass(eq=False)
class Array:
    items: Schema
    kind = "array"


@dataclass(eq=False)
class Map:
    values: Schema
    kind = "map"


@dataclass(eq=False)
class Union:
    branches: list[Schema]
    kind = "union"

    @property
    def non_null(self) -> list[Schema]:
        """The branches other than ``null``."""
        return [b for b in self.branches if not (isinstance(b, Primitive) and b.type == "null")]

    @property
    def multi_branch(self) -> bool:
        """Whether there are several non-null branches (a value must then name its branch)."""
        return len(self.non_null) > 1


Schema: TypeAlias = Primitive | Record | Enum | Fixed | Array | Map | Union
NamedSchema: TypeAlias = Record | Enum | Fixed


def fullname_of(name: str, namespace: str | None) -> str:
    """Resolve a (possibly short) Avro name against the enclosing namespace."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def type_label(schema: Schema, named: Callable[[Record | Enum | Fixed], str] | None = None, text: Callable[[str], str] = str) -> str:
    """A short human label for a schema: ``int``, ``com.acme.Money``, ``array<string>``.

    ``named`` renders a named type (by default its full name, through ``text``); ``text`` renders
    everything else, so that a page can escape the label and link its named types.
    """
    if isinstance(schema, Primitive):
        return text(f"{schema.type}({schema.logical})" if schema.logical else schema.type)
    if isinstance(schema, Record | Enum | Fixed):
        return named(schema) if named else text(schema.fullname)
    if isinstance(schema, Array):
        return text("array<") + type_label(schema.items, named, text) + text(">")
    if isinstance(schema, Map):
        return text("map<") + type_label(schema.values, named, text) + text(">")
    return text("union[") + text(", ").join(type_label(b, named, text) for b in schema.branches) + text("]")


def branch_key(schema: Schema) -> str:
    """The key Avro uses to tell union branches apart (type name or full name)."""
    if isinstance(schema, Record | Enum | Fixed):
        return schema.fullname
    if isinstance(schema, Primitive):
        return schema.type
    return schema.kind


LOGICAL_PHYSICAL: dict[str, set[str]] = {
    "decimal": {"bytes", "fixed"},
    "big-decimal": {"bytes"},
    "uuid": {"string", "fixed"},
    "date": {"int"},
    "time-millis": {"int"},
    "time-micros": {"long"},
    "timestamp-millis": {"long"},
    "timestamp-micros": {"long"},
    "timestamp-nanos": {"long"},
    "local-timestamp-millis": {"long"},
    "local-timestamp-micros": {"long"},
    "local-timestamp-nanos": {"long"},
    "duration": {"fixed"},
}


def children(schema: Schema) -> Sequence[Schema]:
    """The schemas ``schema`` holds directly: field types, items, values or branches (none for the rest)."""
    if isinstance(schema, Record):
        return [f.type for f in schema.fields]
    if isinstance(schema, Array):
        return (schema.items,)
    if isinstance(schema, Map):
        return (schema.values,)
    if isinstance(schema, Union):
        return schema.branches
    return ()


# Plain primitives are immutable and shared, so equal ones are the same object.
PLAIN: dict[str, Primitive] = {name: Primitive(name) for name in PRIMITIVES}

# Unnamed composite nodes whose children are all shared are shared too (hash-consing):
# the same field type in two versions is then one object, and comparing it is free.
# Nodes holding a named type are never shared, as named types belong to one parse.
INTERNED: dict[tuple[Any, ...], Schema] = {}
_Composite = TypeVar("_Composite", Array, Map, Union)
_INTERN_LIMIT = 100_000
SHARED: set[int] = {id(p) for p in PLAIN.values()}


def intern(node: _Composite) -> _Composite:
    held: Sequence[Schema] = children(node)
    if not all(id(c) in SHARED for c in held):
        return node
    key = (node.kind, *(id(c) for c in held))
    found = INTERNED.get(key)
    if found is None:
        if len(INTERNED) >= _INTERN_LIMIT:
            return node
        INTERNED[key] = node
        SHARED.add(id(node))
        return node
    return found  # type: ignore[return-value]  # same key, same kind


def walk_named(schema: Schema) -> Iterator[NamedSchema]:
    """Every named type reachable from ``schema``, each once, in definition order."""
    seen: set[int] = set()

    def visit(node: Schema) -> Iterator[NamedSchema]:
        if isinstance(node, Record | Enum | Fixed):
            if id(node) in seen:
                return
            seen.add(id(node))
            yield node
        for child in children(node):
            yield from visit(child)

    yield from visit(schema)
