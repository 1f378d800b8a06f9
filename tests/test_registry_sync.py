"""plan / push / diff / pull against the embedded registry, and confluent-kafka's serde on it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from contracts.cli import main
from contracts.registry.server import EmbeddedRegistry
from tests.conftest import ROOT

ORDER = "schemas/com/acme/orders/OrderCreated.avsc"


@pytest.fixture
def reg() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as r:
        yield r


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reg: EmbeddedRegistry) -> Path:
    for name in ("schemas", "compatibility"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTRACTS_SCHEMA_REGISTRY_URL", reg.url)
    return tmp_path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _state(url: str) -> dict[str, Any]:
    subjects = requests.get(f"{url}/subjects").json()
    return {s: requests.get(f"{url}/subjects/{s}/versions").json() for s in subjects}


def test_plan_push_idempotent_with_references(project: Path, reg: EmbeddedRegistry) -> None:
    result = _run("registry", "plan")
    assert result.exit_code == 1 and "create subject" in result.output
    assert _run("registry", "push").exit_code == 0
    order = requests.get(f"{reg.url}/subjects/orders-com.acme.orders.OrderCreated/versions/latest").json()
    assert {r["subject"] for r in order["references"]} == {"com.acme.common.EventMetadata", "com.acme.common.Money", "com.acme.common.Address"}
    assert requests.get(f"{reg.url}/config/orders-com.acme.orders.OrderCreated").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    before = _state(reg.url)
    again = _run("registry", "push")
    assert again.exit_code == 0 and "already up to date" in again.output
    assert _run("registry", "plan").exit_code == 0
    assert _state(reg.url) == before
    assert _run("registry", "diff").exit_code == 0


def test_incompatible_push_changes_nothing_for_that_subject(project: Path, reg: EmbeddedRegistry) -> None:
    assert _run("registry", "push").exit_code == 0
    before = _state(reg.url)
    data = json.loads(Path(ORDER).read_text())
    data["fields"] = [f for f in data["fields"] if f["name"] != "total"]
    Path(ORDER).write_text(json.dumps(data))
    result = _run("registry", "push")
    assert result.exit_code == 1
    assert "FIELD_REMOVED_WITHOUT_DEFAULT" in result.output and "nothing was pushed" in result.output
    assert _state(reg.url) == before
    diff = _run("registry", "diff")
    assert diff.exit_code == 1 and '-      "name": "total"' in diff.output


def test_compatible_change_adds_a_version_and_pull_writes_history(project: Path, reg: EmbeddedRegistry) -> None:
    assert _run("registry", "push").exit_code == 0
    data = json.loads(Path(ORDER).read_text())
    data["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None, "doc": "c"})
    Path(ORDER).write_text(json.dumps(data))
    result = _run("registry", "push")
    assert result.exit_code == 0 and "add version" in result.output
    # v1 to v3 replayed from compatibility/ (v3 with its data contract), then the change as v4.
    assert requests.get(f"{reg.url}/subjects/orders-com.acme.orders.OrderCreated/versions").json() == [1, 2, 3, 4]
    shutil.rmtree(project / "compatibility/subjects")
    assert _run("registry", "pull").exit_code == 0
    pulled = json.loads((project / "compatibility/subjects/orders-com.acme.orders.OrderCreated/v4.avsc").read_text())
    contract = json.loads((project / "compatibility/subjects/orders-com.acme.orders.OrderCreated/v4.contract.json").read_text())
    assert contract["ruleSet"]["domainRules"][0]["name"] == "total_not_negative"
    assert pulled["fields"][-1]["name"] == "coupon"
    assert pulled["fields"][0]["type"]["name"] == "com.acme.common.EventMetadata", "references resolved: self-contained"
    (project / "compatibility/deployments.toml").unlink()
    assert _run("compat", "check").exit_code == 0, "the offline gate starts from what is live"


def test_unreachable_registry_exit_3(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRACTS_SCHEMA_REGISTRY_URL", "http://127.0.0.1:9")
    for cmd in ("plan", "push", "diff", "pull"):
        result = _run("registry", cmd)
        assert result.exit_code == 3, (cmd, result.output)


SCHEMA = json.dumps({"type": "record", "name": "Ping", "namespace": "t", "fields": [{"name": "n", "type": "long"}]})


@pytest.mark.parametrize("auto_register", [True, False])
def test_confluent_serde_round_trip(reg: EmbeddedRegistry, auto_register: bool) -> None:
    client = SchemaRegistryClient({"url": reg.url})
    ctx = SerializationContext("pings", MessageField.VALUE)
    conf: dict[str, Any] = {"auto.register.schemas": auto_register}
    if not auto_register:
        conf["use.latest.version"] = True
        from confluent_kafka.schema_registry import Schema

        client.register_schema("pings-value", Schema(SCHEMA, "AVRO"))
    ser = AvroSerializer(client, SCHEMA, conf=conf)
    payload = ser({"n": 42}, ctx)
    assert payload is not None and payload[0] == 0
    assert AvroDeserializer(client)(payload, ctx) == {"n": 42}
    assert requests.get(f"{reg.url}/subjects").json() == ["pings-value"]


def test_serializer_without_registration_fails_clearly(reg: EmbeddedRegistry) -> None:
    client = SchemaRegistryClient({"url": reg.url})
    ser = AvroSerializer(client, SCHEMA, conf={"auto.register.schemas": False})
    with pytest.raises(Exception, match=r"40401|not found"):
        ser({"n": 1}, SerializationContext("pings", MessageField.VALUE))


@pytest.mark.parametrize("subject", ["../../escaped", "/tmp/absolute-subject", "..", "a/b", ".hidden"])
def test_pull_refuses_subject_names_that_leave_the_history_folder(project: Path, reg: EmbeddedRegistry, subject: str) -> None:
    # Regression: `pull --all` used registry subject names as folder names unchecked.
    schema = json.dumps({"type": "record", "name": "Esc", "fields": [{"name": "a", "type": "string"}]})
    quoted = "".join(f"%{b:02X}" for b in subject.encode())  # every byte, dots included
    assert requests.post(f"{reg.url}/subjects/{quoted}/versions", json={"schema": schema}).status_code == 200
    history = project / "pulled" / "history"
    result = _run("registry", "pull", "--all", "--history", str(history))
    assert result.exit_code == 2, result.output
    assert repr(subject) in result.output and "Traceback" not in result.output
    assert not (project / "pulled").exists() or not any((project / "pulled").rglob("*.avsc")), "nothing written"
    assert not (project / "escaped").exists() and not Path("/tmp/absolute-subject").exists()


def test_registry_refuses_subject_names_with_control_characters(reg: EmbeddedRegistry) -> None:
    schema = json.dumps({"type": "record", "name": "Nul", "fields": [{"name": "a", "type": "string"}]})
    r = requests.post(f"{reg.url}/subjects/a%00b/versions", json={"schema": schema})
    assert r.status_code == 422 and r.json()["error_code"] == 42208


def test_push_through_the_in_process_transport_matches_http(project: Path, reg: EmbeddedRegistry) -> None:
    from contracts.catalog import load_catalog
    from contracts.registry.client import RegistryClient
    from contracts.registry.server import AppTransport, RegistryApp, Store
    from contracts.registry.sync import push

    catalog = load_catalog(project / "schemas")
    over_http = push(RegistryClient(reg.url), catalog)
    app = RegistryApp(Store())
    in_process = push(RegistryClient("app://embedded", transport=AppTransport(app)), catalog)
    assert [str(c) for c in in_process] == [str(c) for c in over_http]
    assert RegistryClient("app://embedded", transport=AppTransport(app)).subjects() == RegistryClient(reg.url).subjects()


def test_gate_against_a_registry_with_references(project: Path, reg: EmbeddedRegistry) -> None:
    # Regression: versions read from a registry kept their references unresolved, so the gate could not parse them.
    assert _run("registry", "push").exit_code == 0
    result = _run("compat", "check", "--against-registry", reg.url, "--registry-only")
    assert result.exit_code == 0, result.output
    data = json.loads((project / ORDER).read_text())
    data["fields"] = [f for f in data["fields"] if f["name"] != "lines"]
    (project / ORDER).write_text(json.dumps(data))
    result = _run("compat", "check", "--against-registry", reg.url, "--registry-only", "--format", "json")
    assert result.exit_code == 1 and {f["rule"] for f in json.loads(result.output)["findings"]} == {"FIELD_REMOVED_WITHOUT_DEFAULT"}


HISTORY = "compatibility/subjects/orders-com.acme.orders.OrderCreated"


def test_push_replays_the_recorded_history_so_numbers_match(project: Path, reg: EmbeddedRegistry) -> None:
    # Regression: push registered only the current schema, so the registry's v1 was the history's v2.
    plan = _run("registry", "plan")
    assert plan.exit_code == 1 and "replay version" in plan.output and f"v1 from {HISTORY}/v1.avsc" in plan.output, plan.output
    assert _run("registry", "push").exit_code == 0
    assert requests.get(f"{reg.url}/subjects/orders-com.acme.orders.OrderCreated/versions").json() == [1, 2, 3]
    before = {p.name: p.read_text() for p in Path(HISTORY).iterdir()}
    pulled = _run("registry", "pull")
    assert pulled.exit_code == 0, pulled.output
    assert {p.name: p.read_text() for p in Path(HISTORY).iterdir()} == before, "the same versions: files left as they were"
    assert _run("registry", "plan").exit_code == 0


def test_pull_never_overwrites_a_recorded_version_with_other_content(project: Path, reg: EmbeddedRegistry) -> None:
    # Regression: after a push of only the current schema, pull overwrote the committed v1 with v2's text, exit 0.
    assert _run("registry", "push", "--no-history").exit_code == 0
    assert requests.get(f"{reg.url}/subjects/orders-com.acme.orders.OrderCreated/versions").json() == [1]
    v1 = Path(HISTORY, "v1.avsc")
    before = {p: p.read_text() for p in Path("compatibility").rglob("*.avsc")}
    result = _run("registry", "pull")
    assert result.exit_code == 1, result.output
    assert f"{HISTORY}/v1.avsc (registry v1 differs)" in result.output and "--force" in result.output
    assert {p: p.read_text() for p in Path("compatibility").rglob("*.avsc")} == before, "nothing written"
    forced = _run("registry", "pull", "--force")
    assert forced.exit_code == 0
    assert json.loads(v1.read_text()) == json.loads(Path(HISTORY, "v2.avsc").read_text())
