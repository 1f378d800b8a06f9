"""Data contracts in the repository: read from catalog.toml, checked by the gate, published, pushed, diffed and pulled."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.registry.server import EmbeddedRegistry
from tests.conftest import ROOT

CREATED = "orders-com.acme.orders.OrderCreated"
CONTRACT = """
[events."com.acme.orders.OrderCreated"]
owner = "orders-team"
properties = { major_version = "1" }
tags = { "com.acme.orders.Customer.email" = ["PII"] }

[[events."com.acme.orders.OrderCreated".rules]]
name = "total_not_negative"
expr = "message.total.amount >= 0.0"
onFailure = "DLQ"
"""
ACCEPT = f'\n[[override]]\nsubject = "{CREATED}"\nversion = 3\nrule = "RULE_CONDITION_ADDED"\nreason = "a negative total was never valid"\n'


@pytest.fixture
def reg() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as r:
        yield r


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reg: EmbeddedRegistry) -> Path:
    """This repository as it was before OrderCreated had a data contract (its v3 is that contract)."""
    for name in ("schemas", "compatibility"):
        shutil.copytree(ROOT / name, tmp_path / name)
    catalog = tmp_path / "schemas/catalog.toml"
    catalog.write_text(catalog.read_text().split("# Data contracts:")[0])
    for published in (tmp_path / f"compatibility/subjects/{CREATED}").glob("v3.*"):
        published.unlink()
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTRACTS_SCHEMA_REGISTRY_URL", reg.url)
    return tmp_path


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def add(root: Path, text: str, file: str = "schemas/catalog.toml") -> None:
    path = root / file
    path.write_text(path.read_text() + text)


def test_the_catalog_gives_each_subject_its_contract(project: Path) -> None:
    add(project, CONTRACT)
    sub = load_catalog(project / "schemas").subject(CREATED)
    assert sub.contract.metadata.properties == {"major_version": "1", "owner": "orders-team"}
    assert [r.name for r in sub.contract.rule_set.domain_rules] == ["total_not_negative"]
    assert sub.contract.rule_set.domain_rules[0].on_failure == "DLQ"


def test_a_new_write_condition_blocks_until_accepted_then_publishes_with_its_contract(project: Path) -> None:
    add(project, CONTRACT)
    blocked = run("compat", "check", "--format", "json")
    assert blocked.exit_code == 1, blocked.output
    findings = json.loads(blocked.output)["findings"]
    assert [(f["rule"], f["subject"]) for f in findings] == [("RULE_CONDITION_ADDED", CREATED)]
    assert "orders-service" in findings[0]["message"]  # the producers deployed on earlier versions
    add(project, ACCEPT, "compatibility/overrides.toml")
    assert run("compat", "check").exit_code == 0
    assert run("compat", "publish").exit_code == 0
    written = project / f"compatibility/subjects/{CREATED}/v3.contract.json"
    assert json.loads(written.read_text())["ruleSet"]["domainRules"][0]["name"] == "total_not_negative"
    assert (project / f"compatibility/subjects/{CREATED}/v3.avsc").read_text() == (project / f"compatibility/subjects/{CREATED}/v2.avsc").read_text()


def test_dropping_a_tag_or_a_rule_is_a_finding(project: Path) -> None:
    add(project, CONTRACT)
    add(project, ACCEPT, "compatibility/overrides.toml")
    assert run("compat", "publish").exit_code == 0
    catalog = project / "schemas/catalog.toml"
    catalog.write_text(catalog.read_text().replace('tags = { "com.acme.orders.Customer.email" = ["PII"] }\n', "").replace('onFailure = "DLQ"', 'onFailure = "DLQ"\ndisabled = true'))
    result = run("compat", "check", "--format", "json")
    assert result.exit_code == 1
    rules = sorted((f["rule"], f.get("path")) for f in json.loads(result.output)["findings"])
    assert rules == [("FIELD_TAG_REMOVED", "com.acme.orders.Customer.email"), ("RULE_DISABLED", None)]


def test_a_rule_reading_a_missing_field_is_a_finding(project: Path) -> None:
    add(project, CONTRACT.replace("message.total.amount", "message.total.amont"))
    add(project, ACCEPT, "compatibility/overrides.toml")
    findings = json.loads(run("compat", "check", "--format", "json").output)["findings"]
    assert ("RULE_FIELD_UNKNOWN", "message.total.amont") in [(f["rule"], f.get("path")) for f in findings]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (('expr = "message.total.amount >= 0.0"', 'expr = "message.total.amount >="'), ["total_not_negative", CREATED, "catalog.toml", "does not compile"]),
        (('onFailure = "DLQ"', 'mode = "UPGRADE"'), ['events."com.acme.orders.OrderCreated".rules[0].mode', "a domain rule runs on WRITE, READ, WRITEREAD"]),
        (('onFailure = "DLQ"', "onFail = 1"), ["rules[0].onFail", "not a rule field"]),
        (('"com.acme.orders.Customer.email"', '"Customer.email"'), ["tag path 'Customer.email' matches no field", "com.acme.orders.Customer.email"]),
        (('[events."com.acme.orders.OrderCreated"]', '[events."com.acme.orders.OrderCreatd"]\n[events."com.acme.orders.OrderCreated"]'),
         ["unknown event type 'com.acme.orders.OrderCreatd'", "did you mean"]),
        (('onFailure = "DLQ"', 'onFailure = "DLQ,ERROR"'), ["only for mode WRITEREAD or UPDOWN"]),
    ],
)
def test_bad_contracts_are_exit_2_naming_rule_and_file(project: Path, change: tuple[str, str], says: list[str]) -> None:
    add(project, CONTRACT.replace(*change))
    result = run("compat", "check")
    assert result.exit_code == 2, result.output
    for needle in says:
        assert needle in result.output, (needle, result.output)


def test_push_registers_the_contract_diff_shows_a_rule_change_and_pull_records_it(project: Path, reg: EmbeddedRegistry) -> None:
    assert run("registry", "push").exit_code == 0
    add(project, CONTRACT)
    plan = run("registry", "plan")
    assert "another data contract" in plan.output, plan.output
    diff = run("registry", "diff")
    assert "total_not_negative" in diff.output and "+" in diff.output, diff.output
    pushed = run("registry", "push")
    assert pushed.exit_code == 0 and f"add version        {CREATED}" in pushed.output, pushed.output
    assert "total_not_negative" not in run("registry", "diff").output
    again = run("registry", "push")
    assert again.exit_code == 0 and "add version" not in again.output, again.output  # idempotent
    pulled = run("registry", "pull", "--force")
    assert pulled.exit_code == 0, pulled.output
    recorded = sorted((project / f"compatibility/subjects/{CREATED}").glob("*.contract.json"))
    assert [p.name for p in recorded] == ["v3.contract.json"]


GROUPED = """
[events."com.acme.orders.OrderCreated"]
properties = { major_version = "MAJOR" }
"""
MIGRATIONS = """
[[events."com.acme.orders.OrderCreated".migrations]]
name = "up"
kind = "TRANSFORM"
mode = "UPGRADE"
type = "JSONATA"
expr = "$"

[[events."com.acme.orders.OrderCreated".migrations]]
name = "down"
kind = "TRANSFORM"
mode = "DOWNGRADE"
type = "JSONATA"
expr = "$"
"""


def _break_order_id(root: Path) -> None:
    path = root / "schemas/com/acme/orders/OrderCreated.avsc"
    data = json.loads(path.read_text())
    next(f for f in data["fields"] if f["name"] == "order_id")["type"] = "long"
    path.write_text(json.dumps(data))


def test_a_new_major_version_is_checked_within_its_group_and_needs_migrations(project: Path) -> None:
    catalog = project / "schemas/catalog.toml"
    catalog.write_text(catalog.read_text().replace("[topics.orders]\n", '[topics.orders]\ncompatibility_group = "major_version"\n') + GROUPED.replace("MAJOR", "1"))
    assert run("compat", "publish").exit_code == 0  # v3: the same schema, now in major_version 1
    _break_order_id(project)
    same_group = json.loads(run("compat", "check", "--format", "json", "--no-deployments").output)["findings"]
    assert {f["rule"] for f in same_group} == {"TYPE_CHANGED"}  # within major_version 1: a breaking change
    catalog.write_text(catalog.read_text().replace('major_version = "1"', 'major_version = "2"'))
    result = run("compat", "check", "--format", "json")
    rules = {f["rule"] for f in json.loads(result.output)["findings"]}
    assert "MIGRATION_RULES_MISSING" in rules and result.exit_code == 1, result.output
    missing = next(f for f in json.loads(result.output)["findings"] if f["rule"] == "MIGRATION_RULES_MISSING")
    assert "payments-service" in missing["message"] and "UPGRADE and DOWNGRADE" in missing["message"]
    add(project, MIGRATIONS)
    passed = run("compat", "check", "--format", "json")
    assert passed.exit_code == 0, passed.output  # a new line, and deployed consumers read it through the migrations
    through = [f for f in json.loads(passed.output)["findings"] if f["rule"] == "READ_THROUGH_MIGRATION"]
    assert through and all(f["severity"] == "warning" for f in through)
    sentences = [m for f in through for m in [f["message"], *f.get("details", [])]]
    assert any("payments-service (consumer, built on v1)" in m and "DOWNGRADE rule down" in m for m in sentences), sentences


def test_against_git_reads_the_contract_the_ref_had(project: Path) -> None:
    import subprocess

    add(project, CONTRACT)
    shutil.rmtree(project / "compatibility")  # a team that keeps no history: the ref is the history
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "contract"], cwd=project, check=True)
    same = run("compat", "check", "--against-git", "main")
    assert same.exit_code == 0, same.output  # the ref had the same contract: nothing changed
    catalog = project / "schemas/catalog.toml"
    catalog.write_text(catalog.read_text().replace('onFailure = "DLQ"', 'onFailure = "DLQ"\ndisabled = true'))
    result = run("compat", "check", "--against-git", "main", "--format", "json")
    assert result.exit_code == 1 and [f["rule"] for f in json.loads(result.output)["findings"]] == ["RULE_DISABLED"], result.output
