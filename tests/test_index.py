import json
import math
import shutil

import numpy as np
import pytest

import corpus.index as index_module
from corpus import CorpusError, IdSet, IndexMismatchError, VectorIndex
from corpus.index import RECALL_TARGET, IndexPlan, plan


def _unit(rows, dim=8, seed=0):
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_save_open_search(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 8)
    vecs = _unit(5)
    idx.add([10, 11, 12, 13, 14], vecs)
    idx.save()
    again = VectorIndex.open(tmp_path, "emb-a", 8)
    assert len(again) == 5 and again.ids() == {10, 11, 12, 13, 14}
    top = again.search(vecs[2], 3)
    assert top[0][0] == 12 and top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [i for i, _ in again.search(vecs[2], 3, allowed=[13, 14])] in ([13, 14], [14, 13])
    assert again.search(vecs[2], 3, allowed=[]) == []
    np.testing.assert_allclose(again.vectors([11]), vecs[1:2], atol=1e-6)


def test_another_embedder_is_refused(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 8)
    idx.add([1], _unit(1))
    idx.save()
    with pytest.raises(IndexMismatchError, match="emb-a.*emb-b.*voces reindex"):
        VectorIndex.open(tmp_path, "emb-b", 8)
    with pytest.raises(IndexMismatchError):
        VectorIndex.open(tmp_path, "emb-a", 16)


def test_damaged_index_is_a_clear_error(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 8)
    idx.add([1], _unit(1))
    idx.save()
    (tmp_path / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(CorpusError, match="damaged"):
        VectorIndex.open(tmp_path, "emb-a", 8)


def test_save_leaves_no_temporary_files(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 8)
    idx.add([1, 2], _unit(2))
    idx.save()
    idx.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.faiss", "index.json"]


def test_remove_and_shape_checks(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 8)
    idx.add([1, 2], _unit(2))
    assert idx.remove([1]) == 1 and idx.ids() == {2}
    with pytest.raises(CorpusError, match="shape"):
        idx.add([3], _unit(1, dim=4))
    with pytest.raises(CorpusError, match="not in the vector index"):
        idx.vectors([1])


# -- the index chosen by size ------------------------------------------------------------------


def _clustered(rows, dim=32, centres=40, seed=1):
    """Unit vectors around a few dozen topics, as passage embeddings are."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    x = c[rng.integers(0, centres, rows)] + 0.5 * rng.normal(size=(rows, dim))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _build(tmp_path, vectors, ids, exact_below):
    idx = VectorIndex(tmp_path, "emb-a", vectors.shape[1], exact_below=exact_below)
    pick = np.random.default_rng(0)

    def sample(m):
        return vectors[np.sort(pick.choice(len(vectors), size=min(m, len(vectors)), replace=False))]

    def batches():
        for start in range(0, len(ids), 700):
            yield ids[start : start + 700], vectors[start : start + 700]

    idx.build(len(ids), sample, batches)
    return idx


def _exact(vectors, ids, query, k, allowed=None):
    scores = vectors @ query
    order = [int(ids[i]) for i in np.argsort(-scores)]
    if allowed is not None:
        order = [i for i in order if i in allowed]
    return order[:k]


def test_plan_follows_the_archive_size():
    assert plan(49_999).kind == "flat"
    big = plan(1_000_000)
    assert big.kind == "ivf" and big.nlist == 2000
    assert plan(100, exact_below=5) == IndexPlan("ivf", 6)


def test_a_large_archive_gets_an_ivf_index_tuned_to_the_recall_target(tmp_path):
    vectors = _clustered(3000)
    ids = list(range(100, 3100))
    idx = _build(tmp_path, vectors, ids, exact_below=1000)
    assert idx.plan.kind == "ivf" and len(idx) == 3000 and idx.ids() == set(ids)
    assert idx.recall_at_10 is not None and idx.recall_at_10 >= RECALL_TARGET
    assert 0 < idx.nprobe <= idx.plan.nlist
    # fresh queries (not the probe queries it was tuned on) still find the true neighbours
    queries = _clustered(50, seed=7)
    recall = np.mean(
        [
            len({i for i, _ in idx.search(q, 10)} & set(_exact(vectors, ids, q, 10))) / 10
            for q in queries
        ]
    )
    assert recall >= 0.9
    # the build and its measured recall survive a snapshot
    idx.save()
    again = VectorIndex.open(tmp_path, "emb-a", 32, exact_below=1000)
    assert (again.plan, again.nprobe, again.rerank, again.recall_at_10) == (
        idx.plan,
        idx.nprobe,
        idx.rerank,
        idx.recall_at_10,
    )
    assert again.search(queries[0], 10) == idx.search(queries[0], 10)
    assert again.ids() == set(ids)


def test_ivf_honours_deletes_and_filters(tmp_path):
    vectors = _clustered(3000)
    ids = list(range(3000))
    idx = _build(tmp_path, vectors, ids, exact_below=1000)
    query = vectors[5]
    gone = [i for i, _ in idx.search(query, 20)]
    assert idx.remove(gone) == 20 and idx.remove(gone) == 0
    assert not {i for i, _ in idx.search(query, 50)} & set(gone)
    # a filter that keeps 2% of the archive still returns k results, the exact ones
    allowed = set(range(0, 3000, 50)) - set(gone)
    found = [i for i, _ in idx.search(query, 10, IdSet(sorted(allowed)))]
    assert len(found) == 10 and set(found) <= allowed
    keep = [i for i in range(3000) if i not in set(gone)]
    assert found == _exact(vectors[keep], np.array(keep), query, 10, allowed)


def test_ivf_scans_the_4bit_codes_then_scores_candidates_by_their_vectors(tmp_path):
    vectors = _clustered(3000, dim=64)
    ids = list(range(3000))
    idx = _build(tmp_path, vectors, ids, exact_below=1000)
    assert idx.rerank > 0 and idx.recall_at_10 >= RECALL_TARGET  # the codes reached it
    idx.save()
    meta = json.loads((tmp_path / "index.json").read_text())
    assert (meta["codes"], meta["codes_count"], meta["rerank"]) == ("PQ16x4fs", 3000, idx.rerank)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "codes.faiss",
        "index.faiss",
        "index.json",
    ]
    for query in _clustered(5, dim=64, seed=9):
        hits = idx.search(query, 10)
        scores = [s for _, s in hits]
        # the scores are the stored half-precision vectors', not the codes' estimates
        found, array = idx.lookup([i for i, _ in hits])
        np.testing.assert_allclose(scores, array @ query, atol=1e-5)
        assert scores == sorted(scores, reverse=True)
    # adds and deletes reach the codes as well as the vectors
    idx.remove(list(range(100)))
    idx.add(list(range(5000, 5050)), _clustered(50, dim=64, seed=4))
    assert idx._codes.ntotal == len(idx) == 2950


def test_a_wide_filter_goes_through_the_codes_and_never_leaks(tmp_path):
    vectors = _clustered(3000, dim=64)
    idx = _build(tmp_path, vectors, list(range(3000)), exact_below=1000)
    allowed = IdSet(range(0, 3000, 2))  # half the archive: fewer cells than all, so codes
    assert math.ceil(idx.nprobe / 0.5) < idx.plan.nlist and idx.rerank > 0
    for query in vectors[1:200:10]:  # odd ids: each query's own passage is filtered out
        found = [i for i, _ in idx.search(query, 10, allowed)]
        assert len(found) == 10 and all(i % 2 == 0 for i in found)


def test_codes_too_coarse_for_the_recall_target_are_dropped(tmp_path, monkeypatch):
    # 20 candidates from 8 four-bit sub-vectors of 32-d vectors: too few, at any nprobe
    monkeypatch.setattr(index_module, "_RERANKS", (1,))
    monkeypatch.setattr(index_module, "RERANK_MIN", 0)
    vectors = _clustered(3000)
    idx = _build(tmp_path, vectors, list(range(3000)), exact_below=1000)
    assert idx.rerank == 0 and idx._codes is None
    assert idx.recall_at_10 >= RECALL_TARGET and not idx.wants_rebuild()
    idx.save()
    assert not (tmp_path / "codes.faiss").exists()
    again = VectorIndex.open(tmp_path, "emb-a", 32, exact_below=1000)
    assert again.rerank == 0 and not again.wants_rebuild()
    assert again.search(vectors[3], 10) == idx.search(vectors[3], 10)


def test_a_dimension_4_does_not_divide_gets_no_codes(tmp_path):
    vectors = _clustered(3000, dim=30)
    idx = _build(tmp_path, vectors, list(range(3000)), exact_below=1000)
    assert idx.rerank == 0 and idx._codes is None and not idx.wants_rebuild()
    assert idx.recall_at_10 >= RECALL_TARGET
    assert [i for i, _ in idx.search(vectors[11], 1)] == [11]


def _snapshot_with_stale_codes(tmp_path, change):
    """An IVF snapshot whose codes file is an earlier snapshot's (a save interrupted
    between its renames), after ``change(index)``."""
    vectors = _clustered(3000, dim=64)
    idx = _build(tmp_path, vectors, list(range(3000)), exact_below=1000)
    idx.save()
    shutil.copy(tmp_path / "codes.faiss", tmp_path / "old-codes")
    change(idx)
    idx.save()
    shutil.copy(tmp_path / "old-codes", tmp_path / "codes.faiss")
    return vectors, VectorIndex.open(tmp_path, "emb-a", 64, exact_below=1000)


def test_codes_of_another_snapshot_are_not_used_and_the_index_asks_for_a_rebuild(tmp_path):
    vectors, again = _snapshot_with_stale_codes(tmp_path, lambda idx: idx.remove([1, 2, 3]))
    assert again.wants_rebuild()
    assert [i for i, _ in again.search(vectors[0], 5)][0] == 0
    assert not {1, 2, 3} & {i for i, _ in again.search(vectors[2], 20)}


def test_stale_codes_of_the_same_size_never_return_a_removed_passage(tmp_path):
    def swap(idx):  # as many added as removed: the counts agree
        idx.remove(list(range(50)))
        idx.add(list(range(9000, 9050)), _clustered(50, dim=64, seed=5))

    vectors, again = _snapshot_with_stale_codes(tmp_path, swap)
    for query in vectors[:50]:
        assert not {i for i, _ in again.search(query, 10)} & set(range(50))


def test_a_snapshot_without_codes_is_rebuilt(tmp_path):
    vectors = _clustered(3000, dim=64)
    idx = _build(tmp_path, vectors, list(range(3000)), exact_below=1000)
    idx.save()
    assert not VectorIndex.open(tmp_path, "emb-a", 64, exact_below=1000).wants_rebuild()
    meta = json.loads((tmp_path / "index.json").read_text())
    for key in ("codes", "codes_count", "rerank"):  # a stamp written before the codes
        del meta[key]
    (tmp_path / "index.json").write_text(json.dumps(meta))
    (tmp_path / "codes.faiss").unlink()
    old = VectorIndex.open(tmp_path, "emb-a", 64, exact_below=1000)
    assert old.wants_rebuild()
    assert [i for i, _ in old.search(vectors[7], 1)] == [7]  # still searchable meanwhile
    old.save()  # a snapshot taken before the rebuild still asks for it
    assert VectorIndex.open(tmp_path, "emb-a", 64, exact_below=1000).wants_rebuild()


def test_an_index_is_rebuilt_when_the_archive_outgrows_it(tmp_path):
    idx = VectorIndex(tmp_path, "emb-a", 32, exact_below=100)
    idx.add(list(range(99)), _clustered(99))
    assert not idx.wants_rebuild()
    idx.add([99], _clustered(1, seed=3))
    assert idx.wants_rebuild()  # flat at the threshold
    big = _build(tmp_path, _clustered(400), list(range(400)), exact_below=100)
    assert big.plan.kind == "ivf" and not big.wants_rebuild()
    big.add(list(range(400, 1600)), _clustered(1200, seed=4))
    assert big.wants_rebuild()  # grown four times past what it was trained on
    big.remove(list(range(0, 1560)))
    assert big.wants_rebuild()  # shrunk below half the threshold: exact again


def test_id_sets_select_exactly_their_ids():
    ids = IdSet([5, 9, 9, 1024])
    assert len(ids) == 3 and 9 in ids and 1024 in ids
    assert 8 not in ids and 1025 not in ids and -1 not in ids
    with pytest.raises(CorpusError, match="negative"):
        IdSet([-3])


@pytest.mark.parametrize("exact_below", [50_000, 1000])  # flat, then IVF
def test_lookup_returns_the_vectors_held_and_forgets_removed_ones(tmp_path, exact_below):
    vectors = _clustered(3000)
    ids = list(range(100, 3100))
    idx = _build(tmp_path, vectors, ids, exact_below=exact_below)
    found, array = idx.lookup([100, 105, 99, 5000])  # 99 and 5000 were never added
    assert found == [100, 105]
    tolerance = 0.0 if idx.plan.kind == "flat" else 1e-3  # IVF stores half precision
    assert np.abs(array - vectors[[0, 5]]).max() <= tolerance
    idx.remove([105])
    assert idx.lookup([100, 105])[0] == [100]
    idx.save()
    again = VectorIndex.open(tmp_path, "emb-a", 32, exact_below=exact_below)
    found, array = again.lookup([100, 3099])
    assert found == [100, 3099] and np.abs(array - vectors[[0, 2999]]).max() <= tolerance
    again.add([9000], vectors[:1])
    assert again.lookup([9000])[0] == [9000]
