"""Which database the test suite runs against.

By default every archive a test makes is the embedded one (SQLite + FAISS files). With
``VOCES_TEST_BACKEND=postgresql`` the same tests run on PostgreSQL + pgvector: a real
server, from ``VOCES_TEST_POSTGRES_URL`` (a superuser URL) or else started here from the
``pgserver`` package for the session, and each archive folder a test makes gets a
database of its own, cloned from a migrated template (so a test still starts empty, and
re-opening a folder re-opens its database).
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BACKEND = os.environ.get("VOCES_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
if BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"VOCES_TEST_BACKEND={BACKEND!r}: use sqlite or postgresql")
POSTGRES = BACKEND == "postgresql"


def embedded_only(why: str):  # type: ignore[no-untyped-def]
    """Skip a test of what only the embedded backend has (a SQLite file, FAISS files)."""
    import pytest

    return pytest.mark.skipif(POSTGRES, reason=f"embedded backend only: {why}")


_lock = threading.Lock()
_server_url = ""
_databases: dict[str, str] = {}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def server_url() -> str:
    """The superuser URL of the test server (started on first use)."""
    global _server_url
    if _server_url:
        return _server_url
    given = os.environ.get("VOCES_TEST_POSTGRES_URL", "").strip()
    if given:
        _server_url = given
    else:
        import pgserver

        folder = Path(tempfile.mkdtemp(prefix="voces-pg-"))
        server = pgserver.get_server(folder, cleanup_mode="stop")
        atexit.register(server.cleanup)
        _server_url = server.get_uri()
    _make_template()
    return _server_url


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(_server_url, autocommit=True)


def _make_template() -> None:
    from corpus.db import PostgresDatabase

    with _admin() as conn:
        conn.execute("DROP DATABASE IF EXISTS voces_template")
        conn.execute("CREATE DATABASE voces_template")
    PostgresDatabase(_with_database(_server_url, "voces_template")).close()


def database_for(folder: Path) -> str:
    """The test database of an archive folder (made empty on first use)."""
    key = str(Path(folder).resolve())
    with _lock:
        if key in _databases:
            return _databases[key]
        base = server_url()
        name = f"voces_test_{len(_databases) + 1}_{os.getpid()}"
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE voces_template')
        _databases[key] = _with_database(base, name)
        return _databases[key]


def clone(source: Path, copy: Path) -> None:
    """Make ``copy``'s database a copy of ``source``'s (as copying a folder copies its
    SQLite file): for checking an archive as a crash left it without changing it."""
    import time

    import psycopg

    src = urlsplit(database_for(source)).path.lstrip("/")
    key = str(Path(copy).resolve())
    with _lock:
        name = f"voces_copy_{abs(hash(key))}_{os.getpid()}"
        _databases[key] = _with_database(server_url(), name)
    deadline = time.monotonic() + 10
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        while True:  # a killed worker's session ends a moment after the kill
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{src}"')
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def forget(under: Path) -> None:
    """Drop the databases made for archive folders under ``under`` (a test's tmp_path,
    when the test ends; a module's shared archive lives until the session ends)."""
    root = str(Path(under).resolve()) + os.sep
    with _lock:
        gone = [key for key in _databases if key.startswith(root)]
        names = [urlsplit(_databases.pop(key)).path.lstrip("/") for key in gone]
    if not names:
        return
    with _admin() as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_location(path: Path) -> Path | str:
    """Where a test's store at ``path`` lives on the backend under test."""
    return database_for(path.parent / (path.name + ".pg")) if POSTGRES else path
