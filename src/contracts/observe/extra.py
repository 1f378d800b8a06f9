"""The ``metrics`` extra: ``prometheus_client`` when installed, else one line naming the extra."""

from __future__ import annotations

from typing import Any

from contracts.errors import BadInputError

EXTRA = "metrics"


class MissingMetricsExtra(BadInputError):
    """Metrics were asked for, and ``prometheus-client`` is not installed (exit 2, with the command that installs it)."""


def prometheus() -> Any:
    """The ``prometheus_client`` module, or one clear line naming the extra."""
    try:
        import prometheus_client
    except ImportError:
        raise MissingMetricsExtra(f"metrics need the {EXTRA!r} extra: pip install 'event-contracts[{EXTRA}]'") from None
    return prometheus_client
