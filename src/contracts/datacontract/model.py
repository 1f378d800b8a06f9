"""A data contract's parts in Confluent's shapes: ``Metadata``, ``Rule`` and ``RuleSet``.

The one home for what a rule may say (kinds, modes, types, actions), how each part is read
from and written to Confluent's REST JSON, and how defaults, a request and overrides merge.
Everything that reads rules (the catalog, the registry, the serializers, the gate) parses
them here, so one rule is refused with the same words wherever it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("CONDITION", "TRANSFORM")
DOMAIN_MODES = ("WRITE", "READ", "WRITEREAD")
MIGRATION_MODES = ("UPGRADE", "DOWNGRADE", "UPDOWN")
MODES = (*DOMAIN_MODES, *MIGRATION_MODES)
TYPES = ("CEL", "CEL_FIELD", "JSONATA", "ENCRYPT", "ENCRYPT_PAYLOAD")
ACTIONS = ("NONE", "ERROR", "DLQ")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,255}$")
_RULE_KEYS = ("name", "doc", "kind", "mode", "type", "tags", "params", "expr", "onSuccess", "onFailure", "disabled")


class ContractError(ValueError):
    """A metadata or rule value that does not fit; ``key`` is where (``ruleSet.domainRules[0].mode``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str = "CONDITION"
    mode: str = "WRITE"
    type: str = "CEL"
    doc: str | None = None
    tags: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    expr: str | None = None
    on_success: str | None = None
    on_failure: str | None = None
    disabled: bool = False

    def applies(self, direction: str) -> bool:
        """Whether the rule runs on ``WRITE``/``READ`` (domain) or ``UPGRADE``/``DOWNGRADE`` (migration)."""
        if self.disabled:
            return False
        return self.mode == direction or (self.mode == "WRITEREAD" and direction in ("WRITE", "READ")) or (
            self.mode == "UPDOWN" and direction in ("UPGRADE", "DOWNGRADE")
        )

    def action(self, direction: str, ok: bool) -> str:
        """The action for this outcome: ``NONE``, ``ERROR`` or ``DLQ`` (a pair ``"DLQ,ERROR"`` is write,read)."""
        given = self.on_success if ok else self.on_failure
        if not given:
            return "NONE" if ok else "ERROR"
        parts = [p.strip() for p in given.split(",")]
        if len(parts) == 2:
            return parts[0] if direction in ("WRITE", "UPGRADE") else parts[1]
        return parts[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "mode": self.mode, "type": self.type}
        if self.doc is not None:
            out["doc"] = self.doc
        if self.tags:
            out["tags"] = list(self.tags)
        if self.params:
            out["params"] = dict(self.params)
        if self.expr is not None:
            out["expr"] = self.expr
        if self.on_success is not None:
            out["onSuccess"] = self.on_success
        if self.on_failure is not None:
            out["onFailure"] = self.on_failure
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass(frozen=True)
class RuleSet:
    migration_rules: tuple[Rule, ...] = ()
    domain_rules: tuple[Rule, ...] = ()
    encoding_rules: tuple[Rule, ...] = ()
    enable_at: int | None = None
    """Confluent's ``enableAt``: carried through as given."""

    def __bool__(self) -> bool:
        return bool(self.migration_rules or self.domain_rules or self.encoding_rules)

    def rules(self) -> Iterable[tuple[str, Rule]]:
        """Every rule with the list it is in (``migrationRules``, ``domainRules``, ``encodingRules``)."""
        for key, rules in _lists(self):
            for rule in rules:
                yield key, rule

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: [r.to_json() for r in rules] for key, rules in _lists(self) if rules}
        if self.enable_at is not None:
            out["enableAt"] = self.enable_at
        return out


def _lists(rule_set: RuleSet) -> tuple[tuple[str, tuple[Rule, ...]], ...]:
    return (("migrationRules", rule_set.migration_rules), ("domainRules", rule_set.domain_rules), ("encodingRules", rule_set.encoding_rules))


@dataclass(frozen=True)
class Metadata:
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Field path (``Order.customer.email``, ``**.email``) -> its tags."""
    properties: Mapping[str, str] = field(default_factory=dict)
    sensitive: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tags or self.properties or self.sensitive)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.tags:
            out["tags"] = {k: list(v) for k, v in self.tags.items()}
        if self.properties:
            out["properties"] = dict(self.properties)
        if self.sensitive:
            out["sensitive"] = list(self.sensitive)
        return out


# -- reading Confluent's JSON --------------------------------------------------------------
def _str(value: Any, key: str, *, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise ContractError(key, f"expected a string, got {_kind(value)}")
    if choices is not None and value.upper() not in choices:
        raise ContractError(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value.upper() if choices is not None else value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(key, f"expected a list of strings, got {_kind(value)}")
    return tuple(value)


def _string_map(value: Any, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ContractError(key, "expected a table of string values")
    return {str(k): v for k, v in value.items()}


def _action(value: Any, key: str, mode: str) -> str:
    text = _str(value, key)
    parts = [p.strip().upper() for p in text.split(",")]
    if len(parts) == 2 and mode not in ("WRITEREAD", "UPDOWN"):
        raise ContractError(key, f"a pair of actions ({text!r}) is only for mode WRITEREAD or UPDOWN, not {mode}")
    if len(parts) > 2 or not all(p in ACTIONS for p in parts):
        raise ContractError(key, f"expected one of {', '.join(ACTIONS)} (or a pair such as 'DLQ,ERROR'), got {text!r}")
    return ",".join(parts)


def parse_rule(data: Any, key: str, *, migration: bool = False) -> Rule:
    """A rule from its JSON (or TOML) object; ``ContractError`` names the key that does not fit."""
    if not isinstance(data, Mapping):
        raise ContractError(key, f"expected a rule object, got {_kind(data)}")
    unknown = [k for k in data if k not in _RULE_KEYS]
    if unknown:
        raise ContractError(f"{key}.{unknown[0]}", f"not a rule field; a rule has {', '.join(_RULE_KEYS)}")
    name = _str(data.get("name"), f"{key}.name")
    if not _NAME.match(name):
        raise ContractError(f"{key}.name", f"{name!r} is not a rule name: a letter or '_' first, then letters, digits, '_' or '-', at most 256")
    kind = _str(data.get("kind", "CONDITION"), f"{key}.kind", choices=KINDS)
    mode = _str(data.get("mode", "UPGRADE" if migration else "WRITE"), f"{key}.mode", choices=MODES)
    allowed = MIGRATION_MODES if migration else DOMAIN_MODES
    if mode not in allowed:
        what = "a migration rule" if migration else "a domain rule"
        raise ContractError(f"{key}.mode", f"{what} runs on {', '.join(allowed)}, not {mode}")
    rule_type = _str(data.get("type", "CEL"), f"{key}.type")
    if rule_type.upper() in TYPES:
        rule_type = rule_type.upper()  # a type we do not know (a custom executor's) is carried through as written
    doc = data.get("doc")
    expr = data.get("expr")
    disabled = data.get("disabled") or False
    if not isinstance(disabled, bool):
        raise ContractError(f"{key}.disabled", f"expected true or false, got {_kind(disabled)}")
    rule = Rule(
        name, kind, mode, rule_type,
        doc=None if doc is None else _str(doc, f"{key}.doc"),
        tags=_strings(data.get("tags") or [], f"{key}.tags"),
        params=_string_map(data.get("params") or {}, f"{key}.params"),
        expr=None if expr is None else _str(expr, f"{key}.expr"),
        on_success=None if data.get("onSuccess") is None else _action(data["onSuccess"], f"{key}.onSuccess", mode),
        on_failure=None if data.get("onFailure") is None else _action(data["onFailure"], f"{key}.onFailure", mode),
        disabled=disabled,
    )  # fmt: skip
    if rule.type in ("CEL", "CEL_FIELD", "JSONATA") and not (rule.expr or "").strip():
        raise ContractError(f"{key}.expr", f"a {rule.type} rule needs an expression")
    if rule.type == "JSONATA" and rule.kind != "TRANSFORM":
        raise ContractError(f"{key}.kind", "a JSONATA rule transforms the message: kind must be TRANSFORM")
    return rule


def parse_rules(raw: list[Any], key: str, *, migration: bool = False) -> tuple[Rule, ...]:
    """A list of rules (``key[0]``, ``key[1]``...), each name used once."""
    rules = tuple(parse_rule(r, f"{key}[{i}]", migration=migration) for i, r in enumerate(raw))
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if r.name in seen:
            raise ContractError(f"{key}[{i}].name", f"two rules are named {r.name!r}")
        seen.add(r.name)
    return rules


def parse_rule_set(data: Any, key: str = "ruleSet") -> RuleSet:
    if data is None:
        return RuleSet()
    if not isinstance(data, Mapping):
        raise ContractError(key, f"expected an object with migrationRules, domainRules, encodingRules, got {_kind(data)}")
    unknown = [k for k in data if k not in ("migrationRules", "domainRules", "encodingRules", "enableAt")]
    if unknown:
        raise ContractError(f"{key}.{unknown[0]}", "expected migrationRules, domainRules or encodingRules")
    lists: dict[str, tuple[Rule, ...]] = {}
    for name in ("migrationRules", "domainRules", "encodingRules"):
        raw = data.get(name) or []
        if not isinstance(raw, list):
            raise ContractError(f"{key}.{name}", f"expected a list of rules, got {_kind(raw)}")
        lists[name] = parse_rules(raw, f"{key}.{name}", migration=name == "migrationRules")
    enable_at = data.get("enableAt")
    if enable_at is not None and (not isinstance(enable_at, int) or isinstance(enable_at, bool)):
        raise ContractError(f"{key}.enableAt", f"expected an integer, got {_kind(enable_at)}")
    return RuleSet(lists["migrationRules"], lists["domainRules"], lists["encodingRules"], enable_at)


def parse_metadata(data: Any, key: str = "metadata") -> Metadata:
    if data is None:
        return Metadata()
    if not isinstance(data, Mapping):
        raise ContractError(key, f"expected an object with tags, properties, sensitive, got {_kind(data)}")
    unknown = [k for k in data if k not in ("tags", "properties", "sensitive")]
    if unknown:
        raise ContractError(f"{key}.{unknown[0]}", "expected tags, properties or sensitive")
    raw_tags = data.get("tags") or {}
    if not isinstance(raw_tags, Mapping):
        raise ContractError(f"{key}.tags", "expected a table of field path -> list of tags")
    tags = {str(path): _strings(v, f"{key}.tags.{path}") for path, v in raw_tags.items()}
    return Metadata(tags, _string_map(data.get("properties") or {}, f"{key}.properties"), _strings(data.get("sensitive") or [], f"{key}.sensitive"))


# -- merging (Confluent: merge(merge(default, given), override); maps key by key, rules by name) ----
def merge_metadata(*parts: Metadata | None) -> Metadata:
    out = Metadata()
    for m in parts:
        if m:
            out = Metadata({**out.tags, **m.tags}, {**out.properties, **m.properties}, tuple(dict.fromkeys((*out.sensitive, *m.sensitive))))
    return out


def _merge_rules(old: tuple[Rule, ...], new: tuple[Rule, ...]) -> tuple[Rule, ...]:
    names = {r.name for r in new}
    return (*(r for r in old if r.name not in names), *new)


def merge_rule_sets(*parts: RuleSet | None) -> RuleSet:
    out = RuleSet()
    for r in parts:
        if r:
            out = RuleSet(
                _merge_rules(out.migration_rules, r.migration_rules),
                _merge_rules(out.domain_rules, r.domain_rules),
                _merge_rules(out.encoding_rules, r.encoding_rules),
                r.enable_at if r.enable_at is not None else out.enable_at,
            )
    return out



@dataclass(frozen=True)
class DataContract:
    """What a schema version carries beside its schema: metadata and a rule set."""

    metadata: Metadata = field(default_factory=Metadata)
    rule_set: RuleSet = field(default_factory=RuleSet)

    def __bool__(self) -> bool:
        return bool(self.metadata or self.rule_set)

    def to_json(self) -> dict[str, Any]:
        """Confluent's keys of a schema body: ``metadata`` and ``ruleSet``, each only when it says something."""
        out: dict[str, Any] = {}
        if self.metadata:
            out["metadata"] = self.metadata.to_json()
        if self.rule_set:
            out["ruleSet"] = self.rule_set.to_json()
        return out

    def body(self) -> dict[str, Any]:
        """The keys to register with, both given even when empty: a registry gives a version that omits them the previous one's."""
        return {"metadata": self.metadata.to_json(), "ruleSet": self.rule_set.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], key: str = "") -> DataContract:
        prefix = f"{key}." if key else ""
        return cls(parse_metadata(data.get("metadata"), f"{prefix}metadata"), parse_rule_set(data.get("ruleSet"), f"{prefix}ruleSet"))
