"""Prometheus metrics of consumers and producers, read from their own counts when Prometheus scrapes.

Nothing is counted twice: a consumer's ``ConsumerStats`` and a producer's ``ProducerStats`` are
the counts, and ``RuntimeCollector`` turns them into metric families on each scrape, so the
message path pays nothing for metrics. Names follow Prometheus' naming guide (``_total`` for
counters, ``_seconds`` for durations); labels are bounded (the consumer group, the event type,
the topic and partition; never a key, an id or a payload).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Protocol

from contracts.errors import BadInputError
from contracts.kafka.stats import LATENCY_BUCKETS, ConsumerStats, Histogram, ProducerStats
from contracts.live import LIVE
from contracts.observe.extra import prometheus
from contracts.registry.client import RegistryClient

METRICS_PORT_ENV = "CONTRACTS_METRICS_PORT"
PREFIX = "contracts"


class _Consumer(Protocol):
    group_id: str
    stats: ConsumerStats
    assignment: list[tuple[str, int]]


class _Producer(Protocol):
    name: str
    stats: ProducerStats


class RuntimeCollector:
    """A Prometheus collector over the consumers and producers given to it, or else every one of this process."""

    def __init__(self) -> None:
        self._consumers: list[_Consumer] = []
        self._producers: list[_Producer] = []
        self._lock = threading.Lock()

    def add_consumer(self, consumer: _Consumer) -> None:
        with self._lock:
            self._consumers.append(consumer)

    def add_producer(self, producer: _Producer) -> None:
        with self._lock:
            self._producers.append(producer)

    def describe(self) -> list[Any]:
        return []  # families are made at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        prometheus()
        from prometheus_client import core
        with self._lock:
            consumers, producers = list(self._consumers), list(self._producers)
        live = list(LIVE)
        if not consumers and not producers:  # none named: the process's own
            consumers = [c for c in live if isinstance(getattr(c, "stats", None), ConsumerStats)]  # type: ignore[misc]
            producers = [p for p in live if isinstance(getattr(p, "stats", None), ProducerStats)]  # type: ignore[misc]
        yield from _consumer_families(core, consumers)
        yield from _producer_families(core, producers)
        yield from _registry_client_families(core, [c for c in live if isinstance(c, RegistryClient)])


def _consumer_families(core: Any, consumers: list[_Consumer]) -> Iterator[Any]:
    def counter(name: str, doc: str, labels: list[str]) -> Any:
        return core.CounterMetricFamily(f"{PREFIX}_consumer_{name}", doc, labels=labels)

    def gauge(name: str, doc: str, labels: list[str]) -> Any:
        return core.GaugeMetricFamily(f"{PREFIX}_consumer_{name}", doc, labels=labels)

    handled = counter("events_handled", "Events whose handler finished.", ["group", "event_type"])
    duplicates = counter("events_duplicate", "Events skipped by the dedupe store (already handled).", ["group", "event_type"])
    dead = counter("events_dead_lettered", "Messages sent to the dead-letter topic (unreadable, refused by a rule, or failed every retry).",
                   ["group", "event_type"])  # fmt: skip
    failed = counter("handler_failures", "Handler calls that raised (each retry counts).", ["group", "event_type"])
    skipped = counter("events_skipped_finished", "Messages skipped after a restart because the commit metadata marked them finished.", ["group"])
    pauses = counter("pauses", "Times partitions were paused for backpressure.", ["group"])
    rebalances = counter("rebalances", "Partition assignments and revocations.", ["group"])
    in_flight = gauge("in_flight", "Messages fetched and not finished.", ["group"])
    assigned = gauge("assigned_partitions", "Partitions assigned to the consumer.", ["group"])
    paused = gauge("paused_partitions", "Partitions paused now for backpressure.", ["group"])
    commits = core.HistogramMetricFamily(f"{PREFIX}_consumer_commit_duration_seconds", "Time a commit of offsets took (an asynchronous one: to hand it over).",
                                         labels=["group"])  # fmt: skip
    lag = gauge("lag", "Messages between the committed offset and the end of the partition.", ["group", "topic", "partition"])
    committed = gauge("committed_offset", "The committed offset of each partition.", ["group", "topic", "partition"])
    decode = counter("decode_errors", "Messages that could not be read as events, by kind (framing, schema_not_found, no_class, data, rule).", ["group", "kind"])
    latency = core.HistogramMetricFamily(f"{PREFIX}_consumer_handler_duration_seconds", "Time from dispatch to the handler's end.", labels=["group"])
    for c in consumers:
        stats, group = c.stats, c.group_id
        for event_type, n in sorted(dict(stats.by_type).items()):
            handled.add_metric([group, event_type], n)
        for family, by_type in ((duplicates, stats.duplicates_by_type), (dead, stats.dead_lettered_by_type), (failed, stats.failures_by_type)):
            for event_type, n in sorted(dict(by_type).items()):
                family.add_metric([group, event_type], n)
        skipped.add_metric([group], stats.skipped_finished)
        pauses.add_metric([group], stats.pauses)
        rebalances.add_metric([group], stats.rebalances)
        in_flight.add_metric([group], stats.in_flight)
        assigned.add_metric([group], len(c.assignment))
        paused.add_metric([group], stats.paused_partitions)
        commits.add_metric([group], *_buckets(stats.commit_seconds))
        for kind, n in sorted(dict(stats.decode_errors).items()):
            decode.add_metric([group, kind], n)
        for (topic, partition), behind in sorted(stats.lag().items()):
            lag.add_metric([group, topic, str(partition)], behind)
        for (topic, partition), offset in sorted(dict(stats.committed).items()):
            committed.add_metric([group, topic, str(partition)], offset)
        latency.add_metric([group], *_buckets(stats.handler_seconds))
    yield from (handled, duplicates, dead, failed, skipped, pauses, rebalances, in_flight, assigned, paused, lag, committed, decode, latency, commits)


def _producer_families(core: Any, producers: list[_Producer]) -> Iterator[Any]:
    sent = core.CounterMetricFamily(f"{PREFIX}_producer_events_sent", "Events enqueued for delivery.", labels=["producer", "topic"])
    errors = core.CounterMetricFamily(f"{PREFIX}_producer_delivery_errors", "Events the broker did not acknowledge.", labels=["producer", "topic"])
    refused = core.CounterMetricFamily(
        f"{PREFIX}_producer_events_refused", "Events a data-contract rule refused (sent to the dead-letter topic).", labels=["producer", "topic"]
    )
    serialize = core.CounterMetricFamily(
        f"{PREFIX}_producer_serialize_errors", "Events that could not be serialized, by kind (schema_not_found, rule).", labels=["producer", "kind"]
    )
    delivery = core.HistogramMetricFamily(
        f"{PREFIX}_producer_delivery_duration_seconds", "Time from produce to the broker's acknowledgement.", labels=["producer"]
    )
    for p in producers:
        delivery.add_metric([p.name], *_buckets(p.stats.delivery_seconds))
        for family, counts in ((sent, p.stats.sent), (errors, p.stats.delivery_errors), (refused, p.stats.refused), (serialize, p.stats.serialize_errors)):
            for label, n in sorted(dict(counts).items()):
                family.add_metric([p.name, label], n)
    yield from (sent, errors, refused, serialize, delivery)


def _registry_client_families(core: Any, clients: list[RegistryClient]) -> Iterator[Any]:
    calls = core.CounterMetricFamily(
        f"{PREFIX}_registry_client_requests", "Schema registry calls by method, API area and HTTP status ('failed': no answer).",
        labels=["registry", "method", "area", "status"],
    )  # fmt: skip
    duration = core.SummaryMetricFamily(f"{PREFIX}_registry_client_request_duration_seconds", "Time of schema registry calls, retries included.",
                                        labels=["registry", "method", "area"])  # fmt: skip
    for client in clients:
        counts, seconds = client.calls.snapshot()
        per: dict[tuple[str, str], int] = {}
        for (method, area, status), n in sorted(counts.items()):
            calls.add_metric([client.url, method, area, status], n)
            per[(method, area)] = per.get((method, area), 0) + n
        for (method, area), total in sorted(seconds.items()):
            duration.add_metric([client.url, method, area], per.get((method, area), 0), total)
    yield from (calls, duration)


def _buckets(histogram: Histogram) -> tuple[list[tuple[str, float]], float]:
    """Cumulative buckets and the sum, as a histogram family takes them."""
    counts, total = histogram.snapshot()
    running, buckets = 0, []
    for bound, n in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts, strict=True):
        running += n
        buckets.append((bound, float(running)))
    return buckets, total


def serve_metrics(port: int | None = None, *, host: str = "0.0.0.0", ready: Any = None) -> Any:
    """Start ``/metrics``, ``/healthz`` and ``/readyz`` for every consumer and producer of this process.

    ``port`` defaults to ``$CONTRACTS_METRICS_PORT``; the server runs until ``.stop()`` or the process ends.
    """
    import os

    from contracts.observe.server import HealthServer

    if port is None:
        given = os.environ.get(METRICS_PORT_ENV)
        if not given:
            raise BadInputError(f"no metrics port: pass port= or set {METRICS_PORT_ENV}")
        port = metrics_port(given)
    registry = prometheus().CollectorRegistry()
    registry.register(RuntimeCollector())
    return HealthServer(registry, port, host=host, ready=ready or (lambda: None)).start()


def metrics_port(value: str) -> int:
    """``$CONTRACTS_METRICS_PORT`` as a port number (bad input names the variable)."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise BadInputError(f"{METRICS_PORT_ENV}={value!r} is not a port number (0-65535)")
    return port


class RegistryCollector:
    """The embedded registry's metrics: requests by route and status, their time, schemas stored, the parse cache."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        prometheus()
        from prometheus_client import core

        counts, seconds = self.app.requests.snapshot()
        requests = core.CounterMetricFamily(f"{PREFIX}_registry_requests", "Requests answered.", labels=["method", "route", "status"])
        for (method, route, status), n in sorted(counts.items()):
            requests.add_metric([method, route, str(status)], n)
        by_route: dict[str, int] = {}
        for (_, route, _), n in counts.items():
            by_route[route] = by_route.get(route, 0) + n
        duration = core.SummaryMetricFamily(f"{PREFIX}_registry_request_duration_seconds", "Time to answer a request.", labels=["route"])
        for route, total in sorted(seconds.items()):
            duration.add_metric([route], by_route.get(route, 0), total)
        with self.app.store.read() as tx:
            stored = tx.schema_count()
        cache = self.app.cache
        yield requests
        yield duration
        yield core.GaugeMetricFamily(f"{PREFIX}_registry_schemas", "Schemas stored (distinct ids).", value=stored)
        yield core.GaugeMetricFamily(f"{PREFIX}_registry_parse_cache_entries", "Parsed schemas kept in memory.", value=len(cache))
        yield core.GaugeMetricFamily(f"{PREFIX}_registry_parse_cache_bytes", "Memory the parsed schemas kept are estimated to hold.", value=cache.weight)


def serve_registry_metrics(app: Any, port: int, *, host: str = "127.0.0.1") -> Any:
    """``/metrics``, ``/healthz`` and ``/readyz`` for an embedded registry, on a port of their own."""
    from contracts.observe.server import HealthServer

    registry = prometheus().CollectorRegistry()
    registry.register(RegistryCollector(app))
    return HealthServer(registry, port, host=host).start()
