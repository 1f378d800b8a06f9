"""Registry defects found by hostile probing: each test fails on the code before its fix."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.store import Store
from contracts.schema import MAX_DEPTH
from contracts.testing.broker import free_port, wait_for_port
from contracts.testing.slowclients import dribbling

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _doc_schema(i: int) -> str:
    return json.dumps({"type": "record", "name": "V", "doc": f"v{i}", "fields": [{"name": "id", "type": "string"}]})


def _post(app: RegistryApp, path: str, body: object) -> tuple[int, object]:
    r = app.handle("POST", path, {}, json.dumps(body).encode())
    return r.status, r.payload


def _fill(app: RegistryApp, subject: str, versions: int) -> None:
    app.handle("PUT", f"/config/{subject}", {}, b'{"compatibility": "NONE"}')
    for i in range(versions):
        assert _post(app, f"/subjects/{subject}/versions", {"schema": _doc_schema(i)})[0] == 200
    app.handle("PUT", f"/config/{subject}", {}, b'{"compatibility": "BACKWARD"}')


def _steps(store: Store, work: object) -> int:
    """SQLite virtual-machine steps that ``work`` costs: a count, not a time, so the test is not noisy."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    store._conn.set_progress_handler(tick, 1)
    try:
        work()  # type: ignore[operator]
    finally:
        store._conn.set_progress_handler(None, 1)
    return count[0]


_REQUESTS = [
    ("POST", "/subjects/s/versions", {}, json.dumps({"schema": _doc_schema(10**6)}).encode()),
    ("POST", "/subjects/s", {}, json.dumps({"schema": _doc_schema(3)}).encode()),
    ("GET", "/subjects/s/versions/latest", {}, None),
    ("GET", "/subjects/s/versions/7", {}, None),
]


def test_per_request_work_does_not_grow_with_the_version_count() -> None:
    # Registration, lookup and GET latest used to read every version of the subject on every request.
    costs: dict[int, list[int]] = {}
    for versions in (20, 2000):
        store = Store()
        app = RegistryApp(store)
        _fill(app, "s", versions)
        costs[versions] = [_steps(store, lambda app=app, r=r: app.handle(*r)) for r in _REQUESTS]  # type: ignore[misc]
    for small, large in zip(costs[20], costs[2000], strict=True):
        assert large < small * 1.5 + 200, costs


def _nested(depth: int) -> str:
    """A record nested ``depth`` levels deep, as JSON text (too deep for json.dumps to write)."""
    text = '{"type": "record", "name": "R0", "fields": [{"name": "x", "type": "int"}]}'
    for i in range(1, depth):
        text = f'{{"type": "record", "name": "R{i}", "fields": [{{"name": "inner", "type": {text}}}]}}'
    return text


def test_a_deep_schema_is_refused_and_cannot_brick_its_subject() -> None:
    store = Store()
    app = RegistryApp(store)
    assert _post(app, "/subjects/d/versions", {"schema": _nested(10)})[0] == 200
    for depth in (MAX_DEPTH + 1, 327):
        status, body = _post(app, "/subjects/d/versions", {"schema": _nested(depth)})
        assert status == 422 and body["error_code"] == 42201, body  # type: ignore[index]
    # the subject still works for every later request
    assert _post(app, "/subjects/d/versions", {"schema": _nested(11)})[0] in (200, 409)
    assert _post(app, "/compatibility/subjects/d/versions/latest", {"schema": _nested(10)})[0] == 200
    # one limit for accepting and re-reading: a schema at the limit is accepted, and read again from the store
    assert _post(app, "/subjects/limit/versions", {"schema": _nested(MAX_DEPTH)})[0] == 200
    fresh = RegistryApp(store)  # an empty cache: the stored text is parsed again
    assert _post(fresh, "/compatibility/subjects/limit/versions/latest", {"schema": _nested(MAX_DEPTH)})[0] == 200
    assert _post(fresh, "/subjects/limit/versions", {"schema": _nested(MAX_DEPTH)})[0] == 200


def test_parsed_schema_cache_is_bounded_by_size() -> None:
    app = RegistryApp(Store(), cache_budget=200_000)
    for i in range(40):
        fields = [{"name": f"f{j}", "type": "string", "doc": "x" * 200} for j in range(100)]
        schema = json.dumps({"type": "record", "name": f"Big{i}", "fields": fields})
        assert _post(app, f"/subjects/big{i}/versions", {"schema": schema})[0] == 200
        assert _post(app, f"/compatibility/subjects/big{i}/versions/latest", {"schema": schema})[0] == 200
    assert app.cache.weight <= 200_000 and 0 < len(app.cache) < 40


_RSS_SCRIPT = """
import ctypes, ctypes.util, gc, json, sys
import requests
from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:"))
with EmbeddedRegistry(sys.argv[1]) as reg:
    reg.app.cache.budget = int(sys.argv[2]) * 1024 * 1024
    s = requests.Session()
    for i in range(8):
        fields = [{"name": f"f{j}", "type": ["null", "string"], "default": None} for j in range(int(sys.argv[3]) + i)]
        body = json.dumps({"schema": json.dumps({"type": "record", "name": "R", "fields": fields})})
        assert s.post(reg.url + "/subjects/s/versions", data=body).status_code == 200
        assert s.post(reg.url + "/compatibility/subjects/s/versions/latest", data=body).status_code == 200
        del fields, body
        gc.collect()
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)  # count what is held, not what glibc keeps
        print(rss(), reg.app.cache.weight, len(reg.app.cache), flush=True)
"""


def test_parse_cache_memory_stays_within_its_budget(tmp_path: Path) -> None:
    # Regression (adoption round 2, item 20): entries were weighed by text length, but a parsed schema holds
    # several times its text, so 8 large versions grew RSS far past the budget. Test RSS, not the counter.
    # Versions of 30,000 fields hold about 9 MiB parsed (about 1.6 MiB of text each): a 12 MiB budget keeps one.
    # Weighed by their text, seven were kept (RSS grew by about 50 MiB); RSS also moves by several MiB on its own.
    budget_mib = 12
    args = [sys.executable, "-c", _RSS_SCRIPT, str(tmp_path / "r.sqlite"), str(budget_mib), "30000"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [tuple(map(int, line.split())) for line in out.stdout.splitlines()]
    assert all(weight <= budget_mib * 1024 * 1024 for _, weight, _ in rows)
    growth = rows[-1][0] - rows[1][0]  # what keeps growing past the first versions is what the cache keeps
    assert growth < 2 * budget_mib * 1024, f"RSS grew {growth} KiB over 6 more versions with a {budget_mib} MiB budget: {rows}"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_server_memory_stays_flat_while_registering_large_schemas(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", str(port), "--data", str(tmp_path / "r.sqlite")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port)
        s = requests.Session()

        def register(i: int) -> None:
            fields = [
                {"name": f"f{j}", "type": ["null", "string"], "default": None, "doc": "d" * 100} for j in range(4000)
            ]
            schema = json.dumps({"type": "record", "name": f"Big{i}", "fields": fields})  # ~0.6 MB
            r = s.post(
                f"http://127.0.0.1:{port}/subjects/big{i}/versions", data=json.dumps({"schema": schema}), headers=CT
            )
            assert r.status_code == 200, r.text
            r = s.post(
                f"http://127.0.0.1:{port}/compatibility/subjects/big{i}/versions/latest",
                data=json.dumps({"schema": schema}),
                headers=CT,
            )
            assert r.status_code == 200

        for i in range(30):  # past the cache budget: from here on, memory must not keep growing
            register(i)
        before = _rss_kib(proc.pid)
        for i in range(30, 90):
            register(i)
        grown = _rss_kib(proc.pid) - before
        assert grown < 60_000, f"RSS grew {grown} KiB over 60 more large schemas"
    finally:
        proc.terminate()
        proc.wait(10)


# -- connections -------------------------------------------------------------------
def _raw(port: int, data: bytes, *, half_close: bool = False, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
                if b"\r\n\r\n" in reply and _complete(reply):
                    break
        except TimeoutError:
            pass
        return reply


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _port(reg: EmbeddedRegistry) -> int:
    return int(reg.url.rsplit(":", 1)[1])


def test_short_body_is_refused_never_registered_truncated() -> None:
    with EmbeddedRegistry(read_timeout=1.0) as reg:
        body = json.dumps({"schema": _doc_schema(1)}).encode()
        head = f"POST /subjects/t/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body) + 50}\r\n\r\n".encode()
        reply = _raw(_port(reg), head + body, half_close=True)
        assert reply.startswith(b"HTTP/1.1 400") and b"shorter than its Content-Length" in reply
        reply = _raw(_port(reg), head + body)  # not closed: the read times out and says so
        assert reply.startswith(b"HTTP/1.1 408")
        assert requests.get(f"{reg.url}/subjects").json() == [], "nothing was registered"


def test_idle_connections_time_out_and_their_number_is_capped() -> None:
    with EmbeddedRegistry(read_timeout=0.5, max_connections=8) as reg:
        baseline = threading.active_count()
        idle = [socket.create_connection(("127.0.0.1", _port(reg))) for _ in range(30)]
        try:
            time.sleep(0.2)
            assert threading.active_count() <= baseline + 8, "one thread per capped connection at most"
            busy = _raw(_port(reg), b"GET /subjects HTTP/1.1\r\nHost: x\r\n\r\n")
            assert busy.startswith(b"HTTP/1.1 503") and b"50003" in busy
            time.sleep(1.0)  # the idle ones time out and free their slots
            assert threading.active_count() <= baseline + 1
            assert requests.get(f"{reg.url}/subjects", timeout=5).status_code == 200
        finally:
            for sock in idle:
                sock.close()


def test_after_a_401_the_same_connection_stays_in_step() -> None:
    with EmbeddedRegistry(auth="alice:s3cret") as reg:
        s = requests.Session()
        body = json.dumps({"schema": _doc_schema(1)})
        assert s.post(f"{reg.url}/subjects/a/versions", data=body, headers=CT).status_code == 401
        assert (
            s.post(f"{reg.url}/subjects/a/versions", data=body, headers=CT, auth=("alice", "s3cret")).status_code == 200
        )
        token = "YWxpY2U6czNjcmV0"  # alice:s3cret
        for scheme in ("basic", "BASIC", "Basic"):
            assert s.get(f"{reg.url}/subjects", headers={"Authorization": f"{scheme} {token}"}).status_code == 200


@pytest.mark.parametrize("method", ["PATCH", "HEAD", "OPTIONS", "TRACE"])
def test_other_methods_meet_auth_first_then_405(method: str) -> None:
    with EmbeddedRegistry(auth="alice:s3cret") as reg:
        assert requests.request(method, f"{reg.url}/subjects").status_code == 401
        assert requests.request(method, f"{reg.url}/subjects", auth=("alice", "s3cret")).status_code == 405


def test_serve_stops_on_sigterm_when_sigint_is_ignored(tmp_path: Path) -> None:
    # A shell starts background jobs with SIGINT ignored; SIGTERM used to be turned into that SIGINT.
    script = f'{sys.executable} -m contracts registry serve --port 0 --data {tmp_path}/r.sqlite & pid=$!; sleep 2; kill $pid; wait $pid; echo "rc=$?"'
    started = time.monotonic()
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert "rc=143" in out.stdout, out
    assert time.monotonic() - started < 10
    assert "Traceback" not in out.stderr


def test_sigterm_stops_a_serving_registry_promptly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", "0", "--data", str(tmp_path / "r.sqlite")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.5)
    proc.terminate()
    assert proc.wait(5) == 143
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    assert os.path.exists(tmp_path / "r.sqlite")


def test_a_connection_that_breaks_prints_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: a request cut short by a shutdown printed socketserver's traceback on stderr (seen in the demo).
    with EmbeddedRegistry() as reg:
        sock = socket.create_connection(("127.0.0.1", _port(reg)))
        sock.sendall(b"POST /subjects/a/versions HTTP/1.1\r\nHost: x\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, mid-request
        assert requests.get(f"{reg.url}/subjects", timeout=5).status_code == 200
    assert "Traceback" not in capsys.readouterr().err


def test_a_dribbled_request_is_bounded_as_a_whole_not_per_read() -> None:
    # Regression (adoption round 2, item 19): the timeout was per read, so a byte a second kept a request open forever.
    with EmbeddedRegistry(read_timeout=1.0) as reg:
        sock = socket.create_connection(("127.0.0.1", _port(reg)))
        request = b"GET /subjects HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
        started = time.monotonic()
        reply = b""
        sock.settimeout(0.2)
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
                reply += sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if reply:
                break
        sock.close()
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert time.monotonic() - started < 3.0


def test_slow_clients_do_not_lock_out_normal_ones() -> None:
    # Regression (item 19): 1,000 slow connections took every worker and everyone else got 503 for as long as they dribbled.
    slow_count = 600
    with EmbeddedRegistry(read_timeout=5.0) as reg:
        statuses: list[int] = []
        with dribbling("127.0.0.1", _port(reg), slow_count), requests.Session() as session:
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                statuses.append(session.get(f"{reg.url}/subjects", timeout=5).status_code)
                statuses.append(requests.get(f"{reg.url}/config", timeout=5).status_code)  # a new connection each
        assert len(statuses) > 20 and set(statuses) == {200}, statuses[:20]
