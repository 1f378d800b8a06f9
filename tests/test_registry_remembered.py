"""Answers the registry remembers (the same lookup or registration asked again) are never stale."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.store import Store

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _schema(doc: str) -> str:
    return json.dumps({"type": "record", "name": "E", "namespace": "r", "doc": doc, "fields": [{"name": "id", "type": "string"}]})


def _body(doc: str) -> bytes:
    return json.dumps({"schema": _schema(doc)}).encode()


def test_a_remembered_lookup_follows_every_change(tmp_path: Path) -> None:
    app = RegistryApp(Store(tmp_path / "r.sqlite"))
    assert app.handle("POST", "/subjects/s-value/versions", {}, _body("one")).payload["id"] == 1
    first = app.handle("POST", "/subjects/s-value", {}, _body("one"))
    assert first.payload["version"] == 1
    assert app.remembered("POST", "/subjects/s-value", {}, _body("one")) is not None  # asked again: from memory
    app.handle("PUT", "/config/s-value", {}, json.dumps({"compatibility": "NONE"}).encode())
    assert app.remembered("POST", "/subjects/s-value", {}, _body("one")) is None  # something changed: asked afresh
    app.handle("POST", "/subjects/s-value/versions", {}, _body("two"))
    app.handle("DELETE", "/subjects/s-value/versions/1", {}, None)
    gone = app.handle("POST", "/subjects/s-value", {}, _body("one"))
    assert gone.status == 404
    assert app.handle("POST", "/subjects/s-value", {"deleted": ["true"]}, _body("one")).status == 200  # the query is part of the request


def test_another_registry_on_the_same_file_makes_answers_stale(tmp_path: Path) -> None:
    one, other = RegistryApp(Store(tmp_path / "shared.sqlite")), RegistryApp(Store(tmp_path / "shared.sqlite"))
    one.handle("PUT", "/config", {}, json.dumps({"compatibility": "NONE"}).encode())
    one.handle("POST", "/subjects/s-value/versions", {}, _body("one"))
    assert one.handle("POST", "/subjects/s-value", {}, _body("one")).payload["version"] == 1
    assert one.remembered("POST", "/subjects/s-value", {}, _body("one")) is not None
    other.handle("DELETE", "/subjects/s-value", {}, None)  # another process, another connection
    assert one.remembered("POST", "/subjects/s-value", {}, _body("one")) is None
    assert one.handle("POST", "/subjects/s-value", {}, _body("one")).status == 404


def test_a_registration_that_wrote_is_not_remembered_but_its_repeat_is() -> None:
    with EmbeddedRegistry() as reg:
        s = requests.Session()
        first = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)
        assert first.status_code == 200
        assert reg.app.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is None
        again = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)
        assert again.json() == first.json()
        assert reg.app.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is not None
        third = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)  # over HTTP, from memory
        assert third.status_code == 200 and third.json() == first.json()
