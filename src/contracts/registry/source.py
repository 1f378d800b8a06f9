"""The serializers' seam to a registry: the few reads and the one write they make, and one error mapping.

``SchemaSource`` is what ``EventSerializer`` and ``EventDeserializer`` need. Two adapters satisfy it:
``ClientSource`` over our ``RegistryClient`` (HTTP, or an app in process through ``AppTransport``,
so serializer tests need no socket and no broker), and ``ConfluentSource`` over confluent-kafka's
``SchemaRegistryClient`` (its caching, TLS and OAuth settings). Both raise the same errors:
``SchemaNotFound``, ``CredentialsError`` (exit 2), ``InfrastructureError`` (exit 3) or ``RegistryError``.
"""

from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.datacontract import ContractError, Metadata, RuleSet, parse_metadata, parse_rule_set
from contracts.errors import CredentialsError, InfrastructureError, status_is_infrastructure, status_refuses_credentials
from contracts.redaction import redact
from contracts.registry.client import RegistryClient, RegistryError


@dataclass(frozen=True)
class StoredSchema:
    """A registered schema as the serializers use it."""

    id: int
    text: str
    references: tuple[tuple[str, int], ...] = ()  # (subject, version) of each schema it names
    metadata: Metadata = field(default_factory=Metadata)
    rule_set: RuleSet = field(default_factory=RuleSet)


def _contract(metadata: Any, rule_set: Any, what: str) -> dict[str, Any]:
    """A registered schema's data contract as ``StoredSchema`` keywords; a malformed one is the registry's error."""
    try:
        return {"metadata": parse_metadata(metadata), "rule_set": parse_rule_set(rule_set)}
    except ContractError as exc:
        raise RegistryError(200, 0, f"the registry returned an unreadable data contract for {what}: {exc}") from exc


def _confluent_contract(schema: Any, what: str) -> dict[str, Any]:
    metadata, rule_set = getattr(schema, "metadata", None), getattr(schema, "rule_set", None)
    return _contract(None if metadata is None else metadata.to_dict(), None if rule_set is None else rule_set.to_dict(), what)


class SchemaNotFound(RegistryError):
    """The subject, version, id or GUID asked for is not in the registry."""


class SchemaSource(Protocol):
    def versions(self, subject: str) -> list[int]:
        """The subject's versions, oldest first; none for a subject the registry does not know."""
        ...

    def version(self, subject: str, number: int) -> StoredSchema: ...

    def by_id(self, schema_id: int) -> StoredSchema: ...

    def by_guid(self, guid: str) -> StoredSchema: ...

    def register(self, subject: str, text: str) -> int:
        """Register ``text`` under ``subject`` (idempotent); its schema id."""
        ...

    def schema_versions(self, schema_id: int) -> list[tuple[str, int]]:
        """The (subject, version) pairs that hold ``schema_id`` (for migrations between versions)."""
        ...


def _references(raw: list[Any]) -> tuple[tuple[str, int], ...]:
    out = []
    for r in raw or []:
        subject, version = (r.get("subject"), r.get("version")) if isinstance(r, dict) else (r.subject, r.version)
        if subject is not None and version is not None:
            out.append((str(subject), int(version)))
    return tuple(out)


class ClientSource:
    """``SchemaSource`` over our ``RegistryClient``."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def _get(self, path: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self.client.request("GET", path)
        except RegistryError as exc:
            if exc.status == 404 and exc.error_code != 404:
                raise SchemaNotFound(exc.status, exc.error_code, exc.message) from exc
            raise
        return found

    def versions(self, subject: str) -> list[int]:
        return self.client.versions(subject)

    def version(self, subject: str, number: int) -> StoredSchema:
        d = self._get(f"/subjects/{_quote(subject)}/versions/{number}")
        return StoredSchema(int(d["id"]), d["schema"], _references(d.get("references") or []), **_contract(d.get("metadata"), d.get("ruleSet"), subject))

    def by_id(self, schema_id: int) -> StoredSchema:
        d = self._get(f"/schemas/ids/{schema_id}")
        return StoredSchema(schema_id, d["schema"], _references(d.get("references") or []), **_contract(d.get("metadata"), d.get("ruleSet"), f"schema id {schema_id}"))

    def by_guid(self, guid: str) -> StoredSchema:
        d = self._get(f"/schemas/guids/{_quote(guid)}")
        return StoredSchema(
            int(d.get("id", -1)), d["schema"], _references(d.get("references") or []), **_contract(d.get("metadata"), d.get("ruleSet"), f"schema guid {guid}")
        )

    def register(self, subject: str, text: str) -> int:
        return self.client.register(subject, text)

    def schema_versions(self, schema_id: int) -> list[tuple[str, int]]:
        found: Any = self._get(f"/schemas/ids/{schema_id}/versions")
        return [(str(d["subject"]), int(d["version"])) for d in found]


class ConfluentSource:
    """``SchemaSource`` over confluent-kafka's ``SchemaRegistryClient``, its errors mapped to ours."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def versions(self, subject: str) -> list[int]:
        try:
            with self._mapped(f"subject {subject}"):
                return list(self.client.get_versions(subject))
        except SchemaNotFound:
            return []

    def version(self, subject: str, number: int) -> StoredSchema:
        with self._mapped(f"subject {subject} version {number}"):
            registered = self.client.get_version(subject, number)
        return StoredSchema(
            int(registered.schema_id), registered.schema.schema_str or "null", _references(registered.schema.references),
            **_confluent_contract(registered.schema, subject),
        )

    def by_id(self, schema_id: int) -> StoredSchema:
        with self._mapped(f"schema id {schema_id}"):
            schema = self.client.get_schema(schema_id)
        return StoredSchema(schema_id, schema.schema_str or "null", _references(schema.references), **_confluent_contract(schema, f"schema id {schema_id}"))

    def by_guid(self, guid: str) -> StoredSchema:
        with self._mapped(f"schema guid {guid}"):
            schema = self.client.get_schema_by_guid(guid)
        return StoredSchema(-1, schema.schema_str or "null", _references(schema.references), **_confluent_contract(schema, f"schema guid {guid}"))

    def register(self, subject: str, text: str) -> int:
        from confluent_kafka.schema_registry import Schema

        with self._mapped(f"subject {subject}"):
            return int(self.client.register_schema(subject, Schema(text, "AVRO")))

    def schema_versions(self, schema_id: int) -> list[tuple[str, int]]:
        with self._mapped(f"schema id {schema_id}"):
            return [(str(v.subject), int(v.version)) for v in self.client.get_schema_versions(schema_id)]

    @contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        try:
            yield
        except SchemaRegistryError as exc:
            status, code, message = exc.http_status_code, exc.error_code, redact(str(exc.error_message))
            if status == 404:
                raise SchemaNotFound(status, code, message) from exc
            if status_refuses_credentials(status):
                raise CredentialsError(f"schema registry refused the credentials (HTTP {status}) for {what}: {message}") from exc
            if status_is_infrastructure(status):
                raise InfrastructureError(f"schema registry refused or failed for {what}: HTTP {status} {message}") from exc
            raise RegistryError(status, code, message) from exc
        except UNREACHABLE as exc:
            raise InfrastructureError(f"schema registry unreachable: {redact(str(exc)) or type(exc).__name__}") from exc


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Failures of confluent-kafka's transport (refused, reset, timed out): OS errors and its HTTP library's."""
    errors: tuple[type[BaseException], ...] = (OSError,)
    for module in ("httpx2", "httpx"):  # confluent-kafka's client runs on whichever is installed
        try:
            errors += (importlib.import_module(module).TransportError,)
        except (ImportError, AttributeError):
            continue
    return errors


UNREACHABLE = _transport_errors()


def as_source(client: Any) -> SchemaSource:
    """The seam for what a serializer was given: a ``SchemaSource``, our client, or confluent-kafka's."""
    if isinstance(client, RegistryClient):
        return ClientSource(client)
    if all(hasattr(client, name) for name in ("versions", "version", "by_id", "by_guid", "register")):
        return client  # type: ignore[no-any-return]
    return ConfluentSource(client)


def fetcher(source: SchemaSource) -> Callable[[str, int], tuple[str, list[tuple[str, int]]]]:
    """A reference loader over ``source``: (subject, version) -> (text, its references)."""

    def fetch(subject: str, version: int) -> tuple[str, list[tuple[str, int]]]:
        stored = source.version(subject, version)
        return stored.text, list(stored.references)

    return fetch


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


__all__ = ["ClientSource", "ConfluentSource", "SchemaNotFound", "SchemaSource", "StoredSchema", "as_source", "fetcher"]
