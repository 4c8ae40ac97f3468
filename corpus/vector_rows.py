"""Passage vectors as stored rows, on both engines: the source of truth that the vector
search (:mod:`corpus.vectors`) indexes or searches.

Every passage's vector is written in the same transaction as the passage (or its
correction); each testimony's mean passage vector is kept beside them (what grouped search
scores a whole story by), dropped by triggers when a passage vector changes and written
again with the next write. ``index_log`` (SQLite) records every change to a vector, which
the FAISS index replays (migration 003).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .db import AnyDatabase, chunks, vector_dim
from .errors import CorpusError

__all__ = ["VectorRows"]


class VectorRows:
    """The ``vectors`` and ``testimony_vectors`` tables (system reads: no testimony text)."""

    def __init__(self, db: AnyDatabase) -> None:
        self.db = db

    def write(self, db: Any, ids: Sequence[int], vectors: np.ndarray, embedder: str) -> None:
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        vector = self.db.vector
        db.executemany(
            "INSERT INTO vectors (passage_id, embedder, vector) VALUES (?, ?, ?) "
            "ON CONFLICT (passage_id) DO UPDATE SET embedder = excluded.embedder, "
            "vector = excluded.vector",
            [(pid, embedder, vector(array[n])) for n, pid in enumerate(ids)],
        )
        tids: set[str] = set()
        for chunk in chunks(ids):
            rows = db.execute(
                f"SELECT DISTINCT testimony_id FROM passages WHERE id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            tids.update(r[0] for r in rows)
        self.write_means(db, sorted(tids), embedder)

    def write_means(self, db: Any, testimony_ids: Sequence[str], embedder: str) -> None:
        """Store the mean passage vector of each testimony (what grouped search reads)."""
        for tid in testimony_ids:
            # two lookups by index (passages by testimony, vectors by id): as one join,
            # PostgreSQL's cached plan from an empty archive scanned every vector
            pids = [
                r[0] for r in db.execute("SELECT id FROM passages WHERE testimony_id = ?", (tid,))
            ]
            blobs = [
                r[0]
                for part in chunks(pids)
                for r in db.execute(
                    f"SELECT vector FROM vectors WHERE embedder = ? AND passage_id IN "
                    f"({','.join('?' * len(part))})",
                    (embedder, *part),
                )
            ]
            if not blobs:
                continue
            mean = self.db.array(blobs, 0)
            db.execute(
                "INSERT INTO testimony_vectors (testimony_id, embedder, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (testimony_id) DO UPDATE SET embedder = excluded.embedder, "
                "vector = excluded.vector",
                (tid, embedder, self.db.vector(mean.mean(axis=0))),
            )

    def put(self, ids: Sequence[int], vectors: np.ndarray, embedder: str) -> None:
        """Store (or replace) passage vectors, e.g. after a change of embedder."""
        with self.db.transaction() as db:
            self.write(db, ids, vectors, embedder)

    def ids(self) -> set[int]:
        return {r[0] for r in self.db.query("SELECT passage_id FROM vectors")}

    def read(self, passage_ids: Sequence[int], dim: int) -> tuple[list[int], np.ndarray]:
        """Stored vectors of those ids that have one: (ids found, array)."""
        rows = self.db.tuples_in(
            "SELECT passage_id, vector FROM vectors WHERE passage_id IN ({ids})",
            passage_ids,
            binary=True,
        )
        found: list[int] = [int(r[0]) for r in rows]
        if not found:
            return [], np.zeros((0, dim), dtype=np.float32)
        array = self.db.array([r[1] for r in rows], dim)
        if array.shape[1] != dim:
            raise CorpusError(f"stored vectors are {array.shape[1]}-d, not {dim}")
        return found, array

    def read_map(self, passage_ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        """:meth:`vectors` by passage id (ids without a stored vector are left out)."""
        found, array = self.read(passage_ids, dim)
        return dict(zip(found, array, strict=True))

    def means(self, testimony_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The mean passage vector of each testimony that has vectors; computed from the
        passage vectors where the stored one is missing (it was dropped by a change)."""
        out: dict[str, np.ndarray] = {}
        rows = self.db.tuples_in(
            "SELECT testimony_id, vector FROM testimony_vectors WHERE testimony_id IN ({ids})",
            testimony_ids,
            binary=True,
        )
        # not another embedder's (mid-reindex); converted together, not one by one
        rows = [(tid, blob) for tid, blob in rows if vector_dim(blob) == dim]
        if rows:
            matrix = self.db.array([blob for _, blob in rows], dim)
            out.update(zip((tid for tid, _ in rows), matrix, strict=True))
        missing = [tid for tid in testimony_ids if tid not in out]
        grouped: dict[str, list[Any]] = {}
        for tid, blob in self.db.tuples_in(
            "SELECT p.testimony_id, v.vector FROM vectors v "
            "JOIN passages p ON p.id = v.passage_id WHERE p.testimony_id IN ({ids})",
            missing,
            binary=True,
        ):
            if vector_dim(blob) == dim:  # not another embedder's
                grouped.setdefault(tid, []).append(blob)
        for tid, blobs in grouped.items():
            out[tid] = self.db.array(blobs, dim).mean(axis=0)
        return out

    def means_missing(self) -> bool:
        return bool(
            self.db.query(
                "SELECT 1 FROM testimonies t WHERE NOT EXISTS "
                "(SELECT 1 FROM testimony_vectors w WHERE w.testimony_id = t.id) "
                "AND EXISTS (SELECT 1 FROM passages p JOIN vectors v ON v.passage_id = p.id "
                "WHERE p.testimony_id = t.id) LIMIT 1"
            )
        )

    def fill_means(self) -> int:
        """Store the mean vector of testimonies that lack one (archives made before
        testimony vectors were kept, or changed since). Returns how many."""
        rows = self.db.tuples(
            "SELECT DISTINCT p.testimony_id, v.embedder FROM vectors v "
            "JOIN passages p ON p.id = v.passage_id "
            "WHERE p.testimony_id NOT IN (SELECT testimony_id FROM testimony_vectors)"
        )
        with self.db.transaction() as db:
            for r in rows:
                self.write_means(db, [r[0]], r[1])
        return len(rows)

    def embedders(self) -> set[str]:
        return {r[0] for r in self.db.query("SELECT DISTINCT embedder FROM vectors")}

    def count(self) -> int:
        return int(self.db.query("SELECT count(*) FROM vectors")[0][0])

    def index_log(self, after: int) -> list[tuple[int, int, str]]:
        """(seq, passage id, 'add'|'remove') changes to the vectors after ``after``."""
        rows = self.db.query(
            "SELECT seq, passage_id, op FROM index_log WHERE seq > ? ORDER BY seq", (after,)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def index_log_head(self) -> int:
        return int(self.db.query("SELECT coalesce(max(seq), 0) FROM index_log")[0][0])

    # -- the opening of each testimony's text as one vector (migration 009) ---------------

    def write_texts(self, db: Any, vectors: dict[str, np.ndarray], embedder: str) -> None:
        """Store (or replace) testimonies' text vectors, inside ``db``'s transaction."""
        vector = self.db.vector
        db.executemany(
            "INSERT INTO testimony_text_vectors (testimony_id, embedder, vector) VALUES (?, ?, ?) "
            "ON CONFLICT (testimony_id) DO UPDATE SET embedder = excluded.embedder, "
            "vector = excluded.vector",
            [
                (tid, embedder, vector(np.asarray(v, dtype=np.float32)))
                for tid, v in vectors.items()
            ],
        )

    def put_texts(self, vectors: dict[str, np.ndarray], embedder: str) -> None:
        with self.db.transaction() as db:
            self.write_texts(db, vectors, embedder)

    def texts(self, testimony_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The text vector of each of these testimonies that has one (of this dimension)."""
        rows = self.db.tuples_in(
            "SELECT testimony_id, vector FROM testimony_text_vectors WHERE testimony_id IN ({ids})",
            testimony_ids,
            binary=True,
        )
        rows = [(tid, blob) for tid, blob in rows if vector_dim(blob) == dim]
        if not rows:
            return {}
        matrix = self.db.array([blob for _, blob in rows], dim)
        return dict(zip((tid for tid, _ in rows), matrix, strict=True))

    def texts_missing(self, embedder: str) -> list[str]:
        """Testimonies with passages but no text vector of ``embedder`` (made before
        migration 009, corrected since, or re-embedded): to fill with the model."""
        return [
            r[0]
            for r in self.db.tuples(
                "SELECT t.id FROM testimonies t WHERE EXISTS (SELECT 1 FROM passages p "
                "WHERE p.testimony_id = t.id) AND NOT EXISTS (SELECT 1 FROM "
                "testimony_text_vectors w WHERE w.testimony_id = t.id AND w.embedder = ?) "
                "ORDER BY t.id",
                [embedder],
            )
        ]
