"""Shared CLI plumbing: error handling with documented exit codes, common options."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from contracts.config import ProjectConfig, load_config
from contracts.errors import EXIT_BAD_INPUT, EXIT_VIOLATION, BadInputError, ContractsError
from contracts.findings import FORMATS, error_finding, render
from contracts.redaction import redact
from contracts.shutdown import Stopped

if TYPE_CHECKING:  # imported where used: a command that needs neither does not pay for them
    from contracts.catalog import Catalog
    from contracts.registry.client import RegistryClient

F = TypeVar("F", bound=Callable[..., Any])
PACKAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
"""A Python import name: dotted identifiers (``mypkg.events``)."""


class ContractsGroup(click.Group):
    """A group that turns ``ContractsError`` into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ContractsError as exc:
            _error(redact(str(exc)))
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except OSError as exc:
            _error(redact(str(exc)))
            sys.exit(EXIT_BAD_INPUT)
        except Stopped as exc:  # SIGTERM or SIGINT: the command cleaned up on its way out
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: one line and a hint, the traceback only when asked for
            if ctx.meta.get("contracts.debug"):
                raise
            _error(f"unexpected {type(exc).__name__}: {redact(str(exc))}", hint="this is a bug in event-contracts; --debug shows the traceback")
            sys.exit(EXIT_BAD_INPUT)


def _error(message: str, hint: str | None = None) -> None:
    """``error: ...`` on stderr, red on a terminal unless NO_COLOR is set."""
    colour = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    click.echo((click.style("error:", fg="red", bold=True) if colour else "error:") + f" {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def errors_in_format(tool: str) -> Callable[[F], F]:
    """Bad input and outages also come out in the command's ``--format`` (json, junit, github, markdown).

    The error line still goes to stderr and the exit code stays 2 or 3; CI then shows an
    annotation (file, line, rule) for a schema that does not parse, as it does for a finding.
    """

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except ContractsError as exc:
                if kwargs.get("fmt", "text") != "text" and exc.exit_code != EXIT_VIOLATION:
                    click.echo(render([error_finding(exc)], kwargs["fmt"], tool=tool))
                raise

        return cast(F, run)

    return wrap


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Output: human text, JSON, JUnit XML, GitHub workflow annotations, or a markdown summary (for $GITHUB_STEP_SUMMARY).",
    )(f)


def folder_option(name: str, help: str) -> Callable[[F], F]:
    """A ``--NAME`` option naming a folder (default ``None``: the project's configuration decides)."""
    return click.option(f"--{name}", type=click.Path(file_okay=False, path_type=str), default=None, help=help)


schemas_option = folder_option("schemas", "Schemas folder (default: [tool.contracts] schemas, or ./schemas).")
history_option = folder_option("history", "Published history folder (default: [tool.contracts] compatibility, or ./compatibility).")


AUTH_ENV = "CONTRACTS_SCHEMA_REGISTRY_AUTH"
CA_ENV = "CONTRACTS_SCHEMA_REGISTRY_CA"
CERT_ENV = "CONTRACTS_SCHEMA_REGISTRY_CERT"
KEY_ENV = "CONTRACTS_SCHEMA_REGISTRY_KEY"


def registry_auth_options(f: F) -> F:
    """``--auth``, ``--ca``, ``--cert`` and ``--key`` (each with its environment variable) for any registry client."""
    f = click.option("--auth", envvar=AUTH_ENV, default=None, help=f"Basic auth user:password or @file (env {AUTH_ENV}; or user info in the URL).")(f)
    f = click.option("--ca", "ca_location", envvar=CA_ENV, default=None, help=f"CA bundle for https (env {CA_ENV}).")(f)
    f = click.option("--cert", envvar=CERT_ENV, default=None, help=f"Client certificate for mutual TLS (env {CERT_ENV}).")(f)
    f = click.option("--key", envvar=KEY_ENV, default=None, help=f"The client certificate's key (env {KEY_ENV}).")(f)
    return f


def read_auth(value: str | None) -> str | None:
    """``user:password``, or ``@file`` holding it (so it stays out of shell history)."""
    if value and value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise BadInputError(f"--auth {value}: cannot read the credentials file {value[1:]}: {reason}") from exc
    return value


def make_client(url: str, *, auth: str | None = None, ca_location: str | None = None, cert: str | None = None, key: str | None = None) -> RegistryClient:
    from contracts.registry.client import RegistryClient

    return RegistryClient(url, auth=read_auth(auth), ca_location=ca_location, cert=cert, key=key)


def project_catalog(schemas: str | None, *, defaults: bool = True) -> tuple[ProjectConfig, Catalog]:
    """The project's configuration and its catalog, which must hold schemas and topics (exit 2 otherwise).

    ``defaults``: refuse an invalid default too (lint turns it into a finding instead).
    """
    config = load_config()
    return config, config_catalog(config, schemas, defaults=defaults)


def config_catalog(config: ProjectConfig, schemas: str | None, *, defaults: bool = True) -> Catalog:
    """The catalog of ``config`` (or of ``--schemas``), as ``project_catalog`` checks it."""
    from contracts.catalog import load_catalog

    catalog = load_catalog(Path(schemas) if schemas else config.schemas)
    catalog.require_contents()
    if defaults:
        catalog.require_valid_defaults()
    return catalog


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal, nothing otherwise: ``update(-total)`` sets its length, ``update(n)`` moves it."""
    if not sys.stderr.isatty():
        yield lambda _: None
        return
    bar: Any = None
    try:

        def update(step: int) -> None:
            nonlocal bar
            if step < 0:
                bar = click.progressbar(length=-step, label=label, file=sys.stderr)
                bar.__enter__()
            elif bar is not None:
                bar.update(step)

        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
