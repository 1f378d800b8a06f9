"""Which fetched message may run next: ordering lanes with head-of-line only within a lane.

``key``: messages with the same key (on the same partition) run one after another in
offset order, different keys at once; ``partition``: one at a time per partition;
``unordered``: anything at once. A message waiting out a retry backoff holds back
only its own lane. Messages of one event id never run at the same time (so a dedupe
store sees the second copy after the first finished).

Lanes whose head may start are kept in their own queue, so picking the next work costs
the same however many lanes wait.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Ordering = Literal["key", "partition", "unordered"]
ORDERINGS: tuple[Ordering, ...] = ("key", "partition", "unordered")


@dataclass
class Work:
    """One fetched message and where it stands."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    item: Any  # what the runner needs to process it
    event_id: str | None = None
    attempt: int = 0
    not_before: float = 0.0  # a retry waits until then
    lane: Hashable = None
    seq: int = field(default=0)


class Lanes:
    """FIFO lanes keyed by the ordering; ``ready(now, limit)`` yields the work that may start now."""

    def __init__(self, ordering: Ordering) -> None:
        if ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {', '.join(ORDERINGS)}, not {ordering!r}")
        self.ordering = ordering
        self._lanes: dict[Hashable, deque[Work]] = {}
        self._idle: OrderedDict[Hashable, None] = OrderedDict()  # lanes whose head may start
        self._waiting: list[tuple[float, int, Hashable]] = []  # (not_before, seq, lane): retries on their timer
        self._ids_running: set[str] = set()
        self._held_by_id: dict[str, list[Hashable]] = {}  # lanes whose head waits for the same event id to finish
        self._seq = itertools.count()
        self.queued = 0

    @property
    def startable(self) -> int:
        """Lanes whose head may start now (retries on their timer and heads held by a running event id aside)."""
        return len(self._idle)

    def lane_of(self, work: Work) -> Hashable:
        if self.ordering == "key":
            return (work.topic, work.partition, work.key)
        if self.ordering == "partition":
            return (work.topic, work.partition)
        return next(self._seq)  # unordered: every message its own lane

    def add(self, work: Work) -> None:
        work.lane = self.lane_of(work)
        work.seq = next(self._seq)
        queue = self._lanes.get(work.lane)
        if queue is None:
            queue = self._lanes[work.lane] = deque()
            self._idle[work.lane] = None
        queue.append(work)
        self.queued += 1

    def ready(self, now: float, limit: int) -> Iterator[Work]:
        """Up to ``limit`` heads of idle lanes whose backoff is over (each is marked running)."""
        while self._waiting and self._waiting[0][0] <= now:
            _, _, lane = heapq.heappop(self._waiting)
            if lane in self._lanes:
                self._idle[lane] = None
        started = 0
        while started < limit and self._idle:
            lane, _ = self._idle.popitem(last=False)
            queue = self._lanes.get(lane)
            if not queue:
                continue
            head = queue[0]
            if head.event_id is not None:
                if head.event_id in self._ids_running:
                    self._held_by_id.setdefault(head.event_id, []).append(lane)
                    continue
                self._ids_running.add(head.event_id)
            started += 1
            yield head

    def done(self, work: Work) -> None:
        """``work`` finished for good: its lane moves on."""
        queue = self._lanes[work.lane]
        queue.popleft()
        self.queued -= 1
        self._release(work)
        if queue:
            self._idle[work.lane] = None
        else:
            del self._lanes[work.lane]

    def retry_at(self, work: Work, when: float) -> None:
        """``work`` failed and runs again at ``when``; its lane waits, the others do not."""
        work.not_before = when
        work.attempt += 1
        self._release(work)
        heapq.heappush(self._waiting, (when, work.seq, work.lane))

    def next_retry(self) -> float | None:
        """When the earliest waiting retry is due (``None`` when none waits)."""
        while self._waiting and self._waiting[0][2] not in self._lanes:
            heapq.heappop(self._waiting)
        return self._waiting[0][0] if self._waiting else None

    def drop_partitions(self, partitions: set[tuple[str, int]], running: set[Hashable]) -> list[Work]:
        """Forget queued work of revoked partitions (their new owner gets it again), except lanes in ``running``."""
        dropped: list[Work] = []
        for lane, queue in list(self._lanes.items()):
            if queue and (queue[0].topic, queue[0].partition) in partitions and lane not in running:
                dropped += queue
                self.queued -= len(queue)
                del self._lanes[lane]
                self._idle.pop(lane, None)
        return dropped

    def _release(self, work: Work) -> None:
        if work.event_id is not None and work.event_id in self._ids_running:
            self._ids_running.discard(work.event_id)
            for lane in self._held_by_id.pop(work.event_id, []):
                if lane in self._lanes:
                    self._idle[lane] = None
