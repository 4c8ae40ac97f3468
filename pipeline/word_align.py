"""Keep word times through a correction (issue 29).

An archivist's correction changes a few words of a passage; the rest were heard where
Whisper placed them. ``realign`` lines the old words up with the new text (difflib's
longest-matching-block alignment over case- and punctuation-folded words, the same
alignment ``jiwer`` and ``sclite`` use for word error rates) and keeps the times of every
word that is unchanged. Words the correction wrote or changed get times interpolated
evenly over the stretch they replace (or the gap they were inserted into) and are marked
``edited``; their probability is 1.0, since a person wrote them.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from corpus import Word

__all__ = ["realign"]


def _key(token: str) -> str:
    """A word as the alignment compares it: lower case, accents kept, no punctuation."""
    folded = "".join(c for c in token.lower() if unicodedata.category(c)[0] in "LN")
    return folded or token


def _spread(texts: list[str], start: float, end: float) -> list[Word]:
    """``texts`` as edited words sharing ``start``..``end`` evenly."""
    if end < start:
        end = start
    step = (end - start) / len(texts)
    return [
        Word(
            start=round(start + i * step, 3),
            end=round(start + (i + 1) * step, 3),
            text=text,
            probability=1.0,
            edited=True,
        )
        for i, text in enumerate(texts)
    ]


def realign(
    words: Sequence[Word], new_text: str, start: float | None, end: float | None
) -> tuple[Word, ...]:
    """The words of ``new_text`` with times: those matching a word of ``words`` keep its
    times (and its probability, and its ``edited`` mark from an earlier correction),
    the others are interpolated inside ``start``..``end`` (the passage's times) between
    their kept neighbours. Empty when the passage had no word times (typed text)."""
    new = new_text.split()
    if not words or not new:
        return ()
    lo = start if start is not None else words[0].start
    hi = end if end is not None else words[-1].end
    matcher = difflib.SequenceMatcher(
        a=[_key(w.text) for w in words], b=[_key(t) for t in new], autojunk=False
    )
    out: list[Word] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.extend(
                Word(w.start, w.end, text, w.probability, w.edited)
                for w, text in zip(words[a0:a1], new[b0:b1], strict=True)
            )
        elif op in ("replace", "insert"):
            # the stretch they take: the replaced words' own span where there were any,
            # else the gap between the kept word before and the next old word after
            left = out[-1].end if out else lo
            if op == "replace":
                span_start, span_end = max(left, words[a0].start), words[a1 - 1].end
            else:
                span_start = left
                span_end = words[a0].start if a0 < len(words) else hi
            out.extend(_spread(new[b0:b1], span_start, max(span_start, span_end)))
        # "delete": the old words are gone, and so are their times
    return tuple(out)
