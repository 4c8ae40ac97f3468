"""The reading room: what the API and the CLI read of stored testimonies.

Every method takes the caller's viewer and reads through the store's consent rule and
projection (:mod:`corpus.visibility`); none writes (writes go through the archive, under
its write lock) and none exposes SQL. The edges reach storage only through the archive
and this room (an import-linter contract and ``tests/test_architecture.py`` keep it so).
"""

from __future__ import annotations

from collections.abc import Sequence

from corpus import (
    AuditEntry,
    Hit,
    Passage,
    PassageEdit,
    PassageFilter,
    Review,
    Speaker,
    Store,
    Testimony,
    ThemeCount,
    Viewer,
)

from .evaluate_search import testimony_texts

__all__ = ["Reading"]


class Reading:
    def __init__(self, store: Store) -> None:
        self._store = store

    def list_testimonies(
        self,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Testimony], int]:
        return self._store.list_testimonies(viewer, flt, limit, offset)

    def passage(self, passage_id: int, viewer: Viewer) -> Passage:
        return self._store.passage(passage_id, viewer)

    def passages_by_id(self, passage_ids: Sequence[int], viewer: Viewer) -> list[Passage]:
        return self._store.passages_by_id(passage_ids, viewer)

    def speakers(self, testimony_id: str, viewer: Viewer) -> list[Speaker]:
        """A testimony's voices, names masked for viewers who may not see names."""
        return self._store.speakers(testimony_id, viewer)

    def passage_texts(
        self, viewer: Viewer, passage_ids: Sequence[int] | None = None
    ) -> list[tuple[int, str, str]]:
        return self._store.passage_texts(viewer, passage_ids)

    def hits(self, scored: Sequence[tuple[int, float]], viewer: Viewer) -> list[Hit]:
        return self._store.hits(scored, viewer)

    def counts(self, viewer: Viewer) -> dict[str, int]:
        return self._store.counts(viewer)

    def reviews(self, viewer: Viewer, passage_ids: Sequence[int] | None = None) -> list[Review]:
        return self._store.reviews(viewer, passage_ids)

    def passage_edits(self, passage_id: int, viewer: Viewer) -> list[PassageEdit]:
        return self._store.passage_edits(passage_id, viewer)

    def audit_entries(
        self, viewer: Viewer, limit: int = 100, since: str = "", action: str = ""
    ) -> list[AuditEntry]:
        return self._store.audit_entries(viewer, limit, since, action)

    def theme_counts(self, viewer: Viewer, by: str = "") -> list[ThemeCount]:
        return self._store.theme_counts(viewer, by)

    def theme_quotes(
        self, viewer: Viewer, by: str = "", per_cell: int = 3
    ) -> dict[tuple[str, str], list[Hit]]:
        return self._store.theme_quotes(viewer, by, per_cell)

    def whole_texts(self, viewer: Viewer) -> dict[str, str]:
        """Each testimony's whole text as ``viewer`` reads it (``voces eval search``'s
        plain baselines embed one vector per testimony)."""
        return testimony_texts(self._store, viewer)
