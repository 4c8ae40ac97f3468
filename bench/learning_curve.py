"""How fast do reviews teach the tagger? Macro-F1 against the number of reviews, with the
review queue's order (``pipeline.review_queue``) against random order.

    .venv/bin/python bench/ejatlas_labels.py         # writes /tmp/voces-eval
    .venv/bin/python bench/learning_curve.py [--batch 25] [--max 400] [--seeds 3] [--json F]

Reviewers are simulated from labels. The pool of passages to review is the EJAtlas fresh
set (``ejatlas_passages_fresh.jsonl``, 400 passages hand-labelled by the theme guide);
the tagger is scored on the held-out half (``ejatlas_passages_test.jsonl``, 319 passages
of other cases), which no review ever touches. (The development half is part of what the
shipped classifier is trained on, so it is not in the pool.)

One review is one verdict on one (passage, theme), as ``voces review accept|reject``
records it: the label of that theme for that passage (a pair whose label is unknown is
never offered). A reviewed passage leaves the pool, as in ``Store.review_pool``.

Start (0 reviews): the shipped tagger. After every ``--batch`` reviews the classifier is
refitted the way ``voces retrain`` does (``fit_theme_model`` on what the shipped model
learnt from, the demo labels, the development half and the taxonomy's examples, plus the
reviews so far; features only, its default; ``--embedding`` as ``voces retrain
--embedding``), and:

- *queue*: the next batch is what ``pick_for_review`` ranks first on the remaining pool,
  scored by the tagger with the refitted classifier (the product's queue, pool = all;
  ``--no-spread``: by priority alone, not taking the themes in turns);
- *random*: the next batch is drawn at random from the remaining pairs (``--seeds`` runs,
  mean and range shown).

Printed per checkpoint: macro-F1 over the core four themes and over all eight at the
tagger's threshold (0.5), and the reviews' positive share (how many of the offered
verdicts were "yes": uncertainty sampling finds the rare positives random review misses).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import services  # noqa: E402
from api.settings import get_settings  # noqa: E402
from pipeline.evaluate import CORE_THEMES, LabelledItem, read_labelled  # noqa: E402
from pipeline.review_queue import pick_for_review  # noqa: E402
from pipeline.tagger import ThemeTagger  # noqa: E402
from pipeline.theme_model import ThemeModel, bundled_model, fit_theme_model  # noqa: E402
from pipeline.training import TrainingSet  # noqa: E402

EVAL = Path("/tmp/voces-eval")


def labels_of(items: list[LabelledItem], themes: list[str]) -> np.ndarray:
    """(n, themes): 1 present, 0 absent, -1 unknown."""
    return np.array(
        [[-1 if t in it.unknown else int(t in it.themes) for t in themes] for it in items]
    )


def macro_f1(final: np.ndarray, labels: np.ndarray, themes: list[str]) -> dict[str, float]:
    from sklearn.metrics import f1_score

    per = {}
    for j, theme in enumerate(themes):
        known = labels[:, j] >= 0
        y = labels[known, j]
        if y.sum() == 0:
            continue
        per[theme] = f1_score(y, final[known, j] >= 0.5, zero_division=0.0)
    core = [per[t] for t in CORE_THEMES if t in per]
    return {"core": float(np.mean(core)), "all": float(np.mean(list(per.values())))}


class Simulation:
    def __init__(
        self,
        tagger: ThemeTagger,
        pool: list[LabelledItem],
        test: list[LabelledItem],
        embedding: bool = False,
    ):
        self.tagger = tagger
        self.embedding = embedding
        self.themes = tagger.taxonomy.ids
        embedder = tagger._embedder
        assert embedder is not None
        self.embedder_name = embedder.name
        self.pool, self.test = pool, test
        self.pool_labels = labels_of(pool, self.themes)
        self.test_labels = labels_of(test, self.themes)
        self.pool_vectors = embedder.embed([i.text for i in pool], kind="passage")
        self.test_vectors = embedder.embed([i.text for i in test], kind="passage")
        self.pool_feats, _, _ = tagger.features(
            [i.text for i in pool], [i.language or "es" for i in pool], self.pool_vectors
        )
        base = TrainingSet()  # what the shipped model is trained on (docs/themes.md)
        base.add_items(read_labelled(ROOT / "demo/labels.jsonl", self.themes), self.themes)
        base.add_items(read_labelled(EVAL / "ejatlas_passages_dev.jsonl", self.themes), self.themes)
        base.add_taxonomy_examples(tagger)
        self.base_vectors = embedder.embed(base.texts, kind="passage")
        self.base_feats, _, _ = tagger.features(
            base.texts, [lang or "es" for lang in base.languages], self.base_vectors
        )
        self.base_labels = base.matrix(self.themes)

    def fit(self, reviews: dict[tuple[int, int], int]) -> ThemeModel:
        rows = sorted({i for i, _ in reviews})
        labels = np.full((len(rows), len(self.themes)), -1)
        for (i, j), verdict in reviews.items():
            labels[rows.index(i), j] = verdict
        return fit_theme_model(
            np.concatenate([self.base_feats, self.pool_feats[rows]]),
            np.concatenate([self.base_vectors, self.pool_vectors[rows]]),
            np.concatenate([self.base_labels, labels]),
            self.themes,
            self.embedder_name,
            self.tagger.taxonomy.version,
            embedding=self.embedding,
        )

    def scores(self, model: ThemeModel | None, items: list[LabelledItem], vectors: np.ndarray):
        self.tagger.model = model
        return self.tagger.score(
            [i.text for i in items], [i.language or "es" for i in items], vectors
        )

    def evaluate(self, model: ThemeModel | None) -> dict[str, float]:
        final = self.scores(model, self.test, self.test_vectors).final
        return macro_f1(final, self.test_labels, self.themes)

    def run(
        self, order: str, batch: int, most: int, seed: int, spread: bool = True
    ) -> list[dict[str, float]]:
        rng = random.Random(seed)
        reviews: dict[tuple[int, int], int] = {}
        model: ThemeModel | None = bundled_model()
        curve = [{"reviews": 0, **self.evaluate(model), "positive_share": 0.0}]
        checkpoints = {batch * 2**k for k in range(12)}
        while len(reviews) < most:
            reviewed = {i for i, _ in reviews}
            left = [n for n in range(len(self.pool)) if n not in reviewed]
            if not left:
                break
            if order == "queue":
                scores = self.scores(model, [self.pool[n] for n in left], self.pool_vectors[left])
                per_theme = {t: 0 for t in self.themes}
                for _, j in reviews:
                    per_theme[self.themes[j]] += 1
                picks = pick_for_review(scores, per_theme, len(left), spread=spread)
                pairs = [(left[p.row], self.themes.index(p.theme)) for p in picks]
            else:
                pairs = [(n, j) for n in left for j in range(len(self.themes))]
                rng.shuffle(pairs)
            taken = 0
            for i, j in pairs:
                if taken == batch or len(reviews) == most:
                    break
                if i in {a for a, _ in reviews} or self.pool_labels[i, j] < 0:
                    continue
                reviews[(i, j)] = int(self.pool_labels[i, j])
                taken += 1
            if taken == 0:
                break
            model = self.fit(reviews)
            if len(reviews) in checkpoints or len(reviews) == most:
                share = sum(reviews.values()) / len(reviews)
                curve.append(
                    {"reviews": len(reviews), **self.evaluate(model), "positive_share": share}
                )
        return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--max", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--embedding", action="store_true", help="refit as `voces retrain --embedding` does"
    )
    parser.add_argument(
        "--no-spread", action="store_true", help="queue by priority alone, themes not in turns"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    t0 = time.perf_counter()
    settings = get_settings()
    embedder = services.load_embedder(settings.embedder, settings.threads)
    tagger = services.build_tagger(settings, embedder, use_model=False)
    themes = tagger.taxonomy.ids
    pool = read_labelled(EVAL / "ejatlas_passages_fresh.jsonl", themes)
    test = read_labelled(EVAL / "ejatlas_passages_test.jsonl", themes)
    sim = Simulation(tagger, pool, test, args.embedding)
    print(f"pool {len(pool)} passages, test {len(test)} (other cases); tagger {tagger.version}")
    result = {"queue": sim.run("queue", args.batch, args.max, 0, spread=not args.no_spread)}
    result["random"] = [sim.run("random", args.batch, args.max, s) for s in range(args.seeds)]

    print(
        f"\n{'reviews':>7}  {'queue core':>10} {'all':>6} {'yes':>5}   "
        "random core (min-max)   all   yes"
    )
    for n, row in enumerate(result["queue"]):
        runs = [r[n] for r in result["random"] if n < len(r)]
        core = [r["core"] for r in runs]
        every = [r["all"] for r in runs]
        yes = np.mean([r["positive_share"] for r in runs])
        print(
            f"{row['reviews']:>7}  {row['core']:>10.3f} {row['all']:>6.3f} "
            f"{row['positive_share']:>5.0%}   {np.mean(core):.3f} ({min(core):.3f}-{max(core):.3f})"
            f"   {np.mean(every):.3f} {yes:>5.0%}"
        )
    print(f"\n{time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
