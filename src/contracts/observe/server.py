"""One small HTTP endpoint per process: ``/metrics`` for Prometheus, ``/healthz`` (alive), ``/readyz`` (ready).

It runs on a daemon thread of the process it describes and stops with it; ``/readyz`` answers
503 with the reason until the process says it is ready (a consumer: partitions assigned and the
broker answering).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contracts.observe.extra import prometheus

Readiness = Callable[[], str | None]
"""``None`` when ready, else why not (shown in the 503 body)."""


class HealthServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (port 0: a free one, see ``.port``)."""

    def __init__(self, registry: Any, port: int, *, host: str = "0.0.0.0", ready: Readiness = lambda: None) -> None:
        client = prometheus()
        self._registry = registry
        self._ready = ready
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, client.CONTENT_TYPE_LATEST, client.generate_latest(registry)),
            "/healthz": lambda: (200, "text/plain; charset=utf-8", b"ok\n"),
            "/readyz": self._readiness,
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                status, content_type, body = route() if route else (404, "text/plain; charset=utf-8", b"not found: /metrics, /healthz, /readyz\n")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # scraped every few seconds: no access log
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"metrics-{self.port}", daemon=True)

    def _readiness(self) -> tuple[int, str, bytes]:
        why = self._ready()
        if why is None:
            return 200, "text/plain; charset=utf-8", b"ready\n"
        return 503, "text/plain; charset=utf-8", f"not ready: {why}\n".encode()

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
