"""What has been published, as kept in ``compatibility/``.

::

    compatibility/
      subjects/<subject>/v1.avsc, v2.avsc, ...   each version, self-contained, readable in a PR diff
      deployments.toml                           which service runs which version of which subject
      overrides.toml                             deliberate breaking changes, reviewed like code
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import schema as s
from contracts.catalog import read_json
from contracts.errors import BadInputError, Location, SchemaError

_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")
DEPLOYMENTS = "deployments.toml"
OVERRIDES = "overrides.toml"


class Version:
    """One published version of a subject; its file is read and parsed on first use."""

    __slots__ = ("_raw", "_schema", "file", "number", "subject")

    def __init__(self, subject: str, number: int, schema: s.Schema | None, raw: Any, file: str) -> None:
        self.subject = subject
        self.number = number
        self.file = file
        self._schema = schema
        self._raw = raw

    @property
    def raw(self) -> Any:
        if self._raw is None:
            self._raw = read_json(Path(self.file), self.file)
        return self._raw

    @property
    def raw_if_loaded(self) -> Any:
        """The JSON if it is already in memory (from a registry, or read once), else ``None``."""
        return self._raw

    @property
    def schema(self) -> s.Schema:
        if self._schema is None:
            self._schema = s.SchemaParser().parse(self.raw, file=self.file)
        return self._schema


@dataclass
class Deployment:
    """A deployed service and the version of each subject it was built with."""

    service: str
    produces: dict[str, int] = field(default_factory=dict)
    consumes: dict[str, int] = field(default_factory=dict)


@dataclass
class Override:
    """An accepted breaking change: lets findings of ``rule`` for ``subject`` at ``version`` through."""

    subject: str
    version: int
    rule: str
    reason: str
    path: str | None = None
    against: int | None = None

    def matches(self, subject: str, new_version: int | str | None, rule: str, path: str | None, old: int | str | None) -> bool:
        return (
            self.subject == subject
            and self.version == new_version
            and self.rule == rule
            and (self.path is None or self.path == path)
            and (self.against is None or self.against == old)
        )


@dataclass
class History:
    root: Path
    subjects: dict[str, list[Version]] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)

    def versions(self, subject: str) -> list[Version]:
        return self.subjects.get(subject, [])

    def version(self, subject: str, number: int) -> Version | None:
        return next((v for v in self.versions(subject) if v.number == number), None)

    def deployed(self, subject: str, role: str) -> dict[int, list[str]]:
        """Version -> the services deployed with it in ``role`` ("produces" or "consumes")."""
        out: dict[int, list[str]] = {}
        for d in self.deployments:
            number = getattr(d, role).get(subject)
            if number is not None:
                out.setdefault(number, []).append(d.service)
        return out


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_history(root: Path | str) -> History:
    """Load ``compatibility/``; a missing folder is an empty history."""
    root = Path(root)
    history = History(root)
    subjects_dir = root / "subjects"
    if subjects_dir.is_dir():
        shown = _display(subjects_dir)
        for sub in sorted(p for p in subjects_dir.iterdir() if p.is_dir()):
            versions: list[Version] = []
            for name in os.listdir(sub):
                m = _VERSION_FILE.match(name)
                if not m:
                    continue
                versions.append(Version(sub.name, int(m.group(1)), None, None, f"{shown}/{sub.name}/{name}"))
            # Numbers may have gaps: a registry's deleted versions leave them.
            versions.sort(key=lambda v: v.number)
            if versions:
                history.subjects[sub.name] = versions
    history.deployments = _load_deployments(root / DEPLOYMENTS)
    history.overrides = _load_overrides(root / OVERRIDES)
    return history


def _toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(str(exc), Location(file=_display(path)), "INVALID_HISTORY") from exc


def _load_deployments(path: Path) -> list[Deployment]:
    data = _toml(path)
    out: list[Deployment] = []
    services = data.get("services", {})
    if not isinstance(services, dict):
        raise SchemaError("[services] must be a table", Location(file=_display(path), path="services"), "INVALID_HISTORY")
    for name, spec in sorted(services.items()):
        d = Deployment(name)
        for role in ("produces", "consumes"):
            value = spec.get(role, {}) if isinstance(spec, dict) else None
            if not isinstance(value, dict) or not all(isinstance(v, int) and v > 0 for v in value.values()):
                raise SchemaError(
                    f"'{role}' must map subjects to the version the service was built with",
                    Location(file=_display(path), path=f"services.{name}.{role}"),
                    "INVALID_HISTORY",
                )
            setattr(d, role, dict(value))
        out.append(d)
    return out


def _load_overrides(path: Path) -> list[Override]:
    data = _toml(path)
    out: list[Override] = []
    for i, o in enumerate(data.get("override", [])):
        where = Location(file=_display(path), path=f"override[{i}]")
        if not isinstance(o, dict):
            raise SchemaError("an override must be a table", where, "INVALID_HISTORY")
        missing = [k for k in ("subject", "version", "rule", "reason") if k not in o]
        if missing:
            raise SchemaError(f"override lacks {', '.join(missing)}", where, "INVALID_HISTORY")
        if not str(o["reason"]).strip():
            raise SchemaError("an override needs a reason reviewers can read", where, "INVALID_HISTORY")
        out.append(Override(str(o["subject"]), int(o["version"]), str(o["rule"]), str(o["reason"]), o.get("path"), o.get("against")))
    return out


def folder_problem(subject: str) -> str | None:
    """Why ``subject`` cannot name a folder under ``subjects/`` (``None`` when it can)."""
    if subject in ("", ".", ".."):
        return "it is not a folder name"
    if "/" in subject or "\\" in subject:
        return "it holds a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in subject):
        return "it holds control characters"
    if subject.startswith("."):
        return "it starts with a dot"
    return None


def subject_dir(root: Path, subject: str) -> Path:
    """``root/subjects/<subject>``, refusing (exit 2) a subject name that would lead anywhere else."""
    problem = folder_problem(subject)
    base = (root / "subjects").resolve()
    path = root / "subjects" / subject
    if problem is None and path.resolve().parent != base:
        problem = "it leads outside the folder"
    if problem:
        raise BadInputError(f"subject {subject!r} cannot be written under {root / 'subjects'}: {problem}")
    return path


def version_path(root: Path, subject: str, number: int) -> Path:
    return subject_dir(root, subject) / f"v{number}.avsc"


def write_version(root: Path, subject: str, number: int, schema_json: Any) -> Path:
    """Write one version file (pretty JSON, stable key order)."""
    path = version_path(root, subject, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema_json, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
