"""The gate against a git ref (``compat check --against-git main``), for teams that keep no ``compatibility/`` history.

Each subject in ``schemas/`` is checked at its catalog level against the same subject
as the schemas at the ref define it; a subject the ref does not have is new (accepted).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from contracts.catalog import Catalog, load_catalog
from contracts.compat.checker import Checker
from contracts.compat.engine import VersionedSchema, check_level
from contracts.errors import BadInputError, SchemaError
from contracts.findings import Finding, group_findings
from contracts.schema import to_json


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise BadInputError("--against-git needs git on the PATH") from exc


def _materialize(ref: str, schemas: Path, into: Path) -> None:
    """Write the ``.avsc`` files and ``catalog.toml`` that ``schemas`` held at ``ref`` into ``into``."""
    top = _git(["rev-parse", "--show-toplevel"], schemas)
    if top.returncode != 0:
        raise BadInputError(f"--against-git {ref}: {schemas} is not inside a git repository")
    root = Path(top.stdout.decode().strip())
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise BadInputError(
            f"--against-git {ref}: no such commit here; in a shallow CI clone fetch it first: "
            f"git fetch --no-tags --depth=1 origin {ref}"
        )
    rel = schemas.resolve().relative_to(root.resolve()).as_posix()
    listed = _git(["ls-tree", "-r", "-z", "--name-only", ref, "--", rel], root)
    for name in listed.stdout.decode().split("\0"):
        if not name or not (name.endswith(".avsc") or name.endswith("/catalog.toml") or name == "catalog.toml"):
            continue
        shown = _git(["show", f"{ref}:{name}"], root)
        target = into / Path(name).relative_to(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)


def check_against_git(catalog: Catalog, ref: str, *, strict_logical_types: bool = False) -> list[Finding]:
    """Findings for every subject of ``catalog`` against the same subject at ``ref``."""
    with tempfile.TemporaryDirectory() as tmp:
        old_root = Path(tmp) / "schemas"
        old_root.mkdir()
        _materialize(ref, catalog.root, old_root)
        if not any(old_root.rglob("*.avsc")):
            return []  # nothing at the ref: every subject is new
        try:
            old = {sub.name: sub for sub in load_catalog(old_root).subjects()}
        except SchemaError as exc:
            raise SchemaError(f"at {ref}: {exc.message}", exc.location, exc.rule) from exc
    checker = Checker(strict_logical_types=strict_logical_types)
    labels = {1: ref, 2: "this change"}
    findings: list[Finding] = []
    for sub in catalog.subjects():
        before = old.get(sub.name)
        if before is None or to_json(before.schema) == to_json(sub.schema):
            continue
        found = check_level(
            checker, sub.schema, [VersionedSchema(1, before.schema)], sub.compatibility,
            subject=sub.name, new_version=2, file=sub.file, label=labels.__getitem__,
        )  # fmt: skip
        findings += [replace(f, old_version=ref, new_version="this change") for f in found]
    return group_findings(findings)
