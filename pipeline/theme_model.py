"""The trainable part of theme tagging: one logistic regression per theme.

Features of a passage: its embedding, the rule hits of every theme and the cosine
similarity to every theme's prototype. A theme with enough labelled passages (reviews
and labelled files) gets a classifier and a decision threshold chosen by cross-validated
F1; a theme without stays with rules + similarity.

Models are versioned folders under ``VOCES_HOME/theme-models`` (``v1``, ``v2``, ...)
with a ``manifest.json`` naming the active one, so a retrain can be rolled back.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, PipelineError

__all__ = [
    "MIN_PER_CLASS",
    "ThemeModel",
    "ThemeModelStore",
    "best_threshold",
    "bundled_model",
    "fit_theme_model",
    "rescale",
]

logger = logging.getLogger(__name__)

#: A theme needs at least this many positive and negative labelled passages to get a
#: classifier; below it, cross-validated thresholds are noise.
MIN_PER_CLASS = 5
#: With this many positives and negatives a theme's classifier also reads the whole
#: embedding (strongly regularised, C = EMBEDDING_C); with fewer, only the theme's six
#: features. Chosen by case-grouped cross-validation on the EJAtlas development half
#: (docs/themes.md): reading the embedding from 10 labels per class with C = 0.02 raised
#: macro-F1 there from 0.55 to 0.61 and ROC-AUC from 0.90 to 0.93.
MIN_FOR_EMBEDDING = 20
EMBEDDING_C = 0.02


def rescale(prob: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Map probabilities so each theme's threshold lands on 0.5 (monotone, in [0, 1])."""
    t = np.clip(threshold, 1e-6, 1 - 1e-6)
    low = 0.5 * prob / t
    high = 0.5 + 0.5 * (prob - t) / (1 - t)
    return np.clip(np.where(prob < t, low, high), 0.0, 1.0)


def best_threshold(
    scores: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float]:
    """The threshold on ``scores`` that maximises F1 on ``labels``, and that F1.

    Candidates are midpoints between neighbouring scores, so the threshold keeps a margin
    from the examples that chose it, and are kept within ``bounds``."""
    values = np.unique(scores)
    candidates = np.concatenate([values[:1], (values[1:] + values[:-1]) / 2])
    candidates = np.clip(candidates, *bounds)
    best_t, best_f1 = float(np.clip(0.5, *bounds)), -1.0
    positives = labels.sum()
    for t in np.unique(candidates):
        predicted = scores >= t
        tp = float((predicted & (labels == 1)).sum())
        if tp == 0:
            continue
        precision = tp / predicted.sum()
        recall = tp / positives
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t, max(best_f1, 0.0)


@dataclass
class ThemeModel:
    """A small logistic regression per theme over that theme's features (see
    ``ThemeTagger.features``), with a decision threshold chosen by cross-validated F1."""

    version: str
    embedder: str
    taxonomy_version: str
    trained_at: str = ""
    weights: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def has(self, theme: str) -> bool:
        return theme in self.weights

    def probabilities(self, theme: str, features: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """P(theme) from the theme's features (n, k) and, if it uses them, embeddings."""
        w = self.weights[theme]
        x = np.hstack([vectors, features]) if w.get("uses_embedding") else features
        z = (x - np.asarray(w["mean"])) / np.asarray(w["scale"])
        logits = z @ np.asarray(w["coef"]) + float(w["intercept"])
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50))))

    def scores(self, theme: str, features: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] with the theme's decision threshold at 0.5."""
        threshold = np.asarray(self.weights[theme]["threshold"])
        return rescale(self.probabilities(theme, features, vectors), threshold)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThemeModel:
        return cls(**data)


def fit_theme_model(
    features: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    themes: list[str],
    embedder: str,
    taxonomy_version: str,
    folds: int = 5,
    seed: int = 0,
    embedding: bool = True,
) -> ThemeModel:
    """Fit a classifier per theme where labels allow; -1 in ``labels`` means unknown.

    ``features`` is (n, themes, k), ``vectors`` (n, dim), ``labels`` (n, themes).
    ``embedding=False`` keeps every theme on its six features, which transfer across
    kinds of text (rule hits, cosines to the theme's examples) where a classifier on the
    raw embedding learns the style of its training text.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if features.shape[:2] != labels.shape or labels.shape[1] != len(themes):
        raise PipelineError("features and labels do not line up")
    model = ThemeModel(
        version="",
        embedder=embedder,
        taxonomy_version=taxonomy_version,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    for j, theme in enumerate(themes):
        known = labels[:, j] >= 0
        y = labels[known, j]
        n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
        uses_embedding = embedding and min(n_pos, n_neg) >= MIN_FOR_EMBEDDING
        x = features[known, j, :]
        if uses_embedding:
            x = np.hstack([vectors[known], x])
        if min(n_pos, n_neg) < MIN_PER_CLASS:
            model.skipped[theme] = (
                f"{n_pos} positive / {n_neg} negative labels; needs {MIN_PER_CLASS} of each"
            )
            continue
        # a feature constant in training must not blow up on new text: scale it by 1
        std = x.std(axis=0)
        mean, scale = x.mean(axis=0), np.where(std > 1e-3, std, 1.0)
        z = (x - mean) / scale
        clf = LogisticRegression(
            C=EMBEDDING_C if uses_embedding else 1.0, class_weight="balanced", max_iter=3000
        )
        k = min(folds, n_pos, n_neg)
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        held_out = cross_val_predict(clf, z, y, cv=cv, method="predict_proba")[:, 1]
        # probabilities from a class-balanced fit: keep thresholds off the extremes,
        # where a handful of training passages would decide them
        threshold, f1 = best_threshold(held_out, y, bounds=(0.2, 0.8))
        clf.fit(z, y)
        model.weights[theme] = {
            "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(),
            "coef": clf.coef_[0].round(6).tolist(),
            "intercept": round(float(clf.intercept_[0]), 6),
            "threshold": round(threshold, 6),
            "uses_embedding": uses_embedding,
            "positives": n_pos,
            "negatives": n_neg,
            "cv_f1": round(f1, 4),
        }
    return model


class ThemeModelStore:
    """Versioned theme models in a folder, one of them active."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {"active": None, "versions": []}
        try:
            data: dict[str, Any] = json.loads(self.manifest_path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            msg = f"theme model manifest {self.manifest_path} is unreadable: {exc}"
            raise PipelineError(msg) from exc
        return data

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.folder)
        with os.fdopen(fd, "w") as fh:
            json.dump(manifest, fh, indent=2)
        os.replace(tmp, self.manifest_path)

    def save(self, model: ThemeModel, note: str = "") -> str:
        """Store ``model`` as the next version and make it active; returns the version."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest()
        number = 1 + max((int(v["version"][1:]) for v in manifest["versions"]), default=0)
        model.version, model.note = f"v{number}", note
        fd, tmp = tempfile.mkstemp(prefix=".model-", dir=self.folder)
        with os.fdopen(fd, "w") as fh:
            json.dump(model.to_dict(), fh, indent=1)
        os.replace(tmp, self.folder / f"{model.version}.json")
        manifest["versions"].append(
            {
                "version": model.version,
                "trained_at": model.trained_at,
                "embedder": model.embedder,
                "taxonomy_version": model.taxonomy_version,
                "classifiers": sorted(model.weights),
                "note": note,
            }
        )
        manifest["active"] = model.version
        self._write_manifest(manifest)
        return model.version

    def load(self, version: str) -> ThemeModel:
        path = self.folder / f"{version}.json"
        try:
            return ThemeModel.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            msg = f"theme model {path} is unreadable: {exc}"
            raise PipelineError(msg) from exc

    def active(self) -> ThemeModel | None:
        version = self.manifest().get("active")
        return self.load(version) if version else None

    def activate(self, version: str | None) -> str | None:
        """Make ``version`` active ("previous" = the one before the active; None = none)."""
        manifest = self.manifest()
        versions = [v["version"] for v in manifest["versions"]]
        if version == "previous":
            current = manifest.get("active")
            if current not in versions or versions.index(current) == 0:
                raise InputError("there is no earlier theme model to roll back to")
            version = versions[versions.index(current) - 1]
        if version is not None and version not in versions:
            raise InputError(f"no theme model {version!r}; known: {', '.join(versions) or 'none'}")
        manifest["active"] = version
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_manifest(manifest)
        return version


def bundled_model() -> ThemeModel | None:
    """The theme model shipped with Voces (trained on its own labelled demo passages and
    taxonomy examples, for the default embedder), if present."""
    from importlib import resources

    path = resources.files("pipeline") / "data" / "theme_model.json"
    if not path.is_file():
        return None
    return ThemeModel.from_dict(json.loads(path.read_text("utf-8")))
