"""Regressions for what a new user hit adopting the tool in their own repository (second round)."""

from __future__ import annotations

import json
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.errors import InfrastructureError
from contracts.kafka import EventProducer
from contracts.registry.server import EmbeddedRegistry
from contracts.serde import EventSerializer, registry_client
from contracts.testing.examples import order
from tests.conftest import ROOT, SCHEMAS

SECRET = "s3cret-hunter2"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def secured() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(auth=f"admin:{SECRET}") as registry:
        yield registry


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://admin:{SECRET}@")


@pytest.mark.parametrize("via_env", [False, True])
def test_registry_commands_never_print_the_password(project: Path, secured: EmbeddedRegistry, monkeypatch: pytest.MonkeyPatch, via_env: bool) -> None:
    # Regression: `plan` printed "http://admin:s3cret@… is up to date", `push` "pushed to http://admin:s3cret@…".
    url = _with_userinfo(secured.url)
    flags = [] if via_env else ["--registry-url", url]
    if via_env:
        monkeypatch.setenv("CONTRACTS_SCHEMA_REGISTRY_URL", url)
    for args in (["plan"], ["push"], ["push"], ["plan"], ["diff"], ["plan", "--no-history"]):
        result = _run("registry", *args, *flags)
        assert result.exit_code in (0, 1), result.output
        assert SECRET not in result.output and "admin" not in result.output, result.output
        if "up to date" in result.output:
            assert secured.url in result.output, "the URL is shown, without its user info"
    for fmt in ("json", "junit", "github", "markdown"):
        result = _run("compat", "check", "--against-registry", url, "--format", fmt)
        assert SECRET not in result.output, result.output


def test_serializer_logs_no_password_and_authenticates(secured: EmbeddedRegistry, caplog: pytest.LogCaptureFixture) -> None:
    # Regression: with logging at INFO the HTTP library logged every request URL, password included.
    caplog.set_level(logging.DEBUG)
    serializer = EventSerializer(registry_client(_with_userinfo(secured.url)), load_catalog(SCHEMAS), auto_register=True)
    framed = serializer(order(1))
    assert framed[0] == 0 and len(framed) > 5
    assert caplog.records, "the HTTP library did log its requests"
    assert SECRET not in caplog.text
    assert all(SECRET not in json.dumps(vars(r), default=str) for r in caplog.records)


def test_registry_outage_from_a_producer_is_infrastructure_error() -> None:
    # Regression: EventProducer.send raised the HTTP library's ConnectError with a long traceback.
    serializer = EventSerializer(registry_client(f"http://127.0.0.1:{_free_port()}"), load_catalog(SCHEMAS))
    producer = EventProducer(f"127.0.0.1:{_free_port()}", serializer, name="t", **{"message.timeout.ms": 1000})
    with pytest.raises(InfrastructureError, match="schema registry unreachable"):
        producer.send(order(1))


def test_an_explicit_topic_holds_for_its_call_only() -> None:
    # Regression: the first explicit topic became the class's topic for every later send.
    with EmbeddedRegistry() as registry:
        serializer = EventSerializer(registry_client(registry.url), load_catalog(SCHEMAS), auto_register=True)
        producer = EventProducer(f"127.0.0.1:{_free_port()}", serializer, name="t")
        event = order(1)
        assert producer.prepare(event, "audit-copy")[0] == "audit-copy"
        assert producer.prepare(event)[0] == "orders"
        assert producer.prepare(event, "audit-copy")[0] == "audit-copy"
        assert producer.prepare(event)[0] == "orders"
        assert serializer.topic_for(type(event)) == "orders"


def _bad_default(project: Path) -> None:
    path = project / "schemas/com/acme/orders/OrderCreated.avsc"
    data = json.loads(path.read_text())
    data["fields"].append({"name": "attempts", "type": "int", "default": "zero", "doc": "How many tries."})
    path.write_text(json.dumps(data, indent=2))


def test_an_invalid_default_is_refused_everywhere(project: Path, tmp_path: Path) -> None:
    # Regression: only lint refused "default": "zero" on an int; codegen, the gate, publish and the registry took it.
    _bad_default(project)
    lint = _run("lint")
    assert lint.exit_code == 1 and "INVALID_DEFAULT" in lint.output
    for args in (["codegen", "--package", "evs", "--output", str(tmp_path / "out")], ["compat", "check"], ["compat", "publish", "--dry-run"]):
        result = _run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "INVALID_DEFAULT" in result.output and "'attempts'" in result.output and "OrderCreated.avsc" in result.output
    assert not (tmp_path / "out").exists(), "nothing generated"
    with EmbeddedRegistry() as registry:
        push = _run("registry", "push", "--registry-url", registry.url)
        assert push.exit_code == 2 and "INVALID_DEFAULT" in push.output
        schema = {"type": "record", "name": "T", "fields": [{"name": "n", "type": "int", "default": "zero"}]}
        answer = requests.post(f"{registry.url}/subjects/t-value/versions", json={"schema": json.dumps(schema)})
        assert answer.status_code == 422 and answer.json()["error_code"] == 42201, answer.text
        assert "default of field 'n'" in answer.json()["message"]
        assert requests.get(f"{registry.url}/subjects").json() == []


class _Dist:
    def __init__(self, direct_url: dict[str, object] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        return json.dumps(self.direct_url) if name == "direct_url.json" and self.direct_url is not None else None


def _init_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, object] | None) -> tuple[Result, str]:
    from contracts import scaffold

    monkeypatch.setattr(scaffold.metadata, "distribution", lambda name: _Dist(direct_url))
    repo = tmp_path / "repo"
    result = CliRunner().invoke(main, ["init", str(repo), "--package", "billing.events"])
    assert result.exit_code == 0, result.output
    return result, (repo / ".github/workflows/contracts.yml").read_text()


def test_init_installs_from_where_the_tool_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: the workflow said `pip install "event-contracts"`, which is not on any index, and nothing warned.
    import subprocess

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin", "https://git.example.org/platform/event-contracts.git"], check=True)
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    result, workflow = _init_with(tmp_path / "a", monkeypatch, {"url": checkout.as_uri(), "dir_info": {"editable": True}})
    spec = f"event-contracts @ git+https://git.example.org/platform/event-contracts.git@{commit}"
    assert f'pip install "{spec}"' in workflow and spec in result.output
    result, workflow = _init_with(tmp_path / "b", monkeypatch, {"url": "https://git.example.org/x.git", "vcs_info": {"vcs": "git", "commit_id": "abc"}})
    assert 'pip install "event-contracts @ git+https://git.example.org/x.git@abc"' in workflow
    result, workflow = _init_with(tmp_path / "c", monkeypatch, {"url": (tmp_path / "event_contracts-0-py3-none-any.whl").as_uri(), "archive_info": {}})
    assert "warning: CI cannot install this copy" in result.output and "--install" in result.output
    assert 'pip install "event-contracts"' not in workflow and "exit 1" in workflow, "the step fails, saying what to do"


def test_init_ignores_local_state_and_gives_a_plain_hint_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", ".", "--package", "billing.events", "--install", "event-contracts"])
    assert result.exit_code == 0
    assert "next: contracts codegen" in result.output and "cd ." not in result.output
    assert {".contracts-cache/", ".contracts-dev/"} <= set((tmp_path / ".gitignore").read_text().splitlines())


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _drop_field(project: Path, rel: str, name: str) -> None:
    path = project / rel
    data = json.loads(path.read_text())
    data["fields"] = [f for f in data["fields"] if f["name"] != name]
    path.write_text(json.dumps(data, indent=2))


EMAIL = "schemas/com/acme/notifications/EmailRequested.avsc"


def test_against_git_runs_the_same_gate_deployments_included(project: Path) -> None:
    # Regression: --against-git skipped the deployment check silently and exited on any finding.
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "x")
    _drop_field(project, EMAIL, "to")  # BACKWARD allows it; email-gateway, deployed on v1, requires `to`
    plain = _run("compat", "check", "--format", "json")
    git = _run("compat", "check", "--against-git", "HEAD", "--format", "json")
    assert plain.exit_code == git.exit_code == 1, (plain.output, git.output)
    ours = json.loads(git.output)["findings"]
    assert [f["rule"] for f in ours] == [f["rule"] for f in json.loads(plain.output)["findings"]]
    assert any("email-gateway" in f.get("services", []) for f in ours), ours
    text = _run("compat", "check", "--against-git", "HEAD")
    assert "vHEAD" not in text.output and "this change" not in text.output
    skipped = _run("compat", "check", "--against-git", "HEAD", "--no-deployments")
    assert skipped.exit_code == 0, "only the deployment check objects to it"


def test_against_git_names_ref_and_working_tree(project: Path) -> None:
    shutil.rmtree(project / "compatibility")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "x")
    _drop_field(project, "schemas/com/acme/orders/OrderCreated.avsc", "total")
    for fmt, shown in (("text", "HEAD -> working tree"), ("github", "HEAD -> working tree"), ("markdown", "HEAD"), ("junit", "HEAD -&gt; working tree")):
        result = _run("compat", "check", "--against-git", "HEAD", "--format", fmt)
        assert result.exit_code == 1 and shown in result.output and "vHEAD" not in result.output, (fmt, result.output)


def test_an_unknown_service_in_deployments_is_bad_input(project: Path) -> None:
    path = project / "compatibility/deployments.toml"
    path.write_text(path.read_text().replace("[services.email-gateway]", "[services.email-gatway]"))
    result = _run("compat", "check")
    assert result.exit_code == 2
    assert "unknown service" in result.output and "did you mean 'email-gateway'" in result.output and "deployments.toml" in result.output


def test_shallow_clone_hint_is_a_command_that_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: the hint `git fetch --no-tags --depth=1 origin origin/main` fails.
    import subprocess

    upstream = tmp_path / "upstream"
    shutil.copytree(ROOT / "schemas", upstream / "schemas")
    (upstream / "pyproject.toml").write_text("[tool.contracts]\n")
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", ".")
    _git(upstream, "commit", "-q", "-m", "main")
    _git(upstream, "checkout", "-q", "-b", "feature")
    _git(upstream, "commit", "-q", "--allow-empty", "-m", "feature")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth=1", "--single-branch", "--branch=feature", upstream.as_uri(), str(clone))
    monkeypatch.chdir(clone)
    missing = _run("compat", "check", "--against-git", "origin/main")
    assert missing.exit_code == 2, missing.output
    hint = missing.output.split("fetch it first: ", 1)[1].strip().splitlines()[0]
    assert hint == "git fetch --no-tags --depth=1 origin main:refs/remotes/origin/main"
    done = subprocess.run(hint.split(), cwd=clone, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _run("compat", "check", "--against-git", "origin/main").exit_code == 0
