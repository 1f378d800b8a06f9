"""A snapshot of a live registry: its subjects and versions as a ``History`` for the gate."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from contracts import schema as s
from contracts.compat.history import History, Version
from contracts.datacontract.model import ContractError, DataContract
from contracts.registry.client import RegisteredSchema, RegistryClient, RegistryError
from contracts.registry.references import Fetch, RefCache, parse_with_references


def fetcher(client: RegistryClient) -> Fetch:
    def fetch(subject: str, version: int) -> tuple[str, list[tuple[str, int]]]:
        reg = client.version(subject, version)
        return reg.schema, [(r["subject"], int(r["version"])) for r in reg.references]

    return fetch


def parse_registered(client: RegistryClient, registered: RegisteredSchema, cache: RefCache | None = None) -> s.Schema:
    """Parse a registered schema with its references."""
    refs = [(r["subject"], int(r["version"])) for r in registered.references]
    return parse_with_references(registered.schema, refs, fetcher(client), cache, file=f"registry:{registered.subject}/v{registered.version}")


def registered_contract(reg: RegisteredSchema, where: str) -> DataContract:
    """A registered version's data contract; one the registry returned malformed is its error, named."""
    try:
        return DataContract.from_json(reg.contract)
    except ContractError as exc:
        raise RegistryError(200, 0, f"{where} returned an unreadable data contract: {exc}") from exc


def fetch_history(client: RegistryClient, subjects: Iterable[str]) -> History:
    """The versions of ``subjects`` as the registry has them."""
    history = History(Path("<registry>"))
    cache: RefCache = {}
    for subject in subjects:
        versions = []
        for number in client.versions(subject):
            reg = client.version(subject, number)
            schema = parse_registered(client, reg, cache)
            # The raw form is self-contained (references inlined): the gate compares it and re-parses it alone.
            where = f"{client.url}/subjects/{subject}/versions/{number}"
            versions.append(Version(subject, number, schema, s.to_json(schema), where, registered_contract(reg, where)))
        if versions:
            history.subjects[subject] = versions
    return history
