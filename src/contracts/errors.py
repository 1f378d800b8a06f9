"""Exceptions and the exit codes every CLI command shares.

Exit codes are part of the public contract: CI pipelines tell a real contract
violation (1) from a broken invocation (2) and from unreachable infrastructure (3).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.redaction import redact  # re-exported: where callers have always found it

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3


class ContractsError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code: int = EXIT_BAD_INPUT


@dataclass
class Location:
    """Where a problem is: a file, optionally a line/column and a field path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.path:
            parts.append(f"at {self.path}")
        return " ".join(parts) if parts else "<unknown location>"


class SchemaError(ContractsError):
    """An Avro schema (or the catalog) cannot be parsed or resolved: bad input, exit 2."""

    def __init__(self, message: str, location: Location | None = None, rule: str = "INVALID_SCHEMA") -> None:
        self.message = message
        self.location = location or Location()
        self.rule = rule
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.location}: {self.rule}: {self.message}"


class BadInputError(ContractsError):
    """Bad usage or input that is not a schema: an unknown subject, a bad flag value."""


class CredentialsError(BadInputError):
    """A registry refused the credentials given, or needs some (HTTP 401/403): a wrong secret, not an outage (exit 2)."""


class ContractViolation(ContractsError):
    """A contract was broken (incompatible change, lint error, drift): exit 1."""

    exit_code = EXIT_VIOLATION


class InfrastructureError(ContractsError):
    """A registry or broker could not be reached or timed out: exit 3."""

    exit_code = EXIT_INFRASTRUCTURE


TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
"""HTTP answers worth retrying: the server is overloaded or a proxy lost it."""


def status_is_infrastructure(status: int) -> bool:
    """Whether an HTTP answer from a registry says it cannot serve us (exit 3), not that the request was wrong.

    Overload and server failures are the infrastructure's; every 4xx is about the request,
    refused credentials included (``status_refuses_credentials``: CI then tells a wrong
    secret from a registry that is down). One rule for the CLI's client and the serializers alike.
    """
    return status in TRANSIENT_STATUS or status >= 500


def status_refuses_credentials(status: int) -> bool:
    """Whether an HTTP answer says the credentials are missing, wrong or not allowed this (exit 2)."""
    return status in (401, 403)


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INFRASTRUCTURE",
    "EXIT_OK",
    "EXIT_VIOLATION",
    "BadInputError",
    "ContractViolation",
    "ContractsError",
    "CredentialsError",
    "InfrastructureError",
    "Location",
    "SchemaError",
    "redact",
]
