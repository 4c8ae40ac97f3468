"""Building labelled training sets and (re)training the theme classifier.

Labels come from three places, all optional:
- labelled JSONL files (``{"id", "text", "themes", "unknown"?}``): themes listed are
  present, themes in ``unknown`` undecided, every other theme absent;
- archivists' reviews: accept/add = present, reject = absent, other themes undecided;
- the taxonomy's own examples: a positive example is present for its theme, a negative
  example absent for its theme, neutral examples absent for every theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus import Review

from .evaluate import LabelledItem
from .tagger import ThemeTagger
from .theme_model import ThemeModel, fit_theme_model

__all__ = ["TrainingSet", "train_theme_model"]


@dataclass
class TrainingSet:
    texts: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    rows: list[dict[str, int]] = field(default_factory=list)  # theme -> 1 / 0 (absent: unknown)
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, text: str, language: str, labels: dict[str, int], source: str) -> None:
        self.texts.append(text)
        self.languages.append(language)
        self.rows.append(labels)
        self.sources[source] = self.sources.get(source, 0) + 1

    def add_items(self, items: Sequence[LabelledItem], themes: Sequence[str]) -> None:
        for item in items:
            labels = {t: int(t in item.themes) for t in themes if t not in item.unknown}
            self.add(item.text, item.language, labels, "labelled file")

    def add_reviews(self, reviews: Sequence[Review], texts: dict[int, tuple[str, str]]) -> None:
        """``texts``: passage id -> (text, language)."""
        by_passage: dict[int, dict[str, int]] = {}
        for r in reviews:
            by_passage.setdefault(r.passage_id, {})[r.theme] = int(r.verdict != "reject")
        for passage_id, labels in by_passage.items():
            text, language = texts[passage_id]
            self.add(text, language, labels, "reviews")

    def add_taxonomy_examples(self, tagger: ThemeTagger) -> None:
        themes = tagger.taxonomy.ids
        for theme in tagger.taxonomy.themes.values():
            for language, examples in theme.examples.items():
                for text in examples:
                    self.add(text, language, {theme.id: 1}, "taxonomy examples")
            for language, examples in theme.negative_examples.items():
                for text in examples:
                    self.add(text, language, {theme.id: 0}, "taxonomy examples")
        for text in tagger.taxonomy.neutral_examples:
            self.add(text, "", {t: 0 for t in themes}, "taxonomy examples")

    def matrix(self, themes: Sequence[str]) -> np.ndarray:
        return np.array([[row.get(t, -1) for t in themes] for row in self.rows]).reshape(
            len(self.rows), len(themes)
        )


def train_theme_model(tagger: ThemeTagger, data: TrainingSet, embedding: bool = True) -> ThemeModel:
    """Fit a theme model on ``data`` with the tagger's embedder, rules and prototypes
    (``embedding``: see ``fit_theme_model``)."""
    embedder = tagger._embedder
    if embedder is None:
        raise ValueError("training the theme classifier needs an embedder")
    languages = [lang or "es" for lang in data.languages]
    vectors = embedder.embed(data.texts, kind="passage")
    feats, _, _ = tagger.features(data.texts, languages, vectors)
    themes = tagger.taxonomy.ids
    model = fit_theme_model(
        feats,
        vectors,
        data.matrix(themes),
        themes,
        embedder.name,
        tagger.taxonomy.version,
        embedding=embedding,
    )
    return model
