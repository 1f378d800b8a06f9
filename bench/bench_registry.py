"""Embedded registry throughput over real HTTP on loopback.

Registrations per second and lookups (POST /subjects/{s}) per second with one and
with eight concurrent clients (lookups of the schemas just registered, and the same after a restart,
when every answer is read from the store), and the first-message latency of confluent-kafka's
AvroSerializer against it. Baselines in the same run, on the same HTTP machinery: the same
requests (bodies and all) answered by a bare handler that does nothing (goal: lookups and
registrations of registered schemas at or above 1.0x of it with 8 clients), and GET /.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from contracts.registry.server import EmbeddedRegistry
from contracts.registry.server.app import RegistryApp
from contracts.registry.server.core import Response
from contracts.testing.slowclients import dribbling

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
N = 400


def _schema(i: int) -> str:
    fields = [{"name": "id", "type": "string"}, {"name": f"f{i}", "type": ["null", "long"], "default": None}]
    return json.dumps({"type": "record", "name": f"E{i}", "namespace": "bench", "fields": fields})


def _rate(url: str, clients: int, make: object) -> float:
    sessions = [requests.Session() for _ in range(clients)]

    def run(c: int) -> None:
        s = sessions[c]
        for i in range(c, N, clients):
            make(s, url, i)  # type: ignore[operator]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return N / (time.perf_counter() - started)


def _register(s: requests.Session, url: str, i: int) -> None:
    r = s.post(f"{url}/subjects/s{i}-value/versions", data=json.dumps({"schema": _schema(i)}), headers=CT)
    assert r.status_code == 200


def _lookup(s: requests.Session, url: str, i: int) -> None:
    r = s.post(f"{url}/subjects/s{i % N}-value", data=json.dumps({"schema": _schema(i % N)}), headers=CT)
    assert r.status_code == 200


def _lookup_again(s: requests.Session, url: str, i: int) -> None:
    """A lookup asked before (a deploy's producers all starting at once): the same 20 schemas over and over."""
    r = s.post(f"{url}/subjects/s{i % 20}-value", data=json.dumps({"schema": _schema(i % 20)}), headers=CT)
    assert r.status_code == 200


def _ping(s: requests.Session, url: str, i: int) -> None:
    assert s.get(f"{url}/").status_code == 200


def _doc_schema(i: int) -> str:
    """Schemas that differ only in a doc: one subject can hold thousands of versions of them."""
    return json.dumps(
        {
            "type": "record",
            "name": "V",
            "namespace": "bench",
            "doc": f"version {i}",
            "fields": [{"name": "id", "type": "string"}],
        }
    )


def _rates_at(url: str, subject: str, versions: int, n: int = 300) -> tuple[float, float, float]:
    """Fill ``subject`` to ``versions`` versions, then time n registrations, lookups and GET latest."""
    s = requests.Session()
    s.put(f"{url}/config/{subject}", data=json.dumps({"compatibility": "NONE"}), headers=CT)
    for i in range(versions):
        assert (
            s.post(
                f"{url}/subjects/{subject}/versions", data=json.dumps({"schema": _doc_schema(i)}), headers=CT
            ).status_code
            == 200
        )
    s.put(f"{url}/config/{subject}", data=json.dumps({"compatibility": "BACKWARD"}), headers=CT)
    started = time.perf_counter()
    for i in range(versions, versions + n):
        assert (
            s.post(
                f"{url}/subjects/{subject}/versions", data=json.dumps({"schema": _doc_schema(i)}), headers=CT
            ).status_code
            == 200
        )
    register = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(n):
        assert (
            s.post(
                f"{url}/subjects/{subject}", data=json.dumps({"schema": _doc_schema(i * 7 % versions)}), headers=CT
            ).status_code
            == 200
        )
    lookup = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(n):
        assert s.get(f"{url}/subjects/{subject}/versions/latest").status_code == 200
    latest = n / (time.perf_counter() - started)
    return register, lookup, latest


def version_scaling(tmp: str) -> None:
    """Per-request work must not grow with a subject's version count: rates at 10 and 5,000 versions."""
    results = {}
    for versions in (10, 5000):
        with EmbeddedRegistry(Path(tmp) / f"scale{versions}.sqlite") as reg:
            results[versions] = _rates_at(reg.url, "big-value", versions)
    for versions, (register, lookup, latest) in results.items():
        print(
            f"subject with {versions:>5} versions: register {register:.0f}/s, lookup {lookup:.0f}/s, GET latest {latest:.0f}/s"
        )
    small, large = results[10], results[5000]
    print(
        "rate at 5,000 versions / rate at 10: "
        + ", ".join(
            f"{name} {b / a:.2f}" for name, a, b in zip(("register", "lookup", "latest"), small, large, strict=True)
        )
    )


def slow_clients(slow: int = 1000, seconds: float = 5.0) -> None:
    """A normal client's lookups while ``slow`` connections each send one byte every half second.

    Goal (adoption round 2, item 19): no failed request, and the rate stays near the quiet one.
    """
    with EmbeddedRegistry() as reg:
        s = requests.Session()
        assert (
            s.post(
                f"{reg.url}/subjects/q-value/versions", data=json.dumps({"schema": _schema(0)}), headers=CT
            ).status_code
            == 200
        )

        def lookups() -> tuple[float, int]:
            done = failed = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                r = s.post(
                    f"{reg.url}/subjects/q-value", data=json.dumps({"schema": _schema(0)}), headers=CT, timeout=10
                )
                done += 1
                failed += r.status_code != 200
            return done / (time.perf_counter() - started), failed

        quiet, _ = lookups()
        host, port = reg.url.removeprefix("http://").rsplit(":", 1)
        with dribbling(host, int(port), slow):
            loaded, failed = lookups()
    print(f"lookups beside {slow} slow clients: {loaded:.0f}/s, {failed} failed (quiet: {quiet:.0f}/s, ratio {loaded / quiet:.2f}); "
          "goal: 0 failed")  # fmt: skip


class _Bare(RegistryApp):
    """The same server machinery with a handler that does nothing: 200 and a fixed body for every request."""

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None) -> Response:
        return Response(200, {"id": 1})


def main() -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRegistry(Path(tmp) / "bench.sqlite") as reg:
        with EmbeddedRegistry(app=_Bare) as bare:
            for clients in (1, 8):
                rates: dict[str, list[float]] = {"ping": [], "bare_lookup": [], "bare_register": [], "register": [], "again": [], "lookup": [], "repeat": [], "stored": []}
                for r in range(3):  # alternate, keep the best of each: client and server share the machine
                    rates["ping"].append(_rate(reg.url, clients, _ping))
                    rates["bare_lookup"].append(_rate(bare.url, clients, _lookup))
                    rates["bare_register"].append(_rate(bare.url, clients, _register))
                    # fresh subjects per round so that every first registration writes
                    with EmbeddedRegistry(Path(tmp) / f"r{clients}-{r}.sqlite") as fresh:
                        rates["register"].append(_rate(fresh.url, clients, _register))
                        rates["lookup"].append(_rate(fresh.url, clients, _lookup))
                        rates["again"].append(_rate(fresh.url, clients, _register))
                        rates["repeat"].append(_rate(fresh.url, clients, _lookup_again))
                    with EmbeddedRegistry(Path(tmp) / f"r{clients}-{r}.sqlite") as restarted:  # nothing in memory
                        rates["stored"].append(_rate(restarted.url, clients, _lookup))
                best = {k: max(v) for k, v in rates.items()}
                goal = ", goal >= 1.0" if clients == 8 else ""
                print(f"{clients} client(s): register (new schemas) {best['register']:.0f}/s; "
                      f"lookup {best['lookup']:.0f}/s, bare handler {best['bare_lookup']:.0f}/s (lookup/baseline = {best['lookup'] / best['bare_lookup']:.2f}{goal}); "
                      f"register a registered schema {best['again']:.0f}/s, bare {best['bare_register']:.0f}/s "
                      f"(register/baseline = {best['again'] / best['bare_register']:.2f}{goal}); GET / {best['ping']:.0f}/s")  # fmt: skip
                print(f"{clients} client(s): lookups asked before (answered from memory) {best['repeat']:.0f}/s, "
                      f"bare handler {best['bare_lookup']:.0f}/s (lookup/baseline = {best['repeat'] / best['bare_lookup']:.2f}{goal})")  # fmt: skip
                print(f"{clients} client(s): lookups after a restart (read from the store) {best['stored']:.0f}/s, "
                      f"bare handler {best['bare_lookup']:.0f}/s (lookup/baseline = {best['stored'] / best['bare_lookup']:.2f})")  # fmt: skip
        client = SchemaRegistryClient({"url": reg.url})
        started = time.perf_counter()
        ser = AvroSerializer(client, _schema(0))
        ser({"id": "x", "f0": 1}, SerializationContext("first", MessageField.VALUE))
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(1000):
            ser({"id": "x", "f0": 1}, SerializationContext("first", MessageField.VALUE))
        steady = (time.perf_counter() - started) / 1000
        print(f"AvroSerializer first message (associations, register, cache): {first * 1000:.1f} ms; "
              f"next messages {steady * 1e6:.0f} us (ratio {first / steady:.0f}x)")  # fmt: skip
        version_scaling(tmp)
    slow_clients()


if __name__ == "__main__":
    main()
