"""No secret reaches a log record or a dead-letter header."""

from __future__ import annotations

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
