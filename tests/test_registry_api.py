"""Conformance of the embedded registry over real HTTP: raw requests and confluent-kafka's client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from contracts.registry.server import EmbeddedRegistry

CT = "application/vnd.schemaregistry.v1+json"


def rec(*fields: dict[str, Any], name: str = "Order", ns: str = "t") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": ns, "fields": list(fields)})


V1 = rec({"name": "id", "type": "string"})
V2 = rec({"name": "id", "type": "string"}, {"name": "note", "type": ["null", "string"], "default": None})
BAD = rec({"name": "id", "type": "long"})


@pytest.fixture
def reg() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry() as r:
        yield r


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.s = requests.Session()

    def __call__(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        data = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
        r = self.s.request(method, self.url + path, data=data, params=params or None, headers={"Content-Type": CT})
        return r.status_code, r.json()

    def register(self, subject: str, schema: str, **extra: Any) -> tuple[int, Any]:
        return self("POST", f"/subjects/{subject}/versions", {"schema": schema, **extra})


@pytest.fixture
def api(reg: EmbeddedRegistry) -> Api:
    return Api(reg.url)


def err(result: tuple[int, Any]) -> tuple[int, int]:
    status, body = result
    return status, body["error_code"]


def test_register_idempotent_and_global_ids(api: Api) -> None:
    first = api.register("a-value", V1)
    assert first[0] == 200 and first[1]["id"] == 1
    guid = first[1]["guid"]
    assert api.register("a-value", json.dumps(json.loads(V1), indent=4)) == (200, {"id": 1, "guid": guid}), "same schema, other whitespace"
    assert api.register("b-value", V1) == (200, {"id": 1, "guid": guid}), "one id and one GUID for one schema across subjects"
    second = api.register("a-value", V2, normalize=True)[1]
    assert second["id"] == 2 and second["guid"] != guid
    assert api("GET", "/subjects/a-value/versions") == (200, [1, 2])
    assert api("GET", "/schemas/ids/1/versions")[1] == [{"subject": "a-value", "version": 1}, {"subject": "b-value", "version": 1}]
    assert api("GET", "/schemas/ids/1/subjects")[1] == ["a-value", "b-value"]
    assert api("GET", "/schemas/types") == (200, ["AVRO"])


def test_lookup_and_reads(api: Api) -> None:
    api.register("a-value", V1)
    status, body = api("POST", "/subjects/a-value", {"schema": V1})
    assert status == 200 and body["id"] == 1 and body["version"] == 1 and body["subject"] == "a-value"
    assert err(api("POST", "/subjects/nope", {"schema": V1})) == (404, 40401)
    assert err(api("POST", "/subjects/a-value", {"schema": V2})) == (404, 40403)
    status, body = api("GET", "/schemas/ids/1")
    assert status == 200 and json.loads(body["schema"])["name"] == "t.Order"
    assert api("GET", "/schemas/ids/1/schema")[1]["name"] == "t.Order"
    assert err(api("GET", "/schemas/ids/99")) == (404, 40403)
    assert api("GET", "/subjects/a-value/versions/latest")[1]["version"] == 1
    assert api("GET", "/subjects/a-value/versions/-1")[1]["version"] == 1
    assert api("GET", "/subjects/a-value/versions/1/schema")[1]["name"] == "t.Order"
    assert err(api("GET", "/subjects/a-value/versions/abc")) == (422, 42202)
    assert err(api("GET", "/subjects/a-value/versions/0")) == (422, 42202)
    assert err(api("GET", "/subjects/a-value/versions/7")) == (404, 40402)
    assert err(api("GET", "/subjects/zzz/versions/1")) == (404, 40401)
    assert err(api("GET", "/subjects/zzz/versions")) == (404, 40401)
    assert api("GET", "/subjects") == (200, ["a-value"])


def test_incompatible_register_is_409_with_findings_and_changes_nothing(api: Api) -> None:
    api.register("a-value", V1)
    status, body = api.register("a-value", BAD)
    assert status == 409 and body["error_code"] == 409 and "TYPE_CHANGED" in body["message"]
    assert api("GET", "/subjects/a-value/versions") == (200, [1])
    assert api("GET", "/schemas/ids/2")[0] == 404


def test_invalid_schema_42201(api: Api) -> None:
    assert err(api.register("a", '{"type": "record"')) == (422, 42201)
    assert err(api.register("a", json.dumps({"type": "record", "name": "X", "fields": [{"name": "f", "type": "Nope"}]}))) == (422, 42201)
    assert err(api.register("a", V1, schemaType="PROTOBUF")) == (422, 42201)
    assert err(api("POST", "/subjects/a/versions", {"schema": 5})) == (422, 42201)


def test_soft_then_permanent_delete(api: Api) -> None:
    api.register("a-value", V1)
    api.register("a-value", V2)
    assert err(api("DELETE", "/subjects/a-value/versions/1", permanent="true")) == (404, 40407)
    assert api("DELETE", "/subjects/a-value/versions/1") == (200, 1)
    assert err(api("DELETE", "/subjects/a-value/versions/1")) == (404, 40406)
    assert api("GET", "/subjects/a-value/versions") == (200, [2])
    assert api("GET", "/subjects/a-value/versions", deleted="true") == (200, [1, 2])
    assert api("DELETE", "/subjects/a-value/versions/1", permanent="true") == (200, 1)
    assert err(api("DELETE", "/subjects/a-value", permanent="true")) == (404, 40405)
    assert api("DELETE", "/subjects/a-value") == (200, [2])
    assert api("GET", "/subjects") == (200, [])
    assert api("GET", "/subjects", deleted="true") == (200, ["a-value"])
    assert err(api("DELETE", "/subjects/a-value")) == (404, 40404)
    assert api("DELETE", "/subjects/a-value", permanent="true") == (200, [2])
    assert err(api("DELETE", "/subjects/a-value")) == (404, 40401)
    # A new registration continues the numbering after soft deletes, as Confluent does.
    api.register("b-value", V1)
    api("DELETE", "/subjects/b-value")
    api.register("b-value", V1)
    assert api("GET", "/subjects/b-value/versions") == (200, [2])


def test_config_levels_and_errors(api: Api) -> None:
    assert api("GET", "/config") == (200, {"compatibilityLevel": "BACKWARD"})
    assert api("PUT", "/config", {"compatibility": "full"}) == (200, {"compatibility": "FULL"})
    assert err(api("PUT", "/config", {"compatibility": "SIDEWAYS"})) == (422, 42203)
    assert err(api("GET", "/config/a-value")) == (404, 40408)
    assert api("GET", "/config/a-value", defaultToGlobal="true") == (200, {"compatibilityLevel": "FULL"})
    assert api("PUT", "/config/a-value", {"compatibility": "NONE"}) == (200, {"compatibility": "NONE"})
    api.register("a-value", V1)
    assert api.register("a-value", BAD)[0] == 200, "NONE lets anything through"
    assert api("DELETE", "/config/a-value") == (200, {"compatibilityLevel": "NONE"})
    assert api("DELETE", "/config") == (200, {"compatibilityLevel": "FULL"})
    assert api("GET", "/config") == (200, {"compatibilityLevel": "BACKWARD"})


def test_compatibility_endpoint(api: Api) -> None:
    assert api("POST", "/compatibility/subjects/new/versions/latest", {"schema": V1}) == (200, {"is_compatible": True})
    api.register("a-value", V1)
    status, body = api("POST", "/compatibility/subjects/a-value/versions/latest", {"schema": BAD}, verbose="true")
    assert status == 200 and body["is_compatible"] is False and "TYPE_CHANGED" in body["messages"][0]
    assert api("POST", "/compatibility/subjects/a-value/versions/1", {"schema": V2})[1] == {"is_compatible": True}
    assert api("POST", "/compatibility/subjects/a-value/versions", {"schema": V2})[1]["is_compatible"] is True
    assert err(api("POST", "/compatibility/subjects/a-value/versions/9", {"schema": V2})) == (404, 40402)


def test_transitive_level_through_the_api(api: Api) -> None:
    api("PUT", "/config/a-value", {"compatibility": "BACKWARD_TRANSITIVE"})
    api.register("a-value", rec({"name": "id", "type": "string"}))
    api.register("a-value", rec({"name": "id", "type": "string"}, {"name": "n", "type": "long", "default": 0}))
    v3 = rec({"name": "id", "type": "string"}, {"name": "n", "type": "long"})
    status, body = api.register("a-value", v3)
    assert status == 409 and "v1" in body["message"]


def test_mode(api: Api) -> None:
    assert api("GET", "/mode") == (200, {"mode": "READWRITE"})
    assert api("PUT", "/mode", {"mode": "READONLY"}) == (200, {"mode": "READONLY"})
    assert err(api.register("a-value", V1)) == (422, 42205)
    assert err(api("PUT", "/mode", {"mode": "SLEEPY"})) == (422, 42204)
    api("PUT", "/mode", {"mode": "READWRITE"})
    api("PUT", "/mode/a-value", {"mode": "READONLY"})
    assert err(api.register("a-value", V1)) == (422, 42205)
    assert api.register("b-value", V1)[0] == 200
    assert api("GET", "/mode/a-value") == (200, {"mode": "READONLY"})
    assert err(api("GET", "/mode/b-value")) == (404, 40409)
    assert api("DELETE", "/mode/a-value") == (200, {"mode": "READONLY"})


def test_references_and_referencedby(api: Api) -> None:
    money = json.dumps({"type": "record", "name": "Money", "namespace": "c", "fields": [{"name": "cents", "type": "long"}]})
    assert api.register("c.Money", money)[1]["id"] == 1
    order = json.dumps({"type": "record", "name": "Order", "namespace": "o", "fields": [{"name": "total", "type": "c.Money"}]})
    refs = [{"name": "c.Money", "subject": "c.Money", "version": 1}]
    status, body = api.register("orders-value", order, references=refs)
    assert status == 200 and body["id"] == 2
    assert api("GET", "/schemas/ids/2")[1]["references"] == refs
    assert api("GET", "/subjects/c.Money/versions/1/referencedby") == (200, [2])
    assert err(api("DELETE", "/subjects/c.Money/versions/1")) == (422, 42206)
    assert err(api("DELETE", "/subjects/c.Money")) == (422, 42206)
    assert err(api.register("x", order)) == (422, 42201), "without the reference the type is unknown"
    assert err(api.register("x", order, references=[{"name": "c.Money", "subject": "c.Money", "version": 5}])) == (422, 42201)


def test_associations_route_lets_serializers_fall_back(api: Api) -> None:
    status, body = api("GET", "/associations/resources/-/orders", resourceType="topic", associationType="value")
    assert (status, body) == (200, [])


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[1,2]", b'"str"', b"", b"\xff\xfe", json.dumps({"schema": V1, "bogus": 1}).encode(), b"[" * 100000],
)
def test_bad_bodies_are_4xx(api: Api, body: bytes) -> None:
    status, payload = api("POST", "/subjects/a/versions", body)
    assert 400 <= status < 500 and "error_code" in payload


def test_huge_body_is_413(reg: EmbeddedRegistry) -> None:
    r = requests.post(reg.url + "/subjects/a/versions", data=b"x" * (17 * 1024 * 1024), headers={"Content-Type": CT})
    assert r.status_code == 413


def test_confluent_client_end_to_end(reg: EmbeddedRegistry) -> None:
    client = SchemaRegistryClient({"url": reg.url})
    sid = client.register_schema("a-value", Schema(V1, "AVRO"))
    assert client.register_schema("a-value", Schema(V1, "AVRO")) == sid
    assert client.lookup_schema("a-value", Schema(V1, "AVRO")).version == 1
    assert client.get_latest_version("a-value").schema_id == sid
    assert client.get_version("a-value", 1).version == 1
    assert client.get_subjects() == ["a-value"]
    assert client.get_versions("a-value") == [1]
    assert json.loads(client.get_schema(sid).schema_str)["name"] == "t.Order"
    assert client.test_compatibility("a-value", Schema(V2, "AVRO")) is True
    assert client.test_compatibility("a-value", Schema(BAD, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as exc:
        client.register_schema("a-value", Schema(BAD, "AVRO"))
    assert exc.value.http_status_code == 409
    assert client.set_compatibility("a-value", "FULL")["compatibility"] == "FULL"
    assert client.get_compatibility("a-value") == "FULL"
    money = json.dumps({"type": "record", "name": "Money", "namespace": "c", "fields": [{"name": "cents", "type": "long"}]})
    client.register_schema("c.Money", Schema(money, "AVRO"))
    order = json.dumps({"type": "record", "name": "O", "namespace": "o", "fields": [{"name": "m", "type": "c.Money"}]})
    ref_id = client.register_schema("o-value", Schema(order, "AVRO", [SchemaReference("c.Money", "c.Money", 1)]))
    assert client.get_schema(ref_id).references[0].subject == "c.Money"
    assert client.delete_version("a-value", 1) == 1
    with pytest.raises(SchemaRegistryError) as exc:
        client.delete_subject("a-value")  # every version is already soft-deleted
    assert exc.value.error_code == 40404
    assert client.delete_subject("a-value", permanent=True) == [1]
    with pytest.raises(SchemaRegistryError) as exc:
        client.get_latest_version("nope")
    assert exc.value.error_code == 40401


def test_basic_auth_on_every_route() -> None:
    with EmbeddedRegistry(auth="alice:s3cret") as reg:
        assert requests.get(reg.url + "/subjects").status_code == 401
        assert requests.get(reg.url + "/subjects", auth=("alice", "wrong")).status_code == 401
        assert requests.get(reg.url + "/subjects", auth=("alice", "s3cret")).status_code == 200
        client = SchemaRegistryClient({"url": reg.url, "basic.auth.user.info": "alice:s3cret"})
        assert client.register_schema("a", Schema(V1, "AVRO")) == 1
