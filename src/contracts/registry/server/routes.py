"""The registry's routes: one handler per (method, path) of Confluent's REST API, and the table of them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from contracts import schema as s
from contracts.datacontract import Metadata, RuleSet
from contracts.levels import parse_level
from contracts.registry.server import datacontracts
from contracts.registry.server.bodies import AssociationBody, BodyError, ConfigBody, ModeBody, SchemaBody, parse_body
from contracts.registry.server.core import (
    MODES,
    ApiError,
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
from contracts.registry.server.store import GLOBAL, Association, Tx, schema_guid

Handler = Callable[[RegistryCore, Request], Any]


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
        if not tx.subject_exists(subject):
            raise subject_not_found(subject)
        parsed, body = app.parse(tx, req)
        given = _given_contract(body)
        deleted = req.flag("deleted")
        if given != (None, None):  # a contract given is part of what is looked up
            contract = datacontracts.new_version(tx, subject, given, None)
            schema_id = tx.schema_id_by_fingerprint(_identity(parsed, contract))
            version = None if schema_id is None else tx.version_of_schema(subject, schema_id, deleted=deleted)
        else:  # the schema alone, whatever contract its version carries (the newest such version)
            schema_id, version = _version_with_schema(tx, subject, parsed, deleted)
        if schema_id is None or version is None:
            raise schema_not_found()
        row = tx.schema(schema_id)
        assert row is not None
        return version_body(subject, version, row)


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


# -- config and mode -----------------------------------------------------------------
_SETTING_KEY = {"config": "compatibilityLevel", "mode": "mode"}
_NOT_CONFIGURED = {"config": (40408, "compatibility"), "mode": (40409, "mode")}


def _target(req: Request) -> str | None:
    return req.subject() if "subject" in req.params else None


def _not_configured(table: str, subject: str) -> ApiError:
    code, what = _NOT_CONFIGURED[table]
    return ApiError(404, code, f"Subject '{subject}' does not have subject-level {what} configured")


def _get_setting(table: str) -> Handler:
    def get(app: RegistryCore, req: Request) -> dict[str, Any]:
        subject = _target(req)
        with app.store.read() as tx:
            value = app.setting_value(tx, table, subject, req.flag("defaultToGlobal"))
            extra = {} if table != "config" else (
                datacontracts.config(tx, subject) if subject is None or req.flag("defaultToGlobal")
                else json.loads(tx.contract_config(subject) or "{}")
            )  # fmt: skip
        if value is None and not extra:
            raise _not_configured(table, subject or GLOBAL)
        out: dict[str, Any] = {} if value is None else {_SETTING_KEY[table]: value}
        return {**out, **extra}

    return get


def _delete_setting(table: str) -> Handler:
    def delete(app: RegistryCore, req: Request) -> dict[str, Any]:
        subject = _target(req)
        with app.store.write() as tx:
            old = tx.setting(table, subject or GLOBAL)
            if subject is not None and old is None:
                raise _not_configured(table, subject)
            tx.put_setting(table, subject or GLOBAL, None)
            if table == "config":
                tx.put_contract_config(subject or GLOBAL, None)
        return {_SETTING_KEY[table]: old or (app.default_level if table == "config" else "READWRITE")}

    return delete


def _body_of(model: Any, req: Request) -> Any:
    try:
        return parse_body(model, req.json())
    except BodyError as exc:
        raise ApiError(422, 422, exc.message) from None


def put_config(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject = _target(req)
    body: ConfigBody = _body_of(ConfigBody, req)
    given = body.compatibility if body.compatibility is not None else body.compatibilityLevel
    level = parse_level(given) if given is not None else None
    if given is not None and level is None:
        raise ApiError(422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
    try:
        contract_keys = datacontracts.check_config(body.model_dump(include=set(datacontracts.CONFIG_KEYS)))
    except datacontracts.InvalidContract as exc:
        raise ApiError(422, 42203, f"Invalid config: {exc}") from None
    if level is None and not contract_keys:
        raise ApiError(422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
    with app.store.write() as tx:
        if subject is not None:
            app.writable(tx, subject)
        if level is not None:
            tx.put_setting("config", subject or GLOBAL, level)
        if contract_keys:  # the keys given replace their old values; the others stay
            kept = json.loads(tx.contract_config(subject or GLOBAL) or "{}")
            tx.put_contract_config(subject or GLOBAL, json.dumps({**kept, **contract_keys}))
    out: dict[str, Any] = {} if level is None else {"compatibility": level}
    return {**out, **contract_keys}


def put_mode(app: RegistryCore, req: Request) -> dict[str, Any]:
    subject = _target(req)
    body: ModeBody = _body_of(ModeBody, req)
    if body.mode is None or body.mode.upper() not in MODES:
        raise ApiError(422, 42204, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")
    with app.store.write() as tx:
        tx.put_setting("mode", subject or GLOBAL, body.mode.upper())
    return {"mode": body.mode.upper()}


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


# -- associations (confluent-kafka 2.16 serializers ask for them first) ------------------
def associations(app: RegistryCore, req: Request) -> list[dict[str, Any]]:
    with app.store.read() as tx:
        found = tx.associations(req.params["namespace"], req.params["name"], req.query.get("resourceType"), req.query.get("associationType"))
    return [
        {"subject": a.subject, "resourceName": a.resource_name, "resourceNamespace": a.resource_namespace,
         "resourceId": a.resource_id, "resourceType": a.resource_type, "associationType": a.association_type,
         "frozen": False}
        for a in found
    ]  # fmt: skip


def create_association(app: RegistryCore, req: Request) -> dict[str, Any]:
    body: AssociationBody = _body_of(AssociationBody, req)
    resource_id = body.resourceId or str(uuid.uuid4())  # a client that names none gets one to delete by
    with app.store.write() as tx:
        for item in body.associations:
            tx.put_association(
                Association(item.subject, body.resourceName, body.resourceNamespace, body.resourceType, item.associationType, resource_id)
            )
    return {
        "resourceName": body.resourceName,
        "resourceNamespace": body.resourceNamespace,
        "resourceId": resource_id,
        "resourceType": body.resourceType,
        "associations": [{"subject": a.subject, "associationType": a.associationType} for a in body.associations],
    }


def delete_associations(app: RegistryCore, req: Request) -> None:
    """Forget a resource's associations (``associationType`` may repeat); serializers then use ``{topic}-value``."""
    with app.store.write() as tx:
        tx.delete_associations(req.params["resource_id"], req.query.get("resourceType"), req.query_all.get("associationType", []))
    return None


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
        for table, put in (("config", put_config), ("mode", put_mode))
        for path in (f"/{table}", f"/{table}/{{subject}}")
        for method, handler in (("GET", _get_setting(table)), ("PUT", put), ("DELETE", _delete_setting(table)))
    ],
    ("POST", "/compatibility/subjects/{subject}/versions", compatibility),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}", compatibility),
    ("GET", "/associations/resources/{namespace}/{name}", associations),
    ("POST", "/associations", create_association),
    ("DELETE", "/associations/resources/{resource_id}", delete_associations),
]
