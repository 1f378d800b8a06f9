"""Where a field is declared in an ``.avsc`` file: the line of its ``"name"``, for findings and annotations.

Python's JSON reader keeps no positions, so this reads the text once more with a small
scanner that remembers the line of every object key. Paths are the ones findings carry:
``lines[].price`` (fields joined by dots; ``[]``, ``{}`` and ``<union:...>`` step into
array items, map values and union branches) or ``com.acme.orders.OrderCreated.note`` (a
named type's full name, then its fields).
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r'\s*(?:(")|([{}\[\]:,])|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(true|false|null))')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_STEP = re.compile(r"\[\]|\{\}|<union:[^>]*>")
_KEYWORDS = frozenset({"record", "error", "enum", "fixed", "array", "map", "null", "boolean", "int", "long", "float", "double", "bytes", "string"})


class _Obj(dict[str, Any]):
    """A JSON object that knows the line of each of its keys."""

    key_lines: dict[str, int]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def _advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def value(self) -> Any:
        m = _TOKEN.match(self.text, self.pos)
        if m is None:
            raise ValueError(f"unexpected text at offset {self.pos}")
        self._advance(m.start(1) if m.group(1) else m.end())
        if m.group(1):
            return self.string()
        punct = m.group(2)
        if punct == "{":
            return self.obj()
        if punct == "[":
            return self.array()
        if m.group(3):
            return float(m.group(3)) if any(c in m.group(3) for c in ".eE") else int(m.group(3))
        if m.group(4):
            return {"true": True, "false": False, "null": None}[m.group(4)]
        raise ValueError(f"unexpected {punct!r} at line {self.line}")

    def string(self) -> str:
        m = _STRING.match(self.text, self.pos)
        if m is None:
            raise ValueError(f"unterminated string at line {self.line}")
        self._advance(m.end())
        raw = m.group(1)
        return raw if "\\" not in raw else str(json.loads(f'"{raw}"'))

    def _punct(self) -> str:
        m = _TOKEN.match(self.text, self.pos)
        if m is None or not m.group(2):
            raise ValueError(f"expected punctuation at line {self.line}")
        self._advance(m.end())
        return m.group(2)

    def obj(self) -> _Obj:
        out = _Obj()
        out.key_lines = {}
        if self._peek() == "}":
            self._punct()
            return out
        while True:
            m = _TOKEN.match(self.text, self.pos)
            if m is None or not m.group(1):
                raise ValueError(f"expected a key at line {self.line}")
            self._advance(m.start(1))
            line = self.line
            key = self.string()
            self._punct()  # ':'
            out[key] = self.value()
            out.key_lines[key] = line
            if self._punct() == "}":
                return out

    def array(self) -> list[Any]:
        out: list[Any] = []
        if self._peek() == "]":
            self._punct()
            return out
        while True:
            out.append(self.value())
            if self._punct() == "]":
                return out

    def _peek(self) -> str:
        m = _TOKEN.match(self.text, self.pos)
        return m.group(2) or "" if m else ""


def parse_with_lines(text: str) -> Any:
    """``text`` as JSON, objects remembering the line of each key (``ValueError`` when it is not JSON)."""
    return _Scanner(text).value()


def field_line(document: Any, path: str) -> int | None:
    """The line declaring the deepest field of ``path`` that ``document`` holds (or the named type's line)."""
    records = list(_named(document))
    names = [n for n in _STEP.sub(".", path).split(".") if n]
    current: Any = document
    line = document.key_lines.get("name") if isinstance(document, _Obj) else None  # a removed field: its record
    # A path may start with a type's full name (lint's form): start at that type.
    for i in range(len(names), 0, -1):
        found = _by_name(records, ".".join(names[:i]))
        if found is not None:
            current, names, line = found, names[i:], found.key_lines.get("name")
            break
    for name in names:
        field = _field(current, name, records)
        if field is None:
            break
        line = field.key_lines.get("name", line)
        current = field.get("type")
    return line


def _named(node: Any) -> Any:
    if isinstance(node, _Obj):
        if node.get("type") in ("record", "error", "enum", "fixed") and isinstance(node.get("name"), str):
            yield node
        for value in node.values():
            yield from _named(value)
    elif isinstance(node, list):
        for value in node:
            yield from _named(value)


def _by_name(records: list[_Obj], name: str) -> _Obj | None:
    # Nested definitions inherit their namespace, so a full name may match only by its last part.
    short = name.rpartition(".")[2]
    fallback = None
    for r in records:
        full = r["name"] if "." in r["name"] or not r.get("namespace") else f"{r['namespace']}.{r['name']}"
        if name == full:
            return r
        if fallback is None and full.rpartition(".")[2] == short:
            fallback = r
    return fallback


def _field(node: Any, name: str, records: list[_Obj]) -> _Obj | None:
    """The field ``name`` of the record ``node`` is or holds (through arrays, maps, unions and references)."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        t = stack.pop()
        if isinstance(t, str):
            t = _by_name(records, t)
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        if isinstance(t, list):
            stack.extend(reversed(t))
        elif isinstance(t, _Obj):
            for f in t.get("fields", []) if isinstance(t.get("fields"), list) else []:
                if isinstance(f, _Obj) and f.get("name") == name:
                    return f
            stack.extend(t[k] for k in ("items", "values") if k in t)
            inner = t.get("type")
            if inner is not None and inner not in _KEYWORDS:
                stack.append(inner)  # a nested type, or a reference to a named one
    return None
