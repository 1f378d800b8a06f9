"""Codegen: 500 mid-size schemas with nested types, from scratch and as a no-change rerun.

Targets (2-core machine): under 15 s from scratch, under 1 s for the rerun. The
baseline is datamodel-code-generator run the way its docs suggest (one
subprocess per file), measured on a sample in the same run and extrapolated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.codegen import generate

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


def _write_corpus(root: Path) -> None:
    for i in range(N_SCHEMAS):
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "schemas"
        _write_corpus(root)
        out, cache = Path(tmp) / "events", Path(tmp) / "cache"
        started = time.perf_counter()
        result = generate(root, out, cache_dir=cache, package="bench_events")
        scratch = time.perf_counter() - started
        started = time.perf_counter()
        again = generate(root, out, cache_dir=cache, package="bench_events")
        rerun = time.perf_counter() - started
        assert again.cached and len(result.files) > N_NAMESPACES
        base_dir = Path(tmp) / "baseline"
        base_dir.mkdir()
        per_file = _baseline_per_file(root, base_dir)
        baseline = per_file * N_SCHEMAS
        shutil.rmtree(out)
    print(f"codegen from scratch, {N_SCHEMAS} schemas: {scratch:.2f} s (target < 15 s)")
    print(f"codegen no-change rerun: {rerun * 1000:.0f} ms (goal < 100 ms)")
    print(
        f"baseline datamodel-codegen, one process per file: {per_file:.2f} s/file -> {baseline:.0f} s for {N_SCHEMAS}"
        f" (sampled {BASELINE_SAMPLE}); ratio ours/baseline = {scratch / baseline:.3f}"
    )


if __name__ == "__main__":
    main()
