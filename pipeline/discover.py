"""Emergent themes: clusters of passages the taxonomy does not cover.

The passages no theme tags (every theme's score below the threshold) are clustered by
meaning with HDBSCAN (scikit-learn's, over the stored unit embeddings, where Euclidean
distance ranks pairs as cosine does), the approach of BERTopic without its extra
dependencies: HDBSCAN finds clusters of any number and shape and leaves the passages that
belong nowhere as noise instead of forcing them into a cluster. Each cluster is
described by class-based TF-IDF (BERTopic's c-TF-IDF: a term's frequency in the cluster
times ``log(1 + mean words per cluster / the term's frequency over all clusters)``),
per language, over accent-folded words without spaCy's Spanish and English stop words,
so its keywords are the words that set it apart from the other clusters.

An archivist can promote a cluster to a theme (``promote_theme``): a new taxonomy
version whose new theme takes the cluster's most central passages as its examples, so
the similarity part of the tagger picks it up; ``voces retag`` applies it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corpus.text import fold

from .errors import InputError
from .taxonomy import Taxonomy

__all__ = ["EmergentTheme", "cluster_passages", "keywords_by_cluster", "promote_theme"]

MIN_CLUSTER_SIZE = 5
#: dimensions the embeddings are reduced to (PCA) before HDBSCAN, as BERTopic reduces
#: them (with UMAP) first: on 4,700 real passages HDBSCAN took 24.5 s in 512 dimensions
#: (115 s on 10,000) and 0.4 s in 10
REDUCED_DIMS = 10
#: below this many passages HDBSCAN runs on the embeddings themselves (fast enough, and
#: PCA fitted on a few dozen passages keeps too little of them)
REDUCE_ABOVE = 1000


@dataclass(frozen=True)
class EmergentTheme:
    """A cluster of untagged passages: what it is about, how big, where, and examples."""

    number: int  # 1 = the largest
    size: int
    keywords: dict[str, tuple[str, ...]]  # language -> words that set it apart
    regions: dict[str, int]  # region -> passages
    passage_ids: tuple[int, ...]  # members, most central first
    nearest_theme: str  # the existing theme whose examples are closest to its centre
    nearest_similarity: float


def cluster_passages(
    vectors: np.ndarray, min_size: int = MIN_CLUSTER_SIZE, seed: int = 0
) -> list[np.ndarray]:
    """Row indices of each cluster (largest first), each ordered most central first."""
    from sklearn.cluster import HDBSCAN

    if len(vectors) < max(2, min_size):
        return []
    points = np.asarray(vectors, dtype=np.float64)
    small = len(points) <= REDUCE_ABOVE
    if not small and points.shape[1] > REDUCED_DIMS:
        from sklearn.decomposition import PCA

        points = PCA(n_components=REDUCED_DIMS, random_state=seed).fit_transform(points)
    labels = HDBSCAN(
        min_cluster_size=min_size,
        min_samples=min(min_size, 5),
        # a few dozen untagged passages that all hang together are news; among thousands
        # one cluster of everything is not (on 4,700 real passages it held 1,468)
        allow_single_cluster=small,
        copy=True,
    ).fit_predict(points)
    clusters = []
    for label in set(labels) - {-1}:
        rows = np.flatnonzero(labels == label)
        centre = vectors[rows].mean(axis=0)
        order = np.argsort(-(vectors[rows] @ centre), kind="stable")
        clusters.append(rows[order])
    return sorted(clusters, key=lambda rows: (-len(rows), int(rows.min())))


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.es.stop_words import STOP_WORDS as ES

    return frozenset(fold(w) for w in (*ES, *EN))


def keywords_by_cluster(
    texts: Sequence[str], languages: Sequence[str], clusters: Sequence[np.ndarray], top: int = 8
) -> list[dict[str, tuple[str, ...]]]:
    """c-TF-IDF keywords of each cluster, per language of its passages."""
    from sklearn.feature_extraction.text import CountVectorizer

    out: list[dict[str, tuple[str, ...]]] = [{} for _ in clusters]
    langs = sorted({lang for rows in clusters for lang in (languages[r] for r in rows)})
    stop = _stop_words()
    for lang in langs:
        docs = [" ".join(fold(texts[r]) for r in rows if languages[r] == lang) for rows in clusters]
        if not any(docs):
            continue
        vectorizer = CountVectorizer(
            token_pattern=r"(?u)\b[^\W\d_]{3,}\b", stop_words=sorted(stop), lowercase=True
        )
        try:
            counts = vectorizer.fit_transform(docs).toarray().astype(np.float64)
        except ValueError:  # nothing but stop words
            continue
        words = vectorizer.get_feature_names_out()
        tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        mean_words = counts.sum() / max(1, sum(1 for d in docs if d))
        idf = np.log(1.0 + mean_words / np.maximum(counts.sum(axis=0), 1.0))
        weights = tf * idf
        for n, doc in enumerate(docs):
            if doc:
                best = np.argsort(-weights[n], kind="stable")[:top]
                out[n][lang] = tuple(str(words[i]) for i in best if weights[n, i] > 0)
    return out


def describe(
    clusters: Sequence[np.ndarray],
    ids: Sequence[int],
    texts: Sequence[str],
    languages: Sequence[str],
    regions: Sequence[str],
    vectors: np.ndarray,
    prototypes: dict[str, np.ndarray],
) -> list[EmergentTheme]:
    """The clusters as :class:`EmergentTheme` records."""
    keywords = keywords_by_cluster(texts, languages, clusters)
    out = []
    for n, rows in enumerate(clusters):
        centre = vectors[rows].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
        near = max(prototypes, key=lambda t: float(prototypes[t] @ centre), default="")
        out.append(
            EmergentTheme(
                number=n + 1,
                size=len(rows),
                keywords=keywords[n],
                regions=dict(Counter(regions[r] or "(none)" for r in rows).most_common()),
                passage_ids=tuple(int(ids[r]) for r in rows),
                nearest_theme=near,
                nearest_similarity=round(float(prototypes[near] @ centre), 4) if near else 0.0,
            )
        )
    return out


def promote_theme(
    taxonomy: Taxonomy,
    data: dict[str, Any],
    theme_id: str,
    labels: dict[str, str],
    examples: dict[str, list[str]],
    keywords: dict[str, tuple[str, ...]],
    parent: str = "",
) -> dict[str, Any]:
    """``data`` (the JSON of ``taxonomy``) with ``theme_id`` added: its examples the
    cluster's central passages, its description its keywords, no rules. The version becomes
    ``<base>+<theme_id>``, so a theme model trained on the base version still applies to
    the themes it knows."""
    if not theme_id.isidentifier() or theme_id != theme_id.lower():
        raise InputError(f"a theme id is lower-case letters, digits and _, not {theme_id!r}")
    if theme_id in taxonomy.themes:
        raise InputError(f"the taxonomy already has a theme {theme_id!r}")
    if parent:
        taxonomy.check_theme(parent)
    if not any(examples.values()):
        raise InputError("a promoted theme needs example passages")
    data = {**data, "themes": dict(data["themes"])}
    theme: dict[str, Any] = {
        "label": {lang: text for lang, text in labels.items() if text} or {"en": theme_id},
        "description": {lang: ", ".join(words) for lang, words in keywords.items() if words},
        "definition": {"counts": "Promoted from an emergent cluster; see its examples."},
        "patterns": {},
        "examples": {lang: texts for lang, texts in examples.items() if texts},
    }
    if parent:
        theme["parent"] = parent
    data["themes"][theme_id] = theme
    data["version"] = f"{taxonomy.version}+{theme_id}"
    return data
