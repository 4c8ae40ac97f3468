"""Write the search-evaluation collection: EJAtlas cases plus the demo testimonies.

    .venv/bin/python bench/search_corpus.py \\
        --ejatlas ../shared/data/ejatlas_dev.jsonl --out /tmp/search_corpus.jsonl

One testimony per line, in the archive's import format (``id``, ``title``, ``text``,
``region``, ``community``, ``date``, ``language``, ``consent``). The queries and graded
judgments in docs/eval/search_queries.jsonl refer to these ids (see
docs/eval/search_queries.md). The output must stay outside the repository: the EJAtlas
licence does not let us copy case text into it.

- EJAtlas cases: id ``ejatlas-<case id>`` (the ids in the data file already carry the
  ``ejatlas-`` prefix and are kept as they are), title and text with accents repaired by
  bench/lib/accents.py when the case is Spanish (the scrape dropped every non-ASCII letter),
  region ``"Country: Region"``, community = the case's location, language = ``lang``.
- Demo testimonies (demo/testimonies.jsonl): their own ids, title, text, region,
  community and language; date blank like the cases.

Cases come in file order, then the demo testimonies; the output is byte-for-byte
deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.collection import real_rows  # noqa: E402

FIELDS = ("id", "title", "text", "region", "community", "date", "language", "consent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    if args.out.resolve().is_relative_to(ROOT):
        raise SystemExit("write the collection outside the repository (EJAtlas licence)")
    rows = real_rows(args.ejatlas, args.demo)
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate ids in the collection")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({k: row[k] for k in FIELDS}, ensure_ascii=False) + "\n")
    n_es = sum(r["language"] == "es" for r in rows)
    print(f"{args.out}: {len(rows)} testimonies ({n_es} es, {len(rows) - n_es} en)")


if __name__ == "__main__":
    main()
