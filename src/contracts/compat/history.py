"""What has been published, as kept in ``compatibility/``.

::

    compatibility/
      subjects/<subject>/v1.avsc, v2.avsc, ...   each version, self-contained, readable in a PR diff
      subjects/<subject>/v2.contract.json        its data contract (metadata, rule set), where it has one
      deployments.toml                           which service runs which version of which subject
      overrides.toml                             deliberate breaking changes, reviewed like code
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import schema as s
from contracts.datacontract.model import ContractError, DataContract
from contracts.errors import BadInputError, Location, SchemaError
from contracts.filedigests import Entry
from contracts.specs import DeploymentsSpec, OverridesSpec, validate
from contracts.suggest import did_you_mean
from contracts.textfiles import read_json, read_json_with_entry, read_toml

_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")
DEPLOYMENTS = "deployments.toml"
OVERRIDES = "overrides.toml"


class Version:
    """One published version of a subject; its files are read and parsed on first use."""

    __slots__ = ("_contract", "_raw", "_schema", "entry", "file", "number", "on_disk", "subject")

    def __init__(
        self, subject: str, number: int, schema: s.Schema | None, raw: Any, file: str, contract: DataContract | None = None, *, on_disk: bool = False
    ) -> None:
        self.subject = subject
        self.number = number
        self.on_disk = on_disk  # ``file`` is a path to read (else a name for messages: a registry's, a git ref's)
        self.file = file
        self._schema = schema
        self._raw = raw
        self._contract = contract
        self.entry: Entry | None = None  # the file's stat and digest, once read from disk (a cache keyed on it need not read it again)

    @property
    def contract(self) -> DataContract:
        """The version's data contract: ``vN.contract.json`` beside its schema, empty when there is none."""
        if self._contract is None:
            path = contract_path(Path(self.file))
            if path.is_file():
                try:
                    self._contract = DataContract.from_json(read_json(path, str(path)))
                except ContractError as exc:
                    raise SchemaError(exc.message, Location(file=str(path), path=exc.key), "INVALID_CONTRACT") from None
            else:
                self._contract = DataContract()
        return self._contract

    @property
    def raw(self) -> Any:
        if self._raw is None:
            if self.on_disk:
                self._raw, self.entry = read_json_with_entry(self.file, self.file)
            else:
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


DEPLOYMENT_RULES = ("DEPLOYMENT_UNKNOWN_VERSION",)
"""Rule ids the deployment check adds to the compatibility rules' (an override may name them too)."""


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
    labels: dict[str, dict[int, str]] = field(default_factory=dict)
    """Subject -> version number -> how findings name it (``origin/main`` for a version taken from a git ref)."""
    candidate_label: str | None = None
    """How findings name the candidate from ``schemas/`` (``working tree``), instead of its next number."""

    def label(self, subject: str, number: int | str | None, candidate: int | None) -> int | str | None:
        """How a finding names version ``number`` of ``subject`` (``candidate``: the number the candidate would get)."""
        if isinstance(number, int):
            if number == candidate and self.candidate_label:
                return self.candidate_label
            return self.labels.get(subject, {}).get(number, number)
        return number

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
    with s.bulk():  # a Version per file, none of them garbage
        _load_versions(history, subjects_dir)
    history.deployments = _load_deployments(root / DEPLOYMENTS)
    history.overrides = _load_overrides(root / OVERRIDES)
    return history


def _load_versions(history: History, subjects_dir: Path) -> None:
    if subjects_dir.is_dir():
        shown = _display(subjects_dir)
        for sub in sorted(p for p in subjects_dir.iterdir() if p.is_dir()):
            versions: list[Version] = []
            names = os.listdir(sub)
            listed = set(names)
            for name in names:
                m = _VERSION_FILE.match(name)
                if not m:
                    continue
                if int(m.group(1)) < 1:
                    raise SchemaError("versions are numbered from 1 (v1.avsc)", Location(file=f"{shown}/{sub.name}/{name}"), "INVALID_HISTORY")
                # Without a contract file beside it, the version's contract is known to be empty: no need to look again.
                contract = None if f"v{m.group(1)}.contract.json" in listed else DataContract()
                versions.append(Version(sub.name, int(m.group(1)), None, None, f"{shown}/{sub.name}/{name}", contract, on_disk=True))
            # Numbers may have gaps: a registry's deleted versions leave them.
            versions.sort(key=lambda v: v.number)
            if versions:
                history.subjects[sub.name] = versions


def _load_deployments(path: Path) -> list[Deployment]:
    shown = _display(path)
    spec = validate(DeploymentsSpec, read_toml(path, shown, "INVALID_HISTORY"), file=shown, rule="INVALID_HISTORY")
    return [Deployment(name, dict(svc.produces), dict(svc.consumes)) for name, svc in sorted(spec.services.items())]


def _load_overrides(path: Path) -> list[Override]:
    shown = _display(path)
    spec = validate(OverridesSpec, read_toml(path, shown, "INVALID_HISTORY"), file=shown, rule="INVALID_HISTORY")
    return [Override(o.subject, o.version, o.rule, o.reason, o.path, o.against) for o in spec.override]


def check_names(history: History, subjects: set[str], rules: set[str], services: set[str] | None = None) -> None:
    """Every subject, rule id and service that deployments.toml and overrides.toml name must exist (exit 2 otherwise).

    ``subjects`` are the catalog's; a subject with published versions counts as known too.
    ``services`` are the catalog's producers and consumers (when it names any).
    """
    known = subjects | set(history.subjects)

    def unknown(name: str, pool: set[str], what: str, file: str, key: str) -> SchemaError:
        close = did_you_mean(name, pool, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        if what == "rule id":
            hint += " (`contracts compat rules` lists them)"
        return SchemaError(f"unknown {what} '{name}'{hint}", Location(file=_display(history.root / file), path=key), "INVALID_HISTORY")

    for d in history.deployments:
        for role in ("produces", "consumes"):
            for subject in getattr(d, role):
                if subject not in known:
                    raise unknown(subject, known, "subject", DEPLOYMENTS, f'services.{d.service}.{role}."{subject}"')
    for d in history.deployments:
        if services and d.service not in services:
            raise unknown(d.service, services, "service (the catalog's producers and consumers)", DEPLOYMENTS, f"services.{d.service}")
    for i, o in enumerate(history.overrides):
        if o.subject not in known:
            raise unknown(o.subject, known, "subject", OVERRIDES, f"override[{i}].subject")
        if o.rule not in rules:
            raise unknown(o.rule, rules, "rule id", OVERRIDES, f"override[{i}].rule")


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


def contract_path(version_file: Path) -> Path:
    """``v3.contract.json`` for ``v3.avsc``."""
    return version_file.with_name(version_file.stem + ".contract.json")


def write_version(root: Path, subject: str, number: int, schema_json: Any, contract: DataContract | None = None) -> Path:
    """Write one version file (pretty JSON, stable key order), and its contract file when it has a contract."""
    path = version_path(root, subject, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, schema_json)
    beside = contract_path(path)
    if contract:
        _write_json(beside, contract.to_json())
    elif beside.exists():
        beside.unlink()
    return path


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
