"""docs/configuration.md names every key the file definitions accept and every environment variable the code reads."""

from __future__ import annotations

import re

from pydantic import BaseModel

from contracts import specs
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "configuration.md").read_text()


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        inner = next((a for a in getattr(field.annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            inner = field.annotation
        if inner is not None and prefix == "":
            out |= _keys(inner, f"{name}.")  # a table is documented through its keys
        else:
            out.add(prefix + name)
    return out


def test_every_tool_contracts_key_is_documented() -> None:
    for key in _keys(specs.ToolSpec):
        assert f"`{key}`" in DOC, key


def test_every_catalog_deployments_and_overrides_key_is_documented() -> None:
    for model in (specs.CatalogDefaults, specs.TopicSpec, specs.ServiceSpec, specs.OverrideSpec):
        for key in model.model_fields:
            assert f"`{key}`" in DOC or f".{key}`" in DOC, (model.__name__, key)


def test_every_environment_variable_is_documented() -> None:
    names = set()
    for path in (ROOT / "src" / "contracts").rglob("*.py"):
        names |= set(re.findall(r"\bCONTRACTS_[A-Z_]+\b", path.read_text()))
    assert names, "the code reads environment variables"
    for name in names:
        assert f"`{name}`" in DOC, name
