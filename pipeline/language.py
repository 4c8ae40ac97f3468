"""A small, dependency-free language guess for typed testimonies (Spanish or English).

Whisper detects the language of speech; typed text needs its own guess. Counting the
most frequent function words of each language is reliable on a sentence or more and
costs nothing. Anything else is better declared by the archivist (``--language``).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["TYPED_ONLY", "guess_language", "known_languages"]

#: Andean languages Whisper cannot transcribe: a testimony in one is typed (a transcription).
TYPED_ONLY = {"qu": "Quechua", "ay": "Aymara"}


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    """The language codes a testimony may be declared in: those Whisper transcribes (and
    language detection may choose, VOCES_LANGUAGES), and :data:`TYPED_ONLY`. faster-whisper
    keeps its list in ``tokenizer._LANGUAGE_CODES`` (as ``voces ingest --language`` reads it)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES) | frozenset(TYPED_ONLY)


_STOPWORDS = {
    "es": frozenset(
        "de la que el en y los se del las un por con no una su para es al lo como más pero "
        "sus le ya o fue este ha sí porque esta son entre cuando muy sin sobre también me "
        "hasta hay donde quien desde nos durante todos uno les ni contra otros ese eso ante "
        "ellos e esto mí antes algunos qué unos yo otro otras otra él tanto esa estos mucho "
        "nuestro nuestra nuestros nuestras tenemos estaba eran".split()
    ),
    "en": frozenset(
        "the of and to in a is that for it as was with be by on not he i this are or his "
        "from at which but have an they you were her she there been one all we their has "
        "would when if so no what up out them about into than our us my me its had did do "
        "could now these those because".split()
    ),
}
_WORD = re.compile(r"[a-záéíóúñü']+")


def guess_language(text: str) -> tuple[str, float]:
    """("es" | "en", share of matched function words that were of that language)."""
    words = _WORD.findall(text.lower())
    counts = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    total = sum(counts.values())
    if total == 0:
        return "", 0.0
    language = max(counts, key=lambda lang: counts[lang])
    return language, counts[language] / total
