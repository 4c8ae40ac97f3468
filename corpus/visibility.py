"""What a viewer may see, and how it reads it: the one home of the consent rule.

Every read of stored testimonies takes a :class:`~corpus.access.Viewer`; its role gives the
consent levels it may read (:attr:`Viewer.consent`). This module turns that into what the
readers need, so no one writes the rule twice:

- SQL: :func:`consent_sql` (and :meth:`PassageFilter.where`, which adds a filter's
  fields to it), for every read in the store and the keyword and vector searches;
- memory: :func:`may_read`, for the caches that hold consent levels themselves (the id
  sets search keeps per filter are made by the SQL rule; ``PassagePlaces`` asks this);
- projection: a row as the viewer may read it (:func:`testimony_from_row`,
  :func:`passage_from_row`, :func:`passage_text`, :func:`tag_from_row`,
  :func:`testimony_label`, :func:`speaker_name`): the redacted text and title where names
  are hidden from it, no timed words then (they spell out what redaction masked), speaker
  names masked, no reviewer names or source file names unless it reads originals, ``[…]``
  where a redacted copy is missing (the check fails closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .access import Viewer
from .records import Passage, Review, Testimony, ThemeTag, Word

__all__ = [
    "NAME_MASKS",
    "PASSAGE_COLUMNS",
    "WITHHELD",
    "PassageFilter",
    "consent_sql",
    "may_read",
    "names_visible",
    "passage_from_row",
    "passage_text",
    "review_from_row",
    "speaker_name",
    "tag_from_row",
    "testimony_from_row",
    "testimony_label",
]

#: What a viewer who may not see names reads where a redacted copy is missing.
WITHHELD = "[…]"

#: What a speaker's name reads as for a viewer who may not see names: the redactor's
#: own mask for a name in the testimony's language (pipeline.redact.MASKS, which corpus
#: may not import; tests/test_speakers.py keeps the two alike), Spanish by default.
NAME_MASKS = {"es": "[nombre]", "en": "[name]"}

#: The columns of a passage row with its testimony's (``p`` and ``t``), as the
#: projections below read them.
PASSAGE_COLUMNS = (
    'p.id, p.testimony_id, p.seq, p.start, p."end", p.text, p.redacted, p.speaker, '
    "t.allow_names, t.consent, t.region, t.community, t.language, t.date, t.title, "
    "t.title_redacted, t.media_path"
)


def consent_sql(
    viewer: Viewer, column: str = "t.consent", hint: str = "+"
) -> tuple[str, list[str]]:
    """The consent rule in SQL: ``column`` is one of the levels ``viewer`` may read.

    ``hint`` is the engine's (:attr:`corpus.db.Database.unindexed`): on SQLite a unary
    plus keeps the planner from driving a query by the consent index (three values, so
    it selects most of the archive) instead of by passage ids; without it, fetching 20
    passages by id scanned every public testimony (15 ms at 100k passages, growing with
    the archive). PostgreSQL has no such hint (and no unary plus on text): ``""``."""
    levels: list[str] = [str(level) for level in viewer.consent]
    return f"{hint}{column} IN ({','.join('?' * len(levels))})", levels


def may_read(viewer: Viewer, consent: str) -> bool:
    """Whether ``viewer`` may read a testimony of this consent level (for caches)."""
    return consent in viewer.consent


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
    #: a voice: its label ("S1") or, for viewers who may see names, the name an archivist
    #: gave it ("Entrevistadora"); case-insensitive (ASCII only on SQLite)
    speaker: str = ""

    def where(
        self, viewer: Viewer, t: str = "t", p: str | None = "p", hint: str = "+"
    ) -> tuple[str, list[Any]]:
        """SQL condition over testimonies ``t`` and passages ``p`` for ``viewer``: the
        consent rule (:func:`consent_sql`, with the engine's planner ``hint``) and the
        filter's fields.

        With ``p=None`` the condition is about testimonies alone: a theme then means
        "told in any of its passages".
        """
        clause, consent = consent_sql(viewer, f"{t}.consent", hint)
        clauses: list[str] = [clause]
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
        if self.speaker:
            clause, speaker_args = self._speaker(viewer, t, p)
            clauses.append(clause)
            args += speaker_args
        return " AND ".join(clauses), args

    def _speaker(self, viewer: Viewer, t: str, p: str | None) -> tuple[str, list[Any]]:
        """Passages of the voice :attr:`speaker` names: by its label, or by its name where
        ``viewer`` may see names (a testimony whose names are hidden from them must not
        answer to a name: that would tell who speaks in it). With ``p=None``: testimonies
        holding a passage of that voice."""
        q = p or "q"
        names = "" if viewer.sees_originals else f" AND {t}.allow_names != 0"
        voice = (
            f"(lower({q}.speaker) = lower(?) OR EXISTS (SELECT 1 FROM speakers s "
            f"WHERE s.testimony_id = {q}.testimony_id AND s.label = {q}.speaker "
            f"AND s.name != '' AND lower(s.name) = lower(?){names}))"
        )
        value = self.speaker.strip()
        if p:
            return voice, [value, value]
        return (
            f"EXISTS (SELECT 1 FROM passages q WHERE q.testimony_id = {t}.id AND {voice})",
            [value, value],
        )


def names_visible(viewer: Viewer, allow_names: Any) -> bool:
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
    if not names_visible(viewer, allow_names):
        title = title_redacted or ""
    return " ".join((title, region or "", community or ""))


def testimony_from_row(row: Any, viewer: Viewer) -> Testimony:
    title = row["title"]
    if not names_visible(viewer, row["allow_names"]):
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
        media_path=row["media_path"] if names_visible(viewer, row["allow_names"]) else "",
        illustrative=bool(row["illustrative"]),
        allow_names=bool(row["allow_names"]),
        extra=json.loads(row["extra"]) if viewer.sees_originals else {},
        created_at=row["created_at"],
    )


def speaker_name(viewer: Viewer, name: str, allow_names: Any, language: str | None) -> str:
    """A speaker's name as ``viewer`` may read it: the name where names are visible to
    them, else the redactor's mask for a name (an unnamed voice stays "": there is
    nothing to hide)."""
    if not name or names_visible(viewer, allow_names):
        return name
    return NAME_MASKS.get((language or "")[:2].lower(), NAME_MASKS["es"])


def passage_text(row: Any, viewer: Viewer) -> tuple[str, bool]:
    """The passage text this viewer may read, and whether it is the redacted copy."""
    if names_visible(viewer, row["allow_names"]):
        return row["text"], False
    redacted = row["redacted"]
    return (redacted if redacted is not None else WITHHELD), True


def passage_from_row(
    row: Any,
    viewer: Viewer,
    tags: tuple[ThemeTag, ...] = (),
    words: tuple[Word, ...] = (),
) -> Passage:
    """A passage row as the viewer may read it: ``words`` (its timed words, as stored)
    only where it reads the original text, since a word list would give back the names
    the redacted copy masks."""
    text, redacted = passage_text(row, viewer)
    return Passage(
        id=row["id"],
        testimony_id=row["testimony_id"],
        seq=row["seq"],
        start=row["start"],
        end=row["end"],
        text=text,
        tags=tags,
        redacted=redacted,
        speaker=row["speaker"],
        words=() if redacted else words,
    )


def tag_from_row(row: Any, viewer: Viewer) -> ThemeTag:
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


def review_from_row(row: Any, viewer: Viewer) -> Review:
    """A review as the viewer may read it: who reviewed, and their note, for archivists
    only; others see the verdict."""
    names = viewer.sees_originals
    return Review(
        row["passage_id"],
        row["theme"],
        row["verdict"],
        row["reviewer"] if names else "",
        row["note"] if names else "",
        row["reviewed_at"],
    )
