"""Project settings from ``[tool.contracts]`` in ``pyproject.toml``, with environment overrides."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.lint import RULES, LintConfig

REGISTRY_URL_ENV = "CONTRACTS_SCHEMA_REGISTRY_URL"


@dataclass
class ProjectConfig:
    """Where things live and how lint and the gate behave."""

    root: Path
    schemas: Path
    compatibility: Path
    events: Path
    lint: LintConfig = field(default_factory=LintConfig)
    strict_logical_types: bool = False


def load_config(start: Path | None = None) -> ProjectConfig:
    """Find ``pyproject.toml`` from ``start`` upwards; defaults when there is none."""
    start = (start or Path.cwd()).resolve()
    pyproject = next((d / "pyproject.toml" for d in [start, *start.parents] if (d / "pyproject.toml").exists()), None)
    root = pyproject.parent if pyproject else start
    data: dict[str, Any] = {}
    if pyproject:
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("contracts", {})
        except tomllib.TOMLDecodeError as exc:
            raise SchemaError(str(exc), Location(file=str(pyproject)), "INVALID_CONFIG") from exc
    lint_data = data.get("lint", {})
    known = {r.id for r in RULES}

    def rules(value: Any, where: str) -> set[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SchemaError("expected a list of rule ids", Location(file=str(pyproject), path=where), "INVALID_CONFIG")
        unknown = set(value) - known
        if unknown:
            raise SchemaError(
                f"unknown lint rule(s) {', '.join(sorted(unknown))}; see `contracts lint --list-rules`",
                Location(file=str(pyproject), path=where),
                "INVALID_CONFIG",
            )
        return set(value)

    lint = LintConfig(
        disable=rules(lint_data.get("disable", []), "tool.contracts.lint.disable"),
        per_path={k: rules(v, f"tool.contracts.lint.per_path.{k}") for k, v in lint_data.get("per_path", {}).items()},
    )
    return ProjectConfig(
        root=root,
        schemas=root / data.get("schemas", "schemas"),
        compatibility=root / data.get("compatibility", "compatibility"),
        events=root / data.get("events", "src/contracts/events"),
        lint=lint,
        strict_logical_types=bool(data.get("compat", {}).get("strict_logical_types", False)),
    )

