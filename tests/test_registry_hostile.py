"""Hostile requests against a real embedded registry: each is a 4xx in Confluent's error body, never a 5xx or silence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contracts.registry.server import EmbeddedRegistry

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
GOOD = json.dumps({"type": "record", "name": "E", "namespace": "h", "fields": [{"name": "a", "type": "string"}]})
OTHER = json.dumps({"type": "record", "name": "F", "namespace": "h", "fields": [{"name": "b", "type": "string"}]})


@pytest.fixture(scope="module")
def reg() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as registry:
        s = requests.Session()
        assert s.post(f"{registry.url}/subjects/base-value/versions", data=json.dumps({"schema": GOOD}), headers=CT).status_code == 200
        yield registry


def _raw_json(text: str) -> bytes:
    return text.encode()


# (name, method, path, body as bytes or JSON-able, mode to set first)
CASES: list[tuple[str, str, str, Any, str | None]] = [
    ("surrogate in a schema doc", "POST", "/subjects/x/versions", _raw_json('{"schema": "{\\"type\\":\\"record\\",\\"name\\":\\"S\\",\\"doc\\":\\"\\\\ud800\\",\\"fields\\":[]}"}'), None),
    ("surrogate in the body", "POST", "/subjects/x/versions", _raw_json('{"schema": "\\ud800"}'), None),
    ("surrogate in a reference subject", "POST", "/subjects/x/versions",
     _raw_json('{"schema": "\\"string\\"", "references": [{"name": "n", "subject": "\\udc00", "version": 1}]}'), None),
    ("surrogate in an association subject", "POST", "/associations",
     _raw_json('{"resourceName": "t", "associations": [{"subject": "\\ud800"}]}'), None),
    ("schema id above 2^63", "GET", "/schemas/ids/1180591620717411303424", None, None),
    ("schema id above 2^31", "GET", "/schemas/ids/2147483648/versions", None, None),
    ("negative schema id", "GET", "/schemas/ids/-3", None, None),
    ("version above 2^63", "GET", "/subjects/base-value/versions/1180591620717411303424", None, None),
    ("version above 2^31 on delete", "DELETE", "/subjects/base-value/versions/9223372036854775808", None, None),
    ("compatibility against a huge version", "POST", "/compatibility/subjects/base-value/versions/99999999999999999999", {"schema": GOOD}, None),
    ("association name as a list", "POST", "/associations", {"resourceName": ["t"], "associations": [{"subject": "s"}]}, None),
    ("association namespace as an object", "POST", "/associations", {"resourceName": "t", "resourceNamespace": {"a": 1}, "associations": [{"subject": "s"}]}, None),
    ("association type as a list", "POST", "/associations", {"resourceName": "t", "resourceType": [1], "associations": [{"subject": "s"}]}, None),
    ("association subject as a number", "POST", "/associations", {"resourceName": "t", "associations": [{"subject": 5}]}, None),
    ("import with a negative id", "POST", "/subjects/imp/versions", {"schema": OTHER, "id": -5}, "IMPORT"),
    ("import with an id the wire cannot carry", "POST", "/subjects/imp/versions", {"schema": OTHER, "id": 2**40}, "IMPORT"),
    ("import over an existing id", "POST", "/subjects/imp/versions", {"schema": OTHER, "id": 1}, "IMPORT"),
    ("import with a boolean version", "POST", "/subjects/imp/versions", {"schema": OTHER, "version": True}, "IMPORT"),
    ("reference version as a string", "POST", "/subjects/x/versions", {"schema": GOOD, "references": [{"name": "n", "subject": "s", "version": "1"}]}, None),
    ("references as an object", "POST", "/subjects/x/versions", {"schema": GOOD, "references": {"a": 1}}, None),
    ("schema as a number", "POST", "/subjects/x/versions", {"schema": 5}, None),
    ("subject with a NUL byte", "POST", "/subjects/a%00b/versions", {"schema": GOOD}, None),
    ("subject with a newline", "GET", "/subjects/a%0Ab/versions", None, None),
    ("path not UTF-8", "GET", "/subjects/%FF%FE/versions", None, None),
    ("compatibility level as a number", "PUT", "/config", {"compatibility": 3}, None),
    ("mode as a list", "PUT", "/mode", {"mode": ["IMPORT"]}, None),
    ("deeply nested body", "POST", "/subjects/x/versions", b"[" * 50000 + b"]" * 50000, None),
    ("body not UTF-8", "POST", "/subjects/x/versions", b'{"schema": "\xff\xfe"}', None),
    ("unknown route", "GET", "/../../etc/passwd", None, None),
    ("method not routed", "PATCH", "/subjects", None, None),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "mode"), CASES, ids=[c[0] for c in CASES])
def test_hostile_request_is_a_4xx_and_the_registry_stays_up(reg: EmbeddedRegistry, name: str, method: str, path: str, body: Any, mode: str | None) -> None:
    s = requests.Session()
    if mode:
        assert s.put(f"{reg.url}/mode", data=json.dumps({"mode": mode}), headers=CT).status_code == 200
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body)
        r = s.request(method, reg.url + path, data=data, headers=CT, timeout=10)
    finally:
        if mode:
            s.put(f"{reg.url}/mode", data=json.dumps({"mode": "READWRITE"}), headers=CT)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    payload = r.json()
    assert isinstance(payload["error_code"], int) and isinstance(payload["message"], str)
    assert "sqlite" not in payload["message"].lower() and "Traceback" not in payload["message"]
    assert s.get(f"{reg.url}/subjects", timeout=5).json() == ["base-value"], "the registry is up and nothing was registered"
