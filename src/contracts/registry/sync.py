"""Bring a registry in line with ``schemas/``: plan, push, diff and pull.

Each event type's subject is named by the catalog's strategy. A named type defined
in another file than the event (``com.acme.common.Money``) is registered under its
own subject (its full name, Confluent's default for references) and referenced,
so shared types have one history. Subjects are pushed in dependency order.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import schema as s
from contracts.catalog import Catalog
from contracts.compat.checker import Checker
from contracts.compat.engine import VersionedSchema, check_level
from contracts.compat.history import History, Version, load_history, subject_dir, write_version
from contracts.datacontract.model import ContractError, DataContract
from contracts.errors import ContractViolation
from contracts.findings import Finding
from contracts.registry.client import RegisteredSchema, RegistryClient, RegistryError
from contracts.registry.references import parse_with_references
from contracts.registry.snapshot import fetch_history, fetcher


@dataclass
class Desired:
    """What one subject should hold: its schema text, the types it references, its level."""

    subject: str
    schema: s.NamedSchema
    text: str
    refs: list[str]  # full names of referenced types (each its own subject)
    level: str
    file: str
    kind: str  # "event" or "reference"
    contract: DataContract = field(default_factory=DataContract)
    group: str | None = None  # the topic's compatibility group, set on the subject's config

    def holds(self, found: RegisteredSchema | None) -> bool:
        """Whether ``found`` (a registered version with this schema) also carries this contract."""
        if found is None:
            return False
        try:
            return DataContract.from_json(found.contract) == self.contract
        except ContractError:
            return False


@dataclass
class Change:
    subject: str
    action: str  # "create subject", "add version", "set compatibility"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:<18} {self.subject}" + (f"  ({self.detail})" if self.detail else "")


def _external(root: s.NamedSchema) -> list[s.NamedSchema]:
    """Types defined in another file that ``root`` refers to directly (not through another such type)."""
    out: list[s.NamedSchema] = []
    seen: set[int] = set()

    def visit(t: s.Schema) -> None:
        if isinstance(t, s.Record | s.Enum | s.Fixed):
            if id(t) in seen:
                return
            seen.add(id(t))
            if t is not root and t.file != root.file:
                out.append(t)
                return
        for child in s.children(t):
            visit(child)

    visit(root)
    return out


def _reachable_external(root: s.NamedSchema) -> set[str]:
    """Names of every type outside ``root``'s file that its JSON must not define."""
    return {t.fullname for t in s.walk_named(root) if t is not root and t.file != root.file}


def desired_state(catalog: Catalog) -> list[Desired]:
    """Every subject ``push`` manages, references before the subjects that use them."""
    out: dict[str, Desired] = {}

    def add(t: s.NamedSchema, subject: str, level: str, kind: str, contract: DataContract, group: str | None) -> None:
        if subject in out:
            return
        refs = _external(t)
        for r in refs:
            add(r, r.fullname, catalog.default_compatibility, "reference", DataContract(), None)
        text = s.full_text(t, defined=_reachable_external(t))
        out[subject] = Desired(subject, t, text, [r.fullname for r in refs], level, t.file or "", kind, contract, group)

    for sub in catalog.subjects():
        add(sub.schema, sub.name, sub.compatibility, "event", sub.contract, sub.compatibility_group)
    return list(out.values())


def _references(d: Desired, versions: dict[str, int | None]) -> list[dict[str, Any]] | None:
    refs = []
    for name in d.refs:
        v = versions.get(name)
        if v is None:
            return None  # a referenced subject changes too: this one changes with it
        refs.append({"name": name, "subject": name, "version": v})
    return refs


@dataclass
class Backlog:
    """Recorded versions of a subject that the registry lacks, to register before the current schema.

    ``versions`` are ``compatibility/`` versions past the registry's last one, oldest first,
    registered as recorded (self-contained) so the registry's numbers match the history's;
    ``current_is_last`` says the newest of them is the schema in ``schemas/`` (it is then
    registered with its references, as the current schema always is). ``note`` says why
    nothing is replayed when the registry's versions are not the history's first ones.
    """

    versions: list[Version] = field(default_factory=list)
    current_is_last: bool = False
    note: str = ""


def backlog(client: RegistryClient, d: Desired, existing: list[int], history: History | None) -> Backlog:
    """What of ``d.subject``'s recorded history the registry is behind on (nothing without a history)."""
    recorded = history.versions(d.subject) if history is not None else []
    if not recorded:
        return Backlog()
    live = fetch_history(client, [d.subject]).versions(d.subject) if existing else []
    for mine, theirs in zip(recorded, live, strict=False):
        if s.canonical_form(mine.schema) != s.canonical_form(theirs.schema) or mine.number != theirs.number:
            return Backlog(note=f"registry v{theirs.number} differs from {mine.file}: the recorded history is not replayed")
    if len(live) > len(recorded):
        return Backlog()
    missing = recorded[len(live):]
    numbers = [v.number for v in recorded]
    if numbers != list(range(1, len(numbers) + 1)):
        return Backlog(note=f"recorded versions {numbers} have gaps: the registry would number them 1..{len(numbers)}; not replayed")
    current = s.canonical_form(d.schema)
    return Backlog(missing, bool(missing) and s.canonical_form(missing[-1].schema) == current)


def plan(client: RegistryClient, catalog: Catalog, history: History | None = None) -> list[Change]:
    """What ``push`` would do; nothing is written. With ``history``, recorded versions the registry lacks come first."""
    changes: list[Change] = []
    versions: dict[str, int | None] = {}
    for d in desired_state(catalog):
        current_level = client.config(d.subject)
        if current_level != d.level:
            changes.append(Change(d.subject, "set compatibility", f"{current_level or 'global'} -> {d.level}"))
        if d.group is not None and client.compatibility_group(d.subject) != d.group:
            changes.append(Change(d.subject, "set compatibility group", d.group))
        existing = client.versions(d.subject)
        todo = backlog(client, d, existing, history)
        if todo.note:
            changes.append(Change(d.subject, "note", todo.note))
        for v in todo.versions if not todo.current_is_last else todo.versions[:-1]:
            changes.append(Change(d.subject, "replay version", f"v{v.number} from {v.file}"))
            existing = [*existing, v.number]
        refs = _references(d, versions)
        found = client.lookup(d.subject, d.text, refs) if refs is not None and existing else None
        if found is not None and d.holds(found):
            versions[d.subject] = found.version
            continue
        versions[d.subject] = None
        if todo.current_is_last:
            changes.append(Change(d.subject, "replay version", f"v{todo.versions[-1].number} from {todo.versions[-1].file} (the current schema)"))
        elif existing:
            why = ", the same schema with another data contract" if found is not None else ""
            changes.append(Change(d.subject, "add version", f"v{max(existing) + 1}{why}"))
        else:
            changes.append(Change(d.subject, "create subject", f"{d.kind}, v1"))
    return [c for c in changes if c.action != "note"] + [c for c in changes if c.action == "note"]


def push(
    client: RegistryClient,
    catalog: Catalog,
    *,
    history: History | None = None,
    echo: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], None] = lambda _: None,
) -> list[Change]:
    """Register what changed, in dependency order, checking each subject first.

    With ``history`` (``compatibility/``), a subject whose registry is empty or behind gets
    its recorded versions first, in order, so its version numbers match the history's.
    Stops at the first incompatible subject, having changed nothing for it
    (earlier subjects stay pushed: each of them was compatible). Idempotent.
    ``progress`` is told the number of subjects first, then called with 1 after each.
    """
    done: list[Change] = []
    versions: dict[str, int | None] = {}
    desired = desired_state(catalog)
    progress(-len(desired))
    for d in desired:
        progress(1)
        refs = _references(d, versions) or []
        existing = client.versions(d.subject)
        todo = backlog(client, d, existing, history)
        found = client.lookup(d.subject, d.text, refs) if existing else None
        contract_only = found is not None and not d.holds(found)
        if contract_only:
            found = None  # the schema is there, with another contract: a new version carries this one
        current_level = client.config(d.subject)
        replay = todo.versions[:-1] if todo.current_is_last else todo.versions
        if found is None and existing and not replay and not contract_only:
            findings = _check(client, d, refs)
            if findings:
                lines = "\n".join(f"  {f.rule}: {f.message}" for f in findings)
                raise ContractViolation(f"{d.subject} is incompatible with the registry at {d.level}; nothing was pushed for it:\n{lines}")
        if current_level != d.level:
            client.set_config(d.level, d.subject)
            done.append(Change(d.subject, "set compatibility", f"{current_level or 'global'} -> {d.level}"))
            echo(str(done[-1]))
        if d.group is not None and client.compatibility_group(d.subject) != d.group:
            client.set_compatibility_group(d.group, d.subject)
            done.append(Change(d.subject, "set compatibility group", d.group))
            echo(str(done[-1]))
        for v in replay:
            _replay(client, d.subject, v)
            done.append(Change(d.subject, "replay version", f"v{v.number} from {v.file}"))
            echo(str(done[-1]))
        if replay:
            found = client.lookup(d.subject, d.text, refs)
            found = found if d.holds(found) else None
        if found is not None:
            versions[d.subject] = found.version
            continue
        try:
            client.register(d.subject, d.text, refs, contract=d.contract.body())
        except RegistryError as exc:
            if exc.status != 409:
                raise
            raise ContractViolation(f"{d.subject}: the registry refused the current schema at {d.level}: {exc.message}") from exc
        registered = client.lookup(d.subject, d.text, refs)
        assert registered is not None
        versions[d.subject] = registered.version
        done.append(Change(d.subject, "create subject" if not existing and not replay else "add version", f"v{registered.version}, id {registered.id}"))
        echo(str(done[-1]))
    return done


def _replay(client: RegistryClient, subject: str, version: Version) -> None:
    """Register one recorded version as it is kept in ``compatibility/`` (self-contained)."""
    try:
        client.register(subject, s.compact(version.raw), contract=version.contract.body())
    except RegistryError as exc:
        if exc.status != 409:
            raise
        raise ContractViolation(
            f"{subject}: the registry refused recorded {version.file} ({exc.message}); "
            "its level forbids a change the history accepted (an override): push with --no-history"
        ) from exc


def _check(client: RegistryClient, d: Desired, refs: list[dict[str, Any]]) -> list[Finding]:
    """Our engine, at the catalog's level, against the registry's versions of the subject."""
    history = fetch_history(client, [d.subject]).versions(d.subject)
    if d.group is not None:  # a new version is checked within its compatibility group only, as the registry does
        value = d.contract.metadata.properties.get(d.group)
        history = [v for v in history if v.contract.metadata.properties.get(d.group) == value]
    candidate = parse_with_references(d.text, [(r["subject"], r["version"]) for r in refs], fetcher(client), file=d.file)
    return check_level(
        Checker(),
        candidate,
        [VersionedSchema(v.number, v.schema) for v in history],
        d.level,
        subject=d.subject,
        new_version=history[-1].number + 1 if history else 1,
        file=d.file,
    )


@dataclass
class SubjectDiff:
    subject: str
    text: str = ""
    changed: bool = False
    lines: list[str] = field(default_factory=list)


def diff(client: RegistryClient, catalog: Catalog) -> list[SubjectDiff]:
    """Per event subject: the registry's latest version against schemas/, both self-contained."""
    out = []
    subjects = catalog.subjects()
    live = fetch_history(client, [sub.name for sub in subjects])
    for sub in subjects:
        versions = live.versions(sub.name)
        theirs = _pretty(s.to_json(versions[-1].schema)) if versions else ""
        ours = _pretty(s.to_json(sub.schema))
        label = f"{client.url} {sub.name} v{versions[-1].number}" if versions else f"{client.url} {sub.name} (absent)"
        lines = list(difflib.unified_diff(theirs.splitlines(), ours.splitlines(), label, sub.file, lineterm=""))
        their_contract = _pretty(versions[-1].contract.to_json()) if versions and versions[-1].contract else ""
        our_contract = _pretty(sub.contract.to_json()) if sub.contract else ""
        where = f'{catalog.catalog_file or "catalog.toml"} [events."{sub.fullname}"]'
        lines += difflib.unified_diff(their_contract.splitlines(), our_contract.splitlines(), f"{label} data contract", where, lineterm="")
        out.append(SubjectDiff(sub.name, "\n".join(lines), bool(lines), lines))
    return out


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def pull(client: RegistryClient, catalog: Catalog, root: Path, *, all_subjects: bool = False, force: bool = False) -> list[Path]:
    """Write the registry's versions into ``compatibility/subjects/`` (self-contained), for the offline gate.

    A version already recorded with another meaning is history: without ``force`` nothing is
    written and ``ContractViolation`` names every version that differs. Files that already say
    the same are left as they are.
    """
    names = client.subjects() if all_subjects else [sub.name for sub in catalog.subjects()]
    for name in names:  # every name first: nothing is written when one of them is unsafe
        subject_dir(root, name)
    live = fetch_history(client, names)
    recorded = load_history(root) if (root / "subjects").is_dir() else History(root)
    todo: list[tuple[str, Version]] = []
    differ: list[str] = []
    for name in names:
        for v in live.versions(name):
            mine = recorded.version(name, v.number)
            if mine is not None and s.fingerprint(mine.schema) == s.fingerprint(v.schema) and mine.contract == v.contract:
                continue
            if mine is not None:
                differ.append(f"{mine.file} (registry v{v.number} differs)")
            todo.append((name, v))
    if differ and not force:
        raise ContractViolation(
            "the registry's versions differ from the recorded history; nothing was written "
            "(`contracts registry pull --force` overwrites them):\n" + "\n".join(f"  {line}" for line in differ)
        )
    return [write_version(root, name, v.number, s.to_json(v.schema), v.contract) for name, v in todo]
