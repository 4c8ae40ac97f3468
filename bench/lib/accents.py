"""Repair Spanish text whose accented letters were dropped by a scrape.

The EJAtlas development file lost every non-ASCII letter ("contaminacin", "ro",
"compaa"). Such a word is usually not Spanish, while exactly one frequent Spanish word
turns into it when its non-ASCII letters are removed. We put that word back, using the
word frequencies spaCy's lookup tables ship (`spacy-lookups-data`, es_lexeme_prob), and
keep the letter case of the original. Used only to build evaluation files
(bench/ejatlas_labels.py) and the search-evaluation collection (``collection``); the
archive itself never rewrites testimony text.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path

WORD = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, float], dict[str, tuple[str, float]]]:
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "es_lexeme_prob.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        prob: dict[str, float] = json.load(handle)
    repaired: dict[str, tuple[str, float]] = {}
    for word, p in prob.items():
        if word.isascii() or not word.isalpha() or word != word.lower():
            continue
        dropped = "".join(ch for ch in word if ch.isascii())
        if dropped and (dropped not in repaired or repaired[dropped][1] < p):
            repaired[dropped] = (word, p)
    return prob, repaired


def _match_case(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[0].isupper():
        return word[0].upper() + word[1:]
    return word


def restore_accents(text: str, margin: float = 2.0) -> str:
    """Put back dropped accented letters when the accented word is clearly the likelier one.

    A word is replaced when its accented candidate is more frequent than the word itself
    by ``margin`` in natural-log probability (an unknown word counts as -25).
    """
    prob, repaired = _tables()

    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        low = token.lower()
        candidate = repaired.get(low)
        if candidate is None:
            return token
        word, p = candidate
        if p - prob.get(low, -25.0) < margin:
            return token
        return _match_case(token, word)

    return WORD.sub(fix, text)
