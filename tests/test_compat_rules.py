"""One focused test per rule id, at every level, with a compatible and an incompatible pair."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import schema as s
from contracts.compat import LEVELS, RULES, Checker, VersionedSchema, check_level

F = dict[str, Any]


def _rec(*fields: F, name: str = "Event", aliases: list[str] | None = None) -> s.Schema:
    r: F = {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}
    if aliases:
        r["aliases"] = aliases
    return s.parse_schema(r)


def _f(name: str, type_: Any, **extra: Any) -> F:
    return {"name": name, "type": type_, **extra}


def _enum(symbols: list[str], default: str | None = None) -> F:
    e: F = {"type": "enum", "name": "State", "symbols": symbols}
    if default:
        e["default"] = default
    return e


def _dec(precision: int, scale: int) -> F:
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}


def _fixed(size: int) -> F:
    return {"type": "fixed", "name": "Hash", "size": size}


def _money(name: str, **extra: Any) -> F:
    return {"type": "record", "name": name, "fields": [_f("cents", "long")], **extra}


ID = _f("id", "string")
B, FW = "B", "F"
# rule -> [(old, new, directions in which the rule fires, strict logical types)]
CASES: dict[str, list[tuple[s.Schema, s.Schema, set[str], bool]]] = {
    "FIELD_ADDED_WITHOUT_DEFAULT": [
        (_rec(ID), _rec(ID, _f("total", "long")), {B}, False),
        (_rec(ID), _rec(ID, _f("total", "long", default=0)), set(), False),
    ],
    "FIELD_REMOVED_WITHOUT_DEFAULT": [
        (_rec(ID, _f("total", "long")), _rec(ID), {FW}, False),
        (_rec(ID, _f("total", "long", default=0)), _rec(ID), set(), False),
    ],
    "FIELD_ALIAS_AMBIGUOUS": [
        (_rec(_f("total", "long"), _f("amount", "long")), _rec(_f("total", "long", aliases=["amount"])), {B}, False),
        (_rec(_f("amount", "long")), _rec(_f("total", "long", aliases=["amount"])), set(), False),
    ],
    "TYPE_CHANGED": [
        (_rec(_f("total", "long")), _rec(_f("total", "string")), {B, FW}, False),
        (_rec(_f("total", "string")), _rec(_f("total", "bytes")), set(), False),
        (_rec(_f("lines", {"type": "array", "items": "long"})), _rec(_f("lines", {"type": "map", "values": "long"})), {B, FW}, False),
    ],
    "TYPE_NARROWED": [
        (_rec(_f("total", "long")), _rec(_f("total", "int")), {B}, False),
        (_rec(_f("total", "int")), _rec(_f("total", "long")), {FW}, False),
        (_rec(_f("total", "float")), _rec(_f("total", "double")), {FW}, False),
    ],
    "ENUM_SYMBOL_REMOVED": [
        (_rec(_f("s", _enum(["A", "B"]))), _rec(_f("s", _enum(["A"]))), {B}, False),
        (_rec(_f("s", _enum(["A", "B"]))), _rec(_f("s", _enum(["A"], "A"))), set(), False),
    ],
    "ENUM_SYMBOL_ADDED": [
        (_rec(_f("s", _enum(["A"]))), _rec(_f("s", _enum(["A", "B"]))), {FW}, False),
        (_rec(_f("s", _enum(["A"], "A"))), _rec(_f("s", _enum(["A", "B"], "A"))), set(), False),
    ],
    "UNION_BRANCH_REMOVED": [
        (_rec(_f("n", ["null", "string"], default=None)), _rec(_f("n", "string", default="")), {B}, False),
        (_rec(_f("n", ["null", "string"], default=None)), _rec(_f("n", ["null", "string", "long"], default=None)), set(), False),
    ],
    "UNION_BRANCH_ADDED": [
        (_rec(_f("n", "string", default="")), _rec(_f("n", ["string", "null"], default="")), {FW}, False),
        (_rec(_f("n", ["null", "string", "long"], default=None)), _rec(_f("n", ["null", "string"], default=None)), set(), False),
    ],
    "NAME_CHANGED": [
        (_rec(_f("m", _money("Money"))), _rec(_f("m", _money("Amount"))), {B, FW}, False),
        # a short alias resolves against the reader's namespace (t.Money); Avro's Python checker gets this wrong
        (_rec(_f("m", _money("Money"))), _rec(_f("m", _money("Amount", aliases=["Money"]))), {FW}, False),
    ],
    "FIXED_SIZE_CHANGED": [
        (_rec(_f("h", _fixed(16))), _rec(_f("h", _fixed(32))), {B, FW}, False),
        (_rec(_f("h", _fixed(16))), _rec(_f("h", _fixed(16))), set(), False),
    ],
    "DECIMAL_SCALE_CHANGED": [
        (_rec(_f("p", _dec(9, 2))), _rec(_f("p", _dec(9, 3))), {B, FW}, True),
        (_rec(_f("p", _dec(9, 2))), _rec(_f("p", _dec(9, 3))), set(), False),  # Confluent ignores logical types
    ],
    "DECIMAL_PRECISION_NARROWED": [
        (_rec(_f("p", _dec(12, 2))), _rec(_f("p", _dec(9, 2))), {B}, True),
        (_rec(_f("p", _dec(9, 2))), _rec(_f("p", _dec(12, 2))), {FW}, True),
    ],
    "LOGICAL_TYPE_CHANGED": [
        (
            _rec(_f("at", {"type": "long", "logicalType": "timestamp-millis"})),
            _rec(_f("at", {"type": "long", "logicalType": "timestamp-micros"})),
            {B, FW},
            True,
        ),
        (
            _rec(_f("at", {"type": "long", "logicalType": "timestamp-millis"})),
            _rec(_f("at", {"type": "long", "logicalType": "timestamp-micros"})),
            set(),
            False,
        ),
    ],
}


def _directions(level: str) -> set[str]:
    backward, forward, _ = LEVELS[level]
    return ({B} if backward else set()) | ({FW} if forward else set())


def test_every_schema_rule_has_cases() -> None:
    assert {r.id for r in RULES} - {"DEPLOYMENT_UNKNOWN_VERSION"} == set(CASES)


@pytest.mark.parametrize("level", sorted(LEVELS))
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_at_level(rule: str, level: str) -> None:
    for i, (old, new, fires, strict) in enumerate(CASES[rule]):
        findings = check_level(
            Checker(strict_logical_types=strict), new, [VersionedSchema(1, old)], level, subject="t-value", new_version=2, file="x.avsc"
        )
        hits = [f for f in findings if f.rule == rule]
        expected = bool(fires & _directions(level))
        assert bool(hits) == expected, f"case {i}: {rule} at {level}: {[f.message for f in findings]}"
        for f in hits:
            assert f.subject == "t-value" and f.old_version == 1 and f.new_version == 2 and f.file == "x.avsc"
            assert f.message.endswith(".") and "v1" in f.message and "v2" in f.message


def test_field_path_points_into_nested_types() -> None:
    line_old = {"type": "record", "name": "Line", "fields": [_f("price", "long")]}
    line_new = {"type": "record", "name": "Line", "fields": [_f("price", "string")]}
    old = _rec(_f("lines", {"type": "array", "items": line_old}), _f("payload", ["null", {**line_old, "name": "OrderLine"}], default=None))
    new = _rec(_f("lines", {"type": "array", "items": line_new}), _f("payload", ["null", {**line_new, "name": "OrderLine"}], default=None))
    paths = {f.path for f in check_level(Checker(), new, [VersionedSchema(1, old)], "BACKWARD", subject="s", new_version=2)}
    assert paths == {"lines[].price", "payload<union:OrderLine>.price"}


def test_recursive_schemas_terminate() -> None:
    node = lambda extra: _rec(_f("value", "long"), _f("next", ["null", "t.Node"], default=None), *extra, name="Node")  # noqa: E731
    old, new = node([]), node([_f("label", "string", default="")])
    assert Checker().compatible(new, old) and Checker().compatible(old, new)
    bad = node([_f("label", "string")])
    assert [i.path for i in Checker().check(bad, old)] == ["label"]


def test_transitive_catches_older_versions_only() -> None:
    v1 = _rec(ID)
    v2 = _rec(ID, _f("total", "long", default=0))
    v3 = _rec(ID, _f("total", "long"))  # readable against v2 (has total), not against v1
    hist = [VersionedSchema(1, v1), VersionedSchema(2, v2)]
    assert check_level(Checker(), v3, hist, "BACKWARD", subject="s", new_version=3) == []
    findings = check_level(Checker(), v3, hist, "BACKWARD_TRANSITIVE", subject="s", new_version=3)
    assert [(f.rule, f.old_version) for f in findings] == [("FIELD_ADDED_WITHOUT_DEFAULT", 1)]
    full = check_level(Checker(), v3, hist, "FULL_TRANSITIVE", subject="s", new_version=3)
    assert {f.old_version for f in full} == {1}


def test_avro_java_verdicts_where_python_avro_differs() -> None:
    # A reader field matching one writer field by name and another by alias: Java reports an error.
    writer = _rec(_f("total", "long"), _f("amount", "long"))
    reader = _rec(_f("total", "long", aliases=["amount"]))
    assert [i.kind for i in Checker().check(reader, writer)] == ["AMBIGUOUS_FIELD"]
    # A record renamed with a short alias, in a namespaced schema: compatible (alias -> t.Money).
    writer = _rec(_f("m", _money("Money")))
    reader = _rec(_f("m", _money("Amount", aliases=["Money"])))
    assert Checker().compatible(reader, writer)
    # Java compares the unqualified names of named types: a namespace move alone is compatible.
    moved = s.parse_schema({"type": "record", "name": "Event", "namespace": "other", "fields": [ID]})
    assert Checker().compatible(moved, _rec(ID))
