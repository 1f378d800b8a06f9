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
    assert check(SCHEMAS, ROOT / "src" / "contracts" / "events", "contracts.events") == []


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


def test_generates_into_any_package_with_its_own_imports(tmp_path: Path) -> None:
    # Regression: imports across namespaces were hard-coded to contracts.events.
    import subprocess
    import sys

    out = tmp_path / "proj" / "mypkg" / "events"
    generate(SCHEMAS, out, package="mypkg.events", force=True)
    text = "".join(p.read_text() for p in out.rglob("*.py"))
    assert "contracts.events" not in text and "from mypkg.events.com.acme.common import" in text
    (tmp_path / "proj" / "mypkg" / "__init__.py").write_text("")
    code = "from mypkg.events.com.acme.orders import OrderCreated; print(OrderCreated.__avro_fullname__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "proj", capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "com.acme.orders.OrderCreated", done.stderr
    assert "make codegen" not in text and "contracts codegen" in text


def test_generator_refuses_a_folder_it_does_not_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: `codegen --output mypkg` deleted a hand-written mypkg/handwritten.py.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "handwritten.py").write_text("VALUE = 1\n")
    result = CliRunner().invoke(main, ["codegen", "--output", "mypkg", "--package", "mypkg"])
    assert result.exit_code == 2 and "handwritten.py" in result.output, result.output
    assert (tmp_path / "mypkg" / "handwritten.py").read_text() == "VALUE = 1\n"
    assert sorted(p.name for p in (tmp_path / "mypkg").iterdir()) == ["handwritten.py"], "nothing written"
    # its own folder it regenerates, keeping only what it writes
    result = CliRunner().invoke(main, ["codegen", "--output", "mypkg/events", "--package", "mypkg.events"])
    assert result.exit_code == 0, result.output
    (tmp_path / "mypkg" / "events" / "extra.py").write_text("x = 1\n")
    result = CliRunner().invoke(main, ["codegen", "--output", "mypkg/events", "--package", "mypkg.events", "--force"])
    assert result.exit_code == 2 and "extra.py" in result.output
    assert (tmp_path / "mypkg" / "events" / "extra.py").exists()


def test_generated_files_have_the_usual_permissions(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        generate(SCHEMAS, tmp_path / "events", force=True)
    finally:
        os.umask(umask)
    root = tmp_path / "events"
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    for p in root.rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o755 if p.is_dir() else 0o644), p


def test_package_follows_from_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    (tmp_path / "src" / "billing").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[tool.contracts]\npackage = "billing.events"\n')
    result = CliRunner().invoke(main, ["codegen"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "src/billing/events/com/acme/orders/__init__.py").exists()
    assert CliRunner().invoke(main, ["codegen", "--check"]).exit_code == 0
    assert CliRunner().invoke(main, ["codegen", "--package", "not a name"]).exit_code == 2
