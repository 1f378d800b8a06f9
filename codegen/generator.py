"""The codegen pipeline: schemas/ -> contracts.events, atomically, deterministically, cached."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from contracts.catalog import Catalog, load_catalog
from contracts.schema import NamedSchema

from .naming import decide_names
from .render import PACKAGE, Renderer, module_of

GENERATOR_VERSION = "1"
_CACHE_FILE = "codegen.json"


@dataclass
class GenerateResult:
    """What a run did: the files it wrote (relative to the output folder) and whether the cache hit."""

    files: dict[str, str] = field(default_factory=dict)
    cached: bool = False
    changed: list[str] = field(default_factory=list)


def render_package(catalog: Catalog, package: str = PACKAGE) -> dict[str, str]:
    """The generated package as ``{relative path: text}``, without touching the disk."""
    types = catalog.types
    ordered: list[NamedSchema] = [types[k] for k in sorted(types)]
    naming = decide_names(ordered)
    files = {t.fullname: t.file or "" for t in ordered}
    renderer = Renderer(types, naming, files, package)
    by_ns: dict[str, list[NamedSchema]] = {}
    for t in ordered:
        by_ns.setdefault(t.namespace, []).append(t)
    out: dict[str, str] = {}
    for ns in sorted(by_ns):
        rel = _module_path(ns, package)
        out[rel] = renderer.render_module(ns, by_ns[ns])
    for rel in list(out):
        parent = Path(rel).parent
        while parent != Path("."):
            init = (parent / "__init__.py").as_posix()
            if init not in out:
                pkg = ".".join([package, *parent.parts])
                out[init] = f'"""Namespace package ``{pkg}`` (generated)."""\n'
            parent = parent.parent
    if "__init__.py" not in out:
        out["__init__.py"] = (
            '"""Generated event classes, one module per Avro namespace.\n\n'
            f"Import them as ``from {package}.<namespace> import <Name>``; "
            'regenerate with ``make codegen``.\n"""\n'
        )
    out["py.typed"] = ""
    return dict(sorted(out.items()))


def _module_path(namespace: str, package: str) -> str:
    parts = module_of(namespace, package).split(".")[len(package.split(".")) :]
    return "/".join([*parts, "__init__.py"])


def _inputs_hash(schemas: Path) -> str:
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.read_bytes())
    for p in sorted(schemas.rglob("*")):
        if p.is_file() and (p.suffix == ".avsc" or p.name == "catalog.toml"):
            h.update(p.relative_to(schemas).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    if not root.is_dir():
        return ""
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def read_tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def diff_trees(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Relative paths that differ, are missing or are extra."""
    return sorted(p for p in set(expected) | set(actual) if expected.get(p) != actual.get(p))


def generate(
    schemas: Path | str,
    output: Path | str,
    *,
    cache_dir: Path | str | None = None,
    force: bool = False,
    package: str = PACKAGE,
) -> GenerateResult:
    """Regenerate ``output`` from ``schemas``; a failure leaves ``output`` as it was."""
    schemas, output = Path(schemas), Path(output)
    _recover(output)
    cache = Path(cache_dir) / _CACHE_FILE if cache_dir else None
    key = _inputs_hash(schemas) + package
    if cache and not force and cache.exists():
        try:
            state = json.loads(cache.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("inputs") == key and state.get("output") == _tree_hash(output):
            return GenerateResult(cached=True)
    catalog = load_catalog(schemas)
    files = render_package(catalog, package)
    changed = diff_trees(files, read_tree(output))
    if changed:
        _write_atomically(output, files)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"inputs": key, "output": _tree_hash(output)}))
    return GenerateResult(files=files, changed=changed)


def check(schemas: Path | str, output: Path | str, package: str = PACKAGE) -> list[str]:
    """Files of ``output`` that differ from what ``schemas`` generate (empty when in sync)."""
    files = render_package(load_catalog(Path(schemas)), package)
    return diff_trees(files, read_tree(Path(output)))


def _write_atomically(output: Path, files: dict[str, str]) -> None:
    """Write the package into a sibling folder, then swap it in with renames."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.new-", dir=output.parent))
    try:
        for rel, text in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        old = output.parent / f".{output.name}.old"
        if old.exists():
            shutil.rmtree(old)
        if output.exists():
            os.replace(output, old)
        os.replace(tmp, output)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _recover(output: Path) -> None:
    """Restore the previous package if a run died between the two renames."""
    old = output.parent / f".{output.name}.old"
    if old.exists() and not output.exists():
        os.replace(old, output)
