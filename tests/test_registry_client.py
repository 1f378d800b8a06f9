"""RegistryClient against a registry that fails for a while: what it retries, and what it does not."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from contracts.errors import CredentialsError, InfrastructureError
from contracts.registry.client import RegistryClient, RegistryError
from contracts.registry.server import EmbeddedRegistry
from contracts.retry import RetryPolicy


class _Flaky(ThreadingHTTPServer):
    """Fails the first ``failures`` requests the way ``mode`` says, then answers ``["orders-value"]``."""

    daemon_threads = True

    def __init__(self, mode: str, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.mode, self.failures, self.seen = mode, failures, 0


class _FlakyHandler(BaseHTTPRequestHandler):
    server: _Flaky
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.seen += 1
        if self.server.seen <= self.server.failures:
            if self.server.mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            status = int(self.server.mode)
            self._reply(status, {"error_code": status * 100 if status >= 500 else status, "message": "busy"})
            return
        self._reply(200, ["orders-value"])

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def flaky(request: pytest.FixtureRequest) -> Iterator[_Flaky]:
    mode, failures = request.param
    server = _Flaky(mode, failures)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server: _Flaky, retries: int) -> RegistryClient:
    host, port = server.server_address[:2]
    return RegistryClient(f"http://{host!s}:{port}", retry=RetryPolicy(attempts=retries + 1, initial_backoff=0.001))


@pytest.mark.parametrize("flaky", [("reset", 2), ("503", 3), ("429", 1), ("502", 2), ("504", 3)], indirect=True)
def test_transient_failures_are_retried_until_an_answer(flaky: _Flaky) -> None:
    assert _client(flaky, retries=3).subjects() == ["orders-value"]
    assert flaky.seen == flaky.failures + 1


@pytest.mark.parametrize("flaky", [("reset", 3), ("503", 3), ("429", 3)], indirect=True)
def test_transient_failures_beyond_the_budget_are_an_outage(flaky: _Flaky) -> None:
    with pytest.raises(InfrastructureError, match=r"registry http://127\.0\.0\.1"):
        _client(flaky, retries=2).subjects()
    assert flaky.seen == 3, "one attempt and two retries, then give up"


@pytest.mark.parametrize("flaky", [("404", 5), ("422", 5), ("500", 5)], indirect=True)
def test_answers_that_will_not_change_are_not_retried(flaky: _Flaky) -> None:
    with pytest.raises((RegistryError, InfrastructureError)):
        _client(flaky, retries=3).subjects()
    assert flaky.seen == 1


def test_a_retried_registration_keeps_its_id() -> None:
    # Retrying a POST is safe only because registration is idempotent: the same schema, the same id.
    schema = json.dumps({"type": "record", "name": "E", "fields": [{"name": "a", "type": "int"}]})
    with EmbeddedRegistry() as reg:
        client = RegistryClient(reg.url)
        first = client.register("e-value", schema)
        assert client.register("e-value", schema) == first
        assert client.versions("e-value") == [1]


def test_wrong_path_says_it_is_not_a_registry() -> None:
    # Regression: a URL with a wrong path gave a bare `registry error 404`.
    with EmbeddedRegistry() as reg:
        with pytest.raises(RegistryError, match="does not look like a schema registry"):
            RegistryClient(reg.url + "/api/v1").subjects()
        assert RegistryClient(reg.url).versions("missing-subject") == [], "a subject's 40401 is still just absent"


def test_401_names_the_options_that_supply_credentials() -> None:
    # A refused secret is bad input (exit 2), not an outage (exit 3): CI tells them apart.
    with EmbeddedRegistry(auth="alice:s3cret") as reg:
        for client in (RegistryClient(reg.url), RegistryClient(reg.url, auth="alice:nope")):
            with pytest.raises(CredentialsError) as exc:
                client.subjects()
            assert "--auth" in str(exc.value) and "CONTRACTS_SCHEMA_REGISTRY_AUTH" in str(exc.value) and "nope" not in str(exc.value)
