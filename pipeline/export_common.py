"""What every export format shares: the formats table, the notes a reader must see
first, and cues (a passage with the times its caption is shown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from corpus import Passage, Testimony, ThemeTag

from .audio import MEDIA_TYPES
from .errors import InputError
from .taxonomy import Taxonomy

__all__ = [
    "FALLBACK_SECONDS",
    "FORMATS",
    "ILLUSTRATIVE_NOTE",
    "MASKED_NOTE",
    "SET_FORMATS",
    "Cue",
    "ExportFormat",
    "Item",
    "cues",
    "export_format",
    "is_masked",
    "media_url",
    "one_line",
    "opening_notes",
    "recording_length",
    "recording_type",
    "tags_json",
    "theme_labels",
    "themes_of",
]

#: A testimony and its passages, as one viewer may read them.
Item = tuple[Testimony, list[Passage]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str
    sets: bool  # one file may hold several testimonies
    timed: bool  # needs passage times (a typed testimony cannot be exported so)
    description: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("vtt", "text/vtt; charset=utf-8", "vtt", False, True, "WebVTT captions"),
        ExportFormat("srt", "application/x-subrip", "srt", False, True, "SubRip captions"),
        ExportFormat("txt", "text/plain; charset=utf-8", "txt", False, False, "Transcript"),
        ExportFormat(
            "json", "application/json", "json", True, False, "Transcripts with tags (JSON)"
        ),
        ExportFormat("csv", "text/csv; charset=utf-8", "csv", True, False, "Passages (CSV)"),
        ExportFormat(
            "jsonl", "application/x-ndjson", "jsonl", True, False, "Passages (JSON lines)"
        ),
        ExportFormat("ohms", "application/xml", "ohms.xml", False, True, "OHMS index (XML)"),
        ExportFormat(
            "iiif",
            'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
            "iiif.json",
            False,
            True,
            "IIIF Presentation 3 manifest",
        ),
    )
}
#: Formats that hold several testimonies in one file.
SET_FORMATS: tuple[str, ...] = tuple(name for name, f in FORMATS.items() if f.sets)

ILLUSTRATIVE_NOTE = "ILLUSTRATIVE: written for the Voces demo, not a real witness's testimony."
MASKED_NOTE = "Names and numbers that identify people are masked in this copy."
#: A passage with a start and no end (and nothing after it) lasts this long.
FALLBACK_SECONDS = 3.0


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; InputError naming the known ones otherwise."""
    found = FORMATS.get(name.strip().lower())
    if found is None:
        raise InputError(f"unknown export format {name!r}; one of {', '.join(FORMATS)}")
    return found


@dataclass(frozen=True)
class Cue:
    """A passage with the times its caption is shown."""

    passage: Passage
    start: float
    end: float


def cues(t: Testimony, passages: Sequence[Passage]) -> list[Cue]:
    """One cue per passage. A passage without an end lasts until the next one starts (or
    the recording ends, or :data:`FALLBACK_SECONDS`); one without a start follows the
    previous cue. InputError for a typed testimony, which has no times."""
    if t.source_kind != "audio":
        raise InputError(f"testimony {t.id} is typed: it has no times for captions")
    if passages and all(p.start is None for p in passages):
        raise InputError(f"testimony {t.id} has no passage times for captions")
    out: list[Cue] = []
    previous = 0.0
    for i, p in enumerate(passages):
        start = p.start if p.start is not None else previous
        end = p.end
        if end is None or end <= start:
            later = [q.start for q in passages[i + 1 :] if q.start is not None and q.start > start]
            if later:
                end = later[0]
            elif t.duration is not None and t.duration > start:
                end = t.duration
            else:
                end = start + FALLBACK_SECONDS
        out.append(Cue(p, start, end))
        previous = end
    return out


def one_line(value: str) -> str:
    return " ".join(value.split())


def is_masked(passages: Sequence[Passage]) -> bool:
    return any(p.redacted for p in passages)


def opening_notes(t: Testimony, passages: Sequence[Passage]) -> list[str]:
    """What a reader of any format must know first: what this is, and what it is not."""
    place = ", ".join(x for x in (t.community, t.region) if x)
    facts = [
        f"Testimony {t.id}",
        place,
        t.date,
        f"language {t.language}" if t.language else "",
        f"consent {t.consent}",
    ]
    notes = [f"Voces export: {one_line(t.title) or t.id}", " · ".join(f for f in facts if f)]
    if t.illustrative:
        notes.append(ILLUSTRATIVE_NOTE)
    if is_masked(passages):
        notes.append(MASKED_NOTE)
    return notes


def recording_length(t: Testimony, found: Sequence[Cue]) -> float:
    """The recording's length, or the last cue's end when that is later."""
    return max([t.duration or 0.0, *(c.end for c in found)])


def tags_json(tags: Sequence[ThemeTag]) -> list[dict[str, Any]]:
    return [
        {"theme": g.theme, "score": g.score, "source": g.source, "evidence": list(g.evidence)}
        for g in tags
    ]


def themes_of(passages: Sequence[Passage]) -> list[str]:
    """The testimony's themes: most passages first, then by id."""
    count: dict[str, int] = {}
    for p in passages:
        for theme in dict.fromkeys(g.theme for g in p.tags):
            count[theme] = count.get(theme, 0) + 1
    return sorted(count, key=lambda theme: (-count[theme], theme))


def theme_labels(taxonomy: Taxonomy, language: str) -> dict[str, str]:
    """Each theme's label in ``language`` (English, then the id, when it has none)."""
    return {
        theme.id: theme.label.get(language) or theme.label.get("en") or theme.id
        for theme in taxonomy.themes.values()
    }


def media_url(t: Testimony, base_url: str) -> str:
    """The recording's URL when this viewer may hear it (else "")."""
    if not t.media_path or not base_url:
        return ""
    return f"{base_url.rstrip('/')}/api/v1/testimonies/{t.id}/audio"


def recording_type(t: Testimony) -> str:
    return MEDIA_TYPES.get(PurePosixPath(t.media_path).suffix.lower(), "audio/ogg")
