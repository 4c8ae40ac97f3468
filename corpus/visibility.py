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
  :func:`testimony_label`): the redacted text and title where names are hidden from it,
  no reviewer names or source file names unless it reads originals, ``[…]`` where a
  redacted copy is missing (the check fails closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .access import Viewer
from .records import Passage, Review, Testimony, ThemeTag

__all__ = [
    "PASSAGE_COLUMNS",
    "WITHHELD",
    "PassageFilter",
    "consent_sql",
    "may_read",
    "names_visible",
    "passage_from_row",
    "passage_text",
    "review_from_row",
    "tag_from_row",
    "testimony_from_row",
    "testimony_label",
]

#: What a viewer who may not see names reads where a redacted copy is missing.
WITHHELD = "[…]"

#: The columns of a passage row with its testimony's (``p`` and ``t``), as the
#: projections below read them.
PASSAGE_COLUMNS = (
    'p.id, p.testimony_id, p.seq, p.start, p."end", p.text, p.redacted, t.allow_names, '
    "t.consent, t.region, t.community, t.language, t.date, t.title, t.title_redacted, "
    "t.media_path"
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
        return " AND ".join(clauses), args


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


def passage_text(row: Any, viewer: Viewer) -> tuple[str, bool]:
    """The passage text this viewer may read, and whether it is the redacted copy."""
    if names_visible(viewer, row["allow_names"]):
        return row["text"], False
    redacted = row["redacted"]
    return (redacted if redacted is not None else WITHHELD), True


def passage_from_row(row: Any, viewer: Viewer, tags: tuple[ThemeTag, ...] = ()) -> Passage:
    """A passage row as the viewer may read it."""
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
