"""Compatibility rules: a stable id, a category, a one-line meaning and a failing example.

An engine ``Incompatibility`` says what a reader cannot read; which rule it is
depends on which side is the new schema: a reader field without default is
``FIELD_ADDED_WITHOUT_DEFAULT`` when the new schema reads old data (backward),
and ``FIELD_REMOVED_WITHOUT_DEFAULT`` when old readers meet new data (forward).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import schema as s
from contracts.compat import checker as c


@dataclass(frozen=True)
class CompatRule:
    """One compatibility rule, as listed in docs/compatibility-rules.md."""

    id: str
    category: str
    summary: str
    old: str  # failing example: the published schema (fields only)
    new: str  # failing example: the candidate
    level: str  # a level at which the example fails


RULES: tuple[CompatRule, ...] = (
    CompatRule(
        "FIELD_ADDED_WITHOUT_DEFAULT", "fields",
        "The new schema reads a field old data does not have, and gives it no default.",
        '{"name": "id", "type": "string"}',
        '{"name": "id", "type": "string"}, {"name": "total", "type": "long"}',
        "BACKWARD",
    ),
    CompatRule(
        "FIELD_REMOVED_WITHOUT_DEFAULT", "fields",
        "The new schema no longer writes a field that old readers require (it has no default there).",
        '{"name": "id", "type": "string"}, {"name": "total", "type": "long"}',
        '{"name": "id", "type": "string"}',
        "FORWARD",
    ),
    CompatRule(
        "FIELD_ALIAS_AMBIGUOUS", "fields",
        "A reader field matches two writer fields, one by name and one by alias.",
        '{"name": "total", "type": "long"}, {"name": "amount", "type": "long"}',
        '{"name": "total", "type": "long", "aliases": ["amount"]}',
        "BACKWARD",
    ),
    CompatRule(
        "TYPE_CHANGED", "types",
        "A field's type changed to one Avro cannot convert the other into.",
        '{"name": "total", "type": "long"}',
        '{"name": "total", "type": "string"}',
        "BACKWARD",
    ),
    CompatRule(
        "TYPE_NARROWED", "types",
        "The reading side's type is narrower than the written one (reads int, data is long).",
        '{"name": "total", "type": "long"}',
        '{"name": "total", "type": "int"}',
        "BACKWARD",
    ),
    CompatRule(
        "ENUM_SYMBOL_REMOVED", "enums",
        "The new enum lacks a symbol old data may hold, and has no default symbol.",
        '{"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}}',
        '{"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["A"]}}',
        "BACKWARD",
    ),
    CompatRule(
        "ENUM_SYMBOL_ADDED", "enums",
        "New data may hold a symbol old readers do not know, and their enum has no default symbol.",
        '{"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["A"]}}',
        '{"name": "s", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}}',
        "FORWARD",
    ),
    CompatRule(
        "UNION_BRANCH_REMOVED", "unions",
        "Old data may hold a type (union branch) the new schema no longer accepts.",
        '{"name": "note", "type": ["null", "string"], "default": null}',
        '{"name": "note", "type": "string", "default": ""}',
        "BACKWARD",
    ),
    CompatRule(
        "UNION_BRANCH_ADDED", "unions",
        "New data may hold a type (union branch) old readers do not accept.",
        '{"name": "note", "type": "string", "default": ""}',
        '{"name": "note", "type": ["string", "null"], "default": ""}',
        "FORWARD",
    ),
    CompatRule(
        "NAME_CHANGED", "names",
        "A record, enum or fixed was renamed without an alias for its old name.",
        '{"name": "m", "type": {"type": "record", "name": "Money", "fields": []}}',
        '{"name": "m", "type": {"type": "record", "name": "Amount", "fields": []}}',
        "BACKWARD",
    ),
    CompatRule(
        "FIXED_SIZE_CHANGED", "types",
        "A fixed type changed its size.",
        '{"name": "h", "type": {"type": "fixed", "name": "Hash", "size": 16}}',
        '{"name": "h", "type": {"type": "fixed", "name": "Hash", "size": 32}}',
        "BACKWARD",
    ),
    CompatRule(
        "DECIMAL_SCALE_CHANGED", "logical types (strict)",
        "A decimal's scale changed: the same bytes now mean a different number. Reported with strict_logical_types.",
        '{"name": "p", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}',
        '{"name": "p", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}}',
        "BACKWARD",
    ),
    CompatRule(
        "DECIMAL_PRECISION_NARROWED", "logical types (strict)",
        "The reading side's decimal precision is smaller than the data's. Reported with strict_logical_types.",
        '{"name": "p", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}}',
        '{"name": "p", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}',
        "BACKWARD",
    ),
    CompatRule(
        "LOGICAL_TYPE_CHANGED", "logical types (strict)",
        "A logical type changed or was added or dropped (timestamp-millis to -micros): values change meaning. "
        "Reported with strict_logical_types.",
        '{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}',
        '{"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}}',
        "BACKWARD",
    ),
    CompatRule(
        "DEPLOYMENT_UNKNOWN_VERSION", "deployment",
        "deployments.toml says a service runs a version of a subject that compatibility/ does not have.",
        "compatibility/subjects/orders-value/v1.avsc only",
        '[services.billing]\nconsumes = { "orders-value" = 2 }',
        "any",
    ),
)  # fmt: skip

BY_ID = {r.id: r for r in RULES}

_NARROWING = {("long", "int"), ("float", "int"), ("double", "int"), ("float", "long"), ("double", "long"), ("double", "float")}


@dataclass(frozen=True)
class Described:
    rule: str
    category: str
    what: str  # the clause after "cannot read ...: "


def describe(inc: c.Incompatibility, *, reader_is_new: bool) -> Described:
    """Name the rule an incompatibility breaks and say what is wrong, from the data's point of view."""
    field = f"field `{inc.path}`" if inc.path else "the value"
    r, w = inc.reader, inc.writer
    kind = inc.kind
    if kind == c.READER_FIELD_MISSING_DEFAULT:
        if reader_is_new:
            return _d("FIELD_ADDED_WITHOUT_DEFAULT", f"{field} is new and has no default to fill in for data that lacks it")
        return _d("FIELD_REMOVED_WITHOUT_DEFAULT", f"{field} is no longer written, and the reader requires it (no default)")
    if kind == c.AMBIGUOUS_FIELD:
        return _d("FIELD_ALIAS_AMBIGUOUS", f"reader {field} matches several writer fields ({inc.detail}) by name and alias")
    if kind == c.NAME_MISMATCH:
        return _d("NAME_CHANGED", f"{field} is named {_label(r)} for the reader but {_label(w)} in the data, with no alias linking them")
    if kind == c.FIXED_SIZE_MISMATCH:
        return _d("FIXED_SIZE_CHANGED", f"{field} is a fixed of {_size(r)} bytes for the reader but {_size(w)} bytes in the data")
    if kind == c.MISSING_ENUM_SYMBOLS:
        if reader_is_new:
            return _d("ENUM_SYMBOL_REMOVED", f"{field} may hold symbol(s) {inc.detail}, which the enum no longer has, and it has no default symbol")
        return _d("ENUM_SYMBOL_ADDED", f"{field} may hold new symbol(s) {inc.detail}, unknown to the reader's enum, which has no default symbol")
    if kind == c.MISSING_UNION_BRANCH:
        if reader_is_new:
            return _d("UNION_BRANCH_REMOVED", f"{field} may hold a {_label(w)}, which the reader no longer accepts ({_label(r)})")
        return _d("UNION_BRANCH_ADDED", f"{field} may now hold a {_label(w)}, which the reader does not accept ({_label(r)})")
    if kind == c.DECIMAL_SCALE:
        return _d("DECIMAL_SCALE_CHANGED", f"decimal {field} changes {inc.detail}, so the same bytes mean a different number")
    if kind == c.DECIMAL_PRECISION:
        return _d("DECIMAL_PRECISION_NARROWED", f"decimal {field} changes {inc.detail}, too small for values the data may hold")
    if kind == c.LOGICAL_TYPE:
        return _d("LOGICAL_TYPE_CHANGED", f"{field} changes logical type ({inc.detail}), so its values change meaning")
    # TYPE_MISMATCH
    rt, wt = _kind(r), _kind(w)
    if (wt, rt) in _NARROWING:
        return _d("TYPE_NARROWED", f"{field} holds {wt} values in the data but the reader reads {rt}, which cannot hold them all")
    return _d("TYPE_CHANGED", f"{field} holds {_label(w)} in the data but the reader expects {_label(r)}, and Avro cannot convert it")


def _d(rule: str, what: str) -> Described:
    return Described(rule, BY_ID[rule].category, what)


def _kind(schema: s.Schema) -> str:
    return schema.type if isinstance(schema, s.Primitive) else schema.kind


def _label(schema: s.Schema) -> str:
    return s.type_label(schema)


def _size(schema: s.Schema) -> int:
    return schema.size if isinstance(schema, s.Fixed) else 0
