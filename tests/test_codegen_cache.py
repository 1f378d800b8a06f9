"""Codegen remembers: a changed schema renders again only the modules it is part of, and the output is a fresh run's, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import contracts.codegen.naming as naming
import pytest
from contracts.codegen import check, generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SCHEMAS

ORDER = "com/acme/orders/OrderCreated.avsc"
MONEY = "com/acme/common/Money.avsc"


def _edit(root: Path, rel: str, change: Any) -> None:
    path = root / rel
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def _copy(tmp: Path) -> tuple[Path, Path, Path]:
    schemas = tmp / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    return schemas, tmp / "events", tmp / "cache"


def test_one_changed_schema_renders_only_its_module(tmp_path: Path) -> None:
    schemas, out, cache = _copy(tmp_path)
    first = generate(schemas, out, cache_dir=cache)
    assert first.rendered is not None and first.rendered > 3
    _edit(schemas, ORDER, lambda d: d["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None, "doc": "A coupon."}))
    again = generate(schemas, out, cache_dir=cache)
    assert again.rendered == 1 and again.changed == ["com/acme/orders/__init__.py"]
    assert check(schemas, out, "events") == []


def test_a_shared_type_renders_again_every_module_that_holds_it(tmp_path: Path) -> None:
    schemas, out, cache = _copy(tmp_path)
    generate(schemas, out, cache_dir=cache)
    _edit(schemas, MONEY, lambda d: d.__setitem__("doc", "An amount of money, in one currency (edited)."))
    again = generate(schemas, out, cache_dir=cache)
    users = {rel for rel in again.changed if rel != "com/acme/common/__init__.py"}
    assert "com/acme/common/__init__.py" in again.changed and users, "the modules that inline Money change too"
    assert again.rendered is not None and again.rendered >= 1 + len(users)
    assert check(schemas, out, "events") == []


def test_a_new_field_name_asks_the_naming_tool_one_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas, out, cache = _copy(tmp_path)
    generate(schemas, out, cache_dir=cache)
    asked: list[Any] = []
    real = naming._run
    monkeypatch.setattr(naming, "_run", lambda doc: asked.append(doc) or real(doc))
    _edit(schemas, ORDER, lambda d: d["fields"].append({"name": "from", "type": ["null", "string"], "default": None, "doc": "A keyword."}))
    generate(schemas, out, cache_dir=cache)
    assert len(asked) == 1, "documents without new names are answered from the cache"
    assert "from_: StrictStr | None = Field(default=None, alias='from'" in (out / "com/acme/orders/__init__.py").read_text()


EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("field"), st.sampled_from([ORDER, MONEY]), st.sampled_from(["class", "note", "amount_2", "x"])),
        st.tuples(st.just("doc"), st.sampled_from([ORDER, MONEY]), st.text("abc é", min_size=1, max_size=5)),
        st.tuples(st.just("drop"), st.sampled_from([ORDER, MONEY])),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_remembered_output_is_a_fresh_runs(tmp_path_factory: pytest.TempPathFactory, edits: list[Any]) -> None:
    schemas, out, cache = _copy(tmp_path_factory.mktemp("codegen"))
    generate(schemas, out, cache_dir=cache)
    for edit in edits:
        if edit[0] == "field":
            name = edit[2]

            def add(d: dict[str, Any], name: str = name) -> None:
                if all(f["name"] != name for f in d["fields"]):
                    d["fields"].append({"name": name, "type": ["null", "long"], "default": None, "doc": "Added."})

            _edit(schemas, edit[1], add)
        elif edit[0] == "doc":
            _edit(schemas, edit[1], lambda d, text=edit[2]: d.__setitem__("doc", text))
        else:
            _edit(schemas, edit[1], lambda d: d.__setitem__("fields", [f for f in d["fields"] if f.get("default", 0) is not None]))
        generate(schemas, out, cache_dir=cache)
        assert check(schemas, out, "events") == []
