"""Loading ``schemas/``: every ``.avsc`` file, cross-file named types, and ``catalog.toml``.

Files may reference types defined in other files in any order: a pre-pass finds
what each file defines and references, files are parsed in dependency order, and
a cycle of file references is reported (recursion inside one file is fine).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.levels import LEVEL_NAMES, parse_level
from contracts.schema import (
    MAX_DEPTH,
    NAMED_KINDS,
    PRIMITIVES,
    NamedSchema,
    Schema,
    SchemaParser,
    bulk,
    fullname_of,
)
from contracts.specs import CatalogSpec, validate
from contracts.textfiles import read_json, read_toml

CATALOG_FILE = "catalog.toml"
LEVELS = LEVEL_NAMES  # kept importable from here
STRATEGIES = {
    "topic": "TopicNameStrategy",
    "record": "RecordNameStrategy",
    "topic_record": "TopicRecordNameStrategy",
}
_STRATEGY_ALIASES = {**{v: k for k, v in STRATEGIES.items()}, **{k: k for k in STRATEGIES}, "topic-record": "topic_record"}


@dataclass
class SchemaFile:
    """One ``.avsc`` file: its path relative to the schemas root and what it defines."""

    path: str
    root: Schema
    defines: list[NamedSchema]
    raw: Any


@dataclass
class Topic:
    """A Kafka topic as the catalog describes it."""

    name: str
    value_types: list[str]
    strategy: str = "topic"
    compatibility: str = "BACKWARD"
    producers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    partitions: int = 4
    dead_letter_topic: str | None = None
    key: str = "string"
    doc: str | None = None

    @property
    def dlq(self) -> str:
        return self.dead_letter_topic or f"{self.name}.dlq"


@dataclass
class Subject:
    """A registry subject derived from a topic, a value type and the naming strategy."""

    name: str
    topic: str
    fullname: str
    compatibility: str
    schema: NamedSchema
    file: str


def subject_name(strategy: str, topic: str, fullname: str) -> str:
    """The subject under Confluent's naming strategies (value side)."""
    if strategy == "topic":
        return f"{topic}-value"
    if strategy == "record":
        return fullname
    return f"{topic}-{fullname}"


@dataclass
class Catalog:
    """Everything under ``schemas/``: parsed files, named types and topics."""

    root: Path
    files: list[SchemaFile]
    types: dict[str, NamedSchema]
    topics: dict[str, Topic]
    default_compatibility: str = "BACKWARD"
    catalog_file: str | None = None

    def file_of(self, fullname: str) -> str:
        """The file (relative to the schemas root) that defines ``fullname``."""
        t = self.types[fullname]
        return t.file or ""

    def topic_for(self, fullname: str) -> Topic | None:
        for topic in self.topics.values():
            if fullname in topic.value_types:
                return topic
        return None

    def subjects(self) -> list[Subject]:
        out: dict[str, Subject] = {}
        for topic in self.topics.values():
            for full in topic.value_types:
                name = subject_name(topic.strategy, topic.name, full)
                out[name] = Subject(name, topic.name, full, topic.compatibility, self.types[full], self.file_of(full))
        return [out[k] for k in sorted(out)]

    def subject(self, name: str) -> Subject:
        for s in self.subjects():
            if s.name == name:
                return s
        names = [s.name for s in self.subjects()]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; the catalog's subjects: {', '.join(names) or 'none'}"
        raise SchemaError(f"unknown subject '{name}'{hint}", Location(file=self.catalog_file), "UNKNOWN_SUBJECT")


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


def _order_files(raws: dict[str, Any]) -> list[str]:
    """Files in an order where every file comes after the files it references."""
    defined_in: dict[str, str] = {}
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
    shown = _display(root, root)
    for p in iter_schema_files(root):
        rel = p.relative_to(root).as_posix()
        raws[rel] = read_json(p, f"{shown}/{rel}")
    with bulk():
        return _parse_in_order(raws, _order_files(raws), shown)


def _parse_in_order(raws: dict[str, Any], ordered: list[str], shown: str) -> tuple[list[SchemaFile], dict[str, NamedSchema]]:
    parser = SchemaParser()
    files: list[SchemaFile] = []
    for rel in ordered:
        before = len(parser.names)  # names are kept in definition order
        display = f"{shown}/{rel}"
        root_schema = parser.parse(raws[rel], file=display)
        defines = list(parser.names.values())[before:]
        files.append(SchemaFile(display, root_schema, defines, raws[rel]))
    files.sort(key=lambda f: f.path)
    return files, parser.names


def _display(root: Path, path: Path) -> str:
    """A path as users see it, the same from any working directory: ``schemas/com/acme/X.avsc``.

    Generated code records it, so it must not depend on where the command ran.
    """
    try:
        return (Path(root.resolve().name) / path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        return path.as_posix()


def load_catalog(root: Path | str = "schemas") -> Catalog:
    """Load ``schemas/`` with its ``catalog.toml`` (topics are optional)."""
    root = Path(root)
    if not root.is_dir():
        raise SchemaError(f"schemas folder '{root}' does not exist", Location(file=str(root)), "NO_SCHEMAS")
    files, types = load_schemas(root)
    catalog_path = root / CATALOG_FILE
    display = _display(root, catalog_path)
    spec = validate(CatalogSpec, read_toml(catalog_path, display, "INVALID_CATALOG"), file=display, rule="INVALID_CATALOG")
    default_level, topics = _topics(spec, types, display)
    return Catalog(root, files, types, topics, default_level, display if catalog_path.exists() else None)


def _topics(spec: CatalogSpec, types: dict[str, NamedSchema], file: str) -> tuple[str, dict[str, Topic]]:
    """What the typed catalog means: levels and strategies known, event types defined."""

    def err(msg: str, path: str, rule: str = "INVALID_CATALOG") -> SchemaError:
        return SchemaError(msg, Location(file=file, path=path), rule)

    default_level = _level(spec.defaults.compatibility, "defaults.compatibility", err)
    default_strategy = _strategy(spec.defaults.subject_name_strategy, "defaults.subject_name_strategy", err)
    topics: dict[str, Topic] = {}
    for name, t in spec.topics.items():
        base = f"topics.{name}"
        values = [t.value] if isinstance(t.value, str) else list(t.value)
        for v in values:
            if v not in types:
                close = difflib.get_close_matches(v, list(types), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise err(f"unknown event type '{v}'{hint}", f"{base}.value", "UNKNOWN_TYPE")
        strategy = _strategy(t.subject_name_strategy or default_strategy, f"{base}.subject_name_strategy", err)
        if strategy == "topic" and len(values) > 1:
            raise err(
                "TopicNameStrategy allows one value type per topic; use TopicRecordNameStrategy for several",
                f"{base}.subject_name_strategy",
            )
        topics[name] = Topic(
            name=name,
            value_types=values,
            strategy=strategy,
            compatibility=_level(t.compatibility or default_level, f"{base}.compatibility", err),
            producers=list(t.producers),
            consumers=list(t.consumers),
            partitions=t.partitions,
            dead_letter_topic=t.dead_letter_topic,
            key=t.key,
            doc=t.doc,
        )
    return default_level, topics


def _level(value: str, path: str, err: Any) -> str:
    level = parse_level(value)
    if level is None:
        raise err(f"compatibility must be one of {', '.join(LEVEL_NAMES)}, not {value!r}", path)
    return level


def _strategy(value: str, path: str, err: Any) -> str:
    if value not in _STRATEGY_ALIASES:
        raise err(f"subject_name_strategy must be one of {', '.join(STRATEGIES.values())}, not {value!r}", path)
    return _STRATEGY_ALIASES[value]
