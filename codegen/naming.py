"""Python names for Avro names, decided by datamodel-code-generator.

datamodel-code-generator 0.89 reads Avro but cannot resolve a type defined in
another file, drops namespaces, bounds and enum defaults, so the modules are
rendered from our own schema model (``render``). What we keep from it is its
naming: the Python attribute and alias of every field (keywords and
pydantic-reserved names such as ``from`` or ``schema``) and the member name of
every enum symbol, so generated classes name things the way its users expect.
"""

from __future__ import annotations

import ast
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from contracts import schema as s
from contracts.errors import SchemaError


@dataclass
class Naming:
    """Python names for Avro field names and enum symbols, as datamodel-code-generator chose them."""

    fields: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)

    def record_attrs(self, record: s.Record, reserved: frozenset[str] = frozenset()) -> dict[str, str]:
        """Avro field name -> Python attribute, unique within the record and clear of ``reserved``."""
        return _unique([(f.name, self.fields.get(f.name, f.name)) for f in record.fields], reserved)

    def enum_members(self, enum: s.Enum) -> dict[str, str]:
        return _unique([(sym, self.symbols.get(sym, sym)) for sym in enum.symbols], frozenset())


def _unique(pairs: list[tuple[str, str]], reserved: frozenset[str]) -> dict[str, str]:
    # An attribute that equals another field's Avro name, a reserved name or an earlier
    # attribute gets trailing underscores (with the Avro name kept as its alias).
    avro_names = {a for a, _ in pairs}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for avro, attr in pairs:
        while attr in taken or attr in reserved or (attr != avro and attr in avro_names):
            attr += "_"
        taken.add(attr)
        out[avro] = attr
    return out


_CHUNK = 200  # names per synthetic document, on average; datamodel-code-generator costs ~1 ms per field


def _ends_chunk(name: str) -> bool:
    """Whether ``name`` closes its document: decided by the name alone, so a new name changes one document, not all after it."""
    return zlib.crc32(name.encode()) % _CHUNK == 0


def _chunks(names: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for name in names:
        out[-1].append(name)
        if _ends_chunk(name) or len(out[-1]) >= 4 * _CHUNK:
            out.append([])
    return [c for c in out if c]


def bundles(types: list[s.NamedSchema]) -> list[list[Any]]:
    """Small Avro documents (unions) holding every distinct field name and enum symbol once.

    A Python name depends only on the Avro name (keywords, pydantic-reserved
    names, leading underscores), so each distinct name is asked about once:
    the cost follows the catalog's vocabulary, not its size. Where a document
    ends depends on the names, not on their count, so adding a schema changes
    only the documents its new names fall in (and a cache of answers keeps the rest).
    """
    field_names = sorted({f.name for t in types if isinstance(t, s.Record) for f in t.fields})
    symbols = sorted({sym for t in types if isinstance(t, s.Enum) for sym in t.symbols})
    docs: list[list[Any]] = []
    for chunk in _chunks(field_names):
        docs.append([{"type": "record", "name": "ContractsNamingFields", "fields": [{"name": n, "type": "string"} for n in chunk]}])
    for chunk in _chunks(symbols):
        docs.append([{"type": "enum", "name": "ContractsNamingSymbols", "symbols": chunk}])
    return docs


def _run(doc: list[Any]) -> str:
    from datamodel_code_generator import generate
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter, PythonVersion

    try:
        code = generate(
            json.dumps(doc[0] if len(doc) == 1 else doc),
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
    return code


def decide_names(types: list[s.NamedSchema], answers: dict[str, Any] | None = None) -> Naming:
    """Run datamodel-code-generator over the bundles and read its naming decisions.

    ``answers`` (document digest -> decisions) holds what earlier runs were told: only a
    document not asked before is run, and what it says is added.
    """
    naming = Naming()
    for doc in bundles(types):
        key = hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=16).hexdigest()
        known = answers.get(key) if answers is not None else None
        if not (isinstance(known, dict) and isinstance(known.get("fields"), dict) and isinstance(known.get("symbols"), dict)):
            known = _decisions(_run(doc))
            if answers is not None:
                answers[key] = known
        naming.fields.update(known["fields"])
        naming.symbols.update(known["symbols"])
    return naming


def _decisions(code: str) -> dict[str, dict[str, str]]:
    fields: dict[str, str] = {}
    symbols: dict[str, str] = {}
    for node in ast.parse(code).body:
        if not isinstance(node, ast.ClassDef):
            continue
        if any(isinstance(b, ast.Name) and b.id.endswith("Enum") for b in node.bases):
            symbols.update(_enum_members(node))
        else:
            fields.update(_record_fields(node))
    return {"fields": fields, "symbols": symbols}


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
