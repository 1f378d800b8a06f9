"""Compatibility gate: 1,000 subjects x 10 published versions under FULL_TRANSITIVE.

Ours: the whole gate as `contracts compat check` runs it (load schemas/ and the
compatibility/ history from disk, check every changed candidate against every
version in both directions: 20,000 reader/writer pairs), on files written to a
temporary folder. Baseline, same run, same files: Apache Avro's Python
ReaderWriterCompatibilityChecker, parsing each file and checking the same pairs.
Target: under 5 s for ours on a 2-core machine, and faster than the baseline.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

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


def _write(root: Path, level: str = "FULL_TRANSITIVE") -> None:
    catalog = [f'[defaults]\ncompatibility = "{level}"\n']
    for i in range(SUBJECTS):
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


if __name__ == "__main__":
    main()
