"""Schema lint: every rule is an object with a stable id, a category and a check.

Rules are configured in ``pyproject.toml``::

    [tool.contracts.lint]
    disable = ["ENUM_WITHOUT_DEFAULT"]

    [tool.contracts.lint.per_path]
    "schemas/legacy/**" = ["MISSING_DOC"]
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from contracts import schema as s
from contracts.findings import Finding, with_lines
from contracts.suggest import did_you_mean

if TYPE_CHECKING:
    from contracts.catalog import Catalog

_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


@dataclass
class LintConfig:
    """Which rules are off, globally and per path glob."""

    disable: set[str] = field(default_factory=set)
    per_path: dict[str, set[str]] = field(default_factory=dict)

    def enabled(self, rule: str, file: str | None) -> bool:
        if rule in self.disable:
            return False
        if file:
            for pattern, rules in self.per_path.items():
                if rule in rules and (fnmatch.fnmatch(file, pattern) or PurePosixPath(file).match(pattern)):
                    return False
        return True


@dataclass(frozen=True)
class Rule:
    """A lint rule: a stable id, a category, a one-line summary and a check."""

    id: str
    category: str
    summary: str
    check: Callable[[Catalog], Iterator[Finding]]
    example: str = ""
    severity: str = "error"  # "warning": reported, never fails lint


def _fields(catalog: Catalog) -> Iterator[tuple[s.Record, s.Field, str]]:
    for t in catalog.types.values():
        if isinstance(t, s.Record):
            for f in t.fields:
                yield t, f, f"{t.fullname}.{f.name}"


def _finding(rule: str, category: str, message: str, file: str | None, path: str | None) -> Finding:
    return Finding(rule=rule, message=message, file=file, path=path, category=category)


def _namespace_path(catalog: Catalog) -> Iterator[Finding]:
    for f in catalog.files:
        if not isinstance(f.root, s.Record | s.Enum | s.Fixed):
            continue
        rel = Path(*Path(f.path).parts[1:])  # file paths read "<schemas folder>/<path inside it>"
        expected = ".".join(rel.parent.parts)
        if f.root.namespace != expected:
            yield _finding(
                "NAMESPACE_PATH_MISMATCH",
                "layout",
                f"namespace '{f.root.namespace}' does not match the folder '{rel.parent.as_posix()}'; "
                f"move the file or set the namespace to '{expected}'",
                f.path,
                f.root.fullname,
            )


def _file_name(catalog: Catalog) -> Iterator[Finding]:
    for f in catalog.files:
        if isinstance(f.root, s.Record | s.Enum | s.Fixed) and Path(f.path).stem != f.root.name:
            yield _finding(
                "FILE_NAME_MISMATCH",
                "layout",
                f"file name '{Path(f.path).name}' should be '{f.root.name}.avsc', after the type it defines",
                f.path,
                f.root.fullname,
            )


def _type_names(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        if not _PASCAL.match(t.name):
            yield _finding(
                "RECORD_NAME_NOT_PASCAL_CASE",
                "style",
                f"{t.kind} name '{t.name}' should be PascalCase",
                t.file,
                t.fullname,
            )


def _field_names(catalog: Catalog) -> Iterator[Finding]:
    for record, f, path in _fields(catalog):
        if not _SNAKE.match(f.name):
            yield _finding("FIELD_NAME_NOT_SNAKE_CASE", "style", f"field name '{f.name}' should be snake_case", record.file, path)


def _enum_symbols(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        if isinstance(t, s.Enum):
            for sym in t.symbols:
                if not _UPPER_SNAKE.match(sym):
                    yield _finding(
                        "ENUM_SYMBOL_NOT_UPPER_SNAKE_CASE", "style", f"enum symbol '{sym}' should be UPPER_SNAKE_CASE", t.file, f"{t.fullname}.{sym}"
                    )


def _missing_doc(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        if isinstance(t, s.Record | s.Enum) and not (t.doc or "").strip():
            yield _finding("MISSING_DOC", "documentation", f"{t.kind} '{t.fullname}' has no doc", t.file, t.fullname)
    for record, f, path in _fields(catalog):
        if not (f.doc or "").strip():
            yield _finding("MISSING_DOC", "documentation", f"field '{f.name}' has no doc", record.file, path)


def _invalid_default(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        for record, f, err in s.invalid_defaults(t, nested=False):
            yield _finding(
                "INVALID_DEFAULT", "correctness", f"{s.default_problem(record, f, err)}; readers resolving old data would fail",
                record.file, f"{record.fullname}.{f.name}",
            )  # fmt: skip


def _enum_default(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        if isinstance(t, s.Enum) and t.default is None:
            yield _finding(
                "ENUM_WITHOUT_DEFAULT",
                "evolution",
                f"enum '{t.fullname}' has no default symbol, so adding a symbol later breaks consumers that do not know it",
                t.file,
                t.fullname,
            )


def _optional_without_default(catalog: Catalog) -> Iterator[Finding]:
    for record, f, path in _fields(catalog):
        t = f.type
        if isinstance(t, s.Union) and any(isinstance(b, s.Primitive) and b.type == "null" for b in t.branches) and not f.has_default:
            yield _finding(
                "NULLABLE_FIELD_WITHOUT_DEFAULT",
                "evolution",
                f"nullable field '{f.name}' has no default; give it `\"default\": null` (with null as the first branch) so it can be added or removed compatibly",
                record.file,
                path,
            )


def _unions_in(t: s.Schema) -> Iterator[s.Union]:
    """Unions in a field's type, not descending into named types (they are linted themselves)."""
    return (node for node in _unnamed_in(t) if isinstance(node, s.Union))


def _bytes_and_string(catalog: Catalog) -> Iterator[Finding]:
    for record, f, path in _fields(catalog):
        for u in _unions_in(f.type):
            kinds = {b.type for b in u.branches if isinstance(b, s.Primitive)}
            if {"bytes", "string"} <= kinds:
                yield _finding(
                    "UNION_BYTES_AND_STRING",
                    "evolution",
                    f"field '{f.name}' is a union of bytes and string ({s.type_label(u)}); Avro promotes one to the other, so "
                    "readers resolving another version may take the wrong branch (fastavro takes the first); use one of the two",
                    record.file,
                    path,
                )
                break


def _ignored_logical_types(catalog: Catalog) -> Iterator[Finding]:
    for t in catalog.types.values():
        if isinstance(t, s.Fixed) and t.ignored:
            yield _finding("INVALID_LOGICAL_TYPE", "correctness", _ignored_sentence(t.ignored, "fixed"), t.file, t.fullname)
    for record, f, path in _fields(catalog):
        for node in _unnamed_in(f.type):
            if not isinstance(node, s.Primitive):
                continue
            problem = node.ignored
            if node.logical and node.logical not in s.LOGICAL_PHYSICAL:
                known = did_you_mean(node.logical, s.LOGICAL_PHYSICAL, n=1)
                problem = f"unknown logical type '{node.logical}'" + (f" (did you mean {known[0]}?)" if known else "")
            if problem:
                yield _finding("INVALID_LOGICAL_TYPE", "correctness", _ignored_sentence(problem, node.type), record.file, path)
                break


def _ignored_sentence(problem: str, underlying: str) -> str:
    return f"{problem}: Avro ignores the logical type and reads and writes a plain {underlying}; fix it or remove 'logicalType'"


def _unnamed_in(t: s.Schema) -> Iterator[s.Schema]:
    """A field's type and what it holds, not descending into named types (they are linted themselves)."""
    if isinstance(t, s.Record | s.Enum | s.Fixed):
        return
    yield t
    for child in s.children(t):
        yield from _unnamed_in(child)


def _catalog_types(catalog: Catalog) -> Iterator[Finding]:
    for topic in catalog.topics.values():
        for full in topic.value_types:
            t = catalog.types[full]
            if not isinstance(t, s.Record):
                yield _finding(
                    "CATALOG_VALUE_NOT_RECORD",
                    "catalog",
                    f"topic '{topic.name}' carries '{full}', a {t.kind}; event values must be records",
                    catalog.catalog_file,
                    f"topics.{topic.name}.value",
                )


def _topic_producers(catalog: Catalog) -> Iterator[Finding]:
    for topic in catalog.topics.values():
        if not topic.producers:
            yield _finding(
                "CATALOG_TOPIC_WITHOUT_PRODUCER",
                "catalog",
                f"topic '{topic.name}' names no producing service, so the deployment check cannot protect its consumers",
                catalog.catalog_file,
                f"topics.{topic.name}.producers",
            )


RULES: tuple[Rule, ...] = (
    Rule("NAMESPACE_PATH_MISMATCH", "layout", "A file's folder under schemas/ must mirror its type's namespace.", _namespace_path),
    Rule("FILE_NAME_MISMATCH", "layout", "A file is named after the type it defines: Name.avsc.", _file_name),
    Rule("RECORD_NAME_NOT_PASCAL_CASE", "style", "Record, enum and fixed names are PascalCase.", _type_names),
    Rule("FIELD_NAME_NOT_SNAKE_CASE", "style", "Field names are snake_case.", _field_names),
    Rule("ENUM_SYMBOL_NOT_UPPER_SNAKE_CASE", "style", "Enum symbols are UPPER_SNAKE_CASE.", _enum_symbols),
    Rule("MISSING_DOC", "documentation", "Every record, enum and field has a doc.", _missing_doc),
    Rule("INVALID_DEFAULT", "correctness", "A default matches its field's type (a union default matches the first branch).", _invalid_default),
    Rule("ENUM_WITHOUT_DEFAULT", "evolution", "Every enum has a default symbol, so symbols can be added later.", _enum_default),
    Rule("NULLABLE_FIELD_WITHOUT_DEFAULT", "evolution", "A nullable field has a default (null).", _optional_without_default),
    Rule("UNION_BYTES_AND_STRING", "evolution", "No union holds both bytes and string: readers of another version may swap them.", _bytes_and_string),
    Rule(
        "INVALID_LOGICAL_TYPE", "correctness", "A logical type is valid for its type (else Avro ignores it): a warning.",
        _ignored_logical_types, severity="warning",
    ),
    Rule("CATALOG_VALUE_NOT_RECORD", "catalog", "Topics carry records.", _catalog_types),
    Rule("CATALOG_TOPIC_WITHOUT_PRODUCER", "catalog", "Every topic names its producers.", _topic_producers),
)


def lint(catalog: Catalog, config: LintConfig | None = None) -> list[Finding]:
    """Run every enabled rule; findings sorted by file, path and rule."""
    config = config or LintConfig()
    out: list[Finding] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    for rule in RULES:
        for f in rule.check(catalog):
            key = (f.rule, f.file, f.path)
            if key in seen or not config.enabled(f.rule, f.file):
                continue
            seen.add(key)
            out.append(f if rule.severity == "error" else dataclasses.replace(f, severity=rule.severity))
    return sorted(with_lines(out, catalog.root.parent), key=lambda f: (f.file or "", f.path or "", f.rule))
