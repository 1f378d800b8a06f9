"""Seeing the runtime run: Prometheus metrics and health endpoints (the ``metrics`` extra)."""

from contracts.observe.extra import MissingMetricsExtra
from contracts.observe.metrics import METRICS_PORT_ENV, RuntimeCollector, serve_metrics
from contracts.observe.server import HealthServer

__all__ = ["METRICS_PORT_ENV", "HealthServer", "MissingMetricsExtra", "RuntimeCollector", "serve_metrics"]
