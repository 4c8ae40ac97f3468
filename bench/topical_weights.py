"""Choose grouped search's weights on the development questions of a relevance set.

    VOCES_HOME=/tmp/sizes/mid .venv/bin/python bench/topical_weights.py \\
        docs/eval/topical_queries.jsonl --split dev [--also docs/eval/search_queries.jsonl]

Evaluates a grid of :class:`pipeline.search.ContextWeights` (context weights, the lexical
lifts, theme agreement) on ``--split`` (dev: tuning must never look at test) and prints
nDCG@10 overall, cross-lingual and same-language, best first. ``--also`` evaluates the same
weightings on a second set's dev split in another archive (``--also-home``), so that a
weighting that helps topical questions but costs case-finding shows it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import services  # noqa: E402
from api.settings import get_settings  # noqa: E402
from corpus import PassageFilter, Viewer  # noqa: E402
from pipeline.evaluate_search import evaluate_search, read_queries  # noqa: E402
from pipeline.search import DEFAULT_WEIGHTS, ContextWeights  # noqa: E402


def grid() -> list[ContextWeights]:
    out = [DEFAULT_WEIGHTS]
    for (b, w, h), keyword, label, theme in itertools.product(
        [(0.2, 0.2, 0.6), (0.4, 0.2, 0.4), (0.5, 0.0, 0.5), (0.3, 0.3, 0.4), (0.0, 0.3, 0.7)],
        [0.0, 0.15, 0.3],
        [0.0, 0.5],
        [0.0, 0.1, 0.2, 0.3],
    ):
        out.append(ContextWeights(b, w, h, 0.2, keyword, label, 1.0, theme))
    return list(dict.fromkeys(out))


def measure(home: str, queries: Path, split: str, weights: list[ContextWeights]) -> list[dict]:
    os.environ["VOCES_HOME"] = home
    archive = services.build_archive(get_settings())
    viewer = Viewer.system()
    languages = {t.id: t.language for t in archive.read.list_testimonies(viewer, limit=10**9)[0]}
    items = read_queries(queries, split)

    def ranker(w: ContextWeights):
        def rank(query: str) -> list[str]:
            return [
                h.testimony_id
                for h in archive.search(query, viewer, 100, PassageFilter(), weights=w)
            ]

        return rank

    systems = {json.dumps(asdict(w)): ranker(w) for w in weights}
    report = evaluate_search(systems, items, languages, k=10)
    archive.close()
    rows = []
    for key, result in report["systems"].items():
        rows.append(
            {
                "weights": json.loads(key),
                "all": result["all"]["ndcg"],
                "cross": result["cross_lingual"].get("ndcg"),
                "same": result["same_language"].get("ndcg"),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--also", type=Path)
    parser.add_argument("--also-home", default="/tmp/sizes/cases-mid")
    args = parser.parse_args()
    if args.split == "test":
        raise SystemExit("tune on dev; the test split is reported once, by voces eval search")
    weights = grid()
    home = os.environ.get("VOCES_HOME", "/tmp/sizes/mid")
    rows = measure(home, args.queries, args.split, weights)
    if args.also:
        also = {
            json.dumps(r["weights"]): r
            for r in measure(args.also_home, args.also, args.split, weights)
        }
        for r in rows:
            r["also"] = also[json.dumps(r["weights"])]["all"]
    rows.sort(key=lambda r: -r["all"])
    for r in rows:
        w = r["weights"]
        label = (
            f"b{w['best']} w{w['window']} h{w['whole']} kw{w['keyword']} lab{w['label']} "
            f"th{w['theme']}"
        )
        extra = f"  also {r['also']:.3f}" if "also" in r else ""
        cross, same = r["cross"] or 0.0, r["same"] or 0.0
        print(f"{label:<44} all {r['all']:.3f}  cross {cross:.3f}  same {same:.3f}{extra}")


if __name__ == "__main__":
    main()
