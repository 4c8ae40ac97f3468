"""Copy a whole archive database from one engine to the other, ids and all.

``voces migrate --to postgresql://...`` moves a laptop archive (SQLite) into PostgreSQL
when it outgrows one machine; ``--to FOLDER`` makes a field copy back in SQLite. Every
row keeps its id, so links, reviews, passage edits, the audit log and job records stay
true; vectors are converted between SQLite blobs and pgvector values. The copy is one
transaction on the target: it lands whole or not at all, and only into an empty archive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .access import Viewer, require
from .errors import CorpusError
from .store import Store

__all__ = ["TABLES", "copy_store", "table_rows"]

#: Tables in the order they are written (parents first), each with its key and columns.
#: ``vectors`` come before ``testimony_vectors``: writing a passage vector drops its
#: testimony's mean vector (a trigger), which must then be copied after.
TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "testimonies",
        "id",
        (
            "id",
            "title",
            "title_redacted",
            "region",
            "community",
            "date",
            "language",
            "language_probability",
            "duration",
            "consent",
            "source_kind",
            "source_name",
            "source_hash",
            "media_path",
            "illustrative",
            "allow_names",
            "extra",
            "created_at",
        ),
    ),
    (
        "passages",
        "id",
        ("id", "testimony_id", "seq", "start", '"end"', "text", "redacted", "speaker"),
    ),
    ("speakers", "testimony_id, label", ("testimony_id", "label", "name")),
    (
        "words",
        "passage_id, position",
        ("passage_id", "position", "start", '"end"', "text", "probability", "edited"),
    ),
    (
        "tags",
        "passage_id, theme, source",
        ("passage_id", "theme", "score", "source", "evidence", "version"),
    ),
    (
        "reviews",
        "passage_id, theme",
        ("passage_id", "theme", "verdict", "reviewer", "note", "reviewed_at"),
    ),
    (
        "review_log",
        "id",
        ("id", "passage_id", "theme", "verdict", "reviewer", "note", "reviewed_at"),
    ),
    (
        "passage_edits",
        "id",
        ("id", "passage_id", "old_text", "new_text", "editor", "note", "edited_at"),
    ),
    ("vectors", "passage_id", ("passage_id", "embedder", "vector")),
    ("testimony_vectors", "testimony_id", ("testimony_id", "embedder", "vector")),
    ("testimony_text_vectors", "testimony_id", ("testimony_id", "embedder", "vector")),
    (
        "api_keys",
        "id",
        ("id", "name", "role", "secret_hash", "created_at", "created_by", "revoked_at"),
    ),
    ("audit", "id", ("id", "at", "actor", "role", "action", "target", "detail")),
    (
        "jobs",
        "id",
        (
            "id",
            "state",
            "source_name",
            "upload_path",
            "metadata",
            "submitted_by",
            "created_at",
            "updated_at",
            "heartbeat_at",
            "attempts",
            "progress",
            "message",
            "error",
            "results",
            "worker",
        ),
    ),
)

#: Tables whose integer ids PostgreSQL hands out from a sequence, moved past the copy.
_IDENTITY = ("passages", "review_log", "passage_edits", "audit")

_BATCH = 2000


def table_rows(store: Store, table: str, key: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row of a table in key order, vectors as float32 lists (comparable across
    engines): what a round-trip test compares."""
    rows = store.db.tuples(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}")
    if "vector" not in columns:
        return rows
    n = list(columns).index("vector")
    return [(*r[:n], store.db.array([r[n]], 0)[0].round(6).tolist(), *r[n + 1 :]) for r in rows]


def _is_empty(store: Store) -> bool:
    return not any(
        store.db.tuples(f"SELECT 1 FROM {table} LIMIT 1")
        for table in ("testimonies", "api_keys", "audit", "jobs")
    )


def copy_store(
    source: Store,
    target: Store,
    viewer: Viewer,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``target``; returns rows per table.

    Only an admin may: the copy holds original texts, keys' hashes and the audit log."""
    require(viewer, "migrate")
    if source.location == target.location:
        raise CorpusError("the source and the target are the same archive")
    if not _is_empty(target):
        raise CorpusError(
            f"{target.location} already holds an archive; migrate into an empty database"
        )
    counts: dict[str, int] = {}
    with target.db.transaction() as db:
        for table, key, columns in TABLES:
            vector = list(columns).index("vector") if "vector" in columns else -1
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            done = 0
            for batch in _batches(source, table, key, columns):
                if vector >= 0:
                    batch = [
                        (
                            *r[:vector],
                            target.db.vector(source.db.array([r[vector]], 0)[0]),
                            *r[vector + 1 :],
                        )
                        for r in batch
                    ]
                db.executemany(insert, batch)
                done += len(batch)
                if progress:
                    progress(f"{table}: {done} rows")
            counts[table] = done
        target.db.reset_sequences(_IDENTITY, db)
        target.audit(viewer, "migrate", source.location, f"{sum(counts.values())} rows", db)
    # the audit row above is the target's own: copied rows are compared without it
    for table, _key, _columns in TABLES:
        if table == "audit":
            continue
        found = target.db.tuples(f"SELECT count(*) FROM {table}")[0][0]
        if found != counts[table]:  # pragma: no cover - a copy the database changed
            raise CorpusError(f"{table}: copied {counts[table]} rows but {found} arrived")
    return counts


def _batches(store: Store, table: str, key: str, columns: Sequence[str]) -> Any:
    """The rows of ``table`` in key order, ``_BATCH`` at a time, from one cursor."""
    yield from store.db.stream(
        f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}", size=_BATCH
    )
