"""What the gate checks in data contracts: expressions compile, rules name real fields, and rule changes are seen.

Each check is a rule with an id, a purpose and an example (``CONTRACT_RULES``), listed by
``contracts compat rules`` beside the compatibility rules. A change that loosens what a
contract guarantees (a rule removed or disabled, a tag dropped) or tightens what producers
must send (a write condition added or changed) blocks until ``overrides.toml`` accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contracts import schema as s
from contracts.datacontract.engines import ExpressionError
from contracts.datacontract.fields import field_tags
from contracts.datacontract.model import DataContract, Rule
from contracts.datacontract.runner import EXECUTABLE, compile_step
from contracts.errors import Location, SchemaError
from contracts.findings import Finding

CATEGORY = "data contracts"


@dataclass(frozen=True)
class ContractRule:
    id: str
    summary: str
    example: str
    severity: str = "error"


CONTRACT_RULES: tuple[ContractRule, ...] = (
    ContractRule("RULE_FIELD_UNKNOWN", "A CEL rule reads a field the schema does not have: it fails on every message.",
                 'expr = "message.totl > 0.0" on a record with a field `total`'),
    ContractRule("RULE_CONDITION_ADDED", "A WRITE condition was added or its expression changed: producers may now have events refused.",
                 'v2 adds rules = [{ name = "total_not_negative", expr = "message.total.amount >= 0.0" }]'),
    ContractRule("RULE_REMOVED", "A rule of the previous version is gone: what it guaranteed (a check, a mask, a migration) no longer holds.",
                 "v1 has `mask_pii`, v2 does not"),
    ContractRule("RULE_DISABLED", "A rule of the previous version is now disabled: what it guaranteed no longer holds.",
                 "v2 sets disabled = true on `total_not_negative`"),
    ContractRule("FIELD_TAG_REMOVED", "A field lost a tag (PII): rules for that tag no longer apply to it, so its values pass unmasked.",
                 'v1 tags `com.acme.orders.Customer.email` ["PII"], v2 does not'),
    ContractRule("MIGRATION_RULES_MISSING",
                 "A version starts a new compatibility group with a schema the previous group cannot read, and without UPGRADE and DOWNGRADE migration rules: readers on the other group cannot read it.",
                 'v3 sets major_version = "2" (compatibility_group = "major_version") and has no migrations'),
    ContractRule("READ_THROUGH_MIGRATION",
                 "A deployed consumer reads another compatibility group's events through a migration rule (reported, never blocking).",
                 "payments-service on v1 reads candidate v4 (major_version 2) through DOWNGRADE rule v2_to_v1", "warning"),
    ContractRule("RULE_READ_CHANGED", "A READ rule was added or changed: consumers see values transformed or refused differently.",
                 'v2 adds a CEL_FIELD rule masking ["PII"] on read', "warning"),
)  # fmt: skip
BY_ID = {r.id: r for r in CONTRACT_RULES}
_CHAIN = re.compile(r"(?<![\w.])message((?:\s*\.\s*[A-Za-z_]\w*)+)")


def compile_all(subject: str, contract: DataContract, file: str, key: str) -> None:
    """Every CEL and JSONata expression of ``contract`` compiles; else bad input naming the rule, subject and file."""
    for list_key, rule in contract.rule_set.rules():
        if rule.type not in EXECUTABLE or not rule.expr:
            continue
        try:
            compile_step(rule)  # the guard and the expression, split as the serializers split them
        except ExpressionError as exc:
            where = Location(file=file, path=f"{key}.{list_key}.{rule.name}")
            raise SchemaError(f"rule {rule.name} of subject {subject}: its {rule.type} expression does not compile: {exc}", where, "INVALID_CONTRACT") from None


def unknown_fields(rule: Rule, schema: s.Schema) -> list[str]:
    """The ``message.a.b`` paths of a CEL rule that the schema does not have."""
    if rule.type != "CEL" or not rule.expr:
        return []
    missing = []
    for m in _CHAIN.finditer(rule.expr):
        names = [n.strip() for n in m.group(1).split(".") if n.strip()]
        at: s.Schema | None = schema
        for i, name in enumerate(names):
            record = _record(at)
            if record is None:
                break  # a map, an array or a value: what follows is a key or a method, not a field
            f = record.field_named(name)
            if f is None:
                if i + 1 < len(names) and rule.expr[m.end(1):].lstrip().startswith("("):
                    break
                missing.append("message." + ".".join(names[: i + 1]))
                break
            at = f.type
    return missing


def _record(schema: s.Schema | None) -> s.Record | None:
    if isinstance(schema, s.Record):
        return schema
    if isinstance(schema, s.Union):
        records = [b for b in schema.branches if isinstance(b, s.Record)]
        return records[0] if len(records) == 1 else None
    return None


def all_tags(schema: s.Schema, contract: DataContract) -> dict[str, frozenset[str]]:
    """Field full name -> its tags (inline and from the metadata)."""
    return {
        f"{r.fullname}.{f.name}": field_tags(r, f, contract.metadata.tags)
        for r in s.walk_named(schema) if isinstance(r, s.Record) for f in r.fields
    }  # fmt: skip


Make = Callable[[str, str, str | None], Finding]
"""(rule id, message, path) -> a finding of the subject being checked."""


def contract_findings(
    make: Make, schema: s.Schema, contract: DataContract, previous: tuple[s.Schema, DataContract] | None, producers: Iterable[str] = (),
    *, group: str | None = None, consumers: Iterable[str] = (), breaks: Callable[[], bool] = lambda: True,
) -> list[Finding]:
    """The data-contract findings of a candidate against the latest published version (``None``: a first version)."""
    out: list[Finding] = []
    for _, rule in contract.rule_set.rules():
        for path in unknown_fields(rule, schema):
            out.append(make("RULE_FIELD_UNKNOWN", f"rule {rule.name} reads {path}, which the schema does not have: the rule fails on every message", path))
    if previous is None:
        return out
    old_schema, old = previous
    if group is not None:
        out += _group_change(make, group, contract, old, consumers, breaks)
    who = ", ".join(producers)
    producers_note = f" ({who}, deployed on earlier versions)" if who else ""
    old_rules = {(k, r.name): r for k, r in old.rule_set.rules()}
    new_rules = {(k, r.name): r for k, r in contract.rule_set.rules()}
    for key, rule in old_rules.items():
        now = new_rules.get(key)
        if now is None:
            out.append(make("RULE_REMOVED", f"rule {rule.name} ({rule.type} {rule.kind}, {rule.mode}) is removed: what it guaranteed no longer holds", None))
        elif now.disabled and not rule.disabled:
            out.append(make("RULE_DISABLED", f"rule {rule.name} is disabled: what it guaranteed no longer holds", None))
    for key, rule in new_rules.items():
        before = old_rules.get(key)
        if rule.disabled or (before is not None and before == rule):
            continue
        if rule.kind == "CONDITION" and rule.applies("WRITE") and (before is None or before.expr != rule.expr or before.disabled):
            verb = "is added" if before is None or before.disabled else f"changes from `{before.expr}` to `{rule.expr}`"
            out.append(make("RULE_CONDITION_ADDED", f"write condition {rule.name} {verb}: producers{producers_note} may now have events refused", None))
        elif rule.applies("READ"):
            verb = "is added" if before is None else "changes"
            out.append(make("RULE_READ_CHANGED", f"read rule {rule.name} ({rule.type} {rule.kind}) {verb}: consumers see values transformed or refused differently", None))
    tags_now = all_tags(schema, contract)
    for name, tags in all_tags(old_schema, old).items():
        if name not in tags_now:
            continue  # the field itself is gone: the compatibility rules speak for it
        dropped = sorted(tags - tags_now[name])
        if dropped:
            out.append(make("FIELD_TAG_REMOVED", f"field {name} is no longer tagged {', '.join(dropped)}: rules for those tags no longer apply to it", name))
    return out


def _group_change(
    make: Make, group: str, contract: DataContract, old: DataContract, consumers: Iterable[str], breaks: Callable[[], bool]
) -> list[Finding]:
    """A new compatibility group whose schema readers of the old one cannot read needs migrations both ways."""
    before, now = old.metadata.properties.get(group), contract.metadata.properties.get(group)
    if before == now or not breaks():
        return []
    lacking = [d for d in ("UPGRADE", "DOWNGRADE") if not any(r.applies(d) for r in contract.rule_set.migration_rules)]
    if not lacking:
        return []
    who = ", ".join(consumers)
    readers = f"consumers built on {group} {before} ({who})" if who else f"consumers built on {group} {before}"
    return [make("MIGRATION_RULES_MISSING", f"{group} changes from {before} to {now} without {' and '.join(lacking)} migration rules: {readers} cannot read its events", None)]
