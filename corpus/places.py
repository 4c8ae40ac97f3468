"""Where each passage sits, in memory: for finding a search hit's neighbours fast.

Grouped search scores a story by its best passage and that passage's neighbours; reading
(testimony, sequence number) for 600 candidate and neighbour ids from SQLite cost about
3.5 ms a search at 100k passages. ``PassagePlaces`` keeps, per passage id, its
testimony (a number it gives each testimony) and sequence number in two arrays (12 bytes
a passage), and per testimony its id and consent level.

It follows the store's filter generation (migration 005), which every delete, consent
change and label change bumps, as the search filters' id sets do: a changed generation
reloads everything; passages with ids above the largest loaded are appended alone. What
it cannot answer for sure (a passage not loaded yet, a testimony's last passage, ids
that are not consecutive within a testimony) is left to ``Store.neighbours``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
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
        self._names: list[tuple[str, str]] = []  # number -> (testimony id, consent)
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
                consents = store.testimony_consents()
            else:  # only the testimonies new passages belong to and not yet known
                new = sorted({r[2] for r in rows} - set(self._numbers))
                consents = store.testimony_consents(new) if new else {}
            for tid, consent in consents.items():  # new testimonies; consent as now
                if tid not in self._numbers:
                    self._numbers[tid] = len(self._names)
                    self._names.append((tid, consent))
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

    def _at(self, pid: int) -> tuple[int, int]:
        return int(self._testimony[pid]), int(self._seq[pid])
