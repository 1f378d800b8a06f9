"""Dedupe stores for idempotent consumers: delivery is at-least-once, handling need not be.

``process(event_id, fn)`` runs ``fn`` unless the event id was processed before, and
records the id only when ``fn`` succeeds. The SQLite store does both in one
transaction on its own connection: a handler that writes its effects through
``store.connection`` gets exactly-once effects even across a ``kill -9``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")


class DedupeStore(Protocol):
    """What the consumer needs from a dedupe store."""

    def process(self, event_id: str, fn: Callable[[], T]) -> tuple[bool, T | None]:
        """Run ``fn`` once per event id: ``(True, result)``, or ``(False, None)`` for a duplicate."""
        ...

    def seen(self, event_id: str) -> bool: ...


class MemoryDedupeStore:
    """An LRU of the last ``capacity`` event ids (per process; lost on restart)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._ids

    def process(self, event_id: str, fn: Callable[[], T]) -> tuple[bool, T | None]:
        if self.seen(event_id):
            with self._lock:
                self._ids.move_to_end(event_id)
            return False, None
        result = fn()
        with self._lock:
            self._ids[event_id] = None
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
        return True, result


class SQLiteDedupeStore:
    """Processed event ids in a SQLite file, recorded in the handler's transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS processed_events (event_id TEXT PRIMARY KEY, at REAL DEFAULT (julianday('now')))")
        self._lock = threading.RLock()

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return self.connection.execute("SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)).fetchone() is not None

    def process(self, event_id: str, fn: Callable[[], T]) -> tuple[bool, T | None]:
        with self._lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                if self.connection.execute("SELECT 1 FROM processed_events WHERE event_id = ?", (event_id,)).fetchone():
                    self.connection.execute("ROLLBACK")
                    return False, None
                result = fn()
                self.connection.execute("INSERT INTO processed_events(event_id) VALUES (?)", (event_id,))
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
            return True, result

    def close(self) -> None:
        self.connection.close()
