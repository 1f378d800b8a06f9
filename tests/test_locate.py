"""Line numbers on findings: every field path a finding can carry points at the field's line in its .avsc."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from contracts import schema as s
from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.schema.locate import field_line, parse_with_lines
from tests.conftest import CORPUS, SCHEMAS

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(value=_JSON, indent=st.sampled_from([None, 0, 2]))
def test_the_scanner_reads_what_json_reads(value: object, indent: int | None) -> None:
    assert parse_with_lines(json.dumps(value, indent=indent)) == value


def _paths(record: s.Record, prefix: str, seen: set[str]) -> Iterator[tuple[str, str]]:
    """(path, field name) for every field reachable from ``record``, in the checker's path form."""
    if record.fullname in seen:
        return
    seen = seen | {record.fullname}
    for f in record.fields:
        path = f"{prefix}.{f.name}" if prefix else f.name
        yield path, f.name
        stack: list[tuple[s.Schema, str]] = [(f.type, path)]
        while stack:
            t, p = stack.pop()
            if isinstance(t, s.Record):
                yield from _paths(t, p, seen)
            elif isinstance(t, s.Array):
                stack.append((t.items, p + "[]"))
            elif isinstance(t, s.Map):
                stack.append((t.values, p + "{}"))
            elif isinstance(t, s.Union):
                stack.extend((b, f"{p}<union:{s.type_label(b)}>") for b in t.branches)


def _cases() -> list[tuple[Path, str, str]]:
    out = []
    for root in (SCHEMAS, CORPUS / "tricky"):
        catalog = load_catalog(root)
        for f in catalog.files:
            if isinstance(f.root, s.Record):
                for path, name in _paths(f.root, "", set()):
                    out.append((root.parent / f.path, path, name))
    return out


CASES = _cases()


def test_the_corpus_has_deep_paths() -> None:
    assert len(CASES) > 100 and any("[]" in p for _, p, _ in CASES) and any("<union:" in p for _, p, _ in CASES)


@pytest.mark.parametrize(("file", "path", "name"), CASES, ids=[f"{f.name}:{p}" for f, p, _ in CASES])
def test_every_field_path_points_at_its_declaration(file: Path, path: str, name: str) -> None:
    text = file.read_text()
    line = field_line(parse_with_lines(text), path)
    assert line is not None
    # The line declares a field of the path: the field itself, or (for a type another file defines)
    # the field that uses that type; where the file declares the name once, exactly there.
    segments = [seg for seg in re.sub(r"\[\]|\{\}|<union:[^>]*>", ".", path).split(".") if seg]
    declared = text.splitlines()[line - 1]
    assert '"name"' in declared and any(f'"{seg}"' in declared for seg in segments), (line, declared)
    declarations = [i for i, row in enumerate(text.splitlines(), 1) if re.search(rf'"name":\s*"{re.escape(name)}"', row)]
    if len(declarations) == 1 and len(segments) == path.count(".") + 1:
        assert line == declarations[0]


def test_gate_and_lint_findings_carry_lines(project: Path) -> None:
    avsc = project / "schemas/com/acme/orders/OrderCreated.avsc"
    text = avsc.read_text()
    note = '{"name": "note", "type": ["null", "string"], "default": null, "doc": "Free-text note from the customer."}'
    assert note in text
    avsc.write_text(text.replace(note, '{"name": "note", "type": "string", "doc": "Free-text note from the customer."}'))
    expected = next(i for i, line in enumerate(avsc.read_text().splitlines(), 1) if '"name": "note"' in line)
    out = CliRunner().invoke(main, ["compat", "check", "--format", "github"]).output
    assert f"file=schemas/com/acme/orders/OrderCreated.avsc,line={expected}," in out
    avsc.write_text(avsc.read_text().replace('"doc": "Free-text note from the customer."', '"doc": ""'))
    lint = CliRunner().invoke(main, ["lint", "--format", "json"]).output
    found = [f for f in json.loads(lint)["findings"] if f["rule"] == "MISSING_DOC"]
    assert found and found[0]["line"] == expected
