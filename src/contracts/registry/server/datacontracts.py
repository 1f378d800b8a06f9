"""The registry's side of data contracts: what a new version carries, config defaults and overrides, groups.

Confluent's semantics: a version registered without metadata or a rule set keeps the previous
version's; then ``merge(merge(default, given), override)`` from the subject's config (a subject's
setting over the global one), maps key by key and rules by name. ``compatibilityGroup`` names a
metadata property: a new version is compared only with versions whose property has the same value.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.datacontract import (
    ContractError,
    DataContract,
    Metadata,
    RuleSet,
    merge_metadata,
    merge_rule_sets,
    parse_metadata,
    parse_rule_set,
)
from contracts.registry.server.store import GLOBAL, Tx
from contracts.schema import compact

CONFIG_KEYS = ("compatibilityGroup", "defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet")


class InvalidContract(Exception):
    """Metadata or a rule set in a request that does not fit (answered 422 naming the key)."""


class Contract(DataContract):
    """A version's data contract as the store keeps it (compact JSON texts, '' for an empty part)."""

    def texts(self) -> tuple[str, str]:
        return (compact(self.metadata.to_json()) if self.metadata else "", compact(self.rule_set.to_json()) if self.rule_set else "")

    def identity(self) -> str:
        """The part of a schema's identity that the contract adds ('' for none)."""
        metadata, rule_set = self.texts()
        return f"{metadata}\n{rule_set}" if metadata or rule_set else ""

    @classmethod
    def stored(cls, metadata: str, rule_set: str) -> Contract:
        return cls(parse_metadata(json.loads(metadata)) if metadata else Metadata(), parse_rule_set(json.loads(rule_set)) if rule_set else RuleSet())


def parse_given(metadata: Any, rule_set: Any) -> tuple[Metadata | None, RuleSet | None]:
    """A request's metadata and rule set (``None`` where it gave none)."""
    try:
        return (
            None if metadata is None else parse_metadata(metadata, "metadata"),
            None if rule_set is None else parse_rule_set(rule_set, "ruleSet"),
        )
    except ContractError as exc:
        raise InvalidContract(str(exc)) from exc


def config(tx: Tx, subject: str | None) -> dict[str, Any]:
    """The contract settings in force for ``subject``: the global ones under the subject's own."""
    out: dict[str, Any] = json.loads(tx.contract_config(GLOBAL) or "{}")
    if subject is not None:
        out.update(json.loads(tx.contract_config(subject) or "{}"))
    return out


def check_config(body: dict[str, Any]) -> dict[str, Any]:
    """The contract keys of a config body, validated; ``InvalidContract`` names the one that does not fit."""
    out: dict[str, Any] = {}
    try:
        for key in CONFIG_KEYS:
            value = body.get(key)
            if value is None:
                continue
            if key == "compatibilityGroup":
                if not isinstance(value, str):
                    raise ContractError(key, "expected a metadata property name")
                out[key] = value
            elif key.endswith("Metadata"):
                out[key] = parse_metadata(value, key).to_json()
            else:
                out[key] = parse_rule_set(value, key).to_json()
    except ContractError as exc:
        raise InvalidContract(str(exc)) from exc
    return out


def new_version(tx: Tx, subject: str, given: tuple[Metadata | None, RuleSet | None], previous: Contract | None) -> Contract:
    """The contract a version registered now carries: the given (or inherited) one, with defaults and overrides."""
    metadata, rule_set = given
    if metadata is None and previous is not None:
        metadata = previous.metadata
    if rule_set is None and previous is not None:
        rule_set = previous.rule_set
    settings = config(tx, subject)
    return Contract(
        merge_metadata(parse_metadata(settings.get("defaultMetadata")), metadata, parse_metadata(settings.get("overrideMetadata"))),
        merge_rule_sets(parse_rule_set(settings.get("defaultRuleSet")), rule_set, parse_rule_set(settings.get("overrideRuleSet"))),
    )


def group_value(contract: Contract, group: str | None) -> str | None:
    """The version's value of the compatibility group's property (``None``: no group, or not set)."""
    return None if group is None else contract.metadata.properties.get(group)


def matches(contract: Contract, wanted: list[tuple[str, str]]) -> bool:
    """Whether every (key, value) is among the version's metadata properties."""
    props = contract.metadata.properties
    return all(props.get(k) == v for k, v in wanted)


def response_fields(metadata: str, rule_set: str) -> dict[str, Any]:
    """The ``metadata`` and ``ruleSet`` keys of a schema or version body (none when empty)."""
    out: dict[str, Any] = {}
    if metadata:
        out["metadata"] = json.loads(metadata)
    if rule_set:
        out["ruleSet"] = json.loads(rule_set)
    return out
