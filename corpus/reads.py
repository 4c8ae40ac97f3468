"""Reading testimonies and passages as a viewer may read them.

Every read takes the caller's :class:`~corpus.access.Viewer` and applies the consent rule
and the projection of :mod:`corpus.visibility` (the redacted copy where names are hidden
from it, no reviewer names or file names unless it reads originals); reads that showed
restricted or private material are recorded in the audit log. A testimony the viewer may
not see answers NotFoundError exactly like one that does not exist.

The few reads that are not a viewer's (ids, hashes, places, for ingest bookkeeping and the
caches) say so, and return no testimony text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .access import Viewer, require
from .audit import AuditLog
from .db import AnyDatabase, chunks
from .errors import NotFoundError
from .records import Hit, Passage, PassageEdit, Review, Speaker, Testimony, ThemeTag, Word
from .visibility import (
    PASSAGE_COLUMNS,
    WITHHELD,
    PassageFilter,
    consent_sql,
    names_visible,
    passage_from_row,
    passage_text,
    review_from_row,
    speaker_name,
    tag_from_row,
    testimony_from_row,
    testimony_label,
)

__all__ = ["Reads"]


class Reads:
    def __init__(self, db: AnyDatabase, audit: AuditLog) -> None:
        self.db = db
        self.audit = audit

    def consent(self, viewer: Viewer, column: str = "t.consent") -> tuple[str, list[str]]:
        """The consent rule over ``column`` with this engine's planner hint."""
        return consent_sql(viewer, column, self.db.unindexed)

    def get_testimony(self, testimony_id: str, viewer: Viewer) -> Testimony:
        """A testimony the viewer may see; else NotFoundError (existence is not leaked)."""
        return self.testimony(testimony_id, viewer, audit=True)

    def testimony(self, testimony_id: str, viewer: Viewer, audit: bool) -> Testimony:
        """:meth:`get_testimony`, recorded in the audit log or not (a write reads the
        testimony it changes without logging a read)."""
        consent, levels = self.consent(viewer, "consent")
        rows = self.db.query(
            f"SELECT * FROM testimonies WHERE id = ? AND {consent}", (testimony_id, *levels)
        )
        if not rows:
            raise NotFoundError(f"no testimony {testimony_id!r}")
        if audit:
            self.audit.record_reads(viewer, "read", {testimony_id: rows[0]["consent"]})
        return testimony_from_row(rows[0], viewer)

    def list_testimonies(
        self,
        viewer: Viewer,
        flt: PassageFilter = PassageFilter(),
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Testimony], int]:
        """Testimonies matching ``flt`` that the viewer may see, and their total count."""
        where, args = flt.where(viewer, p=None, hint=self.db.unindexed)
        total = self.db.query(f"SELECT count(*) FROM testimonies t WHERE {where}", args)[0][0]
        rows = self.db.query(
            f"SELECT * FROM testimonies t WHERE {where} "
            "ORDER BY t.date DESC, t.id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        self.audit.record_reads(viewer, "list", {r["id"]: r["consent"] for r in rows})
        return [testimony_from_row(r, viewer) for r in rows], int(total)

    def passage_rows(
        self,
        condition: str,
        args: Sequence[Any],
        viewer: Viewer,
        order: str = "",
        limit: int | None = None,
    ) -> list[Any]:
        """Passage rows within ``condition`` of testimonies the viewer may see, in
        ``order`` (an SQL expression) and at most ``limit`` of them when given."""
        consent, levels = self.consent(viewer)
        tail = (f" ORDER BY {order}" if order else "") + (" LIMIT ?" if limit is not None else "")
        return self.db.query(
            f"SELECT {PASSAGE_COLUMNS} FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {condition} AND {consent}{tail}",
            [*args, *levels, *([] if limit is None else [limit])],
        )

    def _passages(self, rows: Sequence[Any], viewer: Viewer) -> list[Passage]:
        tags = self.tags_for([r["id"] for r in rows], viewer)
        # words only where the viewer reads the original text (see passage_from_row)
        words = self.words_for([r["id"] for r in rows if names_visible(viewer, r["allow_names"])])
        return [
            passage_from_row(r, viewer, tuple(tags.get(r["id"], [])), words.get(r["id"], ()))
            for r in rows
        ]

    def words_for(self, passage_ids: Sequence[int]) -> dict[int, tuple[Word, ...]]:
        """The stored words of these passages, in order. Callers pass ids of passages
        whose original text the viewer may read (the words spell it out)."""
        out: dict[int, list[Word]] = {}
        rows = self.db.tuples_in(
            'SELECT passage_id, start, "end", text, probability, edited FROM words '
            "WHERE passage_id IN ({ids}) ORDER BY passage_id, position",
            [int(pid) for pid in passage_ids],
        )
        for pid, start, end, text, probability, edited in rows:
            out.setdefault(pid, []).append(Word(start, end, text, probability, bool(edited)))
        return {pid: tuple(words) for pid, words in out.items()}

    def speakers(self, testimony_id: str, viewer: Viewer) -> list[Speaker]:
        """The voices of a testimony the viewer may see (NotFoundError otherwise), by
        label; names masked where names are hidden from the viewer."""
        consent, levels = self.consent(viewer)
        rows = self.db.query(
            "SELECT s.label, s.name, t.allow_names, t.language, t.consent FROM speakers s "
            f"JOIN testimonies t ON t.id = s.testimony_id WHERE t.id = ? AND {consent}",
            [testimony_id, *levels],
        )
        if not rows:
            self.testimony(testimony_id, viewer, audit=False)  # NotFoundError if hidden
            return []
        self.audit.record_reads(viewer, "read", {testimony_id: rows[0]["consent"]})
        found = [
            Speaker(
                testimony_id,
                r["label"],
                speaker_name(viewer, r["name"], r["allow_names"], r["language"]),
            )
            for r in rows
        ]
        return sorted(found, key=lambda s: _label_order(s.label))

    def passage_speaker(self, passage_id: int, viewer: Viewer) -> tuple[str, str]:
        """(testimony id, speaker label) of a passage the viewer may see."""
        rows = self.passage_rows("p.id = ?", [passage_id], viewer)
        if not rows:
            raise NotFoundError(f"no passage {passage_id}")
        return rows[0]["testimony_id"], rows[0]["speaker"]

    def passages(self, testimony_id: str, viewer: Viewer) -> list[Passage]:
        """A visible testimony's passages in order (NotFoundError if not visible)."""
        self.get_testimony(testimony_id, viewer)
        rows = self.passage_rows("p.testimony_id = ?", [testimony_id], viewer)
        rows = sorted(rows, key=lambda r: r["seq"])
        return self._passages(rows, viewer)

    def passage(self, passage_id: int, viewer: Viewer) -> Passage:
        rows = self.passage_rows("p.id = ?", [passage_id], viewer)
        if not rows:
            raise NotFoundError(f"no passage {passage_id}")
        self.audit.record_reads(viewer, "read", {rows[0]["testimony_id"]: rows[0]["consent"]})
        return self._passages(rows, viewer)[0]

    def passages_by_id(self, passage_ids: Sequence[int], viewer: Viewer) -> list[Passage]:
        """The given passages the viewer may see (others are left out), in id order."""
        rows: list[Any] = []
        # ints, not numpy's: sqlite3 binds an np.int64 as a blob, which matches no id
        for chunk in chunks([int(pid) for pid in passage_ids]):
            rows += self.passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
        rows.sort(key=lambda r: r["id"])
        self.audit.record_reads(viewer, "read", {r["testimony_id"]: r["consent"] for r in rows})
        return self._passages(rows, viewer)

    def hits(self, scored: Sequence[tuple[int, float]], viewer: Viewer) -> list[Hit]:
        """Search results for scored passage ids, in the given order; passages the viewer
        may not see (or deleted meanwhile) are left out."""
        ids = [pid for pid, _ in scored]
        rows: dict[int, Any] = {}
        for chunk in chunks(ids):
            found = self.passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
            rows.update({r["id"]: r for r in found})
        tags = self.tags_for(list(rows), viewer)
        hits = []
        for pid, score in scored:
            row = rows.get(pid)
            if row is None:
                continue
            text, _ = passage_text(row, viewer)
            names = names_visible(viewer, row["allow_names"])
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
        self.audit.record_reads(viewer, "search", {h.testimony_id: h.consent for h in hits})
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
            rows = self.db.query(
                f"SELECT * FROM {table} WHERE {condition}passage_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY score DESC",
                chunk,
            )
            for r in rows:
                out.setdefault(r["passage_id"], []).append(tag_from_row(r, viewer))
        return out

    def reviews(self, viewer: Viewer, passage_ids: Sequence[int] | None = None) -> list[Review]:
        """Current reviews of passages the viewer may see; reviewer and note only for
        archivists."""
        consent, levels = self.consent(viewer)
        sql = (
            "SELECT r.* FROM reviews r JOIN passages p ON p.id = r.passage_id "
            f"JOIN testimonies t ON t.id = p.testimony_id WHERE {consent}"
        )
        args: list[Any] = list(levels)
        if passage_ids is not None:
            sql += f" AND r.passage_id IN ({','.join('?' * len(passage_ids))})"
            args += list(passage_ids)
        rows = self.db.query(sql + " ORDER BY r.passage_id, r.theme", args)
        return [review_from_row(r, viewer) for r in rows]

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
        rows = self.db.tuples_in(
            "SELECT p.id, p.testimony_id, p.seq FROM passages p WHERE p.id IN ({ids})", probe
        )
        # consent per testimony, once each (a join per passage row cost twice as much)
        consent, levels = self.consent(viewer, "consent")
        visible = {
            r[0]
            for r in self.db.tuples_in(
                f"SELECT id FROM testimonies WHERE id IN ({{ids}}) AND {consent}",
                sorted({r[1] for r in rows}),
                levels,
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
        rows = self.db.tuples_in(
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
            rows = self.passage_rows(f"p.id IN ({','.join('?' * len(chunk))})", chunk, viewer)
            out.update({r["id"]: passage_text(r, viewer)[0] for r in rows})
        return out

    def testimony_labels(self, testimony_ids: Sequence[str], viewer: Viewer) -> dict[str, str]:
        """Title, region and community of each testimony the viewer may see, the title as
        the viewer reads it (its redacted form where names are hidden from them)."""
        consent, levels = self.consent(viewer, "consent")
        rows = self.db.tuples_in(
            "SELECT id, title, title_redacted, allow_names, region, community FROM testimonies "
            f"WHERE id IN ({{ids}}) AND {consent}",
            list(testimony_ids),
            levels,
        )
        return {tid: testimony_label(viewer, *row) for tid, *row in rows}

    def passage_ids(
        self, viewer: Viewer, flt: PassageFilter = PassageFilter(), after: int = 0
    ) -> np.ndarray:
        """Ids of the passages the viewer may see within ``flt`` (those above ``after``
        only), ascending."""
        where, args = flt.where(viewer, hint=self.db.unindexed)
        return self.db.id_array(  # this can be every passage of the archive
            f"SELECT p.id FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE p.id > ? AND {where} ORDER BY p.id",
            [after, *args],
        )

    def passage_texts(
        self, viewer: Viewer, passage_ids: Sequence[int] | None = None
    ) -> list[tuple[int, str, str]]:
        """(id, text as the viewer may read it, language) in id order."""
        if passage_ids is None:
            rows = self.passage_rows("1 = 1", [], viewer)
        else:
            rows = []
            for chunk in chunks(passage_ids):
                marks = ",".join("?" * len(chunk))
                rows += self.passage_rows(f"p.id IN ({marks})", chunk, viewer)
        return sorted((r["id"], passage_text(r, viewer)[0], r["language"]) for r in rows)

    def passage_edits(self, passage_id: int, viewer: Viewer) -> list[PassageEdit]:
        """A passage's corrections, oldest first (archivists: they hold original text)."""
        require(viewer, "read edit history")
        if not self.passage_rows("p.id = ?", [passage_id], viewer):
            raise NotFoundError(f"no passage {passage_id}")
        rows = self.db.query(
            "SELECT passage_id, old_text, new_text, editor, note, edited_at FROM passage_edits "
            "WHERE passage_id = ? ORDER BY id",
            [passage_id],
        )
        return [PassageEdit(*r) for r in rows]

    def counts(self, viewer: Viewer) -> dict[str, int]:
        """Testimonies and passages the viewer may see."""
        # no planner hint here: counting by the consent index is what these want
        alone, levels = consent_sql(viewer, "consent", "")
        joined, _ = consent_sql(viewer, "t.consent", "")
        row = self.db.query(
            f"SELECT (SELECT count(*) FROM testimonies WHERE {alone}) AS testimonies, "
            "(SELECT count(*) FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
            f"WHERE {joined}) AS passages",
            [*levels, *levels],
        )[0]
        return dict(row)

    def passage_count(self, viewer: Viewer) -> int:
        """How many passages ``viewer`` may read (for ranking's thresholds)."""
        consent, levels = self.consent(viewer)
        return int(
            self.db.query(
                "SELECT count(*) FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE {consent}",
                levels,
            )[0][0]
        )

    def unredacted(
        self, viewer: Viewer
    ) -> tuple[list[tuple[int, str, str]], list[tuple[str, str, str]]]:
        """(id, text, language) of passages and testimony titles with no redacted copy:
        original text, so only for a viewer who may read originals."""
        require(viewer, "read originals")
        passages = self.db.query(
            "SELECT p.id, p.text, t.language FROM passages p "
            "JOIN testimonies t ON t.id = p.testimony_id WHERE p.redacted IS NULL"
        )
        titles = self.db.query(
            "SELECT id, title, language FROM testimonies WHERE title_redacted IS NULL"
        )
        return [tuple(r) for r in passages], [tuple(r) for r in titles]  # type: ignore[misc]

    def find_by_hash(self, source_hash: str) -> tuple[str, str] | None:
        """(id, consent) of the testimony with these source bytes, if any (for ingest)."""
        rows = self.db.query(
            "SELECT id, consent FROM testimonies WHERE source_hash = ?", (source_hash,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def source_of(self, testimony_id: str) -> tuple[str, str] | None:
        """(source hash, consent) stored under ``testimony_id``, if any (for ingest)."""
        rows = self.db.query(
            "SELECT source_hash, consent FROM testimonies WHERE id = ?", (testimony_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def media_paths(self) -> set[str]:
        """Every stored media path (for the consistency check)."""
        return {r[0] for r in self.db.query("SELECT media_path FROM testimonies") if r[0]}

    def all_passage_ids(self) -> set[int]:
        return {r[0] for r in self.db.query("SELECT id FROM passages")}

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
        return self.db.tuples_in(
            f"SELECT {columns} FROM testimonies WHERE id IN ({{ids}})", testimony_ids
        )

    def filter_generation(self) -> tuple[int, int]:
        """(generation, largest passage id): the generation changes whenever the passages
        a search filter selects may have changed other than by new passages arriving
        (those have ids above the largest seen; see migration 005)."""
        row = self.db.query(
            "SELECT n, (SELECT coalesce(max(id), 0) FROM passages) FROM filter_generation "
            "WHERE id = 1"
        )[0]
        return int(row[0]), int(row[1])


def _label_order(label: str) -> tuple[int, str]:
    """ "S2" before "S10"; any other label after, by its text."""
    number = label[1:]
    return (int(number), label) if label[:1] == "S" and number.isdigit() else (1 << 30, label)
