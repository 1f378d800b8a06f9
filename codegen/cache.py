"""What codegen remembers between runs, in its cache folder (safe to delete).

- The last run's inputs and output: a rerun with neither changed does nothing, having looked
  at the files' stat (or asked git), not read them.
- datamodel-code-generator's naming answers, per document: only documents holding new names run.
- Each rendered namespace module, keyed by everything its rendering reads (its types in full,
  their source files, the names chosen for their fields and symbols, the package): a changed
  schema renders again only the modules it is part of.

What is remembered is what a fresh run produces (``codegen --check`` renders without it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from contracts import schema as schema_model
from contracts.filedigests import FileDigests, read_cache, write_cache

from .naming import Naming
from .render import RenderedModule

VERSION = 1
_ENGINE: str | None = None


def engine(generator_version: str) -> str:
    """The generator's own code and the schema model it renders from: editing either makes everything stale."""
    global _ENGINE
    if _ENGINE is None:
        h = hashlib.blake2b(f"{VERSION}\0{generator_version}".encode(), digest_size=16)
        for folder in (Path(__file__).parent, Path(schema_model.__file__).parent):
            for src in sorted(folder.glob("*.py")):
                h.update(src.read_bytes())
        _ENGINE = h.hexdigest()
    return _ENGINE


class CodegenCache:
    """The cache in ``folder`` (``None``: remember nothing)."""

    def __init__(self, folder: Path | None, generator_version: str) -> None:
        self.folder = folder
        self.engine = engine(generator_version)
        self.files = FileDigests(folder / "files.digests" if folder else None)
        self._state = self._load("state.json")
        self._names: dict[str, Any] | None = None  # the rest is read only when something is generated
        self._modules_old: dict[str, Any] | None = None
        self._modules: dict[str, Any] = {}
        self.rendered = 0  # modules rendered in this run (not remembered)

    def _load(self, name: str) -> dict[str, Any]:
        return read_cache(self.folder / name if self.folder else None, {"engine": self.engine})

    # -- the whole run -------------------------------------------------------
    def inputs_key(self, schemas: Path, package: str) -> str:
        return f"{package}\0{self.files.tree_key([schemas])}"

    def unchanged(self, inputs: str, output: Path) -> bool:
        """Whether the last run had these inputs and left ``output`` as it is now."""
        return bool(self._state) and self._state.get("inputs") == inputs and self._state.get("output") == self._output_key(output)

    def _output_key(self, output: Path) -> str:
        return self.files.tree_key([output]) if output.is_dir() else ""

    def ran(self, inputs: str, output: Path) -> None:
        self._state = {"inputs": inputs, "output": self._output_key(output)}

    @property
    def names(self) -> dict[str, Any]:
        """datamodel-code-generator's answers, by document digest (filled in as new documents are asked)."""
        if self._names is None:
            self._names = self._load("names.json")
        return self._names

    # -- modules -------------------------------------------------------------
    def module_key(self, package: str, namespace: str, types: list[schema_model.NamedSchema], files: dict[str, str], naming: Naming) -> str:
        h = hashlib.blake2b(f"{package}\0{namespace}".encode(), digest_size=16)
        for t in sorted(types, key=lambda x: x.fullname):
            h.update(f"\n{t.fullname}\0{files.get(t.fullname, '')}\0{schema_model.full_text(t)}".encode())
            if isinstance(t, schema_model.Record):
                h.update(repr([(f.name, naming.fields.get(f.name)) for f in t.fields]).encode())
            elif isinstance(t, schema_model.Enum):
                h.update(repr([(sym, naming.symbols.get(sym)) for sym in t.symbols]).encode())
        return h.hexdigest()

    def module(self, key: str) -> RenderedModule | None:
        if self._modules_old is None:
            self._modules_old = self._load("modules.json")
        found = self._modules_old.get(key)
        if not isinstance(found, dict):
            return None
        try:
            module = RenderedModule(
                found["head"], {m: set(n) for m, n in found["imports"].items()}, found["body"], list(found["records"]), found["exports"]
            )
        except (KeyError, TypeError, AttributeError):
            return None
        self._modules[key] = found
        return module

    def remember_module(self, key: str, module: RenderedModule) -> None:
        self.rendered += 1
        self._modules[key] = {
            "head": module.head, "imports": {m: sorted(n) for m, n in module.imports.items()}, "body": module.body,
            "records": module.records, "exports": module.exports,
        }  # fmt: skip

    def save(self) -> None:
        """Keep this run's state, every naming answer, and the modules this run used (those of older runs go)."""
        if self.folder is None:
            return
        for name, entries in (("state.json", self._state), ("names.json", self.names), ("modules.json", self._modules)):
            write_cache(self.folder / name, {"engine": self.engine}, entries)
        self.files.save()
