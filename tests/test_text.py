"""One accent folding and one clock for the whole archive (corpus/text.py)."""

from __future__ import annotations

import sys
import unicodedata

from corpus.text import clock, fold, fold_words


def _reference(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_fold_removes_every_combining_mark_and_nothing_else():
    """The fast path (one regular expression) against the definition, over every code
    point in steps, and the letters this archive's languages use."""
    sample = "".join(chr(cp) for cp in range(0x20, sys.maxunicode, 97) if chr(cp).isprintable())
    text = "Contaminación del río Llaucano: ñ, ü, ç, Ã, ǘ, ḱ, Qhapaq Ñan, Ⅻ, ﬁ " + sample
    assert fold(text) == _reference(text)
    assert fold("Contaminación") == "contaminacion" and fold("RÍO") == "rio"


def test_fold_words_are_the_keyword_index_tokens():
    assert fold_words("¡El río Coata, en Puno! (Año 2019_bis)") == [
        "el",
        "rio",
        "coata",
        "en",
        "puno",
        "ano",
        "2019",
        "bis",
    ]


def test_clock_is_hours_minutes_seconds():
    assert clock(0) == "00:00:00"
    assert clock(123.9) == "00:02:03"
    assert clock(3723) == "01:02:03"
    assert clock(-5) == "00:00:00"
