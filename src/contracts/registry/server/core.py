"""What every registry route shares: requests and errors, parsing a schema body, loading stored schemas.

Bodies are checked against their typed definitions (``bodies``); all SQL is the
store's; compatibility decisions come from the same engine as ``contracts compat check``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts import schema as s
from contracts.compat.checker import Checker
from contracts.compat.engine import VersionedSchema, check_level
from contracts.errors import SchemaError
from contracts.levels import DEFAULT_LEVEL, LEVELS
from contracts.registry.references import reference_names
from contracts.registry.server.bodies import MAX_ID, BodyError, SchemaBody, parse_body, subject_problem
from contracts.registry.server.datacontracts import Contract, response_fields
from contracts.registry.server.lru import WeightedLRU, memory_size
from contracts.registry.server.store import GLOBAL, SchemaRow, Store, Tx, VersionRow
from contracts.schema.model import SHARED

log = logging.getLogger("contracts.registry")
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
PARSE_CACHE_BUDGET = 32 * 1024 * 1024
"""Bytes of memory the parsed schemas the registry keeps may hold (measured, not their text's length)."""


@dataclass
class Response:
    status: int
    payload: Any
    data: bytes | None = None  # the payload already as JSON (a remembered answer)


class ApiError(Exception):
    """An error answered in Confluent's body format."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def subject_not_found(subject: str) -> ApiError:
    return ApiError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: Any) -> ApiError:
    return ApiError(404, 40402, f"Version {version} not found.")


def schema_not_found() -> ApiError:
    return ApiError(404, 40403, "Schema not found")


Handler = Callable[["RegistryCore", "Request"], Any]
"""A route's handler: the registry and the request in, the response body out."""


@dataclass(frozen=True)
class Request:
    method: str
    params: dict[str, str]  # from the path
    query: dict[str, str]  # the last value of each parameter
    body: bytes | None
    query_all: dict[str, list[str]] = field(default_factory=dict)  # every value, for parameters that repeat

    def flag(self, name: str) -> bool:
        return self.query.get(name, "false").lower() == "true"

    def subject(self) -> str:
        name = self.params["subject"]
        problem = subject_problem(name)
        if problem:
            raise ApiError(422, 42208, f"Invalid subject {name!r}: {problem}")
        return name

    def json(self) -> dict[str, Any]:
        return json_body(self.body)


@dataclass(frozen=True)
class Parsed:
    """A request's schema as parsed (kept and shared between requests: never changed)."""

    schema: s.Schema
    text: str  # the canonical text the registry stores and returns
    fingerprint: str
    refs: list[dict[str, Any]]


class RegistryCore:
    """The registry's state and the steps its routes share; thread-safe."""

    def __init__(self, store: Store, default_level: str = DEFAULT_LEVEL, *, cache_budget: int = PARSE_CACHE_BUDGET) -> None:
        self.store = store
        self.default_level = default_level
        # Bounded by memory, one budget for both: schema id -> (parsed schema, the names it and its references
        # define); and a request's schema text (one without references) -> what parsing it gave.
        self.cache: WeightedLRU[int | str, tuple[s.Schema, dict[str, s.NamedSchema]] | Parsed] = WeightedLRU(cache_budget)

    # -- schema parsing -----------------------------------------------------
    def load(self, tx: Tx, schema_id: int) -> tuple[s.Schema, dict[str, s.NamedSchema]]:
        """A stored schema, parsed with its references; the names it and its references define."""
        hit = self.cache.get(schema_id)
        if isinstance(hit, tuple):
            return hit
        row = tx.schema(schema_id)
        if row is None:
            raise schema_not_found()
        names = self.reference_names(tx, json.loads(row.refs))
        try:
            parsed = s.SchemaParser(names).parse(json.loads(row.text))
        except (SchemaError, RecursionError) as exc:  # stored by an older build with other limits
            raise ApiError(422, 42201, f"Invalid schema: stored schema {schema_id} cannot be read: {exc}") from exc
        # Weighed by what the parsed model holds (about twice its text, more for short fields), names
        # from references included only where this entry alone holds them.
        self.cache.put(schema_id, (parsed, names), memory_size((parsed, names), SHARED))
        return parsed, names

    def reference_names(self, tx: Tx, refs: list[dict[str, Any]]) -> dict[str, s.NamedSchema]:
        def load(subject: str, version: int) -> tuple[s.Schema, dict[str, s.NamedSchema]]:
            row = tx.version(subject, version)
            if row is None:
                raise ApiError(422, 42201, f"Invalid schema: reference to {subject} version {version} not found")
            return self.load(tx, row.schema_id)

        return reference_names([(r["subject"], r["version"]) for r in refs], load)

    def parse(self, tx: Tx, request: Request) -> tuple[Parsed, SchemaBody]:
        try:
            body = parse_body(SchemaBody, request.json())
        except BodyError as exc:
            if exc.unknown:
                raise ApiError(422, 422, exc.message) from None
            raise ApiError(422, 42202 if exc.field == "version" else 42201, f"Invalid schema: {exc.message}") from None
        schema_type = body.schemaType or "AVRO"
        if schema_type != "AVRO":
            raise ApiError(422, 42201, f"Invalid schema: schema type {schema_type!r} is not supported by this registry (AVRO only)")
        refs = [{"name": r.name, "subject": r.subject, "version": r.version} for r in body.references or []]
        if not refs:  # the same text always parses the same (with references, it depends on theirs)
            known = self.cache.get(body.schema_)
            if isinstance(known, Parsed):
                return known, body
        names = self.reference_names(tx, refs)
        try:
            parsed = s.SchemaParser(dict(names)).parse(json.loads(body.schema_))
            canonical = s.full_text(parsed, defined=set(names))
            canonical.encode("utf-8")  # a lone surrogate escape ("\ud800") cannot be stored or sent
        except json.JSONDecodeError as exc:
            raise ApiError(422, 42201, f"Invalid schema: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        except SchemaError as exc:
            raise ApiError(422, 42201, f"Invalid schema: {exc.location}: {exc.message}") from exc
        except RecursionError as exc:
            raise ApiError(422, 42201, "Invalid schema: nested too deeply") from exc
        except UnicodeEncodeError as exc:
            raise ApiError(422, 42201, "Invalid schema: it holds a lone UTF-16 surrogate, which is not text") from exc
        result = Parsed(parsed, canonical, s.fingerprint(canonical, references=refs), refs)
        if not refs:
            self.cache.put(body.schema_, result, memory_size(result, SHARED))
        return result, body

    # -- settings -----------------------------------------------------------
    def level(self, tx: Tx, subject: str) -> str:
        return tx.setting("config", subject) or tx.setting("config", GLOBAL) or self.default_level

    def mode(self, tx: Tx, subject: str) -> str:
        return tx.setting("mode", subject) or tx.setting("mode", GLOBAL) or "READWRITE"

    def writable(self, tx: Tx, subject: str | None) -> str:
        mode = self.mode(tx, subject or GLOBAL)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise ApiError(422, 42205, f"Subject {subject or '(global)'} is in read-only mode")
        return mode

    def incompatibilities(self, tx: Tx, subject: str, candidate: s.Schema, against: list[VersionRow], level: str, new_version: int) -> list[str]:
        history = [VersionedSchema(r.version, self.load(tx, r.schema_id)[0]) for r in against]
        findings = check_level(Checker(), candidate, history, level, subject=subject, new_version=new_version)
        return [f"{f.rule}: {f.message}" + (f" (field {f.path})" if f.path else "") for f in findings]

    def compared(self, tx: Tx, subject: str, level: str, group: tuple[str, str | None] | None = None) -> list[VersionRow]:
        """The live versions ``level`` compares a new schema against (only the latest unless transitive).

        ``group`` (a compatibility group's property and the new version's value of it) keeps only the
        versions with the same value: a new major version starts its own line.
        """
        if group is None and not LEVELS[level].transitive:
            latest = tx.latest(subject)  # one indexed row, however many versions the subject has
            return [latest] if latest is not None else []
        rows = tx.versions(subject)
        if group is not None:
            rows = [r for r in rows if self.contract(tx, r.schema_id).metadata.properties.get(group[0]) == group[1]]
        return rows if LEVELS[level].transitive else rows[-1:]

    def contract(self, tx: Tx, schema_id: int) -> Contract:
        row = tx.schema(schema_id)
        return Contract() if row is None else Contract.stored(row.metadata, row.rule_set)

    def resolve_version(self, tx: Tx, subject: str, version: str, deleted: bool) -> VersionRow:
        number = parse_version(version)
        row = tx.latest(subject, deleted=deleted) if number == -1 else tx.version(subject, number)
        if row is None or (row.deleted and not deleted):
            if not tx.subject_exists(subject):
                raise subject_not_found(subject)
            raise version_not_found(subject, version)
        return row

    def setting_value(self, tx: Tx, table: str, subject: str | None, default_to_global: bool) -> str | None:
        value = tx.setting(table, subject if subject is not None else GLOBAL)
        if value is None and (subject is None or default_to_global):
            value = tx.setting(table, GLOBAL) or (self.default_level if table == "config" else "READWRITE")
        return value


def require_valid_defaults(schema: s.Schema) -> None:
    """A new version's defaults must fit their fields (42201), as Confluent's registry validates them."""
    try:
        s.check_defaults(schema)
    except SchemaError as exc:
        raise ApiError(422, 42201, f"Invalid schema: {exc.message}") from exc


def json_body(body: bytes | None) -> dict[str, Any]:
    if not body:
        raise ApiError(400, 400, "Request body is required")
    try:
        data = json.loads(body.decode("utf-8"))
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # refuses lone surrogates ("\ud800") anywhere
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, 400, f"Malformed JSON: {exc}") from exc
    except UnicodeEncodeError:
        raise ApiError(400, 400, "Malformed JSON: a string holds a lone UTF-16 surrogate") from None
    except RecursionError:
        raise ApiError(400, 400, "Malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, 400, "The request body must be a JSON object")
    return data


def parse_version(version: str) -> int:
    if version == "latest":
        return -1
    try:
        number = int(version)
    except ValueError:
        number = 0
    if number == -1 or 1 <= number <= MAX_ID:
        return number
    raise ApiError(422, 42202, f"The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")


def parse_schema_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise schema_not_found() from None
    if not 1 <= number <= MAX_ID:
        raise schema_not_found()
    return number


def version_body(subject: str, version: int, row: SchemaRow) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": subject, "version": version, "id": row.id, "guid": row.guid, "schema": row.text}
    refs = json.loads(row.refs)
    if refs:
        out["references"] = refs
    out.update(response_fields(row.metadata, row.rule_set))
    return out


