"""The AsyncAPI document parses without errors in AsyncAPI's official parser, and says exactly what the catalog says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts import schema as s
from contracts.asyncapi import document, with_namespaces
from contracts.catalog import load_catalog
from contracts.cli import main
from tests.conftest import ROOT, SCHEMAS

PACKAGES = ["@asyncapi/parser@3.6", "@asyncapi/avro-schema-parser@3.0.24"]
CACHE = ROOT / ".cache" / "asyncapi-node"


@pytest.fixture(scope="session")
def node_parser() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not on this machine: AsyncAPI's official parser cannot run")
    if not (CACHE / "node_modules" / "@asyncapi" / "avro-schema-parser").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CACHE), *PACKAGES],
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, f"npm install of AsyncAPI's parser failed: {done.stderr[-2000:]}"
    return CACHE


def _parse(node_parser: Path, path: Path) -> dict[str, object]:
    shutil.copy(ROOT / "tests" / "asyncapi_check.js", node_parser / "check.js")
    done = subprocess.run(["node", str(node_parser / "check.js"), str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_the_official_parser_accepts_it_and_it_matches_the_catalog(node_parser: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"asyncapi.{fmt}"
    result = CliRunner().invoke(main, ["asyncapi", "-o", str(out), "--server", "local=127.0.0.1:9092"])
    assert result.exit_code == 0, result.output
    parsed = _parse(node_parser, out)
    assert parsed["errors"] == []
    catalog = load_catalog(SCHEMAS)
    channels = {c["address"]: set(c["messages"]) for c in parsed["channels"]}  # type: ignore[attr-defined]
    assert channels == {t.name: set(t.value_types) for t in catalog.topics.values()}
    operations = {(o["action"], o["channel"][0], o["id"].split(".")[0]) for o in parsed["operations"]}  # type: ignore[attr-defined]
    expected = {("send", t.name, svc) for t in catalog.topics.values() for svc in t.producers}
    expected |= {("receive", t.name, svc) for t in catalog.topics.values() for svc in t.consumers}
    assert operations == expected, "every producer sends and every consumer receives, never swapped"


def test_payloads_are_self_contained_and_mean_the_same_schema() -> None:
    catalog = load_catalog(SCHEMAS)
    doc = document(catalog)
    for key, message in doc["components"]["messages"].items():
        payload = message["payload"]["schema"]
        reparsed = s.SchemaParser().parse(payload)  # no outside names needed: every named type is inlined
        assert s.canonical_form(reparsed) == s.canonical_form(catalog.types[key])


def test_namespaces_are_split_and_aliases_shortened() -> None:
    out = with_namespaces({"type": "record", "name": "com.a.A", "aliases": ["com.a.Old", "org.x.Y"], "fields": [{"name": "f", "type": "com.a.A"}]})
    assert out["name"] == "A" and out["namespace"] == "com.a" and out["aliases"] == ["Old", "org.x.Y"]
    assert out["fields"][0]["type"] == "com.a.A"


def test_messages_carry_their_data_contract() -> None:
    doc = document(load_catalog(SCHEMAS))
    contract = doc["components"]["messages"]["com.acme.orders.OrderCreated"]["x-data-contract"]
    assert contract["ruleSet"]["domainRules"][0]["name"] == "total_not_negative"
    assert contract["metadata"]["tags"] == {"com.acme.orders.Customer.email": ["PII"]}
    assert "x-data-contract" not in doc["components"]["messages"]["com.acme.orders.OrderCancelled"]
