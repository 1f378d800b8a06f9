"""SQLite storage for the embedded registry: one file, safe under concurrent writers.

Every write runs in one ``BEGIN IMMEDIATE`` transaction (serialized, atomic), the
database is in WAL mode, and a request is answered only after its commit, so a
``kill -9`` loses nothing that was acknowledged. All SQL of the registry lives
here; every per-request query is answered from an index, so its cost does not
grow with the number of versions a subject holds.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
CREATE INDEX IF NOT EXISTS versions_by_subject_and_schema ON versions(subject, schema_id, deleted, version);
CREATE TABLE IF NOT EXISTS refs (
    schema_id INTEGER NOT NULL REFERENCES schemas(id),
    subject TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_by_target ON refs(subject, version);
CREATE TABLE IF NOT EXISTS config (subject TEXT PRIMARY KEY, compatibility TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mode (subject TEXT PRIMARY KEY, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contract_config (subject TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS associations (
    subject TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_namespace TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    association_type TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (resource_namespace, resource_name, resource_type, association_type)
);
"""
# Columns added after the first release: a database written before them gets them on open.
_ADDED_COLUMNS = [
    ("schemas", "guid", "TEXT"),
    ("associations", "resource_id", "TEXT NOT NULL DEFAULT ''"),
    ("schemas", "metadata", "TEXT NOT NULL DEFAULT ''"),  # Confluent's JSON, compact; '' for none
    ("schemas", "rule_set", "TEXT NOT NULL DEFAULT ''"),
    ("schemas", "plain_fingerprint", "TEXT"),  # the schema's identity without its contract
]


def schema_guid(fingerprint: str) -> str:
    """The schema's GUID (Confluent's second schema identity, sent in headers): derived from its content.

    The same schema gets the same GUID in every registry of ours, as it gets one id within one.
    """
    return str(uuid.UUID(bytes=bytes.fromhex(fingerprint)[:16], version=4))

GLOBAL = ""  # the config/mode row for the whole registry
_SETTING_COLUMN = {"config": "compatibility", "mode": "mode"}


class StoreError(Exception):
    """The database file cannot be opened or created (bad path, permissions, not a database)."""


@dataclass(frozen=True)
class VersionRow:
    version: int
    schema_id: int
    deleted: bool


@dataclass(frozen=True)
class SchemaRow:
    id: int
    text: str
    refs: str  # JSON list of {"name", "subject", "version"}
    guid: str
    metadata: str = ""  # compact JSON of the data contract's metadata, '' for none
    rule_set: str = ""


@dataclass(frozen=True)
class Association:
    subject: str
    resource_name: str
    resource_namespace: str
    resource_type: str
    association_type: str
    resource_id: str = ""


class Store:
    """The registry's tables; all access goes through one connection and one lock.

    Readers and writers get a ``Tx`` (``store.read()`` / ``store.write()``) whose methods are the
    only queries the registry makes.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._conn.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
            self._migrate()
        except (FileExistsError, NotADirectoryError) as exc:
            raise StoreError(f"cannot create the registry database {self.path}: a folder on its path is a file") from exc
        except (OSError, sqlite3.Error) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise StoreError(f"cannot open the registry database {self.path}: {reason}") from exc
        self._lock = threading.RLock()
        self.generation = 0  # counts the commits of this process that changed something
        self._last_committer: int | None = None  # the thread that made the latest of them
        # The same, per subject (commits that changed its rows or settings) and for the whole registry (global
        # settings, associations, anything not known to be one subject's): what an answer about a subject depends on.
        self._whole_generation = 0
        self._subject_generation: dict[str, int] = {}
        self._subject_committer: dict[str, int] = {}

    def version(self, subject: str | None = None, *, wait: bool = True) -> tuple[int, ...] | None:
        """Changes to the data so far: this process's commits, and SQLite's count of other connections' (a file shared with another registry).

        With ``subject``, only the commits that can change an answer about that subject: its own, and the whole
        registry's. ``wait=False``: ``None`` rather than wait while a transaction holds the store.
        """
        if not self._lock.acquire(blocking=wait):
            return None
        try:
            others = 0 if self.path == ":memory:" else self._conn.execute("PRAGMA data_version").fetchone()[0]
            if subject is None:
                return self.generation, others
            return self._whole_generation, self._subject_generation.get(subject, 0), others
        finally:
            self._lock.release()

    def after_own_commit(self, before: tuple[int, ...], subject: str | None = None) -> tuple[int, ...] | None:
        """The version now, if the one change since ``before`` is a commit the calling thread made; else ``None``.

        A request that wrote, and nothing else since, knows the data as it stands: asked again, it gets its own answer.
        """
        with self._lock:
            now = self.version(subject)
            me = threading.get_ident()
            if subject is None:
                alone = now == (before[0] + 1, before[1]) and self._last_committer == me
            else:
                alone = now == (before[0], before[1] + 1, before[2]) and self._subject_committer.get(subject) == me
            return now if alone else None

    def _migrate(self) -> None:
        for table, column, decl in _ADDED_COLUMNS:
            if column not in {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        missing = self._conn.execute("SELECT id, fingerprint FROM schemas WHERE guid IS NULL").fetchall()
        self._conn.executemany("UPDATE schemas SET guid = ? WHERE id = ?", [(schema_guid(fp), i) for i, fp in missing])
        self._conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS schemas_by_guid ON schemas(guid)")
        # Rows written before contracts were kept carry none: their identity is the plain one.
        self._conn.execute("UPDATE schemas SET plain_fingerprint = fingerprint WHERE plain_fingerprint IS NULL")
        self._conn.execute("CREATE INDEX IF NOT EXISTS schemas_by_plain_fingerprint ON schemas(plain_fingerprint)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A serialized, atomic transaction: all of it commits, or none of it."""
        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            tx = Tx(self._conn)
            try:
                yield tx
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if self._conn.total_changes != before:
                me = threading.get_ident()
                self.generation += 1
                self._last_committer = me
                if tx.whole or not tx.touched:  # a change not known to be one subject's counts for every subject
                    self._whole_generation += 1
                for subject in tx.touched:
                    self._subject_generation[subject] = self._subject_generation.get(subject, 0) + 1
                    self._subject_committer[subject] = me

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock:
            yield Tx(self._conn)


class Tx:
    """The queries of one transaction (or one consistent read)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn
        # What the writes change (a new schema row changes no answer given before: ids are never reused).
        self.touched: set[str] = set()
        self.whole = False

    # -- subjects and versions ----------------------------------------------
    def subjects(self, *, deleted: bool = False) -> list[str]:
        sql = "SELECT DISTINCT subject FROM versions" + ("" if deleted else " WHERE deleted = 0") + " ORDER BY subject"
        return [r[0] for r in self._c.execute(sql)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[VersionRow]:
        sql = "SELECT version, schema_id, deleted FROM versions WHERE subject = ?" + ("" if deleted else " AND deleted = 0")
        return [VersionRow(int(r[0]), int(r[1]), bool(r[2])) for r in self._c.execute(sql + " ORDER BY version", (subject,))]

    def subject_exists(self, subject: str, *, deleted: bool = True) -> bool:
        sql = "SELECT 1 FROM versions WHERE subject = ?" + ("" if deleted else " AND deleted = 0") + " LIMIT 1"
        return self._c.execute(sql, (subject,)).fetchone() is not None

    def latest(self, subject: str, *, deleted: bool = False) -> VersionRow | None:
        sql = "SELECT version, schema_id, deleted FROM versions WHERE subject = ?" + ("" if deleted else " AND deleted = 0")
        r = self._c.execute(sql + " ORDER BY version DESC LIMIT 1", (subject,)).fetchone()
        return None if r is None else VersionRow(int(r[0]), int(r[1]), bool(r[2]))

    def version(self, subject: str, number: int) -> VersionRow | None:
        r = self._c.execute(
            "SELECT version, schema_id, deleted FROM versions WHERE subject = ? AND version = ?", (subject, number)
        ).fetchone()
        return None if r is None else VersionRow(int(r[0]), int(r[1]), bool(r[2]))

    def top_version(self, subject: str) -> int:
        """The highest version number ever used by ``subject`` (deleted ones included), 0 for none."""
        return int(self._c.execute("SELECT COALESCE(MAX(version), 0) FROM versions WHERE subject = ?", (subject,)).fetchone()[0])

    def version_of_schema(self, subject: str, schema_id: int, *, deleted: bool = False) -> int | None:
        """The newest version of ``subject`` holding ``schema_id``."""
        sql = "SELECT MAX(version) FROM versions WHERE subject = ? AND schema_id = ?" + ("" if deleted else " AND deleted = 0")
        r = self._c.execute(sql, (subject, schema_id)).fetchone()
        return None if r is None or r[0] is None else int(r[0])

    def newest_with_plain_schema(self, subject: str, plain_fingerprint: str, *, deleted: bool = False) -> tuple[int, int] | None:
        """(schema id, version) of the newest version of ``subject`` whose schema, whatever its contract, is this one."""
        # From the few schemas with this text to their versions in the subject, both by index, never a scan of the subject.
        sql = (
            "SELECT s.id, (SELECT MAX(v.version) FROM versions v WHERE v.subject = ? AND v.schema_id = s.id"
            + ("" if deleted else " AND v.deleted = 0") + ") AS version "
            "FROM schemas s WHERE s.plain_fingerprint = ? ORDER BY version DESC LIMIT 1"
        )
        r = self._c.execute(sql, (subject, plain_fingerprint)).fetchone()
        return None if r is None or r[1] is None else (int(r[0]), int(r[1]))

    def _touch(self, subject: str) -> None:
        """This transaction changes ``subject`` (the registry's own settings, when it is ``GLOBAL``)."""
        if subject == GLOBAL:
            self.whole = True
        else:
            self.touched.add(subject)

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        self._touch(subject)
        self._c.execute("INSERT INTO versions(subject, version, schema_id) VALUES (?, ?, ?)", (subject, version, schema_id))

    def soft_delete(self, subject: str, version: int | None = None) -> None:
        self._touch(subject)
        if version is None:
            self._c.execute("UPDATE versions SET deleted = 1 WHERE subject = ?", (subject,))
        else:
            self._c.execute("UPDATE versions SET deleted = 1 WHERE subject = ? AND version = ?", (subject, version))

    def hard_delete(self, subject: str, version: int | None = None) -> None:
        self._touch(subject)
        if version is None:
            self._c.execute("DELETE FROM versions WHERE subject = ?", (subject,))
        else:
            self._c.execute("DELETE FROM versions WHERE subject = ? AND version = ?", (subject, version))

    # -- schemas ------------------------------------------------------------
    def schema(self, schema_id: int) -> SchemaRow | None:
        r = self._c.execute("SELECT id, schema, refs, guid, metadata, rule_set FROM schemas WHERE id = ?", (schema_id,)).fetchone()
        return None if r is None else SchemaRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))

    def schema_id_by_guid(self, guid: str) -> int | None:
        r = self._c.execute("SELECT id FROM schemas WHERE guid = ?", (guid,)).fetchone()
        return None if r is None else int(r[0])

    def schema_id_by_fingerprint(self, fingerprint: str) -> int | None:
        r = self._c.execute("SELECT id FROM schemas WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return None if r is None else int(r[0])

    def add_schema(
        self, fingerprint: str, text: str, refs_json: str, refs: list[tuple[str, int]], wanted_id: int | None,
        metadata: str = "", rule_set: str = "", plain_fingerprint: str | None = None,
    ) -> int:
        cur = self._c.execute(
            "INSERT INTO schemas(id, fingerprint, schema, refs, guid, metadata, rule_set, plain_fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (wanted_id, fingerprint, text, refs_json, schema_guid(fingerprint), metadata, rule_set, plain_fingerprint or fingerprint),
        )
        schema_id = int(cur.lastrowid or 0)
        self._c.executemany("INSERT INTO refs(schema_id, subject, version) VALUES (?, ?, ?)", [(schema_id, s, v) for s, v in refs])
        return schema_id

    def schema_count(self) -> int:
        return int(self._c.execute("SELECT COUNT(*) FROM schemas").fetchone()[0])

    def schema_exists(self, schema_id: int) -> bool:
        return self._c.execute("SELECT 1 FROM schemas WHERE id = ?", (schema_id,)).fetchone() is not None

    def usages(self, schema_id: int) -> list[tuple[str, int]]:
        """(subject, version) pairs holding ``schema_id``, deleted ones left out."""
        rows = self._c.execute(
            "SELECT subject, version FROM versions WHERE schema_id = ? AND deleted = 0 ORDER BY subject, version", (schema_id,)
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def referrers(self, subject: str, version: int, *, include_deleted: bool) -> list[int]:
        sql = (
            "SELECT DISTINCT r.schema_id FROM refs r JOIN versions v ON v.schema_id = r.schema_id "
            "WHERE r.subject = ? AND r.version = ?" + ("" if include_deleted else " AND v.deleted = 0") + " ORDER BY r.schema_id"
        )
        return [int(row[0]) for row in self._c.execute(sql, (subject, version))]

    # -- config and mode ----------------------------------------------------
    def setting(self, table: str, subject: str) -> str | None:
        column = _SETTING_COLUMN[table]
        row = self._c.execute(f"SELECT {column} FROM {table} WHERE subject = ?", (subject,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, table: str, subject: str, value: str | None) -> None:
        self._touch(subject)
        column = _SETTING_COLUMN[table]
        if value is None:
            self._c.execute(f"DELETE FROM {table} WHERE subject = ?", (subject,))
        else:
            self._c.execute(
                f"INSERT INTO {table}(subject, {column}) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET {column} = excluded.{column}",
                (subject, value),
            )

    def contract_config(self, subject: str) -> str | None:
        """The data-contract part of a config (compatibilityGroup, default/override metadata and rule sets) as JSON."""
        row = self._c.execute("SELECT body FROM contract_config WHERE subject = ?", (subject,)).fetchone()
        return None if row is None else str(row[0])

    def put_contract_config(self, subject: str, body: str | None) -> None:
        self._touch(subject)
        if body is None:
            self._c.execute("DELETE FROM contract_config WHERE subject = ?", (subject,))
        else:
            self._c.execute(
                "INSERT INTO contract_config(subject, body) VALUES (?, ?) ON CONFLICT(subject) DO UPDATE SET body = excluded.body",
                (subject, body),
            )

    # -- associations -------------------------------------------------------
    def associations(self, namespace: str, name: str, resource_type: str | None, association_type: str | None) -> list[Association]:
        sql = "SELECT * FROM associations WHERE resource_name = ? AND (? = '-' OR resource_namespace = ?)"
        args: list[str] = [name, namespace, namespace]
        if resource_type is not None:
            sql += " AND resource_type = ?"
            args.append(resource_type)
        if association_type is not None:
            sql += " AND association_type = ?"
            args.append(association_type)
        return [
            Association(r["subject"], r["resource_name"], r["resource_namespace"], r["resource_type"], r["association_type"], r["resource_id"])
            for r in self._c.execute(sql, args)
        ]

    def put_association(self, a: Association) -> None:
        self.whole = True
        self._c.execute(
            "INSERT OR REPLACE INTO associations(subject, resource_name, resource_namespace, resource_type, association_type, resource_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (a.subject, a.resource_name, a.resource_namespace, a.resource_type, a.association_type, a.resource_id),
        )

    def delete_associations(self, resource_id: str, resource_type: str | None, association_types: list[str]) -> int:
        """Delete a resource's associations (only those of the given types, when any are named); how many went."""
        self.whole = True
        sql = "DELETE FROM associations WHERE resource_id = ?"
        args: list[str] = [resource_id]
        if resource_type is not None:
            sql += " AND resource_type = ?"
            args.append(resource_type)
        if association_types:
            sql += f" AND association_type IN ({', '.join('?' * len(association_types))})"
            args += association_types
        return self._c.execute(sql, args).rowcount
