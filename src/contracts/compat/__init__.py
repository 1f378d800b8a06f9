"""The compatibility engine and gate: one engine for the CLI gate, the registry and deployments."""

from contracts.compat.checker import Checker, Incompatibility
from contracts.compat.gate import LEVELS, GateResult, VersionedSchema, check_level, run_gate
from contracts.compat.history import History, load_history
from contracts.compat.rules import BY_ID, RULES, CompatRule, describe

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
