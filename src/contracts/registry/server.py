"""The embedded registry over real HTTP: ``contracts registry serve`` and ``EmbeddedRegistry``.

Standard library only (``http.server``), one thread per connection, bound to
127.0.0.1 unless told otherwise. Optional HTTP basic auth guards every route;
credentials never reach the log.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from contracts.registry.app import MAX_BODY, RegistryApp, Response
from contracts.registry.store import Store

log = logging.getLogger("contracts.registry")
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


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

    def _dispatch(self) -> None:
        if not self._authorized():
            self._send(Response(401, {"error_code": 401, "message": "Unauthorized"}), {"WWW-Authenticate": 'Basic realm="schema-registry"'})
            return
        length_header = self.headers.get("Content-Length")
        body: bytes | None = None
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            self._send(Response(400, {"error_code": 400, "message": "Invalid Content-Length"}), close=True)
            return
        if length < 0 or length > MAX_BODY:
            self._send(Response(413, {"error_code": 413, "message": f"Request body larger than {MAX_BODY} bytes"}), close=True)
            return
        if length:
            body = self.rfile.read(length)
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
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:], validate=True).decode()
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
        self.wfile.write(data)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only: never headers, so credentials stay out of the log.
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of clients (a deploy starting many producers)
    # overflows it while the accept loop waits for the GIL, and Linux then resets connections.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: RegistryApp, auth: str | None) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.auth = auth


class EmbeddedRegistry:
    """A registry served in a background thread: ``with EmbeddedRegistry() as reg: reg.url``."""

    def __init__(self, data: str | Path = ":memory:", *, host: str = "127.0.0.1", port: int = 0, auth: str | None = None) -> None:
        self.store = Store(data)
        self.app = RegistryApp(self.store)
        self._server = _Server((host, port), self.app, auth)
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
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self.store.close()

    def __enter__(self) -> EmbeddedRegistry:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
