"""Where each passage sits, in memory: for finding a search hit's neighbours fast.

Grouped search scores a story by its best passage and that passage's neighbours; reading
(testimony, sequence number) for 600 candidate and neighbour ids from SQLite cost about
3.5 ms a search at 100k passages. ``PassagePlaces`` keeps, per passage id, its
testimony (a number it gives each testimony) and sequence number in two arrays (12 bytes
a passage), and per testimony its id, consent level and label (title, redacted title,
whether names may be shown, region, community: what the label lift matches; reading
them for 260 stories took about 2 ms a search).

It follows the store's filter generation (migration 005), which every delete, consent
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

from .store import testimony_label

if TYPE_CHECKING:
    from .access import Viewer
    from .store import Store

__all__ = ["PassagePlaces"]

Place = tuple[str, int | None, int | None]  # testimony id, passage before, passage after


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
                cards = store.testimony_cards()
            else:  # only the testimonies new passages belong to and not yet known
                new = sorted({r[2] for r in rows} - set(self._numbers))
                cards = store.testimony_cards(new) if new else []
            for card in cards:  # new testimonies; consent and label as now
                if card[0] not in self._numbers:
                    self._numbers[card[0]] = len(self._names)
                    self._names.append(tuple(card))
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
        sure: dict[int, Place] = {}
        unsure: list[int] = []
        with self._lock:
            size = len(self._testimony)
            for pid in sorted(set(passage_ids)):
                owner = int(self._testimony[pid]) if 0 <= pid < size else -1
                if owner < 0:
                    unsure.append(pid)
                    continue
                name = self._names[owner]
                if name[1] not in allowed:
                    continue
                seq = int(self._seq[pid])
                before = pid - 1 >= 0 and self._at(pid - 1) == (owner, seq - 1)
                after = pid + 1 < size and self._at(pid + 1) == (owner, seq + 1)
                if (before or seq == 0) and after:
                    sure[pid] = (name[0], pid - 1 if before else None, pid + 1)
                else:
                    unsure.append(pid)
        return sure, unsure

    def labels(
        self, testimony_ids: Iterable[str], viewer: Viewer
    ) -> tuple[dict[str, str], list[str]]:
        """``Store.testimony_labels`` from memory: the label of each of these testimonies
        the viewer may see (their consent level is one of the viewer's), as the viewer
        reads it; and the ids it does not know (ask the store)."""
        allowed = set(viewer.consent)
        out: dict[str, str] = {}
        unknown: list[str] = []
        with self._lock:
            for tid in testimony_ids:
                number = self._numbers.get(tid)
                if number is None:
                    unknown.append(tid)
                    continue
                _, consent, *label = self._names[number]
                if consent in allowed:
                    out[tid] = testimony_label(viewer, *label)
        return out, unknown

    def _at(self, pid: int) -> tuple[int, int]:
        return int(self._testimony[pid]), int(self._seq[pid])
