"""The catalog: ``catalog.toml``'s topics, the subjects they name and the services on them, over ``schemas/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.datacontract.files import event_contracts
from contracts.datacontract.model import DataContract
from contracts.errors import Location, SchemaError
from contracts.levels import LEVEL_NAMES, parse_level
from contracts.schema.defaults import check_defaults
from contracts.schema.files import SchemaFile, display_path, iter_schema_files, load_schemas
from contracts.schema.model import NamedSchema, Primitive, Record, Schema, Union, type_label
from contracts.schema.parse import bulk
from contracts.specs import CatalogSpec, validate
from contracts.suggest import did_you_mean
from contracts.textfiles import read_json, read_toml

CATALOG_FILE = "catalog.toml"
LEVELS = LEVEL_NAMES  # kept importable from here
__all__ = [
    "CATALOG_FILE", "LEVELS", "dead_letter_topic", "STRATEGIES", "Catalog", "SchemaFile", "Subject", "Topic",
    "iter_schema_files", "load_catalog", "load_schemas", "read_json", "subject_name",
]  # fmt: skip
STRATEGIES = {
    "topic": "TopicNameStrategy",
    "record": "RecordNameStrategy",
    "topic_record": "TopicRecordNameStrategy",
}
_STRATEGY_ALIASES = {**{v: k for k, v in STRATEGIES.items()}, **{k: k for k in STRATEGIES}, "topic-record": "topic_record"}


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic of ``topic`` when the catalog names none: ``<topic>.dlq``."""
    return f"{topic}.dlq"


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
    idempotency_keys: dict[str, str | None] = field(default_factory=dict)
    """Event type -> the field path that identifies one event (``None``: no stable key)."""
    compatibility_group: str | None = None
    """A metadata property whose value splits the subjects' versions into groups checked among themselves."""

    @property
    def dlq(self) -> str:
        return self.dead_letter_topic or dead_letter_topic(self.name)


@dataclass
class Subject:
    """A registry subject derived from a topic, a value type and the naming strategy."""

    name: str
    topic: str
    fullname: str
    compatibility: str
    schema: NamedSchema
    file: str
    contract: DataContract = field(default_factory=DataContract)
    compatibility_group: str | None = None


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
    contracts: dict[str, DataContract] = field(default_factory=dict)
    """Event type -> its data contract (metadata and rules), from ``[events."<full name>"]``."""

    def require_contents(self) -> None:
        """Refuse to check nothing: no schemas, no catalog or no topics is bad input (exit 2), never a pass."""
        where = Location(file=str(self.root))
        if not self.files:
            raise SchemaError(f"no .avsc files under {self.root}; `contracts init` writes an example", where, "NO_SCHEMAS")
        if self.catalog_file is None:
            raise SchemaError(
                f"no {CATALOG_FILE} in {self.root}: without it no topic or subject is known and the gate would check nothing; "
                "`contracts init` writes one, or point --schemas (or [tool.contracts] schemas) at the folder that has it",
                where,
                "NO_CATALOG",
            )
        if not self.topics:
            raise SchemaError("the catalog names no topics: the gate would check nothing", Location(file=self.catalog_file), "NO_CATALOG")

    def require_valid_defaults(self) -> None:
        """Refuse (exit 2, rule ``INVALID_DEFAULT``) a schema whose default does not fit its field's type.

        Lint reports every one as a finding; codegen, the gate and publish stop here, as a
        registry that validates defaults refuses such a schema (42201).
        """
        for t in self.types.values():  # every named type in turn: each checks only its own fields
            check_defaults(t, nested=False)

    def file_of(self, fullname: str) -> str:
        """The file (relative to the schemas root) that defines ``fullname``."""
        t = self.types[fullname]
        return t.file or ""

    def services(self) -> set[str]:
        """Every service the catalog names as a producer or consumer of a topic."""
        return {name for t in self.topics.values() for name in (*t.producers, *t.consumers)}

    def idempotency_key(self, fullname: str) -> str | None:
        """The field path (``metadata.event_id``) that identifies one ``fullname`` event, ``None`` if it has none."""
        topic = self.topic_for(fullname)
        if topic is not None and fullname in topic.idempotency_keys:
            return topic.idempotency_keys[fullname]
        schema = self.types.get(fullname)
        return DEFAULT_IDEMPOTENCY_KEY if schema is not None and field_at(schema, DEFAULT_IDEMPOTENCY_KEY) is not None else None

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
                contract = self.contracts.get(full) or DataContract()
                out[name] = Subject(
                    name, topic.name, full, topic.compatibility, self.types[full], self.file_of(full), contract, topic.compatibility_group
                )
        return [out[k] for k in sorted(out)]

    def subject(self, name: str) -> Subject:
        for s in self.subjects():
            if s.name == name:
                return s
        names = [s.name for s in self.subjects()]
        close = did_you_mean(name, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; the catalog's subjects: {', '.join(names) or 'none'}"
        raise SchemaError(f"unknown subject '{name}'{hint}", Location(file=self.catalog_file), "UNKNOWN_SUBJECT")


def load_catalog(root: Path | str = "schemas") -> Catalog:
    """Load ``schemas/`` with its ``catalog.toml`` (topics are optional)."""
    root = Path(root)
    if not root.is_dir():
        raise SchemaError(f"schemas folder '{root}' does not exist", Location(file=str(root)), "NO_SCHEMAS")
    with bulk():  # many small objects, none of them garbage: collector passes over the growing heap are wasted
        files, types = load_schemas(root)
        catalog_path = root / CATALOG_FILE
        display = display_path(root, catalog_path)
        spec = validate(CatalogSpec, read_toml(catalog_path, display, "INVALID_CATALOG"), file=display, rule="INVALID_CATALOG")
        default_level, topics = _topics(spec, types, display)
        contracts = event_contracts(spec.events, types, display)
    return Catalog(root, files, types, topics, default_level, display if catalog_path.exists() else None, contracts)


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
                close = did_you_mean(v, types, n=3)
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
            idempotency_keys=_idempotency_keys(t.idempotency_key, values, types, f"{base}.idempotency_key", err),
            compatibility_group=t.compatibility_group,
        )
    return default_level, topics


DEFAULT_IDEMPOTENCY_KEY = "metadata.event_id"
"""The convention where an event type has it: the metadata record's event id."""


def field_at(schema: NamedSchema, path: str) -> Schema | None:
    """The type of the field at a dotted path through records (a nullable record counts), ``None`` when absent."""
    node: Schema = schema
    for name in path.split("."):
        if isinstance(node, Union):
            records = [b for b in node.branches if isinstance(b, Record)]
            node = records[0] if len(records) == 1 else node
        found = node.field_named(name) if isinstance(node, Record) else None
        if found is None:
            return None
        node = found.type
    return node


def _idempotency_keys(given: str | dict[str, str] | None, values: list[str], types: dict[str, NamedSchema], path: str, err: Any) -> dict[str, str | None]:
    """Each event type's key field: ``given`` for all, or per type; else the convention where the type has it."""
    if isinstance(given, dict):
        for name in given:
            if name not in values:
                close = did_you_mean(name, values, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; the topic carries {', '.join(values)}"
                raise err(f"'{name}' is not an event type of this topic{hint}", f'{path}."{name}"', "UNKNOWN_TYPE")
    out: dict[str, str | None] = {}
    for value in values:
        key = given.get(value) if isinstance(given, dict) else given
        where = f'{path}."{value}"' if isinstance(given, dict) else path
        if key is None:
            out[value] = DEFAULT_IDEMPOTENCY_KEY if field_at(types[value], DEFAULT_IDEMPOTENCY_KEY) is not None else None
            continue
        found = field_at(types[value], key)
        if found is None:
            record = types[value]
            names = [f.name for f in record.fields] if isinstance(record, Record) else []
            close = did_you_mean(key.rsplit(".", 1)[-1], names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; its fields: {', '.join(names)}"
            raise err(f"{value} has no field '{key}' to use as its idempotency key{hint}", where, "UNKNOWN_FIELD")
        if not isinstance(found, Primitive) or found.type not in ("string", "int", "long"):
            raise err(f"idempotency key '{key}' of {value} is {type_label(found)}; it must be a string, int or long (a uuid is a string)", where)
        out[value] = key
    return out


def _level(value: str, path: str, err: Any) -> str:
    level = parse_level(value)
    if level is None:
        raise err(f"compatibility must be one of {', '.join(LEVEL_NAMES)}, not {value!r}", path)
    return level


def _strategy(value: str, path: str, err: Any) -> str:
    if value not in _STRATEGY_ALIASES:
        raise err(f"subject_name_strategy must be one of {', '.join(STRATEGIES.values())}, not {value!r}", path)
    return _STRATEGY_ALIASES[value]
