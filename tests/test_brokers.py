"""Choosing the broker, and what is said when Apache Kafka cannot run here (no broker is started)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.cli import main
from contracts.errors import BadInputError, InfrastructureError
from contracts.testing import BROKER_ENV, ApacheKafkaBroker, TansuBroker, broker_kind, make_broker
from contracts.testing.apache_kafka import JARS_ENV, kafka_jars, missing


def test_the_broker_is_tansu_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BROKER_ENV, raising=False)
    assert broker_kind() == "tansu" and isinstance(make_broker(), TansuBroker)
    monkeypatch.setenv(BROKER_ENV, "Kafka")
    assert broker_kind() == "kafka" and isinstance(make_broker(), ApacheKafkaBroker)
    assert broker_kind("tansu") == "tansu", "an explicit choice wins over the environment"


def test_an_unknown_broker_is_bad_input_naming_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BROKER_ENV, "redpanda")
    with pytest.raises(BadInputError, match=r"CONTRACTS_BROKER: unknown broker 'redpanda'; expected one of kafka, tansu"):
        broker_kind()
    result = CliRunner().invoke(main, ["dev", "up", "--broker", "redpanda"])
    assert result.exit_code == 2 and "'redpanda' is not one of" in result.output


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only ``tools`` (the real ones), so that the rest are missing."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for tool in tools:
        real = shutil.which(tool)
        if real is None:
            pytest.skip(f"needs {tool} on this machine")
        (folder / tool).symlink_to(real)
    return str(folder)


def test_without_java_the_reason_names_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    reason = missing()
    assert reason is not None and "Java 17" in reason and "`java`" in reason
    with pytest.raises(InfrastructureError, match="Java 17"):
        ApacheKafkaBroker().start()


def test_with_java_but_no_maven_and_no_cached_jars_the_reason_names_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(JARS_ENV, str(tmp_path / "jars"))
    monkeypatch.setenv("PATH", _path_with(tmp_path, "java"))
    reason = missing()
    assert reason is not None and "Maven" in reason and str(tmp_path / "jars") in reason


def test_a_failed_fetch_leaves_no_half_filled_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(JARS_ENV, str(tmp_path / "cache" / "jars"))
    path = _path_with(tmp_path, "java")
    refusing = Path(path) / "mvn"
    refusing.write_text("#!/bin/sh\necho 'Could not resolve dependencies: 403 Forbidden' >&2\nexit 1\n")
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", path + os.pathsep + "/bin")
    with pytest.raises(InfrastructureError, match=r"Maven could not fetch Apache Kafka .*\n.*403 Forbidden"):
        kafka_jars()
    assert not (tmp_path / "cache" / "jars").exists()
    assert not list((tmp_path / "cache").iterdir()), "no staging folder left behind"


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: an id starting with "-" (1 start in 64) read as an option to Kafka's storage tool, which refused to format."""
    import uuid

    from contracts.testing import apache_kafka

    made = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)])  # the first encodes as "-A..."
    monkeypatch.setattr(apache_kafka.uuid, "uuid4", lambda: next(made))
    found = apache_kafka.cluster_id()
    assert not found.startswith("-") and len(found) == 22
