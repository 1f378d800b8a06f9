"""The Confluent Schema Registry REST API, as a function of (method, path, query, body).

Kept apart from HTTP so that it can be tested and fuzzed directly; ``server``
puts it behind a real socket. Compatibility decisions come from the same engine
as ``contracts compat check``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any

from contracts import schema as s
from contracts.catalog import LEVELS as LEVEL_NAMES
from contracts.compat.checker import Checker
from contracts.compat.gate import LEVELS, VersionedSchema, check_level
from contracts.errors import SchemaError
from contracts.registry.store import GLOBAL, Store

DEFAULT_LEVEL = "BACKWARD"
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
_BODY_FIELDS = {"schema", "schemaType", "references", "metadata", "ruleSet", "id", "version", "normalize", "subject", "schemaTagsToAdd", "schemaTagsToRemove"}
MAX_BODY = 16 * 1024 * 1024


@dataclass
class Response:
    status: int
    payload: Any


class ApiError(Exception):
    """An error answered in Confluent's body format."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _subject_not_found(subject: str) -> ApiError:
    return ApiError(404, 40401, f"Subject '{subject}' not found.")


def _version_not_found(subject: str, version: Any) -> ApiError:
    return ApiError(404, 40402, f"Version {version} not found.")


def _schema_not_found() -> ApiError:
    return ApiError(404, 40403, "Schema not found")


@dataclass
class _Parsed:
    schema: s.Schema
    text: str  # the canonical text the registry stores and returns
    fingerprint: str
    refs: list[dict[str, Any]]


class RegistryApp:
    """REST semantics over a ``Store``; thread-safe."""

    def __init__(self, store: Store, default_level: str = DEFAULT_LEVEL) -> None:
        self.store = store
        self.default_level = default_level
        self._cache: dict[int, tuple[s.Schema, dict[str, s.NamedSchema]]] = {}
        self._cache_lock = threading.Lock()

    # -- entry point --------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        try:
            return self._route(method.upper(), path, query, body)
        except ApiError as exc:
            return Response(exc.status, {"error_code": exc.code, "message": exc.message})
        except sqlite3.Error as exc:
            return Response(500, {"error_code": 50001, "message": f"Error in the backend data store: {exc}"})

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p != ""]
        q = {k: v[-1] for k, v in query.items() if v}
        n = len(parts)
        head = parts[0] if parts else ""
        if n == 0:
            return self._only(method, "GET", lambda: {})
        if head == "schemas":
            if parts[1:] == ["types"]:
                return self._only(method, "GET", lambda: ["AVRO"])
            if n >= 3 and parts[1] == "ids":
                rest = parts[3:]
                if rest == []:
                    return self._only(method, "GET", lambda: self.get_schema(parts[2]))
                if rest == ["schema"]:
                    return self._only(method, "GET", lambda: json.loads(self.get_schema(parts[2])["schema"]))
                if rest == ["versions"]:
                    return self._only(method, "GET", lambda: self.schema_versions(parts[2]))
                if rest == ["subjects"]:
                    return self._only(method, "GET", lambda: sorted({v["subject"] for v in self.schema_versions(parts[2])}))
        if head == "subjects":
            deleted = _flag(q, "deleted")
            if n == 1:
                return self._only(method, "GET", lambda: self._read(lambda c: Store.subjects(c, deleted=deleted)))
            subject = parts[1]
            if n == 2:
                if method == "POST":
                    return Response(200, self.lookup(subject, _body(body), deleted))
                if method == "DELETE":
                    return Response(200, self.delete_subject(subject, _flag(q, "permanent")))
                raise _not_allowed(method)
            if parts[2] == "versions":
                if n == 3:
                    if method == "GET":
                        return Response(200, self.list_versions(subject, deleted))
                    if method == "POST":
                        return Response(200, self.register(subject, _body(body)))
                    raise _not_allowed(method)
                version: str = parts[3]
                if n == 4:
                    if method == "GET":
                        return Response(200, self.get_version(subject, version, deleted))
                    if method == "DELETE":
                        return Response(200, self.delete_version(subject, version, _flag(q, "permanent")))
                    raise _not_allowed(method)
                if n == 5 and parts[4] == "schema":
                    return self._only(method, "GET", lambda: json.loads(self.get_version(subject, version, deleted)["schema"]))
                if n == 5 and parts[4] == "referencedby":
                    return self._only(method, "GET", lambda: self.referenced_by(subject, version))
        if head in ("config", "mode") and n <= 2:
            target = parts[1] if n == 2 else None
            if method == "GET":
                return Response(200, self.get_setting(head, target, _flag(q, "defaultToGlobal")))
            if method == "PUT":
                return Response(200, self.put_setting(head, target, _body(body)))
            if method == "DELETE":
                return Response(200, self.delete_setting(head, target))
            raise _not_allowed(method)
        if head == "compatibility" and n in (4, 5) and parts[1] == "subjects" and parts[3] == "versions":
            against = parts[4] if n == 5 else None
            return self._only(method, "POST", lambda: self.compatibility(parts[2], against, _body(body), _flag(q, "verbose")))
        if head == "associations":
            if n == 4 and parts[1] == "resources":
                return self._only(method, "GET", lambda: self.associations(parts[2], parts[3], q))
            if n == 1 and method == "POST":
                return Response(200, self.create_association(_body(body)))
        raise ApiError(404, 404, "HTTP 404 Not Found")

    def _only(self, method: str, allowed: str, fn: Any) -> Response:
        if method != allowed:
            raise _not_allowed(method)
        return Response(200, fn())

    def _read(self, fn: Any) -> Any:
        with self.store.read() as conn:
            return fn(conn)

    # -- schema parsing ----------------------------------------------------
    def _load(self, conn: sqlite3.Connection, schema_id: int) -> tuple[s.Schema, dict[str, s.NamedSchema]]:
        """A stored schema, parsed with its references; the names it and its references define."""
        with self._cache_lock:
            hit = self._cache.get(schema_id)
        if hit is not None:
            return hit
        row = Store.schema(conn, schema_id)
        if row is None:
            raise _schema_not_found()
        names = self._reference_names(conn, json.loads(row["refs"]))
        parsed = s.SchemaParser(names).parse(json.loads(row["schema"]))
        with self._cache_lock:
            self._cache[schema_id] = (parsed, names)
        return parsed, names

    def _reference_names(self, conn: sqlite3.Connection, refs: list[dict[str, Any]]) -> dict[str, s.NamedSchema]:
        names: dict[str, s.NamedSchema] = {}
        for ref in refs:
            row = conn.execute(
                "SELECT schema_id FROM versions WHERE subject = ? AND version = ?", (ref["subject"], ref["version"])
            ).fetchone()
            if row is None:
                raise ApiError(422, 42201, f"Invalid schema: reference {ref.get('name')} to {ref['subject']} version {ref['version']} not found")
            parsed, ref_names = self._load(conn, int(row[0]))
            names.update(ref_names)
            names.update({t.fullname: t for t in s.walk_named(parsed)})
        return names

    def _parse(self, conn: sqlite3.Connection, body: dict[str, Any]) -> _Parsed:
        unknown = set(body) - _BODY_FIELDS
        if unknown:
            raise ApiError(422, 422, f"Unrecognized field: {sorted(unknown)[0]}")
        schema_type = body.get("schemaType", "AVRO") or "AVRO"
        if schema_type != "AVRO":
            raise ApiError(422, 42201, f"Invalid schema: schema type {schema_type!r} is not supported by this registry (AVRO only)")
        text = body.get("schema")
        if not isinstance(text, str):
            raise ApiError(422, 42201, "Invalid schema: 'schema' must be a string holding the schema's JSON")
        refs = body.get("references") or []
        if not isinstance(refs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("subject"), str)
            and isinstance(r.get("version"), int) and not isinstance(r.get("version"), bool)
            for r in refs
        ):  # fmt: skip
            raise ApiError(422, 42201, "Invalid schema: references must be objects with name, subject and integer version")
        refs = [{"name": r["name"], "subject": r["subject"], "version": r["version"]} for r in refs]
        names = self._reference_names(conn, refs)
        try:
            data = json.loads(text)
            parsed = s.SchemaParser(dict(names)).parse(data)
        except json.JSONDecodeError as exc:
            raise ApiError(422, 42201, f"Invalid schema: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        except SchemaError as exc:
            raise ApiError(422, 42201, f"Invalid schema: {exc.location}: {exc.message}") from exc
        except RecursionError as exc:
            raise ApiError(422, 42201, "Invalid schema: nested too deeply") from exc
        canonical = json.dumps(s.to_json(parsed, defined=set(names)), separators=(",", ":"), ensure_ascii=False)
        refs_key = json.dumps(sorted(refs, key=lambda r: r["name"]), separators=(",", ":"))
        fingerprint = hashlib.sha256(f"{canonical}\n{refs_key}".encode()).hexdigest()
        return _Parsed(parsed, canonical, fingerprint, refs)

    # -- subjects and versions ---------------------------------------------
    def _level(self, conn: sqlite3.Connection, subject: str) -> str:
        return Store.setting(conn, "config", subject) or Store.setting(conn, "config", GLOBAL) or self.default_level

    def _mode(self, conn: sqlite3.Connection, subject: str) -> str:
        return Store.setting(conn, "mode", subject) or Store.setting(conn, "mode", GLOBAL) or "READWRITE"

    def _writable(self, conn: sqlite3.Connection, subject: str | None) -> str:
        mode = self._mode(conn, subject or GLOBAL)
        if mode in ("READONLY", "READONLY_OVERRIDE"):
            raise ApiError(422, 42205, f"Subject {subject or '(global)'} is in read-only mode")
        return mode

    def register(self, subject: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            mode = self._writable(conn, subject)
            parsed = self._parse(conn, body)
            existing = conn.execute(
                "SELECT s.id FROM versions v JOIN schemas s ON s.id = v.schema_id WHERE v.subject = ? AND s.fingerprint = ? AND v.deleted = 0",
                (subject, parsed.fingerprint),
            ).fetchone()
            if existing is not None:
                return {"id": int(existing[0])}
            live = Store.versions(conn, subject)
            level = self._level(conn, subject)
            if mode != "IMPORT" and live and level != "NONE":
                messages = self._incompatibilities(conn, subject, parsed.schema, live, level, None)
                if messages:
                    raise ApiError(
                        409, 409,
                        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", details: '
                        + json.dumps(messages),
                    )  # fmt: skip
            row = conn.execute("SELECT id FROM schemas WHERE fingerprint = ?", (parsed.fingerprint,)).fetchone()
            if row is not None:
                schema_id = int(row[0])
            else:
                wanted = body.get("id") if mode == "IMPORT" and isinstance(body.get("id"), int) else None
                cur = conn.execute(
                    "INSERT INTO schemas(id, fingerprint, schema, refs) VALUES (?, ?, ?, ?)",
                    (wanted, parsed.fingerprint, parsed.text, json.dumps(parsed.refs)),
                )
                schema_id = int(cur.lastrowid or 0)
                for ref in parsed.refs:
                    conn.execute("INSERT INTO refs(schema_id, subject, version) VALUES (?, ?, ?)", (schema_id, ref["subject"], ref["version"]))
            top = conn.execute("SELECT COALESCE(MAX(version), 0) FROM versions WHERE subject = ?", (subject,)).fetchone()[0]
            version = int(top) + 1
            if mode == "IMPORT" and isinstance(body.get("version"), int) and body["version"] > top:
                version = int(body["version"])
            conn.execute("INSERT INTO versions(subject, version, schema_id) VALUES (?, ?, ?)", (subject, version, schema_id))
            return {"id": schema_id}

    def _incompatibilities(
        self, conn: sqlite3.Connection, subject: str, candidate: s.Schema, live: list[sqlite3.Row], level: str, only: int | None
    ) -> list[str]:
        transitive = LEVELS[level][2]
        # Load only what the level compares against (check_level takes the latest of a non-transitive history).
        rows = [r for r in live if r["version"] == only] if only is not None else (live if transitive else live[-1:])
        history = [VersionedSchema(int(r["version"]), self._load(conn, int(r["schema_id"]))[0]) for r in rows]
        findings = check_level(
            Checker(), candidate, history, level, subject=subject, new_version=(int(live[-1]["version"]) + 1) if live else 1
        )
        return [f"{f.rule}: {f.message}" + (f" (field {f.path})" if f.path else "") for f in findings]

    def lookup(self, subject: str, body: dict[str, Any], deleted: bool) -> dict[str, Any]:
        with self.store.read() as conn:
            if not Store.versions(conn, subject, deleted=True):
                raise _subject_not_found(subject)
            parsed = self._parse(conn, body)
            row = conn.execute(
                "SELECT v.version, s.id, s.schema, s.refs FROM versions v JOIN schemas s ON s.id = v.schema_id "
                "WHERE v.subject = ? AND s.fingerprint = ?" + ("" if deleted else " AND v.deleted = 0") + " ORDER BY v.version DESC",
                (subject, parsed.fingerprint),
            ).fetchone()
            if row is None:
                raise _schema_not_found()
            return _version_body(subject, int(row["version"]), int(row["id"]), row["schema"], row["refs"])

    def list_versions(self, subject: str, deleted: bool) -> list[int]:
        with self.store.read() as conn:
            rows = Store.versions(conn, subject, deleted=deleted)
            if not rows:
                raise _subject_not_found(subject)
            return [int(r["version"]) for r in rows]

    def _resolve_version(self, conn: sqlite3.Connection, subject: str, version: str, deleted: bool) -> sqlite3.Row:
        number = _version_number(version)
        rows = Store.versions(conn, subject, deleted=True)
        if not rows:
            raise _subject_not_found(subject)
        visible = rows if deleted else [r for r in rows if not r["deleted"]]
        if number == -1:
            if not visible:
                raise _version_not_found(subject, version)
            return visible[-1]
        for r in visible:
            if r["version"] == number:
                return r
        raise _version_not_found(subject, version)

    def get_version(self, subject: str, version: str, deleted: bool) -> dict[str, Any]:
        with self.store.read() as conn:
            row = self._resolve_version(conn, subject, version, deleted)
            schema = Store.schema(conn, int(row["schema_id"]))
            assert schema is not None
            return _version_body(subject, int(row["version"]), int(schema["id"]), schema["schema"], schema["refs"])

    def get_schema(self, schema_id: str) -> dict[str, Any]:
        number = _int_or(schema_id, lambda: _schema_not_found())
        with self.store.read() as conn:
            row = Store.schema(conn, number)
            if row is None:
                raise _schema_not_found()
            out: dict[str, Any] = {"schema": row["schema"]}
            refs = json.loads(row["refs"])
            if refs:
                out["references"] = refs
            return out

    def schema_versions(self, schema_id: str) -> list[dict[str, Any]]:
        number = _int_or(schema_id, lambda: _schema_not_found())
        with self.store.read() as conn:
            if Store.schema(conn, number) is None:
                raise _schema_not_found()
            rows = conn.execute("SELECT subject, version FROM versions WHERE schema_id = ? AND deleted = 0 ORDER BY subject, version", (number,))
            return [{"subject": r[0], "version": int(r[1])} for r in rows]

    def referenced_by(self, subject: str, version: str) -> list[int]:
        with self.store.read() as conn:
            row = self._resolve_version(conn, subject, version, False)
            return _referrers(conn, subject, int(row["version"]), include_deleted=False)

    def delete_subject(self, subject: str, permanent: bool) -> list[int]:
        with self.store.write() as conn:
            self._writable(conn, subject)
            rows = Store.versions(conn, subject, deleted=True)
            if not rows:
                raise _subject_not_found(subject)
            live = [r for r in rows if not r["deleted"]]
            for r in rows if permanent else live:
                if _referrers(conn, subject, int(r["version"]), include_deleted=permanent):
                    raise ApiError(422, 42206, f"One or more references exist to the schema {{subject={subject},version={r['version']}}}")
            if permanent:
                if live:
                    raise ApiError(404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted")
                conn.execute("DELETE FROM versions WHERE subject = ?", (subject,))
                Store.put_setting(conn, "config", subject, None)
                Store.put_setting(conn, "mode", subject, None)
                return [int(r["version"]) for r in rows]
            if not live:
                raise ApiError(404, 40404, f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently")
            conn.execute("UPDATE versions SET deleted = 1 WHERE subject = ?", (subject,))
            return [int(r["version"]) for r in live]

    def delete_version(self, subject: str, version: str, permanent: bool) -> int:
        with self.store.write() as conn:
            self._writable(conn, subject)
            row = self._resolve_version(conn, subject, version, True) if _version_number(version) != -1 else None
            if row is None:
                live = Store.versions(conn, subject)
                if not Store.versions(conn, subject, deleted=True):
                    raise _subject_not_found(subject)
                if not live:
                    raise _version_not_found(subject, version)
                row = live[-1]
            number = int(row["version"])
            if _referrers(conn, subject, number, include_deleted=permanent):
                raise ApiError(422, 42206, f"One or more references exist to the schema {{subject={subject},version={number}}}")
            if permanent:
                if not row["deleted"]:
                    raise ApiError(404, 40407, f"Subject '{subject}' Version {number} was not deleted first before being permanently deleted")
                conn.execute("DELETE FROM versions WHERE subject = ? AND version = ?", (subject, number))
                return number
            if row["deleted"]:
                raise ApiError(404, 40406, f"Subject '{subject}' Version {number} was soft deleted. Set permanent=true to delete permanently")
            conn.execute("UPDATE versions SET deleted = 1 WHERE subject = ? AND version = ?", (subject, number))
            return number

    # -- config and mode ---------------------------------------------------
    def get_setting(self, table: str, subject: str | None, default_to_global: bool) -> dict[str, Any]:
        key = "compatibilityLevel" if table == "config" else "mode"
        with self.store.read() as conn:
            if subject is None:
                return {key: Store.setting(conn, table, GLOBAL) or (self.default_level if table == "config" else "READWRITE")}
            value = Store.setting(conn, table, subject)
            if value is None and default_to_global:
                value = Store.setting(conn, table, GLOBAL) or (self.default_level if table == "config" else "READWRITE")
            if value is None:
                if table == "config":
                    raise ApiError(404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured")
                raise ApiError(404, 40409, f"Subject '{subject}' does not have subject-level mode configured")
            return {key: value}

    def put_setting(self, table: str, subject: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if table == "config":
            unknown = set(body) - {"compatibility", "compatibilityLevel", "normalize", "alias", "compatibilityGroup", "defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet"}
            if unknown:
                raise ApiError(422, 422, f"Unrecognized field: {sorted(unknown)[0]}")
            level = body.get("compatibility", body.get("compatibilityLevel"))
            if not isinstance(level, str) or level.upper() not in LEVEL_NAMES:
                raise ApiError(422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
            with self.store.write() as conn:
                if subject is not None:
                    self._writable(conn, subject)
                Store.put_setting(conn, "config", subject or GLOBAL, level.upper())
            return {"compatibility": level.upper()}
        unknown = set(body) - {"mode"}
        if unknown:
            raise ApiError(422, 422, f"Unrecognized field: {sorted(unknown)[0]}")
        value = body.get("mode")
        if not isinstance(value, str) or value.upper() not in MODES:
            raise ApiError(422, 42204, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")
        with self.store.write() as conn:
            Store.put_setting(conn, "mode", subject or GLOBAL, value.upper())
        return {"mode": value.upper()}

    def delete_setting(self, table: str, subject: str | None) -> dict[str, Any]:
        key = "compatibilityLevel" if table == "config" else "mode"
        with self.store.write() as conn:
            old = Store.setting(conn, table, subject or GLOBAL)
            if subject is not None and old is None:
                if table == "config":
                    raise ApiError(404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured")
                raise ApiError(404, 40409, f"Subject '{subject}' does not have subject-level mode configured")
            Store.put_setting(conn, table, subject or GLOBAL, None)
        return {key: old or (self.default_level if table == "config" else "READWRITE")}

    # -- compatibility -----------------------------------------------------
    def compatibility(self, subject: str, version: str | None, body: dict[str, Any], verbose: bool) -> dict[str, Any]:
        with self.store.read() as conn:
            parsed = self._parse(conn, body)
            live = Store.versions(conn, subject)
            if not Store.versions(conn, subject, deleted=True) or not live:
                if version is None or _version_number(version) == -1:
                    return {"is_compatible": True, "messages": []} if verbose else {"is_compatible": True}
                raise _subject_not_found(subject)
            level = self._level(conn, subject)
            if level == "NONE":
                messages: list[str] = []
            elif version is None:
                messages = self._incompatibilities(conn, subject, parsed.schema, live, level, None)
            else:
                row = self._resolve_version(conn, subject, version, False)
                messages = self._incompatibilities(conn, subject, parsed.schema, live, level, int(row["version"]))
            out: dict[str, Any] = {"is_compatible": not messages}
            if verbose:
                out["messages"] = messages
            return out

    # -- associations (confluent-kafka 2.16 serializers ask for them first) -
    def associations(self, namespace: str, name: str, q: dict[str, str]) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            sql = "SELECT * FROM associations WHERE resource_name = ? AND (? = '-' OR resource_namespace = ?)"
            args: list[Any] = [name, namespace, namespace]
            if "resourceType" in q:
                sql += " AND resource_type = ?"
                args.append(q["resourceType"])
            if "associationType" in q:
                sql += " AND association_type = ?"
                args.append(q["associationType"])
            return [
                {"subject": r["subject"], "resourceName": r["resource_name"], "resourceNamespace": r["resource_namespace"],
                 "resourceType": r["resource_type"], "associationType": r["association_type"], "frozen": False}
                for r in conn.execute(sql, args)
            ]  # fmt: skip

    def create_association(self, body: dict[str, Any]) -> dict[str, Any]:
        name, ns = body.get("resourceName"), body.get("resourceNamespace", "-")
        rtype = body.get("resourceType", "topic")
        items = body.get("associations")
        if not isinstance(name, str) or not isinstance(items, list):
            raise ApiError(422, 422, "resourceName and associations are required")
        with self.store.write() as conn:
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("subject"), str):
                    raise ApiError(422, 422, "each association needs a subject")
                conn.execute(
                    "INSERT OR REPLACE INTO associations VALUES (?, ?, ?, ?, ?)",
                    (item["subject"], name, ns, rtype, item.get("associationType", "value")),
                )
        return {"resourceName": name, "resourceNamespace": ns, "associations": items}


def _version_body(subject: str, version: int, schema_id: int, text: str, refs_json: str) -> dict[str, Any]:
    out: dict[str, Any] = {"subject": subject, "version": version, "id": schema_id, "schema": text}
    refs = json.loads(refs_json)
    if refs:
        out["references"] = refs
    return out


def _referrers(conn: sqlite3.Connection, subject: str, version: int, *, include_deleted: bool) -> list[int]:
    sql = (
        "SELECT DISTINCT r.schema_id FROM refs r JOIN versions v ON v.schema_id = r.schema_id "
        "WHERE r.subject = ? AND r.version = ?" + ("" if include_deleted else " AND v.deleted = 0") + " ORDER BY r.schema_id"
    )
    return [int(row[0]) for row in conn.execute(sql, (subject, version))]


def _version_number(version: str) -> int:
    if version == "latest":
        return -1
    try:
        number = int(version)
    except ValueError:
        number = 0
    if number == -1 or number >= 1:
        return number
    raise ApiError(422, 42202, f"The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")


def _int_or(value: str, error: Any) -> int:
    try:
        return int(value)
    except ValueError:
        raise error() from None


def _flag(q: dict[str, str], name: str) -> bool:
    return q.get(name, "false").lower() == "true"


def _body(body: bytes | None) -> dict[str, Any]:
    if not body:
        raise ApiError(400, 400, "Request body is required")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, 400, f"Malformed JSON: {exc}") from exc
    except RecursionError:
        raise ApiError(400, 400, "Malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(400, 400, "The request body must be a JSON object")
    return data


def _not_allowed(method: str) -> ApiError:
    return ApiError(405, 405, f"HTTP 405 Method {method} Not Allowed")
