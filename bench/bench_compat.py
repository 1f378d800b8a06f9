"""Compatibility gate: 1,000 subjects x 10 published versions under FULL_TRANSITIVE, then the scale points.

Ours: the whole gate as `contracts compat check` runs it (load schemas/ and the
compatibility/ history from disk, check every changed candidate against every
version in both directions: 20,000 reader/writer pairs), on files written to a
temporary folder. Baseline, same run, same files: Apache Avro's Python
ReaderWriterCompatibilityChecker, parsing each file and checking the same pairs.
Target: under 5 s for ours on a 2-core machine, and faster than the baseline.

Scale (issue: faster than the floor, at ten times the size): `contracts compat check` as a
user runs it, at 1,000 and 10,000 subjects x 10 versions, every subject changed: from a cold
start (no remembered verdicts; the run writes them) under 10 s at 10,000, with `--no-cache`
too; a second run with nothing changed under 1 s, in a plain folder and in a git work tree;
one schema changed. Each line gives the process's memory peak, and how the cost grows from
1x to 10x (it must be linear or better).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.measure import measured, tool
from contracts.catalog import load_catalog
from contracts.compat import load_history, run_gate

SUBJECTS = 1000
VERSIONS = 10


def _version(subject: int, v: int) -> dict[str, object]:
    fields: list[dict[str, object]] = [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": {"type": "record", "name": f"Money{subject}", "fields": [
            {"name": "units", "type": "long"}, {"name": "currency", "type": "string"}]}},
        {"name": "state", "type": {"type": "enum", "name": f"State{subject}", "symbols": ["A", "B", "C"], "default": "A"}},
        {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": f"Line{subject}", "fields": [
            {"name": "sku", "type": "string"}, {"name": "qty", "type": "int"},
            {"name": "tags", "type": {"type": "map", "values": "string"}}]}}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ]  # fmt: skip
    # Each version adds one optional field: compatible in both directions.
    fields += [{"name": f"extra_{i}", "type": ["null", "long"], "default": None} for i in range(v)]
    return {"type": "record", "name": f"Event{subject}", "namespace": "bench", "fields": fields}


def _write(root: Path, level: str = "FULL_TRANSITIVE", subjects: int = SUBJECTS) -> None:
    catalog = [f'[defaults]\ncompatibility = "{level}"\n']
    for i in range(subjects):
        (root / "schemas/bench").mkdir(parents=True, exist_ok=True)
        (root / f"schemas/bench/Event{i}.avsc").write_text(json.dumps(_version(i, VERSIONS)))
        catalog.append(f'[topics.t{i}]\nvalue = "bench.Event{i}"\nproducers = ["p"]\n')
        for v in range(VERSIONS):
            path = root / f"compatibility/subjects/t{i}-value/v{v + 1}.avsc"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_version(i, v)))
    (root / "schemas/catalog.toml").write_text("\n".join(catalog))


def _ours(root: Path, jobs: int | None) -> tuple[float, int]:
    started = time.perf_counter()
    result = run_gate(load_catalog(root / "schemas"), load_history(root / "compatibility"), jobs=jobs)
    return time.perf_counter() - started, len(result.findings)


def _baseline(root: Path) -> tuple[float, int]:
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    started = time.perf_counter()
    incompatible = 0
    for i in range(SUBJECTS):
        candidate = avro.schema.parse((root / f"schemas/bench/Event{i}.avsc").read_text())
        for v in range(VERSIONS):
            old = avro.schema.parse((root / f"compatibility/subjects/t{i}-value/v{v + 1}.avsc").read_text())
            for reader, writer in ((candidate, old), (old, candidate)):
                result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
                incompatible += result.compatibility is SchemaCompatibilityType.incompatible
    return time.perf_counter() - started, incompatible


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root)
        pairs = SUBJECTS * VERSIONS * 2
        ours, findings = _ours(root, None)
        single, _ = _ours(root, 1)
        base, incompatible = _baseline(root)
    assert findings == 0 and incompatible == 0, "every version is compatible: both must agree"
    print(f"ours, whole gate from files: {pairs} pairs ({SUBJECTS} subjects x {VERSIONS} versions, FULL_TRANSITIVE)"
          f" in {ours:.2f} s (target < 5 s); one process: {single:.2f} s")  # fmt: skip
    print(f"baseline avro ReaderWriterCompatibilityChecker, same files and pairs: {base:.2f} s")
    print(f"ratio ours/baseline = {ours / base:.3f} ({base / ours:.1f}x faster); one process: {single / base:.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, "BACKWARD_TRANSITIVE")
        backward, _ = _ours(root, None)
    print(f"ours at BACKWARD_TRANSITIVE ({pairs // 2} pairs, whole gate from files): {backward:.2f} s")
    _scale()


def _cli(root: Path, *args: str) -> tuple[float, float]:
    """``contracts compat check`` in ``root`` as a fresh process: seconds, and the peak RSS in MB of its largest process."""
    seconds, peak, code = measured([tool("contracts"), "compat", "check", *args], root)
    assert code == 0, f"the gate found something in {root}"
    return seconds, peak


def _scale() -> None:
    figures: dict[int, dict[str, float]] = {}
    for subjects in (1_000, 10_000):
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
            root = Path(tmp)
            _write(root, subjects=subjects)
            (root / "pyproject.toml").write_text("[tool.contracts]\n")
            nocache, nocache_peak = _cli(root, "--no-cache")
            cold, cold_peak = _cli(root)
            again, again_peak = _cli(root)
            victim = root / "schemas/bench/Event7.avsc"
            victim.write_text(json.dumps(_version(7, VERSIONS + 1)))  # one more optional field: still compatible
            one, one_peak = _cli(root)
            figures[subjects] = {"cold": cold, "again": again, "one": one, "nocache": nocache}
            n = f"{subjects:,}"
            goal = " (goal < 10 s)" if subjects == 10_000 else ""
            print(f"gate {n} subjects x {VERSIONS} versions FULL_TRANSITIVE in {cold:.1f} s{goal}, peak {cold_peak:.0f} MB (cold: no verdicts remembered, writing them)")
            print(f"gate {n} subjects x {VERSIONS} versions FULL_TRANSITIVE with --no-cache in {nocache:.1f} s{goal}, peak {nocache_peak:.0f} MB")
            print(f"gate unchanged rerun, {n} subjects: {again * 1000:.0f} ms (goal < 1 s), peak {again_peak:.0f} MB (a plain folder: every file's stat)")
            print(f"gate one schema changed, {n} subjects: {one * 1000:.0f} ms, peak {one_peak:.0f} MB")
            if subjects == 10_000 and shutil.which("git"):
                _git_rerun(root, n)
    for name, label in (("cold", "cold"), ("nocache", "--no-cache"), ("again", "unchanged rerun"), ("one", "one changed")):
        growth = figures[10_000][name] / figures[1_000][name]
        print(f"gate growth 1,000 -> 10,000 subjects, {label}: x{growth:.1f} (10x the size; linear or better: <= x10)")


def _git_rerun(root: Path, n: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    (root / ".gitignore").write_text(".contracts-cache/\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "catalog"]):  # no background gc: the folder goes away next
        subprocess.run(["git", "-c", "gc.auto=0", "-c", "maintenance.auto=false", *args], cwd=root, check=True, env=env, capture_output=True)
    _cli(root)  # the first run in the work tree keys on git's view of it
    again, peak = _cli(root)
    print(f"gate unchanged rerun, {n} subjects: {again * 1000:.0f} ms (goal < 1 s), peak {peak:.0f} MB (a git work tree: git's index says nothing changed)")


if __name__ == "__main__":
    main()
