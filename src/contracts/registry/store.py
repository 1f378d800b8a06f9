"""SQLite storage for the embedded registry: one file, safe under concurrent writers.

Every write runs in one ``BEGIN IMMEDIATE`` transaction (serialized, atomic), the
database is in WAL mode, and a request is answered only after its commit, so a
``kill -9`` loses nothing that was acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schemas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL UNIQUE,
    schema TEXT NOT NULL,
    schema_type TEXT NOT NULL DEFAULT 'AVRO',
    refs TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES schemas(id),
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS versions_by_schema ON versions(schema_id);
CREATE TABLE IF NOT EXISTS refs (
    schema_id INTEGER NOT NULL REFERENCES schemas(id),
    subject TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_by_target ON refs(subject, version);
CREATE TABLE IF NOT EXISTS config (subject TEXT PRIMARY KEY, compatibility TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mode (subject TEXT PRIMARY KEY, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS associations (
    subject TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_namespace TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    association_type TEXT NOT NULL,
    PRIMARY KEY (resource_namespace, resource_name, resource_type, association_type)
);
"""

GLOBAL = ""  # the config/mode row for the whole registry


class Store:
    """The registry's tables; all access goes through one connection and one lock."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A serialized, atomic transaction: all of it commits, or none of it."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    # -- queries used by the API -------------------------------------------
    @staticmethod
    def subjects(conn: sqlite3.Connection, *, deleted: bool = False) -> list[str]:
        sql = "SELECT DISTINCT subject FROM versions" + ("" if deleted else " WHERE deleted = 0") + " ORDER BY subject"
        return [r[0] for r in conn.execute(sql)]

    @staticmethod
    def versions(conn: sqlite3.Connection, subject: str, *, deleted: bool = False) -> list[sqlite3.Row]:
        sql = "SELECT version, schema_id, deleted FROM versions WHERE subject = ?" + ("" if deleted else " AND deleted = 0")
        return list(conn.execute(sql + " ORDER BY version", (subject,)))

    @staticmethod
    def schema(conn: sqlite3.Connection, schema_id: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute("SELECT * FROM schemas WHERE id = ?", (schema_id,)).fetchone()
        return row

    @staticmethod
    def setting(conn: sqlite3.Connection, table: str, subject: str) -> str | None:
        column = "compatibility" if table == "config" else "mode"
        row = conn.execute(f"SELECT {column} FROM {table} WHERE subject = ?", (subject,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def put_setting(conn: sqlite3.Connection, table: str, subject: str, value: str | None) -> None:
        column = "compatibility" if table == "config" else "mode"
        if value is None:
            conn.execute(f"DELETE FROM {table} WHERE subject = ?", (subject,))
        else:
            conn.execute(
                f"INSERT INTO {table}(subject, {column}) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET {column} = excluded.{column}",
                (subject, value),
            )
