"""The gate against a git ref (``compat check --against-git main``): a source of history like any other.

The ref's published versions and its schemas become the history each subject in
``schemas/`` is checked against, by the same gate (levels, deployments, overrides,
formats and exit rule); a subject the ref does not have is new (accepted).
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from contracts.catalog import Catalog, load_catalog
from contracts.compat.history import History, Version, load_history
from contracts.errors import BadInputError, SchemaError
from contracts.schema import to_json


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise BadInputError("--against-git needs git on the PATH") from exc


def fetch_hint(ref: str, root: Path) -> str:
    """The ``git fetch`` that brings ``ref`` into a shallow clone (``origin/main`` is branch main of remote origin)."""
    remotes = _git(["remote"], root).stdout.decode().split()
    remote, _, branch = ref.partition("/")
    if branch and remote in remotes:
        return f"git fetch --no-tags --depth=1 {remote} {branch}:refs/remotes/{remote}/{branch}"
    origin = "origin" if "origin" in remotes or not remotes else remotes[0]
    if re.fullmatch(r"[0-9a-f]{7,40}", ref):
        return f"git fetch --no-tags --depth=1 {origin} {ref}"
    return f"git fetch --no-tags --depth=1 {origin} {ref}:{ref}"


def commit_of(ref: str, folder: Path) -> str | None:
    """The commit ``ref`` names in the repository holding ``folder``, or ``None`` (no git, no repository, no such ref)."""
    try:
        found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=folder, capture_output=True, check=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return found.stdout.decode().strip() or None if found.returncode == 0 else None


def _materialize(ref: str, folder: Path, into: Path, wanted: Callable[[str], bool]) -> None:
    """Write the files under ``folder`` that ``wanted`` picks, as they were at ``ref``, into ``into``."""
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top.returncode != 0:
        raise BadInputError(f"--against-git {ref}: {folder} is not inside a git repository")
    root = Path(top.stdout.decode().strip())
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise BadInputError(f"--against-git {ref}: no such commit here; in a shallow CI clone fetch it first: {fetch_hint(ref, root)}")
    rel = folder.resolve().relative_to(root.resolve()).as_posix()
    # One archive of the folder streamed through, not a `git show` per file: thousands of files take a second, not minutes.
    with subprocess.Popen(["git", "archive", "--format=tar", ref, "--", rel], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile() or not wanted(member.name):
                    continue
                data = tar.extractfile(member)
                if data is None:
                    continue
                target = into / Path(member.name).relative_to(rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data.read())


def history_at(catalog: Catalog, ref: str, recorded: History) -> History:
    """The history the gate checks against for ``--against-git REF``: what was published and current at ``ref``.

    Each subject's versions are those ``compatibility/`` held at ``ref``, then, when the ref's
    ``schemas/`` define the subject otherwise than its last such version (or it has none),
    the ref's schema as one more version, labelled with the ref. Deployments and overrides
    are the working tree's (what runs now, what this change accepts), so the one gate path
    applies the same deployment check, overrides and exit rule as without ``--against-git``.
    """
    history = History(recorded.root, deployments=recorded.deployments, overrides=recorded.overrides)
    history.candidate_label = "working tree"
    with tempfile.TemporaryDirectory() as tmp:
        old_schemas, old_compat = Path(tmp) / "schemas", Path(tmp) / "compatibility"
        _materialize(ref, catalog.root, old_schemas, lambda name: name.endswith(".avsc") or Path(name).name == "catalog.toml")
        if recorded.root.is_dir():
            _materialize(ref, recorded.root, old_compat, lambda name: "/subjects/" in f"/{name}" and name.endswith((".avsc", ".contract.json")))
        try:
            old = {sub.name: sub for sub in load_catalog(old_schemas).subjects()} if any(old_schemas.rglob("*.avsc")) else {}
            published = load_history(old_compat) if (old_compat / "subjects").is_dir() else History(old_compat)
            for sub in catalog.subjects():
                versions = [
                    Version(v.subject, v.number, v.schema, v.raw, f"{ref}:{_shown(recorded.root, v.number, sub.name)}", v.contract)  # read while its file exists
                    for v in published.versions(sub.name)
                ]
                before = old.get(sub.name)
                if before is not None and (not versions or versions[-1].raw != to_json(before.schema) or versions[-1].contract != before.contract):
                    number = versions[-1].number + 1 if versions else 1
                    versions.append(Version(sub.name, number, before.schema, to_json(before.schema), f"{ref}:{before.file}", before.contract))
                    history.labels.setdefault(sub.name, {})[number] = ref
                if versions:
                    history.subjects[sub.name] = versions
        except SchemaError as exc:
            raise SchemaError(f"at {ref}: {exc.message}", exc.location, exc.rule) from exc
    return history


def _shown(root: Path, number: int, subject: str) -> str:
    return (root / "subjects" / subject / f"v{number}.avsc").as_posix()
