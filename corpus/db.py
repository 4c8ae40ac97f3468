"""The SQLite connection every part of the corpus shares, and its numbered migrations.

Schema changes are numbered SQL files in ``corpus/migrations`` applied in order, each in
one transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import CorpusError

__all__ = ["Database", "chunks", "now"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[list[Any]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (triggers hold ``;`` inside BEGIN ... END)."""
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip() and not pending.strip().startswith("--"):
        yield pending


class Database:
    """One connection, one lock (safe to share between threads), WAL journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.DatabaseError as exc:
            raise CorpusError(f"cannot open archive database {path}: {exc}") from exc
        self.lock = threading.RLock()
        self.migrate()

    @staticmethod
    def migrations() -> list[tuple[int, str]]:
        folder = resources.files("corpus") / "migrations"
        found = []
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
        return sorted(found)

    def schema_version(self) -> int:
        row = self.conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        with self.lock:
            try:
                self.conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
            except sqlite3.DatabaseError as exc:
                raise CorpusError(f"{self.path} is not a Voces archive database: {exc}") from exc
            for version, sql in self.migrations():
                with self.transaction() as db:
                    # re-read inside the write lock: another process may have migrated
                    if version <= self.schema_version():
                        continue
                    for statement in _statements(sql):
                        db.execute(statement)
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, now()))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def tuples(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Like :meth:`query`, as plain tuples: cheaper on hot paths that read many rows."""
        with self.lock:
            cursor = self.conn.execute(sql, args)
            cursor.row_factory = None
            return cursor.fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
