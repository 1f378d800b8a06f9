"""The registry's routes: one handler per (method, path) of Confluent's REST API, and the table of them.

Schemas, subjects, versions and compatibility are here; config, mode and associations in ``settings``.
"""

from __future__ import annotations

import json
from typing import Any

from contracts import schema as s
from contracts.datacontract import Metadata, RuleSet
from contracts.registry.server import datacontracts, settings
from contracts.registry.server.bodies import SchemaBody
from contracts.registry.server.core import (
    ApiError,
    Handler,
    Parsed,
    RegistryCore,
    Request,
    parse_schema_id,
    parse_version,
    require_valid_defaults,
    schema_not_found,
    subject_not_found,
    version_body,
    version_not_found,
)
from contracts.registry.server.datacontracts import response_fields
from contracts.registry.server.store import Tx, schema_guid


# -- schemas by id ---------------------------------------------------------------
def root(app: RegistryCore, req: Request) -> Any:
    return {}


def schema_types(app: RegistryCore, req: Request) -> Any:
    return ["AVRO"]


def get_schema(app: RegistryCore, req: Request) -> dict[str, Any]:
    with app.store.read() as tx:
        if "guid" in req.params:
            found = tx.schema_id_by_guid(req.params["guid"].lower())
            row = None if found is None else tx.schema(found)
        else:
            row = tx.schema(parse_schema_id(req.params["id"]))
        if row is None:
            raise schema_not_found()
        out: dict[str, Any] = {"schema": row.text, "guid": row.guid}
        refs = json.loads(row.refs)
        if refs:
            out["references"] = refs
        out.update(response_fields(row.metadata, row.rule_set))
        return out


def get_schema_text(app: RegistryCore, req: Request) -> Any:
    return json.loads(get_schema(app, req)["schema"])


def schema_versions(app: RegistryCore, req: Request) -> list[dict[str, Any]]:
    number = parse_schema_id(req.params["id"])
    with app.store.read() as tx:
        if not tx.schema_exists(number):
            raise schema_not_found()
        return [{"subject": subject, "version": version} for subject, version in tx.usages(number)]


def schema_subjects(app: RegistryCore, req: Request) -> list[str]:
    return sorted({v["subject"] for v in schema_versions(app, req)})


# -- subjects and versions ---------------------------------------------------------
def list_subjects(app: RegistryCore, req: Request) -> list[str]:
    with app.store.read() as tx:
        return tx.subjects(deleted=req.flag("deleted"))


def lookup(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject = req.subject()
    with app.store.read() as tx:
        # An unknown subject is told before anything about the body: asked only on a miss, as a hit proves it.
        try:
            schema_id, version = _looked_up(app, tx, subject, req)
        except ApiError:
            if tx.subject_exists(subject):
                raise
            raise subject_not_found(subject) from None
        if schema_id is None or version is None:
            raise schema_not_found() if tx.subject_exists(subject) else subject_not_found(subject)
        row = tx.schema(schema_id)
        assert row is not None
        return version_body(subject, version, row)


def _looked_up(app: RegistryCore, tx: Tx, subject: str, req: Request) -> tuple[int | None, int | None]:
    """(schema id, version) of the request's schema in ``subject``; (None, None) when it holds none."""
    parsed, body = app.parse(tx, req)
    given = _given_contract(body)
    deleted = req.flag("deleted")
    if given != (None, None):  # a contract given is part of what is looked up
        contract = datacontracts.new_version(tx, subject, given, None)
        schema_id = tx.schema_id_by_fingerprint(_identity(parsed, contract))
        return schema_id, None if schema_id is None else tx.version_of_schema(subject, schema_id, deleted=deleted)
    return _version_with_schema(tx, subject, parsed, deleted)  # the schema alone, whatever contract its version carries


def _version_with_schema(tx: Tx, subject: str, parsed: Parsed, deleted: bool) -> tuple[int | None, int | None]:
    found = tx.newest_with_plain_schema(subject, parsed.fingerprint, deleted=deleted)
    return (None, None) if found is None else found


def _given_contract(body: SchemaBody) -> tuple[Metadata | None, RuleSet | None]:
    try:
        return datacontracts.parse_given(body.metadata, body.ruleSet)
    except datacontracts.InvalidContract as exc:
        raise ApiError(422, 42201, f"Invalid schema: {exc}") from None


def _identity(parsed: Parsed, contract: datacontracts.Contract) -> str:
    return s.fingerprint(parsed.text, references=parsed.refs, contract=contract.identity())


def _new_contract(app: RegistryCore, tx: Tx, subject: str, body: SchemaBody) -> datacontracts.Contract:
    latest = tx.latest(subject)
    previous = None if latest is None else app.contract(tx, latest.schema_id)
    return datacontracts.new_version(tx, subject, _given_contract(body), previous)


def _group(tx: Tx, subject: str, contract: datacontracts.Contract) -> tuple[str, str | None] | None:
    group = datacontracts.config(tx, subject).get("compatibilityGroup")
    return None if group is None else (group, datacontracts.group_value(contract, group))


def register(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject = req.subject()
    with app.store.write() as tx:
        mode = app.writable(tx, subject)
        parsed, body = app.parse(tx, req)
        contract = _new_contract(app, tx, subject, body)
        identity = _identity(parsed, contract)
        schema_id = tx.schema_id_by_fingerprint(identity)
        if schema_id is not None and tx.version_of_schema(subject, schema_id) is not None:
            return {"id": schema_id, "guid": schema_guid(identity)}
        require_valid_defaults(parsed.schema)
        level = app.level(tx, subject)
        latest = tx.latest(subject)
        if mode != "IMPORT" and latest is not None and level != "NONE":
            against = app.compared(tx, subject, level, _group(tx, subject, contract))
            messages = app.incompatibilities(tx, subject, parsed.schema, against, level, latest.version + 1)
            if messages:
                raise ApiError(
                    409, 409,
                    f'Schema being registered is incompatible with an earlier schema for subject "{subject}", details: '
                    + json.dumps(messages),
                )  # fmt: skip
        if schema_id is None:
            wanted = body.id if mode == "IMPORT" else None
            if wanted is not None and tx.schema_exists(wanted):
                raise ApiError(422, 42207, f"Overwrite new schema with id {wanted} is not permitted.")
            schema_id = tx.add_schema(
                identity, parsed.text, json.dumps(parsed.refs), [(r["subject"], r["version"]) for r in parsed.refs], wanted,
                *contract.texts(), parsed.fingerprint,
            )
        top = tx.top_version(subject)
        version = top + 1
        if mode == "IMPORT" and body.version is not None and body.version > top:
            version = body.version
        tx.add_version(subject, version, schema_id)
        return {"id": schema_id, "guid": schema_guid(identity)}


def latest_with_metadata(app: RegistryCore, req: Request) -> dict[str, Any]:
    """The newest version whose metadata properties hold every ``key``/``value`` pair asked for."""
    subject = req.subject()
    keys, values = req.query_all.get("key", []), req.query_all.get("value", [])
    if len(keys) != len(values):
        raise ApiError(422, 422, "key and value must be given as many times each")
    wanted = list(zip(keys, values, strict=True))
    with app.store.read() as tx:
        rows = tx.versions(subject, deleted=req.flag("deleted"))
        if not rows:
            raise subject_not_found(subject)
        for v in reversed(rows):
            row = tx.schema(v.schema_id)
            if row is not None and datacontracts.matches(datacontracts.Contract.stored(row.metadata, row.rule_set), wanted):
                return version_body(subject, v.version, row)
    raise ApiError(404, 40403, f"Schema with metadata {dict(wanted)} not found for subject '{subject}'")


def list_versions(app: RegistryCore, req: Request) -> list[int]:
    subject = req.subject()
    with app.store.read() as tx:
        rows = tx.versions(subject, deleted=req.flag("deleted"))
        if not rows:
            raise subject_not_found(subject)
        return [r.version for r in rows]


def get_version(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject = req.subject()
    with app.store.read() as tx:
        row = app.resolve_version(tx, subject, req.params["version"], req.flag("deleted"))
        schema = tx.schema(row.schema_id)
        assert schema is not None  # versions reference schemas by foreign key
        return version_body(subject, row.version, schema)


def get_version_text(app: RegistryCore, req: Request) -> Any:
    return json.loads(get_version(app, req)["schema"])


def referenced_by(app: RegistryCore, req: Request) -> list[int]:
    subject = req.subject()
    with app.store.read() as tx:
        row = app.resolve_version(tx, subject, req.params["version"], False)
        return tx.referrers(subject, row.version, include_deleted=False)


def _refuse_if_referenced(tx: Tx, subject: str, version: int, *, permanent: bool) -> None:
    if tx.referrers(subject, version, include_deleted=permanent):
        raise ApiError(422, 42206, f"One or more references exist to the schema {{subject={subject},version={version}}}")


def delete_subject(app: RegistryCore, req: Request) -> list[int]:
    subject, permanent = req.subject(), req.flag("permanent")
    with app.store.write() as tx:
        app.writable(tx, subject)
        rows = tx.versions(subject, deleted=True)
        if not rows:
            raise subject_not_found(subject)
        live = [r for r in rows if not r.deleted]
        for r in rows if permanent else live:
            _refuse_if_referenced(tx, subject, r.version, permanent=permanent)
        if permanent:
            if live:
                raise ApiError(404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted")
            tx.hard_delete(subject)
            tx.put_setting("config", subject, None)
            tx.put_setting("mode", subject, None)
            return [r.version for r in rows]
        if not live:
            raise ApiError(404, 40404, f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently")
        tx.soft_delete(subject)
        return [r.version for r in live]


def delete_version(app: RegistryCore, req: Request) -> int:
    subject, version, permanent = req.subject(), req.params["version"], req.flag("permanent")
    with app.store.write() as tx:
        app.writable(tx, subject)
        if parse_version(version) == -1:
            row = tx.latest(subject)
            if row is None:
                if not tx.subject_exists(subject):
                    raise subject_not_found(subject)
                raise version_not_found(subject, version)
        else:
            row = app.resolve_version(tx, subject, version, True)
        _refuse_if_referenced(tx, subject, row.version, permanent=permanent)
        if permanent:
            if not row.deleted:
                raise ApiError(404, 40407, f"Subject '{subject}' Version {row.version} was not deleted first before being permanently deleted")
            tx.hard_delete(subject, row.version)
            return row.version
        if row.deleted:
            raise ApiError(404, 40406, f"Subject '{subject}' Version {row.version} was soft deleted. Set permanent=true to delete permanently")
        tx.soft_delete(subject, row.version)
        return row.version


# -- compatibility ------------------------------------------------------------------
def compatibility(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject, version, verbose = req.subject(), req.params.get("version"), req.flag("verbose")
    with app.store.read() as tx:
        parsed, body = app.parse(tx, req)
        latest = tx.latest(subject)
        if latest is None:
            if version is None or parse_version(version) == -1:
                return {"is_compatible": True, "messages": []} if verbose else {"is_compatible": True}
            raise subject_not_found(subject)
        level = app.level(tx, subject)
        if level == "NONE":
            messages: list[str] = []
        elif version is None:
            against = app.compared(tx, subject, level, _group(tx, subject, _new_contract(app, tx, subject, body)))
            messages = app.incompatibilities(tx, subject, parsed.schema, against, level, latest.version + 1)
        else:
            row = app.resolve_version(tx, subject, version, False)
            messages = app.incompatibilities(tx, subject, parsed.schema, [row], level, latest.version + 1)
    out: dict[str, Any] = {"is_compatible": not messages}
    if verbose:
        out["messages"] = messages
    return out


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/", root),
    ("GET", "/schemas/types", schema_types),
    ("GET", "/schemas/ids/{id}", get_schema),
    ("GET", "/schemas/guids/{guid}", get_schema),
    ("GET", "/schemas/ids/{id}/schema", get_schema_text),
    ("GET", "/schemas/ids/{id}/versions", schema_versions),
    ("GET", "/schemas/ids/{id}/subjects", schema_subjects),
    ("GET", "/subjects", list_subjects),
    ("POST", "/subjects/{subject}", lookup),
    ("DELETE", "/subjects/{subject}", delete_subject),
    ("GET", "/subjects/{subject}/versions", list_versions),
    ("POST", "/subjects/{subject}/versions", register),
    ("GET", "/subjects/{subject}/versions/{version}", get_version),
    ("DELETE", "/subjects/{subject}/versions/{version}", delete_version),
    ("GET", "/subjects/{subject}/versions/{version}/schema", get_version_text),
    ("GET", "/subjects/{subject}/versions/{version}/referencedby", referenced_by),
    ("GET", "/subjects/{subject}/metadata", latest_with_metadata),
    *[
        (method, path, handler)
        for table, put in (("config", settings.put_config), ("mode", settings.put_mode))
        for path in (f"/{table}", f"/{table}/{{subject}}")
        for method, handler in (("GET", settings.get_setting(table)), ("PUT", put), ("DELETE", settings.delete_setting(table)))
    ],
    ("POST", "/compatibility/subjects/{subject}/versions", compatibility),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}", compatibility),
    ("GET", "/associations/resources/{namespace}/{name}", settings.associations),
    ("POST", "/associations", settings.create_association),
    ("DELETE", "/associations/resources/{resource_id}", settings.delete_associations),
]
