"""The embedded registry over real HTTP: ``contracts registry serve`` and ``EmbeddedRegistry``.

Standard library only (``http.server``), one thread per connection, bound to
127.0.0.1 unless told otherwise. Optional HTTP basic auth guards every route;
credentials never reach the log. Every connection has a read timeout and their
number is capped, so idle or slow clients cannot pile up threads; a body shorter
than its Content-Length is refused, never registered truncated.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from contracts.registry.server.app import MAX_BODY, RegistryApp, Response
from contracts.registry.server.store import Store
from contracts.registry.transport import CONTENT_TYPE
from contracts.shutdown import stop_on_signals

log = logging.getLogger("contracts.registry")

READ_TIMEOUT = 30.0  # seconds a connection may stay silent, idle or mid-request
MAX_CONNECTIONS = 256  # open connections served at once; more are answered 503 and closed
_BUSY = json.dumps({"error_code": 50003, "message": "Too many open connections; retry shortly"}).encode()


def default_data_path() -> Path:
    """Where ``serve`` keeps its SQLite file unless ``--data`` says otherwise."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "event-contracts" / "registry.sqlite"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer the response: headers and body leave in one write

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)

    def _dispatch(self) -> None:
        # The body is read before anything is answered (a 401 included), so the connection stays in step.
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            self._send(Response(400, {"error_code": 400, "message": "Invalid Content-Length"}), close=True)
            return
        if length < 0 or length > MAX_BODY:
            self._send(Response(413, {"error_code": 413, "message": f"Request body larger than {MAX_BODY} bytes"}), close=True)
            return
        try:
            body = self.rfile.read(length) if length else None
        except TimeoutError:
            self._send(Response(408, {"error_code": 408, "message": "Request body not received in time"}), close=True)
            return
        if body is not None and len(body) < length:  # the client half-closed early: never act on a truncated body
            self._send(Response(400, {"error_code": 400, "message": "Request body shorter than its Content-Length"}), close=True)
            return
        if not self._authorized():
            self._send(Response(401, {"error_code": 401, "message": "Unauthorized"}), {"WWW-Authenticate": 'Basic realm="schema-registry"'})
            return
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            response = self.server.app.handle(self.command, url.path, query, body)
        except Exception:  # the API answers its own errors; anything else is a bug, not a crash
            log.exception("unexpected error on %s %s", self.command, url.path)
            response = Response(500, {"error_code": 50001, "message": "Internal error"})
        self._send(response)

    def _authorized(self) -> bool:
        expected = self.server.auth
        if expected is None:
            return True
        scheme, _, token = self.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":  # RFC 7235: the scheme is case-insensitive
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), expected.encode())

    def _send(self, response: Response, headers: dict[str, str] | None = None, close: bool = False) -> None:
        data = json.dumps(response.payload).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    # Every method reaches the auth check first; the app answers 405 for those it does not route.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only: never headers, so credentials stay out of the log.
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of clients (a deploy starting many producers)
    # overflows it while the accept loop waits for the GIL, and Linux then resets connections.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: RegistryApp, auth: str | None, read_timeout: float, max_connections: int) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.auth = auth
        self.read_timeout = read_timeout
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + CONTENT_TYPE.encode()
                    + b"\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " + str(len(_BUSY)).encode()
                    + b"\r\n\r\n" + _BUSY
                )  # fmt: skip
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a client that went away (or a request cut short
        # by a shutdown) is not the operator's problem: it goes to the debug log instead.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class EmbeddedRegistry:
    """A registry served in a background thread: ``with EmbeddedRegistry() as reg: reg.url``."""

    def __init__(
        self,
        data: str | Path = ":memory:",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: str | None = None,
        read_timeout: float = READ_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.store = Store(data)
        self.app = RegistryApp(self.store)
        try:
            self._server = _Server((host, port), self.app, auth, read_timeout, max_connections)
        except BaseException:
            self.store.close()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="embedded-registry", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedRegistry:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop that never started otherwise
            self._server.shutdown()
        self._server.server_close()
        self.store.close()

    def serve_forever(self) -> None:
        """Serve in this thread until SIGTERM or SIGINT (``Stopped``), or ``shutdown()`` from another."""
        try:
            with stop_on_signals():
                self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()
            self.store.close()

    def __enter__(self) -> EmbeddedRegistry:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
