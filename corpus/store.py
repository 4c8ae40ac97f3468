"""SQLite store: the archive's source of truth.

Schema changes are numbered SQL files in ``corpus/migrations`` applied in order and
recorded in ``schema_migrations``. A testimony, its passages and their tags are written
in one transaction: an ingest is stored whole or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import CorpusError, DuplicateError, NotFoundError
from .records import CONSENT_LEVELS, VERDICTS, Consent, Passage, Review, Testimony, ThemeTag

__all__ = ["PassageFilter", "Store"]


@dataclass(frozen=True)
class PassageFilter:
    """Restricts which passages a search or listing may return. Empty means any."""

    region: str = ""
    community: str = ""
    theme: str = ""
    language: str = ""
    date_from: str = ""
    date_to: str = ""
    consent: tuple[Consent, ...] = CONSENT_LEVELS
    exclude_testimony: str = ""
    exclude_region: str = ""

    def where(self, t: str = "t", p: str | None = "p") -> tuple[str, list[Any]]:
        """SQL condition over testimonies ``t`` and passages ``p``.

        With ``p=None`` the condition is about testimonies alone: a theme then means
        "told in any of its passages".
        """
        clauses: list[str] = [f"{t}.consent IN ({','.join('?' * len(self.consent))})"]
        args: list[Any] = list(self.consent)
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _testimony(row: sqlite3.Row) -> Testimony:
    return Testimony(
        id=row["id"],
        title=row["title"],
        region=row["region"],
        community=row["community"],
        date=row["date"],
        language=row["language"],
        language_probability=row["language_probability"],
        duration=row["duration"],
        consent=row["consent"],
        source_kind=row["source_kind"],
        source_name=row["source_name"],
        source_hash=row["source_hash"],
        media_path=row["media_path"],
        illustrative=bool(row["illustrative"]),
        extra=json.loads(row["extra"]),
        created_at=row["created_at"],
    )


def _passage(row: sqlite3.Row, tags: Sequence[ThemeTag]) -> Passage:
    return Passage(
        id=row["id"],
        testimony_id=row["testimony_id"],
        seq=row["seq"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        tags=tuple(tags),
    )


def _tag(row: sqlite3.Row) -> ThemeTag:
    return ThemeTag(
        theme=row["theme"],
        score=row["score"],
        source=row["source"],
        evidence=tuple(json.loads(row["evidence"])),
        version=row["version"],
    )


class Store:
    """A Voces archive database. Safe to share between threads (one lock, one connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA busy_timeout = 10000")
        except sqlite3.DatabaseError as exc:
            raise CorpusError(f"cannot open archive database {path}: {exc}") from exc
        self._lock = threading.RLock()
        self.migrate()

    # -- schema ---------------------------------------------------------------------------

    @staticmethod
    def migrations() -> list[tuple[int, str]]:
        folder = resources.files("corpus") / "migrations"
        found = []
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
        return sorted(found)

    def schema_version(self) -> int:
        row = self._db.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
            except sqlite3.DatabaseError as exc:
                raise CorpusError(f"{self.path} is not a Voces archive database: {exc}") from exc
            current = self.schema_version()
            for version, sql in self.migrations():
                if version <= current:
                    continue
                with self.transaction():
                    for statement in sql.split(";\n"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)", (version, _now())
                    )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing --------------------------------------------------------------------------

    def add_testimony(self, testimony: Testimony, passages: Sequence[Passage]) -> list[int]:
        """Store a testimony with its passages and their tags, all or nothing.

        Returns the new passage ids, in the order of ``passages``.
        """
        if testimony.consent not in CONSENT_LEVELS:
            raise CorpusError(f"unknown consent level {testimony.consent!r}")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM testimonies WHERE id = ?", (testimony.id,)).fetchone():
                raise DuplicateError(f"testimony {testimony.id!r} is already in the archive")
            db.execute(
                "INSERT INTO testimonies (id, title, region, community, date, language, "
                "language_probability, duration, consent, source_kind, source_name, "
                "source_hash, media_path, illustrative, extra, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    testimony.id,
                    testimony.title,
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
                    json.dumps(testimony.extra, ensure_ascii=False),
                    testimony.created_at or _now(),
                ),
            )
            ids = []
            for passage in passages:
                cur = db.execute(
                    'INSERT INTO passages (testimony_id, seq, start, "end", text) '
                    "VALUES (?, ?, ?, ?, ?)",
                    (testimony.id, passage.seq, passage.start, passage.end, passage.text),
                )
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
                self._write_tags(db, cur.lastrowid, passage.tags)
            return ids

    @staticmethod
    def _write_tags(db: sqlite3.Connection, passage_id: int, tags: Iterable[ThemeTag]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO tags (passage_id, theme, score, source, evidence, version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    passage_id,
                    tag.theme,
                    min(1.0, max(0.0, float(tag.score))),
                    tag.source,
                    json.dumps(list(tag.evidence), ensure_ascii=False),
                    tag.version,
                )
                for tag in tags
            ],
        )

    def replace_machine_tags(self, tags_by_passage: dict[int, Sequence[ThemeTag]]) -> None:
        """Swap the machine tags (every source but "human") of the given passages."""
        with self.transaction() as db:
            for passage_id, tags in tags_by_passage.items():
                db.execute(
                    "DELETE FROM tags WHERE passage_id = ? AND source != 'human'", (passage_id,)
                )
                self._write_tags(db, passage_id, tags)

    def review(
        self, passage_id: int, theme: str, verdict: str, reviewer: str, note: str = ""
    ) -> Review:
        """Record a person's decision on one theme of one passage (the latest one wins)."""
        if verdict not in VERDICTS:
            raise CorpusError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        if not reviewer.strip():
            raise CorpusError("a review needs the reviewer's name")
        review = Review(passage_id, theme, verdict, reviewer.strip(), note.strip(), _now())
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM passages WHERE id = ?", (passage_id,)).fetchone():
                raise NotFoundError(f"no passage {passage_id}")
            row = (
                review.passage_id,
                review.theme,
                review.verdict,
                review.reviewer,
                review.note,
                review.reviewed_at,
            )
            db.execute("INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, ?)", row)
            db.execute(
                "INSERT INTO review_log (passage_id, theme, verdict, reviewer, note, "
                "reviewed_at) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
        return review

    def reviews(self, passage_ids: Sequence[int] | None = None) -> list[Review]:
        sql, args = "SELECT * FROM reviews", []
        if passage_ids is not None:
            sql += f" WHERE passage_id IN ({','.join('?' * len(passage_ids))})"
            args = list(passage_ids)
        rows = self._query(sql + " ORDER BY passage_id, theme", args)
        return [
            Review(
                r["passage_id"],
                r["theme"],
                r["verdict"],
                r["reviewer"],
                r["note"],
                r["reviewed_at"],
            )
            for r in rows
        ]

    def machine_tags(self, passage_ids: Sequence[int]) -> dict[int, list[ThemeTag]]:
        """Tags as the machine made them, reviews ignored (for evaluation and audit)."""
        return self._tags(passage_ids, "tags", "source != 'human' AND ")

    def passage(self, passage_id: int) -> Passage:
        rows = self._query("SELECT * FROM passages WHERE id = ?", (passage_id,))
        if not rows:
            raise NotFoundError(f"no passage {passage_id}")
        return _passage(rows[0], self.tags_for([passage_id]).get(passage_id, []))

    def delete_testimony(self, testimony_id: str) -> list[int]:
        """Remove a testimony with its passages and tags; returns the removed passage ids."""
        with self.transaction() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM passages WHERE testimony_id = ?", (testimony_id,)
                )
            ]
            if not db.execute("DELETE FROM testimonies WHERE id = ?", (testimony_id,)).rowcount:
                raise NotFoundError(f"no testimony {testimony_id!r}")
            return ids

    # -- reading --------------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def find_by_hash(self, source_hash: str) -> str | None:
        rows = self._query("SELECT id FROM testimonies WHERE source_hash = ?", (source_hash,))
        return rows[0]["id"] if rows else None

    def has_testimony(self, testimony_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM testimonies WHERE id = ?", (testimony_id,)))

    def get_testimony(self, testimony_id: str) -> Testimony:
        rows = self._query("SELECT * FROM testimonies WHERE id = ?", (testimony_id,))
        if not rows:
            raise NotFoundError(f"no testimony {testimony_id!r}")
        return _testimony(rows[0])

    def list_testimonies(
        self, flt: PassageFilter = PassageFilter(), limit: int = 100, offset: int = 0
    ) -> tuple[list[Testimony], int]:
        """Testimonies matching ``flt`` (theme: any passage tagged), and the total count."""
        where, args = flt.where(p=None)
        total = self._query(f"SELECT count(*) FROM testimonies t WHERE {where}", args)[0][0]
        rows = self._query(
            f"SELECT * FROM testimonies t WHERE {where} "
            "ORDER BY t.date DESC, t.id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [_testimony(r) for r in rows], int(total)

    def passages(self, testimony_id: str) -> list[Passage]:
        rows = self._query(
            "SELECT * FROM passages WHERE testimony_id = ? ORDER BY seq", (testimony_id,)
        )
        tags = self.tags_for([r["id"] for r in rows])
        return [_passage(r, tags.get(r["id"], [])) for r in rows]

    def tags_for(self, passage_ids: Sequence[int]) -> dict[int, list[ThemeTag]]:
        """Effective tags: machine tags not overruled by a review, plus reviewed ones."""
        return self._tags(passage_ids, "effective_tags")

    def _tags(
        self, passage_ids: Sequence[int], table: str, condition: str = ""
    ) -> dict[int, list[ThemeTag]]:
        out: dict[int, list[ThemeTag]] = {}
        for chunk in _chunks(passage_ids, 500):
            rows = self._query(
                f"SELECT * FROM {table} WHERE {condition}passage_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY score DESC",
                chunk,
            )
            for r in rows:
                out.setdefault(r["passage_id"], []).append(_tag(r))
        return out

    def passage_ids(self, flt: PassageFilter | None = None) -> list[int]:
        """Ids of the passages allowed by ``flt`` (all passages when None)."""
        if flt is None:
            return [r[0] for r in self._query("SELECT id FROM passages ORDER BY id")]
        where, args = flt.where()
        rows = self._query(
            f"SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {where} ORDER BY p.id",
            args,
        )
        return [r[0] for r in rows]

    def passage_texts(self, passage_ids: Sequence[int] | None = None) -> Iterator[tuple[int, str]]:
        """(id, text) of the given passages, or of all passages, in id order."""
        if passage_ids is None:
            rows = self._query("SELECT id, text FROM passages ORDER BY id")
            yield from ((r[0], r[1]) for r in rows)
            return
        for chunk in _chunks(passage_ids, 500):
            rows = self._query(
                f"SELECT id, text FROM passages WHERE id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY id",
                chunk,
            )
            yield from ((r[0], r[1]) for r in rows)

    def passage_rows(self, passage_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        """Passage rows joined with their testimony's metadata, keyed by passage id."""
        out = {}
        for chunk in _chunks(passage_ids, 500):
            rows = self._query(
                'SELECT p.id AS passage_id, p.testimony_id, p.start, p."end", p.text, '
                "t.region, t.community, t.language, t.date, t.title, t.consent, "
                "t.media_path != '' AS has_audio "
                "FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r["passage_id"]: r for r in rows})
        return out

    def theme_counts(
        self, by: str = "", min_score: float = 0.0, consent: Sequence[Consent] = CONSENT_LEVELS
    ) -> list[dict[str, Any]]:
        """Testimonies and passages per theme, optionally grouped by a testimony column."""
        group_columns = {"": None, "region": "region", "language": "language", "year": "year"}
        if by not in group_columns:
            raise CorpusError(f"cannot group themes by {by!r}: use region, language or year")
        key = {"region": "t.region", "language": "t.language", "year": "substr(t.date, 1, 4)"}
        group = key.get(by)
        select_group = f", {group} AS grp" if group else ", '' AS grp"
        rows = self._query(
            f"SELECT g.theme{select_group}, count(DISTINCT t.id) AS testimonies, "
            "count(DISTINCT p.id) AS passages "
            "FROM effective_tags g JOIN passages p ON p.id = g.passage_id "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE g.score >= ? AND t.consent IN ({','.join('?' * len(consent))}) "
            "GROUP BY g.theme, grp ORDER BY g.theme, grp",
            [min_score, *consent],
        )
        return [dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        row = self._query(
            "SELECT (SELECT count(*) FROM testimonies) AS testimonies, "
            "(SELECT count(*) FROM passages) AS passages, (SELECT count(*) FROM tags) AS tags"
        )[0]
        return dict(row)


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]
