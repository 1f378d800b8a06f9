"""Types in the null namespace and recursion across namespaces: importable classes, and JSON that keeps its meaning.

The shapes are those of Apache Avro's own schema tests (its C suite's ``namespace_null_*`` and
``namespace_recursive``): a record in namespace ``x`` holding a type declared with ``"namespace": ""``,
referred to again from the null namespace, and two namespaces whose records refer to each other.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from contracts.codegen import generate
from fastavro.schema import to_parsing_canonical_form
from hypothesis import assume, given
from hypothesis import strategies as st

from contracts import schema as s
from contracts.catalog import load_catalog
from contracts.codec import backend, class_for
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.store import Store
from tests.avro_data import avro_values
from tests.conftest import CORPUS, SCHEMAS


@pytest.fixture(autouse=True, params=["fastavro", "cavro"])
def avro_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every round trip through each Avro backend: cavro is held to fastavro's bytes and values."""
    with backend.using(request.param):
        yield request.param


def _holder(inner: dict[str, Any]) -> dict[str, Any]:
    """A record ``Outer`` (null namespace) holding ``x.Middle``, which declares ``inner`` in the null namespace."""
    middle = {"type": "record", "namespace": "x", "name": "Middle", "fields": [{"name": "e", "type": inner}]}
    return {
        "type": "record",
        "name": "Outer",
        "fields": [{"name": "s", "type": middle}, {"name": "t", "type": inner["name"]}],
    }


NULL_ENUM = _holder({"type": "enum", "namespace": "", "name": "Inner", "symbols": ["ONE", "TWO"]})
NULL_FIXED = _holder({"type": "fixed", "namespace": "", "name": "Inner", "size": 4})
NULL_RECORD = _holder(
    {"type": "record", "namespace": "", "name": "Inner", "fields": [{"name": "next", "type": ["null", "Inner"]}]}
)
RECURSIVE = {
    "type": "record", "name": "Box", "namespace": "one",
    "fields": [{"name": "held", "type": {
        "type": "record", "name": "Node",
        "fields": [
            {"name": "label", "type": "string"},
            {"name": "kids", "type": {"type": "array", "items": {
                "type": "record", "name": "Node", "namespace": "two",
                "fields": [
                    {"name": "value", "type": "int"},
                    {"name": "back", "type": {"type": "array", "items": "one.Node"}},
                    {"name": "same", "type": {"type": "array", "items": "Node"}},
                ],
            }}},
            {"name": "other", "type": ["null", "two.Node"], "default": None},
        ],
    }}],
}  # fmt: skip
CASES = {"null_enum": NULL_ENUM, "null_fixed": NULL_FIXED, "null_record": NULL_RECORD, "recursive": RECURSIVE}


def _project(root: Path, schema: dict[str, Any]) -> Path:
    schemas = root / "schemas"
    namespace = schema.get("namespace", "")
    folder = schemas.joinpath(*namespace.split(".")) if namespace else schemas
    folder.mkdir(parents=True)
    (folder / f"{schema['name']}.avsc").write_text(json.dumps(schema, indent=2))
    top = f"{namespace}.{schema['name']}" if namespace else schema["name"]
    (schemas / "catalog.toml").write_text(f'[topics.t]\nvalue = "{top}"\n')
    return schemas


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_package_imports_from_any_module_and_round_trips(tmp_path: Path, case: str) -> None:
    schema = CASES[case]
    schemas = _project(tmp_path, schema)
    package = f"ns_{case}"
    generate(schemas, tmp_path / "out" / package, package=package, force=True)
    top = load_catalog(schemas).files[0].root
    assert isinstance(top, s.Record)
    modules = sorted({f"{package}.{t.namespace}".rstrip(".") for t in load_catalog(schemas).types.values()})
    # Every module first, in a fresh interpreter each: a cycle fails whichever module is imported first.
    for first in modules:
        script = (
            f"import importlib, {first}\n"
            f"from contracts.codec import class_for\n"
            f"importlib.import_module('{package}.{top.namespace}'.rstrip('.'))\n"
            f"cls = class_for('{top.fullname}')\n"
            f"import fastavro; fastavro.parse_schema(cls.__avro_schema__)\n"
            f"print(cls.__name__)\n"
        )
        out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "out", capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_classes_round_trip_through_every_namespace(gen_root: Path, case: str, data: st.DataObject) -> None:
    top = s.parse_schema(CASES[case])
    assert isinstance(top, s.Record)
    cls = _generated(gen_root, case, top)
    written = _write(cls.parsed_schema(), data.draw(avro_values(top)))
    instance = cls.from_avro_bytes(written)
    assert instance.to_avro_bytes() == written
    assert cls.from_avro(instance.to_avro(), validate=True) == instance


_GENERATED: dict[str, Any] = {}


def _generated(gen_root: Path, case: str, top: s.Record) -> Any:
    if case not in _GENERATED:
        package = f"ns_rt_{case}"
        generate(_project(gen_root / f"src_{case}", CASES[case]), gen_root / package, package=package, force=True)
        importlib.invalidate_caches()
        importlib.import_module(f"{package}.{top.namespace}".rstrip("."))
        _GENERATED[case] = class_for(top.fullname)
    return _GENERATED[case]


def _write(parsed: Any, value: Any) -> bytes:
    import io

    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, value)
    return buf.getvalue()


def _corpus() -> list[s.Schema]:
    found: list[s.Schema] = [s.parse_schema(schema) for schema in CASES.values()]
    for root in (SCHEMAS, CORPUS / "tricky"):
        found += [f.root for f in load_catalog(root).files]
    return found


@pytest.mark.parametrize("schema", _corpus(), ids=lambda t: s.type_label(t))
def test_every_json_form_we_write_keeps_the_meaning(schema: s.Schema) -> None:
    original = s.canonical_form(schema)
    emitted = s.to_json(schema)
    assert s.canonical_form(s.parse_schema(emitted)) == original
    assert to_parsing_canonical_form(fastavro.parse_schema(emitted)) == original
    text = s.full_text(schema)
    assert s.canonical_form(s.parse_schema(json.loads(text))) == original


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_registry_returns_a_schema_that_means_the_same(case: str) -> None:
    app = RegistryApp(Store(":memory:"))
    body = json.dumps({"schema": json.dumps(CASES[case])}).encode()
    answer = app.handle("POST", "/subjects/t-value/versions", {}, body)
    assert answer.status == 200, answer.payload
    stored = json.loads(app.handle("GET", f"/schemas/ids/{answer.payload['id']}", {}, None).payload["schema"])
    assert to_parsing_canonical_form(fastavro.parse_schema(stored)) == to_parsing_canonical_form(
        fastavro.parse_schema(CASES[case])
    )


@given(
    outer=st.sampled_from(["", "a", "a.b"]), middle=st.sampled_from(["", "m", None]), inner=st.sampled_from(["", "c"])
)
def test_a_null_namespace_inside_any_namespace_stays_null(outer: str, middle: str | None, inner: str) -> None:
    # A name without a dot means the enclosing namespace, so a type in the null namespace can be named
    # again only from the null namespace: that is the one place the reference is written.
    assume(inner or not outer)
    fixed = {"type": "fixed", "name": "F", "namespace": inner, "size": 1}
    mid: dict[str, Any] = {"type": "record", "name": "M", "fields": [{"name": "f", "type": fixed}]}
    if middle is not None:
        mid["namespace"] = middle
    schema = {
        "type": "record", "name": "R", "namespace": outer,
        "fields": [{"name": "m", "type": mid}, {"name": "g", "type": f"{inner}.F" if inner else "F"}],
    }  # fmt: skip
    parsed = s.parse_schema(schema)
    expected = to_parsing_canonical_form(fastavro.parse_schema(schema))
    assert s.canonical_form(parsed) == expected
    assert s.canonical_form(s.parse_schema(s.to_json(parsed))) == expected
    assert to_parsing_canonical_form(fastavro.parse_schema(s.to_json(parsed))) == expected
