"""The Confluent Schema Registry REST API, as a function of (method, path, query, body).

Kept apart from HTTP so that it can be tested and fuzzed directly; ``server``
puts it behind a real socket. Requests are dispatched through the route table in
``routes``; what the routes share is in ``core``.
"""

from __future__ import annotations

import json
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


# Lookups and registrations of a schema already registered are asked again and again (every
# serializer's first message, every CI run): the same request, while nothing has changed since,
# gets the same answer, from memory.
REGISTRATION = ("POST", "/subjects/{subject}/versions")
LOOKUP = ("POST", "/subjects/{subject}")
REMEMBERED_ROUTES = frozenset({LOOKUP, REGISTRATION})
REMEMBERED_MAX = 4096  # answers kept (the oldest go first)
REMEMBERED_BODY = 64 * 1024  # larger requests are answered afresh


def _answer_key(path: str, query: dict[str, list[str]], body: bytes | None) -> Any:
    # Both remembered routes read their query only as flags (``Request.flag``: the last value, "true" in any
    # case), so the flags that are true are the whole of it: Confluent's client's ``?normalize=False&deleted=False``
    # is the same request as none at all.
    return (path, body, frozenset(k for k, v in query.items() if v and v[-1].lower() == "true"))


class RegistryApp(RegistryCore):
    """REST semantics over a ``Store``; thread-safe. ``requests`` counts what it answered (for its metrics)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests = RequestStats()
        self._answers: dict[Any, tuple[tuple[int, ...], str, Response, str | None]] = {}
        self._answers_lock = threading.Lock()

    def remembered(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None, *, wait: bool = True) -> Response | None:
        """The answer given to this very request while nothing has changed since, or ``None``.

        ``wait=False`` (the HTTP layer asks before handing a request to a worker): ``None``
        rather than wait for a transaction in progress.
        """
        if method != "POST" or body is None or len(body) > REMEMBERED_BODY or not self._answers:
            return None
        started = time.perf_counter()
        known = self._answers.get(_answer_key(path, query, body))
        if known is None or known[0] != self.store.version(known[3], wait=wait):
            return None
        self.requests.count(method, known[1], known[2].status, time.perf_counter() - started)
        return known[2]

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        started = time.perf_counter()
        method = method.upper()
        if method == "POST" and body is not None and len(body) <= REMEMBERED_BODY:
            known = self.remembered(method, path, query, body)
            if known is not None:
                return known
        route, response = self._respond(method, path, query, body)
        self.requests.count(method, route, response.status, time.perf_counter() - started)
        return response

    def _respond(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> tuple[str, Response]:
        """The route's template (a bounded label, never the path itself) and its answer; remembered when it can be."""
        route = "(none)"
        try:
            route, handler, params = _route(method, path)
            asked = (method, route)
            version = scope = None
            if asked in REMEMBERED_ROUTES and body is not None and len(body) <= REMEMBERED_BODY:
                # What the answer depends on: its subject (and the registry's own settings); with references, everything.
                scope = None if b'"references"' in body else params["subject"]
                version = self.store.version(scope)
            response = Response(200, handler(self, Request(method, params, {k: v[-1] for k, v in query.items() if v}, body, query)))
            if version is not None:
                # Answered while the data stood still; or a registration that wrote, and nothing else since (asked
                # again, as every producer of a deploy asks, it answers the same: the schema is registered now).
                now = self.store.version(scope)
                if now != version:
                    now = self.store.after_own_commit(version, scope) if asked == REGISTRATION else None
                if now is not None:
                    self._remember(_answer_key(path, query, body), now, route, response, scope)
                    if asked == REGISTRATION:
                        self._foresee_lookup(path, query, body)
        except ApiError as exc:
            response = Response(exc.status, {"error_code": exc.code, "message": exc.message})
        except sqlite3.Error:  # its text may name tables and values: log it, answer without it
            log.exception("data store error on %s %s", method, path)
            response = Response(500, {"error_code": 50001, "message": "Error in the backend data store"})
        return route, response

    def _foresee_lookup(self, path: str, query: dict[str, list[str]], body: bytes | None) -> None:
        """Answer, and so remember, the lookup of a schema just registered or found registered.

        Producers that do not register their schema look it up, the first of them right after CI registered it:
        that first lookup, too, is answered from memory. It is remembered only if nothing changed while it ran.
        """
        self._respond("POST", path.rstrip("/").removesuffix("/versions"), query, body)

    def _remember(self, key: Any, version: tuple[int, ...], route: str, response: Response, scope: str | None) -> None:
        """Keep an answer, valid while ``version`` (of the ``scope`` subject, or of everything) stands."""
        answer = (version, route, Response(response.status, response.payload, json.dumps(response.payload).encode()), scope)
        with self._answers_lock:
            if len(self._answers) >= REMEMBERED_MAX:
                self._answers.pop(next(iter(self._answers)), None)
            self._answers[key] = answer


def _route(method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
    """The route ``method`` and ``path`` ask for: its template, handler and path parameters (404 or 405 when none)."""
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
            return template, handler, {k: urllib.parse.unquote(v, errors="strict") for k, v in match.groupdict().items()}
        except UnicodeDecodeError:
            raise ApiError(404, 404, "HTTP 404 Not Found: the path is not UTF-8") from None
    if allowed:
        raise ApiError(405, 405, f"HTTP 405 Method {method} Not Allowed")
    raise ApiError(404, 404, "HTTP 404 Not Found")


__all__ = ["MAX_BODY", "ApiError", "RegistryApp", "Response"]
