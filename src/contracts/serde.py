"""Registry-aware serializers for generated event classes, in Confluent's wire format.

Bytes are ``0x00`` + a 4-byte big-endian schema id + the Avro body (``contracts.wire``);
readers also take the schema GUID in a header or payload, as Confluent's newer clients
send it: any Confluent client, in any language, reads what we write and we read what they write. Registry
access goes through one seam (``contracts.registry.source``): confluent-kafka's ``SchemaRegistryClient``
(its TLS and basic-auth settings pass straight through) or our ``RegistryClient``, over HTTP or in process. Encoding and decoding take a thin path of their
own: the schema id and the resolved reader are looked up once per class or id and
cached, then each message is one fastavro call plus building the class (confluent's
``AvroDeserializer`` walks the schema on every message for data-contract rules).

Production-safe by default: nothing is registered; the serializer uses the subject's
version whose schema is the class's own (or ``latest``, or a pinned version) and fails,
naming the subject, when there is none. ``auto_register=True`` is for development.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient

from contracts import schema as s
from contracts import wire
from contracts.catalog import Catalog, subject_name
from contracts.codec import Codec, ReadPlan, codec_for, known_classes
from contracts.codec.backend import TrailingBytes
from contracts.compat.checker import Checker
from contracts.datacontract.migrate import Migration, find_migration
from contracts.datacontract.runner import RuleFailure, RuleRunner
from contracts.errors import ContractsError, InfrastructureError
from contracts.record import AvroRecord
from contracts.redaction import redact, split_userinfo
from contracts.registry.client import RegistryClient, RegistryError
from contracts.registry.references import RefCache, parse_with_references
from contracts.registry.source import SchemaNotFound, SchemaSource, StoredSchema, as_source, fetcher


class SerializationError(ContractsError):
    """An event could not be serialized (its schema is not registered, its topic unknown...)."""


class EventDeserializationError(ContractsError):
    """A message could not be turned into an event. Carries where it came from and why.

    Raised for a wrong magic byte, a truncated payload, an unknown schema id, a writer
    schema this consumer has no class for, and data that does not match its schema.
    """

    def __init__(
        self, reason: str, *, topic: str | None = None, partition: int | None = None, offset: int | None = None,
        rule: RuleFailure | None = None, kind: str = "data",
    ) -> None:
        self.reason = reason
        self.kind = "rule" if rule is not None else kind
        """Why, in one word (a metric's label): ``framing``, ``schema_not_found``, ``no_class``, ``data``, ``rule``."""
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.rule = rule  # set when a READ rule refused the event
        where = f"{topic}[{partition}]@{offset}" if topic is not None else "message"
        super().__init__(f"cannot deserialize {where}: {reason}")


def registry_client(url: str, **conf: Any) -> SchemaRegistryClient:
    """A confluent-kafka client; ``conf`` keys as confluent names them (``basic.auth.user.info``...).

    User info in ``url`` becomes ``basic.auth.user.info`` and leaves the URL, so the HTTP
    library's request log (and any error it raises) never carries the password.
    """
    clean, userinfo = split_userinfo(url)
    if userinfo is not None and "basic.auth.user.info" not in conf:
        conf = {**conf, "basic.auth.user.info": userinfo}
    return SchemaRegistryClient({"url": clean, **conf})


def _parse_stored(source: SchemaSource, stored: StoredSchema, cache: RefCache) -> s.Schema:
    """Parse a registered schema, loading its references (other subjects' versions) first."""
    return parse_with_references(stored.text, list(stored.references), fetcher(source), cache)


@dataclass
class _Writer:
    schema_id: int
    header: bytes
    codec: Codec  # the class's: its raw form written through the Avro backend
    encode: Callable[[Any], dict[str, Any]]
    rules: RuleRunner | None = None  # the version's WRITE rules, when it has any


def rule_runner(subject: str, stored: StoredSchema, schema: s.Schema, direction: str) -> RuleRunner | None:
    """The rules of a registered version that run on ``direction``, or ``None`` when none do (the fast path)."""
    if not stored.rule_set.domain_rules:
        return None
    runner = RuleRunner(subject, schema, stored.metadata, stored.rule_set)
    return runner if runner.has(direction) else None


class EventSerializer:
    """Serialize generated events for their catalog topic's subject.

    ``version``: ``None`` (default) uses the subject's version whose schema equals the
    class's; ``"latest"`` requires the latest version to be the class's schema; an
    integer pins that version.
    """

    def __init__(
        self,
        client: SchemaRegistryClient | RegistryClient | SchemaSource,
        catalog: Catalog,
        *,
        auto_register: bool = False,
        version: int | str | None = None,
    ) -> None:
        self.client = client
        self.source = as_source(client)
        self.catalog = catalog
        self.auto_register = auto_register
        self.version = version
        self._writers: dict[tuple[type[AvroRecord], str], _Writer] = {}
        self._topics: dict[type[AvroRecord], str] = {}
        self._refs: RefCache = {}
        self._lock = threading.Lock()

    def subject_for(self, cls: type[AvroRecord], topic: str) -> str:
        t = self.catalog.topics.get(topic)
        strategy = t.strategy if t else "topic"
        return subject_name(strategy, topic, cls.__avro_fullname__)

    def topic_for(self, cls: type[AvroRecord]) -> str:
        """The catalog's topic for ``cls`` (remembered; a topic passed to a call never is)."""
        name = self._topics.get(cls)
        if name is None:
            t = self.catalog.topic_for(cls.__avro_fullname__)
            if t is None:
                raise SerializationError(f"no topic in the catalog carries {cls.__avro_fullname__}")
            name = self._topics[cls] = t.name
        return name

    def __call__(self, event: AvroRecord, topic: str | None = None) -> bytes:
        cls = type(event)
        topic = topic or self.topic_for(cls)
        writer = self._writers.get((cls, topic))
        if writer is None:
            writer = self._resolve(cls, topic)
        datum = writer.encode(event)
        if writer.rules is not None:
            try:
                datum = writer.rules.write(datum)
            except RuleFailure as failure:
                if failure.action == "DLQ":  # the producer sends these bytes (no rule applied) to the dead-letter topic
                    failure.payload = self._bytes(writer, writer.encode(event))
                raise
        return self._bytes(writer, datum)

    @staticmethod
    def _bytes(writer: _Writer, datum: dict[str, Any]) -> bytes:
        return writer.header + writer.codec.raw_write()(datum)

    def schema_id(self, cls: type[AvroRecord], topic: str | None = None) -> int:
        topic = topic or self.topic_for(cls)
        return (self._writers.get((cls, topic)) or self._resolve(cls, topic)).schema_id

    def _resolve(self, cls: type[AvroRecord], topic: str) -> _Writer:
        with self._lock:
            subject = self.subject_for(cls, topic)
            own = codec_for(cls).record
            try:
                stored = self._find(subject, own, cls)
            except RegistryError as exc:  # not an outage, not credentials (those pass as they are)
                raise SerializationError(f"schema registry error for subject {subject}: {redact(str(exc))}") from exc
            codec = codec_for(cls)
            rules = rule_runner(subject, stored, _parse_stored(self.source, stored, self._refs), "WRITE")
            writer = _Writer(stored.id, wire.frame(stored.id), codec, codec.compiled_encoder(), rules)
            self._writers[(cls, topic)] = writer
            return writer

    def _find(self, subject: str, own: s.Schema, cls: type[AvroRecord]) -> StoredSchema:
        canonical = s.canonical_form(own)
        versions = self.source.versions(subject)
        if self.version == "latest":
            candidates = versions[-1:]
        elif isinstance(self.version, int):
            candidates = [v for v in versions if v == self.version]
        else:
            candidates = list(reversed(versions))
        for number in candidates:
            stored = self.source.version(subject, number)
            if s.canonical_form(_parse_stored(self.source, stored, self._refs)) == canonical:
                return stored
        if self.auto_register:  # read back: the version may carry rules it inherited or the registry's defaults
            return self.source.by_id(self.source.register(subject, json.dumps(cls.__avro_schema__)))
        which = "any version" if self.version is None else "the latest version" if self.version == "latest" else f"version {self.version}"
        raise SerializationError(
            f"{cls.__avro_fullname__} is not registered under subject {subject} ({which} checked: "
            f"{versions or 'none'}); register it with `contracts registry push`, or pass auto_register=True in development"
        )


class EventDeserializer:
    """Turn Confluent-framed Avro into instances of the consumer's own generated classes.

    The writer's schema (from the registry, by id) is resolved against the reader
    class's schema, so a consumer built on v1 reads data written with v2 and vice
    versa, as far as their compatibility allows. ``classes`` limits and maps which
    classes may be produced (default: every generated class imported so far).
    """

    def __init__(
        self, client: SchemaRegistryClient | RegistryClient | SchemaSource, classes: list[type[AvroRecord]] | None = None, *, migrate: bool = True
    ) -> None:
        self.client = client
        self.source = as_source(client)
        self.migrate = migrate
        self._classes = {c.__avro_fullname__: c for c in classes} if classes else None
        self._preferred: dict[str, type[AvroRecord]] = {}
        self._readers: dict[int | uuid.UUID | None, ReadPlan] = {}  # by schema id or GUID
        self._rules: dict[int | uuid.UUID | None, RuleRunner] = {}  # READ rules of the writer's version, where it has any
        self._migrations: dict[int | uuid.UUID | None, Migration] = {}  # writers read through migration rules
        self._refs: RefCache = {}
        self._lock = threading.Lock()

    def prefer(self, cls: type[AvroRecord]) -> None:
        """Build ``cls`` for data of its full name (a consumer prefers the classes it handles)."""
        with self._lock:
            self._preferred[cls.__avro_fullname__] = cls
            self._readers.clear()
            self._rules.clear()
            self._migrations.clear()

    register = prefer  # the earlier name

    def _class_for(self, writer: s.Schema) -> type[AvroRecord] | None:
        if not isinstance(writer, s.Record):
            return None
        table: dict[str, Any] = self._classes if self._classes is not None else {**known_classes(), **self._preferred}
        for name in (writer.fullname, *writer.aliases):
            cls = table.get(name)
            if isinstance(cls, type) and issubclass(cls, AvroRecord):
                return cls
        # A class that lists the writer's name among its own aliases (a renamed record).
        for cls in table.values():
            if isinstance(cls, type) and issubclass(cls, AvroRecord) and writer.fullname in cls.__avro_schema__.get("aliases", []):
                return cls
        return None

    def _reader(self, ref: wire.WriterRef) -> ReadPlan:
        key = ref.id if ref.id is not None else ref.guid
        found = self._readers.get(key)
        if found is not None:
            return found
        with self._lock:
            stored = self.source.by_id(ref.id) if ref.id is not None else self.source.by_guid(str(ref.guid))
            writer = _parse_stored(self.source, stored, self._refs)
            cls = self._class_for(writer)
            if cls is None:
                name = writer.fullname if isinstance(writer, s.Record) else s.type_label(writer)
                raise LookupError(f"no generated class for writer schema {name} ({ref})")
            own = codec_for(cls).record
            migration = self._migration(stored, writer, own)
            found = codec_for(cls).read_plan(own if migration is not None else writer)
            if migration is not None:
                self._migrations[key] = migration
            subject = f"schema id {ref.id}" if ref.id is not None else f"schema guid {ref.guid}"
            rules = rule_runner(subject, stored, own, "READ")
            if rules is not None:
                self._rules[key] = rules
            self._readers[key] = found
            return found

    def __call__(
        self, data: bytes | None, *, topic: str | None = None, partition: int | None = None, offset: int | None = None,
        headers: wire.Headers = None,
    ) -> AvroRecord:
        """The event in ``data``; ``headers`` (the message's) may carry the writer's schema GUID instead of the payload."""
        if data is None:
            raise _error("no payload (a tombstone)", topic, partition, offset, "framing")
        # The classic framing with no schema header is the common case: one slice and one lookup.
        schema_id = None if headers and wire.has_schema_header(headers) else wire.schema_id_of(data)
        reader = self._readers.get(schema_id) if schema_id is not None else None
        start = wire.ID_PREFIX_SIZE
        key: int | uuid.UUID | None = schema_id
        if reader is None:
            try:
                ref, start = wire.unframe(data, headers)
            except wire.FramingError as exc:
                raise _error(str(exc), topic, partition, offset, "framing") from exc
            reader = self._first_read(ref, {"topic": topic, "partition": partition, "offset": offset})
            key = ref.id if ref.id is not None else ref.guid
        if self._migrations and key in self._migrations:
            data, start = self._migrated(data, start, key, {"topic": topic, "partition": partition, "offset": offset}), 0
        try:
            raw = reader.decode(data, start)
        except TrailingBytes as exc:
            raise _error(str(exc), topic, partition, offset) from exc
        except Exception as exc:  # the backends raise many types for bad bytes
            raise _error(f"data does not match its writer schema: {exc!r}", topic, partition, offset) from exc
        if self._rules:
            raw = self._read_rules(raw, key, topic, partition, offset)
        try:
            return reader.build(raw)
        except Exception as exc:
            raise _error(f"cannot build {reader.cls.__name__}: {exc!r}", topic, partition, offset) from exc

    def _migration(self, stored: StoredSchema, writer: s.Schema, own: s.Schema) -> Migration | None:
        """Migration rules between the writer's version and the class's, where the writer brings some or Avro cannot resolve them."""
        if not self.migrate or stored.id < 0 or not hasattr(self.source, "schema_versions"):
            return None
        if not (stored.rule_set.migration_rules or Checker().check(own, writer)):
            return None
        return find_migration(self.source, stored, writer, own, lambda version: _parse_stored(self.source, version, self._refs))

    def _migrated(self, data: bytes, start: int, key: int | uuid.UUID | None, where: dict[str, Any]) -> bytes:
        try:
            return self._migrations[key].run(data[start:])
        except RuleFailure as failure:
            raise EventDeserializationError(str(failure), rule=failure, **where) from failure

    def _read_rules(self, raw: Any, key: int | uuid.UUID | None, topic: str | None, partition: int | None, offset: int | None) -> Any:
        rules = self._rules.get(key)
        if rules is None:
            return raw
        try:
            return rules.read(raw)
        except RuleFailure as failure:
            raise EventDeserializationError(str(failure), topic=topic, partition=partition, offset=offset, rule=failure) from failure

    def _first_read(self, ref: wire.WriterRef, where: dict[str, Any]) -> ReadPlan:
        """The reader for a writer not seen yet, with the registry's failures as our errors."""
        try:
            return self._reader(ref)
        except SchemaNotFound as exc:
            raise EventDeserializationError(f"unknown {ref}", kind="schema_not_found", **where) from exc
        except RegistryError as exc:
            raise InfrastructureError(f"schema registry failed for {ref}: {redact(str(exc))}") from exc
        except LookupError as exc:
            raise EventDeserializationError(str(exc), kind="no_class", **where) from exc


def _error(reason: str, topic: str | None, partition: int | None, offset: int | None, kind: str = "data") -> EventDeserializationError:
    return EventDeserializationError(reason, topic=topic, partition=partition, offset=offset, kind=kind)
