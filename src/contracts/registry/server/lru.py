"""A least-recently-used cache bounded by the total weight of its entries, not their count."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Container
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class WeightedLRU(Generic[K, V]):
    """Keeps the most recently used entries whose weights add up to at most ``budget``.

    An entry heavier than the whole budget is not kept at all, so one huge value can never
    push everything else out and then stay.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.weight = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V, weight: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            if weight > self.budget:
                return
            self._items[key] = (value, weight)
            self.weight += weight
            while self.weight > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self.weight -= dropped

    def __len__(self) -> int:
        return len(self._items)


def memory_size(value: Any, shared: Container[int] = ()) -> int:
    """Bytes ``value`` holds: the object, its attributes and everything they reach, each counted once.

    Objects whose id is in ``shared`` (and what only they reach) belong to someone else and are
    not counted. Iterative, so a deeply nested value cannot exhaust the stack.
    """
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        obj = stack.pop()
        key = id(obj)
        if key in seen or key in shared or obj is None or isinstance(obj, bool | type):
            continue
        seen.add(key)
        total += sys.getsizeof(obj)
        if isinstance(obj, str | bytes | int | float):
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        attrs = getattr(obj, "__dict__", None)
        if attrs is not None:
            stack.append(attrs)
    return total
