"""Whether a JSON value is a valid Avro default for a schema, and why not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.schema.model import (
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Primitive,
    Record,
    Schema,
    Union,
    type_label,
    walk_named,
)

_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def default_error(schema: Schema, value: Any) -> str | None:
    """Why ``value`` is not a valid Avro JSON default for ``schema`` (``None`` when it is).

    Per the specification a union default must match the union's first branch,
    and bytes/fixed defaults are strings of code points 0-255.
    """
    return _default_error(schema, value, set())


def _default_error(schema: Schema, value: Any, stack: set[int]) -> str | None:
    if isinstance(schema, Union):
        if not schema.branches:
            return "an empty union has no valid default"
        first = schema.branches[0]
        err = _default_error(first, value, stack)
        return None if err is None else f"a union default must match the first branch ({type_label(first)}): {err}"
    if isinstance(schema, Primitive):
        t = schema.type
        if t == "null":
            return None if value is None else f"expected null, got {json.dumps(value)}"
        if t == "boolean":
            return None if isinstance(value, bool) else f"expected a boolean, got {json.dumps(value)}"
        if t in _INT_RANGES:
            if not isinstance(value, int) or isinstance(value, bool):
                return f"expected an integer, got {json.dumps(value)}"
            lo, hi = _INT_RANGES[t]
            return None if lo <= value <= hi else f"{value} is out of the {t} range [{lo}, {hi}]"
        if t in ("float", "double"):
            ok = (isinstance(value, int | float) and not isinstance(value, bool)) or value in ("NaN", "Infinity", "-Infinity")
            return None if ok else f"expected a number, got {json.dumps(value)}"
        if t == "string":
            return None if isinstance(value, str) else f"expected a string, got {json.dumps(value)}"
        # bytes: a string of code points 0-255
        if not isinstance(value, str):
            return f"expected a string of bytes, got {json.dumps(value)}"
        return None if all(ord(c) < 256 for c in value) else "bytes default has code points above 255"
    if isinstance(schema, Fixed):
        if not isinstance(value, str) or any(ord(c) > 255 for c in value):
            return f"expected a string of {schema.size} bytes, got {json.dumps(value)}"
        return None if len(value) == schema.size else f"fixed '{schema.fullname}' needs {schema.size} bytes, got {len(value)}"
    if isinstance(schema, Enum):
        if value in schema.symbols:
            return None
        return f"{json.dumps(value)} is not a symbol of '{schema.fullname}' ({', '.join(schema.symbols)})"
    if isinstance(schema, Array):
        if not isinstance(value, list):
            return f"expected an array, got {json.dumps(value)}"
        for i, item in enumerate(value):
            err = _default_error(schema.items, item, stack)
            if err:
                return f"item {i}: {err}"
        return None
    if isinstance(schema, Map):
        if not isinstance(value, dict):
            return f"expected an object, got {json.dumps(value)}"
        for k, v in value.items():
            err = _default_error(schema.values, v, stack)
            if err:
                return f"key {k!r}: {err}"
        return None
    # record
    if not isinstance(value, dict):
        return f"expected an object for record '{schema.fullname}', got {json.dumps(value)}"
    if id(schema) in stack:
        return None
    stack = stack | {id(schema)}
    for f in schema.fields:
        if f.name in value:
            err = _default_error(f.type, value[f.name], stack)
            if err:
                return f"field '{f.name}': {err}"
        elif not f.has_default:
            return f"record '{schema.fullname}' default lacks field '{f.name}', which has no default"
    return None


def invalid_defaults(schema: Schema, *, nested: bool = True) -> Iterator[tuple[Record, Field, str]]:
    """Every field reachable from ``schema`` whose default is not valid for its type, with why.

    ``nested=False``: only the fields of ``schema`` itself (when every named type is checked in turn).
    """
    for t in walk_named(schema) if nested else (schema,):
        if isinstance(t, Record):
            for f in t.fields:
                if f.has_default:
                    err = default_error(f.type, f.default)
                    if err:
                        yield t, f, err


def default_problem(record: Record, f: Field, err: str) -> str:
    """The one sentence for an invalid default, in lint, codegen, the gate and the registry alike."""
    return f"default of field '{f.name}' ({type_label(f.type)}) in {record.fullname} is invalid: {err}"


def check_defaults(schema: Schema, *, file: str | None = None, nested: bool = True) -> None:
    """Raise ``SchemaError`` (rule ``INVALID_DEFAULT``) for the first invalid default reachable from ``schema``."""
    for record, f, err in invalid_defaults(schema, nested=nested):
        raise SchemaError(default_problem(record, f, err), Location(file=record.file or file, path=f"{record.fullname}.{f.name}"), "INVALID_DEFAULT")
