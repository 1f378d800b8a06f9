"""Data contracts: a schema's metadata (tags, properties) and rules, as Confluent defines them."""

from contracts.datacontract.model import (
    ACTIONS,
    KINDS,
    MODES,
    TYPES,
    ContractError,
    DataContract,
    Metadata,
    Rule,
    RuleSet,
    merge_metadata,
    merge_rule_sets,
    parse_metadata,
    parse_rule,
    parse_rule_set,
)

__all__ = [
    "ACTIONS", "KINDS", "MODES", "TYPES", "ContractError", "DataContract", "Metadata", "Rule", "RuleSet",
    "merge_metadata", "merge_rule_sets", "parse_metadata", "parse_rule", "parse_rule_set",
]  # fmt: skip
