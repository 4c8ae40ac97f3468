"""The archive's source of truth, read only through a :class:`Viewer`: SQLite on a laptop,
PostgreSQL + pgvector for an archive shared by many machines (see :mod:`corpus.db`).

``Store`` composes the tables and what they do, each in a module of its own, as it
composes API keys (:class:`~corpus.keys.KeyRing`) and jobs (:class:`~corpus.jobs.JobTable`):

- :mod:`corpus.reads`: testimonies and passages as a viewer may read them;
- :mod:`corpus.writes`: adding, correcting, reviewing, consent changes and deletion, each
  whole or not at all;
- :mod:`corpus.audit`: the audit log, written by the reads and writes themselves;
- :mod:`corpus.keywords`: keyword search, per engine;
- :mod:`corpus.vector_rows`: passage and testimony vectors as rows;
- :mod:`corpus.theme_stats`: theme counts, cells and the tagger's measured errors;
- :mod:`corpus.visibility`: the consent rule and the row projection all of them apply.

Its methods are the store's one front: each hands the call to the table that does it.
Every read takes the caller's viewer and turns it into SQL: consent levels it may see,
redacted or original text, reviewer names or not. Reads of restricted or private material
and every write are recorded in the audit log, in the same place the data is read, so no
route can forget it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .access import Viewer
from .audit import AuditLog
from .db import Database, PostgresDatabase, open_database
from .jobs import JobTable
from .keys import KeyRing
from .keywords import KeywordScope, keyword_scope, keyword_search
from .reads import Reads
from .records import (
    AuditEntry,
    Hit,
    Passage,
    PassageEdit,
    Review,
    Speaker,
    Testimony,
    ThemeCell,
    ThemeCount,
    ThemeTag,
    Word,
)
from .theme_stats import ThemeStats
from .vector_rows import VectorRows
from .visibility import WITHHELD, PassageFilter, testimony_label
from .writes import Deleted, Writes

__all__ = [
    "WITHHELD",
    "Deleted",
    "KeywordScope",
    "PassageFilter",
    "Store",
    "keyword_scope",
    "testimony_label",
]


class Store:
    """A Voces archive database. Safe to share between threads (one lock, one connection)."""

    def __init__(self, location: Path | str) -> None:
        self.db: Database | PostgresDatabase = open_database(location)
        #: the SQLite file (None on PostgreSQL)
        self.path: Path | None = self.db.path
        #: where the archive's database is, fit to show (no password)
        self.location = self.db.location
        self.keys = KeyRing(self.db)
        self.jobs = JobTable(self.db)
        self.audit_log = AuditLog(self.db)
        self.reads = Reads(self.db, self.audit_log)
        self.vector_rows = VectorRows(self.db)
        self.writes = Writes(self.db, self.reads, self.vector_rows, self.audit_log)
        self.keywords = keyword_search(self.db)
        self.themes = ThemeStats(self.db, self.reads)
        #: pgvector's HNSW candidate list (at least the results asked for). On
        #: bench/scale.py's 100k archive recall@10 was 0.83 at pgvector's default (40),
        #: 0.95 at 100 and 0.98-0.99 at 200 (p50 13-14 ms): 200, as FAISS aims at 0.97
        self.ef_search = 200

    @property
    def searches_vectors(self) -> bool:
        """Whether vector search runs in the database (pgvector), filters and consent in
        the same query, instead of in a FAISS index beside it."""
        return self.db.engine == "postgresql"

    def migrations(self) -> list[tuple[int, str]]:
        return self.db.migrations()

    def schema_version(self) -> int:
        return self.db.schema_version()

    def close(self) -> None:
        self.db.close()

    def integrity_check(self) -> str:
        """The engine's own integrity check: "ok", or what is damaged."""
        return self.db.integrity_check()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.db.query(sql, args)

    def audit(
        self,
        viewer: Viewer,
        action: str,
        target: str = "",
        detail: str = "",
        db: Any | None = None,
    ) -> None:
        return self.audit_log.record(viewer, action, target, detail, db)

    def audit_entries(
        self, viewer: Viewer, limit: int = 100, since: str = "", action: str = ""
    ) -> list[AuditEntry]:
        return self.audit_log.entries(viewer, limit, since, action)

    def add_testimony(
        self,
        testimony: Testimony,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        embedder: str,
        viewer: Viewer,
        redacted: Sequence[str] | None = None,
        title_redacted: str | None = None,
        text_vector: np.ndarray | None = None,
    ) -> list[int]:
        return self.writes.add_testimony(
            testimony, passages, vectors, embedder, viewer, redacted, title_redacted, text_vector
        )

    def replace_machine_tags(self, tags_by_passage: dict[int, Sequence[ThemeTag]]) -> None:
        return self.writes.replace_machine_tags(tags_by_passage)

    def set_redactions(self, passages: dict[int, str], titles: dict[str, str]) -> None:
        return self.writes.set_redactions(passages, titles)

    def review(
        self,
        passage_id: int,
        theme: str,
        verdict: str,
        viewer: Viewer,
        reviewer: str = "",
        note: str = "",
    ) -> Review:
        return self.writes.review(passage_id, theme, verdict, viewer, reviewer, note)

    def correct_passage(
        self,
        passage_id: int,
        text: str,
        viewer: Viewer,
        *,
        redacted: str | None,
        vector: np.ndarray,
        embedder: str,
        tags: Sequence[ThemeTag],
        editor: str = "",
        note: str = "",
        text_vector: np.ndarray | None = None,
        words: Sequence[Word] | None = None,
    ) -> PassageEdit | None:
        return self.writes.correct_passage(
            passage_id,
            text,
            viewer,
            redacted=redacted,
            vector=vector,
            embedder=embedder,
            tags=tags,
            editor=editor,
            note=note,
            text_vector=text_vector,
            words=words,
        )

    def stored_words(self, passage_id: int, viewer: Viewer) -> tuple[Word, ...]:
        return self.writes.stored_words(passage_id, viewer)

    def rename_speaker(self, testimony_id: str, label: str, name: str, viewer: Viewer) -> Speaker:
        return self.writes.rename_speaker(testimony_id, label, name, viewer)

    def set_speaker(self, passage_id: int, label: str, viewer: Viewer) -> str:
        return self.writes.set_speaker(passage_id, label, viewer)

    def speakers(self, testimony_id: str, viewer: Viewer) -> list[Speaker]:
        return self.reads.speakers(testimony_id, viewer)

    def set_consent(self, testimony_id: str, consent: str, viewer: Viewer) -> Testimony:
        return self.writes.set_consent(testimony_id, consent, viewer)

    def delete_testimony(self, testimony_id: str, viewer: Viewer) -> Deleted:
        return self.writes.delete_testimony(testimony_id, viewer)

    def put_vectors(self, ids: Sequence[int], vectors: np.ndarray, embedder: str) -> None:
        return self.vector_rows.put(ids, vectors, embedder)

    def vector_ids(self) -> set[int]:
        return self.vector_rows.ids()

    def vectors(self, passage_ids: Sequence[int], dim: int) -> tuple[list[int], np.ndarray]:
        return self.vector_rows.read(passage_ids, dim)

    def vector_map(self, passage_ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        return self.vector_rows.read_map(passage_ids, dim)

    def testimony_vectors(self, testimony_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        return self.vector_rows.means(testimony_ids, dim)

    def needs_testimony_vectors(self) -> bool:
        return self.vector_rows.means_missing()

    def fill_testimony_vectors(self) -> int:
        return self.vector_rows.fill_means()

    def text_vectors(self, testimony_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        return self.vector_rows.texts(testimony_ids, dim)

    def put_text_vectors(self, vectors: dict[str, np.ndarray], embedder: str) -> None:
        self.vector_rows.put_texts(vectors, embedder)

    def text_vectors_missing(self, embedder: str) -> list[str]:
        return self.vector_rows.texts_missing(embedder)

    def vector_embedders(self) -> set[str]:
        return self.vector_rows.embedders()

    def vector_count(self) -> int:
        return self.vector_rows.count()

    def index_log(self, after: int) -> list[tuple[int, int, str]]:
        return self.vector_rows.index_log(after)

    def index_log_head(self) -> int:
        return self.vector_rows.index_log_head()

    def keyword_passages(
        self,
        terms: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 200,
        prefix: bool = False,
        visible: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[tuple[int, float]]:
        return self.keywords.passages(terms, viewer, flt, limit, prefix, visible)

    def term_passages(self, terms: Sequence[str], viewer: Viewer) -> dict[str, int]:
        return self.keywords.term_counts(terms, viewer)

    def stem_passages(self, stems: Sequence[str], cap: int, viewer: Viewer) -> dict[str, int]:
        return self.keywords.stem_counts(stems, cap, viewer)

    def theme_counts(
        self, viewer: Viewer, by: str = "", min_score: float = 0.0
    ) -> list[ThemeCount]:
        return self.themes.counts(viewer, by, min_score)

    def theme_cells(self, viewer: Viewer, by: str = "") -> list[ThemeCell]:
        return self.themes.cells(viewer, by)

    def theme_quotes(
        self, viewer: Viewer, by: str = "", per_cell: int = 3
    ) -> dict[tuple[str, str], list[Hit]]:
        return self.themes.quotes(viewer, by, per_cell)

    def review_confusion(self, viewer: Viewer) -> dict[str, dict[str, int]]:
        return self.themes.confusion(viewer)

    def review_pool(self, viewer: Viewer, limit: int, theme: str = "") -> list[tuple[Passage, str]]:
        return self.themes.pool(viewer, limit, theme)

    def untagged_passages(
        self, viewer: Viewer, min_score: float, limit: int
    ) -> list[tuple[int, str, str, str]]:
        return self.themes.untagged(viewer, min_score, limit)

    def review_totals(self) -> dict[str, int]:
        return self.themes.totals()

    def get_testimony(self, testimony_id: str, viewer: Viewer) -> Testimony:
        return self.reads.get_testimony(testimony_id, viewer)

    def list_testimonies(
        self,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Testimony], int]:
        return self.reads.list_testimonies(viewer, flt, limit, offset)

    def passages(self, testimony_id: str, viewer: Viewer) -> list[Passage]:
        return self.reads.passages(testimony_id, viewer)

    def passage(self, passage_id: int, viewer: Viewer) -> Passage:
        return self.reads.passage(passage_id, viewer)

    def passages_by_id(self, passage_ids: Sequence[int], viewer: Viewer) -> list[Passage]:
        return self.reads.passages_by_id(passage_ids, viewer)

    def hits(self, scored: Sequence[tuple[int, float]], viewer: Viewer) -> list[Hit]:
        return self.reads.hits(scored, viewer)

    def tags_for(self, passage_ids: Sequence[int], viewer: Viewer) -> dict[int, list[ThemeTag]]:
        return self.reads.tags_for(passage_ids, viewer)

    def machine_tags(self, passage_ids: Sequence[int]) -> dict[int, list[ThemeTag]]:
        return self.reads.machine_tags(passage_ids)

    def reviews(self, viewer: Viewer, passage_ids: Sequence[int] | None = None) -> list[Review]:
        return self.reads.reviews(viewer, passage_ids)

    def neighbours(
        self, passage_ids: Sequence[int], viewer: Viewer
    ) -> dict[int, tuple[str, int | None, int | None]]:
        return self.reads.neighbours(passage_ids, viewer)

    def texts(self, passage_ids: Sequence[int], viewer: Viewer) -> dict[int, str]:
        return self.reads.texts(passage_ids, viewer)

    def testimony_labels(self, testimony_ids: Sequence[str], viewer: Viewer) -> dict[str, str]:
        return self.reads.testimony_labels(testimony_ids, viewer)

    def passage_count(self, viewer: Viewer) -> int:
        return self.reads.passage_count(viewer)

    def passage_ids(
        self, viewer: Viewer, flt: PassageFilter = PassageFilter(), after: int = 0
    ) -> np.ndarray:
        return self.reads.passage_ids(viewer, flt, after)

    def passage_texts(
        self, viewer: Viewer, passage_ids: Sequence[int] | None = None
    ) -> list[tuple[int, str, str]]:
        return self.reads.passage_texts(viewer, passage_ids)

    def passage_edits(self, passage_id: int, viewer: Viewer) -> list[PassageEdit]:
        return self.reads.passage_edits(passage_id, viewer)

    def counts(self, viewer: Viewer) -> dict[str, int]:
        return self.reads.counts(viewer)

    def unredacted(
        self, viewer: Viewer
    ) -> tuple[list[tuple[int, str, str]], list[tuple[str, str, str]]]:
        return self.reads.unredacted(viewer)

    def find_by_hash(self, source_hash: str) -> tuple[str, str] | None:
        return self.reads.find_by_hash(source_hash)

    def source_of(self, testimony_id: str) -> tuple[str, str] | None:
        return self.reads.source_of(testimony_id)

    def media_paths(self) -> set[str]:
        return self.reads.media_paths()

    def all_passage_ids(self) -> set[int]:
        return self.reads.all_passage_ids()

    def passage_places(self, after: int = 0) -> list[tuple[int, int, str]]:
        return self.reads.passage_places(after)

    def testimony_cards(self, testimony_ids: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        return self.reads.testimony_cards(testimony_ids)

    def filter_generation(self) -> tuple[int, int]:
        return self.reads.filter_generation()
