"""The fast path for CEL rules gives the engine's answers: a differential test over generated expressions and messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.codec import codec_for
from contracts.datacontract.celfast import Unsupported, compile_fast
from contracts.datacontract.celops import Unsure
from contracts.datacontract.engines import CelProgram
from contracts.datacontract.fields import cel_view
from contracts.events.com.acme.common import Money
from contracts.testing.examples import order

ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="'\"\\"), max_size=6)
ints = st.integers(-(2**63), 2**63 - 1) | st.integers(-5, 5)
floats = st.floats(allow_nan=False, width=64) | st.sampled_from([0.0, -0.0, 1.5, -2.0])
messages = st.fixed_dictionaries({
    "i": ints, "f": floats, "s": ascii_text, "b": st.booleans(), "n": st.none(),
    "l": st.lists(st.integers(-3, 3), max_size=4), "rec": st.fixed_dictionaries({"x": st.integers(-3, 3), "y": ascii_text}),
    "recs": st.lists(st.fixed_dictionaries({"q": st.integers(-3, 3)}), max_size=4),
})  # fmt: skip

PATHS = ["message.i", "message.f", "message.s", "message.b", "message.n", "message.l", "message.rec.x", "message.rec.y", "message.missing", "message.rec"]
literal = st.one_of(
    st.integers(-3, 3).map(str), st.sampled_from(["0.0", "1.5", "-2.0", "9223372036854775807", "true", "false", "null", "'a'", "''", "'ab'", "[1, 2]", "[]"])
)
atom = st.one_of(literal, st.sampled_from(PATHS), st.sampled_from(PATHS).map(lambda p: f"size({p})"), st.just("has(message.rec.x)"))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "-", "*", "in"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"!{c}"),
        children.map(lambda c: f"-{c}"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(children, st.sampled_from(["startsWith", "endsWith", "contains"]), children).map(lambda t: f"{t[0]}.{t[1]}({t[2]})"),
        st.tuples(st.sampled_from(["all", "exists"]), st.integers(-3, 3)).map(lambda t: f"message.recs.{t[0]}(r, r.q > {t[1]})"),
    )


expressions = st.recursive(atom, _combine, max_leaves=6)


def _engine(expr: str, env: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", cel.compile(expr).execute(env)
    except Exception as exc:
        return "error", type(exc).__name__


@settings(max_examples=1500, deadline=None)
@given(expr=expressions, message=messages)
def test_the_fast_path_agrees_with_the_engine_whenever_it_answers(expr: str, message: dict[str, Any]) -> None:
    try:
        cel.compile(expr)
        fast = compile_fast(expr, {"message": None})
    except (Unsupported, ValueError):
        return  # outside the subset, or not CEL at all: a rule's expression is compiled by the engine first
    env = {"message": message}
    try:
        mine = fast(env)
    except (Unsure, KeyError, TypeError):
        return  # handed to the engine
    kind, theirs = _engine(expr, env)
    assert kind == "value", (expr, message, mine, theirs)
    assert type(mine) is type(theirs) and (mine == theirs or (mine != mine and theirs != theirs)), (expr, message, mine, theirs)


small = st.one_of(st.integers(-2, 2).map(str), st.sampled_from(["0.0", "1.0", "-1.5", "'a'", "'b'", "true", "false", "null"]))
operand = st.one_of(small, st.sampled_from(["message.i", "message.f", "message.s", "message.b", "message.rec.x"]))
comparisons = st.tuples(operand, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "&&", "||"]), operand).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
small_messages = st.fixed_dictionaries({
    "i": st.integers(-2, 2), "f": st.sampled_from([0.0, 1.0, -1.5, 2.0]), "s": st.sampled_from(["", "a", "b", "ab"]), "b": st.booleans(),
    "rec": st.fixed_dictionaries({"x": st.integers(-2, 2)}),
})  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(expr=comparisons, message=small_messages)
def test_each_operator_on_near_values_agrees_with_the_engine(expr: str, message: dict[str, Any]) -> None:
    # Small domains, so that equal and adjacent operands come up often: an off-by-one operator cannot hide.
    fast = compile_fast(expr, {"message": None})
    try:
        mine = fast({"message": message})
    except Unsure:
        return
    kind, theirs = _engine(expr, {"message": message})
    assert kind == "value" and type(mine) is type(theirs) and mine == theirs, (expr, message, mine, theirs)


@settings(max_examples=400, deadline=None)
@given(expr=expressions, message=messages)
def test_a_rule_gets_the_engines_answer_fast_or_not(expr: str, message: dict[str, Any]) -> None:
    try:
        program = CelProgram(expr)
    except Exception:
        return  # does not compile: the gate and the runner refuse it
    kind, theirs = _engine(expr, {"message": message})
    try:
        mine: tuple[str, Any] = ("value", program.run({"message": message}))
    except Exception as exc:
        mine = ("error", type(exc).__name__)
    assert mine[0] == kind and (kind == "error" or mine[1] == theirs or (mine[1] != mine[1] and theirs != theirs)), (expr, message, mine, theirs)


@pytest.mark.parametrize(
    "expr",
    ["message.total.amount >= 0.0", "message.lines.all(l, l.quantity > 0)", "size(message.customer.email) > 3 && message.customer.email.contains('@')",
     "message.note == null || message.note != ''", "message.channel == 'WEB'"],
)
def test_common_rules_run_fast_on_raw_messages_and_agree_with_the_engine(expr: str) -> None:
    for i, amount in enumerate([Decimal("-1.00"), Decimal("0.00"), Decimal("12.34")]):
        event = order(i).model_copy(update={"total": Money(amount=amount, currency="EUR")})
        codec = codec_for(type(event))
        raw = codec.compiled_encoder()(event)
        program = CelProgram(expr, ("message",), {"message": codec.record})
        assert program.fast, expr
        assert program.run({"message": raw}) == cel.compile(expr).execute({"message": cel_view(codec.record, raw)})


def test_size_counts_code_points_as_the_spec_and_confluents_clients_do() -> None:
    assert CelProgram("size(message.s) == 5").run({"message": {"s": "héllo"}}) is True
