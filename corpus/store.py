"""The archive's source of truth, read only through a :class:`Viewer`: SQLite on a laptop,
PostgreSQL + pgvector for an archive shared by many machines (see :mod:`corpus.db`).

Every read takes the caller's viewer and turns it into SQL: consent levels it may see,
redacted or original text, reviewer names or not. Reads of restricted or private material
and every write are recorded in the audit log, in the same place the data is read, so no
route can forget it. A testimony, its passages, their tags and their vectors are written
in one transaction: an ingest is stored whole or not at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .access import Viewer
from .db import (
    Database,
    PostgresDatabase,
    chunks,
    now,
    open_database,
    vector_dim,
)
from .errors import CorpusError, DuplicateError, ForbiddenError, NotFoundError
from .jobs import JobTable
from .keys import KeyRing
from .records import (
    CONSENT_LEVELS,
    VERDICTS,
    AuditEntry,
    Hit,
    Passage,
    PassageEdit,
    Review,
    Testimony,
    ThemeCell,
    ThemeCount,
    ThemeTag,
)
from .text import fold_words

__all__ = ["PG_EXACT_BELOW", "Deleted", "KeywordScope", "PassageFilter", "Store", "keyword_scope"]

#: Below this many passages visible to a caller, vector search on PostgreSQL scans them
#: exactly instead of through pgvector's HNSW index, so that its answer cannot depend on
#: passages the caller may not see (about 45 ms a search at the limit on 2 cores, 512-d).
PG_EXACT_BELOW = 10_000

#: What a viewer who may not see names reads where a redacted copy is missing.
WITHHELD = "[…]"


@dataclass(frozen=True)
class PassageFilter:
    """Restricts which passages a search or listing may return. Empty means any visible.

    Consent is not a filter: it comes from the viewer passed with every read."""

    region: str = ""
    community: str = ""
    theme: str = ""
    language: str = ""
    date_from: str = ""
    date_to: str = ""
    exclude_testimony: str = ""
    exclude_region: str = ""

    def where(self, viewer: Viewer, t: str = "t", p: str | None = "p") -> tuple[str, list[Any]]:
        """SQL condition over testimonies ``t`` and passages ``p`` for ``viewer``.

        With ``p=None`` the condition is about testimonies alone: a theme then means
        "told in any of its passages".
        """
        consent = viewer.consent
        clauses: list[str] = [f"+{t}.consent IN ({','.join('?' * len(consent))})"]
        args: list[Any] = list(consent)
        for column, value in (
            ("region", self.region),
            ("community", self.community),
            ("language", self.language),
        ):
            if value:
                clauses.append(f"lower({t}.{column}) = lower(?)")
                args.append(value)
        if self.date_from:
            clauses.append(f"{t}.date >= ?")
            args.append(self.date_from)
        if self.date_to:
            clauses.append(f"{t}.date != '' AND {t}.date <= ?")
            args.append(self.date_to)
        if self.exclude_testimony:
            clauses.append(f"{t}.id != ?")
            args.append(self.exclude_testimony)
        if self.exclude_region:
            clauses.append(f"lower({t}.region) != lower(?)")
            args.append(self.exclude_region)
        if self.theme:
            passages = (
                f"g.passage_id = {p}.id"
                if p
                else f"g.passage_id IN (SELECT id FROM passages WHERE testimony_id = {t}.id)"
            )
            clauses.append(
                f"EXISTS (SELECT 1 FROM effective_tags g WHERE {passages} AND g.theme = ?)"
            )
            args.append(self.theme)
        return " AND ".join(clauses), args


_GROUP_KEYS = {
    "region": "t.region",
    "community": "t.community",
    "language": "t.language",
    "year": "substr(t.date, 1, 4)",
}


def _names_visible(viewer: Viewer, allow_names: Any) -> bool:
    return viewer.sees_originals or bool(allow_names)


def testimony_label(
    viewer: Viewer,
    title: str,
    title_redacted: str | None,
    allow_names: Any,
    region: str | None,
    community: str | None,
) -> str:
    """A testimony's title, region and community as ``viewer`` reads them (the title's
    redacted form where names are hidden from them): what grouped search matches the
    query's words against."""
    if not _names_visible(viewer, allow_names):
        title = title_redacted or ""
    return " ".join((title, region or "", community or ""))


def _testimony(row: Any, viewer: Viewer) -> Testimony:
    title = row["title"]
    if not _names_visible(viewer, row["allow_names"]):
        title = row["title_redacted"] if row["title_redacted"] is not None else WITHHELD
    return Testimony(
        id=row["id"],
        title=title,
        region=row["region"],
        community=row["community"],
        date=row["date"],
        language=row["language"],
        language_probability=row["language_probability"],
        duration=row["duration"],
        consent=row["consent"],
        source_kind=row["source_kind"],
        source_name=row["source_name"] if viewer.sees_originals else "",
        source_hash=row["source_hash"] if viewer.sees_originals else "",
        # a recording cannot be redacted: only those who may hear names get it
        media_path=row["media_path"] if _names_visible(viewer, row["allow_names"]) else "",
        illustrative=bool(row["illustrative"]),
        allow_names=bool(row["allow_names"]),
        extra=json.loads(row["extra"]) if viewer.sees_originals else {},
        created_at=row["created_at"],
    )


def _text(row: Any, viewer: Viewer) -> tuple[str, bool]:
    """The passage text this viewer may read, and whether it is the redacted copy."""
    if _names_visible(viewer, row["allow_names"]):
        return row["text"], False
    redacted = row["redacted"]
    return (redacted if redacted is not None else WITHHELD), True


def _passage(row: Any, viewer: Viewer, tags: tuple[ThemeTag, ...] = ()) -> Passage:
    """A passage row as the viewer may read it."""
    text, redacted = _text(row, viewer)
    return Passage(
        id=row["id"],
        testimony_id=row["testimony_id"],
        seq=row["seq"],
        start=row["start"],
        end=row["end"],
        text=text,
        tags=tags,
        redacted=redacted,
    )


def _tag(row: Any, viewer: Viewer) -> ThemeTag:
    evidence = tuple(json.loads(row["evidence"]))
    if row["source"] == "human" and not viewer.sees_originals:
        evidence = ("reviewed",)  # who reviewed, and their note, are for archivists
    return ThemeTag(
        theme=row["theme"],
        score=row["score"],
        source=row["source"],
        evidence=evidence,
        version=row["version"],
    )


#: keyword search ranks this many times its limit before checking access (keyword_passages)
_KEYWORD_WIDEN = 4

# Consent conditions are written ``+t.consent IN (...)``: the unary plus keeps SQLite's
# planner from driving a query by the consent index (three values, so it selects most of
# the archive) instead of by passage ids. Without it, fetching 20 passages by id scanned
# every public testimony: 15 ms at 100k passages, growing with the archive.
_PASSAGE_COLUMNS = (
    'p.id, p.testimony_id, p.seq, p.start, p."end", p.text, p.redacted, t.allow_names, '
    "t.consent, t.region, t.community, t.language, t.date, t.title, t.title_redacted, "
    "t.media_path"
)


@dataclass(frozen=True)
class Deleted:
    """What :meth:`Store.delete_testimony` removed, and what lies outside the database."""

    testimony: Testimony  # as it was (its media path, its source hash)
    passage_ids: list[int]
    jobs: tuple[str, ...]  # upload jobs that had stored it (now without names)
    uploads: tuple[str, ...]  # their staged uploads, if any were left behind


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
        """SQLite's own integrity check: "ok", or what is damaged. PostgreSQL checks its
        own pages and constraints as it writes, and has no such command: "ok"."""
        if self.db.engine != "sqlite":
            return "ok"
        return str(self.db.query("PRAGMA integrity_check")[0][0])

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.db.query(sql, args)

    def _tuples_in(
        self, sql: str, ids: Sequence[Any], args: Sequence[Any] = (), binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` as plain tuples, ``{ids}`` in it standing for the placeholders
        of ``ids`` (bound first, then ``args``), run in chunks under SQLite's limit
        (``binary``: see :meth:`PostgresDatabase.tuples`)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows += self.db.tuples(sql.format(ids=marks), [*chunk, *args], binary=binary)
        return rows

    # -- audit ----------------------------------------------------------------------------

    def audit(
        self,
        viewer: Viewer,
        action: str,
        target: str = "",
        detail: str = "",
        db: Any | None = None,
    ) -> None:
        """Record an action; inside ``db``'s transaction when one is given."""
        if not viewer.audited:
            return
        row = (now(), viewer.name, viewer.role, action, target[:2000], detail[:2000])
        sql = "INSERT INTO audit (at, actor, role, action, target, detail) VALUES (?,?,?,?,?,?)"
        if db is not None:
            db.execute(sql, row)
        else:
            with self.db.transaction() as conn:
                conn.execute(sql, row)

    def _audit_reads(self, viewer: Viewer, action: str, consents: dict[str, str]) -> None:
        """Log a read when it showed anything that is not public."""
        shown = sorted(tid for tid, c in consents.items() if c != "public")
        if shown:
            levels = sorted({consents[t] for t in shown})
            self.audit(viewer, action, ",".join(shown), "consent: " + ",".join(levels))

    def audit_entries(
        self, viewer: Viewer, limit: int = 100, since: str = "", action: str = ""
    ) -> list[AuditEntry]:
        if not viewer.is_admin:
            raise ForbiddenError("the audit log is for admins")
        clauses, args = ["at >= ?"], [since]
        if action:
            clauses.append("action = ?")
            args.append(action)
        rows = self._query(
            f"SELECT * FROM audit WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            [*args, limit],
        )
        return [AuditEntry(**dict(r)) for r in rows]

    # -- writing --------------------------------------------------------------------------

    @staticmethod
    def _require_writer(viewer: Viewer) -> None:
        if not viewer.can_write:
            raise ForbiddenError("this needs an archivist's key")

    def add_testimony(
        self,
        testimony: Testimony,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        embedder: str,
        viewer: Viewer,
        redacted: Sequence[str] | None = None,
        title_redacted: str | None = None,
    ) -> list[int]:
        """Store a testimony with its passages, tags and vectors, all or nothing.

        ``redacted`` are the passages' texts with names and numbers masked (for viewers
        who may not see originals). Returns the new passage ids, in order."""
        self._require_writer(viewer)
        if testimony.consent not in CONSENT_LEVELS:
            raise CorpusError(f"unknown consent level {testimony.consent!r}")
        if len(vectors) != len(passages) or (
            redacted is not None and len(redacted) != len(passages)
        ):
            raise CorpusError("passages, vectors and redactions differ in length")
        with self.db.transaction() as db:
            if db.execute("SELECT 1 FROM testimonies WHERE id = ?", (testimony.id,)).fetchone():
                raise DuplicateError(f"testimony {testimony.id!r} is already in the archive")
            db.execute(
                "INSERT INTO testimonies (id, title, title_redacted, region, community, date, "
                "language, language_probability, duration, consent, source_kind, source_name, "
                "source_hash, media_path, illustrative, allow_names, extra, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    testimony.id,
                    testimony.title,
                    title_redacted,
                    testimony.region,
                    testimony.community,
                    testimony.date,
                    testimony.language,
                    testimony.language_probability,
                    testimony.duration,
                    testimony.consent,
                    testimony.source_kind,
                    testimony.source_name,
                    testimony.source_hash,
                    testimony.media_path,
                    int(testimony.illustrative),
                    int(testimony.allow_names),
                    json.dumps(testimony.extra, ensure_ascii=False),
                    testimony.created_at or now(),
                ),
            )
            # one multi-row INSERT per 100 passages (a round trip each matters on a
            # network database); RETURNING's row order is not promised, so map by seq
            by_seq: dict[int, int] = {}
            for start in range(0, len(passages), 100):
                part = passages[start : start + 100]
                rows = db.execute(
                    'INSERT INTO passages (testimony_id, seq, start, "end", text, redacted) '
                    f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(part))} RETURNING id, seq",
                    [
                        value
                        for n, passage in enumerate(part, start)
                        for value in (
                            testimony.id,
                            passage.seq,
                            passage.start,
                            passage.end,
                            passage.text,
                            redacted[n] if redacted is not None else None,
                        )
                    ],
                ).fetchall()
                by_seq.update({int(r[1]): int(r[0]) for r in rows})
            ids = [by_seq[passage.seq] for passage in passages]
            self._write_tags(
                db, [(pid, tag) for pid, p in zip(ids, passages, strict=True) for tag in p.tags]
            )
            self._write_vectors(db, ids, vectors, embedder)
            self.audit(viewer, "add", testimony.id, f"{len(ids)} passages, {testimony.consent}", db)
            return ids

    def _write_vectors(
        self, db: Any, ids: Sequence[int], vectors: np.ndarray, embedder: str
    ) -> None:
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        vector = self.db.vector
        db.executemany(
            "INSERT INTO vectors (passage_id, embedder, vector) VALUES (?, ?, ?) "
            "ON CONFLICT (passage_id) DO UPDATE SET embedder = excluded.embedder, "
            "vector = excluded.vector",
            [(pid, embedder, vector(array[n])) for n, pid in enumerate(ids)],
        )
        tids: set[str] = set()
        for chunk in chunks(ids):
            rows = db.execute(
                f"SELECT DISTINCT testimony_id FROM passages WHERE id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            tids.update(r[0] for r in rows)
        self._write_testimony_vectors(db, sorted(tids), embedder)

    def _write_testimony_vectors(
        self, db: Any, testimony_ids: Sequence[str], embedder: str
    ) -> None:
        """Store the mean passage vector of each testimony (what grouped search reads)."""
        for tid in testimony_ids:
            # two lookups by index (passages by testimony, vectors by id): as one join,
            # PostgreSQL's cached plan from an empty archive scanned every vector
            pids = [
                r[0] for r in db.execute("SELECT id FROM passages WHERE testimony_id = ?", (tid,))
            ]
            blobs = [
                r[0]
                for part in chunks(pids)
                for r in db.execute(
                    f"SELECT vector FROM vectors WHERE embedder = ? AND passage_id IN "
                    f"({','.join('?' * len(part))})",
                    (embedder, *part),
                )
            ]
            if not blobs:
                continue
            mean = self.db.array(blobs, 0)
            db.execute(
                "INSERT INTO testimony_vectors (testimony_id, embedder, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (testimony_id) DO UPDATE SET embedder = excluded.embedder, "
                "vector = excluded.vector",
                (tid, embedder, self.db.vector(mean.mean(axis=0))),
            )

    def put_vectors(self, ids: Sequence[int], vectors: np.ndarray, embedder: str) -> None:
        """Store (or replace) passage vectors, e.g. after a change of embedder."""
        with self.db.transaction() as db:
            self._write_vectors(db, ids, vectors, embedder)

    @staticmethod
    def _write_tags(db: Any, tags: Iterable[tuple[int, ThemeTag]]) -> None:
        """Write (passage id, tag) pairs, replacing a passage's tag of the same theme
        and source."""
        db.executemany(
            "INSERT INTO tags (passage_id, theme, score, source, evidence, version) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (passage_id, theme, source) DO UPDATE SET "
            "score = excluded.score, evidence = excluded.evidence, version = excluded.version",
            [
                (
                    passage_id,
                    tag.theme,
                    min(1.0, max(0.0, float(tag.score))),
                    tag.source,
                    json.dumps(list(tag.evidence), ensure_ascii=False),
                    tag.version,
                )
                for passage_id, tag in tags
            ],
        )

    def replace_machine_tags(self, tags_by_passage: dict[int, Sequence[ThemeTag]]) -> None:
        """Swap the machine tags (every source but "human") of the given passages."""
        with self.db.transaction() as db:
            for passage_id, tags in tags_by_passage.items():
                db.execute(
                    "DELETE FROM tags WHERE passage_id = ? AND source != 'human'", (passage_id,)
                )
                self._write_tags(db, [(passage_id, tag) for tag in tags])
            # new tags on existing passages change what a theme filter selects (tags
            # inserted with new passages need no bump: see migration 005)
            db.execute("UPDATE filter_generation SET n = n + 1 WHERE id = 1")

    def set_redactions(self, passages: dict[int, str], titles: dict[str, str]) -> None:
        """Store redacted copies (filled in for archives made before redaction existed)."""
        with self.db.transaction() as db:
            db.executemany(
                "UPDATE passages SET redacted = ? WHERE id = ?",
                [(text, pid) for pid, text in passages.items()],
            )
            db.executemany(
                "UPDATE testimonies SET title_redacted = ? WHERE id = ?",
                [(text, tid) for tid, text in titles.items()],
            )

    def unredacted(
        self, viewer: Viewer
    ) -> tuple[list[tuple[int, str, str]], list[tuple[str, str, str]]]:
        """(id, text, language) of passages and testimony titles with no redacted copy:
        original text, so only for a viewer who may read originals."""
        if not viewer.sees_originals:
            raise ForbiddenError("original transcripts are for archivists")
        passages = self._query(
            "SELECT p.id, p.text, t.language FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id WHERE p.redacted IS NULL"
        )
        titles = self._query(
            "SELECT id, title, language FROM testimonies WHERE title_redacted IS NULL"
        )
        return [tuple(r) for r in passages], [tuple(r) for r in titles]  # type: ignore[misc]

    def review(
        self,
        passage_id: int,
        theme: str,
        verdict: str,
        viewer: Viewer,
        reviewer: str = "",
        note: str = "",
    ) -> Review:
        """Record a person's decision on one theme of one passage (the latest one wins).

        ``reviewer`` defaults to the viewer's name."""
        self._require_writer(viewer)
        if verdict not in VERDICTS:
            raise CorpusError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        reviewer = (reviewer or viewer.name).strip()
        if not reviewer:
            raise CorpusError("a review needs the reviewer's name")
        if not self._passage_rows("p.id = ?", [passage_id], viewer):
            raise NotFoundError(f"no passage {passage_id}")
        review = Review(passage_id, theme, verdict, reviewer, note.strip(), now())
        row = (
            review.passage_id,
            review.theme,
            review.verdict,
            review.reviewer,
            review.note,
            review.reviewed_at,
        )
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO reviews (passage_id, theme, verdict, reviewer, note, reviewed_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (passage_id, theme) DO UPDATE SET "
                "verdict = excluded.verdict, reviewer = excluded.reviewer, "
                "note = excluded.note, reviewed_at = excluded.reviewed_at",
                row,
            )
            db.execute(
                "INSERT INTO review_log (passage_id, theme, verdict, reviewer, note, "
                "reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            self.audit(viewer, "review", f"passage:{passage_id}", f"{verdict} {theme}", db)
        return review

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
    ) -> PassageEdit | None:
        """Replace a passage's text with a correction, in one transaction: the text, its
        redacted copy, vector and machine tags change; its times, reviews and place do
        not; the edit is kept in ``passage_edits``. None when the text is unchanged."""
        self._require_writer(viewer)
        if not viewer.sees_originals:
            raise ForbiddenError("correcting a transcript needs an archivist's key")
        text = text.strip()
        if not text:
            raise CorpusError("a corrected passage cannot be empty (delete the testimony instead)")
        editor = (editor or viewer.name).strip()
        if not editor:
            raise CorpusError("a correction needs the editor's name")
        with self.db.transaction() as db:
            row = db.execute(
                "SELECT p.text FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id = ? AND +t.consent IN ({','.join('?' * len(viewer.consent))})",
                [passage_id, *viewer.consent],
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no passage {passage_id}")
            if row[0] == text:
                return None
            edit = PassageEdit(passage_id, row[0], text, editor, note.strip(), now())
            db.execute(
                "INSERT INTO passage_edits (passage_id, old_text, new_text, editor, note, "
                "edited_at) VALUES (?, ?, ?, ?, ?, ?)",
                (passage_id, edit.old_text, text, editor, edit.note, edit.edited_at),
            )
            db.execute(
                "UPDATE passages SET text = ?, redacted = ? WHERE id = ?",
                (text, redacted, passage_id),
            )
            self._write_vectors(db, [passage_id], vector.reshape(1, -1), embedder)
            db.execute("DELETE FROM tags WHERE passage_id = ? AND source != 'human'", (passage_id,))
            self._write_tags(db, [(passage_id, tag) for tag in tags])
            db.execute("UPDATE filter_generation SET n = n + 1 WHERE id = 1")
            self.audit(viewer, "correct", f"passage:{passage_id}", f"by {editor}", db)
        return edit

    def passage_edits(self, passage_id: int, viewer: Viewer) -> list[PassageEdit]:
        """A passage's corrections, oldest first (archivists: they hold original text)."""
        if not viewer.sees_originals:
            raise ForbiddenError("the edit history holds original text: it is for archivists")
        if not self._passage_rows("p.id = ?", [passage_id], viewer):
            raise NotFoundError(f"no passage {passage_id}")
        rows = self._query(
            "SELECT passage_id, old_text, new_text, editor, note, edited_at FROM passage_edits "
            "WHERE passage_id = ? ORDER BY id",
            [passage_id],
        )
        return [PassageEdit(*r) for r in rows]

    def set_consent(self, testimony_id: str, consent: str, viewer: Viewer) -> Testimony:
        """Change a testimony's consent level (withdrawal is a change to private, or a
        deletion). Recorded in the audit log."""
        self._require_writer(viewer)
        if consent not in CONSENT_LEVELS:
            raise CorpusError(f"consent {consent!r} is not one of {', '.join(CONSENT_LEVELS)}")
        before = self._get(testimony_id, viewer, audit=False)
        with self.db.transaction() as db:
            db.execute("UPDATE testimonies SET consent = ? WHERE id = ?", (consent, testimony_id))
            self.audit(viewer, "consent", testimony_id, f"{before.consent} -> {consent}", db)
        return self._get(testimony_id, viewer, audit=False)

    def delete_testimony(self, testimony_id: str, viewer: Viewer) -> Deleted:
        """Remove a testimony with its passages, tags, reviews, edits and vectors in one
        transaction, and what else named it: the upload jobs that stored it keep their
        ids, states and times but lose the file name, metadata and messages (which can
        hold a title or transcribed words), and so do their audit entries; the audit
        log keeps who deleted what and when. Then the database files are purged of the
        deleted bytes (:meth:`Database.purge`). Returns what the caller must remove
        beside the database (the recording, staged uploads)."""
        self._require_writer(viewer)
        testimony = self._get(testimony_id, viewer, audit=False)
        pattern = '%"' + re.sub(r"([\\%_])", r"\\\1", testimony_id) + '"%'
        with self.db.transaction() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM passages WHERE testimony_id = ?", (testimony_id,)
                )
            ]
            # review_log has no foreign key (it outlives reviews); it goes with the testimony
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM review_log WHERE passage_id IN ({marks})", chunk)
            jobs = [
                (r[0], r[1], r[2])
                for r in db.execute(
                    "SELECT id, upload_path, results FROM jobs WHERE results LIKE ? ESCAPE '\\'",
                    (pattern,),
                )
            ]
            for job_id, _, results in jobs:
                # each result keeps its testimony id and status, not the file it came from
                kept = [
                    {"id": r.get("id", ""), "status": r.get("status", "")}
                    for r in json.loads(results)
                ]
                db.execute(
                    "UPDATE jobs SET source_name = '', metadata = '{}', message = 'withdrawn', "
                    "error = '', upload_path = '', results = ? WHERE id = ?",
                    (json.dumps(kept), job_id),
                )
                db.execute(
                    "UPDATE audit SET detail = '' WHERE target = ? AND action = 'upload'",
                    (f"job:{job_id}",),
                )
            db.execute("DELETE FROM testimonies WHERE id = ?", (testimony_id,))
            self.audit(viewer, "delete", testimony_id, f"{len(ids)} passages", db)
        self.db.purge()
        return Deleted(testimony, ids, tuple(j[0] for j in jobs), tuple(j[1] for j in jobs if j[1]))

    # -- reading: ingest bookkeeping (ids and hashes only) ----------------------------------

    def find_by_hash(self, source_hash: str) -> tuple[str, str] | None:
        """(id, consent) of the testimony with these source bytes, if any (for ingest)."""
        rows = self._query(
            "SELECT id, consent FROM testimonies WHERE source_hash = ?", (source_hash,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def source_of(self, testimony_id: str) -> tuple[str, str] | None:
        """(source hash, consent) stored under ``testimony_id``, if any (for ingest)."""
        rows = self._query(
            "SELECT source_hash, consent FROM testimonies WHERE id = ?", (testimony_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def media_paths(self) -> set[str]:
        """Every stored media path (for the consistency check)."""
        return {r[0] for r in self._query("SELECT media_path FROM testimonies") if r[0]}

    # -- reading: testimonies and passages ---------------------------------------------------

    def get_testimony(self, testimony_id: str, viewer: Viewer) -> Testimony:
        """A testimony the viewer may see; else NotFoundError (existence is not leaked)."""
        return self._get(testimony_id, viewer, audit=True)

    def _get(self, testimony_id: str, viewer: Viewer, audit: bool) -> Testimony:
        rows = self._query(
            f"SELECT * FROM testimonies WHERE id = ? AND consent IN "
            f"({','.join('?' * len(viewer.consent))})",
            (testimony_id, *viewer.consent),
        )
        if not rows:
            raise NotFoundError(f"no testimony {testimony_id!r}")
        if audit:
            self._audit_reads(viewer, "read", {testimony_id: rows[0]["consent"]})
        return _testimony(rows[0], viewer)

    def list_testimonies(
        self,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Testimony], int]:
        """Testimonies matching ``flt`` that the viewer may see, and their total count."""
        where, args = flt.where(viewer, p=None)
        total = self._query(f"SELECT count(*) FROM testimonies t WHERE {where}", args)[0][0]
        rows = self._query(
            f"SELECT * FROM testimonies t WHERE {where} "
            "ORDER BY t.date DESC, t.id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        self._audit_reads(viewer, "list", {r["id"]: r["consent"] for r in rows})
        return [_testimony(r, viewer) for r in rows], int(total)

    def _passage_rows(
        self,
        condition: str,
        args: Sequence[Any],
        viewer: Viewer,
        order: str = "",
        limit: int | None = None,
    ) -> list[Any]:
        """Passage rows within ``condition`` of testimonies the viewer may see, in
        ``order`` (an SQL expression) and at most ``limit`` of them when given."""
        consent = viewer.consent
        tail = (f" ORDER BY {order}" if order else "") + (" LIMIT ?" if limit is not None else "")
        return self._query(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {condition} AND +t.consent IN ({','.join('?' * len(consent))}){tail}",
            [*args, *consent, *([] if limit is None else [limit])],
        )

    def _passages(self, rows: Sequence[Any], viewer: Viewer) -> list[Passage]:
        tags = self.tags_for([r["id"] for r in rows], viewer)
        return [_passage(r, viewer, tuple(tags.get(r["id"], []))) for r in rows]

    def passages(self, testimony_id: str, viewer: Viewer) -> list[Passage]:
        """A visible testimony's passages in order (NotFoundError if not visible)."""
        self.get_testimony(testimony_id, viewer)
        rows = self._passage_rows("p.testimony_id = ?", [testimony_id], viewer)
        rows = sorted(rows, key=lambda r: r["seq"])
        return self._passages(rows, viewer)

    def passage(self, passage_id: int, viewer: Viewer) -> Passage:
        rows = self._passage_rows("p.id = ?", [passage_id], viewer)
        if not rows:
            raise NotFoundError(f"no passage {passage_id}")
        self._audit_reads(viewer, "read", {rows[0]["testimony_id"]: rows[0]["consent"]})
        return self._passages(rows, viewer)[0]

    def passages_by_id(self, passage_ids: Sequence[int], viewer: Viewer) -> list[Passage]:
        """The given passages the viewer may see (others are left out), in id order."""
        rows: list[Any] = []
        # ints, not numpy's: sqlite3 binds an np.int64 as a blob, which matches no id
        for chunk in chunks([int(pid) for pid in passage_ids]):
            rows += self._passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
        rows.sort(key=lambda r: r["id"])
        self._audit_reads(viewer, "read", {r["testimony_id"]: r["consent"] for r in rows})
        return self._passages(rows, viewer)

    def hits(self, scored: Sequence[tuple[int, float]], viewer: Viewer) -> list[Hit]:
        """Search results for scored passage ids, in the given order; passages the viewer
        may not see (or deleted meanwhile) are left out."""
        ids = [pid for pid, _ in scored]
        rows: dict[int, Any] = {}
        for chunk in chunks(ids):
            found = self._passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
            rows.update({r["id"]: r for r in found})
        tags = self.tags_for(list(rows), viewer)
        hits = []
        for pid, score in scored:
            row = rows.get(pid)
            if row is None:
                continue
            text, _ = _text(row, viewer)
            names = _names_visible(viewer, row["allow_names"])
            title = row["title"] if names else (row["title_redacted"] or WITHHELD)
            hits.append(
                Hit(
                    testimony_id=row["testimony_id"],
                    passage_id=pid,
                    text=text,
                    score=round(score, 4),
                    start=row["start"],
                    end=row["end"],
                    region=row["region"],
                    community=row["community"],
                    language=row["language"],
                    date=row["date"],
                    title=title,
                    consent=row["consent"],
                    themes=tuple(dict.fromkeys(t.theme for t in tags.get(pid, []))),
                    has_audio=bool(row["media_path"]) and names,
                )
            )
        self._audit_reads(viewer, "search", {h.testimony_id: h.consent for h in hits})
        return hits

    def tags_for(self, passage_ids: Sequence[int], viewer: Viewer) -> dict[int, list[ThemeTag]]:
        """Effective tags: machine tags not overruled by a review, plus reviewed ones.

        Callers pass ids of passages the viewer may see; tags carry no testimony text."""
        return self._tags(passage_ids, "effective_tags", viewer)

    def machine_tags(self, passage_ids: Sequence[int]) -> dict[int, list[ThemeTag]]:
        """Tags as the machine made them, reviews ignored (for evaluation and audit)."""
        return self._tags(passage_ids, "tags", Viewer.system(), "source != 'human' AND ")

    def _tags(
        self, passage_ids: Sequence[int], table: str, viewer: Viewer, condition: str = ""
    ) -> dict[int, list[ThemeTag]]:
        out: dict[int, list[ThemeTag]] = {}
        for chunk in chunks(passage_ids):
            rows = self._query(
                f"SELECT * FROM {table} WHERE {condition}passage_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY score DESC",
                chunk,
            )
            for r in rows:
                out.setdefault(r["passage_id"], []).append(_tag(r, viewer))
        return out

    def reviews(self, viewer: Viewer, passage_ids: Sequence[int] | None = None) -> list[Review]:
        """Current reviews of passages the viewer may see; reviewer and note only for
        archivists."""
        consent = viewer.consent
        sql = (
            "SELECT r.* FROM reviews r JOIN passages p ON p.id = r.passage_id "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE +t.consent IN ({','.join('?' * len(consent))})"
        )
        args: list[Any] = list(consent)
        if passage_ids is not None:
            sql += f" AND r.passage_id IN ({','.join('?' * len(passage_ids))})"
            args += list(passage_ids)
        rows = self._query(sql + " ORDER BY r.passage_id, r.theme", args)
        names = viewer.sees_originals
        return [
            Review(
                r["passage_id"],
                r["theme"],
                r["verdict"],
                r["reviewer"] if names else "",
                r["note"] if names else "",
                r["reviewed_at"],
            )
            for r in rows
        ]

    def neighbours(
        self, passage_ids: Sequence[int], viewer: Viewer
    ) -> dict[int, tuple[str, int | None, int | None]]:
        """For each of these passages the viewer may see: (its testimony, the passage
        before it, the passage after it). Ids only, for ranking.

        A testimony's passages are written in one transaction, so their ids are nearly
        always consecutive: the ids one below and one above are read with the passages
        themselves (one indexed lookup each) and kept when they are the same testimony's
        previous and next passage; only the rest (a testimony's last passage, or ids
        made non-consecutive) are looked up by sequence number."""
        wanted = sorted(set(passage_ids))
        probe = sorted(set(wanted) | {p - 1 for p in wanted} | {p + 1 for p in wanted})
        rows = self._tuples_in(
            "SELECT p.id, p.testimony_id, p.seq FROM passages p WHERE p.id IN ({ids})", probe
        )
        # consent per testimony, once each (a join per passage row cost twice as much)
        consent = viewer.consent
        visible = {
            r[0]
            for r in self._tuples_in(
                "SELECT id FROM testimonies WHERE id IN ({ids}) "
                f"AND +consent IN ({','.join('?' * len(consent))})",
                sorted({r[1] for r in rows}),
                consent,
            )
        }
        place: dict[int, tuple[str, int]] = {r[0]: (r[1], r[2]) for r in rows if r[1] in visible}
        out: dict[int, tuple[str, int | None, int | None]] = {}
        unsure: list[int] = []
        for pid in wanted:
            if pid not in place:
                continue
            tid, seq = place[pid]
            before = place.get(pid - 1)
            after = place.get(pid + 1)
            has_before = before is not None and before == (tid, seq - 1)
            has_after = after is not None and after == (tid, seq + 1)
            if (has_before or seq == 0) and has_after:
                out[pid] = (tid, pid - 1 if has_before else None, pid + 1)
            else:
                unsure.append(pid)
        rows = self._tuples_in(
            "SELECT p.id, p.testimony_id, "
            "(SELECT q.id FROM passages q WHERE q.testimony_id = p.testimony_id "
            "AND q.seq < p.seq ORDER BY q.seq DESC LIMIT 1), "
            "(SELECT q.id FROM passages q WHERE q.testimony_id = p.testimony_id "
            "AND q.seq > p.seq ORDER BY q.seq LIMIT 1) "
            "FROM passages p WHERE p.id IN ({ids})",
            unsure,
        )
        out.update({r[0]: (r[1], r[2], r[3]) for r in rows})
        return out

    def texts(self, passage_ids: Sequence[int], viewer: Viewer) -> dict[int, str]:
        """The text of each passage the viewer may see, as the viewer may read it."""
        out: dict[int, str] = {}
        for chunk in chunks(passage_ids):
            rows = self._passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
            out.update({r["id"]: _text(r, viewer)[0] for r in rows})
        return out

    def keyword_passages(
        self,
        terms: Sequence[str],
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 200,
        prefix: bool = False,
        visible: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[tuple[int, float]]:
        """Passages holding any of ``terms`` (accent-folded words; with ``prefix``, any
        word beginning with one), best BM25 first, as (passage id, BM25 score > 0), among
        those the viewer may see within ``flt``. A viewer who may not see names matches
        the redacted text only.

        ``visible`` (SQLite): for a caller that already holds the ids the viewer may find
        within ``flt`` (grouped search caches each filter's id set), a test of which of
        some passage ids those are (a boolean each). The matches are then ranked over
        the whole archive and tested in memory instead of joined to their passages and
        testimonies in SQL (about 3 us a match)."""
        words = [t.replace('"', "") for t in terms if t.replace('"', "").strip()]
        if not words:
            return []
        if self.db.engine == "postgresql":
            return self._pg_keyword_passages(words, viewer, flt, limit, prefix)
        scope = keyword_scope(viewer)
        star = "*" if prefix else ""
        match = f"{{{scope.column}}}: (" + " OR ".join(f'"{w}"{star}' for w in words) + ")"
        if visible is not None:
            return self._keyword_visible(
                scope.table, match, limit, visible, narrow=flt != PassageFilter()
            )
        where, args = flt.where(viewer)
        # Without a filter, first the best matches over the whole archive, then which of
        # them the viewer may see: joining every match to its passage and testimony before
        # ranking cost 3 us a match (thousands for a common stem). If that leaves fewer
        # than ``limit`` while more matches exist, the joined query below decides. A filter
        # (a region: 5% of the archive) would leave too few: it goes there at once.
        if flt != PassageFilter():
            return self._keyword_joined(scope.table, match, where, args, limit)
        wide = limit * _KEYWORD_WIDEN
        best = self._keyword_ranked(scope.table, match, wide)
        seen = {
            r[0]
            for r in self._tuples_in(
                "SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id IN ({{ids}}) AND {where}",
                [r[0] for r in best],
                args,
            )
        }
        kept = [(r[0], -float(r[1])) for r in best if r[0] in seen]
        if len(kept) >= limit or len(best) < wide:
            return kept[:limit]
        return self._keyword_joined(scope.table, match, where, args, limit)

    def _keyword_ranked(self, table: str, match: str, limit: int) -> list[tuple[Any, ...]]:
        """(rowid, bm25) of the best ``limit`` FTS5 matches in a scope's ``table``
        (:func:`keyword_scope`), filters not checked (``limit`` -1: all of them); bm25 is
        negative, best first."""
        return self.db.tuples(
            f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ? "
            f"ORDER BY bm25({table}) LIMIT ?",
            [match, limit],
        )

    def _keyword_visible(
        self,
        table: str,
        match: str,
        limit: int,
        visible: Callable[[np.ndarray], np.ndarray],
        narrow: bool,
    ) -> list[tuple[int, float]]:
        """The best keyword matches that ``visible`` admits: first among the best
        ``limit`` x 4 over the archive, then, if that leaves fewer than ``limit`` while
        more matches exist, among all of them (at once for a ``narrow`` filter, such as a
        region: 5% of the archive would leave too few)."""
        wide = -1 if narrow else limit * _KEYWORD_WIDEN  # -1: no limit
        while True:
            rows = self._keyword_ranked(table, match, wide)
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            kept = [
                (int(r[0]), -float(r[1])) for r, ok in zip(rows, visible(ids), strict=True) if ok
            ]
            if len(kept) >= limit or wide < 0 or len(rows) < wide:
                return kept[:limit]
            wide = -1

    def _keyword_joined(
        self, table: str, match: str, where: str, args: Sequence[Any], limit: int
    ) -> list[tuple[int, float]]:
        """The best keyword matches among the passages ``where`` admits (every match is
        joined to its passage and testimony, then ranked)."""
        rows = self._query(
            f"SELECT f.rowid, bm25({table}) FROM {table} f "
            "JOIN passages p ON p.id = f.rowid JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {table} MATCH ? AND {where} ORDER BY bm25({table}) LIMIT ?",
            [match, *args, limit],
        )
        return [(r[0], -float(r[1])) for r in rows]

    def _pg_keyword_passages(
        self, words: Sequence[str], viewer: Viewer, flt: PassageFilter, limit: int, prefix: bool
    ) -> list[tuple[int, float]]:
        """PostgreSQL full-text search: the same folded, unstemmed words, ranked by
        ts_rank_cd (cover density; PostgreSQL has no BM25), best first."""
        column = "p.fts_original" if viewer.sees_originals else "p.fts_redacted"
        where, args = flt.where(viewer)
        phrases = [parts for parts in map(fold_words, words) if parts]
        star = ":*" if prefix else ""
        query = " | ".join(
            "(" + " <-> ".join(f"'{p}'" for p in parts) + star + ")" for parts in phrases
        )
        if not query:
            return []
        rows = self._query(
            f"SELECT p.id, ts_rank_cd({column}, q) AS rank FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id, to_tsquery('simple', ?) q "
            f"WHERE {column} @@ q AND {where} ORDER BY rank DESC, p.id LIMIT ?",
            [query, *args, limit],
        )
        return [(int(r[0]), max(float(r[1]), 1e-6)) for r in rows]

    def stem_passages(self, stems: Sequence[str], cap: int, viewer: Viewer) -> dict[str, int]:
        """About how many passages ``viewer`` may read hold a word beginning with each
        stem, counted up to ``cap`` (SQLite: the sum of its words' passage counts in the
        viewer's keyword scope, an upper bound). Hidden passages are never counted: the
        count decides whether a stem takes part in ranking."""
        out: dict[str, int] = {}
        for stem in stems:
            if self.db.engine == "postgresql":
                parts = fold_words(stem)
                if len(parts) != 1:
                    continue
                column = "fts_original" if viewer.sees_originals else "fts_redacted"
                consent = viewer.consent
                n = self._query(
                    "SELECT count(*) FROM (SELECT 1 FROM passages p "
                    "JOIN testimonies t ON t.id = p.testimony_id "
                    f"WHERE p.{column} @@ to_tsquery('simple', ?) "
                    f"AND t.consent IN ({','.join('?' * len(consent))}) LIMIT ?) s",
                    [f"'{parts[0]}':*", *consent, cap],
                )[0][0]
            else:
                n = self._query(
                    f"SELECT coalesce(sum(doc), 0) FROM {keyword_scope(viewer).vocab} "
                    "WHERE term >= ? AND term < ?",
                    [stem, stem + "\uffff"],
                )[0][0]
            out[stem] = min(int(n), cap)
        return out

    def testimony_labels(self, testimony_ids: Sequence[str], viewer: Viewer) -> dict[str, str]:
        """Title, region and community of each testimony the viewer may see, the title as
        the viewer reads it (its redacted form where names are hidden from them)."""
        consent = viewer.consent
        rows = self._tuples_in(
            "SELECT id, title, title_redacted, allow_names, region, community FROM testimonies "
            f"WHERE id IN ({{ids}}) AND +consent IN ({','.join('?' * len(consent))})",
            list(testimony_ids),
            consent,
        )
        return {tid: testimony_label(viewer, *row) for tid, *row in rows}

    def term_passages(self, terms: Sequence[str], viewer: Viewer) -> dict[str, int]:
        """How many passages ``viewer`` may read hold each (folded) term: rare terms are
        names and codes. Hidden passages are never counted (see :meth:`stem_passages`)."""
        if not terms:
            return {}
        if self.db.engine == "postgresql":
            column = "fts_original" if viewer.sees_originals else "fts_redacted"
            consent = viewer.consent
            out = {}
            for term in terms:
                parts = fold_words(term)
                if len(parts) == 1:
                    n = self._query(
                        "SELECT count(*) FROM passages p JOIN testimonies t "
                        f"ON t.id = p.testimony_id WHERE p.{column} @@ to_tsquery('simple', ?) "
                        f"AND t.consent IN ({','.join('?' * len(consent))})",
                        [f"'{parts[0]}'", *consent],
                    )[0][0]
                    if n:
                        out[term] = int(n)
            return out
        rows = self._query(
            f"SELECT term, doc FROM {keyword_scope(viewer).vocab} WHERE term IN "
            f"({','.join('?' * len(terms))})",
            list(terms),
        )
        return {r[0]: int(r[1]) for r in rows}

    def passage_count(self, viewer: Viewer) -> int:
        """How many passages ``viewer`` may read (for ranking's thresholds)."""
        consent = viewer.consent
        return int(
            self._query(
                "SELECT count(*) FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE +t.consent IN ({','.join('?' * len(consent))})",
                consent,
            )[0][0]
        )

    def passage_ids(
        self, viewer: Viewer, flt: PassageFilter = PassageFilter(), after: int = 0
    ) -> np.ndarray:
        """Ids of the passages the viewer may see within ``flt`` (those above ``after``
        only), ascending."""
        where, args = flt.where(viewer)
        if isinstance(self.db, PostgresDatabase):
            rows = self.db.tuples(
                f"SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id > ? AND {where} ORDER BY p.id",
                [after, *args],
            )
            return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        with self.db.lock:
            cursor = self.db.conn.execute(
                f"SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id > ? AND {where} ORDER BY p.id",
                [after, *args],
            )
            cursor.row_factory = None  # plain tuples: this can be the whole archive
            return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def passage_texts(
        self, viewer: Viewer, passage_ids: Sequence[int] | None = None
    ) -> list[tuple[int, str, str]]:
        """(id, text as the viewer may read it, language) in id order."""
        if passage_ids is None:
            rows = self._passage_rows("1 = 1", [], viewer)
        else:
            rows = []
            for chunk in chunks(passage_ids):
                marks = ",".join("?" * len(chunk))
                rows += self._passage_rows(f"p.id IN ({marks})", chunk, viewer)
        return sorted((r["id"], _text(r, viewer)[0], r["language"]) for r in rows)

    # -- reading: counts ---------------------------------------------------------------------

    def theme_counts(
        self, viewer: Viewer, by: str = "", min_score: float = 0.0
    ) -> list[ThemeCount]:
        """Testimonies and passages per theme among those the viewer may see, optionally
        grouped by region, community, language or year."""
        key = _GROUP_KEYS
        if by and by not in key:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(key)}")
        group = key.get(by)
        select_group = f", {group} AS grp" if group else ", '' AS grp"
        consent = viewer.consent
        rows = self._query(
            f"SELECT g.theme{select_group}, count(DISTINCT t.id) AS testimonies, "
            "count(DISTINCT p.id) AS passages "
            "FROM effective_tags g JOIN passages p ON p.id = g.passage_id "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE g.score >= ? AND +t.consent IN ({','.join('?' * len(consent))}) "
            "GROUP BY g.theme, grp ORDER BY g.theme, grp",
            [min_score, *consent],
        )
        return [
            ThemeCount(r["theme"], r["grp"] or "", r["testimonies"], r["passages"]) for r in rows
        ]

    def theme_cells(self, viewer: Viewer, by: str = "") -> list[ThemeCell]:
        """Per theme and group (region, community, language or year; "" for none),
        among the passages the viewer may see: all passages of the group, those the
        machine tagged with the theme and nobody reviewed, and those reviewed for it
        (with or without). What prevalence estimates are made from."""
        group = _GROUP_KEYS.get(by, "''") if by else "''"
        if by and by not in _GROUP_KEYS:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(_GROUP_KEYS)}")
        where, args = PassageFilter().where(viewer)
        base = f"FROM passages p JOIN testimonies t ON t.id = p.testimony_id WHERE {where}"
        totals = {
            r[0] or "": r[1]
            for r in self._query(f"SELECT {group} AS grp, count(*) {base} GROUP BY grp", args)
        }
        tagged = self._query(
            f"SELECT g.theme, {group} AS grp, count(DISTINCT p.id) "
            f"FROM tags g JOIN passages p ON p.id = g.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where} "
            "AND g.source != 'human' AND NOT EXISTS (SELECT 1 FROM reviews r "
            "WHERE r.passage_id = g.passage_id AND r.theme = g.theme) GROUP BY g.theme, grp",
            args,
        )
        reviewed = self._query(
            f"SELECT r.theme, {group} AS grp, "
            "sum(CASE WHEN r.verdict != 'reject' THEN 1 ELSE 0 END), "
            "sum(CASE WHEN r.verdict = 'reject' THEN 1 ELSE 0 END) "
            "FROM reviews r JOIN passages p ON p.id = r.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where} GROUP BY r.theme, grp",
            args,
        )
        cells: dict[tuple[str, str], list[int]] = {}
        for theme, grp, n in tagged:
            cells.setdefault((theme, grp or ""), [0, 0, 0])[0] = n
        for theme, grp, yes, no in reviewed:
            cell = cells.setdefault((theme, grp or ""), [0, 0, 0])
            cell[1], cell[2] = int(yes), int(no)
        return [
            ThemeCell(theme, grp, totals.get(grp, 0), n, yes, no)
            for (theme, grp), (n, yes, no) in sorted(cells.items())
            if totals.get(grp, 0)
        ]

    def theme_quotes(
        self, viewer: Viewer, by: str = "", per_cell: int = 3
    ) -> dict[tuple[str, str], list[Hit]]:
        """Representative passages per theme and group, among those the viewer may see:
        reviewed ones first (accepted or added), then by the tag's score; each a search
        hit (the text as the viewer may read it, its times, whether it can be played)."""
        if by and by not in _GROUP_KEYS:
            raise CorpusError(f"cannot group themes by {by!r}: use {', '.join(_GROUP_KEYS)}")
        if per_cell <= 0:
            return {}
        group = _GROUP_KEYS[by] if by else "''"
        where, args = PassageFilter().where(viewer)
        rows = self._query(
            "SELECT theme, grp, passage_id, score FROM (SELECT g.theme, "
            f"{group} AS grp, g.passage_id, g.score, row_number() OVER (PARTITION BY g.theme, "
            f"{group} ORDER BY g.source = 'human' DESC, g.score DESC, g.passage_id) AS rank "
            "FROM effective_tags g JOIN passages p ON p.id = g.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {where}) WHERE rank <= ?",
            [*args, per_cell],
        )
        hits = {h.passage_id: h for h in self.hits([(r[2], float(r[3])) for r in rows], viewer)}
        out: dict[tuple[str, str], list[Hit]] = {}
        for theme, grp, pid, _ in rows:
            if pid in hits:
                out.setdefault((theme, grp or ""), []).append(hits[pid])
        return out

    def review_confusion(self, viewer: Viewer) -> dict[str, dict[str, int]]:
        """Per theme, the reviewers' verdicts against the machine tags they judged: true
        and false positives and negatives (counts only), over the reviews of passages
        ``viewer`` may read: the error rates they give correct the theme shares that
        viewer is shown, which reviews of hidden passages must not move."""
        consent = viewer.consent
        rows = self._query(
            "SELECT r.theme, r.verdict, EXISTS (SELECT 1 FROM tags g WHERE g.passage_id = "
            "r.passage_id AND g.theme = r.theme AND g.source != 'human') FROM reviews r "
            "JOIN passages p ON p.id = r.passage_id JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE +t.consent IN ({','.join('?' * len(consent))})",
            consent,
        )
        out: dict[str, dict[str, int]] = {}
        for theme, verdict, machine in rows:
            c = out.setdefault(theme, {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
            truth = verdict != "reject"
            c[("t" if truth == bool(machine) else "f") + ("p" if machine else "n")] += 1
        return out

    def review_pool(self, viewer: Viewer, limit: int, theme: str = "") -> list[tuple[Passage, str]]:
        """Up to ``limit`` passages the viewer may see that nobody has reviewed (for
        ``theme``, when given), each with its language; in a fixed shuffled order (a
        multiplicative hash of the id), so a pool spreads over the archive instead of
        taking its oldest testimonies, and the same archive gives the same pool."""
        condition = "NOT EXISTS (SELECT 1 FROM reviews r WHERE r.passage_id = p.id" + (
            " AND r.theme = ?)" if theme else ")"
        )
        rows = self._passage_rows(
            condition,
            [theme] if theme else [],
            viewer,
            order="(p.id * 2654435761) % 4294967296",
            limit=limit,
        )
        return [(_passage(r, viewer), r["language"] or "") for r in rows]

    def untagged_passages(
        self, viewer: Viewer, min_score: float, limit: int
    ) -> list[tuple[int, str, str, str]]:
        """(id, text as the viewer may read it, language, region) of up to ``limit``
        passages the viewer may see that no theme tags (reviews applied), in id order."""
        rows = self._passage_rows(
            "NOT EXISTS (SELECT 1 FROM effective_tags g WHERE g.passage_id = p.id "
            "AND g.score >= ?)",
            [min_score],
            viewer,
            order="p.id",
            limit=limit,
        )
        return [
            (r["id"], _text(r, viewer)[0], r["language"] or "", r["region"] or "") for r in rows
        ]

    def review_totals(self) -> dict[str, int]:
        """Current reviews per theme (a system read: counts only)."""
        rows = self._query("SELECT theme, count(*) FROM reviews GROUP BY theme")
        return {theme: n for theme, n in rows}

    def counts(self, viewer: Viewer) -> dict[str, int]:
        """Testimonies and passages the viewer may see."""
        consent = viewer.consent
        marks = ",".join("?" * len(consent))
        row = self._query(
            f"SELECT (SELECT count(*) FROM testimonies WHERE consent IN ({marks})) AS testimonies, "
            "(SELECT count(*) FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE t.consent IN ({marks})) AS passages",
            [*consent, *consent],
        )[0]
        return dict(row)

    # -- vectors (system reads: no testimony text) ------------------------------------------

    def vector_ids(self) -> set[int]:
        return {r[0] for r in self._query("SELECT passage_id FROM vectors")}

    def all_passage_ids(self) -> set[int]:
        return {r[0] for r in self._query("SELECT id FROM passages")}

    def vectors(self, passage_ids: Sequence[int], dim: int) -> tuple[list[int], np.ndarray]:
        """Stored vectors of those ids that have one: (ids found, array)."""
        rows = self._tuples_in(
            "SELECT passage_id, vector FROM vectors WHERE passage_id IN ({ids})",
            passage_ids,
            binary=True,
        )
        found: list[int] = [int(r[0]) for r in rows]
        if not found:
            return [], np.zeros((0, dim), dtype=np.float32)
        array = self.db.array([r[1] for r in rows], dim)
        if array.shape[1] != dim:
            raise CorpusError(f"stored vectors are {array.shape[1]}-d, not {dim}")
        return found, array

    def vector_map(self, passage_ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        """:meth:`vectors` by passage id (ids without a stored vector are left out)."""
        found, array = self.vectors(passage_ids, dim)
        return dict(zip(found, array, strict=True))

    def testimony_vectors(self, testimony_ids: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The mean passage vector of each testimony that has vectors; computed from the
        passage vectors where the stored one is missing (it was dropped by a change)."""
        out: dict[str, np.ndarray] = {}
        rows = self._tuples_in(
            "SELECT testimony_id, vector FROM testimony_vectors WHERE testimony_id IN ({ids})",
            testimony_ids,
            binary=True,
        )
        # not another embedder's (mid-reindex); converted together, not one by one
        rows = [(tid, blob) for tid, blob in rows if vector_dim(blob) == dim]
        if rows:
            matrix = self.db.array([blob for _, blob in rows], dim)
            out.update(zip((tid for tid, _ in rows), matrix, strict=True))
        missing = [tid for tid in testimony_ids if tid not in out]
        grouped: dict[str, list[Any]] = {}
        for tid, blob in self._tuples_in(
            "SELECT p.testimony_id, v.vector FROM vectors v "
            "JOIN passages p ON p.id = v.passage_id WHERE p.testimony_id IN ({ids})",
            missing,
            binary=True,
        ):
            if vector_dim(blob) == dim:  # not another embedder's
                grouped.setdefault(tid, []).append(blob)
        for tid, blobs in grouped.items():
            out[tid] = self.db.array(blobs, dim).mean(axis=0)
        return out

    def needs_testimony_vectors(self) -> bool:
        return bool(
            self._query(
                "SELECT 1 FROM testimonies t WHERE NOT EXISTS "
                "(SELECT 1 FROM testimony_vectors w WHERE w.testimony_id = t.id) "
                "AND EXISTS (SELECT 1 FROM passages p JOIN vectors v ON v.passage_id = p.id "
                "WHERE p.testimony_id = t.id) LIMIT 1"
            )
        )

    def fill_testimony_vectors(self) -> int:
        """Store the mean vector of testimonies that lack one (archives made before
        testimony vectors were kept, or changed since). Returns how many."""
        rows = self.db.tuples(
            "SELECT DISTINCT p.testimony_id, v.embedder FROM vectors v "
            "JOIN passages p ON p.id = v.passage_id "
            "WHERE p.testimony_id NOT IN (SELECT testimony_id FROM testimony_vectors)"
        )
        with self.db.transaction() as db:
            for r in rows:
                self._write_testimony_vectors(db, [r[0]], r[1])
        return len(rows)

    def passage_places(self, after: int = 0) -> list[tuple[int, int, str]]:
        """(id, sequence number, testimony id) of the passages with ids above ``after``:
        a system read of ids only, for ``PassagePlaces``."""
        return self.db.tuples("SELECT id, seq, testimony_id FROM passages WHERE id > ?", [after])

    def testimony_cards(self, testimony_ids: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        """(id, consent, title, title_redacted, allow_names, region, community) of these
        testimonies or of every one (a system read, for ``PassagePlaces``)."""
        columns = "id, consent, title, title_redacted, allow_names, region, community"
        if testimony_ids is None:
            return self.db.tuples(f"SELECT {columns} FROM testimonies")
        return self._tuples_in(
            f"SELECT {columns} FROM testimonies WHERE id IN ({{ids}})", testimony_ids
        )

    def filter_generation(self) -> tuple[int, int]:
        """(generation, largest passage id): the generation changes whenever the passages
        a search filter selects may have changed other than by new passages arriving
        (those have ids above the largest seen; see migration 005)."""
        row = self._query(
            "SELECT n, (SELECT coalesce(max(id), 0) FROM passages) FROM filter_generation "
            "WHERE id = 1"
        )[0]
        return int(row[0]), int(row[1])

    def vector_embedders(self) -> set[str]:
        return {r[0] for r in self._query("SELECT DISTINCT embedder FROM vectors")}

    # -- vector search in the database (PostgreSQL + pgvector) --------------------------------

    def ensure_vector_index(self, dim: int) -> None:
        """An HNSW index (cosine) over the ``dim``-d passage vectors, made once. pgvector
        indexes only vectors of one declared dimension, so it is an expression index
        over ``vector::vector(dim)``, for the rows of that dimension."""
        if not self.searches_vectors:
            return
        name = f"vectors_hnsw_{int(dim)}"
        with self.db.transaction() as db:
            if db.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is not None:
                return
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw "
                f"((vector::vector({int(dim)})) vector_cosine_ops) "
                f"WHERE vector_dims(vector) = {int(dim)}"
            )
            # statistics for the planner now, not when autovacuum gets to it: without
            # them a filtered search after a bulk load was planned as a scan of every
            # vector (row estimates of 1)
            db.execute("ANALYZE vectors, passages, testimonies")

    def nearest(
        self,
        vector: np.ndarray,
        k: int,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        embedder: str = "",
        exact: bool = False,
    ) -> list[tuple[int, float]]:
        """The ``k`` passages closest to ``vector`` (cosine, as (id, similarity)) among
        those ``viewer`` may see within ``flt``: consent and filters are in the same SQL
        as the vector search, so nothing outside them is ever read. Equal scores are
        ordered by passage id.

        pgvector's HNSW scan filters after it finds ``hnsw.ef_search`` candidates, so a
        narrow filter can leave fewer than ``k``; the search is then run again exactly
        (an index-free scan of the passages the filter allows), as FAISS is given the
        allowed ids. Either way the answer holds only allowed passages.

        Passages the viewer may not see take up some of those candidates, so which
        visible passages an HNSW scan returns depends on hidden ones: ``exact`` (the
        archive asks for it below :data:`PG_EXACT_BELOW` visible passages) scans the
        allowed passages instead, whose answer depends on nothing else (issue 26;
        docs/security.md)."""
        if not self.searches_vectors:
            raise CorpusError("vector search in SQL needs PostgreSQL + pgvector")
        dim = int(len(vector))
        where, args = flt.where(viewer)
        if embedder:
            where += " AND v.embedder = ?"
            args.append(embedder)
        query = self.db.vector(vector)
        distance = f"v.vector::vector({dim}) <=> ?::vector({dim})"
        sql = (
            f"SELECT v.passage_id, 1 - (v.vector::vector({dim}) <=> ?::vector({dim})) "
            "FROM vectors v JOIN passages p ON p.id = v.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE vector_dims(v.vector) = {dim} AND {where} "
            f"ORDER BY {distance} LIMIT ?"
        )
        # the exact re-run orders by an expression no index serves ("+ 0"), so its plan
        # cannot be the HNSW scan. (Disabling index scans for it did not hold: psycopg
        # prepares a statement run five times, and a prepared plan keeps the HNSW scan
        # whatever enable_indexscan says; at 1M passages every filtered answer came back
        # short.)
        scan = sql.replace(f"ORDER BY {distance}", f"ORDER BY ({distance}) + 0, v.passage_id")
        params = [query, *args, query, k]
        with self.db.transaction() as db:
            if exact:
                rows = db.execute(scan, params).fetchall()
            else:
                db.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(self.ef_search, k))}")
                rows = db.execute(sql, params).fetchall()
                if len(rows) < k and (flt != PassageFilter() or len(viewer.consent) < 3):
                    rows = db.execute(scan, params).fetchall()
        found = [(int(r[0]), float(r[1])) for r in rows]
        return sorted(found, key=lambda hit: (-hit[1], hit[0]))

    def vector_count(self) -> int:
        return int(self._query("SELECT count(*) FROM vectors")[0][0])

    def index_log(self, after: int) -> list[tuple[int, int, str]]:
        """(seq, passage id, 'add'|'remove') changes to the vectors after ``after``."""
        rows = self._query(
            "SELECT seq, passage_id, op FROM index_log WHERE seq > ? ORDER BY seq", (after,)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def index_log_head(self) -> int:
        return int(self._query("SELECT coalesce(max(seq), 0) FROM index_log")[0][0])
