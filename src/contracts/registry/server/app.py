"""The Confluent Schema Registry REST API, as a function of (method, path, query, body).

Kept apart from HTTP so that it can be tested and fuzzed directly; ``server``
puts it behind a real socket. Requests are dispatched through the route table in
``routes``; what the routes share is in ``core``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
import urllib.parse
from collections import Counter
from typing import Any

from contracts.registry.server.core import ApiError, Handler, RegistryCore, Request, Response
from contracts.registry.server.routes import ROUTES

log = logging.getLogger("contracts.registry")
MAX_BODY = 16 * 1024 * 1024  # the largest request body the server reads


class RequestStats:
    """Requests answered, by method, route template and status, and their total time; thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, int]] = Counter()
        self.seconds: dict[str, float] = {}  # total time per route
        self._lock = threading.Lock()

    def count(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.counts[(method, route, status)] += 1
            self.seconds[route] = self.seconds.get(route, 0.0) + seconds

    def snapshot(self) -> tuple[dict[tuple[str, str, int], int], dict[str, float]]:
        with self._lock:
            return dict(self.counts), dict(self.seconds)


def _compile(template: str) -> re.Pattern[str]:
    """``/subjects/{subject}/versions`` as a pattern; ``{name}`` matches one path segment."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


_TABLE: list[tuple[str, str, re.Pattern[str], Handler]] = [(method, path, _compile(path), handler) for method, path, handler in ROUTES]


class RegistryApp(RegistryCore):
    """REST semantics over a ``Store``; thread-safe. ``requests`` counts what it answered (for its metrics)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests = RequestStats()

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        started = time.perf_counter()
        route = ["(none)"]  # the route's template: a bounded label, never the path itself
        try:
            response = self._dispatch(method.upper(), path, query, body, route)
        except ApiError as exc:
            response = Response(exc.status, {"error_code": exc.code, "message": exc.message})
        except sqlite3.Error:  # its text may name tables and values: log it, answer without it
            log.exception("data store error on %s %s", method, path)
            response = Response(500, {"error_code": 50001, "message": "Error in the backend data store"})
        self.requests.count(method.upper(), route[0], response.status, time.perf_counter() - started)
        return response

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None, route: list[str]) -> Response:
        path = "/" + path.strip("/")
        allowed = False
        for route_method, template, pattern, handler in _TABLE:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed = True
                continue
            try:
                params = {k: urllib.parse.unquote(v, errors="strict") for k, v in match.groupdict().items()}
            except UnicodeDecodeError:
                raise ApiError(404, 404, "HTTP 404 Not Found: the path is not UTF-8") from None
            request = Request(method, params, {k: v[-1] for k, v in query.items() if v}, body, query)
            route[0] = template
            return Response(200, handler(self, request))
        if allowed:
            raise ApiError(405, 405, f"HTTP 405 Method {method} Not Allowed")
        raise ApiError(404, 404, "HTTP 404 Not Found")


__all__ = ["MAX_BODY", "ApiError", "RegistryApp", "Response"]
