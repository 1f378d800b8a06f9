"""`contracts init` in an empty repository, the shipped pre-commit hooks, and the composite action."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from contracts.cli import main
from tests.conftest import ROOT


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_then_codegen_and_gate_pass(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "billing"\n\n[tool.ruff]\nline-length = 100\n')
    code, out = _run("init", ".", "--package", "billing.events")
    assert code == 0, out
    text = (repo / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "billing"\n\n[tool.ruff]\nline-length = 100\n'), "the rest is undisturbed"
    assert 'package = "billing.events"' in text
    for rel in ("schemas/catalog.toml", "schemas/com/example/billing/InvoiceIssued.avsc", "schemas/com/example/common/Money.avsc",
                "compatibility/README.md", "compatibility/deployments.toml", "compatibility/overrides.toml",
                ".pre-commit-config.yaml", ".github/workflows/contracts.yml"):  # fmt: skip
        assert (repo / rel).is_file(), rel
    assert _run("codegen")[0] == 0
    assert _run("codegen", "--check")[0] == 0
    assert _run("compat", "check")[0] == 0
    assert _run("lint")[0] == 0
    code = "from billing.events.com.example.billing import InvoiceIssued; print(InvoiceIssued.__avro_fullname__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "com.example.billing.InvoiceIssued", done.stderr
    yaml.safe_load((repo / ".github/workflows/contracts.yml").read_text())
    yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())


def test_init_refuses_to_overwrite(repo: Path) -> None:
    (repo / "schemas").mkdir()
    (repo / "schemas" / "catalog.toml").write_text("# ours\n")
    code, out = _run("init", ".")
    assert code == 2 and "schemas/catalog.toml" in out and "--force" in out
    assert (repo / "schemas" / "catalog.toml").read_text() == "# ours\n"
    assert not (repo / "compatibility").exists(), "nothing was written"
    assert _run("init", ".", "--force")[0] == 0
    assert "[topics.invoices]" in (repo / "schemas" / "catalog.toml").read_text()
    assert _run("init", ".", "--package", "not a name")[0] == 2


def test_each_shipped_hook_entry_passes_after_init(repo: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"contracts-lint", "contracts-codegen-check", "contracts-compat"}
    assert _run("init", ".", "--package", "svc.events")[0] == 0
    assert _run("codegen")[0] == 0
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    contracts = Path(sys.executable).parent / "contracts"
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == "contracts"
        done = subprocess.run([str(contracts), *argv[1:]], cwd=repo, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (hook["id"], done.stdout, done.stderr)
    # and the drift hook fails when it should: a schema changed, the generated package not
    money = repo / "schemas/com/example/common/Money.avsc"
    money.write_text(money.read_text().replace("in one currency", "in a single currency"))
    stale = subprocess.run([str(contracts), "codegen", "--check"], cwd=repo, capture_output=True, text=True, check=False)
    assert stale.returncode == 1 and "common/__init__.py" in stale.stderr


def test_action_runs_the_gate_with_annotations_and_a_summary() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    script = "\n".join(step["run"] for step in action["runs"]["steps"] if "run" in step)
    assert "contracts compat check --format github" in script and "GITHUB_STEP_SUMMARY" in script and "--format markdown" in script
    cached = [step["with"] for step in action["runs"]["steps"] if step.get("uses", "").startswith("actions/cache@")]
    assert cached and cached[0]["path"].endswith(".contracts-cache/gate")  # the gate's verdicts kept between runs
