"""Word error rate helpers for bench/transcribe.py and bench/ingest_long.py.

Normalisation follows the FLEURS references used in ``../shared/data/audio``: lowercase,
punctuation and symbols removed (including ``¿ ¡ « »``), whitespace collapsed. Accents are
kept, as the references keep them; :func:`normalize` can also fold them away for an
accent-insensitive variant. Apostrophes inside a word are kept ("don't"), typographic
apostrophes are mapped to ``'``. Numbers are not rewritten: "2002" and "dos mil dos" differ.
"""

from __future__ import annotations

import unicodedata

__all__ = ["edit_distance", "fold_accents", "normalize", "word_errors"]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def fold_accents(word: str) -> str:
    """``word`` without combining marks: "participó" -> "participo", "año" -> "ano"."""
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    )


def normalize(text: str, fold: bool = False) -> list[str]:
    """The words of ``text``, normalised like the references (see the module docstring)."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower()
    spaced = "".join(
        " " if ch != "'" and unicodedata.category(ch)[0] in "PS" else ch for ch in text
    )
    words = [w.strip("'") for w in spaced.split()]
    words = [w for w in words if w]
    return [fold_accents(w) for w in words] if fold else words


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution / match
                )
            )
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str, fold: bool = False) -> tuple[int, int]:
    """(word errors, reference words) of ``hypothesis`` against ``reference``, both
    normalised alike: summed over clips, errors / words is the corpus WER."""
    ref = normalize(reference, fold=fold)
    return edit_distance(ref, normalize(hypothesis, fold=fold)), len(ref)
