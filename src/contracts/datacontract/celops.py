"""What CEL's operators mean, for the fast path: exactly what the engine answers, or ``Unsure``.

Each operation either gives the value the CEL engine gives for the same operands or raises
``Unsure``, which hands the whole evaluation to the engine (mixed types it may refuse, an integer
overflow, a value of a kind the subset does not model).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

Env = Mapping[str, Any]
Eval = Callable[[Env], Any]
INT64 = (-(2**63), 2**63 - 1)


class Unsure(Exception):
    """This evaluation needs the engine's judgement (an error, mixed types, an overflow)."""


def kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "num"
    if isinstance(v, str):
        return "str"
    if isinstance(v, bytes):
        return "bytes"
    if v is None:
        return "null"
    if isinstance(v, datetime):
        return "time"
    return "other"


def truth(v: Any) -> bool:
    if not isinstance(v, bool):
        raise Unsure
    return v


def equal(a: Any, b: Any) -> bool:
    """CEL's heterogeneous equality: values of different kinds are unequal, numbers compare as numbers."""
    ka, kb = kind(a), kind(b)
    if ka == "other" or kb == "other":
        raise Unsure  # lists, maps and the like: the engine compares them
    return ka == kb and bool(a == b)


def compare(op: str) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        if op in ("==", "!="):
            return equal(a, b) if op == "==" else not equal(a, b)
        ka, kb = kind(a), kind(b)
        if ka != kb or ka not in ("num", "str", "bytes", "time"):
            raise Unsure
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)

    return cmp


def arith(op: str) -> Callable[[Any, Any], Any]:
    def calc(a: Any, b: Any) -> Any:
        ka, kb = type(a), type(b)
        if ka is not kb or ka not in (int, float, str, list) or (op != "+" and ka in (str, list)):
            raise Unsure
        out = a + b if op == "+" else a - b if op == "-" else a * b
        if ka is int and not INT64[0] <= out <= INT64[1]:
            raise Unsure
        return out

    return calc


def negate(v: Any) -> Any:
    if type(v) is int:
        if v == INT64[0]:
            raise Unsure
        return -v
    if type(v) is float:
        return -v
    raise Unsure


def select(container: Any, key: str) -> Any:
    if isinstance(container, tuple) and len(container) == 2 and isinstance(container[0], str):
        container = container[1]  # a union branch fastavro names: (record name, value)
    if not isinstance(container, dict) or key not in container:
        raise Unsure
    return container[key]


def has(container: Any, key: str) -> bool:
    if isinstance(container, tuple) and len(container) == 2 and isinstance(container[0], str):
        container = container[1]
    if not isinstance(container, dict):
        raise Unsure
    return key in container


def size(v: Any) -> int:
    # A string's size is its code points, as the CEL spec and Confluent's clients count them.
    if isinstance(v, str | bytes | list | dict):
        return len(v)
    raise Unsure


def member(item: Any, container: Any) -> bool:
    if isinstance(container, dict):
        if not isinstance(item, str):
            raise Unsure
        return item in container
    if isinstance(container, list):
        return any(equal(item, x) for x in container)
    raise Unsure


def string_method(name: str, value: Any, arg: Any) -> bool:
    if not isinstance(value, str) or not isinstance(arg, str):
        raise Unsure
    if name == "startsWith":
        return value.startswith(arg)
    if name == "endsWith":
        return value.endswith(arg)
    return arg in value


def quantify(items: Any, var: str, predicate: Eval, env: Env, every: bool) -> bool:
    if not isinstance(items, list):
        raise Unsure
    scope = dict(env)
    for item in items:
        scope[var] = item
        if truth(predicate(scope)) is not every:
            return not every
    return every
