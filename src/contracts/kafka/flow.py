"""What the consumer's loop lets librdkafka fetch: partitions paused for backpressure, and the high watermarks.

Two reasons pause partitions. Too much fetched and unfinished across the assignment pauses
all of them until it halves (``max_in_flight``). One partition whose committable offset is
held by a slow message while later ones finish pauses alone once that span reaches
``PAUSE_SPAN``, until it halves: beyond it the finished offsets would no longer fit the
commit metadata, and a restart would run them again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from confluent_kafka import Consumer, KafkaException, TopicPartition

from contracts.kafka.offsets import PAUSE_SPAN, PartitionOffsets
from contracts.kafka.stats import TP, ConsumerStats

WATERMARK_INTERVAL = 0.5  # seconds between refreshes of the high watermarks ``ConsumerStats.lag()`` compares with


class FlowControl:
    """Pauses and resumes ``kafka``'s partitions; counts pauses and what is in flight in ``stats``."""

    def __init__(self, kafka: Consumer, stats: ConsumerStats, max_in_flight: int) -> None:
        self.kafka = kafka
        self.stats = stats
        self.max_in_flight = max_in_flight
        self.paused = False  # every partition, for what is in flight
        self.held: set[TP] = set()  # single partitions, for their span
        self._watermarks_at = 0.0

    def check(self, offsets: Mapping[TP, PartitionOffsets]) -> None:
        in_flight = sum(t.in_flight for t in offsets.values())
        self.stats.in_flight = in_flight
        if not self.paused and in_flight >= self.max_in_flight and offsets:
            self.kafka.pause([TopicPartition(t, p) for t, p in offsets])
            self.paused = True
            self.stats.pauses += 1
        elif self.paused and in_flight <= self.max_in_flight // 2:
            self.kafka.resume([TopicPartition(t, p) for t, p in offsets if (t, p) not in self.held])
            self.paused = False
        for tp, tracker in offsets.items():
            if tp not in self.held and tracker.span >= PAUSE_SPAN:
                self.kafka.pause([TopicPartition(*tp)])
                self.held.add(tp)
                self.stats.pauses += 1
            elif tp in self.held and tracker.span <= PAUSE_SPAN // 2:
                self.held.discard(tp)
                if not self.paused:
                    self.kafka.resume([TopicPartition(*tp)])
        self.stats.paused_partitions = len(offsets) if self.paused else len(self.held)

    def assigned(self, partitions: list[TopicPartition]) -> None:
        if self.paused:
            self.kafka.pause(partitions)  # a cooperative assignment while paused: it waits with the others

    def revoked(self, tps: Collection[TP]) -> None:
        """Resume what is given up paused: librdkafka keeps a partition's pause into its next assignment here."""
        paused = [TopicPartition(*tp) for tp in tps if self.paused or tp in self.held]
        if paused:
            self.kafka.resume(paused)
        self.held.difference_update(tps)

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
