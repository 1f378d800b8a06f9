"""``contracts dev up|down|status``: the embedded broker and registry in the background, for local work."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from contracts.errors import BadInputError
from contracts.testing.broker import TansuBroker, free_port, wait_for_port

STATE = Path(".contracts-dev") / "state.json"


@click.group("dev")
def command() -> None:
    """Start and stop a local broker (Tansu) and schema registry (embedded)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _load() -> dict[str, Any] | None:
    if not STATE.exists():
        return None
    data: dict[str, Any] = json.loads(STATE.read_text())
    return data


@command.command("up")
@click.option("--kafka-port", type=click.IntRange(0, 65535), default=9092, show_default=True, help="0 picks a free port.")
@click.option("--registry-port", type=click.IntRange(0, 65535), default=8081, show_default=True, help="0 picks a free port.")
def up(kafka_port: int, registry_port: int) -> None:
    """Start both in the background and print where they listen (data under .contracts-dev/)."""
    state = _load()
    if state and all(_alive(p) for p in state["pids"].values()):
        click.echo(f"already running: KAFKA_BOOTSTRAP_SERVERS={state['bootstrap']} SCHEMA_REGISTRY_URL={state['registry']}")
        return
    STATE.parent.mkdir(exist_ok=True)
    broker = TansuBroker(port=kafka_port or free_port())
    try:
        broker.start()
    except Exception as exc:
        raise BadInputError(f"cannot start the broker on port {broker.port}: {exc}") from exc
    port = registry_port or free_port()
    log = (STATE.parent / "registry.log").open("ab")
    registry = subprocess.Popen(
        [sys.executable, "-m", "contracts", "registry", "serve", "--port", str(port), "--data", str(STATE.parent / "registry.sqlite")],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port)
    except Exception:
        registry.kill()
        broker.stop()
        raise
    state = {
        "bootstrap": broker.bootstrap_servers,
        "registry": f"http://127.0.0.1:{port}",
        "pids": {"broker": broker.pid, "registry": registry.pid},
    }
    STATE.write_text(json.dumps(state, indent=2))
    click.echo(f"export CONTRACTS_KAFKA_BOOTSTRAP_SERVERS={state['bootstrap']}")
    click.echo(f"export CONTRACTS_SCHEMA_REGISTRY_URL={state['registry']}")


@command.command("down")
def down() -> None:
    """Stop what `dev up` started."""
    state = _load()
    if state is None:
        click.echo("nothing is running")
        return
    for name, pid in state["pids"].items():
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
                _reap(pid)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            click.echo(f"stopped {name} (pid {pid})")
    STATE.unlink()


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@command.command("status")
def status() -> None:
    """Say whether the local broker and registry run, and where."""
    state = _load()
    if state is None:
        click.echo("not running (contracts dev up starts them)")
        return
    for name, pid in state["pids"].items():
        click.echo(f"{name}: {'running' if _alive(pid) else 'stopped'} (pid {pid})")
    click.echo(f"CONTRACTS_KAFKA_BOOTSTRAP_SERVERS={state['bootstrap']}")
    click.echo(f"CONTRACTS_SCHEMA_REGISTRY_URL={state['registry']}")
