"""Determinism, drift detection, atomic writes and the content-hash cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import contracts.codegen.generator as generator
import pytest
from click.testing import CliRunner
from contracts.codegen import check, generate

from contracts.cli import main
from contracts.errors import SchemaError
from tests.conftest import ROOT, SCHEMAS


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    generate(SCHEMAS, tmp_path / "one", force=True)
    generate(SCHEMAS, tmp_path / "two", force=True)
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one == two and len(one) > 5
    text = b"".join(one.values())
    assert str(ROOT).encode() not in text
    assert b"timestamp:" not in text and b"2026-" not in text


def test_committed_package_is_in_sync() -> None:
    assert check(SCHEMAS, ROOT / "src" / "contracts" / "events") == []


def test_drift_is_detected_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    out = tmp_path / "events"
    generate(schemas, out, force=True)
    money = schemas / "com/acme/common/Money.avsc"
    data = json.loads(money.read_text())
    data["fields"].append({"name": "note", "type": ["null", "string"], "default": None, "doc": "n"})
    money.write_text(json.dumps(data))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["codegen", "--check", "--schemas", "schemas", "--output", "events"])
    assert result.exit_code == 1
    assert "events/com/acme/common/__init__.py" in result.output
    assert "events/com/acme/orders/__init__.py" in result.output  # embeds Money's schema
    assert "notifications" not in result.output  # does not use Money


def test_failed_run_leaves_previous_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    out = tmp_path / "events"
    generate(schemas, out, force=True)
    before = _tree(out)
    # A broken schema: nothing is written.
    (schemas / "com/acme/common/Broken.avsc").write_text('{"type": "record", "name": "Broken", "fields": [{"name": "x", "type": "Nope"}]}')
    with pytest.raises(SchemaError):
        generate(schemas, out, force=True)
    assert _tree(out) == before
    (schemas / "com/acme/common/Broken.avsc").unlink()
    # A failure while writing (disk full, killed): the old package stays whole.
    money = schemas / "com/acme/common/Money.avsc"
    money.write_text(money.read_text().replace("ISO 4217", "ISO-4217"))
    real_write = Path.write_text
    calls = {"n": 0}

    def failing_write(self: Path, *args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_write(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(OSError):
        generate(schemas, out, force=True)
    monkeypatch.undo()
    assert _tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".events")], "temporary folders are cleaned up"


def test_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "events"
    generate(SCHEMAS, out, force=True)
    before = _tree(out)
    out.rename(tmp_path / ".events.old")  # as if killed between the two renames
    generator._recover(out)
    assert _tree(out) == before


def test_rerun_hits_the_cache(tmp_path: Path) -> None:
    out, cache = tmp_path / "events", tmp_path / "cache"
    first = generate(SCHEMAS, out, cache_dir=cache)
    assert not first.cached
    assert generate(SCHEMAS, out, cache_dir=cache).cached
    (out / "com/acme/orders/__init__.py").write_text("# hand edit\n")
    assert not generate(SCHEMAS, out, cache_dir=cache).cached, "a hand-edited output is regenerated"
