"""Agreement between two annotators' theme labels of the same EJAtlas passages.

    .venv/bin/python bench/label_agreement.py [FIRST.jsonl] [SECOND.jsonl]

Defaults: docs/eval/ejatlas_passage_labels.jsonl against
docs/eval/ejatlas_passage_labels_second.jsonl. Prints, per theme, Cohen's kappa and
how many passages each annotator tagged, on the passages both labelled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THEMES = json.loads((ROOT / "pipeline/data/taxonomy.json").read_text())["themes"]


def read(path: Path) -> dict[tuple[str, int], set[str]]:
    rows = map(json.loads, path.read_text().splitlines())
    return {(r["case_id"], r["seq"]): set(r["themes"]) for r in rows}


def kappa(a: list[bool], b: list[bool]) -> float | None:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def main() -> None:
    args = [Path(p) for p in sys.argv[1:3]]
    first = read(args[0] if args else ROOT / "docs/eval/ejatlas_passage_labels.jsonl")
    second = read(
        args[1] if len(args) > 1 else ROOT / "docs/eval/ejatlas_passage_labels_second.jsonl"
    )
    both = sorted(set(first) & set(second))
    print(f"{len(both)} passages labelled by both")
    print(f"{'theme':<14}{'kappa':>7}{'first':>7}{'second':>8}")
    for theme in THEMES:
        a = [theme in first[k] for k in both]
        b = [theme in second[k] for k in both]
        k = kappa(a, b)
        print(f"{theme:<14}{'  -  ' if k is None else f'{k:7.2f}'}{sum(a):>7}{sum(b):>8}")
    exact = sum(first[k] == second[k] for k in both)
    print(f"identical theme sets: {exact}/{len(both)}")


if __name__ == "__main__":
    main()
