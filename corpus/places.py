"""Where each passage sits, in memory: for finding a search hit's neighbours fast.

Grouped search scores a story by its best passage and that passage's neighbours; reading
(testimony, sequence number) for 600 candidate and neighbour ids from SQLite cost about
3.5 ms a search at 100k passages. ``PassagePlaces`` keeps, per passage id, its
testimony (a number it gives each testimony) and sequence number in two arrays (12 bytes
a passage), and per testimony its id, consent level and label (title, redacted title,
whether names may be shown, region, community: what the label lift matches; reading
them for 260 stories took about 2 ms a search).

``MeanVectors`` keeps the testimonies' mean passage vectors that grouped search has read
(the whole-story part of a story's score; reading 260 of them from SQLite took about 1 ms a
search at 100k passages), for as long as no passage vector changes.

``PassagePlaces`` follows the store's filter generation (migration 005), which every delete, consent
change and label change bumps, as the search filters' id sets do: a changed generation
reloads everything; passages with ids above the largest loaded are appended alone. What
it cannot answer for sure (a passage not loaded yet, a testimony's last passage, ids
that are not consecutive within a testimony) is left to ``Store.neighbours``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .records import CONSENT_LEVELS
from .visibility import may_read, testimony_label

if TYPE_CHECKING:
    from .access import Viewer
    from .store import Store

__all__ = ["MeanVectors", "PassagePlaces"]

Place = tuple[str, int | None, int | None]  # testimony id, passage before, passage after
#: consent levels as small numbers (another level, were there one, reads as none of them)
_LEVELS = {level: n for n, level in enumerate(CONSENT_LEVELS)}


class PassagePlaces:
    """Each passage's testimony and sequence number, and each testimony's consent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._testimony = np.full(0, -1, dtype=np.int64)  # passage id -> testimony number
        self._seq = np.zeros(0, dtype=np.int32)
        self._numbers: dict[str, int] = {}  # testimony id -> its number here
        # number -> (testimony id, consent, title, title_redacted, allow_names, region,
        # community): Store.testimony_cards
        self._names: list[tuple[Any, ...]] = []
        # number -> consent level, as its index in _LEVELS (as in _names)
        self._consents = np.zeros(0, dtype=np.int8)
        self._generation: int | None = None
        self._top = 0

    def sync(self, store: Store) -> None:
        """Catch up with the store (one counter read when nothing changed)."""
        generation, top = store.filter_generation()
        with self._lock:
            if generation == self._generation and top <= self._top:
                return
            fresh = generation != self._generation
            rows = store.passage_places(0 if fresh else self._top)
            if fresh:
                self._testimony = np.full(0, -1, dtype=np.int64)
                self._seq = np.zeros(0, dtype=np.int32)
                self._numbers, self._names = {}, []
                self._consents = np.zeros(0, dtype=np.int8)
                cards = store.testimony_cards()
            else:  # only the testimonies new passages belong to and not yet known
                new = sorted({r[2] for r in rows} - set(self._numbers))
                cards = store.testimony_cards(new) if new else []
            levels = []
            for card in cards:  # new testimonies; consent and label as now
                if card[0] not in self._numbers:
                    self._numbers[card[0]] = len(self._names)
                    self._names.append(tuple(card))
                    levels.append(_LEVELS.get(card[1], len(_LEVELS)))
            if levels:
                self._consents = np.concatenate([self._consents, np.array(levels, np.int8)])
            if rows:
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                size = int(ids.max()) + 1
                if size > len(self._testimony):
                    grown = max(size, 2 * len(self._testimony))
                    extra = grown - len(self._testimony)
                    self._testimony = np.concatenate(
                        [self._testimony, np.full(extra, -1, dtype=np.int64)]
                    )
                    self._seq = np.concatenate([self._seq, np.zeros(extra, dtype=np.int32)])
                self._seq[ids] = np.fromiter((r[1] for r in rows), dtype=np.int32, count=len(rows))
                numbers = self._numbers
                self._testimony[ids] = np.fromiter(
                    (numbers.get(r[2], -1) for r in rows), dtype=np.int64, count=len(rows)
                )
            self._generation = generation
            self._top = top if fresh else max(top, self._top)

    def neighbours(
        self, passage_ids: Iterable[int], consent: Sequence[str]
    ) -> tuple[dict[int, Place], list[int]]:
        """For the passages of a testimony with one of the ``consent`` levels: (its
        testimony, the passage before, the passage after), for those it is sure of; and
        the ids it is not sure of (ask ``Store.neighbours``). Passages of testimonies
        with other consent levels are in neither."""
        allowed = set(consent)
        wanted = np.unique(np.fromiter(passage_ids, dtype=np.int64))
        with self._lock:
            testimony, seqs, size = self._testimony, self._seq, len(self._testimony)
            if not size or not len(wanted):
                return {}, wanted.tolist()
            # whether the viewer may see each consent level (a last "no" for a level not
            # in _LEVELS), then each testimony by number, and a last "no" for the
            # passages this does not know (owner -1)
            table = np.array([level in allowed for level in _LEVELS] + [False])
            may = np.append(table[self._consents], False)
            at = np.clip(wanted, 0, size - 1)
            owner = np.where((wanted >= 0) & (wanted < size), testimony[at], -1)
            known = owner >= 0
            shown = may[owner]  # owner -1 reads the last "no"
            seq = seqs[at]
            # the ids one below and one above, when they are the same testimony's
            # previous and next passage (ids written in one transaction are consecutive)
            below, above = np.clip(wanted - 1, 0, size - 1), np.clip(wanted + 1, 0, size - 1)
            before = (wanted >= 1) & (testimony[below] == owner) & (seqs[below] == seq - 1)
            after = (wanted + 1 < size) & (testimony[above] == owner) & (seqs[above] == seq + 1)
            sure_rows = shown & (before | (seq == 0)) & after
            names = self._names
            sure: dict[int, Place] = {
                pid: (names[number][0], pid - 1 if prior else None, pid + 1)
                for pid, number, prior in zip(
                    wanted[sure_rows].tolist(),
                    owner[sure_rows].tolist(),
                    before[sure_rows].tolist(),
                    strict=True,
                )
            }
        unsure = wanted[~known | (shown & ~sure_rows)].tolist()
        return sure, unsure

    def labels(
        self, testimony_ids: Iterable[str], viewer: Viewer
    ) -> tuple[dict[str, str], list[str]]:
        """``Store.testimony_labels`` from memory: the label of each of these testimonies
        the viewer may see (their consent level is one of the viewer's), as the viewer
        reads it; and the ids it does not know (ask the store)."""
        out: dict[str, str] = {}
        unknown: list[str] = []
        with self._lock:
            for tid in testimony_ids:
                number = self._numbers.get(tid)
                if number is None:
                    unknown.append(tid)
                    continue
                _, consent, *label = self._names[number]
                if may_read(viewer, consent):
                    out[tid] = testimony_label(viewer, *label)
        return out, unknown


class MeanVectors:
    """Testimonies' mean passage vectors (``Store.testimony_vectors``), kept in memory
    while the passage vectors stay as they were.

    A mean vector changes only with its testimony's passage vectors, and every change to
    those is a step of the vector log the FAISS index follows (``index_log``). So the
    vectors are kept under the log position they were read at (``stamp``: the index's
    ``log_seq`` after the search's refresh); a later position drops them all. A read
    for an earlier position than the one kept (a search that refreshed before another
    thread moved on) goes to the store and keeps nothing. Up to ``limit`` testimonies
    are kept (2 KB each at 512 dimensions); beyond that the cache starts again."""

    def __init__(self, limit: int = 20_000, kind: str = "means") -> None:
        self._lock = threading.Lock()
        self._limit = limit
        #: which per-testimony vectors: "means" (the mean passage vectors) or "texts" (the
        #: vectors of their openings, migration 009); both change only with passage vectors
        self._kind = kind
        self._stamp = -1
        self._rows: dict[str, np.ndarray] = {}

    def get(
        self, store: Store, testimony_ids: Sequence[str], dim: int, stamp: int
    ) -> dict[str, np.ndarray]:
        """The mean vector of each of ``testimony_ids`` that has one, as the store would
        give it at log position ``stamp``."""
        with self._lock:
            if stamp > self._stamp:
                self._rows, self._stamp = {}, stamp
            current = stamp == self._stamp
            rows = self._rows
            out = {t: rows[t] for t in testimony_ids if t in rows} if current else {}
        missing = [t for t in testimony_ids if t not in out]
        if missing:
            read = (
                store.testimony_vectors(missing, dim)
                if self._kind == "means"
                else store.text_vectors(missing, dim)
            )
            out.update(read)
            with self._lock:
                if stamp == self._stamp:
                    if len(self._rows) + len(read) > self._limit:
                        self._rows = {}
                    self._rows.update(read)
        return out
