"""Exact top-k by brute force and recall@k against it, counted one way for every bench
(bench/search.py, bench/index_codes.py): a returned passage counts when its exact score
reaches the k-th best score, so ties with the k-th count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Exact:
    """Exact top-k by brute force: the k-th best score of every query (the bar a returned
    passage must reach) over all rows, or over ``rows`` only."""

    kth: np.ndarray  # per query
    rows: np.ndarray | None  # allowed rows (None: all)


def exact_kth(queries: np.ndarray, vectors: np.ndarray, k: int, rows: np.ndarray | None) -> Exact:
    base = vectors if rows is None else vectors[rows]
    kth = np.empty(len(queries), dtype=np.float32)
    for lo in range(0, len(queries), 16):
        scores = queries[lo : lo + 16] @ base.T
        kk = min(k, scores.shape[1])
        kth[lo : lo + 16] = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1]
    return Exact(kth, rows)


def recall_at_k(
    found_rows: Sequence[Sequence[int]],
    queries: np.ndarray,
    vectors: np.ndarray,
    exact: Exact,
    k: int,
    eps: float = 1e-5,
) -> float:
    """Mean share of the true top-k found (a hit counts when it may be searched and its
    exact score reaches the k-th best; ties count)."""
    allowed = None if exact.rows is None else set(exact.rows.tolist())
    total = 0.0
    for q, rows in enumerate(found_rows):
        distinct = list(dict.fromkeys(r for r in rows if r >= 0))[:k]
        if allowed is not None:
            distinct = [r for r in distinct if r in allowed]
        if distinct:
            scores = vectors[distinct] @ queries[q]
            total += min(k, int((scores >= exact.kth[q] - eps).sum())) / k
    return round(total / max(1, len(found_rows)), 4)
