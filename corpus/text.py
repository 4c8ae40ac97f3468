"""How Voces compares words and writes times: one accent folding, one clock.

Keyword search, highlights, theme rules, the label lift and redaction all compare words
with their accents folded ("Contaminación" = "contaminacion", "río" = "rio"), as SQLite's
FTS5 ``unicode61 remove_diacritics`` tokenizer and PostgreSQL's ``voces_fold`` index them.
They must fold alike, or a word highlighted would not be the word matched: so there is
one :func:`fold`. Times are written one way too (:func:`clock`).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

__all__ = ["clock", "fold", "fold_word", "fold_words"]


@lru_cache(maxsize=1)
def _combining() -> re.Pattern[str]:
    """Every combining mark (what NFKD splits accents into), as one character class.

    A regular expression removes them in C (16 us against 25 us a sentence for a Python
    loop over ``unicodedata.combining``), and the class is made from that same test over
    all of Unicode, so the two agree exactly. Made once, on first use (0.15 s)."""
    marks = [cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))]
    ranges: list[tuple[int, int]] = []
    for cp in marks:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[{body}]")


def fold(text: str) -> str:
    """Lower-case, compatibility-decomposed (NFKD) and without combining marks.

    A precomposed letter keeps its position (í -> i), so spans found in the folded text
    are spans of the original wherever the two have the same length."""
    return _combining().sub("", unicodedata.normalize("NFKD", text.lower()))


#: :func:`fold` of single words, remembered (a search or a tagging run folds the same
#: words again and again)
fold_word = lru_cache(maxsize=1 << 17)(fold)

_TOKEN = re.compile(r"[^\W_]+")


def fold_words(text: str) -> list[str]:
    """The folded words of ``text`` as the keyword index holds them (SQLite FTS5's
    unicode61 tokenizer, PostgreSQL's voces_fold): letters and digits only, so a word is
    also safe to put in a tsquery."""
    return _TOKEN.findall(fold(text))


def clock(seconds: float) -> str:
    """A time as hours, minutes and seconds, ``HH:MM:SS`` (the form OHMS, captions'
    readers and people all read): 00:02:03, 01:02:03."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
