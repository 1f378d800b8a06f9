"""The Avro backends under the codec: cavro gives fastavro's bytes and values, refuses what fastavro refuses, and is really used."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import schema as s
from contracts.codec import backend, codec_for
from contracts.events.com.acme.orders import OrderCreated
from contracts.testing.examples import order
from tests.avro_data import avro_values
from tests.conftest import ROOT

HISTORY = ROOT / "compatibility/subjects/orders-com.acme.orders.OrderCreated"
BACKENDS = ["fastavro", "cavro"]


def _written(schema: dict[str, Any], value: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), value)
    return buf.getvalue()


def test_the_shipped_events_go_through_cavro_not_the_fallback() -> None:
    with backend.using("cavro"):
        plan = codec_for(OrderCreated).read_plan(None)
        plan.decode(order(1).to_avro_bytes())
        assert plan._reads["cavro"].__qualname__.startswith("Cavro.reader")
        assert "binary_encode" in repr(codec_for(OrderCreated).raw_write())  # cavro's own method, not the fastavro fallback


@pytest.mark.parametrize("name", BACKENDS)
def test_bytes_left_over_or_missing_are_refused(name: str) -> None:
    event = order(2)
    data = event.to_avro_bytes()
    with backend.using(name):
        assert OrderCreated.from_avro_bytes(data) == event
        with pytest.raises(backend.TrailingBytes):
            OrderCreated.from_avro_bytes(data + b"\x00")
        with pytest.raises(Exception) as truncated:
            OrderCreated.from_avro_bytes(data[:-3])
        assert not isinstance(truncated.value, backend.TrailingBytes)


@pytest.mark.parametrize("version", [1, 2])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_older_versions_read_the_same_through_both(version: int, data: st.DataObject) -> None:
    """Schema evolution: v1 and v2 data (fastavro writes it) read as today's class by each backend, to equal objects."""
    writer = json.loads(Path(HISTORY / f"v{version}.avsc").read_text())
    value = data.draw(avro_values(s.parse_schema(writer)))
    written = _written(writer, value)
    read = {}
    for name in BACKENDS:
        with backend.using(name):
            read[name] = OrderCreated.from_avro_bytes(written, writer_schema=writer)
    assert read["cavro"] == read["fastavro"]
    assert read["cavro"].model_dump() == read["fastavro"].model_dump()


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_todays_events_write_the_same_bytes_through_both(data: st.DataObject) -> None:
    value = data.draw(avro_values(s.parse_schema(OrderCreated.__avro_schema__)))
    event = OrderCreated.from_avro(value, validate=True)
    written = {}
    for name in BACKENDS:
        with backend.using(name):
            written[name] = event.to_avro_bytes()
    assert written["cavro"] == written["fastavro"] == _written(OrderCreated.__avro_schema__, event.to_avro())


def test_the_backend_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv(backend.BACKEND_ENV, "fastavro")
    assert backend.current().name == "fastavro"
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv(backend.BACKEND_ENV, "rust")
    with pytest.raises(backend.MissingBackend, match="expected 'fastavro' or 'cavro'"):
        backend.current()
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.delenv(backend.BACKEND_ENV)
    assert backend.current().name == "cavro"  # installed with the dev extras: the faster one by default
