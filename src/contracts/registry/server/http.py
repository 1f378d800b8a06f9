"""The embedded registry over real HTTP: ``contracts registry serve`` and ``EmbeddedRegistry``.

Standard library only. An asyncio loop in one thread owns every connection and
reads each request whole (head and body, within one deadline); only a complete
request is handed to a small pool of workers that run the route table. A client
that dribbles bytes therefore holds a socket for at most ``read_timeout`` seconds
and never a worker, so slow or idle clients cannot starve normal ones. Bound to
127.0.0.1 unless told otherwise; optional HTTP basic auth guards every route, and
credentials never reach the log; a body shorter than its Content-Length is
refused, never registered truncated.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import ctypes
import ctypes.util
import hmac
import json
import logging
import resource
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

from contracts.registry.server.app import MAX_BODY, RegistryApp, Response
from contracts.registry.server.store import Store
from contracts.registry.transport import CONTENT_TYPE
from contracts.shutdown import stop_on_signals

log = logging.getLogger("contracts.registry")

READ_TIMEOUT = 30.0  # seconds a connection has to deliver a whole request (idle keep-alive included)
MAX_CONNECTIONS = 4096  # open connections at once; more are answered 503 and closed
WORKERS = 8  # threads that run complete requests against the store
MAX_HEAD = 64 * 1024  # request line and headers
_FD_RESERVE = 128  # descriptors kept for SQLite, logs and the process's own clients


def default_data_path() -> Path:
    """Where ``serve`` keeps its SQLite file unless ``--data`` says otherwise."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "event-contracts" / "registry.sqlite"


def _connection_cap(wanted: int) -> int:
    # Past the process's descriptor limit accept() fails for everyone: answer 503 well before it.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, min(wanted, soft - _FD_RESERVE)) if soft != resource.RLIM_INFINITY else wanted


_LARGE_BODY = 1024 * 1024  # a request this large parses into several times its size in short-lived objects


_trim: Any = None  # glibc's malloc_trim once looked up; False where there is none


def _release_memory() -> None:
    """Hand memory freed after a large request back to the system (glibc keeps it otherwise)."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to hand back this way
            _trim = False
    if _trim:
        _trim(0)


def _error(status: int, message: str, code: int | None = None) -> Response:
    return Response(status, {"error_code": code or status, "message": message})


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    keep_alive: bool


class _Refused(Exception):
    """A request the server answers itself and then closes the connection on."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.payload["message"])
        self.response = response


class _Connection:
    """One client socket: reads requests whole into its own buffer, so it knows what has arrived."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()

    async def _fill(self) -> bool:
        chunk = await self.reader.read(65536)
        self.buffer += chunk
        return bool(chunk)

    async def read_request(self) -> _Request | None:
        """The next request, or None when the client closed between requests."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise _Refused(_error(431, "Request header fields too large"))
            if not await self._fill():
                if self.buffer:
                    raise ConnectionResetError("the client closed mid-request")
                return None
        method, target, version, headers = _parse_head(bytes(self.buffer[:end]))
        del self.buffer[: end + 4]
        length = _content_length(headers)
        if length and len(self.buffer) < length and headers.get("expect", "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(self.buffer) < length:
            if not await self._fill():  # half-closed early: never act on a truncated body
                raise _Refused(_error(400, "Request body shorter than its Content-Length"))
        body = bytes(self.buffer[:length]) if length else None
        del self.buffer[:length]
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        return _Request(method, target, headers, body, keep_alive)


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(_error(400, "Bad request line"))
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _Refused(_error(400, "Bad header line"))
        key = name.lower()
        if key in headers and key == "content-length" and headers[key] != value.strip():
            raise _Refused(_error(400, "Conflicting Content-Length headers"))
        headers[key] = value.strip()
    return parts[0].upper(), parts[1], parts[2], headers


def _content_length(headers: dict[str, str]) -> int:
    if "transfer-encoding" in headers:
        raise _Refused(_error(411, "Send the body with a Content-Length, not a Transfer-Encoding"))
    raw = headers.get("content-length", "0")
    if not raw.isdigit():
        raise _Refused(_error(400, "Invalid Content-Length"))
    length = int(raw)
    if length > MAX_BODY:
        raise _Refused(_error(413, f"Request body larger than {MAX_BODY} bytes"))
    return length


def _encode(response: Response, head_only: bool, close: bool, extra: dict[str, str] | None = None) -> bytes:
    data = response.data if response.data is not None else json.dumps(response.payload).encode()
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {CONTENT_TYPE}", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else data)


class _Server:
    """The loop's side: accepts, reads, answers; the route table runs in the worker pool."""

    def __init__(
        self, sock: socket.socket, app: RegistryApp, auth: str | None, read_timeout: float, max_connections: int
    ) -> None:
        self.sock = sock
        self.app = app
        self.auth = auth
        self.read_timeout = read_timeout
        self.max_connections = _connection_cap(max_connections)
        self.pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="registry-worker")
        self.open: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None

    async def serve(self, started: threading.Event) -> None:
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        server = await asyncio.start_server(self._accept, sock=self.sock, limit=MAX_HEAD)
        started.set()
        try:
            await self.stopping.wait()
        finally:
            server.close()
            for task in list(self.open):
                task.cancel()
            await asyncio.gather(*self.open, return_exceptions=True)
            await server.wait_closed()

    def request_stop(self) -> None:
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self.open) >= self.max_connections:
            busy = _error(503, "Too many open connections; retry shortly", 50003)
            await self._close(writer, _encode(busy, False, True, {"Retry-After": "1"}))
            return
        self.open.add(task)
        try:
            await self._converse(_Connection(reader, writer))
        except (ConnectionError, OSError) as exc:  # a client that went away is not the operator's problem
            log.debug("connection ended: %s", exc)
        except asyncio.CancelledError:
            pass  # the server is stopping; ending quietly keeps asyncio from reporting the connection as failed
        finally:
            self.open.discard(task)
            writer.close()

    async def _converse(self, conn: _Connection) -> None:
        while True:
            try:
                async with asyncio.timeout(self.read_timeout):  # the whole request, not each read
                    request = await conn.read_request()
            except TimeoutError:
                if conn.buffer:  # silence between requests just closes; a request cut short is told why
                    await self._close(conn.writer, _encode(_error(408, "Request not received in time"), False, True))
                return
            except _Refused as refused:
                await self._close(conn.writer, _encode(refused.response, False, True))
                return
            if request is None:
                return
            response, extra = await self._answer(request)
            conn.writer.write(_encode(response, request.method == "HEAD", not request.keep_alive, extra))
            async with asyncio.timeout(self.read_timeout):  # a client that never reads its answers
                await conn.writer.drain()
            if not request.keep_alive:
                return

    async def _answer(self, request: _Request) -> tuple[Response, dict[str, str] | None]:
        # The body is read before anything is answered (a 401 included), so the connection stays in step.
        if not self._authorized(request.headers.get("authorization", "")):
            return _error(401, "Unauthorized"), {"WWW-Authenticate": 'Basic realm="schema-registry"'}
        url = urllib.parse.urlsplit(request.target)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        assert self.loop is not None
        # An answer remembered for this very request is given here, without a trip to a worker thread.
        remembered = self.app.remembered(request.method, url.path, query, request.body, wait=False)
        if remembered is not None:
            return remembered, None
        try:
            response = await self.loop.run_in_executor(
                self.pool, self.app.handle, request.method, url.path, query, request.body
            )
        except Exception:  # the API answers its own errors; anything else is a bug, not a crash
            log.exception("unexpected error on %s %s", request.method, url.path)
            response = _error(500, "Internal error", 50001)
        log.debug("%s %s -> %d", request.method, url.path, response.status)  # never headers: no credentials
        if request.body is not None and len(request.body) > _LARGE_BODY:
            self.loop.run_in_executor(self.pool, _release_memory)
        return response, None

    def _authorized(self, header: str) -> bool:
        if self.auth is None:
            return True
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":  # RFC 7235: the scheme is case-insensitive
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), self.auth.encode())

    async def _close(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            writer.write(data)
            async with asyncio.timeout(1.0):
                await writer.drain()
        except (ConnectionError, OSError, TimeoutError):
            pass
        writer.close()


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
        app: type[RegistryApp] = RegistryApp,
    ) -> None:
        self.store = Store(data)
        self.app = app(self.store)  # another app on the same HTTP machinery: the benchmarks' bare handler
        try:
            # A deploy starting many producers at once must not overflow the listen backlog.
            sock = socket.create_server((host, port), backlog=1024, reuse_port=False)
        except BaseException:
            self.store.close()
            raise
        self._server = _Server(sock, self.app, auth, read_timeout, max_connections)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-registry", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(self._started))
        finally:
            self._started.set()
            self._server.pool.shutdown(wait=True)  # requests in flight finish before the store closes

    @property
    def url(self) -> str:
        host, port = self._server.sock.getsockname()[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmbeddedRegistry:
        self._thread.start()
        self._started.wait()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.request_stop()
            self._thread.join()
        self._server.sock.close()
        self.store.close()

    def serve_forever(self) -> None:
        """Serve until SIGTERM or SIGINT (``Stopped``) in this thread, or ``stop()`` from another."""
        try:
            with stop_on_signals():
                self.start()
                while self._thread.is_alive():
                    self._thread.join(0.2)
        finally:
            self.stop()

    def __enter__(self) -> EmbeddedRegistry:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
