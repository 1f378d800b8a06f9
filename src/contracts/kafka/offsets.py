"""Committing when messages finish out of order: the safe offset per partition, and the finished ones beyond it.

A partition's committable offset is the lowest offset not yet finished (handled, skipped
as a duplicate, or acknowledged by the dead-letter topic): everything below it is done.
The offsets finished beyond it travel in the commit's metadata, so a restart skips them
instead of running them again. The metadata is whichever of two encodings is shorter, a
bitset or run lengths, in base64; when even that would pass Kafka's 4 KB limit the commit
carries none, and those messages run again after a restart (at-least-once still holds).
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Collection, Mapping

METADATA_LIMIT = 4000  # bytes; Kafka's offset.metadata.max.bytes defaults to 4096
_VERSION = "c1"
SPAN_LIMIT = (METADATA_LIMIT - len(_VERSION) - 1) // 4 * 3 * 8
"""The widest span of unfinished-to-last-fetched offsets whose bitset always fits the limit (23,976)."""
PAUSE_SPAN = SPAN_LIMIT * 9 // 10
"""A partition whose span reaches this is paused until it halves: one fetch more cannot overflow the metadata."""
TP = tuple[str, int]


class PartitionOffsets:
    """Fetched and finished offsets of one partition (offsets arrive in increasing order)."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()  # fetched and not yet below the committable offset, increasing
        self._done: set[int] = set()  # finished, but above an unfinished one
        self._next = -1  # one past the highest offset seen
        self.skip: set[int] = set()  # finished before a restart (from the committed metadata)

    def fetched(self, offset: int) -> bool:
        """Record a fetched offset; ``False`` when it was already finished before a restart (skip it)."""
        self._next = max(self._next, offset + 1)
        if self._pending and offset <= self._pending[-1]:
            return offset not in self._done and offset not in self._pending  # a redelivery within the window
        self._pending.append(offset)
        if offset in self.skip:
            self.skip.discard(offset)
            self.finished(offset)
            return False
        return True

    def finished(self, offset: int) -> None:
        self._done.add(offset)
        pending, done = self._pending, self._done
        while pending and pending[0] in done:
            done.discard(pending.popleft())

    @property
    def in_flight(self) -> int:
        return len(self._pending) - len(self._done)

    @property
    def span(self) -> int:
        """From the committable offset to the last fetched: what the metadata's bitset has to cover."""
        return self._next - self._pending[0] if self._pending else 0

    @property
    def finished_beyond(self) -> int:
        """How many offsets finished above the committable one (what the metadata carries)."""
        return len(self._done)

    def committable(self) -> int | None:
        """The offset to commit: the lowest unfinished one, or one past the last seen (``None`` before any)."""
        if self._next < 0:
            return None
        return self._pending[0] if self._pending else self._next

    def metadata(self) -> str:
        """The finished offsets beyond ``committable()``, encoded (empty when none or too many to fit)."""
        low = self.committable()
        if low is None:
            return ""
        return encode(low, self._done)


class Commits:
    """The position last committed per partition, so that one that has not moved is not sent again."""

    def __init__(self) -> None:
        self._last: dict[TP, tuple[int, str]] = {}

    def due(self, trackers: Mapping[TP, PartitionOffsets], only: Collection[TP] | None = None) -> list[tuple[str, int, int, str]]:
        """``(topic, partition, offset, metadata)`` of each partition whose position moved since its last commit."""
        out = []
        for tp, tracker in trackers.items():
            low = tracker.committable()
            if low is None or (only is not None and tp not in only):
                continue
            position = (low, tracker.metadata())
            if self._last.get(tp) != position:
                self._last[tp] = position
                out.append((tp[0], tp[1], low, position[1]))
        return out

    def forget(self, tps: Collection[TP]) -> None:
        """Not committed after all, or their partition went: the next commit sends them again."""
        for tp in tps:
            self._last.pop(tp, None)


def encode(base: int, finished: set[int]) -> str:
    """Offsets above ``base`` (which is itself unfinished) as the shorter of a bitset and run lengths."""
    beyond = sorted(o - base for o in finished if o > base)
    if not beyond:
        return ""
    span = beyond[-1]
    bits = bytearray((span + 7) // 8)
    for d in beyond:
        bits[(d - 1) // 8] |= 1 << ((d - 1) % 8)
    runs = _runs(beyond)
    candidates = [f"{_VERSION}b{base64.b64encode(bytes(bits)).decode()}", f"{_VERSION}r{base64.b64encode(runs).decode()}"]
    best = min(candidates, key=len)
    return best if len(best) <= METADATA_LIMIT else ""


def decode(base: int, metadata: str | None) -> set[int]:
    """The finished offsets ``encode`` wrote for ``base``; an empty set for anything else (a foreign commit)."""
    if not metadata or not metadata.startswith(_VERSION) or len(metadata) < len(_VERSION) + 1:
        return set()
    kind, body = metadata[len(_VERSION)], metadata[len(_VERSION) + 1 :]
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        return set()
    if kind == "b":
        return {base + 1 + i * 8 + b for i, byte in enumerate(raw) for b in range(8) if byte >> b & 1}
    if kind == "r":
        return _from_runs(base, raw)
    return set()


def _runs(deltas: list[int]) -> bytes:
    """Alternating run lengths (gap, finished, gap, finished...) from ``base + 1``, as unsigned varints."""
    out = bytearray()
    position = 1
    i = 0
    while i < len(deltas):
        gap = deltas[i] - position
        j = i
        while j + 1 < len(deltas) and deltas[j + 1] == deltas[j] + 1:
            j += 1
        length = j - i + 1
        out += _varint(gap) + _varint(length)
        position = deltas[j] + 1
        i = j + 1
    return bytes(out)


def _from_runs(base: int, raw: bytes) -> set[int]:
    numbers = []
    value = shift = 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            numbers.append(value)
            value = shift = 0
    out: set[int] = set()
    position = base + 1
    for gap, length in zip(numbers[::2], numbers[1::2], strict=False):
        position += gap
        out.update(range(position, position + length))
        position += length
    return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
