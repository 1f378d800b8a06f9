"""Answers the registry remembers (the same lookup or registration asked again) are never stale."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server import app as app_module
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.app import _route as real_route
from contracts.registry.server.store import Store
from contracts.schema import SchemaParser

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


def test_a_registration_that_wrote_is_remembered_when_nothing_else_changed() -> None:
    with EmbeddedRegistry() as reg:
        s = requests.Session()
        first = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)
        assert first.status_code == 200
        # Its own commit was the one change: asked again (the next producer of a deploy), the answer is the same.
        assert reg.app.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is not None
        again = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)  # over HTTP, from memory
        assert again.status_code == 200 and again.json() == first.json()
        s.delete(f"{reg.url}/subjects/x-value")
        assert reg.app.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is None
        third = s.post(f"{reg.url}/subjects/x-value/versions", data=_body("a"), headers=CT)
        assert third.status_code == 200 and third.json()["id"] == first.json()["id"]
        assert s.get(f"{reg.url}/subjects/x-value/versions").json() == [2]  # registered again, as a new version


def _then(after: Callable[[], object]) -> Any:
    """The app's routing, with ``after`` run once, when the first route's handler has answered (before its request ends)."""

    pending = [after]  # once: ``after`` itself asks the (patched) routing again

    def route(method: str, path: str) -> Any:
        template, handler, params = real_route(method, path)

        def handled(app: Any, request: Any) -> Any:
            answer = handler(app, request)
            while pending:
                pending.pop()()
            return answer

        return template, handled, params

    return route


def test_a_registration_is_not_remembered_when_another_commit_came_with_it(tmp_path: Path, monkeypatch: Any) -> None:
    app = RegistryApp(Store(tmp_path / "r.sqlite"))

    def another_writer() -> None:
        # Another worker's commit lands between this registration's and its end: its answer may no longer hold.
        other = threading.Thread(target=app.handle, args=("DELETE", "/subjects/x-value", {}, None))
        other.start()
        other.join()

    assert app.handle("POST", "/subjects/x-value/versions", {}, _body("a")).status == 200
    app.handle("PUT", "/config/x-value", {}, json.dumps({"compatibility": "NONE"}).encode())  # forgets the answer
    with monkeypatch.context() as patched:
        patched.setattr(app_module, "_route", _then(another_writer))
        # Registered already: this one writes nothing, and the one commit meanwhile is another's.
        assert app.handle("POST", "/subjects/x-value/versions", {}, _body("a")).status == 200
    assert app.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is None
    again = app.handle("POST", "/subjects/x-value/versions", {}, _body("a"))
    assert again.status == 200
    assert app.handle("GET", "/subjects/x-value/versions", {}, None).payload == [2]  # the delete held: registered anew


def test_a_registration_is_not_remembered_when_another_registry_wrote_meanwhile(tmp_path: Path, monkeypatch: Any) -> None:
    one, other = RegistryApp(Store(tmp_path / "shared.sqlite")), RegistryApp(Store(tmp_path / "shared.sqlite"))

    def another_process() -> None:
        other.handle("PUT", "/config/x-value", {}, json.dumps({"compatibility": "NONE"}).encode())

    with monkeypatch.context() as patched:
        patched.setattr(app_module, "_route", _then(another_process))
        assert one.handle("POST", "/subjects/x-value/versions", {}, _body("a")).status == 200
    assert one.remembered("POST", "/subjects/x-value/versions", {}, _body("a")) is None


class _Forgetful(RegistryApp):
    """The same registry, answering every request afresh."""

    def remembered(self, *args: Any, **kwargs: Any) -> Any:
        return None


_SUBJECTS = ["a-value", "b-value", "inner-value"]
_INNER = json.dumps({"type": "record", "name": "Inner", "namespace": "r", "fields": [{"name": "n", "type": "long"}]})


def _outer(doc: str) -> bytes:
    schema = {"type": "record", "name": "Outer", "namespace": "r", "doc": doc, "fields": [{"name": "inner", "type": "r.Inner"}]}
    return json.dumps({"schema": json.dumps(schema), "references": [{"name": "r.Inner", "subject": "inner-value", "version": 1}]}).encode()


def _request(op: tuple[str, int, int, bool]) -> tuple[str, str, dict[str, list[str]], bytes | None]:
    kind, who, which, flag = op
    subject = _SUBJECTS[who]
    schema = _body(["one", "two", "three"][which]) if subject != "inner-value" else json.dumps({"schema": _INNER}).encode()
    if flag and subject == "b-value" and kind in ("register", "lookup"):
        schema = _outer(["one", "two", "three"][which])  # reads inner-value's version 1
    query = {"deleted": ["true"]} if flag and kind == "lookup" else {}
    if which == 1:  # Confluent's client's spelling: every flag named, "True" or "False"
        query = {"normalize": ["False"], "deleted": [str(bool(query)).upper() if flag else "False"]}
    if kind == "register":
        return "POST", f"/subjects/{subject}/versions", {"normalize": ["False"]} if which == 1 else {}, schema
    if kind == "lookup":
        return "POST", f"/subjects/{subject}", query, schema
    if kind == "delete":
        return "DELETE", f"/subjects/{subject}", {"permanent": ["true"]} if flag else {}, None
    if kind == "delete-version":
        return "DELETE", f"/subjects/{subject}/versions/{which + 1}", {}, None
    target = "" if flag else f"/{subject}"
    if kind == "config":
        return "PUT", f"/config{target}", {}, json.dumps({"compatibility": ["NONE", "BACKWARD", "FULL"][which]}).encode()
    return "PUT", f"/mode{target}", {}, json.dumps({"mode": ["READWRITE", "READONLY", "READWRITE"][which]}).encode()


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["register", "register", "lookup", "lookup", "delete", "delete-version", "config", "mode"]),
        st.integers(0, 2), st.integers(0, 2), st.booleans(),
    ),
    min_size=1, max_size=40,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_OPS)
@example([("register", 0, 0, False), ("mode", 0, 1, True), ("register", 0, 0, False)])  # the registry made read-only
@example([("register", 0, 0, False), ("lookup", 0, 0, False), ("delete", 0, 0, False), ("lookup", 0, 0, False)])
@example([("register", 0, 0, False), ("register", 1, 0, False), ("mode", 0, 1, False), ("register", 0, 0, False), ("register", 1, 0, False)])
@example([("register", 2, 0, False), ("register", 1, 0, True), ("lookup", 1, 0, True), ("delete-version", 2, 0, True), ("lookup", 1, 0, True)])
@example([("register", 0, 0, False), ("delete-version", 0, 0, False), ("lookup", 0, 0, True), ("lookup", 0, 0, False)])
def test_every_answer_from_memory_is_the_answer_given_afresh(ops: list[tuple[str, int, int, bool]]) -> None:
    """A registry that remembers answers and one that does not, given the same requests, answer alike, every time."""
    remembering, fresh = RegistryApp(Store()), _Forgetful(Store())
    for op in ops:
        method, path, query, body = _request(op)
        got, expected = remembering.handle(method, path, query, body), fresh.handle(method, path, query, body)
        assert (got.status, got.payload) == (expected.status, expected.payload), (op, got.payload, expected.payload)


def test_a_schema_text_parsed_before_is_not_parsed_again(tmp_path: Path, monkeypatch: Any) -> None:
    """A producer's lookup of the schema its CI registered reuses that parse (texts without references only)."""
    app = RegistryApp(Store(tmp_path / "r.sqlite"))
    assert app.handle("POST", "/subjects/s-value/versions", {}, _body("one")).status == 200
    calls: list[int] = []
    real = SchemaParser.parse

    def counted(self: SchemaParser, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SchemaParser, "parse", counted)
    looked = app.handle("POST", "/subjects/s-value", {}, _body("one"))
    assert looked.status == 200 and looked.payload["version"] == 1
    assert calls == []
    assert app.handle("POST", "/subjects/s-value", {}, _body("two")).status == 404  # another text: parsed
    assert calls == [1]
    bad = json.dumps({"schema": json.dumps({"type": "record", "name": "E", "fields": [{"name": "x", "type": "nope"}]})}).encode()
    for _ in range(2):  # a text that fails is refused every time, never remembered as parsed
        assert app.handle("POST", "/subjects/s-value", {}, bad).status == 422
    assert calls == [1, 1, 1]


def test_the_first_lookup_after_a_registration_is_answered_from_memory(monkeypatch: Any) -> None:
    """Producers that look their schema up (not registering it) ask right after CI registered it: no store read."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    with EmbeddedRegistry() as reg:
        client = SchemaRegistryClient({"url": reg.url})
        schema = Schema(_schema("a"), "AVRO")
        schema_id = client.register_schema("x-value", schema)  # ?normalize=False
        fresh = reg.app.handle("POST", "/subjects/x-value", {}, _body("a")).payload

        def no_reads() -> Any:
            raise AssertionError("the store was read")

        monkeypatch.setattr(reg.app.store, "read", no_reads)
        found = SchemaRegistryClient({"url": reg.url}).lookup_schema("x-value", schema)  # ?normalize=False&deleted=False
        assert (found.schema_id, found.version) == (schema_id, fresh["version"])


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ({}, {"normalize": ["False"], "deleted": ["False"]}, True),
        ({"deleted": ["true"]}, {"deleted": ["TRUE"]}, True),
        ({"deleted": ["false", "true"]}, {"deleted": ["true"]}, True),  # the last value counts
        ({"deleted": ["true"]}, {}, False),
        ({"deleted": ["true", "false"]}, {"deleted": ["true"]}, False),
    ],
)
def test_a_lookup_is_remembered_by_what_its_flags_mean(one: dict[str, list[str]], other: dict[str, list[str]], same: bool) -> None:
    app = RegistryApp(Store())
    app.handle("POST", "/subjects/s-value/versions", {}, _body("one"))
    app.handle("PUT", "/config/s-value", {}, json.dumps({"compatibility": "NONE"}).encode())  # forgets what it foresaw
    app.handle("POST", "/subjects/s-value", one, _body("one"))
    assert (app.remembered("POST", "/subjects/s-value", other, _body("one")) is not None) == same
