"""Vector search over passages: one interface, one implementation per engine, one factory.

SQLite holds every passage's vector (:mod:`corpus.vector_rows`); how they are searched
depends on where the archive lives, and nothing else in Voces needs to know:

- :class:`FaissVectors` (the laptop default): a FAISS index beside the SQLite file
  (:mod:`corpus.index`), a snapshot on disk plus SQLite's log of vector changes replayed
  at open and before each search; the ids each filter allows cached per consent scope;
  the testimonies' mean vectors kept in memory; one writer at a time through a file lock.
- :class:`PgVectors` (PostgreSQL + pgvector): an HNSW index in the database, searched in
  the same SQL as the consent rule and filters (exactly below :data:`PG_EXACT_BELOW`
  passages visible to the caller); one writer at a time across machines through an
  advisory lock.

:func:`open_vectors` picks one. Both answer with the passages the viewer may find, each
scored by its own cosine with the query, equal scores ordered by passage id, and count
what a viewer may read, never more (issue 26).

The lifecycle: :meth:`VectorSearch.open` (load what is on disk; adopt the vectors of an
index made before vectors lived in SQLite), then the archive embeds any passage without
a stored vector, then :meth:`VectorSearch.ready` (catch up with the log, rebuild when the
archive outgrew its kind of index; make pgvector's index).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from .access import Viewer
from .db import PostgresDatabase
from .errors import CorpusError, IndexMismatchError
from .index import EXACT_BELOW, IdSet, VectorIndex
from .places import MeanVectors
from .records import CONSENT_LEVELS
from .visibility import PassageFilter

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "PG_EXACT_BELOW",
    "WRITE_LOCK_KEY",
    "FaissVectors",
    "PgVectors",
    "VectorSearch",
    "open_vectors",
]

logger = logging.getLogger(__name__)

#: Below this many passages visible to a caller, vector search on PostgreSQL scans them
#: exactly instead of through pgvector's HNSW index, so that its answer cannot depend on
#: passages the caller may not see (about 45 ms a search at the limit on 2 cores, 512-d).
PG_EXACT_BELOW = 10_000

#: The PostgreSQL advisory lock that makes one writer at a time across machines.
WRITE_LOCK_KEY = 7406114

#: filters whose allowed passage ids are kept between searches
ALLOWED_CACHE_SIZE = 64

Hits = list[tuple[int, float]]


class VectorSearch:
    """Passage vectors searched for one embedder (``name``, ``dim``); ``name`` empty when
    the archive was opened without an embedder (then only :meth:`writing` works)."""

    def __init__(self, store: Store, name: str, dim: int) -> None:
        self.store = store
        self.name = name
        self.dim = dim
        self._thread_lock = threading.RLock()

    # -- lifecycle -------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (and machines)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def open(self, fresh: bool) -> int:
        """Load what is kept on disk (``fresh``: start empty, every vector is about to be
        written again). Returns how many vectors were adopted from an old index."""
        return 0

    def ready(self, backfilled: int = 0) -> None:
        """Ready to search, once every passage has a stored vector (``backfilled``: how
        many were just embedded because they had none)."""

    def refresh(self) -> None:
        """Catch up with vector changes written since (by this process or another)."""

    def rebuild(self) -> int:
        """Rebuild what is derived from the stored vectors. Returns vectors searched."""
        return self.count()

    def snapshot(self) -> None:
        """Keep what is derived on disk, so the next open does less."""

    def check(self, repair: bool) -> list[tuple[str, bool]]:
        """What disagrees with the stored vectors: (problem, fixed) each."""
        return []

    def close(self) -> None:
        """Save what must be saved; the store is closed by its owner."""

    # -- searching -------------------------------------------------------------------------

    def nearest(self, vector: np.ndarray, k: int, viewer: Viewer, flt: PassageFilter) -> Hits:
        """The ``k`` passages closest to ``vector`` that ``viewer`` may see within ``flt``."""
        raise NotImplementedError

    def visible(
        self, flt: PassageFilter, viewer: Viewer
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        """Which of some passage ids ``viewer`` may find within ``flt`` (for keyword
        searches beside this one), when this search holds that answer in memory; else
        None (the keyword search tests it in SQL)."""
        return None

    def visible_count(self, viewer: Viewer) -> int:
        """How many passages ``viewer`` may read (for ranking's thresholds: hidden
        passages never count)."""
        raise NotImplementedError

    def count(self) -> int:
        """How many passage vectors a search can find."""
        raise NotImplementedError

    def vectors(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        """The vectors of these passages that have one, for ranking: (ids found, rows)."""
        return self.store.vector_rows.read(ids, self.dim)

    def testimony_vectors(self, testimony_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each testimony's mean passage vector, for ranking."""
        return self.store.vector_rows.means(testimony_ids, self.dim)

    def text_vectors(self, testimony_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each testimony's text vector (the embedding of its opening), for ranking."""
        return self.store.vector_rows.texts(testimony_ids, self.dim)

    @property
    def index(self) -> VectorIndex | None:
        """The FAISS index, for tests and benches that look inside it (None elsewhere)."""
        return None

    def _require_embedder(self) -> None:
        if not self.name:
            raise CorpusError("this archive was opened without an embedder")


class FaissVectors(VectorSearch):
    """A FAISS index in ``home/index`` that follows SQLite's log of vector changes."""

    def __init__(
        self,
        store: Store,
        home: Path,
        name: str,
        dim: int,
        exact_below: int = EXACT_BELOW,
        snapshot_every: int = 5000,
    ) -> None:
        super().__init__(store, name, dim)
        self.home = home
        self.exact_below = exact_below
        self.snapshot_every = snapshot_every
        self._index: VectorIndex | None = None
        self._file_lock = FileLock(str(home / ".write.lock"), thread_local=False)
        self._index_lock = threading.RLock()
        # snapshots take their own lock (never the write lock): writers hold the write
        # lock, then may refresh the index; a snapshot is taken under the index lock
        self._snapshot_file_lock = FileLock(str(home / ".snapshot.lock"), thread_local=False)
        self._snapshot_thread_lock = threading.Lock()
        self._snapshot_seq = 0
        self._allowed_lock = threading.Lock()
        self._allowed_cache: OrderedDict[
            tuple[PassageFilter, tuple[str, ...]], tuple[int, int, IdSet]
        ] = OrderedDict()
        self._means = MeanVectors()  # the testimonies' mean vectors grouped search reads
        self._texts = MeanVectors(kind="texts")  # and the vectors of their openings

    @property
    def index(self) -> VectorIndex | None:
        return self._index

    def _require_index(self) -> VectorIndex:
        if self._index is None:
            raise CorpusError("this archive was opened without an embedder")
        return self._index

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._thread_lock, self._file_lock:
            yield

    def open(self, fresh: bool) -> int:
        folder, name, dim = self.home / "index", self.name, self.dim
        if fresh:
            self._index = VectorIndex(folder, name, dim, self.exact_below)
            return 0
        try:
            self._index = VectorIndex.open(folder, name, dim, self.exact_below)
        except IndexMismatchError:
            if not self.store.vector_rows.embedders():
                raise  # a legacy index of another embedder: the user must choose
            logger.warning("the index snapshot was made by another embedder; rebuilding it")
            self._index = VectorIndex(folder, name, dim, self.exact_below)
        except Exception as exc:  # a damaged snapshot: SQLite holds every vector
            logger.warning("rebuilding the vector index from SQLite (%s)", exc)
            self._index = VectorIndex(folder, name, dim, self.exact_below)
        return self._adopt_legacy()

    def _adopt_legacy(self) -> int:
        """An index made before vectors lived in SQLite holds vectors SQLite lacks: store
        them there (the index is then rebuilt from SQLite by the replay that follows)."""
        index = self._require_index()
        if not index.legacy:
            return 0
        with self.writing():
            missing = sorted(self.store.all_passage_ids() - self.store.vector_rows.ids())
            held = index.ids()
            adopted = [pid for pid in missing if pid in held]
            if adopted:
                self.store.vector_rows.put(adopted, index.vectors(adopted), self.name)
        return len(adopted)

    def ready(self, backfilled: int = 0) -> None:
        index = self._require_index()
        if backfilled or index.legacy:
            index.clear()  # rebuilt from SQLite by the replay that follows
        self._snapshot_seq = index.log_seq
        self.refresh()
        if len(index) != len(self.store.vector_rows.ids()) or index.wants_rebuild():
            self.rebuild()

    def rebuild(self) -> int:
        """Rebuild the FAISS index from the vectors in SQLite (no model needed), choosing
        its kind by the archive's size (see :mod:`corpus.index`)."""
        index = self._require_index()
        store = self.store
        with self._index_lock:
            head = store.vector_rows.index_log_head()
            ids = sorted(store.vector_rows.ids())

            def sample(m: int) -> np.ndarray:
                rng = np.random.default_rng(len(ids))
                chosen = sorted(rng.choice(ids, size=min(m, len(ids)), replace=False).tolist())
                return store.vector_rows.read(chosen, index.dim)[1]

            def batches() -> Iterator[tuple[list[int], np.ndarray]]:
                for start in range(0, len(ids), 20_000):
                    yield store.vector_rows.read(ids[start : start + 20_000], index.dim)

            index.build(len(ids), sample, batches)
            index.log_seq = head
            self.snapshot()
            if index.recall_at_10 is not None:
                logger.info(
                    "built an IVF index over %d passages: %d cells, nprobe %d, recall@10 %.3f",
                    len(index),
                    index.plan.nlist,
                    index.nprobe,
                    index.recall_at_10,
                )
            return len(index)

    def refresh(self) -> None:
        """Bring the in-memory index up to date with SQLite's log of vector changes
        (and rebuild it when the archive has outgrown its kind of index)."""
        index = self._index
        if index is None:
            return
        with self._index_lock:
            changes = self.store.vector_rows.index_log(index.log_seq)
            if not changes:
                return
            touched = {pid for _, pid, _ in changes}
            last = {pid: op for _, pid, op in changes}
            index.remove(sorted(touched))
            added = sorted(pid for pid, op in last.items() if op == "add")
            found, vectors = self.store.vector_rows.read(added, index.dim)
            index.add(found, vectors)
            index.log_seq = changes[-1][0]
            if index.wants_rebuild():
                self.rebuild()
            elif index.log_seq - self._snapshot_seq >= self.snapshot_every:
                self.snapshot()

    def snapshot(self) -> None:
        """Write the index to disk (atomically) so the next open replays less. Temporary
        files left by a snapshot that was interrupted (a crash) are removed first."""
        index = self._index
        if index is None:
            return
        with self._index_lock, self._snapshot_thread_lock, self._snapshot_file_lock:
            for leftover in index.folder.glob(".index-*"):
                leftover.unlink(missing_ok=True)
            try:
                index.save()
                self._snapshot_seq = index.log_seq
            except OSError as exc:  # the log still holds every change
                logger.error("could not save the vector index snapshot (%s)", exc)

    def check(self, repair: bool) -> list[tuple[str, bool]]:
        found: list[tuple[str, bool]] = []
        leftovers = sorted((self.home / "index").glob(".index-*"))
        if leftovers:
            if repair:
                self.snapshot()  # removes the temporary files of interrupted snapshots
            found.append(
                (f"{len(leftovers)} temporary files of interrupted index snapshots", repair)
            )
        if self._index is not None:
            self.refresh()
            held = self._index.ids()
            stored = self.store.vector_rows.ids()
            if held != stored:
                if repair:
                    self.rebuild()
                found.append(
                    (
                        f"the vector index holds {len(held)} passages, SQLite {len(stored)} "
                        "vectors",
                        repair,
                    )
                )
        return found

    def close(self) -> None:
        if self._index is not None and self._index.log_seq != self._snapshot_seq:
            self.snapshot()

    def _allowed(self, flt: PassageFilter, viewer: Viewer) -> IdSet | None:
        """The passages ``viewer`` may find within ``flt`` (``None``: every passage).

        Cached per (filter, consent levels). The store's filter generation, which every
        write that could change the answer bumps (in SQLite, so writes by other processes
        count too), invalidates an entry; passages added since it was made (ids above
        the largest it saw) are checked and added alone. A repeated filter costs one
        counter read, also while an ingest is adding testimonies."""
        consent = tuple(sorted(viewer.consent))
        if flt == PassageFilter() and set(consent) == set(CONSENT_LEVELS):
            return None  # everything stored is allowed
        generation, top = self.store.filter_generation()
        key = (flt, consent)
        with self._allowed_lock:
            cached = self._allowed_cache.get(key)
        if cached is not None and cached[0] == generation and cached[1] == top:
            with self._allowed_lock:
                self._allowed_cache.move_to_end(key)
            return cached[2]
        if cached is not None and cached[0] == generation and cached[1] < top:
            new = self.store.passage_ids(viewer, flt, after=cached[1])
            ids = IdSet(np.concatenate([cached[2].ids, new])) if len(new) else cached[2]
        else:
            ids = IdSet(self.store.passage_ids(viewer, flt))
        with self._allowed_lock:
            self._allowed_cache[key] = (generation, top, ids)
            self._allowed_cache.move_to_end(key)
            while len(self._allowed_cache) > ALLOWED_CACHE_SIZE:
                self._allowed_cache.popitem(last=False)
        return ids

    def nearest(self, vector: np.ndarray, k: int, viewer: Viewer, flt: PassageFilter) -> Hits:
        """In the FAISS index, restricted to the allowed ids (exact below
        ``exact_below`` passages; see :mod:`corpus.index`)."""
        index = self._require_index()
        allowed = self._allowed(flt, viewer)
        with self._index_lock:
            return index.search(vector, k, allowed)

    def visible(
        self, flt: PassageFilter, viewer: Viewer
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        """Tested against the id set the vector search uses (cached)."""
        allowed = self._allowed(flt, viewer)
        if allowed is None:  # every stored passage
            return lambda ids: np.ones(len(ids), dtype=bool)
        return allowed.holds

    def visible_count(self, viewer: Viewer) -> int:
        """The size of the id set kept per consent scope (:meth:`_allowed`; the index's
        size for those who read everything)."""
        allowed = self._allowed(PassageFilter(), viewer)
        return self.count() if allowed is None else len(allowed)

    def count(self) -> int:
        return len(self._require_index())

    def vectors(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        """From the index (in memory; reading 600 blobs from SQLite cost 4 ms a search at
        100k passages), SQLite for any it lacks."""
        index = self._require_index()
        with self._index_lock:
            found, array = index.lookup(ids)
        held = set(found)
        missing = [pid for pid in ids if pid not in held]
        if missing:
            more, extra = self.store.vector_rows.read(missing, index.dim)
            found, array = [*found, *more], np.concatenate([array, extra])
        return found, array

    def testimony_vectors(self, testimony_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Kept in memory (:class:`~corpus.places.MeanVectors`) under the vector log
        position the index has reached (a search refreshes first)."""
        stamp = self._require_index().log_seq
        return self._means.get(self.store, testimony_ids, self.dim, stamp)

    def text_vectors(self, testimony_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Kept in memory as the mean vectors are: a text vector changes only with a
        passage's text, whose new vector moves the log."""
        stamp = self._require_index().log_seq
        return self._texts.get(self.store, testimony_ids, self.dim, stamp)


class PgVectors(VectorSearch):
    """pgvector's HNSW index over the passage vectors, searched in SQL."""

    def __init__(self, store: Store, db: PostgresDatabase, name: str, dim: int) -> None:
        super().__init__(store, name, dim)
        self.db = db
        self._count_lock = threading.Lock()
        self._count_cache: dict[tuple[str, ...], tuple[tuple[int, int], int]] = {}

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time across every machine."""
        with self._thread_lock, self.db.advisory_lock(WRITE_LOCK_KEY):
            yield

    def ready(self, backfilled: int = 0) -> None:
        self.ensure_index()

    def ensure_index(self) -> None:
        """An HNSW index (cosine) over the ``dim``-d passage vectors, made once. pgvector
        indexes only vectors of one declared dimension, so it is an expression index
        over ``vector::vector(dim)``, for the rows of that dimension."""
        dim = int(self.dim)
        name = f"vectors_hnsw_{dim}"
        with self.db.transaction() as db:
            if db.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is not None:
                return
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw "
                f"((vector::vector({dim})) vector_cosine_ops) "
                f"WHERE vector_dims(vector) = {dim}"
            )
            # statistics for the planner now, not when autovacuum gets to it: without
            # them a filtered search after a bulk load was planned as a scan of every
            # vector (row estimates of 1)
            db.execute("ANALYZE vectors, passages, testimonies")

    def nearest(self, vector: np.ndarray, k: int, viewer: Viewer, flt: PassageFilter) -> Hits:
        self._require_embedder()
        exact = self.visible_count(viewer) < PG_EXACT_BELOW
        return self.search(vector, k, viewer, flt, exact)

    def search(
        self,
        vector: np.ndarray,
        k: int,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        exact: bool = False,
    ) -> Hits:
        """The ``k`` passages closest to ``vector`` (cosine, as (id, similarity)) among
        those ``viewer`` may see within ``flt``: consent and filters are in the same SQL
        as the vector search, so nothing outside them is ever read. Equal scores are
        ordered by passage id.

        pgvector's HNSW scan filters after it finds ``hnsw.ef_search`` candidates, so a
        narrow filter can leave fewer than ``k``; the search is then run again exactly
        (an index-free scan of the passages the filter allows), as FAISS is given the
        allowed ids. Either way the answer holds only allowed passages.

        Passages the viewer may not see take up some of those candidates, so which
        visible passages an HNSW scan returns depends on hidden ones: ``exact`` (asked
        for below :data:`PG_EXACT_BELOW` visible passages) scans the allowed passages
        instead, whose answer depends on nothing else (issue 26; docs/security.md)."""
        dim = int(len(vector))
        where, args = flt.where(viewer, hint=self.db.unindexed)
        if self.name:
            where += " AND v.embedder = ?"
            args.append(self.name)
        query = self.db.vector(vector)
        distance = f"v.vector::vector({dim}) <=> ?::vector({dim})"
        sql = (
            f"SELECT v.passage_id, 1 - (v.vector::vector({dim}) <=> ?::vector({dim})) "
            "FROM vectors v JOIN passages p ON p.id = v.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE vector_dims(v.vector) = {dim} AND {where} "
            f"ORDER BY {distance} LIMIT ?"
        )
        # the exact re-run orders by an expression no index serves ("+ 0"), so its plan
        # cannot be the HNSW scan. (Disabling index scans for it did not hold: psycopg
        # prepares a statement run five times, and a prepared plan keeps the HNSW scan
        # whatever enable_indexscan says; at 1M passages every filtered answer came back
        # short.)
        scan = sql.replace(f"ORDER BY {distance}", f"ORDER BY ({distance}) + 0, v.passage_id")
        params = [query, *args, query, k]
        with self.db.transaction() as db:
            if exact:
                rows = db.execute(scan, params).fetchall()
            else:
                ef_search = min(1000, max(self.store.ef_search, k))
                db.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                rows = db.execute(sql, params).fetchall()
                if len(rows) < k and (flt != PassageFilter() or len(viewer.consent) < 3):
                    rows = db.execute(scan, params).fetchall()
        found = [(int(r[0]), float(r[1])) for r in rows]
        return sorted(found, key=lambda hit: (-hit[1], hit[0]))

    def visible_count(self, viewer: Viewer) -> int:
        """A count made again only when the store's filter generation or its largest
        passage id has moved, which a write that adds or removes passages or changes a
        consent does."""
        generation = self.store.filter_generation()
        consent = tuple(sorted(viewer.consent))
        with self._count_lock:
            cached = self._count_cache.get(consent)
        if cached is None or cached[0] != generation:
            cached = (generation, self.store.passage_count(viewer))
            with self._count_lock:
                self._count_cache[consent] = cached
        return cached[1]

    def count(self) -> int:
        self._require_embedder()
        return self.store.vector_rows.count()


def open_vectors(
    store: Store,
    home: Path,
    name: str = "",
    dim: int = 0,
    exact_below: int = EXACT_BELOW,
    snapshot_every: int = 5000,
) -> VectorSearch:
    """The vector search of the archive whose store is ``store`` (its files in ``home``):
    pgvector in a PostgreSQL store, else a FAISS index in ``home``. ``name`` and ``dim``
    are the embedder's ("" and 0 without one: locking only)."""
    if isinstance(store.db, PostgresDatabase):
        return PgVectors(store, store.db, name, dim)
    return FaissVectors(store, home, name, dim, exact_below, snapshot_every)
