"""The JSON forms of a schema and its identity: self-contained JSON, compact text, one fingerprint, and
Avro's Parsing Canonical Form.

Two identities, each with one home: ``fingerprint`` is exact (docs, defaults and aliases
count), the one the registry, the checker's memo and sync use; ``canonical_form`` is
Avro's Parsing Canonical Form, which ignores them, the one serializers use to tell that
two schemas write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from contracts.schema.model import Array, Enum, Fixed, Map, Primitive, Record, Schema, Union


def to_json(schema: Schema, *, namespace: str = "", defined: set[str] | None = None) -> Any:
    """Self-contained Avro JSON: each named type defined at first use, then referenced by full name.

    Names are written in full, so the output means the same wherever it is embedded;
    ``namespace`` is the enclosing one, where a type in the null namespace needs an
    explicit ``"namespace": ""`` (a bare name would inherit the enclosing namespace).
    Docs, defaults, aliases and logical types are kept.
    """
    return _to_json(schema, namespace, set() if defined is None else defined)


def _to_json(schema: Schema, namespace: str, defined: set[str]) -> Any:
    if isinstance(schema, Primitive):
        if not schema.logical and not schema.props:
            return schema.type
        out: dict[str, Any] = {"type": schema.type}
        if schema.logical:
            out["logicalType"] = schema.logical
        out.update(schema.props)
        return out
    if isinstance(schema, Record | Enum | Fixed):
        if schema.fullname in defined:
            return schema.fullname
        defined.add(schema.fullname)
        out = {"type": "error" if isinstance(schema, Record) and schema.is_error else schema.kind, "name": schema.fullname}
        if namespace and not schema.namespace:
            out["namespace"] = ""
        namespace = schema.namespace
        if schema.doc is not None:
            out["doc"] = schema.doc
        if schema.aliases:
            out["aliases"] = list(schema.aliases)
        if isinstance(schema, Record):
            fields = []
            for f in schema.fields:
                fj: dict[str, Any] = {"name": f.name, "type": _to_json(f.type, namespace, defined)}
                if f.doc is not None:
                    fj["doc"] = f.doc
                if f.has_default:
                    fj["default"] = f.default
                if f.aliases:
                    fj["aliases"] = list(f.aliases)
                if f.order != "ascending":
                    fj["order"] = f.order
                if f.props:
                    fj.update(f.props)
                fields.append(fj)
            out["fields"] = fields
            out.update(schema.props)
        elif isinstance(schema, Enum):
            out["symbols"] = list(schema.symbols)
            if schema.default is not None:
                out["default"] = schema.default
            out.update(schema.props)
        else:
            out["size"] = schema.size
            if schema.logical:
                out["logicalType"] = schema.logical
            out.update(schema.props)
        return out
    if isinstance(schema, Array):
        return {"type": "array", "items": _to_json(schema.items, namespace, defined)}
    if isinstance(schema, Map):
        return {"type": "map", "values": _to_json(schema.values, namespace, defined)}
    assert isinstance(schema, Union)
    return [_to_json(b, namespace, defined) for b in schema.branches]


def compact(data: Any) -> str:
    """JSON text with no whitespace, UTF-8 kept as is: the form stored and compared."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def full_text(schema: Schema, *, defined: set[str] | None = None) -> str:
    """``to_json`` as compact text (named types in ``defined`` written as references)."""
    return compact(to_json(schema, defined=set(defined) if defined is not None else None))


def fingerprint(schema: Schema | str, *, defined: set[str] | None = None, references: Iterable[Any] = (), contract: str = "") -> str:
    """The exact identity of a schema (its ``full_text``, or that text given) with its references, as hex SHA-256.

    ``contract`` is the data contract registered with it (metadata and rule set as compact JSON): as
    in Confluent's registry, the same schema with other rules is another schema. Without one the
    identity is what it always was.
    """
    text = schema if isinstance(schema, str) else full_text(schema, defined=defined)
    refs = compact(sorted(references, key=lambda r: r["name"]))
    tail = f"\n{contract}" if contract else ""
    return hashlib.sha256(f"{text}\n{refs}{tail}".encode()).hexdigest()


def canonical_form(schema: Schema) -> str:
    """Avro's Parsing Canonical Form: the identity of a schema for fingerprints."""
    return json.dumps(_canonical(schema, set()), separators=(",", ":"))


def _canonical(schema: Schema, defined: set[str]) -> Any:
    if isinstance(schema, Primitive):
        return schema.type
    if isinstance(schema, Record | Enum | Fixed):
        if schema.fullname in defined:
            return schema.fullname
        defined.add(schema.fullname)
        if isinstance(schema, Record):
            return {
                "name": schema.fullname,
                "type": "record",
                "fields": [{"name": f.name, "type": _canonical(f.type, defined)} for f in schema.fields],
            }
        if isinstance(schema, Enum):
            return {"name": schema.fullname, "type": "enum", "symbols": list(schema.symbols)}
        return {"name": schema.fullname, "type": "fixed", "size": schema.size}
    if isinstance(schema, Array):
        return {"type": "array", "items": _canonical(schema.items, defined)}
    if isinstance(schema, Map):
        return {"type": "map", "values": _canonical(schema.values, defined)}
    return [_canonical(b, defined) for b in schema.branches]
