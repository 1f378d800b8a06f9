"""Remembered verdicts: the gate does not check again what it already checked with the same inputs.

Two memories, under the project's cache folder (``.contracts-cache/gate``), both safe to delete:

- per subject, the level check's findings, keyed by everything that check reads: the code that
  decides, the level, the logical-type strictness, the candidate, the content of every version it
  is checked against, who is deployed on which version and how versions are named. One changed
  schema, level or version makes a new key, and only that subject is checked again;
- per run, the whole gate's answer, keyed by the content of every file under the schemas and
  history folders, ``pyproject.toml``, the options and a git ref's commit: a run whose inputs are
  all unchanged answers without parsing a schema.

A key never leaves an input out, so a remembered answer is the answer; a damaged or foreign
cache file is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import contracts
from contracts.filedigests import Entry, FileDigests, read_cache, write_cache
from contracts.findings import Finding

VERSION = 1
KEEP = 200_000  # remembered subject verdicts at most (the newest kept): several branches' worth of a large catalog
KEEP_RUNS = 8  # remembered whole runs (other option sets, other refs)
_ENGINE: str | None = None


def engine() -> str:
    """A fingerprint of the code that decides: this package's version and the state of its modules.

    Editing any module (or installing another release) makes every remembered verdict stale.
    """
    global _ENGINE
    if _ENGINE is None:
        h = hashlib.blake2b(contracts.__version__.encode(), digest_size=16)
        package = Path(contracts.__file__).parent
        for src in sorted(package.rglob("*.py")):
            st = src.stat()
            h.update(f"{src.relative_to(package)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        _ENGINE = h.hexdigest()
    return _ENGINE


def json_digest(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), digest_size=16).hexdigest()


class Verdicts:
    """The gate's memories in ``folder`` (``None``: remember nothing, as with ``--no-cache``)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.files = FileDigests(folder / "files.digests" if folder else None)
        self._subjects_loaded: dict[str, list[dict[str, Any]]] | None = None
        self._runs: dict[str, dict[str, Any]] = self._load("runs.json")
        self._used: dict[str, list[dict[str, Any]]] = {}
        self._runs_changed = False
        self.hits = 0

    def _load(self, name: str) -> dict[str, Any]:
        return read_cache(self.folder / name if self.folder else None, {"version": VERSION, "engine": engine()})

    @property
    def _subjects(self) -> dict[str, list[dict[str, Any]]]:
        if self._subjects_loaded is None:  # not needed when the whole run is remembered
            self._subjects_loaded = self._load("subjects.json")
        return self._subjects_loaded

    @property
    def remembers_subjects(self) -> bool:
        """Whether any subject's verdict is remembered (if not, looking one up is pointless)."""
        return bool(self._subjects)

    @property
    def remembers_runs(self) -> bool:
        return bool(self._runs)

    # -- per subject --------------------------------------------------------
    def subject_key(self, parts: Sequence[Any], versions: Iterable[tuple[int, str, Any, bool]], read: Mapping[str, Entry] | None = None) -> str:
        """``parts``: everything but the versions; ``versions``: ``(number, file, raw JSON or None, on disk)``.

        ``read``: the entries of the files the check itself read (their content is what was checked).
        """
        # repr, not a canonical dump: the parts are built the same way on every run, and repr costs a third.
        h = hashlib.blake2b(repr(list(parts)).encode(), digest_size=16)
        for number, file, raw, on_disk in versions:
            seen = read.get(file) if read else None
            content = str(seen[3]) if seen is not None else self.files.digest(file) if on_disk else json_digest(raw)
            h.update(f"\n{number}\0{content}".encode())
        return h.hexdigest()

    def subject(self, key: str) -> list[Finding] | None:
        found = self._subjects.get(key)
        if found is None:
            return None
        try:
            findings = [Finding.from_dict(f) for f in found]
        except (TypeError, ValueError):
            return None
        self._used[key] = found
        self.hits += 1
        return findings

    def remember_subject(self, key: str, findings: Sequence[Finding]) -> None:
        self._used[key] = [f.to_dict() for f in findings]

    # -- per run ------------------------------------------------------------
    def run_key(self, roots: Iterable[Path], options: dict[str, Any]) -> str:
        """The whole gate's key: every file under ``roots`` by content, and the options."""
        h = hashlib.blake2b(json.dumps(options, sort_keys=True, default=str).encode(), digest_size=16)
        h.update(self.files.tree_key(roots).encode())
        return h.hexdigest()

    def run(self, key: str) -> tuple[list[Finding], list[str]] | None:
        found = self._runs.get(key)
        if not isinstance(found, dict):
            return None
        try:
            return [Finding.from_dict(f) for f in found["findings"]], [str(c) for c in found["checked"]]
        except (KeyError, TypeError, ValueError):
            return None

    def remember_run(self, key: str, findings: Sequence[Finding], checked: Sequence[str]) -> None:
        self._runs_changed = True
        self._runs.pop(key, None)
        self._runs[key] = {"findings": [f.to_dict() for f in findings], "checked": list(checked)}
        while len(self._runs) > KEEP_RUNS:
            del self._runs[next(iter(self._runs))]

    def save(self) -> None:
        """Keep what this run used and learnt, then the older verdicts up to ``KEEP``."""
        if self.folder is None:
            return
        self.files.save()
        if not self._used and not self._runs_changed:
            return  # the whole run was remembered: nothing new to keep
        kept = {k: v for k, v in self._subjects.items() if k not in self._used}  # oldest first
        kept.update(self._used)  # then this run's, newest last: trimming drops the oldest
        if len(kept) > KEEP:
            kept = dict(list(kept.items())[-KEEP:])
        self._write("subjects.json", kept)
        self._write("runs.json", self._runs)

    def _write(self, name: str, entries: dict[str, Any]) -> None:
        assert self.folder is not None
        write_cache(self.folder / name, {"version": VERSION, "engine": engine()}, entries)


NO_CACHE_ENV = "CONTRACTS_NO_CACHE"


def cache_folder(root: Path) -> Path | None:
    """Where a project keeps the gate's memories; ``CONTRACTS_NO_CACHE=1`` keeps none."""
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    return root / ".contracts-cache" / "gate"
