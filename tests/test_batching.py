"""Queries embedded together: QueryBatcher, with a stand-in model whose calls we see."""

import threading
import time

import numpy as np
import pytest

from models.batching import QueryBatcher


class Model:
    """Embeds a text as [len(text), number of its call]; the first call can be held
    until the test lets it go, so that other callers queue behind it."""

    def __init__(self, hold_first: bool = False, fail_on: str = "") -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.started = threading.Event()
        self.fail_on = fail_on

    def __call__(self, texts):
        self.calls.append(list(texts))
        self.started.set()
        if len(self.calls) == 1:
            assert self.release.wait(10)
        if self.fail_on in texts:
            raise RuntimeError(f"cannot embed {self.fail_on!r}")
        return np.array([[len(t), len(self.calls)] for t in texts], dtype=np.float32)


def call_in_threads(batcher, texts):
    out: dict[str, object] = {}

    def one(text):
        try:
            out[text] = batcher(text)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            out[text] = exc

    threads = [threading.Thread(target=one, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    return threads, out


def wait_for_queue(batcher, n):
    deadline = time.monotonic() + 10
    while len(batcher._queue) < n:
        assert time.monotonic() < deadline, "callers did not queue"
        time.sleep(0.001)


def behind_a_running_batch(model, batcher, first, texts):
    """``first`` starts a batch the model holds; ``texts`` queue behind it; then the
    model is let go. What each caller got back (a vector or an exception), by text."""
    running, out = call_in_threads(batcher, [first])
    assert model.started.wait(10)
    queued, more = call_in_threads(batcher, texts)
    wait_for_queue(batcher, len(texts))
    model.release.set()
    for t in running + queued:
        t.join(10)
    return {**out, **more}


def test_a_lone_query_is_embedded_at_once_and_alone():
    model = Model()
    batcher = QueryBatcher(model)
    assert batcher("agua").tolist() == [4, 1]
    assert batcher("tierra").tolist() == [6, 2]
    assert model.calls == [["agua"], ["tierra"]]


def test_queries_arriving_during_a_batch_go_together_in_the_next():
    model = Model(hold_first=True)
    batcher = QueryBatcher(model)
    out = behind_a_running_batch(model, batcher, "río", ["a", "bb", "ccc", "dddd", "eeeee"])
    assert model.calls[0] == ["río"]
    assert sorted(model.calls[1]) == ["a", "bb", "ccc", "dddd", "eeeee"]
    assert len(model.calls) == 2
    # each caller gets its own row back
    for text, vector in out.items():
        assert vector.tolist() == [len(text), 1 if text == "río" else 2]


def test_a_batch_holds_at_most_limit_texts():
    model = Model(hold_first=True)
    batcher = QueryBatcher(model, limit=2)
    out = behind_a_running_batch(model, batcher, "x", ["a", "b", "c", "d", "e"])
    assert [len(c) for c in model.calls[1:]] == [2, 2, 1]
    assert sorted(t for c in model.calls for t in c) == ["a", "b", "c", "d", "e", "x"]
    assert all(isinstance(v, np.ndarray) for v in out.values())


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_batch_runs():
    model = Model(hold_first=True, fail_on="bad")
    batcher = QueryBatcher(model)
    out = behind_a_running_batch(model, batcher, "ok", ["bad", "fine"])
    assert out["ok"].tolist() == [2, 1]
    assert isinstance(out["bad"], RuntimeError) and isinstance(out["fine"], RuntimeError)
    assert batcher("again").tolist() == [5, 3]
    with pytest.raises(RuntimeError, match="cannot embed"):
        batcher("bad")


@pytest.mark.slow
def test_the_real_embedder_gives_a_query_the_same_vector_alone_or_in_company():
    from models.embedders import USEEmbedder

    embedder = USEEmbedder(threads=1)
    texts = ["el río se volvió naranja", "they took our land", "nos reasentaron"]
    alone = np.vstack([embedder.embed([t], kind="query") for t in texts])
    together = embedder._queries._embed(texts)
    assert np.allclose(alone, together, atol=1e-5)
