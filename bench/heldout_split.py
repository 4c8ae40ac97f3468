"""Give every line of tests/data/redaction_heldout.jsonl its ``split``: "dev" or "test".

    .venv/bin/python bench/heldout_split.py [--check]

Why: the held-out set was written blind to the redaction rules. To improve the rules
without spoiling it, half of it (dev) may be read and its errors studied; the other half
(test) is measured once, at the end of a round of work, and never read.

The rule (tests/data/redaction_heldout.md says it too): lines are put in strata by
(language, field, andean, has personal data); strata are taken in sorted order, the lines
of each ordered by the SHA-256 of their id (UTF-8, hex), and the lines so ordered are dealt
alternately dev, test, dev, test ... with one count running across strata. So the split
depends on the ids and labels alone, every stratum is halved to within one line, and the
halves differ in size by at most one. Run it after bench/make_redaction_heldout.py, which
writes the file without splits; ``--check`` only verifies that the file's splits follow
the rule. Prints counts only, never a line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "data" / "redaction_heldout.jsonl"


def stratum(row: dict[str, Any]) -> tuple[str, str, bool, bool]:
    return (row["language"], row.get("field", "text"), bool(row.get("andean")), bool(row["spans"]))


def splits(rows: list[dict[str, Any]]) -> dict[str, str]:
    """id -> "dev" or "test" by the rule in the module docstring."""
    strata: dict[tuple[str, str, bool, bool], list[str]] = {}
    for row in rows:
        strata.setdefault(stratum(row), []).append(row["id"])
    out: dict[str, str] = {}
    n = 0
    for key in sorted(strata):
        for line_id in sorted(strata[key], key=lambda i: hashlib.sha256(i.encode()).hexdigest()):
            out[line_id] = ("dev", "test")[n % 2]
            n += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", type=Path, default=HELDOUT)
    parser.add_argument("--check", action="store_true", help="verify, do not write")
    args = parser.parse_args()
    lines = args.fixture.read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    rule = splits(rows)
    if args.check:
        wrong = sum(row.get("split") != rule[row["id"]] for row in rows)
        print(f"{len(rows)} lines; {wrong} without the split the rule gives")
        sys.exit(1 if wrong else 0)
    for row in rows:
        row["split"] = rule[row["id"]]
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    args.fixture.write_text(text, encoding="utf-8")
    counts = Counter((r["split"], r["language"], r.get("field", "text")) for r in rows)
    for key, count in sorted(counts.items()):
        print(" ".join(key), count)
    for split in ("dev", "test"):
        half = [r for r in rows if r["split"] == split]
        print(
            f"{split}: {len(half)} lines, {sum(bool(r.get('andean')) for r in half)} andean, "
            f"{sum(not r['spans'] for r in half)} negatives, "
            f"{sum(s['kind'] == 'name' for r in half for s in r['spans'])} name spans, "
            f"{sum(s['kind'] != 'name' for r in half for s in r['spans'])} other spans"
        )


if __name__ == "__main__":
    main()
