"""Running a schema version's rules on its messages, as the serializers do on every write and read.

Confluent's semantics, so that its clients and ours accept, refuse and transform alike: WRITE
rules run in their order, READ rules in reverse; a rule's expression may start with a guard
(``guard; expr``) that skips it when false; a CONDITION that is not true fails; of two field
transforms with the same tags, the first on write (the last on read) wins. A failure's action is
the rule's ``onFailure``: ``ERROR`` (the default) and ``DLQ`` raise ``RuleFailure``, which the
producer and consumer turn into a dead letter for ``DLQ``; ``NONE`` logs and goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import schema as s
from contracts.datacontract.engines import CelProgram, ExpressionError, JsonataProgram, compile_rule
from contracts.datacontract.fields import FieldInfo, FieldWalker, cel_view
from contracts.datacontract.model import Metadata, Rule, RuleSet
from contracts.errors import ContractsError

log = logging.getLogger("contracts.rules")
EXECUTABLE = ("CEL", "CEL_FIELD", "JSONATA")


class RuleFailure(ContractsError):
    """A rule refused a message (or could not run on it); ``action`` is ``ERROR`` or ``DLQ``."""

    def __init__(self, rule: Rule, subject: str, direction: str, action: str, reason: str) -> None:
        self.rule = rule
        self.subject = subject
        self.direction = direction
        self.action = action
        self.reason = reason
        self.payload: bytes | None = None  # for DLQ on write: the event's bytes, as sent to the dead-letter topic
        super().__init__(f"rule {rule.name} ({rule.type} {rule.kind}, {direction}) of subject {subject}: {reason}")

    def headers(self) -> list[tuple[str, bytes]]:
        """What a dead letter carries to say which rule sent it there."""
        return [("dlq-rule-name", self.rule.name.encode()), ("dlq-rule-subject", self.subject.encode()), ("dlq-rule-mode", self.direction.encode())]


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class _Step:
    rule: Rule
    guard: CelProgram | JsonataProgram | None
    program: CelProgram | JsonataProgram | _Unsupported


class _Unsupported:
    def __init__(self, rule_type: str) -> None:
        self.rule_type = rule_type

    def run(self, *_: Any) -> Any:
        raise _Refused(f"rules of type {self.rule_type} are not executed by this client")


def _split_guard(expr: str) -> tuple[str | None, str]:
    """``guard; expr`` as Confluent splits it (at the first ``;``)."""
    if ";" in expr:
        guard, _, body = expr.partition(";")
        return (guard if guard.strip() else None), body
    return None, expr


def compile_step(rule: Rule, message: s.Schema | None = None) -> _Step:
    """The rule's programs; ``ExpressionError`` when an expression does not compile.

    ``message`` is the schema of the raw messages a CEL condition (and any guard) reads; a
    message-level transform sees them raw, as its result is written back as it comes.
    """
    guard, body = _split_guard(rule.expr or "") if rule.type != "JSONATA" else (None, rule.expr or "")
    shown = message if rule.type == "CEL" else None
    return _Step(
        rule,
        None if guard is None else compile_rule(rule.type, guard, shown),
        compile_rule(rule.type, body, shown if rule.kind == "CONDITION" else None),
    )


class RuleRunner:
    """The domain rules of one schema version, compiled once; ``write``/``read`` run them on a message (a dict)."""

    def __init__(self, subject: str, schema: s.Schema, metadata: Metadata, rule_set: RuleSet) -> None:
        self.subject = subject
        self.schema = schema
        self.walker = FieldWalker(schema, metadata.tags)
        self._steps: dict[str, list[_Step]] = {}
        for direction in ("WRITE", "READ"):
            rules = [r for r in rule_set.domain_rules if r.applies(direction)]
            if direction == "READ":
                rules.reverse()
            kept = [r for i, r in enumerate(rules) if not any(_same_field_transform(r, o) for o in rules[:i])]
            self._steps[direction] = [self._compile(r) for r in kept]

    def _compile(self, rule: Rule) -> _Step:
        if rule.type not in EXECUTABLE:
            return _Step(rule, None, _Unsupported(rule.type))
        try:
            return compile_step(rule, self.schema)
        except ExpressionError as exc:
            raise RuleFailure(rule, self.subject, rule.mode, "ERROR", f"the expression does not compile: {exc}") from None

    def __bool__(self) -> bool:
        return any(self._steps.values())

    def has(self, direction: str) -> bool:
        return bool(self._steps[direction])

    def write(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._run("WRITE", message)

    def read(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._run("READ", message)

    def _run(self, direction: str, message: dict[str, Any]) -> dict[str, Any]:
        for step in self._steps[direction]:
            rule = step.rule
            try:
                message = self._one(step, message)
            except _Refused as exc:
                self._fail(rule, direction, str(exc))
            except RuleFailure:
                raise
            except Exception as exc:  # an expression that fails on this message (a missing field, a type error)
                self._fail(rule, direction, f"{type(exc).__name__}: {exc}")
            else:
                action = rule.action(direction, True)
                if action != "NONE":
                    raise RuleFailure(rule, self.subject, direction, action, "the rule passed and its onSuccess action is " + action)
        return message

    def _fail(self, rule: Rule, direction: str, reason: str) -> None:
        action = rule.action(direction, False)
        if action == "NONE":
            log.warning("rule %s of subject %s failed on %s (onFailure NONE): %s", rule.name, self.subject, direction.lower(), reason)
            return
        raise RuleFailure(rule, self.subject, direction, action, reason)

    def _message(self, program: CelProgram | JsonataProgram | _Unsupported, message: dict[str, Any], schema: s.Schema) -> Any:
        """The ``message`` a CEL program is given: the fields it reads, as CEL should see them."""
        reads = program.reads.get("message") if isinstance(program, CelProgram) else None
        return cel_view(schema, message, reads)

    def _one(self, step: _Step, message: dict[str, Any]) -> dict[str, Any]:
        rule = step.rule
        if rule.type == "CEL_FIELD":
            return self._fields(step, message)
        if rule.type == "JSONATA":
            return _record(step.program.run(message), rule)
        if step.guard is not None and step.guard.run({"message": message}) is not True:
            return message
        if rule.kind == "CONDITION":
            result = step.program.run({"message": message})
            if result is not True:
                raise _Refused("the condition was false" if result is False else f"the condition gave {result!r}, not true or false")
            return message
        # A message-level transform's result is written as it comes back: it sees the raw Avro values.
        return _record(step.program.run({"message": message}), rule)

    def _fields(self, step: _Step, message: dict[str, Any]) -> dict[str, Any]:
        rule = step.rule
        wanted = set(rule.tags)

        def visit(info: FieldInfo, schema: s.Schema, value: Any, holder: dict[str, Any], record: s.Record) -> Any:
            def args(program: CelProgram | JsonataProgram | _Unsupported) -> dict[str, Any]:
                return {"value": cel_view(schema, value), "fullName": info.full_name, "name": info.name, "typeName": info.type_name,
                        "tags": sorted(info.tags), "message": self._message(program, holder, record)}  # fmt: skip

            if step.guard is not None and step.guard.run(args(step.guard)) is not True:
                return value
            result = step.program.run(args(step.program))
            if rule.kind == "CONDITION":
                if result is not True:
                    raise _Refused(f"the condition was false for field {info.full_name}")
                return value
            return result

        return self.walker.walk(message, (lambda tags: bool(tags & wanted)) if wanted else (lambda tags: True), visit)  # type: ignore[no-any-return]


def _record(result: Any, rule: Rule) -> dict[str, Any]:
    if not isinstance(result, Mapping):
        raise _Refused(f"the transform gave {type(result).__name__}, not a record")
    return dict(result)


def _same_field_transform(a: Rule, b: Rule) -> bool:
    return bool(a.tags) and a.kind == b.kind == "TRANSFORM" and a.type == b.type and a.mode == b.mode and set(a.tags) == set(b.tags)
