"""``contracts registry``: serve the embedded registry; plan, push, diff and pull against any registry."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from contracts.catalog import Catalog
from contracts.cli._common import (
    F,
    make_client,
    progress_bar,
    project_catalog,
    read_auth,
    registry_auth_options,
    schemas_option,
)
from contracts.compat.history import History, load_history
from contracts.config import REGISTRY_URL_ENV, load_config
from contracts.errors import EXIT_VIOLATION, BadInputError
from contracts.registry import sync
from contracts.registry.client import RegistryClient

log = logging.getLogger("contracts.registry")


@click.group("registry")
def command() -> None:
    """The embedded registry, and syncing schemas/ with any Confluent-compatible registry.

    \b
    Example:
      contracts registry plan --registry-url http://127.0.0.1:8081
    """


def _target(schemas: str | None, registry_url: str, tls: dict[str, str | None]) -> tuple[Catalog, RegistryClient]:
    """The catalog to sync and the client of the registry to sync it with."""
    return project_catalog(schemas)[1], make_client(registry_url, **tls)


def _report(pending: list[str], summary: str) -> None:
    """Print what differs, then the summary; exit 1 when anything differs."""
    for line in pending:
        click.echo(line)
    click.echo(summary)
    if pending:
        raise SystemExit(EXIT_VIOLATION)


def _recorded(history: str | None, no_history: bool) -> History | None:
    """``compatibility/`` (or ``--history``) as the versions to replay, unless ``--no-history``."""
    if no_history:
        return None
    root = Path(history) if history else load_config().compatibility
    return load_history(root) if (root / "subjects").is_dir() else None


def _history_options(f: F) -> F:
    f = click.option(
        "--no-history", is_flag=True,
        help="Register only the current schemas, not the recorded versions a registry lacks (its numbers then differ from compatibility/).",
    )(f)  # fmt: skip
    return click.option("--history", type=click.Path(file_okay=False), default=None, help="Recorded history (default: compatibility/).")(f)


def _client_options(f: F) -> F:
    f = click.option("--registry-url", envvar=REGISTRY_URL_ENV, required=True, help=f"Registry URL (env {REGISTRY_URL_ENV}).")(f)
    return registry_auth_options(f)


@command.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 127.0.0.1 keeps it local.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535))
@click.option("--data", default=None, help="SQLite file (default: the user data dir), or :memory:.")
@click.option("--auth", default=None, help="Require HTTP basic auth user:password (or @file).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve /metrics, /healthz and /readyz on this port, on --host (needs the metrics extra).")  # fmt: skip
def serve(host: str, port: int, data: str | None, auth: str | None, metrics_port: int | None) -> None:
    """Serve the embedded Confluent-compatible schema registry until SIGTERM or Ctrl-C.

    \b
    Examples:
      contracts registry serve --port 8081 --data registry.sqlite
      contracts registry serve --auth @credentials.txt
      contracts registry serve --metrics-port 9465
    """
    from contracts.registry.server import EmbeddedRegistry, default_data_path
    from contracts.registry.server.store import StoreError

    path = data or str(default_data_path())
    credentials = read_auth(auth)
    try:
        registry = EmbeddedRegistry(path, host=host, port=port, auth=credentials)
    except StoreError as exc:
        raise BadInputError(f"--data {path}: {exc}") from exc
    except OSError as exc:
        raise BadInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    click.echo(f"schema registry on {registry.url} (data: {path}{', basic auth' if auth else ''})", err=True)
    metrics = None
    if metrics_port is not None:
        from contracts.observe.metrics import serve_registry_metrics

        try:
            metrics = serve_registry_metrics(registry.app, metrics_port, host=host)
        except OSError as exc:
            registry.stop()
            raise BadInputError(f"--metrics-port: cannot listen on {host}:{metrics_port}: {exc.strerror or exc}") from exc
        click.echo(f"metrics on http://{host}:{metrics.port}/metrics", err=True)
    try:
        registry.serve_forever()  # until SIGTERM or SIGINT: exit 143 or 130
    finally:
        if metrics is not None:
            metrics.stop()


@command.command("plan")
@schemas_option
@_client_options
@_history_options
def plan(schemas: str | None, registry_url: str, history: str | None, no_history: bool, **tls: str | None) -> None:
    """What `push` would change. Exit 0: nothing to do; 1: changes pending.

    A subject whose registry is empty or behind compatibility/ gets the recorded
    versions it lacks first, in order (`replay version`), so the registry's version
    numbers match the history's; `--no-history` registers only the current schema.

    \b
    Example:
      contracts registry plan --registry-url https://registry.internal --auth @credentials.txt
    """
    catalog, client = _target(schemas, registry_url, tls)
    changes = sync.plan(client, catalog, _recorded(history, no_history))
    summary = f"{len(changes)} change(s) pending; `contracts registry push` applies them"
    _report([f"  + {c}" for c in changes], summary if changes else f"{client.url} is up to date with schemas/")


@command.command("push")
@schemas_option
@_client_options
@_history_options
def push(schemas: str | None, registry_url: str, history: str | None, no_history: bool, **tls: str | None) -> None:
    """Register changed schemas (references first) and set each subject's compatibility level.

    Recorded versions a subject's registry lacks are registered first, in order, so
    version numbers match compatibility/ (see `plan`); `--no-history` skips them.

    Checks each subject with the engine first and stops at the first
    incompatible one (exit 1), having changed nothing for it.

    \b
    Example:
      CONTRACTS_SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 contracts registry push
    """
    catalog, client = _target(schemas, registry_url, tls)
    with progress_bar("subjects") as update:
        done = sync.push(client, catalog, history=_recorded(history, no_history), echo=lambda line: click.echo(f"  {line}"), progress=update)
    click.echo(f"{len(done)} change(s) pushed to {client.url}" if done else f"{client.url} already up to date")


@command.command("diff")
@schemas_option
@_client_options
def diff(schemas: str | None, registry_url: str, **tls: str | None) -> None:
    """Show how schemas/ differs from each subject's latest version in the registry (exit 1 if it does).

    \b
    Example:
      contracts registry diff --registry-url http://127.0.0.1:8081
    """
    catalog, client = _target(schemas, registry_url, tls)
    diffs = sync.diff(client, catalog)
    changed = [d.text for d in diffs if d.changed]
    _report(changed, f"{len(changed)} of {len(diffs)} subject(s) differ")


@command.command("pull")
@schemas_option
@_client_options
@click.option("--history", type=click.Path(file_okay=False), default=None, help="Where to write (default: compatibility/).")
@click.option("--all", "all_subjects", is_flag=True, help="Every subject in the registry, not just the catalog's.")
@click.option("--force", is_flag=True, help="Overwrite recorded versions whose content differs from the registry's.")
def pull(schemas: str | None, registry_url: str, history: str | None, all_subjects: bool, force: bool, **tls: str | None) -> None:
    """Write the registry's subjects and versions into compatibility/ for the offline gate.

    A recorded version whose content differs from the registry's is never overwritten
    without --force: exit 1, naming each one, and nothing is written.

    \b
    Examples:
      contracts registry pull --registry-url http://127.0.0.1:8081
      contracts registry pull --all --history compatibility
    """
    catalog, client = _target(schemas, registry_url, tls)
    root = Path(history) if history else load_config().compatibility
    written = sync.pull(client, catalog, root, all_subjects=all_subjects, force=force)
    for p in written:
        click.echo(f"  {p}")
    click.echo(f"wrote {len(written)} version file(s) under {root}")


