"""``contracts dev up|down|status``: the embedded broker and registry in the background, for local work."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from contracts.errors import InfrastructureError
from contracts.kafka.consumer import SESSION_TIMEOUT_ENV
from contracts.testing.broker import SESSION_TIMEOUT_MS, create_topics, free_port, wait_for_port
from contracts.testing.brokers import BROKER_ENV, BROKERS, make_broker

STATE = Path(".contracts-dev") / "state.json"
KAFKA_DATA = STATE.parent / "kafka"


@click.group("dev")
def command() -> None:
    """Start and stop a local broker (Tansu or Apache Kafka) and schema registry (embedded).

    \b
    Example:
      eval "$(contracts dev up)"
    """


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _load() -> dict[str, Any] | None:
    if not STATE.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(STATE.read_text())
    except ValueError:
        return None  # a state file cut short: nothing it names can be trusted
    return data


def _exports(state: dict[str, Any]) -> None:
    """The lines ``eval "$(contracts dev up)"`` runs: the same on every call.

    The session timeout: Tansu holds a new group's first join for about half of
    ``session.timeout.ms`` (librdkafka's default 45 s makes that ~23 s); consumers read
    ``CONTRACTS_KAFKA_SESSION_TIMEOUT_MS`` as their default, so they join in ~3 s here.
    """
    click.echo(f"export CONTRACTS_KAFKA_BOOTSTRAP_SERVERS={state['bootstrap']}")
    click.echo(f"export CONTRACTS_SCHEMA_REGISTRY_URL={state['registry']}")
    click.echo(f"export {SESSION_TIMEOUT_ENV}={SESSION_TIMEOUT_MS}")
    if state.get("registry_metrics"):
        click.echo(f"# the registry's metrics: {state['registry_metrics']}")


def _create_catalog_topics(bootstrap: str) -> None:
    """The catalog's topics with their partitions, and their dead-letter topics (when run in a project)."""
    from contracts.catalog import load_catalog
    from contracts.config import load_config
    from contracts.errors import ContractsError

    try:
        config = load_config()
        if not (config.schemas / "catalog.toml").is_file():
            click.echo(f"no {config.schemas}/catalog.toml here: no topics created (they appear with 4 partitions on first use)", err=True)
            return
        catalog = load_catalog(config.schemas)
    except ContractsError as exc:
        click.echo(f"topics not created: {exc}", err=True)
        return
    topics = {t.name: t.partitions for t in catalog.topics.values()} | {t.dlq: 1 for t in catalog.topics.values()}
    create_topics(bootstrap, topics)
    click.echo(f"created the catalog's topics: {', '.join(f'{name} ({n})' for name, n in sorted(topics.items()))}", err=True)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@command.command("up")
@click.option("--kafka-port", type=click.IntRange(0, 65535), default=9092, show_default=True, help="0 picks a free port.")
@click.option("--registry-port", type=click.IntRange(0, 65535), default=8081, show_default=True, help="0 picks a free port.")
@click.option("--broker", "broker_kind", type=click.Choice(sorted(BROKERS)), envvar=BROKER_ENV, default="tansu", show_default=True,
              help=f"Tansu (in memory, Python only) or Apache Kafka (KRaft, needs Java 17; jars from Maven Central once). Also ${BROKER_ENV}.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Also serve the registry's /metrics on this port (0 picks a free one; needs the metrics extra).")  # fmt: skip
def up(kafka_port: int, registry_port: int, broker_kind: str, metrics_port: int | None) -> None:
    """Start both in the background and print where they listen, as eval-safe export lines.

    A second call prints the same lines. A port already taken is exit 3, naming it,
    and leaves nothing running. Data lives under .contracts-dev/ (Apache Kafka's
    log folder too, removed by `dev down`).

    \b
    Example:
      eval "$(contracts dev up)"
      eval "$(contracts dev up --broker kafka)"
      contracts dev up --metrics-port 9465
    """
    state = _load()
    if state and all(_alive(p) for p in _pids(state)):
        _exports(state)
        return
    if state:  # half of it died: stop the rest, so that nothing is left behind when it starts again
        _stop_all(state, echo=lambda line: click.echo(line, err=True))
    if metrics_port is not None:
        from contracts.observe.extra import prometheus

        prometheus()  # the extra, or one clear line before anything starts
    ports = {"broker": kafka_port or free_port(), "registry": registry_port or free_port()}
    if metrics_port is not None:
        ports["metrics"] = metrics_port or free_port()
    taken = [f"{name} port {port}" for name, port in ports.items() if not _port_free(port)]
    if taken:
        raise InfrastructureError(f"{' and '.join(taken)} already in use; pick others with --kafka-port/--registry-port (0 picks a free one)")
    STATE.parent.mkdir(exist_ok=True)
    options: dict[str, Any] = {"port": ports["broker"]}
    if broker_kind == "kafka":  # outlives this command; a fresh log folder, as its controller port is new
        shutil.rmtree(KAFKA_DATA, ignore_errors=True)
        KAFKA_DATA.mkdir(parents=True)
        options |= {"data": KAFKA_DATA, "tied": False}
    broker = make_broker(broker_kind, **options)
    try:
        broker.start()
    except Exception as exc:
        broker.stop()
        raise InfrastructureError(f"cannot start {broker.name} on port {broker.port}: {exc}") from exc
    log = (STATE.parent / "registry.log").open("ab")
    metrics = ["--metrics-port", str(ports["metrics"])] if "metrics" in ports else []
    registry = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", str(ports["registry"]), "--data", str(STATE.parent / "registry.sqlite"), *metrics],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", ports["registry"])
        if registry.poll() is not None:
            raise InfrastructureError(f"the registry exited at start (see {STATE.parent / 'registry.log'})")
    except BaseException:
        registry.kill()
        broker.stop()
        raise
    _create_catalog_topics(broker.bootstrap_servers)
    state = {
        "broker": broker.name,
        "bootstrap": broker.bootstrap_servers,
        "registry": f"http://127.0.0.1:{ports['registry']}",
        "pids": {"broker": broker.pid, "registry": registry.pid},
        **({"registry_metrics": f"http://127.0.0.1:{ports['metrics']}/metrics"} if "metrics" in ports else {}),
    }
    STATE.write_text(json.dumps(state, indent=2))
    _exports(state)


def _pids(state: dict[str, Any]) -> list[int]:
    return [int(p) for p in state.get("pids", {}).values() if p]


def _stop_all(state: dict[str, Any], echo: Any) -> None:
    for name, pid in state["pids"].items():
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
                _reap(pid)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            echo(f"stopped {name} (pid {pid})")
    shutil.rmtree(KAFKA_DATA, ignore_errors=True)
    STATE.unlink(missing_ok=True)


@command.command("down")
def down() -> None:
    """Stop what `dev up` started.

    \b
    Example:
      contracts dev down
    """
    state = _load()
    if state is None:
        click.echo("nothing is running")
        return
    _stop_all(state, echo=click.echo)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@command.command("status")
def status() -> None:
    """Say whether the local broker and registry run, and where.

    \b
    Example:
      contracts dev status
    """
    state = _load()
    if state is None:
        click.echo("not running (contracts dev up starts them)")
        return
    for name, pid in state["pids"].items():
        what = f" ({state['broker']})" if name == "broker" and state.get("broker") else ""
        click.echo(f"{name}{what}: {'running' if _alive(pid) else 'stopped'} (pid {pid})")
    _exports(state)
