"""Measuring search against graded relevance judgments.

Input: JSON lines ``{"qid", "query", "graded": {testimony_id: grade}, "language"?,
"split"?}`` (grade 0–3; unjudged documents count as 0). Each system under test is a
function from a query to a ranked list of testimony ids. Measures come from
``ir_measures`` (trec_eval's definitions: nDCG@10 with linear gains, recall@10 of
documents graded ≥ 1, reciprocal rank of the first relevant document), averaged over
queries, with a 95% bootstrap interval over queries (``scipy.stats.bootstrap``).

Queries are split by the direction they cross: a query whose relevant documents
(grade ≥ 2) are mostly in another language than the query is cross-lingual. Each
direction (es→en, en→es, ...) is also measured on its own: the run and the judgments are
restricted to documents in the target language, so "does an English query find the
Spanish testimonies" is answered without the English ones helping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus import Store, Viewer

from .errors import InputError
from .language import guess_language
from .search import query_terms
from .texts import jsonl_rows

__all__ = [
    "SearchQuery",
    "dense_ranker",
    "evaluate_names",
    "evaluate_search",
    "fused_ranker",
    "keyword_ranker",
    "read_names",
    "read_queries",
    "testimony_texts",
]

Ranker = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class SearchQuery:
    qid: str
    query: str
    graded: dict[str, int]
    language: str = ""
    split: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def read_queries(path: Path, split: str = "") -> list[SearchQuery]:
    """Queries with judgments; ``split`` keeps only that split ("dev", "test")."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    queries = []
    for source, row in jsonl_rows(path, text):
        graded = row.get("graded")
        if not isinstance(row.get("query"), str) or not row["query"].strip():
            raise InputError(f"{source}: a query needs a non-empty 'query'")
        if not isinstance(graded, dict) or not all(
            isinstance(g, int) and not isinstance(g, bool) and 0 <= g <= 3 for g in graded.values()
        ):
            raise InputError(f"{source}: 'graded' must map ids to grades 0..3")
        query = row["query"].strip()
        queries.append(
            SearchQuery(
                qid=str(row.get("qid") or source),
                query=query,
                graded={str(k): int(v) for k, v in graded.items()},
                language=str(row.get("language") or guess_language(query)[0] or ""),
                split=str(row.get("split") or ""),
            )
        )
    if split:
        queries = [q for q in queries if q.split == split]
    if not queries:
        raise InputError(
            f"{path.name} holds no queries" + (f" in split {split!r}" if split else "")
        )
    return queries


def _target_language(query: SearchQuery, doc_language: Mapping[str, str]) -> str:
    relevant = [doc_language.get(d, "") for d, g in query.graded.items() if g >= 2]
    if not relevant:
        relevant = [doc_language.get(d, "") for d, g in query.graded.items() if g >= 1]
    counts = Counter(x for x in relevant if x)
    return counts.most_common(1)[0][0] if counts else query.language


def _per_query(
    queries: Sequence[SearchQuery], runs: Mapping[str, Sequence[str]], k: int
) -> dict[str, dict[str, float]]:
    """qid -> {"ndcg", "recall", "mrr"} for the queries with at least one relevant doc."""
    import ir_measures
    from ir_measures import RR, R, nDCG

    measures = {"ndcg": nDCG @ k, "recall": R @ k, "mrr": RR}
    qrels = [
        ir_measures.Qrel(q.qid, doc, grade)
        for q in queries
        for doc, grade in q.graded.items()
        if grade > 0
    ]
    run = []
    for q in queries:
        ranked = list(dict.fromkeys(runs[q.qid]))
        run += [
            ir_measures.ScoredDoc(q.qid, doc, float(len(ranked) - rank))
            for rank, doc in enumerate(ranked)
        ]
    out: dict[str, dict[str, float]] = {
        q.qid: dict.fromkeys(measures, 0.0)
        for q in queries
        if any(g > 0 for g in q.graded.values())
    }
    by_measure = {m: name for name, m in measures.items()}
    for metric in ir_measures.iter_calc(list(measures.values()), qrels, run):
        if metric.query_id in out:
            out[metric.query_id][by_measure[metric.measure]] = float(metric.value)
    return out


def _summary(per_query: Mapping[str, Mapping[str, float]], seed: int) -> dict[str, Any]:
    if not per_query:
        return {"queries": 0}
    from scipy.stats import bootstrap

    out: dict[str, Any] = {"queries": len(per_query)}
    for name in ("ndcg", "recall", "mrr"):
        values = np.array([m[name] for m in per_query.values()])
        out[name] = round(float(values.mean()), 4)
        if len(values) > 2 and values.std() > 0:
            ci = bootstrap(
                (values,), np.mean, n_resamples=1000, random_state=seed, method="percentile"
            ).confidence_interval
            out[f"{name}_ci95"] = [round(float(ci.low), 4), round(float(ci.high), 4)]
    return out


def evaluate_search(
    systems: Mapping[str, Ranker],
    queries: Sequence[SearchQuery],
    doc_language: Mapping[str, str],
    k: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """nDCG@k, recall@k and MRR of each system, overall, same- vs cross-lingual, and per
    direction (query language → target language)."""
    targets = {q.qid: _target_language(q, doc_language) for q in queries}
    report: dict[str, Any] = {
        "queries": len(queries),
        "k": k,
        "cross_lingual": sum(q.language != targets[q.qid] for q in queries),
        "systems": {},
    }
    directions = sorted({(q.language, targets[q.qid]) for q in queries})
    for name, ranker in systems.items():
        runs = {q.qid: list(ranker(q.query)) for q in queries}
        scores = _per_query(queries, runs, k)
        cross = {q.qid for q in queries if q.language != targets[q.qid]}
        result: dict[str, Any] = {
            "all": _summary(scores, seed),
            "same_language": _summary({i: s for i, s in scores.items() if i not in cross}, seed),
            "cross_lingual": _summary({i: s for i, s in scores.items() if i in cross}, seed),
            "directions": {},
            "per_query": {i: {m: round(v, 4) for m, v in s.items()} for i, s in scores.items()},
        }
        for source, target in directions:
            if not source or not target or source == target:
                continue
            subset = [q for q in queries if q.language == source]
            restricted = [
                SearchQuery(
                    q.qid,
                    q.query,
                    {d: g for d, g in q.graded.items() if doc_language.get(d) == target},
                    q.language,
                )
                for q in subset
            ]
            restricted_runs = {
                q.qid: [d for d in runs[q.qid] if doc_language.get(d) == target] for q in subset
            }
            result["directions"][f"{source}->{target}"] = _summary(
                _per_query(restricted, restricted_runs, k), seed
            )
        report["systems"][name] = result
    return report


def keyword_ranker(store: Store, viewer: Viewer) -> Callable[[str], list[str]]:
    """The keyword baseline ``voces eval search`` prints beside Voces: BM25 over
    accent-folded words (PostgreSQL: ts_rank_cd), each testimony ranked by its best
    passage."""

    def rank(query: str) -> list[str]:
        scored = store.keyword_passages(query_terms(query), viewer, limit=1000)
        where = store.neighbours([pid for pid, _ in scored], viewer)
        owner = {pid: tid for pid, (tid, _, _) in where.items()}
        return list(dict.fromkeys(owner[pid] for pid, _ in scored if pid in owner))

    return rank


def testimony_texts(store: Store, viewer: Viewer) -> dict[str, str]:
    """Each testimony's whole text as ``viewer`` reads it (its passages in order): what
    the plain baselines embed, one vector per testimony."""
    out: dict[str, list[str]] = {}
    testimonies, _ = store.list_testimonies(viewer, limit=10**9)
    for t in testimonies:
        out[t.id] = [p.text for p in store.passages(t.id, viewer)]
    return {tid: " ".join(parts) for tid, parts in out.items()}


def dense_ranker(
    embedder: Any, texts: Mapping[str, str], cache: Path | None = None, depth: int = 1000
) -> Ranker:
    """A plain baseline: the cosine of the query with each testimony's whole text, one
    vector each (as a user of the model alone would search). Vectors are cached in
    ``cache`` (a ``.npy`` per model and collection), since embedding a large collection
    with a slow model takes long and the baseline does not change."""
    import hashlib

    ids = sorted(texts)
    key = hashlib.sha256(
        "\n".join([embedder.name, *(f"{i}\t{texts[i]}" for i in ids)]).encode("utf-8")
    ).hexdigest()[:20]
    path = cache / f"{key}.npy" if cache is not None else None
    if path is not None and path.is_file():
        matrix = np.load(path)
    else:
        matrix = embedder.embed([texts[i] for i in ids], kind="passage")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, matrix)

    def rank(query: str) -> list[str]:
        scores = matrix @ embedder.embed([query], kind="query")[0]
        top = np.argsort(-scores, kind="stable")[:depth]
        return [ids[i] for i in top]

    return rank


def fused_ranker(rankers: Sequence[Ranker], k: int = 60, depth: int = 1000) -> Ranker:
    """Reciprocal-rank fusion (Cormack et al. 2009, k=60) of several rankings."""

    def rank(query: str) -> list[str]:
        scores: dict[str, float] = {}
        for ranker in rankers:
            for position, doc in enumerate(ranker(query)):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + position + 1)
        return sorted(scores, key=lambda d: -scores[d])[:depth]

    return rank


def read_names(path: Path) -> list[tuple[str, str]]:
    """(word, the id of the one testimony that holds it) from a names set
    (bench/names_set.py)."""
    import json

    try:
        doc = json.loads(path.read_text("utf-8"))
        names = [(str(n["word"]), str(n["id"])) for n in doc["names"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a names set (bench/names_set.py): {exc}") from exc
    return names


def evaluate_names(
    systems: Mapping[str, Ranker], names: Sequence[tuple[str, str]], k: int = 10, seed: int = 0
) -> dict[str, Any]:
    """hit@k of each system on a names set: the share of names whose one testimony is among
    the first ``k`` results of searching the name alone, with a 95% bootstrap interval."""
    out: dict[str, Any] = {"names": len(names), "k": k, "systems": {}}
    for name, ranker in systems.items():
        hits = np.array([tid in list(ranker(word))[:k] for word, tid in names], dtype=float)
        result: dict[str, Any] = {"hit": round(float(hits.mean()), 4) if len(hits) else 0.0}
        if len(hits) > 2 and hits.std() > 0:
            from scipy.stats import bootstrap

            ci = bootstrap(
                (hits,), np.mean, n_resamples=1000, random_state=seed, method="percentile"
            ).confidence_interval
            result["hit_ci95"] = [round(float(ci.low), 4), round(float(ci.high), 4)]
        result["missed"] = [word for (word, tid), hit in zip(names, hits, strict=True) if not hit]
        out["systems"][name] = result
    return out
