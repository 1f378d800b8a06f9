"""A small client for the Confluent Schema Registry REST API (Confluent, Karapace, Redpanda, ours).

The CLI uses it for plan/push/pull and the gate; serializers take it (or confluent-kafka's
client) through their seam, ``contracts.registry.source``. Transient failures (a reset or refused connection, HTTP 429/502/503/504)
are retried with exponential backoff (a timeout is not): every call of this API is idempotent, a
repeated registration included. Unreachable registries then raise
``InfrastructureError`` (exit 3) so CI can tell an outage from a contract violation.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contracts.errors import (
    TRANSIENT_STATUS,
    BadInputError,
    ContractsError,
    CredentialsError,
    InfrastructureError,
    status_is_infrastructure,
)
from contracts.live import LIVE
from contracts.redaction import redact, split_userinfo
from contracts.registry.transport import CONTENT_TYPE, HTTPTransport, Request, Response, Transport
from contracts.retry import RetryPolicy


class RegistryError(ContractsError):
    """The registry answered with an error body (``error_code``, ``message``)."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        super().__init__(f"registry error {error_code} (HTTP {status}): {message}")


@dataclass
class RegisteredSchema:
    subject: str
    version: int
    id: int
    schema: str
    references: list[dict[str, Any]]
    contract: dict[str, Any] = field(default_factory=dict)
    """The version's data contract as the registry returned it: ``metadata`` and ``ruleSet``, when set."""

    @classmethod
    def of(cls, d: dict[str, Any]) -> RegisteredSchema:
        contract = {k: d[k] for k in ("metadata", "ruleSet") if d.get(k)}
        return cls(d["subject"], d["version"], d["id"], d["schema"], d.get("references") or [], contract)


class CallStats:
    """Calls made, by method, API area (the path's first segment: ``/subjects``) and status, and their time; thread-safe."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.seconds: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def count(self, method: str, path: str, status: str, seconds: float) -> None:
        area = "/" + path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        with self._lock:
            self.counts[(method, area, status)] += 1
            self.seconds[(method, area)] = self.seconds.get((method, area), 0.0) + seconds

    def snapshot(self) -> tuple[dict[tuple[str, str, str], int], dict[tuple[str, str], float]]:
        with self._lock:
            return dict(self.counts), dict(self.seconds)


AUTH_HINT = "supply credentials with --auth user:password, CONTRACTS_SCHEMA_REGISTRY_AUTH, or user info in the URL"


class RegistryClient:
    """Blocking REST client; ``auth`` is ``user:password``; TLS settings pass to ``ssl``.

    Credentials come from ``auth`` or else from the URL's user info; either way ``url`` (and every
    message) shows the URL without them. ``cert``/``key`` are a client certificate for mutual TLS.
    ``retry`` says how often a transient failure is tried again (default: 3 more times, 0.2 s apart, doubling).
    ``transport`` replaces HTTP (``contracts.registry.server.AppTransport`` calls an app in process).
    """

    def __init__(
        self,
        url: str,
        *,
        auth: str | None = None,
        timeout: float = 10.0,
        ca_location: str | None = None,
        verify: bool = True,
        retry: RetryPolicy | None = None,
        cert: str | None = None,
        key: str | None = None,
        transport: Transport | None = None,
    ) -> None:
        url, userinfo = split_userinfo(url)
        if transport is None and not url.startswith(("http://", "https://")):
            raise BadInputError(f"registry URL must start with http:// or https://, not {redact(url)!r}")
        auth = auth or userinfo
        self.url = url.rstrip("/")
        self._delays = (retry or RetryPolicy(attempts=4, initial_backoff=0.2)).delays()
        self._headers = {"Accept": f"{CONTENT_TYPE}, application/json", "Content-Type": CONTENT_TYPE}
        if auth:
            self._headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        if transport is None:
            try:
                transport = HTTPTransport(self.url, timeout=timeout, ca_location=ca_location, verify=verify, cert=cert, key=key)
            except ValueError as exc:
                raise BadInputError(str(exc)) from exc
        self._transport = transport
        self.calls = CallStats()
        LIVE.add(self)  # the process's metrics endpoint reports its calls

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        started = time.perf_counter()
        status = "failed"  # unreachable, refused credentials, overloaded: no answer to count by status
        try:
            result, status = self._request(method, path, body, params), "200"
            return result
        except RegistryError as exc:
            status = str(exc.status)
            raise
        finally:
            self.calls.count(method, path, status, time.perf_counter() - started)

    def _request(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> Any:
        target = path
        if params:
            target += "?" + urllib.parse.urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})
        request = Request(method, target, self._headers, json.dumps(body).encode() if body is not None else None)
        for attempt in range(len(self._delays) + 1):
            last = attempt == len(self._delays)
            try:
                response = self._transport.handle_request(request)
            except TimeoutError as exc:  # it already cost the timeout: repeating it would multiply an outage's wait
                raise InfrastructureError(f"registry {self.url} is unreachable: timed out") from exc
            except OSError as exc:
                if last:
                    raise InfrastructureError(f"registry {self.url} is unreachable: {exc.strerror or exc}") from exc
            else:
                if response.status < 400:
                    return json.loads(response.body) if response.body else None
                if response.status not in TRANSIENT_STATUS or last:
                    raise self._http_error(response, path)
            time.sleep(self._delays[attempt])
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _http_error(self, response: Response, path: str) -> ContractsError:
        status, raw = response.status, response.body
        try:
            payload = json.loads(raw)
            code, message = int(payload.get("error_code", status)), str(payload.get("message", ""))
        except (ValueError, AttributeError):
            code, message = status, raw.decode(errors="replace")[:200]
        if status == 401:
            given = "refused the credentials" if "Authorization" in self._headers else "requires credentials"
            return CredentialsError(f"registry {self.url} {given} (HTTP 401): {AUTH_HINT}")
        if status == 403:
            return CredentialsError(f"registry {self.url} does not allow this for these credentials (HTTP 403)")
        if status == 404 and code == 404:  # no 404xx code: the path is not a registry API's
            return RegistryError(
                404, 404, f"{self.url}{path} is not a Schema Registry route: {self.url} does not look like a schema registry (check the URL and its path)"
            )
        if status in TRANSIENT_STATUS:
            return InfrastructureError(f"registry {self.url} is overloaded: HTTP {status} {message}")
        if status_is_infrastructure(status):
            return InfrastructureError(f"registry {self.url} failed: HTTP {status} {message}")
        return RegistryError(status, code, message)

    # -- subjects and versions ---------------------------------------------
    def subjects(self, *, deleted: bool = False) -> list[str]:
        return list(self.request("GET", "/subjects", params={"deleted": True} if deleted else None))

    def versions(self, subject: str) -> list[int]:
        try:
            return list(self.request("GET", f"/subjects/{_q(subject)}/versions"))
        except RegistryError as exc:
            if exc.error_code == 40401:
                return []
            raise

    def version(self, subject: str, version: int | str) -> RegisteredSchema:
        return RegisteredSchema.of(self.request("GET", f"/subjects/{_q(subject)}/versions/{version}"))

    def register(
        self, subject: str, schema: str, references: list[dict[str, Any]] | None = None, normalize: bool = False,
        contract: dict[str, Any] | None = None,
    ) -> int:
        """Register ``schema``; ``contract`` is its ``metadata`` and ``ruleSet`` in Confluent's shape."""
        body: dict[str, Any] = {"schema": schema, "schemaType": "AVRO", **(contract or {})}
        if references:
            body["references"] = references
        return int(self.request("POST", f"/subjects/{_q(subject)}/versions", body, {"normalize": True} if normalize else None)["id"])

    def lookup(self, subject: str, schema: str, references: list[dict[str, Any]] | None = None) -> RegisteredSchema | None:
        body: dict[str, Any] = {"schema": schema, "schemaType": "AVRO"}
        if references:
            body["references"] = references
        try:
            d = self.request("POST", f"/subjects/{_q(subject)}", body)
        except RegistryError as exc:
            if exc.error_code in (40401, 40403):
                return None
            raise
        return RegisteredSchema.of(d)

    def compatibility(self, subject: str, schema: str, version: str = "latest", references: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": schema, "schemaType": "AVRO"}
        if references:
            body["references"] = references
        result: dict[str, Any] = self.request(
            "POST", f"/compatibility/subjects/{_q(subject)}/versions/{version}", body, {"verbose": True}
        )
        return result

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/schemas/ids/{schema_id}")
        return result

    # -- config ------------------------------------------------------------
    def config(self, subject: str | None = None) -> str | None:
        path = f"/config/{_q(subject)}" if subject else "/config"
        try:
            d = self.request("GET", path)
        except RegistryError as exc:
            if exc.error_code in (40401, 40408):
                return None
            raise
        level = d.get("compatibilityLevel") or d.get("compatibility")
        return None if level is None else str(level)  # a config may hold only data-contract settings

    def compatibility_group(self, subject: str) -> str | None:
        """The subject's own ``compatibilityGroup`` setting, if it has one."""
        try:
            d = self.request("GET", f"/config/{_q(subject)}")
        except RegistryError as exc:
            if exc.error_code in (40401, 40408):
                return None
            raise
        group = d.get("compatibilityGroup")
        return None if group is None else str(group)

    def set_compatibility_group(self, group: str, subject: str) -> None:
        self.request("PUT", f"/config/{_q(subject)}", {"compatibilityGroup": group})

    def set_config(self, level: str, subject: str | None = None) -> None:
        path = f"/config/{_q(subject)}" if subject else "/config"
        self.request("PUT", path, {"compatibility": level})

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        return list(self.request("DELETE", f"/subjects/{_q(subject)}", params={"permanent": True} if permanent else None))


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")
