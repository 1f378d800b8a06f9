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
from collections.abc import Callable, Mapping
from typing import Any

from contracts import schema as s
from contracts.datacontract.celfast import Unsupported, compile_fast
from contracts.datacontract.fields import cel_view
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
    """One CEL expression, compiled; ``run(variables)`` evaluates it.

    ``schemas`` names the Avro schema of each variable given as raw message values (the serializers'
    form); those are shown to the engine as CEL should see them (``fields.cel_view``). Variables
    without a schema are passed as they are. Expressions in the fast subset (``celfast``) run as
    Python closures; the engine evaluates the rest, and every evaluation the subset cannot vouch for.
    """

    def __init__(self, expr: str, variables: tuple[str, ...] = ("message",), schemas: Mapping[str, s.Schema | None] | None = None) -> None:
        cel = _require("cel", "CEL")
        try:
            self._program = cel.compile(expr)
        except ValueError as exc:
            raise ExpressionError(str(exc).replace("\n", " ")) from None
        self.expr = expr
        self.reads = {v: names_read(expr, v) for v in variables}
        self.schemas = {k: v for k, v in (schemas or {}).items() if v is not None}
        try:
            self._fast: Callable[[Mapping[str, Any]], Any] | None = compile_fast(expr, {v: self.schemas.get(v) for v in variables})
        except Unsupported:
            self._fast = None

    @property
    def fast(self) -> bool:
        """Whether the expression runs on the fast path (the engine still decides what that path cannot)."""
        return self._fast is not None

    def run(self, variables: Mapping[str, Any]) -> Any:
        if self._fast is not None:
            try:
                return self._fast(variables)
            except Exception:
                pass
        return self.engine(variables)

    def engine(self, variables: Mapping[str, Any]) -> Any:
        """The value the CEL engine gives (the reference the fast path is held to)."""
        bound = {k: (cel_view(self.schemas[k], v, self.reads.get(k)) if k in self.schemas else v) for k, v in variables.items()}
        return self._program.execute(bound)


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


def compile_rule(rule_type: str, expr: str, message: s.Schema | None = None) -> CelProgram | JsonataProgram:
    """The compiled program for a rule's expression (``ExpressionError`` if it does not compile).

    ``message``: the schema of the raw message a CEL condition is given, to show it as CEL sees it.
    """
    if rule_type == "JSONATA":
        return JsonataProgram(expr)
    if rule_type == "CEL_FIELD":
        return CelProgram(expr, ("value", "message", "name", "fullName", "typeName", "tags"))
    return CelProgram(expr, ("message",), {"message": message})
