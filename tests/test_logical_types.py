"""Invalid logical types are ignored and the underlying type used, as the Avro specification and Avro Java say.

Avro's own examples of ignored logical types (its Python test suite's ``IGNORED_LOGICAL_TYPE``) run
through every place a schema enters: the parser, codegen, the embedded registry, fastavro, and lint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from avro.test.test_schema import IGNORED_LOGICAL_TYPE
from click.testing import CliRunner
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given
from hypothesis import strategies as st

from contracts import schema as s
from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.lint import lint
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.store import Store
from contracts.schema.parse import SchemaParser
from tests.conftest import generate_into

EXAMPLES = [json.loads(example.data) for example in IGNORED_LOGICAL_TYPE]
KNOWN_INVALID = [e for e in EXAMPLES if e.get("logicalType") in s.LOGICAL_PHYSICAL]


pytestmark = pytest.mark.filterwarnings("ignore::avro.errors.IgnoredLogicalType")


def test_avro_ships_the_examples() -> None:
    assert len(KNOWN_INVALID) >= 9, "Avro's own list of ignored logical types"


@pytest.mark.parametrize("example", KNOWN_INVALID, ids=lambda e: json.dumps(e, sort_keys=True))
def test_an_invalid_logical_type_is_the_underlying_type(example: dict[str, Any]) -> None:
    parsed = SchemaParser().parse(example)
    assert getattr(parsed, "logical", None) is None and parsed.ignored  # type: ignore[union-attr]
    emitted = s.to_json(parsed)
    fastavro.parse_schema(emitted)  # fastavro refuses the invalid decimal itself: what we emit must not carry it
    underlying = {k: v for k, v in example.items() if k != "logicalType"}
    assert s.canonical_form(parsed) == to_parsing_canonical_form(underlying)


@pytest.mark.parametrize("example", KNOWN_INVALID, ids=lambda e: json.dumps(e, sort_keys=True))
def test_the_registry_accepts_it_and_returns_a_schema_fastavro_reads(example: dict[str, Any]) -> None:
    app = RegistryApp(Store(":memory:"))
    record = {"type": "record", "name": "R", "namespace": "t", "fields": [{"name": "v", "type": example}]}
    answer = app.handle("POST", "/subjects/r-value/versions", {}, json.dumps({"schema": json.dumps(record)}).encode())
    assert answer.status == 200, answer.payload
    stored = app.handle("GET", "/schemas/ids/" + str(answer.payload["id"]), {}, None).payload["schema"]
    fastavro.parse_schema(json.loads(stored))


@given(precision=st.integers(-5, 40), scale=st.integers(-5, 40))
def test_decimal_validity_decides_the_logical_type(precision: int, scale: int) -> None:
    parsed = SchemaParser().parse({"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale})
    valid = precision >= 1 and 0 <= scale <= precision
    assert isinstance(parsed, s.Primitive)
    assert (parsed.logical == "decimal") is valid
    assert (parsed.ignored is None) is valid


def _project(tmp_path: Path, field_type: Any) -> Path:
    root = tmp_path / "schemas" / "acme" / "x"
    root.mkdir(parents=True)
    record = {
        "type": "record", "name": "Thing", "namespace": "acme.x", "doc": "A thing.",
        "fields": [{"name": "amount", "type": field_type, "doc": "An amount."}],
    }  # fmt: skip
    (root / "Thing.avsc").write_text(json.dumps(record, indent=2))
    (tmp_path / "schemas" / "catalog.toml").write_text('[topics.things]\nvalue = "acme.x.Thing"\nproducers = ["svc"]\n')
    return tmp_path / "schemas"


def test_codegen_types_it_as_the_underlying_type_and_round_trips(tmp_path: Path, gen_root: Path) -> None:
    schemas = _project(tmp_path, {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3})
    generated = generate_into(gen_root, schemas, "ignored_logical_gen")
    thing = generated.cls("acme.x.Thing")
    event = thing(amount=b"\x01\x02")
    assert thing.from_avro_bytes(event.to_avro_bytes()) == event  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        thing(amount=1.5)


def test_lint_warns_with_its_own_rule_and_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = _project(
        tmp_path, {"type": "fixed", "name": "Amount", "size": 2, "logicalType": "decimal", "precision": 20}
    )
    findings = lint(load_catalog(schemas))
    assert [(f.rule, f.severity) for f in findings] == [("INVALID_LOGICAL_TYPE", "warning")]
    assert "does not fit in fixed of size 2" in findings[0].message and "plain fixed" in findings[0].message
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 0, result.output
    assert "WARNING INVALID_LOGICAL_TYPE" in result.output and "1 warning(s)" in result.output
    github = CliRunner().invoke(main, ["lint", "--format", "github"])
    assert github.output.startswith("::warning ") and github.exit_code == 0


def test_lint_names_an_unknown_logical_type_with_a_suggestion(tmp_path: Path) -> None:
    schemas = _project(tmp_path, {"type": "long", "logicalType": "timestamp-milis"})
    (finding,) = lint(load_catalog(schemas))
    assert finding.rule == "INVALID_LOGICAL_TYPE" and "did you mean timestamp-millis?" in finding.message
