"""Story ranking (pipeline/search.py): the vectorised scoring against the formula written
out story by story."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.search import ContextWeights, PassageVectors, label_share, label_shares, rank_stories


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _cos(v: np.ndarray, q: np.ndarray) -> float:
    n = float(np.linalg.norm(v))
    return float(v @ q) / n if n > 0 else 0.0


def _world(seed: int = 0):
    """12 testimonies of 5 passages; 30 candidate passages; some neighbours' vectors and
    some testimonies' mean vectors missing."""
    rng = np.random.default_rng(seed)
    dim = 16
    where = {}
    for t in range(12):
        for s in range(5):
            pid = t * 5 + s
            where[pid] = (f"t{t}", pid - 1 if s else None, pid + 1 if s < 4 else None)
    vectors = {pid: _unit(rng.normal(size=dim)).astype(np.float32) for pid in where}
    query = _unit(rng.normal(size=dim)).astype(np.float32)
    candidates = [(int(p), float(vectors[int(p)] @ query)) for p in rng.choice(60, 30, False)]
    given = {p: v for p, v in vectors.items() if p % 7}  # some neighbours missing
    whole = {f"t{t}": _unit(rng.normal(size=dim)).astype(np.float32) for t in range(12) if t % 5}
    return query, candidates, where, given, whole


def _by_hand(query, candidates, where, vectors, whole, weights, lifts):
    best: dict[str, tuple[int, float]] = {}
    for pid, score in candidates:
        tid = where[pid][0]
        if tid not in best or score > best[tid][1]:
            best[tid] = (pid, score)
    out = {}
    for tid, (pid, score) in best.items():
        _, before, after = where[pid]
        window = sum(
            (vectors[p] for p in (before, pid, after) if p is not None and p in vectors),
            np.zeros_like(query),
        )
        mean = whole.get(tid, np.zeros_like(query))
        total = weights.best * score + weights.window * _cos(window, query)
        total += weights.whole * _cos(mean, query)
        total += weights.keyword * lifts.get(tid, 0.0)
        out[tid] = (total, pid)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stories_score_as_the_formula_says(seed):
    query, candidates, where, given, whole = _world(seed)
    weights = ContextWeights(best=0.2, window=0.2, whole=0.6, keyword=0.3)
    lifts = {"t3": 1.0, "t4": 0.5}
    expected = _by_hand(query, candidates, where, given, whole, weights, lifts)
    matrix = PassageVectors(list(given), np.stack(list(given.values())))
    for vectors in (given, matrix):  # a plain mapping or the index's matrix
        ranked = rank_stories(query, candidates, where, vectors, whole, weights, keyword_hits=lifts)
        assert {s.testimony_id for s in ranked} == set(expected)
        for story in ranked:
            total, pid = expected[story.testimony_id]
            assert story.score == pytest.approx(total, abs=1e-6)
            assert story.passage_id == pid
            assert story.neighbours == (pid, *where[pid][1:])
        scores = [s.score for s in ranked]
        assert scores == sorted(scores, reverse=True)
        top = rank_stories(
            query, candidates, where, vectors, whole, weights, keyword_hits=lifts, limit=3
        )
        assert top == ranked[:3]


def test_equal_scores_keep_the_candidates_order():
    ids = [7, 3, 41, 12, 5, 30, 2, 19, 8, 27, 11, 36, 1, 24, 15, 33, 6, 21, 9, 38, 4, 29, 14]
    where = {pid: (f"t{pid}", None, None) for pid in ids}
    query = np.array([1.0, 0.0], dtype=np.float32)
    candidates = [(pid, 0.9 if pid == 30 else 0.5) for pid in ids]
    ranked = rank_stories(query, candidates, where, {}, {}, ContextWeights())
    assert [s.passage_id for s in ranked] == [30, *(p for p in ids if p != 30)]


def test_label_shares_skip_labels_without_the_query_words():
    labels = {
        "a": "Agua de Cajamarca Celendín",
        "b": "Testimonio Puno",
        "c": "Minería Cajamarquina",
    }
    terms = ["cajamarca", "agua", "celendin"]
    shares = label_shares(terms, labels)
    assert shares == {t: label_share(terms, text) for t, text in labels.items() if t != "b"}
    assert shares["a"] == 1.0 and 0 < shares["c"] < 1  # "cajam..." begins both
    assert label_shares([], labels) == {}
