"""Measuring theme tagging against labelled text.

Input: JSON lines ``{"id", "text", "themes": [...], "language"?, "unknown"?, "group"?}``.
A text longer than a passage (a whole case) is cut into passages; its score for a theme
is the highest score of its passages, just as a testimony's themes come from its
passages.

Reported per theme: precision, recall and F1 at the tagger's decision (score >= 0.5),
ROC-AUC of the scores, support; macro averages over the four core themes and over all
themes with support. Two baselines are computed in the same run:

- ``all``: tag every theme (recall 1, precision = prevalence, AUC 0.5);
- ``description``: cosine similarity between the text and each theme's Spanish and
  English description, thresholded at the value that maximises F1 *on the evaluated
  data itself* — an optimistic baseline, so beating it means something.

Macro-F1 comes with a 95% interval from a bootstrap over items (1,000 resamples, fixed
thresholds): with a few dozen positives per theme, one passage moves F1 a lot.

With ``folds`` > 1 the theme classifier is trained by k-fold cross-validation on the
labelled items themselves and every item is scored by a model that never saw it; items
with the same optional ``"group"`` (passages of one case) stay in one fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .language import guess_language
from .passages import split_text
from .tagger import ThemeTagger
from .texts import jsonl_rows
from .theme_model import best_threshold, fit_theme_model

__all__ = [
    "CORE_THEMES",
    "LabelledItem",
    "bootstrap_macro_f1",
    "cv_folds",
    "evaluate_themes",
    "item_features",
    "label_matrix",
    "read_labelled",
    "roc_auc",
]

CORE_THEMES = ("land_loss", "pollution", "displacement", "poverty")


@dataclass(frozen=True)
class LabelledItem:
    id: str
    text: str
    themes: frozenset[str]
    language: str
    unknown: frozenset[str] = frozenset()  # themes this item's labels say nothing about
    group: str = ""  # items of one group (e.g. passages of one case) share a CV fold


def read_labelled(path: Path, known: Sequence[str]) -> list[LabelledItem]:
    """Read and check a labelled JSONL file; every problem names its line."""
    try:
        content = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read labels {path}: {exc}") from exc
    items: list[LabelledItem] = []
    seen: set[str] = set()
    for where, row in jsonl_rows(path, content):
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: 'text' must be a non-empty string")
        themes = row.get("themes")
        if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
            raise InputError(f"{where}: 'themes' must be a list of theme ids")
        not_labelled = row.get("unknown", [])
        if not isinstance(not_labelled, list):
            raise InputError(f"{where}: 'unknown' must be a list of theme ids")
        strange = sorted((set(themes) | set(not_labelled)) - set(known))
        if strange:
            raise InputError(f"{where}: unknown theme(s) {', '.join(strange)}")
        item_id = str(row.get("id", where.rsplit(":", 1)[1]))
        if item_id in seen:
            raise InputError(f"{where}: id {item_id!r} appears twice")
        seen.add(item_id)
        language = str(row.get("language") or row.get("lang") or guess_language(text)[0] or "es")
        group = row.get("group", "")
        if not isinstance(group, str):
            raise InputError(f"{where}: 'group' must be a string")
        items.append(
            LabelledItem(item_id, text, frozenset(themes), language, frozenset(not_labelled), group)
        )
    if not items:
        raise InputError(f"{path.name} holds no labelled items")
    return items


def label_matrix(items: Sequence[LabelledItem], themes: Sequence[str]) -> np.ndarray:
    """1 labelled, 0 not, -1 unknown (the item says nothing about that theme)."""
    return np.array(
        [[-1 if t in item.unknown else int(t in item.themes) for t in themes] for item in items]
    ).reshape(len(items), len(themes))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (scikit-learn; ties count half); None when one class is
    missing."""
    from sklearn.metrics import roc_auc_score

    known = (labels == 0) | (labels == 1)
    y = labels[known]
    if y.min(initial=1) == y.max(initial=0) or not len(y):
        return None
    return float(roc_auc_score(y, scores[known]))


def _theme_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, Any]:
    known = labels >= 0
    scores, labels = scores[known], labels[known]
    predicted = scores >= threshold
    tp = int((predicted & (labels == 1)).sum())
    fp = int((predicted & (labels == 0)).sum())
    fn = int((~predicted & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = roc_auc(scores, labels)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "roc_auc": None if auc is None else round(auc, 4),
        "support": int(labels.sum()),
        "evaluated": int(known.sum()),
        # the confusion counts, from which prevalence estimates correct for the tagger
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": int(known.sum()) - tp - fp - fn,
    }


def _report(
    scores: np.ndarray, labels: np.ndarray, themes: list[str], thresholds: Sequence[float]
) -> dict[str, Any]:
    per_theme = {
        t: _theme_metrics(scores[:, j], labels[:, j], thresholds[j]) for j, t in enumerate(themes)
    }

    def macro(names: Sequence[str]) -> dict[str, float | None]:
        rows = [per_theme[n] for n in names if n in per_theme and per_theme[n]["support"] > 0]
        out: dict[str, float | None] = {}
        for key in ("precision", "recall", "f1", "roc_auc"):
            values = [r[key] for r in rows if r[key] is not None]
            out[key] = round(float(np.mean(values)), 4) if values else None
        out["themes"] = len(rows)  # type: ignore[assignment]
        return out

    return {"themes": per_theme, "macro_core": macro(CORE_THEMES), "macro_all": macro(themes)}


def bootstrap_macro_f1(
    scores: np.ndarray,
    labels: np.ndarray,
    themes: Sequence[str],
    threshold: float,
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95% percentile intervals of macro-F1 (core and all) over items resampled with
    replacement; a theme without positives in a resample is left out of that macro."""
    n = len(scores)
    counts = np.stack(
        [
            np.bincount(np.random.default_rng([seed, b]).integers(0, n, n), minlength=n)
            for b in range(rounds)
        ]
    )  # (rounds, items): how often each item is drawn
    f1 = np.full((rounds, len(themes)), np.nan)
    for j in range(len(themes)):
        known = labels[:, j] >= 0
        pos = (labels[:, j] == 1) & known
        predicted = (scores[:, j] >= threshold) & known
        tp = counts @ (predicted & pos)
        fp = counts @ (predicted & ~pos & known)
        fn = counts @ (~predicted & pos)
        f1[:, j] = np.where(tp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
    core = [j for j, t in enumerate(themes) if t in CORE_THEMES]
    out = {}
    for key, cols in (("macro_core_f1", core), ("macro_all_f1", list(range(len(themes))))):
        block = f1[:, cols]
        present = (~np.isnan(block)).sum(axis=1)
        values = np.nansum(block, axis=1)[present > 0] / present[present > 0]
        if len(values):
            out[key] = [
                round(float(np.percentile(values, 2.5)), 4),
                round(float(np.percentile(values, 97.5)), 4),
            ]
    return out


def item_features(
    tagger: ThemeTagger, items: Sequence[LabelledItem]
) -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray]:
    """Passages of every item, and per passage: features, tagger scores, vectors."""
    passages: list[str] = []
    languages: list[str] = []
    rows: list[list[int]] = []
    for item in items:
        parts = split_text(item.text) or [item.text]
        rows.append(list(range(len(passages), len(passages) + len(parts))))
        passages.extend(parts)
        languages.extend([item.language] * len(parts))
    embedder = tagger._embedder
    if embedder is None:
        raise InputError("theme evaluation needs an embedder (VOCES_SIMILARITY_TAGS=true)")
    vectors = embedder.embed(passages, kind="passage")
    scored = tagger.score(passages, languages, vectors)
    assert scored.features is not None
    feats, scores = scored.features, scored.final
    return rows, feats, scores, vectors


def evaluate_themes(
    tagger: ThemeTagger, items: Sequence[LabelledItem], folds: int = 0, seed: int = 0
) -> dict[str, Any]:
    """Metrics of the tagger (and baselines) on labelled items; see the module docstring."""
    themes = tagger.taxonomy.ids
    labels = label_matrix(items, themes)
    rows, feats, passage_scores, vectors = item_features(tagger, items)
    tagger_scores = np.vstack([passage_scores[r].max(axis=0) for r in rows])
    report: dict[str, Any] = {
        "items": len(items),
        "passages": int(sum(len(r) for r in rows)),
        "tagger": tagger.version,
        "embedder": getattr(tagger._embedder, "name", None),
        "prevalence": {t: int((labels[:, j] == 1).sum()) for j, t in enumerate(themes)},
    }
    if folds > 1:
        tagger_scores = _cross_validated(
            tagger, items, rows, feats, vectors, passage_scores, labels, folds, seed
        )
        report["cross_validated_folds"] = folds
    report["voces"] = _report(
        tagger_scores, labels, themes, [tagger.options.min_score] * len(themes)
    )
    report["voces"]["ci95"] = bootstrap_macro_f1(
        tagger_scores, labels, themes, tagger.options.min_score, seed=seed
    )
    report["baseline_all"] = _report(
        np.ones_like(tagger_scores), labels, themes, [0.5] * len(themes)
    )
    report["baseline_description"] = _description_baseline(tagger, rows, vectors, labels)
    return report


def _description_baseline(
    tagger: ThemeTagger, rows: list[list[int]], vectors: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    assert tagger._embedder is not None
    themes = tagger.taxonomy.ids
    described = []
    for theme in tagger.taxonomy.themes.values():
        texts = list(theme.description.values()) or [theme.id]
        v = tagger._embedder.embed(texts, kind="query").mean(axis=0)
        described.append(v / max(float(np.linalg.norm(v)), 1e-12))
    cos = vectors @ np.vstack(described).T
    scores = np.vstack([cos[r].max(axis=0) for r in rows])
    thresholds = [
        best_threshold(scores[labels[:, j] >= 0, j], labels[labels[:, j] >= 0, j])[0]
        for j in range(len(themes))
    ]
    report = _report(scores, labels, themes, thresholds)
    report["note"] = "thresholds chosen for best F1 on the evaluated data (optimistic)"
    return report


def cv_folds(items: Sequence[LabelledItem], folds: int, seed: int = 0) -> list[np.ndarray]:
    """Indices of the items in each of ``folds`` test folds (scikit-learn's
    ``GroupKFold``, shuffled). Items sharing a ``group`` (passages of one case, say) fall
    in the same fold, so a model is never scored on a passage whose neighbours it was
    trained on; ungrouped items are their own group."""
    from sklearn.model_selection import GroupKFold

    keys = [item.group or f"\0{n}" for n, item in enumerate(items)]
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(items)), groups=keys)]


def _cross_validated(
    tagger: ThemeTagger,
    items: Sequence[LabelledItem],
    rows: list[list[int]],
    feats: np.ndarray,
    vectors: np.ndarray,
    passage_scores: np.ndarray,
    labels: np.ndarray,
    folds: int,
    seed: int,
) -> np.ndarray:
    """Scores of each item from a classifier trained on the other folds only."""
    themes = tagger.taxonomy.ids
    item_feats = np.stack([feats[r].max(axis=0) for r in rows])  # (items, themes, k)
    item_vectors = np.stack([vectors[r].mean(axis=0) for r in rows])
    fallback = np.vstack([passage_scores[r].max(axis=0) for r in rows])
    out = fallback.copy()
    for test in cv_folds(items, folds, seed):
        train = np.setdiff1d(np.arange(len(items)), test)
        model = fit_theme_model(
            item_feats[train],
            item_vectors[train],
            labels[train],
            themes,
            "cv",
            tagger.taxonomy.version,
            seed=seed,
        )
        for j, theme in enumerate(themes):
            if model.has(theme):
                out[test, j] = model.scores(theme, item_feats[test, j, :], item_vectors[test])
    return out
