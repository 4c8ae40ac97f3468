"""Theme tagging, first version: lemma rules + embedding similarity to theme examples.

Rules: each taxonomy pattern is matched on lower-cased, accent-folded tokens and lemmas
(a trailing ``*`` matches any ending; a lone ``*`` matches up to two tokens). A match
with a negation cue shortly before it ("no hubo contaminación", "there was no spill")
is ignored. Evidence is the matched words.

Similarity: each theme has a prototype (mean embedding of its Spanish and English
examples). Its threshold is calibrated per embedder on the taxonomy itself: halfway
between the theme's own examples (leave-one-out) and the closest examples of other
themes and of neutral, mine-unrelated text. Scores are 0.5 at the threshold.

The tagger takes passage vectors already computed for indexing, so embeddings are
computed once per passage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corpus import ThemeTag
from corpus.text import fold, fold_word

from .taxonomy import Taxonomy
from .theme_model import ThemeModel

__all__ = ["DocumentTheme", "TaggerOptions", "ThemeScores", "ThemeTagger"]

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
#: ``fold`` of token texts and lemmas, remembered: a corpus repeats its words, and
#: unicodedata normalisation per token was a tenth of a typed ingest's time
_fold = fold_word
_CANDIDATE_CACHE = 1 << 17
_GAP = 2  # tokens a lone "*" may skip


@dataclass(frozen=True)
class TaggerOptions:
    rule_score: float = 0.75  # score of a theme with one strong rule match; more raise it
    weak_score: float = 0.3  # score of weak cues alone: evidence, but no tag by themselves
    min_score: float = 0.5  # tags below this are dropped
    use_similarity: bool = True


@dataclass(frozen=True)
class ThemeScores:
    """Per-text, per-theme scores; ``final`` >= min_score means the theme is tagged."""

    themes: list[str]
    final: np.ndarray
    rule: np.ndarray
    similarity: np.ndarray | None
    classifier: np.ndarray | None  # NaN where a theme has no classifier
    evidence: list[dict[str, list[str]]]
    vectors: np.ndarray | None
    features: np.ndarray | None = None  # (n, themes, k), what the classifier read


@dataclass(frozen=True)
class DocumentTheme:
    """A theme of a whole document: its best passage's tag and the passages that hold it."""

    tag: ThemeTag  # the strongest passage's tag (score, source, evidence)
    passages: tuple[tuple[int, str, float], ...]  # (passage number, text, score), best first


@dataclass(frozen=True)
class _Token:
    text: str  # original form
    forms: tuple[str, ...]  # folded surface form and folded lemma
    clause: int = 0  # negation does not reach across clauses


# words that open a new clause: a negation before them does not reach past them
_CLAUSE_OPENERS = frozenset({"pero", "sino", "aunque", "mientras", "but", "although", "while"})


def _term_matches(term: str, token: _Token) -> bool:
    if term.endswith("*"):
        stem = term[:-1]
        return any(f.startswith(stem) for f in token.forms)
    return term in token.forms


def _match_at(terms: Sequence[str], tokens: Sequence[_Token], i: int) -> int | None:
    """Index one past the match of ``terms`` starting at token ``i``, or None."""
    if not terms:
        return i
    head, rest = terms[0], terms[1:]
    if head == "*":
        for skip in range(_GAP + 1):
            end = _match_at(rest, tokens, i + skip)
            if end is not None:
                return end
        return None
    if i < len(tokens) and _term_matches(head, tokens[i]):
        return _match_at(rest, tokens, i + 1)
    return None


class ThemeTagger:
    """Tags passages with taxonomy themes, saying which words or examples justify each."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        nlp_for: Callable[[str], Any],
        embedder: Any | None = None,
        options: TaggerOptions = TaggerOptions(),
        model: ThemeModel | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.options = options
        self.model = self._usable(model, embedder, taxonomy)
        self._nlp_for = nlp_for
        self._embedder = embedder if options.use_similarity else None
        # (theme, language, weak, terms): "~" marks a weak cue
        self._patterns = [
            (theme.id, lang, pattern.startswith("~"), tuple(fold(pattern.lstrip("~")).split()))
            for theme in taxonomy.themes.values()
            for lang, patterns in theme.patterns.items()
            for pattern in patterns
        ]
        # Index patterns by their first term, so each token only tries the patterns that
        # can start there (exact words by dict lookup, stems by each prefix of the token).
        self._by_word: dict[str, list[int]] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._anywhere: list[int] = []
        for n, (_, _, _, terms) in enumerate(self._patterns):
            head = terms[0] if terms else "*"
            if head == "*":
                self._anywhere.append(n)
            elif head.endswith("*"):
                self._by_stem.setdefault(head[:-1], []).append(n)
            else:
                self._by_word.setdefault(head, []).append(n)
        # (folded form, folded lemma) -> pattern numbers that may start there
        self._candidate_cache: dict[tuple[str, ...], list[int]] = {}
        self._negators = frozenset().union(*taxonomy.negation_cues.values())
        self._negatable = {t.id: t.negatable for t in taxonomy.themes.values()}
        self._prototypes: np.ndarray | None = None
        self._descriptions: np.ndarray | None = None
        self._negatives: np.ndarray | None = None
        self._thresholds: np.ndarray | None = None
        self._scales: np.ndarray | None = None
        self._examples: list[tuple[str, str]] = []  # (theme id, example text)
        self._example_vectors: np.ndarray | None = None

    @staticmethod
    def _usable(model: ThemeModel | None, embedder: Any, taxonomy: Taxonomy) -> ThemeModel | None:
        if model is None:
            return None
        if embedder is None or model.embedder != embedder.name:
            logger.warning(
                "theme model %s was trained with embedder %s, not %s: not used "
                "(run `voces retrain`)",
                model.version,
                model.embedder,
                getattr(embedder, "name", None),
            )
            return None
        # a taxonomy grown by promoted themes ("4+tourism") keeps its base's model
        grown = taxonomy.version.startswith(model.taxonomy_version + "+")
        if model.taxonomy_version != taxonomy.version and not grown:
            logger.warning(
                "theme model %s was trained on taxonomy %s, not %s: not used (run `voces retrain`)",
                model.version,
                model.taxonomy_version,
                taxonomy.version,
            )
            return None
        return model

    @property
    def version(self) -> str:
        if self.model is not None:
            return f"taxonomy-{self.taxonomy.version}+model-{self.model.version}"
        return f"taxonomy-{self.taxonomy.version}"

    # -- rules ----------------------------------------------------------------------------

    def _docs(self, texts: Sequence[str], languages: Sequence[str]) -> list[Any]:
        """spaCy docs of ``texts``, each language's batch through ``nlp.pipe`` (batched
        tok2vec: several times faster than one call per text)."""
        docs: list[Any] = [None] * len(texts)
        by_language: dict[str, list[int]] = {}
        for n, lang in enumerate(languages):
            by_language.setdefault(lang if lang in ("es", "en") else "es", []).append(n)
        for lang, rows in by_language.items():
            nlp = self._nlp_for(lang)
            for row, doc in zip(
                rows, nlp.pipe([texts[r] for r in rows], batch_size=64), strict=True
            ):
                docs[row] = doc
        return docs

    def _tokens(self, text: str, language: str, doc: Any = None) -> list[list[_Token]]:
        """Tokens per sentence, each with its folded surface form and lemma."""
        if doc is None:
            doc = self._nlp_for(language if language in ("es", "en") else "es")(text)
        sentences: list[list[_Token]] = [[]]
        clause = 0
        for tok in doc:
            if tok.is_space:
                continue
            if tok.is_punct and tok.text in ".!?;":
                sentences.append([])
                continue
            if tok.is_punct:
                clause += 1
                continue
            folded = _fold(tok.text)
            if folded in _CLAUSE_OPENERS:
                clause += 1
            lemma = tok.lemma_ or tok.text
            sentences[-1].append(_Token(tok.text, (folded, _fold(lemma)), clause))
        return [s for s in sentences if s]

    def _candidates(self, token: _Token) -> list[int]:
        cached = self._candidate_cache.get(token.forms)
        if cached is not None:
            return cached
        if len(self._candidate_cache) >= _CANDIDATE_CACHE:
            self._candidate_cache.clear()
        found = set(self._anywhere)
        for form in token.forms:
            found.update(self._by_word.get(form, ()))
            for cut in range(1, len(form) + 1):
                found.update(self._by_stem.get(form[:cut], ()))
        self._candidate_cache[token.forms] = out = sorted(found)
        return out

    def _negated(self, sentence: Sequence[_Token], start: int, end: int) -> bool:
        """A negation cue shortly before the match in the same clause, or inside it
        ("los manantiales no se secaron")."""
        clause = sentence[start].clause
        before = sentence[max(0, start - self.taxonomy.negation_window) : start]
        return any(t.forms[0] in self._negators and t.clause == clause for t in before) or any(
            t.forms[0] in self._negators for t in sentence[start + 1 : end]
        )

    def _matches(
        self, text: str, language: str, doc: Any = None
    ) -> dict[str, list[tuple[str, bool]]]:
        """Theme id → [(span, weak)]. Patterns of every language apply: testimonies mix
        languages, and declared languages are sometimes wrong."""
        return self._match_sentences(self._tokens(text, language, doc))

    def _match_sentences(
        self, sentences: Sequence[Sequence[_Token]]
    ) -> dict[str, list[tuple[str, bool]]]:
        found: dict[str, list[tuple[str, bool]]] = {}
        for sentence in sentences:
            for i, token in enumerate(sentence):
                for n in self._candidates(token):
                    terms = self._patterns[n][3]
                    end = _match_at(terms, sentence, i)
                    if end is not None and end > i:
                        self._keep_match(found, sentence, n, i, end)
        return found

    def _keep_match(
        self,
        found: dict[str, list[tuple[str, bool]]],
        sentence: Sequence[_Token],
        pattern: int,
        start: int,
        end: int,
    ) -> None:
        """Record ``sentence[start:end]``, matched by pattern number ``pattern``, as its
        theme's evidence unless a negation cue reaches it or the span is already there."""
        theme_id, _lang, weak, _terms = self._patterns[pattern]
        if self._negatable[theme_id] and self._negated(sentence, start, end):
            return
        span = " ".join(t.text for t in sentence[start:end])
        spans = found.setdefault(theme_id, [])
        if all(span != s for s, _ in spans):
            spans.append((span, weak))

    # -- similarity -----------------------------------------------------------------------

    def _calibrate(self) -> None:
        assert self._embedder is not None
        ids = self.taxonomy.ids
        examples = [
            (theme.id, text)
            for theme in self.taxonomy.themes.values()
            for texts in theme.examples.values()
            for text in texts
        ]
        neutral = [("", text) for text in self.taxonomy.neutral_examples]
        vectors = self._embedder.embed([t for _, t in examples + neutral], kind="passage")
        owner = np.array([tid for tid, _ in examples + neutral])
        protos, thresholds, scales = [], [], []
        for tid in ids:
            mine = np.flatnonzero(owner == tid)
            others = np.flatnonzero(owner != tid)
            if len(mine) == 0:  # a theme with no examples cannot be matched by similarity
                protos.append(np.zeros(vectors.shape[1], dtype=np.float32))
                thresholds.append(np.inf)
                scales.append(1.0)
                continue
            total = vectors[mine].sum(axis=0)
            proto = total / max(np.linalg.norm(total), 1e-12)
            if len(mine) > 1:
                loo = [
                    (total - vectors[j]) / max(np.linalg.norm(total - vectors[j]), 1e-12)
                    for j in mine
                ]
                pos = float(np.mean([vectors[j] @ p for j, p in zip(mine, loo, strict=True)]))
            else:
                pos = float(vectors[mine[0]] @ proto)
            neg_scores = np.sort(vectors[others] @ proto)[::-1]
            neg = float(np.mean(neg_scores[:3]))
            threshold = (pos + neg) / 2
            protos.append(proto.astype(np.float32))
            thresholds.append(threshold)
            scales.append(max(pos - threshold, 1e-3))
        self._descriptions = self._mean_rows(
            [list(t.description.values()) for t in self.taxonomy.themes.values()], "query"
        )
        self._negatives = self._mean_rows(
            [
                [x for xs in t.negative_examples.values() for x in xs]
                for t in self.taxonomy.themes.values()
            ],
            "passage",
        )
        self._prototypes = np.vstack(protos)
        self._thresholds = np.asarray(thresholds, dtype=np.float32)
        self._scales = np.asarray(scales, dtype=np.float32)
        self._examples = examples
        self._example_vectors = vectors[: len(examples)]

    def _mean_rows(self, groups: list[list[str]], kind: str) -> np.ndarray:
        """Unit mean embedding of each group of texts (zeros for an empty group)."""
        assert self._embedder is not None
        out = np.zeros((len(groups), self._embedder.dim), dtype=np.float32)
        for row, texts in enumerate(groups):
            if texts:
                v = self._embedder.embed(texts, kind=kind).mean(axis=0)
                out[row] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

    def prototypes(self) -> dict[str, np.ndarray]:
        """Each theme's prototype (the unit mean of its examples' embeddings)."""
        if self._embedder is None:
            return {}
        if self._prototypes is None:
            self._calibrate()
        assert self._prototypes is not None
        out = {}
        for theme_id, row in zip(self.taxonomy.ids, self._prototypes, strict=True):
            norm = float(np.linalg.norm(row))
            if norm > 0:
                out[theme_id] = row / norm
        return out

    def similarity_scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n_passages, n_themes) scores in [0, 1]; 0.5 is each theme's threshold."""
        if self._prototypes is None:
            self._calibrate()
        assert self._prototypes is not None and self._thresholds is not None
        assert self._scales is not None
        cos = np.asarray(vectors, dtype=np.float32) @ self._prototypes.T
        scores = 0.5 + 0.5 * (cos - self._thresholds) / self._scales
        return np.clip(np.nan_to_num(scores, neginf=0.0), 0.0, 1.0)

    def _nearest_example(self, vector: np.ndarray, theme_id: str) -> str:
        assert self._example_vectors is not None
        best, best_cos = "", -2.0
        for (tid, text), v in zip(self._examples, self._example_vectors, strict=True):
            if tid == theme_id and float(v @ vector) > best_cos:
                best, best_cos = text, float(v @ vector)
        return best

    # -- together -------------------------------------------------------------------------

    def _languages(self, texts: Sequence[str], language: str | Sequence[str]) -> list[str]:
        return [language] * len(texts) if isinstance(language, str) else list(language)

    def _rules(
        self, texts: Sequence[str], language: str | Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, list[str]]]]:
        """Strong and weak rule hits (n, themes), rule scores, and evidence spans."""
        languages = self._languages(texts, language)
        ids = self.taxonomy.ids
        strong = np.zeros((len(texts), len(ids)), dtype=np.float32)
        weak = np.zeros_like(strong)
        evidence: list[dict[str, list[str]]] = []
        docs = self._docs(texts, languages)
        for row, (text, lang) in enumerate(zip(texts, languages, strict=True)):
            found = self._matches(text, lang, docs[row])
            for col, theme_id in enumerate(ids):
                spans = found.get(theme_id, [])
                strong[row, col] = sum(not w for _, w in spans)
                weak[row, col] = sum(w for _, w in spans)
            evidence.append(
                {
                    t: [s for s, _ in sorted(spans, key=lambda sw: sw[1])]
                    for t, spans in found.items()
                }
            )
        base = self.options.rule_score
        rule = np.where(strong > 0, np.minimum(1.0, base + 0.1 * (strong - 1)), 0.0)
        rule = np.where((strong == 0) & (weak > 0), self.options.weak_score, rule)
        return strong, weak, rule.astype(np.float32), evidence

    def features(
        self, texts: Sequence[str], language: str | Sequence[str], vectors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[dict[str, list[str]]]]:
        """Per text and theme, the features a theme classifier reads (n, themes, 6):
        strong rule hit, weak rule hit, strong hits (capped at 3, scaled), cosine to the
        theme's example prototype, to its description, and to its negative examples.
        Also returns the rule scores and the rule evidence."""
        strong, weak, rule, evidence = self._rules(texts, language)
        if self._prototypes is None:
            self._calibrate()
        assert self._prototypes is not None
        assert self._descriptions is not None and self._negatives is not None
        v = np.asarray(vectors, dtype=np.float32)
        feats = np.stack(
            [
                (strong > 0).astype(np.float32),
                (weak > 0).astype(np.float32),
                np.minimum(strong, 3) / 3,
                v @ self._prototypes.T,
                v @ self._descriptions.T,
                v @ self._negatives.T,
            ],
            axis=2,
        )
        return feats, rule, evidence

    def score(
        self, texts: Sequence[str], language: str | Sequence[str], vectors: np.ndarray | None = None
    ) -> ThemeScores:
        """Scores of every theme for every text, with the parts they were made of."""
        ids = self.taxonomy.ids
        if self._embedder is None:
            _, _, rule, evidence = self._rules(texts, language)
            final = self._roll_up(rule.copy(), evidence)
            return ThemeScores(ids, final, rule, None, None, evidence, None)
        if vectors is None:
            vectors = self._embedder.embed(list(texts), kind="passage")
        feats, rule, evidence = self.features(texts, language, vectors)
        sims = self.similarity_scores(vectors)
        final = np.maximum(rule, sims)
        classifier = None
        model = self.model
        if model is not None and len(texts):
            classifier = np.full_like(final, np.nan)
            for col, theme_id in enumerate(ids):
                if model.has(theme_id):
                    classifier[:, col] = model.scores(theme_id, feats[:, col, :], vectors)
                    final[:, col] = classifier[:, col]
        final = self._roll_up(final, evidence)
        return ThemeScores(ids, final, rule, sims, classifier, evidence, np.asarray(vectors), feats)

    def _roll_up(self, final: np.ndarray, evidence: list[dict[str, list[str]]]) -> np.ndarray:
        """A sub-theme's score and evidence count for its parent theme too."""
        ids = self.taxonomy.ids
        for theme in self.taxonomy.themes.values():
            if theme.parent:
                child, parent = ids.index(theme.id), ids.index(theme.parent)
                final[:, parent] = np.maximum(final[:, parent], final[:, child])
                for found in evidence:
                    for span in found.get(theme.id, []):
                        if span not in found.setdefault(theme.parent, []):
                            found[theme.parent].append(span)
        return final

    def tag(
        self, texts: Sequence[str], language: str | Sequence[str], vectors: np.ndarray | None = None
    ) -> list[list[ThemeTag]]:
        """Tags for each text, strongest first. ``vectors`` are the texts' embeddings."""
        return self.tags_from(self.score(texts, language, vectors))

    def tags_from(self, scores: ThemeScores) -> list[list[ThemeTag]]:
        out: list[list[ThemeTag]] = []
        for row in range(scores.final.shape[0]):
            tags = []
            for col, theme_id in enumerate(scores.themes):
                score = float(scores.final[row, col])
                if score < self.options.min_score:
                    continue
                parts = [
                    ("rule", scores.rule),
                    ("similarity", scores.similarity),
                    ("classifier", scores.classifier),
                ]
                sources = [
                    name
                    for name, matrix in parts
                    if matrix is not None
                    and not np.isnan(matrix[row, col])
                    and matrix[row, col] >= 0.5
                ] or ["rollup"]
                evidence = scores.evidence[row].get(theme_id, [])
                if not evidence and scores.vectors is not None:
                    evidence = [
                        "similar to: " + self._nearest_example(scores.vectors[row], theme_id)
                    ]
                tags.append(
                    ThemeTag(
                        theme=theme_id,
                        score=round(score, 4),
                        source="+".join(sources),
                        evidence=tuple(evidence),
                        version=self.version,
                    )
                )
            out.append(sorted(tags, key=lambda t: -t.score))
        return out

    def tag_document(
        self, passages: Sequence[str], language: str
    ) -> tuple[list[DocumentTheme], list[list[ThemeTag]]]:
        """Themes of a document already cut into passages, and each passage's tags.

        A document holds a theme with the score of its best passage. On the 247 EJAtlas
        cases (docs/themes.md) the maximum ranked cases as well as any other pooling we
        tried (mean, mean of the top 3, noisy-OR, share or count of tagged passages)."""
        if not passages:
            return [], []
        tags = self.tag(list(passages), language)
        support: dict[str, list[tuple[float, int, ThemeTag]]] = {}
        for n, passage_tags in enumerate(tags):
            for tag in passage_tags:
                support.setdefault(tag.theme, []).append((tag.score, n, tag))
        themes = []
        for rows in support.values():
            rows.sort(key=lambda r: (-r[0], r[1]))
            themes.append(
                DocumentTheme(rows[0][2], tuple((n, passages[n], score) for score, n, _ in rows))
            )
        themes.sort(key=lambda d: (-d.tag.score, -len(d.passages)))
        return themes, tags
