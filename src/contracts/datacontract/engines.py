"""The rule languages: CEL and JSONata expressions compiled once, run many times.

CEL runs on ``common-expression-language`` (the Rust implementation of the CEL spec, imported as
``cel``), JSONata on ``jsonata-python``, the library Confluent's own client uses. Both come with
the ``rules`` extra; a rule that needs a missing one fails with the command that installs it.

Handing a whole message to CEL converts every value of it; most conditions read a field or two,
so a program says which top-level fields its expression names (``message.total`` -> ``total``),
and only those are bound, unless the expression uses the message as a whole (``size(message)``),
which gets all of it. What the expression can observe is the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.errors import BadInputError

EXTRA = "rules"
_STRING = re.compile(r"""(?s)[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""")
_FIELD = re.compile(r"\b([A-Za-z_]\w*)\b(\s*\.\s*([A-Za-z_]\w*)(\s*\()?)?")


class MissingEngine(BadInputError):
    """A rule needs a language whose library is not installed (exit 2, with the install command)."""


class ExpressionError(ValueError):
    """An expression does not compile; the message says where."""


def _require(module: str, language: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise MissingEngine(
            f"a {language} rule needs the {EXTRA!r} extra: pip install 'event-contracts[{EXTRA}]'"
        ) from None


def names_read(expr: str, variable: str) -> frozenset[str] | None:
    """The fields of ``variable`` that ``expr`` selects (``message.total`` -> ``total``); ``None`` when it uses all of it."""
    code = _STRING.sub("''", expr)
    found: set[str] = set()
    for m in _FIELD.finditer(code):
        if m.group(1) != variable:
            continue
        start = m.start()
        if start > 0 and code[start - 1] == ".":  # ``x.message``: another variable's field
            continue
        if m.group(3) is None or m.group(4):  # the variable itself, or a method on it (``message.all(...)``)
            return None
        found.add(m.group(3))
    return frozenset(found)


class CelProgram:
    """One CEL expression, compiled; ``run(variables)`` evaluates it."""

    def __init__(self, expr: str, variables: tuple[str, ...] = ("message",)) -> None:
        cel = _require("cel", "CEL")
        try:
            self._program = cel.compile(expr)
        except ValueError as exc:
            raise ExpressionError(str(exc).replace("\n", " ")) from None
        self.expr = expr
        self.reads = {v: names_read(expr, v) for v in variables}

    def run(self, variables: Mapping[str, Any]) -> Any:
        """The expression's value; ``variables`` already as CEL should see them (``fields.cel_view``)."""
        return self._program.execute(dict(variables))


class JsonataProgram:
    """One JSONata expression, compiled; ``run(document)`` transforms a message."""

    def __init__(self, expr: str) -> None:
        jsonata = _require("jsonata", "JSONATA")
        try:
            self._program = jsonata.Jsonata(expr)
        except Exception as exc:  # jsonata-python raises its own JException for syntax errors
            raise ExpressionError(str(exc)) from None
        self.expr = expr

    def run(self, document: Any) -> Any:
        return self._program.evaluate(document)


def compile_rule(rule_type: str, expr: str) -> CelProgram | JsonataProgram:
    """The compiled program for a rule's expression (``ExpressionError`` if it does not compile)."""
    if rule_type == "JSONATA":
        return JsonataProgram(expr)
    return CelProgram(expr, ("value", "message") if rule_type == "CEL_FIELD" else ("message",))
