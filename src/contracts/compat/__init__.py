"""The compatibility engine and gate: one engine for the CLI gate, the registry and deployments."""

from contracts.compat.checker import Checker, Incompatibility
from contracts.compat.engine import VersionedSchema, check_level
from contracts.compat.gate import GateResult, run_gate
from contracts.compat.history import History, load_history
from contracts.compat.rules import BY_ID, RULES, CompatRule, describe
from contracts.levels import LEVELS

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
