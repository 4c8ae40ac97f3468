"""Every passage has a vector from the configured embedder: opening the vector search,
embedding what has no stored vector, and re-embedding everything when the embedder
changes (``voces reindex``).

The store holds the vectors (the source of truth); the vector search indexes them
(:mod:`corpus.vectors`). Vectors made by another embedder are refused rather than mixed:
a cosine between two models' vectors means nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from corpus import IndexMismatchError, Store, VectorSearch, Viewer

from .prepare import opening

__all__ = ["Embedding"]

logger = logging.getLogger(__name__)


class Embedding:
    def __init__(
        self, store: Store, vectors: VectorSearch, embedder: Any, writing: Callable[[], Any]
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.writing = writing

    def open(self, fresh: bool) -> int:
        """Open the vector search for this embedder: refuse vectors made by another one
        (unless ``fresh``: then every passage is embedded again), embed the passages
        that have no stored vector, fill the testimonies' mean vectors, and catch up.
        Returns how many passages were embedded or adopted."""
        name = self.embedder.name
        embedders = self.store.vector_embedders()
        mismatch = bool(embedders) and embedders != {name}
        if mismatch and not fresh:
            raise IndexMismatchError(
                f"the archive's vectors were made with {', '.join(sorted(embedders))}, "
                f"but {name!r} is configured; set VOCES_EMBEDDER back or run "
                "`voces reindex` to re-embed every passage"
            )
        rebuilt = 0
        adopted = self.vectors.open(fresh or mismatch)
        if fresh or mismatch:
            rebuilt = self.reembed_all()
        missing = sorted(self.store.all_passage_ids() - self.store.vector_ids())
        if missing:
            with self.writing():
                missing = sorted(self.store.all_passage_ids() - self.store.vector_ids())
                logger.warning("embedding %d passages that have no stored vector", len(missing))
                self.embed(missing)
        if adopted or missing:
            rebuilt = adopted + len(missing)
        if self.store.needs_testimony_vectors():
            with self.writing():
                self.store.fill_testimony_vectors()
        self.fill_text_vectors()
        self.vectors.ready(backfilled=len(missing))
        return rebuilt

    def fill_text_vectors(self, batch: int = 128) -> int:
        """Embed the opening of every testimony that has no text vector of this embedder
        (archives made before migration 009, or re-embedded). Returns how many."""
        missing = self.store.text_vectors_missing(self.embedder.name)
        if missing:
            logger.warning("embedding the opening of %d testimonies", len(missing))
        for start in range(0, len(missing), batch):
            ids = missing[start : start + batch]
            texts = [
                opening([p.text for p in self.store.passages(tid, Viewer.system())]) for tid in ids
            ]
            vectors = self.embedder.embed(texts, kind="passage")
            with self.writing():
                self.store.put_text_vectors(
                    dict(zip(ids, vectors, strict=True)), self.embedder.name
                )
        return len(missing)

    def embed(self, passage_ids: Sequence[int] | None, batch: int = 256) -> int:
        """Embed and store these passages' vectors (every passage: ``None``)."""
        rows = self.store.passage_texts(Viewer.system(), passage_ids)
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            vectors = self.embedder.embed([text for _, text, _ in chunk], kind="passage")
            self.store.put_vectors([pid for pid, _, _ in chunk], vectors, self.embedder.name)
        return len(rows)

    def reembed_all(self) -> int:
        """Every passage embedded again, then the index rebuilt. Returns passages."""
        with self.writing():
            count = self.embed(None)
        self.fill_text_vectors()
        self.vectors.rebuild()
        return count
