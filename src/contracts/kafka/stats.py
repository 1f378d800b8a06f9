"""``ConsumerStats``: what a consumer did so far, counted in one place whatever its concurrency."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass, field

TP = tuple[str, int]
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Upper bounds (seconds) of the handler latency histogram: Prometheus' default buckets."""


class Histogram:
    """Counts per ``LATENCY_BUCKETS`` bucket (``+Inf`` last) and their sum; thread-safe."""

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self.sum += seconds

    def snapshot(self) -> tuple[list[int], float]:
        with self._lock:
            return list(self.counts), self.sum


@dataclass
class ConsumerStats:
    """What a consumer did so far; safe to read at any time from any thread."""

    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    unhandled: int = 0
    failed_attempts: int = 0
    skipped_finished: int = 0  # finished before a restart, by the commit metadata
    in_flight: int = 0  # fetched and not finished
    max_concurrent: int = 0  # the most handlers that ran at once
    pauses: int = 0  # partitions paused for backpressure, counted at each pause (too much in flight, or a span the metadata could not hold)
    metadata_overflows: int = 0  # commits whose finished offsets did not fit Kafka's metadata limit (they would run again after a restart)
    by_type: Counter[str] = field(default_factory=Counter)
    by_partition: Counter[TP] = field(default_factory=Counter)
    committed: dict[TP, int] = field(default_factory=dict)
    high_watermarks: dict[TP, int] = field(default_factory=dict)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000), repr=False)
    rebalances: int = 0  # assignments and revocations
    decode_errors: Counter[str] = field(default_factory=Counter)  # by kind: framing, schema_not_found, no_class, data, rule
    duplicates_by_type: Counter[str] = field(default_factory=Counter)
    dead_lettered_by_type: Counter[str] = field(default_factory=Counter)  # "(unreadable)" for what could not be decoded
    failures_by_type: Counter[str] = field(default_factory=Counter)
    paused_partitions: int = 0  # paused now (those over their share while too much is in flight, and those held for their span)
    commit_seconds: Histogram = field(default_factory=Histogram, repr=False, compare=False)
    handler_seconds: Histogram = field(default_factory=Histogram, repr=False, compare=False)

    def observe_latency(self, seconds: float) -> None:
        """One handler call's latency; from any thread (handlers finish on pool threads and event loops)."""
        self.latencies.append(seconds)
        self.handler_seconds.observe(seconds)

    def latency(self, quantile: float) -> float | None:
        """A handler latency percentile in seconds (``0.5`` for the median), over the last 10,000 handled."""
        values = sorted(self.latencies)
        if not values:
            return None
        return values[min(len(values) - 1, int(quantile * len(values)))]

    def lag(self) -> dict[TP, int]:
        """Messages behind the high watermark per partition, from the committed offsets.

        The watermarks are the ones the poll thread last saw (every half second): reading them
        from another thread while it polls could deadlock inside the client.
        """
        return {tp: max(0, self.high_watermarks.get(tp, committed) - committed) for tp, committed in dict(self.committed).items()}

    def count_handled(self, tp: TP, type_name: str) -> None:
        """On the poll thread, the only writer of the counts (handler threads add only ``latencies``)."""
        self.handled += 1
        self.by_type[type_name] += 1
        self.by_partition[tp] += 1


@dataclass
class ProducerStats:
    """What a producer sent, per topic: enqueued, failed delivery, refused by a data-contract rule (to the dead-letter topic)."""

    sent: Counter[str] = field(default_factory=Counter)
    delivery_errors: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    serialize_errors: Counter[str] = field(default_factory=Counter)  # by kind: schema_not_found, rule, registry
    delivery_seconds: Histogram = field(default_factory=Histogram, repr=False, compare=False)  # produce to acknowledgement
