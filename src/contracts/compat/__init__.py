"""The compatibility engine and gate: one engine for the CLI gate, the registry and deployments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import exports

if TYPE_CHECKING:
    from contracts.compat.checker import Checker, Incompatibility
    from contracts.compat.engine import VersionedSchema, check_level
    from contracts.compat.gate import GateResult, run_gate
    from contracts.compat.history import History, load_history
    from contracts.compat.rules import BY_ID, RULES, CompatRule, describe
    from contracts.levels import LEVELS

# Imported when first named: a gate run answered from memory never loads the engine or the catalog.
_LAZY = {
    "BY_ID": "contracts.compat.rules",
    "LEVELS": "contracts.levels",
    "RULES": "contracts.compat.rules",
    "Checker": "contracts.compat.checker",
    "CompatRule": "contracts.compat.rules",
    "GateResult": "contracts.compat.gate",
    "History": "contracts.compat.history",
    "Incompatibility": "contracts.compat.checker",
    "VersionedSchema": "contracts.compat.engine",
    "check_level": "contracts.compat.engine",
    "describe": "contracts.compat.rules",
    "load_history": "contracts.compat.history",
    "run_gate": "contracts.compat.gate",
}
__getattr__ = exports(__name__, _LAZY)

__all__ = [
    "BY_ID",
    "LEVELS",
    "RULES",
    "Checker",
    "CompatRule",
    "GateResult",
    "History",
    "Incompatibility",
    "VersionedSchema",
    "check_level",
    "describe",
    "load_history",
    "run_gate",
]
