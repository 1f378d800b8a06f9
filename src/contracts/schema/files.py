"""Loading a tree of ``.avsc`` files: cross-file named types, in any order.

Files may reference types defined in other files in any order: a pre-pass finds
what each file defines and references, files are parsed in dependency order, and
a cycle of file references is reported (recursion inside one file is fine).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.schema.model import NAMED_KINDS, PRIMITIVES, NamedSchema, Schema, fullname_of
from contracts.schema.parse import MAX_DEPTH, SchemaParser, bulk
from contracts.textfiles import read_json


@dataclass
class SchemaFile:
    """One ``.avsc`` file: its path relative to the schemas root and what it defines."""

    path: str
    root: Schema
    defines: list[NamedSchema]
    raw: Any


def _scan(data: Any, namespace: str, defines: list[str], refs: list[str]) -> None:
    """Collect the full names a raw schema defines and references (pre-pass, no validation)."""
    if isinstance(data, str):
        if data not in PRIMITIVES:
            refs.append(fullname_of(data, namespace))
        return
    if isinstance(data, list):
        for item in data:
            _scan(item, namespace, defines, refs)
        return
    if not isinstance(data, dict):
        return
    type_ = data.get("type")
    if isinstance(type_, dict | list):
        _scan(type_, namespace, defines, refs)
        return
    if not isinstance(type_, str):
        return
    if type_ in NAMED_KINDS and isinstance(data.get("name"), str):
        name = data["name"]
        ns = data.get("namespace") if isinstance(data.get("namespace"), str) else namespace
        full = name if "." in name else fullname_of(name, ns)
        defines.append(full)
        child_ns = full.rsplit(".", 1)[0] if "." in full else ""
        for f in data.get("fields", []) if isinstance(data.get("fields"), list) else []:
            if isinstance(f, dict) and "type" in f:
                _scan(f["type"], child_ns, defines, refs)
        return
    if type_ == "array":
        _scan(data.get("items"), namespace, defines, refs)
    elif type_ == "map":
        _scan(data.get("values"), namespace, defines, refs)
    elif type_ not in PRIMITIVES:
        refs.append(fullname_of(type_, namespace))


def _order_files(raws: dict[str, Any], defined_in: dict[str, str] | None = None) -> list[str]:
    """Files in an order where every file comes after the files it references (``defined_in``: name -> file, filled in)."""
    defined_in = {} if defined_in is None else defined_in
    deps: dict[str, set[str]] = {}
    for path, raw in raws.items():
        defines: list[str] = []
        refs: list[str] = []
        try:
            _scan(raw, "", defines, refs)
        except RecursionError:
            raise SchemaError(f"the schema nests more than {MAX_DEPTH} levels deep", Location(file=path), "NESTING_TOO_DEEP") from None
        for full in defines:
            if full in defined_in and defined_in[full] != path:
                raise SchemaError(
                    f"'{full}' is defined in both {defined_in[full]} and {path}",
                    Location(file=path),
                    "DUPLICATE_NAME",
                )
            defined_in[full] = path
        deps[path] = set(refs) - set(defines)
    graph = {p: sorted({defined_in[r] for r in refs if r in defined_in} - {p}) for p, refs in deps.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(p: str, trail: list[str]) -> None:
        if state.get(p) == 2:
            return
        if state.get(p) == 1:
            cycle = [*trail[trail.index(p) :], p]
            raise SchemaError(
                "cycle of references between files: " + " -> ".join(cycle) + " (move the mutually recursive types into one file)",
                Location(file=p),
                "FILE_REFERENCE_CYCLE",
            )
        state[p] = 1
        for d in graph[p]:
            visit(d, [*trail, p])
        state[p] = 2
        order.append(p)

    for p in sorted(graph):
        visit(p, [])
    return order


def iter_schema_files(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.avsc") if p.is_file())


def load_schemas(root: Path) -> tuple[list[SchemaFile], dict[str, NamedSchema]]:
    """Parse every ``.avsc`` under ``root``."""
    raws: dict[str, Any] = {}
    shown = display_path(root, root)
    with bulk():
        for p in iter_schema_files(root):
            rel = p.relative_to(root).as_posix()
            raws[rel] = read_json(p, f"{shown}/{rel}")
        defined_in: dict[str, str] = {}
        return _parse_in_order(raws, _order_files(raws, defined_in), shown, defined_in)


def _parse_in_order(raws: dict[str, Any], ordered: list[str], shown: str, defined_in: dict[str, str]) -> tuple[list[SchemaFile], dict[str, NamedSchema]]:
    parser = SchemaParser(known=defined_in)
    files: list[SchemaFile] = []
    for rel in ordered:
        before = len(parser.defined)
        display = f"{shown}/{rel}"
        root_schema = parser.parse(raws[rel], file=display)
        defines = parser.defined[before:]
        files.append(SchemaFile(display, root_schema, defines, raws[rel]))
    files.sort(key=lambda f: f.path)
    return files, parser.names


def display_path(root: Path, path: Path) -> str:
    """A path as users see it, the same from any working directory: ``schemas/com/acme/X.avsc``.

    Generated code records it, so it must not depend on where the command ran.
    """
    try:
        return (Path(root.resolve().name) / path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        return path.as_posix()
