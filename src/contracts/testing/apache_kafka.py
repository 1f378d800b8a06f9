"""Apache Kafka itself for tests and local work: one KRaft node on loopback, from Maven Central's jars.

``ApacheKafkaBroker`` formats its own storage in a temporary folder, listens on free
127.0.0.1 ports (a broker port and a controller port), and on ``stop()`` shuts down
cleanly and removes the folder. The jars (``org.apache.kafka:kafka_2.13`` and what it
needs at run time, at pinned versions) come from Maven Central through Maven, once, into
a cache folder that later runs reuse: ``$CONTRACTS_KAFKA_JARS``, else
``$XDG_CACHE_HOME/event-contracts/apache-kafka-<version>`` (``~/.cache`` by default).
``missing()`` names what this machine lacks (Java 17+, or Maven while the cache is empty).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from contracts.errors import InfrastructureError
from contracts.testing.broker import free_port, terminate, wait_for_port

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"
ARTIFACTS = (f"org.apache.kafka:kafka_{SCALA_VERSION}:{KAFKA_VERSION}", "org.slf4j:slf4j-simple:1.7.36")
"""What the broker's class path is resolved from (slf4j-simple: the broker's warnings go to its log file)."""
JARS_ENV = "CONTRACTS_KAFKA_JARS"
MIN_JAVA = 17
_COMPLETE = ".complete"  # written last: a folder without it is a download cut short

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>event-contracts</groupId><artifactId>apache-kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def jars_folder() -> Path:
    """Where the jars are cached (see the module docstring)."""
    if os.environ.get(JARS_ENV):
        return Path(os.environ[JARS_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "event-contracts" / f"apache-kafka-{KAFKA_VERSION}"


def java_version(java: str) -> int | None:
    """The major version of ``java`` (``17`` for 17.0.15), or ``None`` when it does not say."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def missing() -> str | None:
    """Why Apache Kafka cannot start here (what is missing), or ``None`` when it can."""
    java = shutil.which("java")
    if java is None:
        return f"Apache Kafka needs Java {MIN_JAVA} or newer, and no `java` is on PATH"
    version = java_version(java)
    if version is None or version < MIN_JAVA:
        return f"Apache Kafka needs Java {MIN_JAVA} or newer; `{java}` is Java {version or 'of an unknown version'}"
    if not (jars_folder() / _COMPLETE).is_file() and shutil.which("mvn") is None:
        return f"Apache Kafka's jars are not cached in {jars_folder()} and no Maven (`mvn`) is on PATH to fetch them"
    return None


def kafka_jars() -> Path:
    """The folder of the broker's jars, fetched through Maven on first use (all or nothing)."""
    folder = jars_folder()
    if (folder / _COMPLETE).is_file():
        return folder
    reason = missing()
    if reason:
        raise InfrastructureError(reason)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetching-") as tmp:
        staging = Path(tmp) / "lib"
        dependencies = "\n".join(
            "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>".format(*a.split(":"))
            for a in ARTIFACTS
        )
        (Path(tmp) / "pom.xml").write_text(_POM.format(dependencies=dependencies))
        command = ["mvn", "-q", "-B", "-f", str(Path(tmp) / "pom.xml"), "dependency:copy-dependencies",
                   f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or not any(staging.glob("kafka_*.jar")):
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise InfrastructureError(f"Maven could not fetch Apache Kafka {KAFKA_VERSION} from Maven Central:\n{tail}")
        (staging / _COMPLETE).write_text("\n".join(ARTIFACTS) + "\n")
        with contextlib.suppress(OSError):
            staging.rename(folder)  # another process may have finished first: its copy is as good
    if not (folder / _COMPLETE).is_file():
        raise InfrastructureError(f"the Apache Kafka jars could not be put in {folder}")
    return folder


def _tie_to_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that ends the child with the thread that started it (Linux's ``PR_SET_PDEATHSIG``).

    The C function is looked up here, in the parent: the forked child only calls it. ctypes is
    imported here, not at the top: every ``contracts`` command imports this module for ``--broker``.
    """
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)


def cluster_id() -> str:
    """A new cluster id, as Kafka makes them: a random UUID in URL-safe base64, never starting with "-".

    One starting with "-" (1 in 64) reads as an option to the storage tool, which then refuses to format.
    """
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


class ApacheKafkaBroker:
    """``with ApacheKafkaBroker() as broker: broker.bootstrap_servers``: one KRaft node, broker and controller.

    ``restart()`` stops it and starts it again on the same ports and data (a broker
    restart mid-stream); ``stop()`` removes the data folder unless it was given.
    ``tied=True`` (the default) ends the broker with the process that started it.
    """

    name = f"Apache Kafka {KAFKA_VERSION}"

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, data: Path | None = None, *, tied: bool = True) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.controller_port = free_port(host)
        self._given = data is not None
        self.data = data
        self.tied = tied
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_file(self) -> Path | None:
        return self.data / "broker.log" if self.data else None

    def _properties(self, logs: Path) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(logs),
            # One node: every internal topic has one replica, and a new group starts at once.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "4",  # as Tansu gives a topic made on first use
        }
        return "".join(f"{k}={v}\n" for k, v in settings.items())

    def _java(self, jars: Path, *args: str) -> list[str]:
        return ["java", "-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", f"{jars}/*", *args]  # fmt: skip

    def start(self) -> ApacheKafkaBroker:
        reason = missing()
        if reason:
            raise InfrastructureError(reason)
        jars = kafka_jars()
        if self.data is None:
            self.data = Path(tempfile.mkdtemp(prefix="contracts-kafka-"))
        config, logs = self.data / "server.properties", self.data / "logs"
        config.write_text(self._properties(logs))
        if not (logs / "meta.properties").is_file():
            cluster = cluster_id()
            done = subprocess.run(self._java(jars, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c", str(config)),
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            if done.returncode != 0:
                self._remove()
                raise InfrastructureError(f"formatting Apache Kafka's storage failed: {(done.stderr or done.stdout).strip()[-600:]}")
        with (self.data / "broker.log").open("ab") as log:
            self._proc = subprocess.Popen(
                self._java(jars, "kafka.Kafka", str(config)),
                stdout=log, stderr=log, start_new_session=True,
                preexec_fn=_tie_to_parent() if self.tied else None,
            )  # fmt: skip
        try:
            self._wait_ready()
        except InfrastructureError:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float = 90.0) -> None:
        """Until the port answers and the broker serves metadata (a JVM on two busy cores can take a while)."""
        from confluent_kafka import Consumer, KafkaException, TopicPartition
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        try:
            wait_for_port(self.host, self.port, timeout=timeout, alive=lambda: self._proc is not None and self._proc.poll() is None)
        except InfrastructureError as exc:
            raise InfrastructureError(f"{self.name} did not start: {exc}{self._log_tail()}") from exc
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if admin.list_topics(timeout=2).brokers:
                    break
            time.sleep(0.1)
        # The group coordinator's topic is made on first use and then loaded: make it now, so that the
        # first consumer's commits do not meet "not coordinator" or "load in progress".
        probe = Consumer({"bootstrap.servers": self.bootstrap_servers, "group.id": "contracts-ready", "log_level": 0})
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(KafkaException):
                    probe.committed([TopicPartition("__consumer_offsets", 0)], timeout=2)
                    return
                time.sleep(0.1)
        finally:
            probe.close()
        raise InfrastructureError(f"{self.name} on {self.bootstrap_servers} is not ready after {timeout}s{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log_file is None or not self.log_file.is_file():
            return ""
        lines = self.log_file.read_text(errors="replace").strip().splitlines()[-6:]
        return "\n  " + "\n  ".join(lines) if lines else ""

    def stop(self, grace: float = 20.0, *, keep: bool = False) -> None:
        """A clean shutdown (SIGTERM), killed after ``grace`` seconds; then its data goes unless ``keep`` or given."""
        terminate(self._proc, grace)
        self._proc = None
        if not keep:
            self._remove()

    def restart(self) -> None:
        """Stop and start again on the same ports with the same data: what a rolling restart does to one broker."""
        self.stop(keep=True)
        self.start()

    def _remove(self) -> None:
        if self.data is not None and not self._given:
            shutil.rmtree(self.data, ignore_errors=True)
            self.data = None

    def __enter__(self) -> ApacheKafkaBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":  # ``python -m contracts.testing.apache_kafka``: fetch the jars now (CI does before its tests)
    print(kafka_jars())
