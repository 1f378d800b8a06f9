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
from contracts.compat.history import subject_dir, write_version
from contracts.errors import ContractViolation
from contracts.findings import Finding
from contracts.registry.client import RegistryClient
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

    def add(t: s.NamedSchema, subject: str, level: str, kind: str) -> None:
        if subject in out:
            return
        refs = _external(t)
        for r in refs:
            add(r, r.fullname, catalog.default_compatibility, "reference")
        text = s.full_text(t, defined=_reachable_external(t))
        out[subject] = Desired(subject, t, text, [r.fullname for r in refs], level, t.file or "", kind)

    for sub in catalog.subjects():
        add(sub.schema, sub.name, sub.compatibility, "event")
    return list(out.values())


def _references(d: Desired, versions: dict[str, int | None]) -> list[dict[str, Any]] | None:
    refs = []
    for name in d.refs:
        v = versions.get(name)
        if v is None:
            return None  # a referenced subject changes too: this one changes with it
        refs.append({"name": name, "subject": name, "version": v})
    return refs


def plan(client: RegistryClient, catalog: Catalog) -> list[Change]:
    """What ``push`` would do; nothing is written."""
    changes: list[Change] = []
    versions: dict[str, int | None] = {}
    for d in desired_state(catalog):
        current_level = client.config(d.subject)
        if current_level != d.level:
            changes.append(Change(d.subject, "set compatibility", f"{current_level or 'global'} -> {d.level}"))
        existing = client.versions(d.subject)
        refs = _references(d, versions)
        found = client.lookup(d.subject, d.text, refs) if refs is not None and existing else None
        if found is not None:
            versions[d.subject] = found.version
            continue
        versions[d.subject] = None
        if existing:
            changes.append(Change(d.subject, "add version", f"v{max(existing) + 1}"))
        else:
            changes.append(Change(d.subject, "create subject", f"{d.kind}, v1"))
    return changes


def push(
    client: RegistryClient,
    catalog: Catalog,
    *,
    echo: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], None] = lambda _: None,
) -> list[Change]:
    """Register what changed, in dependency order, checking each subject first.

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
        found = client.lookup(d.subject, d.text, refs) if existing else None
        current_level = client.config(d.subject)
        if found is None and existing:
            findings = _check(client, d, refs)
            if findings:
                lines = "\n".join(f"  {f.rule}: {f.message}" for f in findings)
                raise ContractViolation(f"{d.subject} is incompatible with the registry at {d.level}; nothing was pushed for it:\n{lines}")
        if current_level != d.level:
            client.set_config(d.level, d.subject)
            done.append(Change(d.subject, "set compatibility", f"{current_level or 'global'} -> {d.level}"))
            echo(str(done[-1]))
        if found is not None:
            versions[d.subject] = found.version
            continue
        client.register(d.subject, d.text, refs)
        registered = client.lookup(d.subject, d.text, refs)
        assert registered is not None
        versions[d.subject] = registered.version
        done.append(Change(d.subject, "create subject" if not existing else "add version", f"v{registered.version}, id {registered.id}"))
        echo(str(done[-1]))
    return done


def _check(client: RegistryClient, d: Desired, refs: list[dict[str, Any]]) -> list[Finding]:
    """Our engine, at the catalog's level, against the registry's versions of the subject."""
    history = fetch_history(client, [d.subject]).versions(d.subject)
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
        out.append(SubjectDiff(sub.name, "\n".join(lines), bool(lines), lines))
    return out


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def pull(client: RegistryClient, catalog: Catalog, root: Path, *, all_subjects: bool = False) -> list[Path]:
    """Write the registry's versions into ``compatibility/subjects/`` (self-contained), for the offline gate."""
    names = client.subjects() if all_subjects else [sub.name for sub in catalog.subjects()]
    for name in names:  # every name first: nothing is written when one of them is unsafe
        subject_dir(root, name)
    live = fetch_history(client, names)
    written = []
    for name in names:
        for v in live.versions(name):
            written.append(write_version(root, name, v.number, s.to_json(v.schema)))
    return written
