"""Remembered gate verdicts: an unchanged run answers from memory, and a remembered answer is never another than a fresh check's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.catalog import load_catalog
from contracts.cli import main
from contracts.compat import load_history, run_gate
from contracts.compat.verdicts import Verdicts
from contracts.filedigests import FileDigests, absolute
from contracts.findings import FORMATS

HOUR_NS = 3600 * 1_000_000_000


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["compat", "check", *args])


def _record(name: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    fields = [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}, *extra]
    return {"type": "record", "name": name, "namespace": "shop", "fields": fields}


OPTIONAL = {"name": "note", "type": ["null", "string"], "default": None}
REQUIRED = {"name": "code", "type": "int"}


def _project(root: Path, subjects: int = 3, level: str = "FULL_TRANSITIVE") -> Path:
    """A small project: ``subjects`` topics, two published versions each, files dated an hour back (as a checkout's are)."""
    (root / "schemas/shop").mkdir(parents=True)
    catalog = [f'[defaults]\ncompatibility = "{level}"\n']
    for i in range(subjects):
        (root / f"schemas/shop/Event{i}.avsc").write_text(json.dumps(_record(f"Event{i}", [OPTIONAL])))
        catalog.append(f'[topics.t{i}]\nvalue = "shop.Event{i}"\nproducers = ["p"]\n')
        folder = root / f"compatibility/subjects/t{i}-value"
        folder.mkdir(parents=True)
        (folder / "v1.avsc").write_text(json.dumps(_record(f"Event{i}", [])))
        (folder / "v2.avsc").write_text(json.dumps(_record(f"Event{i}", [OPTIONAL])))
    (root / "schemas/catalog.toml").write_text("\n".join(catalog))
    (root / "pyproject.toml").write_text("[tool.contracts]\n")
    past = time.time_ns() - HOUR_NS
    for path in root.rglob("*"):
        os.utime(path, ns=(past, past))
    return root


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return _project(tmp_path)


def _same_as_fresh(*args: str) -> Result:
    remembered, fresh = _run(*args), _run(*args, "--no-cache")
    assert (remembered.exit_code, remembered.output) == (fresh.exit_code, fresh.output)
    return remembered


def test_an_unchanged_run_is_answered_from_memory_in_every_format(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (small / "schemas/shop/Event1.avsc").write_text(json.dumps(_record("Event1", [REQUIRED])))  # one finding, exit 1
    first = {fmt: _run("--format", fmt) for fmt in FORMATS}
    assert first["text"].exit_code == 1 and "Event1" in first["text"].output

    def no_gate(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an unchanged run ran the gate")

    monkeypatch.setattr("contracts.compat.gate.run_gate", no_gate)  # where the command finds it when it runs
    for fmt in FORMATS:
        again = _run("--format", fmt)
        assert (again.exit_code, again.output) == (first[fmt].exit_code, first[fmt].output), fmt


def test_no_cache_neither_reads_nor_writes(small: Path) -> None:
    assert _run("--no-cache").exit_code == 0
    assert not (small / ".contracts-cache").exists()
    assert _run().exit_code == 0 and (small / ".contracts-cache/gate").is_dir()


def _edit_schema(root: Path, i: int, extra: list[dict[str, Any]]) -> None:
    (root / f"schemas/shop/Event{i}.avsc").write_text(json.dumps(_record(f"Event{i}", extra)))


def _set_level(root: Path, level: str) -> None:
    path = root / "schemas/catalog.toml"
    text = path.read_text().split("\n", 2)
    path.write_text("\n".join([text[0], f'compatibility = "{level}"', text[2]]))


EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("schema"), st.integers(0, 2), st.sampled_from([[], [OPTIONAL], [REQUIRED], [OPTIONAL, REQUIRED]])),
        st.tuples(st.just("level"), st.sampled_from(["BACKWARD", "FORWARD", "FULL", "FULL_TRANSITIVE", "NONE"])),
        st.tuples(st.just("version"), st.integers(0, 2), st.sampled_from([[], [REQUIRED]])),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_a_remembered_answer_is_always_a_fresh_checks_answer(tmp_path_factory: pytest.TempPathFactory, edits: list[Any]) -> None:
    """Schemas, levels and published versions change between runs: every cached run says what --no-cache says."""
    root = _project(tmp_path_factory.mktemp("gate"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        _same_as_fresh("--format", "json")
        for edit in edits:
            if edit[0] == "schema":
                _edit_schema(root, edit[1], edit[2])
            elif edit[0] == "level":
                _set_level(root, edit[1])
            else:
                (root / f"compatibility/subjects/t{edit[1]}-value/v1.avsc").write_text(json.dumps(_record(f"Event{edit[1]}", edit[2])))
            _same_as_fresh("--format", "json")
    finally:
        os.chdir(cwd)


def test_a_changed_schema_or_level_is_checked_again_and_only_that_subject(small: Path) -> None:
    def gate() -> tuple[int, int]:
        verdicts = Verdicts(small / ".contracts-cache/gate")
        result = run_gate(load_catalog(small / "schemas"), load_history(small / "compatibility"), jobs=1, verdicts=verdicts)
        verdicts.save()
        return verdicts.hits, len(result.blocking)

    _edit_schema(small, 0, [OPTIONAL, {**OPTIONAL, "name": "more"}])  # every subject now differs from its latest version
    for i in (1, 2):
        _edit_schema(small, i, [OPTIONAL, {**OPTIONAL, "name": "more"}])
    assert gate() == (0, 0)
    assert gate() == (3, 0)  # nothing changed: every subject remembered
    _edit_schema(small, 1, [REQUIRED])
    assert gate() == (2, 1)  # the changed one checked again, and found breaking
    _set_level(small, "NONE")
    assert gate() == (0, 0)  # a level is part of every key


def test_a_damaged_cache_is_ignored(small: Path) -> None:
    assert _run().exit_code == 0
    _edit_schema(small, 2, [REQUIRED])
    for name in ("files.digests", "subjects.json", "runs.json"):
        (small / ".contracts-cache/gate" / name).write_bytes(b"\x00not what it was")
    result = _same_as_fresh()
    assert result.exit_code == 1 and "Event2" in result.output


def test_file_digests_trust_a_settled_stat_and_reread_a_racy_one(tmp_path: Path) -> None:
    settled, racy = tmp_path / "settled.avsc", tmp_path / "racy.avsc"
    settled.write_text("one")
    racy.write_text("two")
    past = time.time_ns() - HOUR_NS
    os.utime(settled, ns=(past, past))
    store = tmp_path / "digests"
    first = FileDigests(store)
    before = {p: first.digest(str(p)) for p in (settled, racy)}
    first.save()
    # The racy file changes within its recorded timestamp: same size, same mtime, same inode.
    stamp = racy.stat().st_mtime_ns
    racy.write_text("TWO")
    os.utime(racy, ns=(stamp, stamp))
    second = FileDigests(store)
    assert second.digest(str(settled)) == before[settled] and second.read == 0  # trusted by its stat
    assert second.digest(str(racy)) != before[racy] and second.read == 1  # changed in the tick it was looked at: read again


def _settled_tree(root: Path, files: int) -> None:
    past = time.time_ns() - HOUR_NS
    for i in range(files):
        path = root / f"d{i % 3}" / f"f{i}.avsc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}")
        os.utime(path, ns=(past, past))


def _fresh_key(root: Path) -> str:
    return FileDigests(None).tree_key([root])


def test_a_settled_folder_s_key_comes_from_its_own_record_and_a_change_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, store = tmp_path / "schemas", tmp_path / "cache/files.digests"
    _settled_tree(root, 12)
    first = FileDigests(store)
    key = first.tree_key([root])
    first.save()
    assert key == _fresh_key(root)

    def no_digest(self: FileDigests, path: str, sig: Any) -> str:
        raise AssertionError(f"{path}: looked up, though every stat is the one the tree's record holds")

    with monkeypatch.context() as patched:
        patched.setattr(FileDigests, "digest_of", no_digest)
        assert FileDigests(store).tree_key([root]) == key  # the tree's own record answers
    changed = root / "d1" / "f4.avsc"
    changed.write_text("file 4, edited")  # a new size, and a time long past: only the listing tells
    long_ago = time.time_ns() - 2 * HOUR_NS
    os.utime(changed, ns=(long_ago, long_ago))
    assert FileDigests(store).tree_key([root]) == _fresh_key(root) != key
    (tmp_path / "cache/files.digests.trees").write_bytes(b"\x00damaged")
    assert FileDigests(store).tree_key([root]) == _fresh_key(root)  # a damaged record is ignored


def test_a_tree_holding_a_racy_file_is_keyed_file_by_file_again(tmp_path: Path) -> None:
    root, store = tmp_path / "schemas", tmp_path / "cache/files.digests"
    _settled_tree(root, 6)
    racy = root / "d0" / "f0.avsc"
    racy.write_text("ABCDEF")  # written now: within the tick the record's run began in
    first = FileDigests(store)
    key = first.tree_key([root])
    first.save()
    stamp = racy.stat().st_mtime_ns
    racy.write_text("abcdef")  # same size, and its time put back: only its content tells
    os.utime(racy, ns=(stamp, stamp))
    second = FileDigests(store)
    assert second.tree_key([root]) == _fresh_key(root) != key
    assert second.read >= 1


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not on the PATH")
def test_in_a_git_work_tree_the_index_says_what_changed(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args], cwd=small, check=True, capture_output=True)

    (small / ".gitignore").write_text(".contracts-cache/\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "catalog")
    assert _same_as_fresh().exit_code == 0
    _edit_schema(small, 0, [REQUIRED])  # uncommitted
    assert _same_as_fresh().exit_code == 1
    git("commit", "-qam", "break it")
    assert _same_as_fresh().exit_code == 1
    (small / "schemas/shop/Extra.avsc").write_text("{not json")  # untracked, and bad input
    assert _same_as_fresh().exit_code == 2
    (small / "schemas/shop/Extra.avsc").unlink()
    git("revert", "--no-edit", "HEAD")
    assert _same_as_fresh().exit_code == 0


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from(["a", "b", ".", "..", "", "c.d", ".e"]), min_size=1, max_size=6),
    st.booleans(),
    st.sampled_from(["/", "/w/x", "/w/x/", "/w/../y"]),
)
def test_a_path_is_spelt_as_normpath_spells_it(parts: list[str], rooted: bool, cwd: str) -> None:
    """Digests are kept under one spelling of each path; spelling folders once must not change it."""
    path = ("/" if rooted else "") + "/".join(parts)
    expected = path if os.path.isabs(path) else os.path.normpath(os.path.join(cwd, path))
    assert absolute(path, cwd) == expected
