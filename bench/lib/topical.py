"""The topical relevance set's collection: short passages, each its own testimony.

Issue 28 imitates a real-world check where a researcher's topical questions ("ríos
contaminados por relaves", "families evicted from their farms") were asked of a few hundred
short passages, each ingested as its own testimony. Here the passages are cut from the
EJAtlas cases and the demo testimonies: 15-80 words, whole sentences (one to four), never
across two cases, so that a passage can be graded on its own text and found on its own.

Used by bench/topical_corpus.py (writes the collection), bench/topical_pool.py (pools it
for judging) and bench/names_set.py (exact-name questions made by rule). Nothing here
writes into the repository: the EJAtlas licence forbids copying its text there.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.language import guess_language
from pipeline.passages import split_sentences

MIN_WORDS = 15
MAX_WORDS = 80
MAX_SENTENCES = 4
#: a passage stops growing once it has this many words (keeps most passages near the
#: length of a spoken answer instead of always filling up to MAX_WORDS)
TARGET_WORDS = 35

# "país.También": the scrape lost the space after some full stops; put it back so that the
# sentence splitter sees the boundary (two lower-case letters before, a capitalised word after,
# so "U.S." and "S.A." are left alone).
_GLUED = re.compile(r"(?<=[a-záéíóúñü]{2})\.(?=[A-ZÁÉÍÓÚÑ][a-záéíóúñü])")
# EJAtlas "Keywords: a, b, c" lines are metadata, not narrative.
_KEYWORDS = re.compile(r"^\s*key ?words?\s*:", re.IGNORECASE)
# Where an over-long sentence may be cut, strongest mark first.
_CLAUSE_MARKS = (re.compile(r"[;:]$"), re.compile(r",$"))
_LETTERS = re.compile(r"[^\W\d_]+")


def fold(text: str) -> str:
    """Lower-case without accents: "Minería" and "mineria" are one word."""
    norm = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in norm if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    """Folded letter-only words (digits and punctuation dropped)."""
    return _LETTERS.findall(fold(text))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class CutStats:
    """What cutting a text left out, for the report."""

    sentences: int = 0
    split_long: int = 0  # sentences over MAX_WORDS cut at clause marks
    dropped_words: int = 0  # words in pieces that could not form a 15-80 word passage
    keyword_lines: int = 0

    def __add__(self, other: CutStats) -> CutStats:
        return CutStats(
            self.sentences + other.sentences,
            self.split_long + other.split_long,
            self.dropped_words + other.dropped_words,
            self.keyword_lines + other.keyword_lines,
        )


def _n(text: str) -> int:
    return len(text.split())


def _cut_long(sentence: str) -> list[str]:
    """A sentence of more than MAX_WORDS words, cut at the clause mark (; or :, else a
    comma) nearest its middle that leaves MIN_WORDS on each side, recursively. A piece with
    no such mark is returned whole (too long: the caller drops it)."""
    if _n(sentence) <= MAX_WORDS:
        return [sentence]
    tokens = sentence.split()
    middle = len(tokens) / 2
    for mark in _CLAUSE_MARKS:
        cuts = [
            i + 1
            for i, tok in enumerate(tokens)
            if mark.search(tok) and MIN_WORDS <= i + 1 <= len(tokens) - MIN_WORDS
        ]
        if cuts:
            cut = min(cuts, key=lambda c: (abs(c - middle), c))
            return _cut_long(" ".join(tokens[:cut])) + _cut_long(" ".join(tokens[cut:]))
    return [sentence]


def plain_sentences(text: str) -> list[str]:
    """The archive's sentence splitter (pipeline.passages), line by line, with glued full
    stops unglued; nothing dropped or cut."""
    return [
        sentence
        for line in text.splitlines()
        if line.strip()
        for sentence in split_sentences(_GLUED.sub(". ", line))
    ]


def sentences_of(text: str) -> tuple[list[str], CutStats]:
    """The archive's own sentence splitter (pipeline.passages), line by line, with glued
    full stops unglued, "Keywords:" lines left out and over-long sentences cut at clauses."""
    out: list[str] = []
    split_long = keyword_lines = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if _KEYWORDS.match(line):
            keyword_lines += 1
            continue
        for sentence in split_sentences(_GLUED.sub(". ", line)):
            pieces = _cut_long(sentence)
            split_long += len(pieces) > 1
            out.extend(pieces)
    return out, CutStats(len(out), split_long, 0, keyword_lines)


def cut_passages(text: str) -> tuple[list[str], CutStats]:
    """Group a text's sentences, in order, into passages of MIN_WORDS-MAX_WORDS words and
    at most MAX_SENTENCES sentences.

    A passage takes the next sentence while it has fewer than TARGET_WORDS words, fewer
    than MAX_SENTENCES sentences and the sentence fits under MAX_WORDS. A passage left
    under MIN_WORDS joins the previous one when that fits, else is dropped; so is a
    sentence that is still over MAX_WORDS after clause cutting. Deterministic."""
    sentences, stats = sentences_of(text)
    groups: list[list[str]] = []
    current: list[str] = []
    dropped = 0
    for sentence in sentences:
        size = _n(sentence)
        if size > MAX_WORDS:
            dropped += size
            continue
        have = sum(_n(s) for s in current)
        if current and (
            have >= TARGET_WORDS or len(current) >= MAX_SENTENCES or have + size > MAX_WORDS
        ):
            groups.append(current)
            current = []
        current.append(sentence)
    if current:
        groups.append(current)
    passages: list[list[str]] = []
    for group in groups:
        size = sum(_n(s) for s in group)
        if size >= MIN_WORDS:
            passages.append(group)
            continue
        if passages:
            prev = passages[-1]
            if (
                sum(_n(s) for s in prev) + size <= MAX_WORDS
                and len(prev) + len(group) <= MAX_SENTENCES
            ):
                passages[-1] = prev + group
                continue
        dropped += size
    return [" ".join(p) for p in passages], CutStats(
        stats.sentences, stats.split_long, dropped, stats.keyword_lines
    )


def passage_language(text: str, declared: str) -> str:
    """The declared (case) language, unless the passage's own function words say clearly
    that it is in the other one: some "Spanish" EJAtlas cases hold English paragraphs (and
    the other way round), and the set's cross-lingual split depends on the passage's
    language, not its case's."""
    guessed, share = guess_language(text)
    if guessed and guessed != declared and declared in ("es", "en") and share >= 0.8:
        words = len(text.split())
        if words >= MIN_WORDS:
            return guessed
    return declared


def short_id(case_id: str) -> str:
    """ "ejatlas-mw-006-agua-rica-..." -> "mw-006"; a demo id is kept whole."""
    m = re.match(r"ejatlas-(mw-\d+)", case_id)
    return m.group(1) if m else case_id


def passages_of_rows(
    rows: list[dict[str, Any]],
) -> tuple[list[tuple[dict[str, Any], int, str]], CutStats]:
    """(row, n from 1, passage text) for every passage of every row, in order, and what
    cutting left out over all rows."""
    out: list[tuple[dict[str, Any], int, str]] = []
    total = CutStats()
    for row in rows:
        texts, stats = cut_passages(row["text"])
        total = total + stats
        out.extend((row, n, text) for n, text in enumerate(texts, 1))
    return out, total
