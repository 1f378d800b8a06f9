"""Migrations between versions of a subject: JSONata rules that carry a message across a breaking change.

As Confluent's deserializers do: data newer than the reader goes through the DOWNGRADE rules of
each version after the reader's, newest first; older data through the UPGRADE rules of each
version up to the reader's, oldest first. The reader's version is the newest one whose schema
is its generated class's.

JSONata works on JSON values, so the message is read with its writer's schema alone, made JSON
(bytes and fixed as Avro's JSON encoding writes them: one character per byte), migrated, and
written back with the reader's schema, which Avro then reads as any other message.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastavro

from contracts import schema as s
from contracts.datacontract.engines import JsonataProgram
from contracts.datacontract.fields import branch_of
from contracts.datacontract.model import Rule
from contracts.datacontract.runner import RuleFailure
from contracts.registry.source import SchemaSource, StoredSchema


def json_value(schema: s.Schema, value: Any) -> Any:
    """An Avro value (as fastavro reads it) as a JSON value JSONata accepts."""
    if isinstance(schema, s.Union):
        branch, inner = branch_of(schema, value)
        return inner if branch is None else json_value(branch, inner)
    if isinstance(schema, s.Record) and isinstance(value, dict):
        return {f.name: json_value(f.type, value[f.name]) for f in schema.fields if f.name in value}
    if isinstance(schema, s.Array) and isinstance(value, list):
        return [json_value(schema.items, v) for v in value]
    if isinstance(schema, s.Map) and isinstance(value, dict):
        return {k: json_value(schema.values, v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def avro_value(schema: s.Schema, value: Any) -> Any:
    """A migrated JSON value as fastavro writes it with ``schema`` (the inverse of ``json_value``)."""
    if isinstance(schema, s.Union):
        for branch in schema.branches:  # the first branch the value can be
            if _fits(branch, value):
                return avro_value(branch, value)
        return value
    if isinstance(schema, s.Record) and isinstance(value, dict):
        return {k: (avro_value(f.type, v) if (f := schema.field_named(k)) is not None else v) for k, v in value.items()}
    if isinstance(schema, s.Array) and isinstance(value, list):
        return [avro_value(schema.items, v) for v in value]
    if isinstance(schema, s.Map) and isinstance(value, dict):
        return {k: avro_value(schema.values, v) for k, v in value.items()}
    if isinstance(value, str) and (isinstance(schema, s.Fixed) or (isinstance(schema, s.Primitive) and schema.type == "bytes")):
        return value.encode("latin-1")
    return value


def _fits(schema: s.Schema, value: Any) -> bool:
    if value is None:
        return isinstance(schema, s.Primitive) and schema.type == "null"
    if isinstance(value, dict):
        return isinstance(schema, s.Record | s.Map)
    if isinstance(value, list):
        return isinstance(schema, s.Array)
    if isinstance(value, bool):
        return isinstance(schema, s.Primitive) and schema.type == "boolean"
    if isinstance(value, int | float):
        return isinstance(schema, s.Primitive) and schema.type in ("int", "long", "float", "double")
    return isinstance(schema, s.Enum | s.Fixed) or (isinstance(schema, s.Primitive) and schema.type in ("string", "bytes"))


@dataclass(frozen=True)
class Migration:
    """The rules that carry messages of one writer version to the reader's version, and how to run them."""

    subject: str
    direction: str
    rules: tuple[tuple[Rule, JsonataProgram], ...]
    writer: s.Schema
    reader: s.Schema

    def __post_init__(self) -> None:
        # Raw Avro values on both sides (a decimal as its bytes, a timestamp as its number): what is not
        # migrated passes through untouched, and the reader's class reads the result as any message.
        object.__setattr__(self, "_writer_avro", fastavro.parse_schema(plain_schema(s.to_json(self.writer))))
        object.__setattr__(self, "_reader_avro", fastavro.parse_schema(plain_schema(s.to_json(self.reader))))

    def names(self) -> list[str]:
        return [rule.name for rule, _ in self.rules]

    def run(self, body: bytes) -> bytes:
        """The Avro body of a writer-version message, as the reader's version writes it."""
        message = json_value(self.writer, fastavro.schemaless_reader(io.BytesIO(body), self._writer_avro, None, return_record_name=True))  # type: ignore[attr-defined]
        for rule, program in self.rules:
            try:
                message = program.run(message)
            except Exception as exc:  # jsonata-python raises its own errors for a failing expression
                raise RuleFailure(rule, self.subject, self.direction, rule.action(self.direction, False), f"{type(exc).__name__}: {exc}") from exc
            if not isinstance(message, dict):
                raise RuleFailure(rule, self.subject, self.direction, rule.action(self.direction, False), f"the migration gave {type(message).__name__}, not a record")
        out = io.BytesIO()
        try:
            fastavro.schemaless_writer(out, self._reader_avro, avro_value(self.reader, message))  # type: ignore[attr-defined]
        except Exception as exc:  # fastavro names the field that does not fit
            rule = self.rules[-1][0]
            raise RuleFailure(rule, self.subject, self.direction, rule.action(self.direction, False), f"the migrated message does not fit the reader's schema: {exc}") from exc
        return out.getvalue()


def plain_schema(schema: Any) -> Any:
    """Avro JSON without logical types: the schema of raw values (a decimal's bytes, a timestamp's number)."""
    if isinstance(schema, dict):
        return {k: plain_schema(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [plain_schema(v) for v in schema]
    return schema


def find_migration(
    source: SchemaSource, stored: StoredSchema, writer: s.Schema, reader: s.Schema, parse: Callable[[StoredSchema], s.Schema]
) -> Migration | None:
    """The migration from ``stored`` (the writer's version) to the reader's version, ``None`` when no rule applies."""
    wanted = s.canonical_form(reader)
    for subject, writer_version in source.schema_versions(stored.id):
        numbers = source.versions(subject)
        target = next((n for n in reversed(numbers) if s.canonical_form(parse(source.version(subject, n))) == wanted), None)
        if target is None or target == writer_version:
            continue
        direction = "DOWNGRADE" if writer_version > target else "UPGRADE"
        span = range(writer_version, target, -1) if direction == "DOWNGRADE" else range(writer_version + 1, target + 1)
        rules: list[tuple[Rule, JsonataProgram]] = []
        for number in span:
            version = stored if number == writer_version else source.version(subject, number)
            applying = [r for r in version.rule_set.migration_rules if r.applies(direction)]
            for rule in reversed(applying) if direction == "DOWNGRADE" else applying:
                if rule.type != "JSONATA":
                    raise RuleFailure(rule, subject, direction, "ERROR", f"migration rules of type {rule.type} are not executed by this client")
                rules.append((rule, JsonataProgram(rule.expr or "")))
        return Migration(subject, direction, tuple(rules), writer, reader) if rules else None
    return None
