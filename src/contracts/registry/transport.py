"""How the registry client reaches a registry: the ``Transport`` seam and its HTTP implementation.

A transport answers one request with a status and a body, or raises ``OSError``
(``TimeoutError`` for a timeout) when it gets no answer. The client decides what
is retried and what each status means; a transport only carries bytes.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as in an HTTP request line
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Transport(Protocol):
    def handle_request(self, request: Request) -> Response: ...


class HTTPTransport:
    """HTTP(S) with the standard library: ``ca_location``/``cert``/``key`` for TLS, ``verify=False`` to trust any certificate."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        ca_location: str | None = None,
        verify: bool = True,
        cert: str | None = None,
        key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._ssl: ssl.SSLContext | None = None
        if self.base_url.startswith("https://"):
            try:
                self._ssl = ssl.create_default_context(cafile=ca_location)
                if cert:
                    self._ssl.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                # A configuration problem, not an outage: ValueError reaches the caller as bad input.
                raise ValueError(f"TLS files for {self.base_url} cannot be used: {getattr(exc, 'strerror', None) or exc}") from exc
            if not verify:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE

    def handle_request(self, request: Request) -> Response:
        req = urllib.request.Request(self.base_url + request.target, data=request.body, method=request.method, headers=request.headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
                return Response(resp.status, resp.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read())
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise reason from exc
            raise ConnectionError(str(reason)) from exc
