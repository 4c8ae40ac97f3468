"""Write the topical relevance set's collection: short passages, each its own testimony.

    .venv/bin/python bench/topical_corpus.py --ejatlas ../shared/data/ejatlas_dev.jsonl \\
        --demo demo/testimonies.jsonl --out /tmp/topical/corpus.jsonl

Every EJAtlas case text (Spanish ones accent-repaired, as bench/search_corpus.py does) and
every demo testimony is cut into passages of 15-80 words at sentence boundaries (one to
four sentences, never across two cases; bench/lib/topical.py says how); a passage whose
text an earlier one already has is left out (its id is skipped). Each passage is one
line in the import format `voces ingest` reads:

- ``id`` ``tp-<case short id>-<n>`` (``tp-mw-006-3``, ``tp-demo-cajamarca-01-2``);
- ``text``; no title (the case's title would tell the searcher what the passage does not);
- ``language`` the case's, unless the passage's own function words clearly say the other
  (a few "Spanish" cases hold English paragraphs); such an English passage gets its text
  as scraped back (accent repair had turned "an" into "aún"), a Spanish passage of an
  English case is accent-repaired;
- ``region`` "Country: Region" and ``community`` the case's location; the demo testimonies
  are all set in Peru, so theirs is "Peru: <region>";
- ``consent`` public; ``illustrative`` true for the demo passages (written for the project).

The output is byte-for-byte deterministic (its md5 is printed) and must stay outside the
repository: the EJAtlas licence does not let us copy case text into it. The docs/eval
topical set (docs/eval/topical.md) refers to these ids.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.accents import restore_accents  # noqa: E402
from lib.collection import demo_rows, ejatlas_rows  # noqa: E402
from lib.topical import MAX_WORDS, MIN_WORDS, passage_language, passages_of_rows, short_id  # noqa: E402

log = logging.getLogger("topical_corpus")

#: every demo testimony is set in Peru (demo/README and docs/eval/search_queries.md)
DEMO_COUNTRY = "Peru"


def scrape_form(text: str) -> str:
    """An English passage of a Spanish case, as the scrape had it: accent repair only ever
    adds non-ASCII letters to words the scrape stripped them from, so dropping them again
    undoes it ("and aún investment" was "and aun investment")."""
    return "".join(ch for ch in text if ch.isascii())


def build(ejatlas: Path, demo: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    rows: list[dict[str, object]] = [dict(r) for r in ejatlas_rows(ejatlas)]
    for r in demo_rows(demo):
        rows.append(
            {
                **r,
                "region": f"{DEMO_COUNTRY}: {r['region']}" if r["region"] else DEMO_COUNTRY,
                "illustrative": True,
            }
        )
    cut, stats = passages_of_rows(rows)
    out: list[dict[str, object]] = []
    relabelled = duplicates = 0
    seen: set[str] = set()
    for row, n, text in cut:
        declared = str(row["language"])
        language = passage_language(text, declared)
        if language != declared:
            relabelled += 1
            if str(row["id"]).startswith("ejatlas-"):
                text = scrape_form(text) if language == "en" else restore_accents(text)
        if text in seen:
            # a paragraph several cases share (the PPT tribunal's findings): Voces keeps one
            # testimony per text, and two copies would split one answer's grade
            duplicates += 1
            continue
        seen.add(text)
        entry: dict[str, object] = {
            "id": f"tp-{short_id(str(row['id']))}-{n}",
            "text": text,
            "language": language,
            "region": row["region"],
            "community": row["community"],
            "consent": "public",
        }
        if row.get("illustrative"):
            entry["illustrative"] = True
        out.append(entry)
    info = {
        "cases": len(rows),
        "cases_without_passage": len(rows) - len({id(r) for r, _, _ in cut}),
        "sentences": stats.sentences,
        "long_sentences_cut": stats.split_long,
        "dropped_words": stats.dropped_words,
        "keyword_lines_dropped": stats.keyword_lines,
        "relabelled_language": relabelled,
        "duplicate_passages_dropped": duplicates,
    }
    return out, info


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    if args.out.resolve().is_relative_to(ROOT):
        raise SystemExit("write the collection outside the repository (EJAtlas licence)")
    passages, info = build(args.ejatlas, args.demo)
    ids = [p["id"] for p in passages]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate passage ids in the collection")
    data = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in passages).encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)

    lengths = np.array([len(str(p["text"]).split()) for p in passages])
    assert lengths.min() >= MIN_WORDS and lengths.max() <= MAX_WORDS
    langs = Counter(str(p["language"]) for p in passages)
    demo = sum(1 for p in passages if p.get("illustrative"))
    print(f"{args.out}: {len(passages)} passages, md5 {hashlib.md5(data).hexdigest()}")
    print(
        f"  language: {langs['es']} es, {langs['en']} en; {demo} from demo testimonies, "
        f"{len(passages) - demo} from EJAtlas cases"
    )
    pct = np.percentile(lengths, [0, 10, 25, 50, 75, 90, 100])
    print(
        "  words per passage: mean {:.1f}; min {:.0f}, p10 {:.0f}, p25 {:.0f}, median {:.0f}, "
        "p75 {:.0f}, p90 {:.0f}, max {:.0f}".format(lengths.mean(), *pct)
    )
    bins = [15, 20, 30, 40, 50, 60, 70, 81]
    hist, _ = np.histogram(lengths, bins=bins)
    print(
        "  histogram: "
        + ", ".join(f"{lo}-{hi - 1}: {c}" for lo, hi, c in zip(bins, bins[1:], hist, strict=False))
    )
    print("  " + ", ".join(f"{k} {v}" for k, v in info.items()))


if __name__ == "__main__":
    main()
