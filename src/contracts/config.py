"""Project settings from ``[tool.contracts]`` in ``pyproject.toml``, with environment overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.lint import RULES, LintConfig
from contracts.specs import ToolSpec, validate
from contracts.textfiles import read_toml

REGISTRY_URL_ENV = "CONTRACTS_SCHEMA_REGISTRY_URL"


@dataclass
class ProjectConfig:
    """Where things live and how lint and the gate behave."""

    root: Path
    schemas: Path
    compatibility: Path
    events: Path
    package: str = "events"
    lint: LintConfig = field(default_factory=LintConfig)
    strict_logical_types: bool = False


DEFAULT_PACKAGE = "events"


def package_folder(root: Path, package: str) -> Path:
    """Where ``package`` lives in a project: under ``src/`` when the project keeps its code there."""
    parts = package.split(".")
    src = root / "src"
    if (src / parts[0]).is_dir() or (src.is_dir() and not (root / parts[0]).is_dir()):
        return src.joinpath(*parts)
    return root.joinpath(*parts)


def load_config(start: Path | None = None) -> ProjectConfig:
    """Find ``pyproject.toml`` from ``start`` upwards; defaults when there is none."""
    start = (start or Path.cwd()).resolve()
    pyproject = next((d / "pyproject.toml" for d in [start, *start.parents] if (d / "pyproject.toml").exists()), None)
    root = pyproject.parent if pyproject else start
    shown = str(pyproject) if pyproject else "pyproject.toml"
    tool: Any = {}
    if pyproject:
        data = read_toml(pyproject, shown, "INVALID_CONFIG")
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise SchemaError("expected a table, got " + type(tool).__name__, Location(file=shown, path="tool"), "INVALID_CONFIG")
        tool = tool.get("contracts", {})
    spec = validate(ToolSpec, tool, file=shown, rule="INVALID_CONFIG", prefix="tool.contracts")
    known = {r.id for r in RULES}

    def rules(value: list[str], where: str) -> set[str]:
        unknown = set(value) - known
        if unknown:
            raise SchemaError(
                f"unknown lint rule(s) {', '.join(sorted(unknown))}; see `contracts lint --list-rules`",
                Location(file=shown, path=where),
                "INVALID_CONFIG",
            )
        return set(value)

    lint = LintConfig(
        disable=rules(spec.lint.disable, "tool.contracts.lint.disable"),
        per_path={k: rules(v, f"tool.contracts.lint.per_path.{k}") for k, v in spec.lint.per_path.items()},
    )
    return ProjectConfig(
        root=root,
        schemas=root / spec.schemas,
        compatibility=root / spec.compatibility,
        events=root / spec.events if spec.events else package_folder(root, spec.package or DEFAULT_PACKAGE),
        package=spec.package or DEFAULT_PACKAGE,
        lint=lint,
        strict_logical_types=spec.compat.strict_logical_types,
    )
