"""Every code block in docs/ runs or is checked: shell commands run in a fresh project, Python runs, TOML
validates against its file's definition, and each before/after schema pair gets the verdict the page claims."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts import schema as s
from contracts import specs
from contracts.cli import main
from contracts.cli.reference import markdown
from contracts.compat import Checker, VersionedSchema, check_level
from tests.conftest import ROOT

DOCS = ROOT / "docs"
FENCE = re.compile(r"```([^\n]*)\n(.*?)```", re.S)


def _blocks(name: str) -> list[tuple[str, str]]:
    return [(info.strip(), body) for info, body in FENCE.findall((DOCS / name).read_text())]


def test_cli_reference_is_in_sync() -> None:
    assert (DOCS / "cli.md").read_text() == markdown(main), "regenerate: contracts docs cli-reference > docs/cli.md"


def test_every_toml_block_is_a_valid_file(tmp_path: Path) -> None:
    for name in ("concepts.md", "howto.md", "configuration.md", "data-contracts.md"):
        for info, body in _blocks(name):
            if info != "toml":
                continue
            data = tomllib.loads(body)
            if "tool" in data:
                specs.validate(specs.ToolSpec, data["tool"]["contracts"], file=name, rule="DOC")
            elif "services" in data:
                specs.validate(specs.DeploymentsSpec, data, file=name, rule="DOC")
            elif "override" in data:
                specs.validate(specs.OverridesSpec, data, file=name, rule="DOC")
            else:
                specs.validate(specs.CatalogSpec, data, file=name, rule="DOC")


def test_every_schema_pair_gets_the_verdict_the_page_claims() -> None:
    blocks = _blocks("howto.md")
    pairs = 0
    before = None
    for info, body in blocks:
        words = info.split()
        if words[:2] == ["json", "v1"]:
            before = s.parse_schema(json.loads(body))
        elif words[:2] == ["json", "v2"]:
            assert before is not None
            level, verdict = words[2], words[3]
            findings = check_level(Checker(), s.parse_schema(json.loads(body)), [VersionedSchema(1, before)], level, subject="x", new_version=2)
            if verdict == "compatible":
                assert findings == [], (info, [f.rule for f in findings])
            else:
                assert {f.rule for f in findings} == {words[4]}, (info, [f.rule for f in findings])
            pairs += 1
    assert pairs >= 6


def test_the_quickstart_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks("quickstart.md")
    make = [b for i, b in blocks if i == "bash" and b.lstrip().startswith("make")]
    targets = set(re.findall(r"^(\w[\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    for line in make[0].splitlines():
        assert line.split()[1] in targets, line  # CI runs these two itself
    commands = next(b for i, b in blocks if i == "bash" and b.lstrip().startswith("contracts"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    for line in commands.splitlines():
        if line.strip():
            result = CliRunner().invoke(main, line.split("#")[0].split()[1:])
            assert result.exit_code == 0, (line, result.output)
    code = next(b for i, b in blocks if i == "python")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_service_guide_code_is_valid_python() -> None:
    import ast

    blocks = [b for kind, b in _blocks("services.md") if kind == "python"]
    assert len(blocks) >= 2
    for block in blocks:
        ast.parse(block)


def test_every_python_block_of_the_guides_is_valid_python() -> None:
    import ast

    for name in ("observability.md", "data-contracts.md"):
        for kind, block in _blocks(name):
            if kind == "python":
                ast.parse(block)


def test_the_data_contract_guides_rules_compile_and_mean_what_the_page_says(tmp_path: Path) -> None:
    # Every rule the page shows is a rule the catalog accepts and the engine compiles.
    from contracts.datacontract.engines import compile_rule
    from contracts.datacontract.model import parse_rule

    rules = 0
    for kind, block in _blocks("data-contracts.md"):
        if kind != "toml":
            continue
        for event in tomllib.loads(block).get("events", {}).values():
            for key in ("rules", "migrations"):
                for i, raw in enumerate(event.get(key, [])):
                    rule = parse_rule(raw, f"{key}[{i}]", migration=key == "migrations")
                    for expr in (rule.expr or "").split(";") if rule.type != "JSONATA" else [rule.expr or ""]:
                        compile_rule(rule.type, expr)
                    rules += 1
    assert rules >= 4
