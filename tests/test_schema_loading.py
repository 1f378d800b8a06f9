"""Bad input: every error names the file and the position or field path, exits 2, prints no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.errors import SchemaError


def _write(root: Path, files: dict[str, object]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return root


MONEY = {"type": "record", "name": "Money", "namespace": "x.common", "doc": "m", "fields": [{"name": "cents", "type": "long", "doc": "c"}]}


def _order(ref: str) -> dict[str, object]:
    return {"type": "record", "name": "Order", "namespace": "x.orders", "doc": "o", "fields": [{"name": "total", "type": ref, "doc": "t"}]}


def test_references_across_files_in_any_order(tmp_path: Path) -> None:
    # "a/..." sorts before "z/..." but depends on it.
    _write(tmp_path, {"a/Order.avsc": _order("x.common.Money"), "z/Money.avsc": MONEY})
    catalog = load_catalog(tmp_path)
    assert set(catalog.types) == {"x.orders.Order", "x.common.Money"}


def test_recursive_record_in_one_file_is_fine(tmp_path: Path) -> None:
    node = {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"], "default": None}]}
    _write(tmp_path, {"Node.avsc": node})
    assert "Node" in load_catalog(tmp_path).types


CASES = {
    "invalid_json": ({"x/Bad.avsc": '{"type": "record",\n  "name": "Bad",\n  "fields": [,]}'}, ["Bad.avsc:3:14", "INVALID_JSON"]),
    "unknown_type": (
        {"x/Order.avsc": _order("x.common.Mony"), "x/Money.avsc": MONEY},
        ["Order.avsc", "x.orders.Order.total" if False else "total", "UNKNOWN_TYPE", "did you mean x.common.Money"],
    ),
    "duplicate_name": ({"a/Money.avsc": MONEY, "b/Money.avsc": MONEY}, ["a/Money.avsc", "b/Money.avsc", "DUPLICATE_NAME"]),
    "file_cycle": (
        {
            "A.avsc": {"type": "record", "name": "A", "fields": [{"name": "b", "type": "B"}]},
            "B.avsc": {"type": "record", "name": "B", "fields": [{"name": "a", "type": ["null", "A"]}]},
        },
        ["A.avsc -> ", "B.avsc", "FILE_REFERENCE_CYCLE"],
    ),
    "bad_field_type": (
        {"x/Bad.avsc": {"type": "record", "name": "Bad", "fields": [{"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "L", "fields": [{"name": "q", "type": 5}]}}}]}},
        ["Bad.avsc", "lines[].q", "INVALID_SCHEMA"],
    ),
    "bad_fixed_size": (
        {"x/Bad.avsc": {"type": "record", "name": "Bad", "fields": [{"name": "d", "type": {"type": "fixed", "name": "F", "size": -1}}]}},
        ["Bad.avsc", "at d", "non-negative integer 'size'", "INVALID_SCHEMA"],
    ),
    "bad_catalog": (
        {"x/Money.avsc": MONEY, "catalog.toml": '[topics.money]\nvalue = "x.common.Monee"\n'},
        ["catalog.toml", "topics.money.value", "did you mean x.common.Money"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files, expected = CASES[case]
    _write(tmp_path / "schemas", files)
    with pytest.raises(SchemaError) as exc:
        load_catalog(tmp_path / "schemas")
    for part in expected:
        assert part in str(exc.value), f"{part!r} not in {exc.value}"
    # Through the CLI: exit 2, message on stderr, no traceback.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lint", "--schemas", "schemas"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected[-1] in result.output


def test_cli_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    _write(tmp_path / "schemas", {"x/Bad.avsc": "{nope"})
    proc = subprocess.run(
        [sys.executable, "-m", "contracts", "lint", "--schemas", "schemas"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Bad.avsc:1:2" in proc.stderr
