"""Build labelled JSONL files for `voces eval themes` from the EJAtlas development data.

    .venv/bin/python bench/ejatlas_labels.py [--data ../shared/data/ejatlas_dev.jsonl] [--out DIR]

Writes, into DIR (default /tmp/voces-eval; never into the repository, whose licence
does not cover the text):

- ``ejatlas_cases.jsonl``: one line per case, its whole text, themes from the case's
  impact and outcome labels through docs/eval/ejatlas_mapping.json. Consultation is
  unknown everywhere; a theme whose impacts the case lists only as potential, or any
  impact theme of a case that ticks no observed impact, is unknown too (its rules are in
  the mapping file; ``--strict-negatives`` counts them as absent).
- ``ejatlas_passages_dev.jsonl`` / ``ejatlas_passages_test.jsonl``: the passages we
  labelled by hand (docs/eval/ejatlas_passage_labels.jsonl holds only case id, passage
  number, a hash of the text and the themes), re-cut from the data and checked against the
  hash, split by case into a development half and a held-out half. Labelled in rounds:
  216, then 400 more drawn at random from the other passages (a second annotator's
  labels of 150 of them are in ejatlas_passage_labels_second.jsonl).
- ``ejatlas_passages_fresh.jsonl``: round 3, 400 more passages drawn at random after
  taxonomy 4 was written, scored once to check the figures of the held-out half.

The scrape behind the development file dropped every accented letter; Spanish text is
repaired with bench/lib/accents.py ("contaminacin" -> "contaminación") unless ``--raw``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.accents import restore_accents  # noqa: E402

from pipeline.passages import split_text  # noqa: E402


def split_of(case_id: str) -> str:
    """Stable half of a case: 'dev' or 'test'."""
    return "dev" if int(hashlib.sha1(case_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl")
    parser.add_argument("--out", type=Path, default=Path("/tmp/voces-eval"))
    parser.add_argument("--raw", action="store_true", help="keep the text as scraped")
    parser.add_argument(
        "--strict-negatives",
        action="store_true",
        help="count a theme as absent from a case even when EJAtlas lists it as a potential "
        "impact or the case lists no observed impact at all",
    )
    args = parser.parse_args()

    def clean(text: str, language: str) -> str:
        return text if args.raw or language != "es" else restore_accents(text)

    args.out.mkdir(parents=True, exist_ok=True)
    mapping = json.loads((ROOT / "docs/eval/ejatlas_mapping.json").read_text())
    cases = {c["id"]: c for c in map(json.loads, args.data.read_text().splitlines())}

    kept = 0
    with (args.out / "ejatlas_cases.jsonl").open("w") as out:
        for case in cases.values():
            impacts, outcomes = set(case.get("impacts") or []), set(case.get("outcomes") or [])
            if not impacts and not outcomes:
                continue
            potential = set(case.get("impacts_potential") or [])
            themes, unknown = [], set(mapping["not_evaluated"])
            for theme, spec in mapping["themes"].items():
                if impacts & set(spec["impacts"]) or outcomes & set(spec["outcomes"]):
                    themes.append(theme)
                elif args.strict_negatives:
                    continue
                elif potential & set(spec["impacts"]) or (spec["impacts"] and not impacts):
                    unknown.add(theme)  # feared, or impacts never filled in: not a "no"
            row = {
                "id": case["id"],
                "language": case["lang"],
                "text": clean(case["text"], case["lang"]),
                "themes": sorted(themes),
                "unknown": sorted(unknown),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            kept += 1
    print(f"ejatlas_cases.jsonl: {kept} of {len(cases)} cases (others have no labels)")

    labels = map(
        json.loads, (ROOT / "docs/eval/ejatlas_passage_labels.jsonl").read_text().splitlines()
    )
    names = ("dev", "test", "fresh")
    files = {name: (args.out / f"ejatlas_passages_{name}.jsonl").open("w") for name in names}
    counts = dict.fromkeys(names, 0)
    for label in labels:
        case = cases[label["case_id"]]
        text = split_text(case["text"])[label["seq"]]
        if hashlib.sha1(text.encode()).hexdigest()[:12] != label["text_sha1"]:
            raise SystemExit(f"passage {label['case_id']}:{label['seq']} changed; relabel it")
        name = "fresh" if label.get("round", 1) >= 3 else split_of(label["case_id"])
        row = {
            "id": f"{label['case_id']}:{label['seq']}",
            "language": case["lang"],
            "text": clean(text, case["lang"]),
            "themes": label["themes"],
            "group": label["case_id"],  # cross-validation keeps a case's passages together
        }
        files[name].write(json.dumps(row, ensure_ascii=False) + "\n")
        counts[name] += 1
    for f in files.values():
        f.close()
    print(", ".join(f"{counts[n]} in ejatlas_passages_{n}.jsonl" for n in names))


if __name__ == "__main__":
    main()
