from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from contracts.codegen import generate
from hypothesis import HealthCheck, settings

from contracts.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
SCHEMAS = ROOT / "schemas"

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by the fixtures a test uses, so that ``-m kafka`` selects every test that talks to a broker."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "kafka_bootstrap" in names:
            item.add_marker(pytest.mark.kafka)
        if "apache_kafka" in names:
            item.add_marker(pytest.mark.apache_kafka)


class Generated:
    """A catalog generated into an importable throwaway package."""

    def __init__(self, catalog: Catalog, package: str) -> None:
        self.catalog = catalog
        self.package = package

    def module(self, namespace: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{namespace}")

    def cls(self, fullname: str) -> type:
        """The generated class for an Avro full name (it may be renamed, as ``Field`` -> ``Field_``)."""
        ns = fullname.rpartition(".")[0]
        for obj in vars(self.module(ns)).values():
            if isinstance(obj, type) and getattr(obj, "__avro_fullname__", None) == fullname:
                return obj
        raise LookupError(fullname)


@pytest.fixture(scope="session")
def gen_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("generated")
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


def generate_into(gen_root: Path, schemas: Path, package: str) -> Generated:
    generate(schemas, gen_root / package, package=package, force=True)
    importlib.invalidate_caches()
    return Generated(load_catalog(schemas), package)


@pytest.fixture(scope="session")
def tricky(gen_root: Path) -> Generated:
    return generate_into(gen_root, CORPUS, "tricky_gen")


@pytest.fixture(scope="session")
def shipped() -> Generated:
    """The committed package generated from schemas/."""
    return Generated(load_catalog(SCHEMAS), "contracts.events")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of this repository's schemas/ and compatibility/ as the working directory."""
    for name in ("schemas", "compatibility"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "pyproject.toml").write_text("[tool.contracts]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path
