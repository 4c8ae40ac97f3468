"""FAISS vector index over passages, derived from the SQLite store.

The index is derived: SQLite holds every passage's vector (``vectors``, written in the
same transaction as the passage) and a log of changes to them (``index_log``). The file
``index.faiss`` is a snapshot; its stamp ``index.json`` records the embedder that built it
(name and dimension) and ``log_seq``, the last change it holds. Opening it replays the
log since then, so a write costs one SQLite transaction, not a rewrite of the index, and
a crash at any moment loses nothing. Opening it for another embedder raises
:class:`IndexMismatchError` instead of returning meaningless neighbours.

Exact inner-product search (``IndexFlatIP``) is the default: archives of community
testimony hold thousands to tens of thousands of passages, where a flat scan takes a few
milliseconds and recall is 1.0 (see bench/ for the measured numbers).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .errors import CorpusError, IndexMismatchError

__all__ = ["VectorIndex"]


class VectorIndex:
    """Passage id → unit vector, searched by inner product (cosine)."""

    def __init__(self, folder: Path, embedder_name: str, dim: int) -> None:
        self.folder = folder
        self.embedder_name = embedder_name
        self.dim = dim
        self.log_seq = 0  # the last change of SQLite's index_log this index holds
        self.legacy = False  # a snapshot from before vectors lived in SQLite
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def index_path(self) -> Path:
        return self.folder / "index.faiss"

    @property
    def meta_path(self) -> Path:
        return self.folder / "index.json"

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, embedder_name: str, dim: int) -> VectorIndex:
        """Open the index in ``folder``, or start an empty one if there is none."""
        index = cls(folder, embedder_name, dim)
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
        index.legacy = "log_seq" not in meta
        index.log_seq = int(meta.get("log_seq", 0))
        return index

    def save(self) -> None:
        """Write the index and its stamp atomically (temp file, then rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "embedder": self.embedder_name,
            "dim": self.dim,
            "count": len(self),
            "log_seq": self.log_seq,
            "faiss": faiss.__version__,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        fd, tmp_index = tempfile.mkstemp(prefix=".index-", dir=self.folder)
        os.close(fd)
        try:
            faiss.write_index(self._index, tmp_index)
            tmp_meta = tmp_index + ".json"
            Path(tmp_meta).write_text(json.dumps(meta, indent=2), "utf-8")
            os.replace(tmp_index, self.index_path)
            os.replace(tmp_meta, self.meta_path)
        finally:
            for leftover in (tmp_index, tmp_index + ".json"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def clear(self) -> None:
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self.log_seq = 0

    # -- contents -------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        return set(faiss.vector_to_array(self._index.id_map).tolist())

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise CorpusError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != vectors.shape[0]:
            raise CorpusError("ids and vectors differ in length")
        if len(ids):
            self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Sequence[int]) -> int:
        if not len(ids):
            return 0
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (each must be in the index)."""
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, pid in enumerate(ids):
            try:
                out[row] = self._index.reconstruct(int(pid))
            except RuntimeError as exc:
                raise CorpusError(f"passage {pid} is not in the vector index") from exc
        return out

    def search(
        self, query: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest passage ids to ``query`` with their cosine scores.

        ``allowed`` restricts the search to those ids (filters computed in SQLite).
        """
        if len(self) == 0 or k <= 0 or (allowed is not None and not len(allowed)):
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self._index.search(q, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
