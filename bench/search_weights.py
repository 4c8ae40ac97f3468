"""Choose search's context weights on the development queries, then report the held-out
ones once.

    python bench/search_corpus.py --ejatlas ../shared/data/ejatlas_dev.jsonl --out /tmp/sc.jsonl
    VOCES_HOME=/tmp/sc-home voces ingest /tmp/sc.jsonl
    VOCES_HOME=/tmp/sc-home python bench/search_weights.py docs/eval/search_queries.jsonl

Prints nDCG@10 (all / cross-lingual) for each weighting on the dev split, best first,
then the chosen one and the baselines on the test split.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from api import services
from api.settings import get_settings
from corpus import PassageFilter, Viewer
from pipeline.evaluate_search import evaluate_search, read_queries
from pipeline.search import DEFAULT_WEIGHTS, ContextWeights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    archive = services.build_archive(get_settings())
    viewer = Viewer.system()
    languages = {t.id: t.language for t in archive.store.list_testimonies(viewer, limit=10**9)[0]}

    def ranker(weights: ContextWeights):
        def rank(query: str) -> list[str]:
            hits = archive.search(query, viewer, 100, PassageFilter(), weights=weights)
            return [h.testimony_id for h in hits]

        return rank

    grid = [
        ContextWeights(b, w, h, r)
        for b, w, h in [
            (1.0, 0.0, 0.0),
            (0.0, 1.0, 0.0),
            (0.0, 0.0, 1.0),
            (0.5, 0.5, 0.0),
            (0.5, 0.0, 0.5),
            (0.0, 0.5, 0.5),
            (0.4, 0.3, 0.3),
            (0.2, 0.4, 0.4),
            (0.6, 0.2, 0.2),
            (0.2, 0.2, 0.6),
        ]
        for r in (0.0, 0.2, 0.5, 1.0)
    ]
    dev = read_queries(args.queries, "dev")
    test = read_queries(args.queries, "test")
    scored = []
    for weights in grid:
        report = evaluate_search({"w": ranker(weights)}, dev, languages)["systems"]["w"]
        scored.append((report["all"]["ndcg"], report["cross_lingual"].get("ndcg", 0.0), weights))
    scored.sort(key=lambda row: (-row[0], -row[1]))
    rows = [{"weights": asdict(w), "ndcg": a, "cross": c} for a, c, w in scored]
    best = scored[0][2]
    final = evaluate_search(
        {
            "chosen": ranker(best),
            "shipped": ranker(DEFAULT_WEIGHTS),
            "dense_best_passage": ranker(ContextWeights(1.0, 0.0, 0.0, 0.0)),
            "context_no_keywords": ranker(ContextWeights(best.best, best.window, best.whole, 0.0)),
        },
        test,
        languages,
    )
    if args.json:
        print(json.dumps({"dev": rows, "test": final}, default=str))
        return
    print(f"dev split, {len(dev)} queries: nDCG@10 all / cross-lingual")
    for a, c, w in scored:
        print(
            f"  best {w.best:.1f} window {w.window:.1f} whole {w.whole:.1f} "
            f"rare {w.rare:.1f}: {a:.3f} / {c:.3f}"
        )
    print(f"\ntest split, {len(test)} queries (scored once):")
    for name, result in final["systems"].items():
        m, x = result["all"], result["cross_lingual"]
        ci = m.get("ndcg_ci95", [0, 0])
        print(
            f"  {name:<22} nDCG {m['ndcg']:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]  "
            f"cross {x.get('ndcg', 0):.3f}  R@10 {m['recall']:.3f}  MRR {m['mrr']:.3f}"
        )
    archive.close()


if __name__ == "__main__":
    main()
