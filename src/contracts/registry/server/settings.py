"""The registry's settings routes: config (compatibility and data-contract settings), mode, and associations."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts.levels import parse_level
from contracts.registry.server import datacontracts
from contracts.registry.server.bodies import AssociationBody, BodyError, ConfigBody, ModeBody, parse_body
from contracts.registry.server.core import MODES, ApiError, Handler, RegistryCore, Request
from contracts.registry.server.store import GLOBAL, Association

# -- config and mode -----------------------------------------------------------------
_SETTING_KEY = {"config": "compatibilityLevel", "mode": "mode"}
_NOT_CONFIGURED = {"config": (40408, "compatibility"), "mode": (40409, "mode")}


def _target(req: Request) -> str | None:
    return req.subject() if "subject" in req.params else None


def _not_configured(table: str, subject: str) -> ApiError:
    code, what = _NOT_CONFIGURED[table]
    return ApiError(404, code, f"Subject '{subject}' does not have subject-level {what} configured")


def get_setting(table: str) -> Handler:
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


def delete_setting(table: str) -> Handler:
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
