"""No secret reaches a log record or a dead-letter header."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.errors import redact

_TEXT = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.~!$&*+"), min_size=4, max_size=24)


@given(user=_TEXT, password=_TEXT, scheme=st.sampled_from(["http", "https", "sasl+ssl"]))
def test_url_credentials_are_masked(user: str, password: str, scheme: str) -> None:
    text = f"failed for {scheme}://{user}:{password}@registry.internal:8081/subjects (retrying)"
    out = redact(text)
    assert password not in out.replace("registry.internal:8081/subjects (retrying)", "")
    assert out == f"failed for {scheme}://***@registry.internal:8081/subjects (retrying)"


@given(secret=_TEXT, key=st.sampled_from(["password", "sasl.password", "basic.auth.user.info", "api_key", "ssl.key.password", "token"]))
def test_secret_settings_are_masked(secret: str, key: str) -> None:
    for text in (f"{key}={secret}", f"{{'{key}': '{secret}'}}", f"{key}: {secret}"):
        assert secret not in redact(text), text


def test_plain_text_is_left_alone() -> None:
    text = "delivery to orders[3]@17 failed: Broker: Message size too large (see https://kafka.apache.org/docs)"
    assert redact(text) == text


def test_registry_url_credentials_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Regression: `error: registry http://user:secret@... is unreachable` printed the password.
    import shutil

    from click.testing import CliRunner

    from contracts.cli import main
    from tests.conftest import ROOT

    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://alice:hunter2-secret@127.0.0.1:{port}"
    for args in (["registry", "plan", "--registry-url", url], ["compat", "check", "--against-registry", url], ["-vv", "registry", "pull", "--registry-url", url]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 3, result.output
        assert "hunter2-secret" not in result.output and "alice" not in result.output
        assert "127.0.0.1" in result.output
    assert "hunter2-secret" not in caplog.text


def test_url_credentials_authenticate_and_stay_hidden() -> None:
    from contracts.registry.client import RegistryClient
    from contracts.registry.server import EmbeddedRegistry

    with EmbeddedRegistry(auth="alice:hunter2-secret") as reg:
        host = reg.url.removeprefix("http://")
        client = RegistryClient(f"http://alice:hunter2-secret@{host}")
        assert client.subjects() == [] and "hunter2" not in client.url
        with pytest.raises(Exception) as exc:
            RegistryClient(f"http://alice:wrong-pass@{host}").subjects()
        assert "wrong-pass" not in str(exc.value) and "--auth" in str(exc.value)


def test_log_records_are_redacted_by_the_cli_filter() -> None:
    import logging

    from contracts.redaction import RedactingFilter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s with password=%s", ("http://u:pw-123@h:1/", "pw-456"), None)
    assert RedactingFilter().filter(record)
    assert "pw-123" not in record.getMessage() and "pw-456" not in record.getMessage()
