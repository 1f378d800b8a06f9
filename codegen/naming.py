"""Python names for Avro names, decided by datamodel-code-generator.

datamodel-code-generator 0.89 cannot resolve a type defined in another file, so
every named type of the catalog is bundled into one document (renamed to opaque
``T0001``-style names so that equal short names in two namespaces do not clash)
and generated once. From its output we keep its naming decisions: the Python
attribute and alias of every field (keywords and pydantic-reserved names such as
``from`` or ``schema``) and the member names of every enum.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from contracts import schema as s
from contracts.errors import SchemaError


@dataclass
class Naming:
    """Python attribute names per Avro full name: fields of records, members of enums."""

    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)

    def field_attr(self, record: str, avro_name: str) -> str:
        return self.fields.get(record, {}).get(avro_name, avro_name)

    def member(self, enum: str, symbol: str) -> str:
        return self.members.get(enum, {}).get(symbol, symbol)


def _opaque_names(types: list[s.NamedSchema]) -> dict[str, str]:
    return {t.fullname: f"T{i:04d}" for i, t in enumerate(types, start=1)}


def bundle(types: list[s.NamedSchema]) -> tuple[list[Any], dict[str, str]]:
    """One Avro document (a union) defining every type once, under opaque names.

    Only what naming depends on is kept: names, fields, symbols, structure.
    Defaults, logical types and aliases are dropped so that a construct the
    engine handles imperfectly cannot fail the run.
    """
    names = _opaque_names(types)
    defined: set[str] = set()

    def conv(t: s.Schema) -> Any:
        if isinstance(t, s.Primitive):
            return t.type
        if isinstance(t, s.Record | s.Enum | s.Fixed):
            opaque = names[t.fullname]
            if t.fullname in defined:
                return opaque
            defined.add(t.fullname)
            if isinstance(t, s.Record):
                return {"type": "record", "name": opaque, "fields": [{"name": f.name, "type": conv(f.type)} for f in t.fields]}
            if isinstance(t, s.Enum):
                return {"type": "enum", "name": opaque, "symbols": list(t.symbols)}
            return {"type": "fixed", "name": opaque, "size": t.size}
        if isinstance(t, s.Array):
            return {"type": "array", "items": conv(t.items)}
        if isinstance(t, s.Map):
            return {"type": "map", "values": conv(t.values)}
        return [conv(b) for b in t.branches]

    doc: list[Any] = []
    for t in types:
        if t.fullname not in defined:
            doc.append(conv(t))
    return doc, names


def decide_names(types: list[s.NamedSchema]) -> Naming:
    """Run datamodel-code-generator over the bundle and read its naming decisions."""
    from datamodel_code_generator import generate
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter, PythonVersion

    records_or_enums = [t for t in types if isinstance(t, s.Record | s.Enum)]
    if not records_or_enums:
        return Naming()
    doc, names = bundle(types)
    try:
        code = generate(
            json.dumps(doc),
            input_file_type=InputFileType.Avro,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            strict_nullable=True,
            formatters=[Formatter.BUILTIN],
            disable_timestamp=True,
        )
    except Exception as exc:  # its errors have no common base class
        raise SchemaError(f"datamodel-code-generator failed: {exc}", rule="CODEGEN_FAILED") from exc
    if not isinstance(code, str):
        raise SchemaError("datamodel-code-generator returned no code", rule="CODEGEN_FAILED")
    by_opaque = {v: k for k, v in names.items()}
    naming = Naming()
    for node in ast.parse(code).body:
        if not isinstance(node, ast.ClassDef) or node.name not in by_opaque:
            continue
        full = by_opaque[node.name]
        is_enum = any(isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases)
        if is_enum:
            naming.members[full] = _enum_members(node)
        else:
            naming.fields[full] = _record_fields(node)
    return naming


def _enum_members(node: ast.ClassDef) -> dict[str, str]:
    out: dict[str, str] = {}
    for stmt in node.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            out[stmt.value.value] = stmt.targets[0].id
    return out


def _record_fields(node: ast.ClassDef) -> dict[str, str]:
    out: dict[str, str] = {}
    for stmt in node.body:
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        attr = stmt.target.id
        alias = attr
        if isinstance(stmt.value, ast.Call):
            for kw in stmt.value.keywords:
                if kw.arg == "alias" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    alias = kw.value.value
        out[alias] = attr
    return out
