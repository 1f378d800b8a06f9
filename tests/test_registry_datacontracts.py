"""Data contracts in the embedded registry: metadata and rule sets stored, returned, inherited and merged, over real HTTP.

confluent-kafka's own client is the reference for the shapes: what it registers it reads back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleSet,
    Schema,
    SchemaRegistryClient,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.datacontract import ContractError, merge_rule_sets, parse_metadata, parse_rule, parse_rule_set
from contracts.registry.server import EmbeddedRegistry
from tests.test_registry_api import Api, err, rec

V1 = rec({"name": "id", "type": "string"}, {"name": "email", "type": "string", "confluent:tags": ["PII"]}, {"name": "total", "type": "double"})
V2 = rec(
    {"name": "id", "type": "string"}, {"name": "email", "type": "string", "confluent:tags": ["PII"]}, {"name": "total", "type": "double"},
    {"name": "note", "type": ["null", "string"], "default": None},
)  # fmt: skip
BREAKING = rec({"name": "id", "type": "long"})
POSITIVE = {"name": "total_positive", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "message.total > 0.0", "onFailure": "DLQ"}
MASK = {"name": "mask_pii", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": ["PII"], "expr": "'***'"}


@pytest.fixture
def reg() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as r:
        yield r


@pytest.fixture
def api(reg: EmbeddedRegistry) -> Api:
    return Api(reg.url)


@pytest.fixture
def client(reg: EmbeddedRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": reg.url})


def test_custom_properties_and_field_tags_survive_registration(api: Api, client: SchemaRegistryClient) -> None:
    # Regression: the registry returned the schema without confluent:tags, so a tag registered was lost.
    schema_id = client.register_schema("o-value", Schema(V1, "AVRO"))
    text = client.get_schema(schema_id).schema_str
    fields = {f["name"]: f for f in json.loads(text)["fields"]}
    assert fields["email"]["confluent:tags"] == ["PII"]
    assert json.loads(api("GET", "/subjects/o-value/versions/1")[1]["schema"])["fields"][1]["confluent:tags"] == ["PII"]


def test_confluent_client_reads_back_metadata_and_rules_on_every_route(client: SchemaRegistryClient) -> None:
    rule_set = RuleSet(migration_rules=[], domain_rules=[Rule.from_dict(POSITIVE), Rule.from_dict(MASK)])
    metadata = Metadata(MetadataTags({}), MetadataProperties({"owner": "orders-team", "major_version": "1"}), [])
    registered = client.register_schema_full_response("o-value", Schema(V1, "AVRO", [], metadata, rule_set))
    by_id = client.get_schema(registered.schema_id)
    latest = client.get_latest_version("o-value")
    version = client.get_version("o-value", 1)
    for schema in (by_id, latest.schema, version.schema):
        assert schema.rule_set is not None and [r.name for r in schema.rule_set.domain_rules] == ["total_positive", "mask_pii"]
        assert schema.rule_set.domain_rules[0].on_failure == "DLQ"
        assert schema.rule_set.domain_rules[1].tags == ["PII"]
        assert schema.metadata is not None and schema.metadata.properties.properties["owner"] == "orders-team"
    found = client.get_latest_with_metadata("o-value", {"major_version": "1"})
    assert found.version == 1


def test_a_new_version_without_a_contract_keeps_the_previous_ones(api: Api) -> None:
    assert api.register("o-value", V1, ruleSet={"domainRules": [POSITIVE]}, metadata={"properties": {"owner": "a"}})[0] == 200
    assert api.register("o-value", V2)[0] == 200
    body = api("GET", "/subjects/o-value/versions/2")[1]
    assert body["ruleSet"]["domainRules"][0]["name"] == "total_positive"
    assert body["metadata"] == {"properties": {"owner": "a"}}


def test_the_same_schema_with_other_rules_is_a_new_version_and_the_same_request_twice_is_one(api: Api) -> None:
    first = api.register("o-value", V1)[1]["id"]
    ruled = api.register("o-value", V1, ruleSet={"domainRules": [POSITIVE]})[1]["id"]
    again = api.register("o-value", V1, ruleSet={"domainRules": [POSITIVE]})[1]["id"]
    assert first != ruled == again
    assert api("GET", "/subjects/o-value/versions")[1] == [1, 2]
    # a lookup by the schema alone finds the newest version holding it, whatever its rules
    status, found = api("POST", "/subjects/o-value", {"schema": V1})
    assert status == 200 and found["version"] == 2 and found["ruleSet"]["domainRules"][0]["name"] == "total_positive"


def test_defaults_and_overrides_merge_by_name(api: Api) -> None:
    override = {**POSITIVE, "expr": "message.total >= 0.0"}
    assert api("PUT", "/config/o-value", {"defaultRuleSet": {"domainRules": [MASK]}, "overrideRuleSet": {"domainRules": [override]},
                                           "defaultMetadata": {"properties": {"owner": "platform", "tier": "1"}}})[0] == 200  # fmt: skip
    api.register("o-value", V1, ruleSet={"domainRules": [POSITIVE]}, metadata={"properties": {"owner": "orders"}})
    body = api("GET", "/subjects/o-value/versions/latest")[1]
    assert [(r["name"], r.get("expr")) for r in body["ruleSet"]["domainRules"]] == [("mask_pii", "'***'"), ("total_positive", "message.total >= 0.0")]
    assert body["metadata"]["properties"] == {"owner": "orders", "tier": "1"}
    config = api("GET", "/config/o-value")[1]
    assert config["defaultRuleSet"]["domainRules"][0]["name"] == "mask_pii" and "compatibilityLevel" not in config


def test_compatibility_group_checks_only_within_the_group(api: Api) -> None:
    api("PUT", "/config/o-value", {"compatibility": "BACKWARD", "compatibilityGroup": "major_version"})
    assert api.register("o-value", V1, metadata={"properties": {"major_version": "1"}})[0] == 200
    assert err(api.register("o-value", BREAKING)) == (409, 409)  # inherits major_version 1: same group
    assert api.register("o-value", BREAKING, metadata={"properties": {"major_version": "2"}})[0] == 200
    status, body = api("GET", "/subjects/o-value/metadata", key="major_version", value="1")
    assert status == 200 and body["version"] == 1
    assert err(api("GET", "/subjects/o-value/metadata", key="major_version", value="3")) == (404, 40403)


@pytest.mark.parametrize(
    ("contract", "key"),
    [
        ({"ruleSet": {"domainRules": [{**POSITIVE, "mode": "UPGRADE"}]}}, "ruleSet.domainRules[0].mode"),
        ({"ruleSet": {"domainRules": [{**POSITIVE, "name": "1bad"}]}}, "ruleSet.domainRules[0].name"),
        ({"ruleSet": {"domainRules": [{**POSITIVE, "onFailure": "DLQ,ERROR"}]}}, "ruleSet.domainRules[0].onFailure"),
        ({"ruleSet": {"domainRules": [POSITIVE, POSITIVE]}}, "ruleSet.domainRules[1].name"),
        ({"ruleSet": {"migrationRules": [{**POSITIVE, "mode": "WRITE"}]}}, "ruleSet.migrationRules[0].mode"),
        ({"metadata": {"properties": {"a": 1}}}, "metadata.properties"),
    ],
)
def test_a_bad_contract_is_refused_naming_the_key_and_changes_nothing(api: Api, contract: dict[str, Any], key: str) -> None:
    status, body = api.register("o-value", V1, **contract)
    assert (status, body["error_code"]) == (422, 42201) and key in body["message"], body
    assert err(api("GET", "/subjects/o-value/versions")) == (404, 40401)


# -- the model, property-based ---------------------------------------------------------------
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,12}", fullmatch=True)
rules = st.builds(
    lambda name, kind, mode, expr, fail, disabled, tags: {"name": name, "kind": kind, "mode": mode, "type": "CEL", "expr": expr,
                                                          "onFailure": fail, "disabled": disabled, "tags": tags},
    names, st.sampled_from(["CONDITION", "TRANSFORM"]), st.sampled_from(["WRITE", "READ", "WRITEREAD"]),
    st.text(min_size=1, max_size=20).filter(str.strip), st.sampled_from(["ERROR", "NONE", "DLQ"]), st.booleans(),
    st.lists(st.sampled_from(["PII", "GDPR"]), max_size=2),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(rules, max_size=5, unique_by=lambda r: r["name"]), st.lists(rules, max_size=5, unique_by=lambda r: r["name"]))
def test_rule_sets_round_trip_and_merge_by_name(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    a, b = parse_rule_set({"domainRules": old}), parse_rule_set({"domainRules": new})
    assert parse_rule_set(a.to_json()) == a
    merged = merge_rule_sets(a, b)
    by_name = {r.name: r for r in merged.domain_rules}
    assert len(by_name) == len(merged.domain_rules)  # one rule per name
    assert set(by_name) == {r["name"] for r in old} | {r["name"] for r in new}
    for r in b.domain_rules:
        assert by_name[r.name] == r  # the later one wins


def test_bad_rules_name_their_key() -> None:
    with pytest.raises(ContractError, match=r"^r\.typo: not a rule field"):
        parse_rule({"name": "x", "expr": "true", "typo": 1}, "r")
    with pytest.raises(ContractError, match=r"^r\.expr: a CEL rule needs an expression"):
        parse_rule({"name": "x"}, "r")
    with pytest.raises(ContractError, match=r"^m\.tags\.a: expected a list of strings"):
        parse_metadata({"tags": {"a": "PII"}}, "m")
    assert parse_rule({"name": "x", "mode": "writeread", "expr": "true", "onFailure": "dlq,error"}, "r").action("READ", False) == "ERROR"
