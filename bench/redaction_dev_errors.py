"""The redaction errors on the dev half of the held-out set, and on the dev half only.

    .venv/bin/python bench/redaction_dev_errors.py [--fixture PATH] [--patterns] [--kind KIND]

Why: tests/data/redaction_heldout.jsonl is split into a dev half, whose lines and errors
may be studied to improve pipeline/redact.py, and a test half that is measured once and
never read (tests/data/redaction_heldout.md). This script reads only lines whose
``split`` is "dev" and has no way to show any other: it stops if the file has no dev
lines. For each dev line with an error it prints the line, then ``FN`` for each gold span
no predicted span of its kind overlaps, and ``FP`` for each predicted span that overlaps
no gold span of its kind (the span-level measure of bench/redaction.py), with the kinds.

The redactor is the shipped one (``models.ner.load_ner`` as it resolves here), or with
``--patterns`` the one without NER.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.ner import load_ner  # noqa: E402
from pipeline.redact import KINDS, Redactor  # noqa: E402

HELDOUT = ROOT / "tests" / "data" / "redaction_heldout.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", type=Path, default=HELDOUT)
    parser.add_argument("--patterns", action="store_true", help="no NER")
    parser.add_argument("--kind", choices=KINDS, help="only errors of this kind")
    args = parser.parse_args()
    lines = args.fixture.read_text("utf-8").splitlines()
    dev = [row for row in map(json.loads, filter(str.strip, lines)) if row.get("split") == "dev"]
    if not dev:
        sys.exit(f"Error: {args.fixture} has no dev lines (run bench/heldout_split.py)")
    redactor = Redactor(None if args.patterns else load_ner)
    fn = fp = 0
    for row in dev:
        text = row["text"]
        gold = [(s["start"], s["end"], s["kind"]) for s in row["spans"]]
        pred = [(s.start, s.end, s.kind) for s in redactor.find(text, row["language"])]
        if args.kind:
            gold = [g for g in gold if g[2] == args.kind]
            pred = [p for p in pred if p[2] == args.kind]
        missed = [g for g in gold if not any(_same(g, p) for p in pred)]
        wrong = [p for p in pred if not any(_same(p, g) for g in gold)]
        if not missed and not wrong:
            continue
        fn, fp = fn + len(missed), fp + len(wrong)
        print(f"{row['id']} {row.get('field', 'text')} andean={row.get('andean')}: {text}")
        for label, spans in (("FN", missed), ("FP", wrong)):
            for s, e, kind in spans:
                print(f"    {label} {kind:<9} {text[s:e]!r}")
    print(f"{len(dev)} dev lines: {fn} false negatives, {fp} false positives")


def _same(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]


if __name__ == "__main__":
    main()
