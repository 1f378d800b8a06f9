"""The gate from the command line: exit codes, output formats, overrides, publish, and the example domain."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner, Result

from contracts.cli import main
from tests.conftest import ROOT

ORDER = "schemas/com/acme/orders/OrderCreated.avsc"
SUBJECT = "orders-com.acme.orders.OrderCreated"


def _edit(path: str, change: Any) -> None:
    data = json.loads(Path(path).read_text())
    change(data)
    Path(path).write_text(json.dumps(data, indent=2))


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _remove_lines(d: dict[str, Any]) -> None:
    # `lines`, not `total`: no data-contract rule reads it, so the schema finding stands alone
    d["fields"] = [f for f in d["fields"] if f["name"] != "lines"]


def test_walkthrough_optional_field_passes_and_is_published(project: Path) -> None:
    _edit(ORDER, lambda d: d["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None, "doc": "Coupon code."}))
    result = _run("compat", "check")
    assert result.exit_code == 0, result.output
    result = _run("compat", "publish")
    assert result.exit_code == 0 and f"{SUBJECT} v4" in result.output
    published = json.loads((project / f"compatibility/subjects/{SUBJECT}/v4.avsc").read_text())
    assert published["fields"][-1]["name"] == "coupon"
    assert _run("compat", "publish").output.startswith("nothing to publish")


def test_walkthrough_removing_required_field_fails_naming_consumers(project: Path) -> None:
    _edit(ORDER, _remove_lines)
    result = _run("compat", "check", "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.output)["findings"]
    rules = {f["rule"] for f in findings}
    assert rules == {"FIELD_REMOVED_WITHOUT_DEFAULT"}
    assert all(f["path"] == "lines" and f["file"] == ORDER and f["subject"] == SUBJECT for f in findings)
    messages = " ".join(m for f in findings for m in [f["message"], *f.get("details", [])])
    assert "payments-service (consumer, built on v1)" in messages and "notifications-service" in messages
    # one change, one finding: the level and deployment findings on the same field are grouped
    assert len(findings) == 1 and [tuple(p) for p in findings[0]["versions"]] == [(1, 4), (2, 4), (3, 4)]
    assert findings[0]["services"] == ["notifications-service", "payments-service"]
    # one sentence per service: the deployment check's, which names its version and producer (adoption round 2, item 16)
    sentences = [findings[0]["message"], *findings[0].get("details", [])]
    for service in ("notifications-service", "payments-service"):
        assert sum(service in m for m in sentences) == 1, sentences
    # publish refuses and writes nothing
    assert _run("compat", "publish").exit_code == 1
    assert not (project / f"compatibility/subjects/{SUBJECT}/v4.avsc").exists()


def test_override_accepts_and_still_shows(project: Path) -> None:
    _edit(ORDER, _remove_lines)
    (project / "compatibility/overrides.toml").write_text(
        f'[[override]]\nsubject = "{SUBJECT}"\nversion = 4\nrule = "FIELD_REMOVED_WITHOUT_DEFAULT"\npath = "lines"\n'
        'reason = "lines move to OrderLinesAdded; consumers migrated in ACME-42"\n'
    )
    result = _run("compat", "check")
    assert result.exit_code == 0, result.output
    assert "ACCEPTED FIELD_REMOVED_WITHOUT_DEFAULT" in result.output and "ACME-42" in result.output
    # an override for another version lets nothing through
    text = (project / "compatibility/overrides.toml").read_text().replace("version = 4", "version = 5")
    (project / "compatibility/overrides.toml").write_text(text)
    assert _run("compat", "check").exit_code == 1


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github"])
def test_formats_parse(project: Path, fmt: str) -> None:
    _edit(ORDER, _remove_lines)
    result = _run("compat", "check", "--format", fmt)
    assert result.exit_code == 1
    out = result.output
    if fmt == "json":
        assert json.loads(out)["errors"] == 1
    elif fmt == "junit":
        root = ET.fromstring(out.split("\n", 1)[1])
        suite = root.find("testsuite")
        assert suite is not None and suite.get("failures") == "1" and int(suite.get("tests", "0")) >= 5
    elif fmt == "github":
        lines = out.strip().splitlines()
        # A removed field points at its record's line (the field is gone from the file).
        assert len(lines) == 1 and all(re.match(rf"::error file={re.escape(ORDER)},line=\d+,title=FIELD_REMOVED_WITHOUT_DEFAULT::", line) for line in lines)
    else:
        assert "FIELD_REMOVED_WITHOUT_DEFAULT" in out and "field lines" in out and ORDER in out


def test_level_findings_name_only_the_services_on_each_version(project: Path) -> None:
    # deployments.toml: payments-service consumes OrderCreated v1, notifications-service v2.
    _edit(ORDER, _remove_lines)
    result = _run("compat", "check", "--format", "json", "--no-deployments")
    (finding,) = json.loads(result.output)["findings"]
    sentences = [finding["message"], *finding.get("details", [])]
    assert "Consumers still on v1 (payments-service) cannot read" in " ".join(sentences)
    assert "Consumers still on v2 (notifications-service) cannot read" in " ".join(sentences)
    assert not any("v2 (payments-service" in s or "v1 (notifications-service" in s or "(payments-service, notifications-service)" in s for s in sentences)
    # with nobody deployed, nobody is named
    (project / "compatibility/deployments.toml").write_text("")
    (finding,) = json.loads(_run("compat", "check", "--format", "json").output)["findings"]
    assert "service" not in " ".join([finding["message"], *finding.get("details", [])]) and "services" not in finding


def test_first_version_and_unchanged_subjects_pass(project: Path) -> None:
    shutil.rmtree(project / "compatibility/subjects")
    (project / "compatibility/deployments.toml").unlink()
    assert _run("compat", "check").exit_code == 0


def test_bad_input_exit_2(project: Path) -> None:
    assert _run("compat", "check", "--subject", "no-such-subject").exit_code == 2
    (project / "compatibility/deployments.toml").write_text("[services.x]\nconsumes = { a = 'one' }\n")
    result = _run("compat", "check")
    assert result.exit_code == 2 and "deployments.toml" in result.output
    assert _run("compat", "check", "--format", "yaml").exit_code == 2


def test_unknown_deployed_version_is_a_finding(project: Path) -> None:
    path = project / "compatibility/deployments.toml"
    path.write_text(path.read_text() + '\n[services.billing]\nconsumes = { "notifications-value" = 7 }\n')
    catalog = project / "schemas/catalog.toml"  # a service the catalog knows (unknown ones are bad input)
    catalog.write_text(catalog.read_text().replace('consumers = ["email-gateway"]', 'consumers = ["email-gateway", "billing"]'))
    result = _run("compat", "check", "--format", "json")
    assert result.exit_code == 1
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["DEPLOYMENT_UNKNOWN_VERSION"]


def test_deployment_check_catches_what_levels_allow(project: Path) -> None:
    # notifications-value is BACKWARD: a new required field with a default is fine for the level,
    # but removing a field without default breaks the deployed email-gateway (built on v1).
    path = "schemas/com/acme/notifications/EmailRequested.avsc"
    _edit(path, lambda d: d.__setitem__("fields", [f for f in d["fields"] if f["name"] != "to"]))
    result = _run("compat", "check", "--format", "json")
    assert result.exit_code == 1
    findings = json.loads(result.output)["findings"]
    assert {f["category"] for f in findings} == {"deployment"}
    assert "email-gateway (consumer, built on v1)" in findings[0]["message"]
    assert _run("compat", "check", "--no-deployments").exit_code == 0


def test_unreachable_registry_exit_3(project: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run("compat", "check", "--against-registry", f"http://127.0.0.1:{port}")
    assert result.exit_code == 3, result.output
    assert "unreachable" in result.output


def test_rules_listing() -> None:
    result = _run("compat", "rules", "--format", "json")
    ids = [r["id"] for r in json.loads(result.output)]
    assert "FIELD_REMOVED_WITHOUT_DEFAULT" in ids and len(ids) == len(set(ids))


def test_rules_doc_lists_every_rule_with_example() -> None:
    doc = (ROOT / "docs/compatibility-rules.md").read_text()
    result = _run("compat", "rules", "--format", "markdown")
    assert result.output.strip() == doc.strip(), "regenerate: contracts compat rules --format markdown > docs/compatibility-rules.md"


@pytest.mark.parametrize("fmt", ["json", "junit", "github", "markdown"])
def test_parse_errors_come_out_in_the_chosen_format(project: Path, fmt: str) -> None:
    # Regression: parse errors bypassed --format (plain stderr only), so CI showed no annotation.
    broken = project / "schemas/com/acme/orders/Broken.avsc"
    broken.write_text('{"type": "record",\n "name": "B",\n "fields": [],}\n')
    result = _run("compat", "check", "--format", fmt)
    assert result.exit_code == 2
    out = result.output
    if fmt == "json":
        (finding,) = json.loads(out.split("\nerror:")[0])["findings"]
        assert finding["rule"] == "INVALID_JSON" and finding["file"].endswith("Broken.avsc") and finding["line"] == 3
    elif fmt == "github":
        assert "::error file=schemas/com/acme/orders/Broken.avsc,line=3,title=INVALID_JSON::" in out
    elif fmt == "junit":
        assert 'type="INVALID_JSON"' in out
    else:
        assert "INVALID_JSON" in out and "Broken.avsc" in out


def test_markdown_summary_names_what_each_finding_breaks(project: Path) -> None:
    _edit(ORDER, _remove_lines)
    result = _run("compat", "check", "--format", "markdown")
    assert result.exit_code == 1
    assert f"### `{SUBJECT}`" in result.output
    assert "**`FIELD_REMOVED_WITHOUT_DEFAULT`** on `lines` (v1, v2, v3 -> v4), breaks notifications-service, payments-service" in result.output


def _git(cwd: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_against_git_checks_schemas_at_a_ref(project: Path) -> None:
    shutil.rmtree(project / "compatibility")  # a team that keeps no history
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "schemas")
    assert _run("compat", "check", "--against-git", "main").exit_code == 0
    _edit(ORDER, lambda d: d["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None}))
    assert _run("compat", "check", "--against-git", "HEAD").exit_code == 0, "a compatible change passes"
    _edit(ORDER, _remove_lines)
    result = _run("compat", "check", "--against-git", "HEAD", "--format", "json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.output)["findings"]
    assert finding["rule"] == "FIELD_REMOVED_WITHOUT_DEFAULT" and finding["path"] == "lines" and finding["subject"] == SUBJECT
    assert "still on HEAD" in finding["message"] and "the working tree's schema" in finding["message"]
    assert (finding["old_version"], finding["new_version"]) == ("HEAD", "working tree")  # not "vHEAD -> vthis change"
    missing = _run("compat", "check", "--against-git", "origin/main")
    assert missing.exit_code == 2 and "git fetch" in missing.output
