import numpy as np
import pytest

from corpus import CorpusError, IndexMismatchError, VectorIndex


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
