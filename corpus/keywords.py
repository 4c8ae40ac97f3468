"""Keyword search over passages, one implementation per engine behind one interface.

- :class:`Fts5Keywords` (SQLite): FTS5 tables, BM25. The words the public and researchers
  search (a passage's redacted text) are indexed once per consent scope, so BM25 and the
  word counts ranking takes are statistics of what the caller may read
  (:class:`KeywordScope`, migrations/008_keyword_scopes.sql).
- :class:`PgKeywords` (PostgreSQL): ``tsvector`` columns with GIN indexes, ranked by
  ``ts_rank_cd`` (cover density: no collection statistics), counts joined to the
  caller's consent levels.

:func:`keyword_search` picks one for a database. Both match the same accent-folded,
unstemmed words (``corpus.text.fold_words``), and a viewer who may not see names
matches the redacted text only, so a masked name cannot be found by typing it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .access import Viewer
from .db import AnyDatabase, PostgresDatabase
from .errors import CorpusError
from .records import CONSENT_LEVELS
from .text import fold_words
from .visibility import PassageFilter, consent_sql

__all__ = ["KeywordScope", "KeywordSearch", "keyword_scope", "keyword_search"]

#: keyword search ranks this many times its limit before checking access
_KEYWORD_WIDEN = 4


@dataclass(frozen=True)
class KeywordScope:
    """Where a viewer's keyword search runs: an FTS5 table holding exactly the passages of
    the consent levels the viewer may read, its vocabulary (passages per word) and the
    column matched (original text, or the redacted copy for those who may not see names).

    BM25 and the word counts of grouped search are statistics of the table they run on;
    one table per scope makes them statistics of what the caller may read, so nothing
    hidden from a caller moves its scores (migrations/008_keyword_scopes.sql)."""

    table: str
    vocab: str
    column: str


_KEYWORD_SCOPES: dict[frozenset[str], KeywordScope] = {
    frozenset({"public"}): KeywordScope(
        "passages_fts_public", "passages_fts_public_vocab", "redacted"
    ),
    frozenset({"public", "restricted"}): KeywordScope(
        "passages_fts_shared", "passages_fts_shared_vocab", "redacted"
    ),
    frozenset(CONSENT_LEVELS): KeywordScope("passages_fts", "passages_fts_vocab", "original"),
}


def keyword_scope(viewer: Viewer) -> KeywordScope:
    """The keyword table whose statistics are those of what ``viewer`` may read."""
    scope = _KEYWORD_SCOPES.get(frozenset(viewer.consent))
    if scope is None or (scope.column == "original") != viewer.sees_originals:
        raise CorpusError(f"no keyword scope for the role {viewer.role!r}")
    return scope


class KeywordSearch:
    """Passages holding words, and how many passages hold them, for one viewer."""

    def __init__(self, db: AnyDatabase) -> None:
        self.db = db

    def passages(
        self,
        terms: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 200,
        prefix: bool = False,
        visible: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[tuple[int, float]]:
        """Passages holding any of ``terms`` (accent-folded words; with ``prefix``, any
        word beginning with one), best first, as (passage id, score > 0), among those the
        viewer may see within ``flt``. A viewer who may not see names matches the
        redacted text only.

        ``visible``: for a caller that already holds the ids the viewer may find within
        ``flt`` (grouped search caches each filter's id set, made by the same consent
        rule), a test of which of some passage ids those are (a boolean each); an engine
        may use it instead of joining matches to their passages in SQL."""
        words = [t.replace('"', "") for t in terms if t.replace('"', "").strip()]
        if not words:
            return []
        return self._passages(words, viewer, flt, limit, prefix, visible)

    def _passages(
        self,
        words: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter,
        limit: int,
        prefix: bool,
        visible: Callable[[np.ndarray], np.ndarray] | None,
    ) -> list[tuple[int, float]]:
        raise NotImplementedError

    def term_counts(self, terms: Sequence[str], viewer: Viewer) -> dict[str, int]:
        """How many passages ``viewer`` may read hold each (folded) term: rare terms are
        names and codes. Hidden passages are never counted: the count decides whether a
        word takes part in ranking."""
        raise NotImplementedError

    def stem_counts(self, stems: Sequence[str], cap: int, viewer: Viewer) -> dict[str, int]:
        """About how many passages ``viewer`` may read hold a word beginning with each
        stem, counted up to ``cap``. Hidden passages are never counted."""
        raise NotImplementedError

    def _where(self, flt: PassageFilter, viewer: Viewer) -> tuple[str, list[Any]]:
        return flt.where(viewer, hint=self.db.unindexed)


class Fts5Keywords(KeywordSearch):
    """SQLite FTS5, one table per consent scope, ranked by BM25."""

    def _passages(
        self,
        words: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter,
        limit: int,
        prefix: bool,
        visible: Callable[[np.ndarray], np.ndarray] | None,
    ) -> list[tuple[int, float]]:
        scope = keyword_scope(viewer)
        star = "*" if prefix else ""
        match = f"{{{scope.column}}}: (" + " OR ".join(f'"{w}"{star}' for w in words) + ")"
        if visible is not None:
            return self._visible(scope.table, match, limit, visible, narrow=flt != PassageFilter())
        where, args = self._where(flt, viewer)
        # Without a filter, first the best matches over the whole scope, then which of
        # them the viewer may see: joining every match to its passage and testimony before
        # ranking cost 3 us a match (thousands for a common stem). If that leaves fewer
        # than ``limit`` while more matches exist, the joined query below decides. A filter
        # (a region: 5% of the archive) would leave too few: it goes there at once.
        if flt != PassageFilter():
            return self._joined(scope.table, match, where, args, limit)
        wide = limit * _KEYWORD_WIDEN
        best = self._ranked(scope.table, match, wide)
        seen = {
            r[0]
            for r in self.db.tuples_in(
                "SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id IN ({{ids}}) AND {where}",
                [r[0] for r in best],
                args,
            )
        }
        kept = [(r[0], -float(r[1])) for r in best if r[0] in seen]
        if len(kept) >= limit or len(best) < wide:
            return kept[:limit]
        return self._joined(scope.table, match, where, args, limit)

    def _ranked(self, table: str, match: str, limit: int) -> list[tuple[Any, ...]]:
        """(rowid, bm25) of the best ``limit`` FTS5 matches in a scope's ``table``
        (:func:`keyword_scope`), filters not checked (``limit`` -1: all of them); bm25 is
        negative, best first."""
        return self.db.tuples(
            f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ? "
            f"ORDER BY bm25({table}) LIMIT ?",
            [match, limit],
        )

    def _visible(
        self,
        table: str,
        match: str,
        limit: int,
        visible: Callable[[np.ndarray], np.ndarray],
        narrow: bool,
    ) -> list[tuple[int, float]]:
        """The best keyword matches that ``visible`` admits: first among the best
        ``limit`` x 4 of the scope, then, if that leaves fewer than ``limit`` while more
        matches exist, among all of them (at once for a ``narrow`` filter, such as a
        region: 5% of the archive would leave too few). Tested in memory instead of
        joined to their passages and testimonies in SQL (about 3 us a match)."""
        wide = -1 if narrow else limit * _KEYWORD_WIDEN  # -1: no limit
        while True:
            rows = self._ranked(table, match, wide)
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            kept = [
                (int(r[0]), -float(r[1])) for r, ok in zip(rows, visible(ids), strict=True) if ok
            ]
            if len(kept) >= limit or wide < 0 or len(rows) < wide:
                return kept[:limit]
            wide = -1

    def _joined(
        self, table: str, match: str, where: str, args: Sequence[Any], limit: int
    ) -> list[tuple[int, float]]:
        """The best keyword matches among the passages ``where`` admits (every match is
        joined to its passage and testimony, then ranked)."""
        rows = self.db.query(
            f"SELECT f.rowid, bm25({table}) FROM {table} f "
            "JOIN passages p ON p.id = f.rowid JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {table} MATCH ? AND {where} ORDER BY bm25({table}) LIMIT ?",
            [match, *args, limit],
        )
        return [(r[0], -float(r[1])) for r in rows]

    def term_counts(self, terms: Sequence[str], viewer: Viewer) -> dict[str, int]:
        if not terms:
            return {}
        rows = self.db.query(
            f"SELECT term, doc FROM {keyword_scope(viewer).vocab} WHERE term IN "
            f"({','.join('?' * len(terms))})",
            list(terms),
        )
        return {r[0]: int(r[1]) for r in rows}

    def stem_counts(self, stems: Sequence[str], cap: int, viewer: Viewer) -> dict[str, int]:
        """The sum of the stem's words' passage counts in the viewer's scope (an upper
        bound), up to ``cap``."""
        vocab = keyword_scope(viewer).vocab
        out: dict[str, int] = {}
        for stem in stems:
            n = self.db.query(
                f"SELECT coalesce(sum(doc), 0) FROM {vocab} WHERE term >= ? AND term < ?",
                [stem, stem + "\uffff"],
            )[0][0]
            out[stem] = min(int(n), cap)
        return out


class PgKeywords(KeywordSearch):
    """PostgreSQL full-text search: the same folded, unstemmed words, ranked by
    ts_rank_cd (cover density; PostgreSQL has no BM25), best first."""

    @staticmethod
    def _column(viewer: Viewer) -> str:
        return "fts_original" if viewer.sees_originals else "fts_redacted"

    def _passages(
        self,
        words: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter,
        limit: int,
        prefix: bool,
        visible: Callable[[np.ndarray], np.ndarray] | None,
    ) -> list[tuple[int, float]]:
        column = f"p.{self._column(viewer)}"
        where, args = self._where(flt, viewer)
        phrases = [parts for parts in map(fold_words, words) if parts]
        star = ":*" if prefix else ""
        query = " | ".join(
            "(" + " <-> ".join(f"'{p}'" for p in parts) + star + ")" for parts in phrases
        )
        if not query:
            return []
        rows = self.db.query(
            f"SELECT p.id, ts_rank_cd({column}, q) AS rank FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id, to_tsquery('simple', ?) q "
            f"WHERE {column} @@ q AND {where} ORDER BY rank DESC, p.id LIMIT ?",
            [query, *args, limit],
        )
        return [(int(r[0]), max(float(r[1]), 1e-6)) for r in rows]

    def term_counts(self, terms: Sequence[str], viewer: Viewer) -> dict[str, int]:
        consent, levels = consent_sql(viewer, "t.consent", self.db.unindexed)
        out = {}
        for term in terms:
            parts = fold_words(term)
            if len(parts) == 1:
                n = self.db.query(
                    "SELECT count(*) FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                    f"WHERE p.{self._column(viewer)} @@ to_tsquery('simple', ?) AND {consent}",
                    [f"'{parts[0]}'", *levels],
                )[0][0]
                if n:
                    out[term] = int(n)
        return out

    def stem_counts(self, stems: Sequence[str], cap: int, viewer: Viewer) -> dict[str, int]:
        consent, levels = consent_sql(viewer, "t.consent", self.db.unindexed)
        out: dict[str, int] = {}
        for stem in stems:
            parts = fold_words(stem)
            if len(parts) != 1:
                continue
            n = self.db.query(
                "SELECT count(*) FROM (SELECT 1 FROM passages p "
                "JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.{self._column(viewer)} @@ to_tsquery('simple', ?) AND {consent} "
                "LIMIT ?) s",
                [f"'{parts[0]}':*", *levels, cap],
            )[0][0]
            out[stem] = min(int(n), cap)
        return out


def keyword_search(db: AnyDatabase) -> KeywordSearch:
    """The keyword search of ``db``'s engine."""
    if isinstance(db, PostgresDatabase):
        return PgKeywords(db)
    return Fts5Keywords(db)
