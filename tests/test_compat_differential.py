"""Differential test: the engine against fastavro's actual schema resolution.

Hypothesis builds a base record and a mutated copy (fields added or removed with
or without defaults, types promoted or narrowed, enum symbols and union branches
added or removed, renames with or without aliases). Whenever the engine says the
reader can read the writer, random data written with the writer must be read by
fastavro with the reader schema and give the expected values; whenever fastavro
fails, the engine must have said incompatible.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import fastavro
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from contracts import schema as s
from contracts.compat import Checker
from tests.avro_data import avro_values

J = dict[str, Any]
PRIMS = ["int", "long", "float", "double", "string", "bytes", "boolean"]
_counter = iter(range(10**9))


def _enum(draw: st.DrawFn) -> J:
    symbols = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, max_size=4, unique=True))
    e: J = {"type": "enum", "name": f"E{next(_counter)}", "symbols": symbols}
    if draw(st.booleans()):
        e["default"] = symbols[0]
    return e


@st.composite
def field_types(draw: st.DrawFn, depth: int = 0) -> Any:
    kind = draw(st.sampled_from(["prim", "prim", "prim", "enum", "array", "map", "nullable", "record"] if depth < 2 else ["prim", "enum"]))
    if kind == "prim":
        return draw(st.sampled_from(PRIMS))
    if kind == "enum":
        return _enum(draw)
    if kind == "array":
        return {"type": "array", "items": draw(field_types(depth + 1))}
    if kind == "map":
        return {"type": "map", "values": draw(field_types(depth + 1))}
    if kind == "nullable":
        return ["null", draw(st.sampled_from(PRIMS))]
    return {"type": "record", "name": f"R{next(_counter)}", "fields": draw(field_lists(depth + 1))}


@st.composite
def field_lists(draw: st.DrawFn, depth: int = 0) -> list[J]:
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True))
    return [{"name": n, "type": draw(field_types(depth))} for n in names]


_PROMOTE = {"int": ["long", "float", "double", "string"], "long": ["int", "float", "double"], "float": ["double", "int", "long"],
            "double": ["float", "long"], "string": ["bytes", "int"], "bytes": ["string"], "boolean": ["int", "string"]}  # fmt: skip


def _default_for(t: Any) -> Any:
    if isinstance(t, list):
        return None if t[0] == "null" else _default_for(t[0])
    if isinstance(t, dict):
        return {"array": [], "map": {}}.get(t["type"], t["symbols"][0] if t["type"] == "enum" else None)
    return {"int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": "", "bytes": "", "boolean": False}[t]


@st.composite
def mutate(draw: st.DrawFn, record: J) -> J:
    """A mutated deep copy of ``record`` (one to three mutations)."""
    out = copy.deepcopy(record)
    for _ in range(draw(st.integers(1, 3))):
        fields: list[J] = out["fields"]
        op = draw(st.sampled_from(["add", "add_default", "remove", "retype", "enum", "union", "rename_alias", "rename", "record_alias"]))
        if op in ("add", "add_default"):
            name = draw(st.sampled_from(["x", "y", "z"]))
            if any(f["name"] == name for f in fields):
                continue
            t = draw(field_types(1))
            f = {"name": name, "type": t}
            if (op == "add_default" and _default_for(t) is not None) or isinstance(t, list):
                f["default"] = _default_for(t)
            if isinstance(t, dict) and t["type"] == "record":
                continue  # a record default needs values for all its fields; skip
            fields.append(f)
        elif op == "remove" and len(fields) > 1:
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif op == "retype":
            f = draw(st.sampled_from(fields))
            if isinstance(f["type"], str):
                f["type"] = draw(st.sampled_from(_PROMOTE[f["type"]]))
                f.pop("default", None)
        elif op == "enum":
            enums = [f for f in fields if isinstance(f["type"], dict) and f["type"]["type"] == "enum"]
            if enums:
                e = enums[0]["type"]
                choice = draw(st.sampled_from(["add", "remove", "toggle_default"]))
                if choice == "add":
                    extra = [x for x in ["A", "B", "C", "D", "Q"] if x not in e["symbols"]]
                    e["symbols"].append(extra[0])
                elif choice == "remove" and len(e["symbols"]) > 1:
                    removed = e["symbols"].pop()
                    if e.get("default") == removed:
                        e["default"] = e["symbols"][0]
                elif "default" in e:
                    del e["default"]
                else:
                    e["default"] = e["symbols"][0]
                enums[0].pop("default", None)
        elif op == "union":
            f = draw(st.sampled_from(fields))
            t = f["type"]
            if isinstance(t, list) and len(t) > 1:
                f["type"] = t[1]  # drop null
                f.pop("default", None)
            elif isinstance(t, str):
                f["type"] = ["null", t] if draw(st.booleans()) else [t, draw(st.sampled_from([p for p in PRIMS if p != t]))]
                f.pop("default", None)
        elif op in ("rename_alias", "rename"):
            f = draw(st.sampled_from(fields))
            new = f["name"] + "2"
            if any(g["name"] == new for g in fields):
                continue
            if op == "rename_alias":
                f["aliases"] = [f["name"]]
            f["name"] = new
        elif op == "record_alias":
            old = out["name"]
            out["name"] = old + "V2"
            if draw(st.booleans()):
                out["aliases"] = [old]
    return out


def _read(writer: J, reader: J, value: Any) -> Any:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(writer), value)
    buf.seek(0)
    return fastavro.schemaless_reader(buf, fastavro.parse_schema(writer), fastavro.parse_schema(reader))


def _expected_same(wf: J, rf: J) -> bool:
    """Fields whose value must come through unchanged: same primitive type on both sides."""
    return isinstance(wf["type"], str) and wf["type"] == rf["type"]


@given(data=st.data())
def test_engine_agrees_with_fastavro(data: st.DataObject) -> None:
    base: J = {"type": "record", "name": f"Root{next(_counter)}", "namespace": "d", "fields": data.draw(field_lists())}
    mutated = data.draw(mutate(base))
    writer, reader = (base, mutated) if data.draw(st.booleans()) else (mutated, base)
    try:
        w, r = s.parse_schema(writer), s.parse_schema(reader)
    except s.SchemaError:
        assume(False)
        return
    compatible = Checker().compatible(r, w)
    event(f"engine: {'compatible' if compatible else 'incompatible'}")
    note(f"writer={writer}\nreader={reader}\ncompatible={compatible}")
    values = [_utf8(data.draw(avro_values(w))) for _ in range(3)]
    for value in values:
        try:
            out = _read(writer, reader, value)
        except Exception as exc:
            assert not compatible, f"engine said compatible, fastavro failed: {exc!r}"
            event("fastavro: failed to read")
            continue
        if not compatible:
            continue  # data may happen to decode (e.g. an unused enum symbol); that proves nothing
        by_name = {f["name"]: f for f in writer["fields"]}
        for rf in reader["fields"]:
            wf = by_name.get(rf["name"]) or next((by_name[a] for a in rf.get("aliases", []) if a in by_name), None)
            if wf is None:
                assert _norm(out[rf["name"]]) == _norm(rf["default"]), f"field {rf['name']} should take its default"
            elif _expected_same(wf, rf):
                assert out[rf["name"]] == value[wf["name"]] or value[wf["name"]] != value[wf["name"]]


def _utf8(v: Any) -> Any:
    """Bytes as valid UTF-8: Avro (and Java) promote bytes to string, fastavro only when they decode."""
    if isinstance(v, bytes):
        return v.decode("latin-1").encode("utf-8")
    if isinstance(v, list):
        return [_utf8(x) for x in v]
    if isinstance(v, dict):
        return {k: _utf8(x) for k, x in v.items()}
    return v


def _norm(v: Any) -> Any:
    # fastavro hands a bytes default back as the JSON string; compare both as bytes.
    return v.encode("latin-1") if isinstance(v, str) else v
