"""The Confluent Schema Registry REST API, as a function of (method, path, query, body).

Kept apart from HTTP so that it can be tested and fuzzed directly; ``server``
puts it behind a real socket. Requests are dispatched through the route table in
``routes``; what the routes share is in ``core``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import urllib.parse

from contracts.registry.server.core import ApiError, Handler, RegistryCore, Request, Response
from contracts.registry.server.routes import ROUTES

log = logging.getLogger("contracts.registry")
MAX_BODY = 16 * 1024 * 1024  # the largest request body the server reads


def _compile(template: str) -> re.Pattern[str]:
    """``/subjects/{subject}/versions`` as a pattern; ``{name}`` matches one path segment."""
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


_TABLE: list[tuple[str, re.Pattern[str], Handler]] = [(method, _compile(path), handler) for method, path, handler in ROUTES]


class RegistryApp(RegistryCore):
    """REST semantics over a ``Store``; thread-safe."""

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        try:
            return self._dispatch(method.upper(), path, query, body)
        except ApiError as exc:
            return Response(exc.status, {"error_code": exc.code, "message": exc.message})
        except sqlite3.Error:  # its text may name tables and values: log it, answer without it
            log.exception("data store error on %s %s", method, path)
            return Response(500, {"error_code": 50001, "message": "Error in the backend data store"})

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        path = "/" + path.strip("/")
        allowed = False
        for route_method, pattern, handler in _TABLE:
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
            return Response(200, handler(self, request))
        if allowed:
            raise ApiError(405, 405, f"HTTP 405 Method {method} Not Allowed")
        raise ApiError(404, 404, "HTTP 404 Not Found")


__all__ = ["MAX_BODY", "ApiError", "RegistryApp", "Response"]
