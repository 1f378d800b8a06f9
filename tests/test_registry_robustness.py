"""Concurrency, crash safety and fuzzing of the embedded registry."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.store import Store

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _schema(i: int) -> str:
    fields = [{"name": "id", "type": "string"}] + [{"name": f"f{j}", "type": ["null", "long"], "default": None} for j in range(i)]
    return json.dumps({"type": "record", "name": "E", "namespace": "c", "fields": fields})


def test_fifty_concurrent_writers(tmp_path: Path) -> None:
    with EmbeddedRegistry(tmp_path / "r.sqlite") as reg:
        session_per_thread: dict[int, requests.Session] = {}

        def work(n: int) -> tuple[str, int, int]:
            s = session_per_thread.setdefault(n % 50, requests.Session())
            subject = f"s{n % 5}"
            i = n % 7  # overlapping schemas: the same schema lands in several subjects and threads
            r = s.post(f"{reg.url}/subjects/{subject}/versions", data=json.dumps({"schema": _schema(i)}), headers=CT)
            assert r.status_code == 200, r.text
            look = s.post(f"{reg.url}/subjects/{subject}", data=json.dumps({"schema": _schema(i)}), headers=CT)
            assert look.status_code == 200
            return subject, i, r.json()["id"]

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(work, range(400)))
        ids: dict[int, set[int]] = {}
        for _, i, sid in results:
            ids.setdefault(i, set()).add(sid)
        assert all(len(v) == 1 for v in ids.values()), "one schema, one id"
        assert len({next(iter(v)) for v in ids.values()}) == len(ids), "different schemas, different ids"
        for k in range(5):
            versions = requests.get(f"{reg.url}/subjects/s{k}/versions").json()
            assert versions == list(range(1, len(versions) + 1)), "versions contiguous, none lost or doubled"
            schemas = {requests.get(f"{reg.url}/subjects/s{k}/versions/{v}").json()["id"] for v in versions}
            assert len(schemas) == len(versions)


def test_connection_burst_before_accept_is_not_reset() -> None:
    # Clients that connect while the accept loop is not running (starved, or busy) wait in the
    # listen backlog; socketserver's default of 5 would drop or reset all but the first few.
    reg = EmbeddedRegistry()
    socks: list[socket.socket] = []
    try:
        for _ in range(100):
            sock = socket.socket()
            sock.settimeout(2)
            sock.connect(("127.0.0.1", int(reg.url.rsplit(":", 1)[1])))
            socks.append(sock)
        reg.start()
        for sock in socks:
            sock.sendall(b"GET /subjects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for sock in socks:
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"[]")
    finally:
        for sock in socks:
            sock.close()
        reg.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", str(port), "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("registry did not start")


def test_kill_9_loses_no_acknowledged_registration(tmp_path: Path) -> None:
    data, port = tmp_path / "r.sqlite", _free_port()
    proc = _start(data, port)
    acknowledged: list[tuple[str, int]] = []
    try:
        url = f"http://127.0.0.1:{port}"
        session = requests.Session()
        started = time.monotonic()
        i = 0
        while time.monotonic() - started < 1.5:
            subject = f"crash-{i % 3}"
            r = session.post(f"{url}/subjects/{subject}/versions", data=json.dumps({"schema": _schema(i)}), headers=CT, timeout=5)
            if r.status_code == 200:
                acknowledged.append((subject, r.json()["id"]))
            i += 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(acknowledged) > 10
    proc = _start(data, port)
    try:
        for subject, sid in acknowledged:
            r = requests.get(f"http://127.0.0.1:{port}/schemas/ids/{sid}/versions", timeout=5)
            assert r.status_code == 200 and any(v["subject"] == subject for v in r.json()), (subject, sid)
    finally:
        proc.terminate()
        proc.wait(10)


# -- fuzzing: hypothesis over request shapes, straight into the app (no 5xx, ever) ----------

_segments = st.sampled_from(
    ["subjects", "versions", "schemas", "ids", "config", "mode", "compatibility", "latest", "-1", "0", "1", "abc",
     "referencedby", "schema", "types", "associations", "resources", "-", "a-value", "%2F", "..", "999999999999999999999"]
)  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_bodies = st.one_of(
    st.none(),
    st.binary(max_size=50),
    _json.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"schema": st.one_of(st.text(max_size=30), _json.map(json.dumps), st.just(json.dumps({"type": "record", "name": "R", "fields": []})))},
        optional={"references": _json, "schemaType": st.sampled_from(["AVRO", "JSON", 5]), "compatibility": _json, "mode": _json},
    ).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.lists(_segments, max_size=5).map(lambda p: "/" + "/".join(p)),
    query=st.dictionaries(st.sampled_from(["deleted", "permanent", "verbose", "defaultToGlobal", "normalize"]), st.sampled_from(["true", "false", "x"])),
    body=_bodies,
)
def test_fuzz_never_5xx(method: str, path: str, query: dict[str, str], body: bytes | None) -> None:
    app = _APP
    response = app.handle(method, path, {k: [v] for k, v in query.items()}, body)
    assert response.status < 500, (method, path, body, response.payload)
    json.dumps(response.payload)
    if response.status >= 400:
        assert isinstance(response.payload.get("error_code"), int)


_APP = RegistryApp(Store(":memory:"))
_APP.handle("POST", "/subjects/a-value/versions", {}, json.dumps({"schema": _schema(1)}).encode())


@pytest.mark.parametrize("path", ["/subjects/a-value/versions", "/config", "/mode", "/subjects/a-value/versions/1"])
def test_fuzz_over_http_no_crash(path: str) -> None:
    with EmbeddedRegistry() as reg:
        for payload in (b"\x00" * 10, b"{" * 5000, b'{"schema": "\\ud800"}', "é".encode("latin-1")):
            for method in ("POST", "PUT", "GET", "DELETE"):
                r = requests.request(method, reg.url + path, data=payload, headers=CT)
                assert r.status_code < 500
        assert requests.get(reg.url + "/subjects").status_code == 200, "still serving"


