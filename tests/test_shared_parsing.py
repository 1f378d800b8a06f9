"""Versions of one subject parsed with shared parts (as the gate's level checks parse them) read exactly as each parsed alone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import schema as s
from contracts.compat import Checker
from contracts.errors import SchemaError
from tests.test_compat_differential import field_lists, mutate


def _parsed(raw: Any, shared: dict[str, Any] | None) -> tuple[Any, list[str]]:
    parser = s.SchemaParser(shared=shared)
    schema = parser.parse(raw, file="v.avsc")
    return schema, sorted(parser.names)


def _verdict(reader: Any, writer: Any) -> list[tuple[str, str, str]]:
    return [(x.kind, x.path, x.detail) for x in Checker().check(reader, writer)]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_versions_parsed_with_shared_parts_read_as_each_alone(data: st.DataObject) -> None:
    base = {"type": "record", "name": "Top", "namespace": "acme", "fields": data.draw(field_lists())}
    versions = [base]
    for _ in range(data.draw(st.integers(1, 4))):
        versions.append(data.draw(mutate(base)))  # mutate takes one step from a base
    if data.draw(st.booleans()):
        for raw in versions:
            # A field that refers to a type another field defines: never shared on its own.
            named = [f["type"] for f in raw["fields"] if isinstance(f["type"], dict) and f["type"]["type"] in ("enum", "record")]
            if named:
                raw["fields"].append({"name": "again", "type": named[0]["name"]})
    shared: dict[str, Any] = {}
    together, alone = [], []
    for raw in versions:
        try:
            expected = _parsed(raw, None)
        except SchemaError as exc:
            with pytest.raises(SchemaError) as raised:
                _parsed(raw, shared)
            assert raised.value.rule == exc.rule
            continue
        got = _parsed(raw, shared)
        assert s.to_json(got[0]) == s.to_json(expected[0])
        assert got[1] == expected[1]
        together.append(got[0])
        alone.append(expected[0])
    for i, reader in enumerate(together):
        for j, writer in enumerate(together):
            assert _verdict(reader, writer) == _verdict(alone[i], alone[j])


def test_a_shared_field_does_not_hide_a_name_defined_twice() -> None:
    money = {"type": "record", "name": "Money", "fields": [{"name": "units", "type": "long"}]}
    first = {"type": "record", "name": "A", "fields": [{"name": "amount", "type": money}]}
    second = {"type": "record", "name": "A", "fields": [{"name": "price", "type": money}, {"name": "amount", "type": money}]}
    shared: dict[str, Any] = {}
    s.SchemaParser(shared=shared).parse(first)
    with pytest.raises(SchemaError) as raised:
        s.SchemaParser(shared=shared).parse(second)
    assert raised.value.rule == "DUPLICATE_NAME"
