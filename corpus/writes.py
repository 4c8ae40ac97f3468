"""Writing testimonies: each write whole or not at all, by an archivist, audited.

A testimony, its passages, their tags, words, voices and vectors are written in one
transaction (an ingest is stored whole or not at all); a correction changes a passage's
text, its redacted copy, words, vector and machine tags together and keeps the old text
in its history; an archivist names a voice or moves a passage to another voice;
a deletion withdraws a testimony from every table and purges the deleted bytes from the
database files. Every write is recorded in the audit log in the same transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .access import Viewer, require
from .audit import AuditLog
from .db import AnyDatabase, chunks, now
from .errors import CorpusError, DuplicateError, NotFoundError
from .reads import Reads
from .records import (
    CONSENT_LEVELS,
    VERDICTS,
    Passage,
    PassageEdit,
    Review,
    Speaker,
    Testimony,
    ThemeTag,
    Word,
)
from .vector_rows import VectorRows

__all__ = ["LABEL", "NAME_MAX", "Deleted", "Writes"]

#: A voice's label as diarization makes them: "S1", "S2", ...
LABEL = re.compile(r"S[1-9][0-9]{0,2}")
#: The longest name a voice may be given.
NAME_MAX = 200


@dataclass(frozen=True)
class Deleted:
    """What :meth:`Writes.delete_testimony` removed, and what lies outside the database."""

    testimony: Testimony  # as it was (its media path, its source hash)
    passage_ids: list[int]
    jobs: tuple[str, ...]  # upload jobs that had stored it (now without names)
    uploads: tuple[str, ...]  # their staged uploads, if any were left behind


class Writes:
    def __init__(
        self, db: AnyDatabase, reads: Reads, vector_rows: VectorRows, audit: AuditLog
    ) -> None:
        self.db = db
        self.reads = reads
        self.vector_rows = vector_rows
        self.audit = audit

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
        """Store a testimony with its passages, tags and vectors, all or nothing.

        ``redacted`` are the passages' texts with names and numbers masked (for viewers
        who may not see originals). Returns the new passage ids, in order."""
        require(viewer, "ingest")
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
                    'INSERT INTO passages (testimony_id, seq, start, "end", text, redacted, '
                    "speaker) "
                    f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * len(part))} RETURNING id, seq",
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
                            passage.speaker,
                        )
                    ],
                ).fetchall()
                by_seq.update({int(r[1]): int(r[0]) for r in rows})
            ids = [by_seq[passage.seq] for passage in passages]
            for pid, passage in zip(ids, passages, strict=True):
                self._write_words(db, pid, passage.words)
            labels = sorted({p.speaker for p in passages if p.speaker})
            db.executemany(
                "INSERT INTO speakers (testimony_id, label, name) VALUES (?, ?, '')",
                [(testimony.id, label) for label in labels],
            )
            self._write_tags(
                db, [(pid, tag) for pid, p in zip(ids, passages, strict=True) for tag in p.tags]
            )
            self.vector_rows.write(db, ids, vectors, embedder)
            if text_vector is not None:
                self.vector_rows.write_texts(db, {testimony.id: text_vector}, embedder)
            self.audit.record(
                viewer, "add", testimony.id, f"{len(ids)} passages, {testimony.consent}", db
            )
            return ids

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

    @staticmethod
    def _write_words(db: Any, passage_id: int, words: Sequence[Word]) -> None:
        """Replace a passage's words with ``words`` (in order)."""
        db.execute("DELETE FROM words WHERE passage_id = ?", (passage_id,))
        db.executemany(
            'INSERT INTO words (passage_id, position, start, "end", text, probability, edited) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    passage_id,
                    n,
                    float(w.start),
                    float(w.end),
                    w.text,
                    float(w.probability),
                    int(w.edited),
                )
                for n, w in enumerate(words)
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
        require(viewer, "review")
        if verdict not in VERDICTS:
            raise CorpusError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        reviewer = (reviewer or viewer.name).strip()
        if not reviewer:
            raise CorpusError("a review needs the reviewer's name")
        if not self.reads.passage_rows("p.id = ?", [passage_id], viewer):
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
            self.audit.record(viewer, "review", f"passage:{passage_id}", f"{verdict} {theme}", db)
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
        text_vector: np.ndarray | None = None,
        words: Sequence[Word] | None = None,
    ) -> PassageEdit | None:
        """Replace a passage's text with a correction, in one transaction: the text, its
        redacted copy, vector and machine tags change, and its words become ``words``
        (the caller realigns them; None leaves them); its times, reviews and place do
        not; the edit is kept in ``passage_edits``. None when the text is unchanged."""
        require(viewer, "correct")
        text = text.strip()
        if not text:
            raise CorpusError("a corrected passage cannot be empty (delete the testimony instead)")
        editor = (editor or viewer.name).strip()
        if not editor:
            raise CorpusError("a correction needs the editor's name")
        with self.db.transaction() as db:
            consent, levels = self.reads.consent(viewer)
            row = db.execute(
                "SELECT p.text FROM passages p JOIN testimonies t ON t.id = p.testimony_id "
                f"WHERE p.id = ? AND {consent}",
                [passage_id, *levels],
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
            if words is not None:
                self._write_words(db, passage_id, words)
            self.vector_rows.write(db, [passage_id], vector.reshape(1, -1), embedder)
            if text_vector is not None:  # the trigger dropped the old one with the text
                (tid,) = db.execute(
                    "SELECT testimony_id FROM passages WHERE id = ?", (passage_id,)
                ).fetchone()
                self.vector_rows.write_texts(db, {tid: text_vector}, embedder)
            db.execute("DELETE FROM tags WHERE passage_id = ? AND source != 'human'", (passage_id,))
            self._write_tags(db, [(passage_id, tag) for tag in tags])
            db.execute("UPDATE filter_generation SET n = n + 1 WHERE id = 1")
            self.audit.record(viewer, "correct", f"passage:{passage_id}", f"by {editor}", db)
        return edit

    def stored_words(self, passage_id: int, viewer: Viewer) -> tuple[Word, ...]:
        """A passage's words as stored, for an archivist's correction to realign
        (NotFoundError if the viewer may not see the passage)."""
        require(viewer, "correct")
        if not self.reads.passage_rows("p.id = ?", [passage_id], viewer):
            raise NotFoundError(f"no passage {passage_id}")
        return self.reads.words_for([passage_id]).get(passage_id, ())

    def rename_speaker(self, testimony_id: str, label: str, name: str, viewer: Viewer) -> Speaker:
        """Give a voice of a testimony a name ("" takes it away). The audit log records
        who renamed which voice, never the name (a name is personal data, and the log
        outlives a withdrawal)."""
        require(viewer, "name speakers")
        name = name.strip()
        if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise CorpusError(f"a speaker's name is text of at most {NAME_MAX} characters")
        self.reads.testimony(testimony_id, viewer, audit=False)  # NotFoundError if hidden
        with self.db.transaction() as db:
            found = db.execute(
                "UPDATE speakers SET name = ? WHERE testimony_id = ? AND label = ?",
                (name, testimony_id, label),
            ).rowcount
            if not found:
                raise NotFoundError(f"testimony {testimony_id!r} has no speaker {label!r}")
            self.audit.record(viewer, "rename speaker", testimony_id, label, db)
        return Speaker(testimony_id, label, name)

    def set_speaker(self, passage_id: int, label: str, viewer: Viewer) -> str:
        """Move a passage to another voice of its testimony (fixing a turn diarization
        got wrong): a label the testimony has, or a new "S<n>", which adds that voice.
        Returns the label it had."""
        require(viewer, "fix turns")
        if not LABEL.fullmatch(label):
            raise CorpusError(f"a speaker label is S1, S2, ... (not {label[:20]!r})")
        testimony_id, before = self.reads.passage_speaker(passage_id, viewer)
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO speakers (testimony_id, label, name) VALUES (?, ?, '') "
                "ON CONFLICT (testimony_id, label) DO NOTHING",
                (testimony_id, label),
            )
            db.execute("UPDATE passages SET speaker = ? WHERE id = ?", (label, passage_id))
            self.audit.record(
                viewer, "set speaker", f"passage:{passage_id}", f"{before or '-'} -> {label}", db
            )
        return before

    def set_consent(self, testimony_id: str, consent: str, viewer: Viewer) -> Testimony:
        """Change a testimony's consent level (withdrawal is a change to private, or a
        deletion). Recorded in the audit log."""
        require(viewer, "change consent")
        if consent not in CONSENT_LEVELS:
            raise CorpusError(f"consent {consent!r} is not one of {', '.join(CONSENT_LEVELS)}")
        before = self.reads.testimony(testimony_id, viewer, audit=False)
        with self.db.transaction() as db:
            db.execute("UPDATE testimonies SET consent = ? WHERE id = ?", (consent, testimony_id))
            self.audit.record(viewer, "consent", testimony_id, f"{before.consent} -> {consent}", db)
        return self.reads.testimony(testimony_id, viewer, audit=False)

    def delete_testimony(self, testimony_id: str, viewer: Viewer) -> Deleted:
        """Remove a testimony with its passages, tags, reviews, edits and vectors in one
        transaction, and what else named it: the upload jobs that stored it keep their
        ids, states and times but lose the file name, metadata and messages (which can
        hold a title or transcribed words), and so do their audit entries; the audit
        log keeps who deleted what and when. Then the database files are purged of the
        deleted bytes (:meth:`Database.purge`). Returns what the caller must remove
        beside the database (the recording, staged uploads)."""
        require(viewer, "delete")
        testimony = self.reads.testimony(testimony_id, viewer, audit=False)
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
            self.audit.record(viewer, "delete", testimony_id, f"{len(ids)} passages", db)
        self.db.purge()
        return Deleted(testimony, ids, tuple(j[0] for j in jobs), tuple(j[1] for j in jobs if j[1]))
