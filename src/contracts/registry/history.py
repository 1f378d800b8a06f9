"""Read a live registry's subjects and versions as a ``History`` for the gate."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from contracts import schema as s
from contracts.compat.history import History, Version
from contracts.errors import SchemaError
from contracts.registry.client import RegisteredSchema, RegistryClient


def parse_registered(client: RegistryClient, registered: RegisteredSchema, cache: dict[tuple[str, int], Any] | None = None) -> tuple[s.Schema, Any]:
    """Parse a registered schema, resolving its references (other subjects' versions) first."""
    cache = {} if cache is None else cache
    names: dict[str, s.NamedSchema] = {}
    _load_references(client, registered.references, names, cache, set())
    raw = json.loads(registered.schema)
    return s.SchemaParser(names).parse(raw, file=f"registry:{registered.subject}/v{registered.version}"), raw


def _load_references(
    client: RegistryClient,
    refs: list[dict[str, Any]],
    names: dict[str, s.NamedSchema],
    cache: dict[tuple[str, int], Any],
    seen: set[tuple[str, int]],
) -> None:
    for ref in refs:
        key = (ref["subject"], int(ref["version"]))
        if key in seen:
            continue
        seen.add(key)
        reg = cache.get(key)
        if reg is None:
            reg = client.version(*key)
            cache[key] = reg
        _load_references(client, reg.references, names, cache, seen)
        raw = json.loads(reg.schema)
        parser = s.SchemaParser(names)
        # A reference may already define names we hold; only new definitions matter.
        try:
            parser.parse(raw, file=f"registry:{key[0]}/v{key[1]}")
        except SchemaError as exc:
            if exc.rule != "DUPLICATE_NAME":
                raise


def fetch_history(client: RegistryClient, subjects: Iterable[str]) -> History:
    """The versions of ``subjects`` as the registry has them."""
    history = History(Path("<registry>"))
    cache: dict[tuple[str, int], Any] = {}
    for subject in subjects:
        versions = []
        for number in client.versions(subject):
            reg = client.version(subject, number)
            schema, raw = parse_registered(client, reg, cache)
            versions.append(Version(subject, number, schema, raw, f"{client.url}/subjects/{subject}/versions/{number}"))
        if versions:
            history.subjects[subject] = versions
    return history
