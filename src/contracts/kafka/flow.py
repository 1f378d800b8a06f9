"""What the consumer's loop lets librdkafka fetch: partitions paused for backpressure, and the high watermarks.

Two reasons pause a partition. Too much fetched and unfinished across the assignment
(``max_in_flight``) pauses the partitions holding more than their share of it, each until
its own count halves; the others go on fetching. librdkafka hands over fetched messages
in one queue, partition after partition, so pausing them all would leave the loop with
one partition's backlog, and only that partition's keys to run, while free slots wait.
Pausing the full ones drops their prefetched messages from that queue (they are fetched
again on resume) and lets the other partitions' messages through. What is in flight stays
under about twice ``max_in_flight``. And one partition whose committable offset is held
by a slow message while later ones finish pauses once that span reaches ``PAUSE_SPAN``,
until it halves: beyond it the finished offsets would no longer fit the commit metadata,
and a restart would run them again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Set

from confluent_kafka import Consumer, KafkaException, TopicPartition

from contracts.kafka.offsets import PAUSE_SPAN, PartitionOffsets
from contracts.kafka.stats import TP, ConsumerStats

WATERMARK_INTERVAL = 0.5  # seconds between refreshes of the high watermarks ``ConsumerStats.lag()`` compares with


def pressed(in_flight: Mapping[TP, int], before: Set[TP], max_in_flight: int) -> set[TP]:
    """The partitions paused for what is in flight: over their share while the total is at the bound, until each halves."""
    share = max(1, max_in_flight // max(1, len(in_flight)))
    still = {tp for tp in before if in_flight.get(tp, 0) > share // 2}
    if sum(in_flight.values()) >= max_in_flight:
        still.update(tp for tp, n in in_flight.items() if n >= share)  # at the bound, one at least is
    return still


def held(spans: Mapping[TP, int], before: Set[TP]) -> set[TP]:
    """The partitions paused for their span: from ``PAUSE_SPAN`` until it halves."""
    return {tp for tp, span in spans.items() if span >= PAUSE_SPAN or (tp in before and span > PAUSE_SPAN // 2)}


class FlowControl:
    """Pauses and resumes ``kafka``'s partitions; counts pauses and what is in flight in ``stats``."""

    def __init__(self, kafka: Consumer, stats: ConsumerStats, max_in_flight: int) -> None:
        self.kafka = kafka
        self.stats = stats
        self.max_in_flight = max_in_flight
        self.pressed: set[TP] = set()  # for what is in flight
        self.held: set[TP] = set()  # for their span
        self.paused: set[TP] = set()  # either
        self._watermarks_at = 0.0

    def fetching(self, assigned: int) -> bool:
        """Whether any of the ``assigned`` partitions may bring messages (not all of them are paused)."""
        return len(self.paused) < assigned

    def check(self, offsets: Mapping[TP, PartitionOffsets]) -> None:
        in_flight = {tp: t.in_flight for tp, t in offsets.items()}
        self.stats.in_flight = sum(in_flight.values())
        self.pressed = pressed(in_flight, self.pressed, self.max_in_flight)
        self.held = held({tp: t.span for tp, t in offsets.items()}, self.held)
        paused = self.pressed | self.held
        newly, over = paused - self.paused, self.paused - paused
        if newly:
            self.kafka.pause([TopicPartition(*tp) for tp in sorted(newly)])
            self.stats.pauses += len(newly)
        if over:
            resumed = [TopicPartition(*tp) for tp in sorted(over)]
            self.kafka.resume(resumed)
            for tp in resumed:  # each has its leader's fetcher (one per broker) to wake
                _wake_fetcher(self.kafka, tp)
        self.paused = paused
        self.stats.paused_partitions = len(paused)

    def revoked(self, tps: Collection[TP]) -> None:
        """Resume what is given up paused: librdkafka keeps a partition's pause into its next assignment here."""
        gone = self.paused.intersection(tps)
        if gone:
            self.kafka.resume([TopicPartition(*tp) for tp in sorted(gone)])
        self.paused -= gone
        self.pressed.difference_update(tps)
        self.held.difference_update(tps)
        self.stats.paused_partitions = len(self.paused)

    def refresh_watermarks(self, offsets: Mapping[TP, PartitionOffsets], now: float) -> None:
        """At most every ``WATERMARK_INTERVAL``: the high watermarks ``ConsumerStats.lag()`` compares with."""
        if now - self._watermarks_at < WATERMARK_INTERVAL:
            return
        self._watermarks_at = now
        for topic, partition in list(offsets):
            try:
                _, high = self.kafka.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                continue
            if high >= 0:
                self.stats.high_watermarks[(topic, partition)] = high


def _wake_fetcher(kafka: Consumer, tp: TopicPartition) -> None:
    """Have librdkafka fetch a resumed partition now, not up to a second later.

    Its broker thread sleeps while it has nothing to fetch, and a resume does not wake it (measured: the
    first message came 300 to 800 ms after the resume); any request to the partition's leader does. A
    watermark query with no time to wait sends one and returns; its answer is dropped.
    """
    with contextlib.suppress(KafkaException):  # timed out, as meant
        kafka.get_watermark_offsets(tp, timeout=0, cached=False)
