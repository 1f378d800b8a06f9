"""A fast path for the common CEL rules: compiled to Python closures that read the message where it lies.

Handing a message to the CEL engine converts it value by value into CEL's types, which costs far
more than most conditions do (``message.total.amount >= 0.0`` reads one value). Expressions in a
common subset (field selection, literals, comparisons, ``&&``, ``||``, ``!``, ``? :``, ``+ - *``,
``in``, ``size``, ``has``, ``startsWith``/``endsWith``/``contains``, and the ``all``/``exists``
macros) are compiled here into closures that read only the values they name, converted as the
engine would see them (``fields.cel_view``). The CEL engine stays the reference: an expression
outside the subset is not compiled here, and any evaluation whose outcome the subset cannot
vouch for (an error, operands of mixed types, an integer overflow) is handed to the engine, so
the result is always the engine's. A differential test holds the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import schema as s
from contracts.datacontract import celops as ops
from contracts.datacontract.celops import Eval
from contracts.datacontract.fields import cel_view


class Unsupported(Exception):
    """The expression is outside the subset: the engine evaluates it."""


_TOKEN = re.compile(
    r"\s*(?:(?P<float>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)|(?P<int>\d+)(?![uU\w.])|(?P<str>'[^'\\\n]*'|\"[^\"\\\n]*\")"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>==|!=|<=|>=|&&|\|\||[<>!+\-*().,\[\]?:]))"
)


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while at < len(expr):
        if expr[at:].strip() == "":
            break
        m = _TOKEN.match(expr, at)
        if m is None or m.end() == at:
            raise Unsupported(f"not in the fast subset at {at}: {expr[at:at + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        at = m.end()
    out.append(("end", ""))
    return out


@dataclass
class _Node:
    run: Eval
    schema: s.Schema | None = None  # where the value comes from the message: its schema, to convert it when used


def _plain(schema: s.Schema | None) -> bool:
    return schema is None or (isinstance(schema, s.Primitive) and schema.logical is None)


def _used(node: _Node) -> Eval:
    """The node's value as CEL sees it (a decimal's bytes as its number...), converted only where needed."""
    if _plain(node.schema):
        return node.run
    schema, run = node.schema, node.run
    assert schema is not None
    return lambda env: cel_view(schema, run(env))


def _record_of(schema: s.Schema | None) -> s.Record | None:
    if isinstance(schema, s.Record):
        return schema
    if isinstance(schema, s.Union):
        records = [b for b in schema.branches if isinstance(b, s.Record)]
        others = [b for b in schema.branches if not (isinstance(b, s.Primitive) and b.type == "null")]
        return records[0] if len(records) == 1 and len(others) == 1 else None
    return None


class _Parser:
    def __init__(self, expr: str, variables: Mapping[str, s.Schema | None]) -> None:
        self.toks = _tokens(expr)
        self.i = 0
        self.scope: dict[str, s.Schema | None] = dict(variables)

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.toks[self.i]
        if value is not None and tok[1] != value:
            raise Unsupported(f"expected {value!r}")
        self.i += 1
        return tok

    def parse(self) -> _Node:
        node = self.ternary()
        if self.toks[self.i][0] != "end":
            raise Unsupported("trailing input")
        return node

    def ternary(self) -> _Node:
        cond = self.logic("||")
        if self.toks[self.i][1] != "?":
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        c, y, n = _used(cond), _used(yes), _used(no)
        return _Node(lambda env: y(env) if ops.truth(c(env)) else n(env))

    def logic(self, op: str) -> _Node:
        left = self.logic("&&") if op == "||" else self.relation()
        while self.toks[self.i][1] == op:
            self.take(op)
            right = self.logic("&&") if op == "||" else self.relation()
            a, b = _used(left), _used(right)
            left = _Node(_and(a, b) if op == "&&" else _or(a, b))
        return left

    def relation(self) -> _Node:
        left = self.additive()
        while self.toks[self.i][1] in ("==", "!=", "<", "<=", ">", ">=", "in"):
            _, op = self.take()
            right = self.additive()
            a, b = _used(left), _used(right)
            left = _Node(_binary(a, b, ops.member if op == "in" else ops.compare(op)))
        return left

    def additive(self) -> _Node:
        left = self.multiplicative()
        while self.toks[self.i][1] in ("+", "-"):
            _, op = self.take()
            right = self.multiplicative()
            left = _Node(_binary(_used(left), _used(right), ops.arith(op)))
        return left

    def multiplicative(self) -> _Node:
        left = self.unary()
        while self.toks[self.i][1] == "*":
            self.take()
            right = self.unary()
            left = _Node(_binary(_used(left), _used(right), ops.arith("*")))
        return left

    def unary(self) -> _Node:
        if self.toks[self.i][1] == "!":
            self.take()
            inner = _used(self.unary())
            return _Node(lambda env: not ops.truth(inner(env)))
        if self.toks[self.i][1] == "-":
            self.take()
            if self.toks[self.i][0] in ("int", "float"):
                return self.member(self.literal(negative=True))
            inner = _used(self.unary())
            return _Node(lambda env: ops.negate(inner(env)))
        return self.member(self.primary())

    def literal(self, negative: bool = False) -> _Node:
        kind, text = self.take()
        value: Any = int(text) if kind == "int" else float(text)
        value = -value if negative else value
        if isinstance(value, int) and not ops.INT64[0] <= value <= ops.INT64[1]:
            raise Unsupported("integer literal out of range")
        return _Node(lambda env: value)

    def primary(self) -> _Node:
        kind, text = self.toks[self.i]
        if kind in ("int", "float"):
            return self.literal()
        if kind == "str":
            self.take()
            value = text[1:-1]
            return _Node(lambda env: value)
        if text == "(":
            self.take()
            node = self.ternary()
            self.take(")")
            return node
        if text == "[":
            self.take()
            items: list[Eval] = []
            while self.toks[self.i][1] != "]":
                items.append(_used(self.ternary()))
                if self.toks[self.i][1] == ",":
                    self.take()
            self.take("]")
            return _Node(lambda env: [f(env) for f in items])
        if kind != "name":
            raise Unsupported(f"unexpected {text!r}")
        self.take()
        if text in ("true", "false"):
            flag = text == "true"
            return _Node(lambda env: flag)
        if text == "null":
            return _Node(lambda env: None)
        if self.toks[self.i][1] == "(":
            return self.function(text)
        if text not in self.scope:
            raise Unsupported(f"unknown name {text!r}")
        return _Node(_variable(text), self.scope[text])

    def function(self, name: str) -> _Node:
        self.take("(")
        if name == "has":
            target = self.member(self.primary(), presence=True)
            self.take(")")
            return target
        if name != "size":
            raise Unsupported(f"function {name} is not in the fast subset")
        arg = _used(self.ternary())
        self.take(")")
        return _Node(lambda env: ops.size(arg(env)))

    def member(self, node: _Node, presence: bool = False) -> _Node:
        while self.toks[self.i][1] in (".", "["):
            if self.take()[1] == "[":
                raise Unsupported("indexing is not in the fast subset")
            kind, name = self.take()
            if kind != "name":
                raise Unsupported("a field name was expected")
            if self.toks[self.i][1] == "(":
                node = self.method(node, name)
                continue
            last = presence and self.toks[self.i][1] not in (".", "[")
            record = _record_of(node.schema)
            field = record.field_named(name) if record is not None else None
            if record is not None and field is None:
                raise Unsupported(f"no field {name}")  # the engine reports it, as it would
            if last:
                return _Node(_field(node.run, name, ops.has))
            node = _Node(_field(node.run, name, ops.select), field.type if field is not None else None)
        if presence:
            raise Unsupported("has() needs a field selection")
        return node

    def method(self, target: _Node, name: str) -> _Node:
        self.take("(")
        if name in ("all", "exists"):
            kind, var = self.take()
            if kind != "name":
                raise Unsupported("a variable was expected")
            self.take(",")
            items_schema = target.schema.items if isinstance(target.schema, s.Array) else None
            saved = self.scope.get(var, _MISSING)
            self.scope[var] = items_schema
            predicate = _used(self.ternary())
            if saved is _MISSING:
                del self.scope[var]
            else:
                self.scope[var] = saved
            self.take(")")
            get, every = target.run, name == "all"
            return _Node(lambda env: ops.quantify(get(env), var, predicate, env, every))
        args: list[Eval] = []
        while self.toks[self.i][1] != ")":
            args.append(_used(self.ternary()))
            if self.toks[self.i][1] == ",":
                self.take()
        self.take(")")
        value = _used(target)
        if name == "size" and not args:
            return _Node(lambda env: ops.size(value(env)))
        if name in ("startsWith", "endsWith", "contains") and len(args) == 1:
            arg = args[0]
            return _Node(lambda env: ops.string_method(name, value(env), arg(env)))
        raise Unsupported(f"method {name} is not in the fast subset")


_MISSING: Any = object()


def _and(a: Eval, b: Eval) -> Eval:
    return lambda env: ops.truth(b(env)) if ops.truth(a(env)) else False


def _or(a: Eval, b: Eval) -> Eval:
    return lambda env: True if ops.truth(a(env)) else ops.truth(b(env))


def _binary(a: Eval, b: Eval, fn: Callable[[Any, Any], Any]) -> Eval:
    return lambda env: fn(a(env), b(env))


def _variable(name: str) -> Eval:
    return lambda env: env[name]


def _field(get: Eval, key: str, fn: Callable[[Any, str], Any]) -> Eval:
    return lambda env: fn(get(env), key)


def compile_fast(expr: str, variables: Mapping[str, s.Schema | None]) -> Eval:
    """The expression as a closure over raw message values; ``Unsupported`` when it is outside the subset.

    The closure raises ``Unsure`` when an evaluation must go to the engine.
    """
    return _used(_Parser(expr, variables).parse())
