"""The model stages of ingest, run over several testimonies at once: embeddings, theme
tags and redactions. A stage is a function of its inputs and the models it is given; it
loads nothing, writes nothing and holds no lock (storing is :mod:`pipeline.ingest`'s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from corpus import Passage, Testimony

from .errors import InputError
from .tagger import ThemeTagger

__all__ = ["OPENING_CHARS", "Prepared", "Redact", "opening", "prepare"]


class Redact(Protocol):
    """Masks what identifies a person (pipeline.redact.TextRedactor)."""

    def __call__(self, text: str, language: str) -> str: ...

    def many(self, texts: Sequence[str], language: str) -> list[str]: ...


@dataclass(frozen=True)
class Prepared:
    """A testimony with everything the models computed, ready to be written."""

    testimony: Testimony
    passages: list[Passage]
    vectors: np.ndarray
    redacted: list[str]
    title_redacted: str
    #: the testimony's opening (:func:`opening`) as one vector (None: not computed)
    text_vector: np.ndarray | None = None


#: how much of a testimony's text its text vector reads: a short testimony whole, a long
#: one's opening (topical relevance set, dev: adding this vector's cosine at weight 0.3 took
#: grouped search's nDCG@10 from 0.511 to 0.518, and case-finding from 0.712 to 0.728)
OPENING_CHARS = 2000


def opening(passages: Sequence[Passage] | Sequence[str]) -> str:
    """The first :data:`OPENING_CHARS` characters of a testimony's text."""
    texts = [p if isinstance(p, str) else p.text for p in passages]
    return " ".join(texts)[:OPENING_CHARS]


def prepare(
    stories: Sequence[tuple[Testimony, list[Passage]]],
    embedder: Any,
    tagger: ThemeTagger,
    redact: Redact | None,
) -> list[Prepared]:
    """Run the models over several testimonies at once: embeddings, theme tags and
    redactions (no lock held)."""
    for testimony, passages in stories:
        if not passages:
            raise InputError(
                f"{testimony.source_name}: no speech or text found, nothing to archive"
            )
    if not stories:
        return []
    texts = [p.text for _, passages in stories for p in passages]
    languages = [t.language or "es" for t, passages in stories for _ in passages]
    titles = [(t.title, t.language or "es") for t, _ in stories]
    # one embedding call: every passage, then the opening of each testimony that has
    # more than one passage (a single passage's opening is the passage itself)
    openings = [(n, opening(p)) for n, (_, p) in enumerate(stories) if len(p) > 1]
    embedded = embedder.embed([*texts, *(text for _, text in openings)], kind="passage")
    vectors = embedded[: len(texts)]
    opened = dict(zip((n for n, _ in openings), embedded[len(texts) :], strict=True))
    tags = tagger.tag(texts, languages, vectors)
    # titles go through NER in the same batches as the passages. (Running redaction
    # in a thread beside embedding and tagging was slower: 66 against 76 passages/s.)
    redacted, titles_redacted = (
        _redact_all(redact, texts, languages, titles)
        if redact is not None
        else (list(texts), [""] * len(titles))
    )
    out: list[Prepared] = []
    at = 0
    for testimony, passages in stories:
        n = len(passages)
        tagged = [
            replace(p, tags=tuple(t)) for p, t in zip(passages, tags[at : at + n], strict=True)
        ]
        out.append(
            Prepared(
                testimony,
                tagged,
                vectors[at : at + n],
                redacted=redacted[at : at + n] if redact else [],
                title_redacted=titles_redacted[len(out)],
                text_vector=opened.get(len(out), vectors[at] if n == 1 else None),
            )
        )
        at += n
    return out


def _redact_all(
    redact: Redact,
    texts: Sequence[str],
    languages: Sequence[str],
    titles: Sequence[tuple[str, str]],
) -> tuple[list[str], list[str]]:
    """Redacted copies of passages and titles, each language in one batch."""
    redacted = list(texts)
    titled = [title for title, _ in titles]
    items = [(t, lang, "p", n) for n, (t, lang) in enumerate(zip(texts, languages, strict=True))]
    items += [(t, lang, "t", n) for n, (t, lang) in enumerate(titles)]
    by_language: dict[str, list[tuple[str, str, int]]] = {}
    for text, lang, kind, n in items:
        by_language.setdefault(lang, []).append((text, kind, n))
    for lang, rows in by_language.items():
        masked = redact.many([text for text, _, _ in rows], lang)
        for (_, kind, n), text in zip(rows, masked, strict=True):
            if kind == "p":
                redacted[n] = text
            else:
                titled[n] = text
    return redacted, titled
