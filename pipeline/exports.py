"""Testimonies as files other tools read: WebVTT and SRT captions, plain-text and JSON
transcripts, CSV and JSONL of passages with their theme tags, an OHMS index (XML, as the
OHMS viewer reads it) and a IIIF Presentation 3 manifest.

Formatting is pure: it takes records already read for the caller. Reading goes through
:func:`collect` and :func:`collect_filtered`, which use the archive's reads with the
caller's :class:`~corpus.Viewer`, so an export holds exactly what that viewer may see
(consent levels, names and numbers masked, recordings only where names may be heard).
Captions, OHMS and IIIF need passage times: a typed testimony has none and is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import srt
import webvtt
from webvtt.models import Timestamp

from corpus import NotFoundError, Passage, PassageFilter, Testimony, Viewer
from corpus.text import clock

from .archive import Archive
from .errors import InputError
from .export_common import (
    FALLBACK_SECONDS,
    FORMATS,
    ILLUSTRATIVE_NOTE,
    MASKED_NOTE,
    SET_FORMATS,
    Cue,
    ExportFormat,
    Item,
    cues,
    export_format,
    is_masked,
    one_line,
    opening_notes,
    tags_json,
    theme_labels,
    themes_of,
)
from .export_iiif import iiif_manifest
from .export_ohms import (
    OHMS_NAMESPACE,
    _sync,  # noqa: F401 (tests/test_exports.py checks the sync line)
    ohms,
)
from .export_voices import (
    Voices,
    exported_words,
    turn_marks,
    voice,
    voice_marks,
    voice_names,
    vtt_annotation,
    vtt_timed_words,
    words_json,
)
from .taxonomy import Taxonomy

__all__ = [
    "FALLBACK_SECONDS",
    "FORMATS",
    "ILLUSTRATIVE_NOTE",
    "MASKED_NOTE",
    "OHMS_NAMESPACE",
    "SET_FORMATS",
    "Cue",
    "Export",
    "ExportFormat",
    "Item",
    "Voices",
    "collect",
    "collect_filtered",
    "collect_voices",
    "cues",
    "export_format",
    "export_set",
    "export_testimonies",
    "export_testimony",
    "iiif_manifest",
    "json_set",
    "json_transcript",
    "ohms",
    "passages_csv",
    "passages_jsonl",
    "srt_captions",
    "text",
    "theme_labels",
    "webvtt_captions",
]

_CSV_COLUMNS = (
    "testimony_id",
    "title",
    "region",
    "community",
    "date",
    "language",
    "consent",
    "source_kind",
    "illustrative",
    "passage_id",
    "seq",
    "start",
    "end",
    "speaker",
    "speaker_name",
    "text",
    "redacted",
    "themes",
    "tags",
)


# -- captions ------------------------------------------------------------------------------


def _vtt_text(value: str) -> str:
    """Cue text as WebVTT requires it: one line, ``&``, ``<`` and ``>`` escaped (so
    ``-->`` cannot occur)."""
    return one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_time(seconds: float) -> str:
    return str(Timestamp.from_seconds(seconds))


def _cue_text(c: Cue, name: str, words: bool) -> str:
    """A cue's text: its words with timestamp tags when asked for and the passage has
    them (else its text), inside a voice span ``<v Name>`` where ``name`` is marked."""
    timed = exported_words(c.passage) if words else ()
    body = vtt_timed_words(timed, c.start, c.end) if timed else _vtt_text(c.passage.text)
    return f"<v {vtt_annotation(name)}>{body}</v>" if name else body


def webvtt_captions(
    t: Testimony,
    passages: Sequence[Passage],
    voices: Voices | None = None,
    words: bool = False,
) -> str:
    """WebVTT: a NOTE block saying what this is (illustrative, masked), then one cue per
    passage, identified ``passage-<id>``, in a voice span naming who speaks (``voices``:
    label to the name the reader may see; see :func:`voice_marks`); ``words``: a
    timestamp tag before each word, where the passage carries word times."""
    found = cues(t, passages)
    marks = voice_marks([c.passage for c in found], voices)
    captions = [
        webvtt.Caption(
            start=_vtt_time(c.start),
            end=_vtt_time(c.end),
            text=_cue_text(c, name, words),
            identifier=f"passage-{c.passage.id}" if c.passage.id is not None else None,
        )
        for c, name in zip(found, marks, strict=True)
    ]
    notes = "\n".join(one_line(n).replace("-->", "->") for n in opening_notes(t, passages))
    metadata = [f"Language: {t.language}"] if t.language else []
    return webvtt.WebVTT(captions=captions, header_comments=[notes], metadata=metadata).content


def _srt_time(seconds: float) -> dt.timedelta:
    return dt.timedelta(milliseconds=round(seconds * 1000))


def _said(p: Passage, name: str) -> str:
    """``Name: text`` where a voice is marked, the text alone otherwise."""
    return f"{one_line(name)}: {one_line(p.text)}" if name else one_line(p.text)


def srt_captions(t: Testimony, passages: Sequence[Passage], voices: Voices | None = None) -> str:
    """SubRip: one subtitle per passage, opened by ``Name: `` where the voice is known
    (SRT has no voice tag, and a subtitle is read alone). SRT has no comments, so an
    illustrative testimony opens with a subtitle that says so, shown with the first
    passage."""
    found = cues(t, passages)
    marks = voice_marks([c.passage for c in found], voices)
    subs = [
        srt.Subtitle(None, _srt_time(c.start), _srt_time(c.end), _said(c.passage, name))
        for c, name in zip(found, marks, strict=True)
    ]
    if t.illustrative:
        until = found[0].end if found else FALLBACK_SECONDS
        subs.insert(0, srt.Subtitle(None, _srt_time(0), _srt_time(until), ILLUSTRATIVE_NOTE))
    return str(srt.compose(subs, reindex=True, start_index=1))


# -- transcripts and passages --------------------------------------------------------------


def text(t: Testimony, passages: Sequence[Passage], voices: Voices | None = None) -> str:
    """A plain-text transcript: the notes, then one paragraph per passage, opened by its
    time ``[hh:mm:ss]`` when it has one and by ``Name: `` where a turn begins (as an
    oral-history transcript names a voice when it changes)."""
    out = [*opening_notes(t, passages), ""]
    for p, name in zip(passages, turn_marks(passages, voices), strict=True):
        when = f"[{clock(p.start)}] " if p.start is not None else ""
        who = f"{one_line(name)}: " if name else ""
        out += [when + who + p.text.strip(), ""]
    return "\n".join(out)


def _speakers_json(passages: Sequence[Passage], voices: Voices | None) -> list[dict[str, str]]:
    """The recording's voices in the order they are first heard, with the names shown."""
    labels = dict.fromkeys(p.speaker for p in passages if p.speaker)
    return [{"label": label, "name": (voices or {}).get(label) or label} for label in labels]


def _passage_json(p: Passage, voices: Voices | None, words: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "seq": p.seq,
        "start": p.start,
        "end": p.end,
        "speaker": p.speaker,
        "speaker_name": voice(p, voices),
        "text": p.text,
        "redacted": p.redacted,
        "tags": tags_json(p.tags),
    }
    if words:
        out["words"] = words_json(exported_words(p))
    return out


def _testimony_json(
    t: Testimony, passages: Sequence[Passage], voices: Voices | None, words: bool
) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "region": t.region,
        "community": t.community,
        "date": t.date,
        "language": t.language,
        "duration": t.duration,
        "consent": t.consent,
        "source_kind": t.source_kind,
        "illustrative": t.illustrative,
        "allow_names": t.allow_names,
        "masked": is_masked(passages),
        "themes": themes_of(passages),
        "speakers": _speakers_json(passages, voices),
        "passages": [_passage_json(p, voices, words) for p in passages],
    }


def json_transcript(
    t: Testimony, passages: Sequence[Passage], voices: Voices | None = None, words: bool = False
) -> str:
    """One testimony: its metadata, its voices and passages with times, voice and tags
    (``words``: and each passage's timed words, where it carries them)."""
    data = _testimony_json(t, passages, voices, words)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def json_set(
    items: Sequence[Item], voices: Mapping[str, Voices] | None = None, words: bool = False
) -> str:
    """Several testimonies: ``{"count": n, "testimonies": [...]}``, each as
    :func:`json_transcript` writes one (``voices``: each testimony's, by its id)."""
    found = voices or {}
    testimonies = [_testimony_json(t, ps, found.get(t.id), words) for t, ps in items]
    return (
        json.dumps({"count": len(items), "testimonies": testimonies}, ensure_ascii=False, indent=2)
        + "\n"
    )


def _passage_row(t: Testimony, p: Passage, voices: Voices | None) -> dict[str, Any]:
    return {
        "testimony_id": t.id,
        "title": t.title,
        "region": t.region,
        "community": t.community,
        "date": t.date,
        "language": t.language,
        "consent": t.consent,
        "source_kind": t.source_kind,
        "illustrative": t.illustrative,
        "passage_id": p.id,
        "seq": p.seq,
        "start": p.start,
        "end": p.end,
        "speaker": p.speaker,
        "speaker_name": voice(p, voices),
        "text": p.text,
        "redacted": p.redacted,
    }


def passages_csv(items: Sequence[Item], voices: Mapping[str, Voices] | None = None) -> str:
    """One row per passage with its testimony's metadata; ``speaker`` is the voice's
    label and ``speaker_name`` the name shown for it (both empty where not diarized);
    ``themes`` is ``a;b``, ``tags`` is ``theme:score:source;...``; times are empty for
    typed testimonies. CSV has no place for a word list: JSON lines carry words."""
    found = voices or {}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS)
    writer.writeheader()
    for t, passages in items:
        for p in passages:
            row = _passage_row(t, p, found.get(t.id))
            row["illustrative"] = "true" if t.illustrative else "false"
            row["redacted"] = "true" if p.redacted else "false"
            row["themes"] = ";".join(g.theme for g in p.tags)
            row["tags"] = ";".join(f"{g.theme}:{g.score:.4f}:{g.source}" for g in p.tags)
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def passages_jsonl(
    items: Sequence[Item], voices: Mapping[str, Voices] | None = None, words: bool = False
) -> str:
    """One JSON object per line and passage, with its testimony's metadata, its voice
    and tags (``words``: and its timed words, where it carries them)."""
    found = voices or {}
    lines = []
    for t, passages in items:
        for p in passages:
            row = {**_passage_row(t, p, found.get(t.id)), "tags": tags_json(p.tags)}
            if words:
                row["words"] = words_json(exported_words(p))
            lines.append(json.dumps(row, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


# -- reading what the caller may see, and rendering it -------------------------------------


def collect(archive: Archive, ids: Sequence[str], viewer: Viewer) -> list[Item]:
    """The testimonies ``ids`` (each once, in order) as ``viewer`` may read them;
    NotFoundError for one the viewer may not see."""
    return [(archive.testimony(i, viewer), archive.passages(i, viewer)) for i in dict.fromkeys(ids)]


def collect_filtered(
    archive: Archive, viewer: Viewer, flt: PassageFilter = PassageFilter(), page: int = 200
) -> list[Item]:
    """Every testimony within ``flt`` that ``viewer`` may see (newest first), with all
    its passages; a theme in ``flt`` selects testimonies that tell of it anywhere."""
    items: list[Item] = []
    offset = 0
    while True:
        found, total = archive.store.list_testimonies(viewer, flt, page, offset)
        for t in found:
            try:
                items.append((t, archive.passages(t.id, viewer)))
            except NotFoundError:  # withdrawn or made private meanwhile
                continue
        offset += len(found)
        if not found or offset >= total:
            return items


def collect_voices(archive: Archive, items: Sequence[Item], viewer: Viewer) -> dict[str, Voices]:
    """Each testimony's voices (label to the name ``viewer`` may see), read through the
    archive's viewer-checked speakers; a testimony without named voices has none (its
    passages then show their labels)."""
    return {t.id: voice_names(archive.speakers(t.id, viewer)) for t, _ in items}


@dataclass(frozen=True)
class Export:
    """A rendered export and what to call it."""

    content: str
    format: ExportFormat
    filename: str
    testimonies: int
    passages: int


def _filename(testimony_id: str, fmt: ExportFormat) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in testimony_id)
    return f"{safe}.{fmt.extension}"


@dataclass(frozen=True)
class _Job:
    """What a rendering needs besides the items."""

    taxonomy: Taxonomy
    base_url: str
    voices: Mapping[str, Voices]
    words: bool  # export word times, in the formats that have a place for them


def _render(fmt: ExportFormat, items: Sequence[Item], job: _Job, one: bool) -> str:
    """``one``: a single testimony's file (else a set, even of one)."""
    words = job.words
    if fmt.name == "json":
        if one:
            t, passages = items[0]
            return json_transcript(t, passages, job.voices.get(t.id), words)
        return json_set(items, job.voices, words)
    if fmt.name == "csv":
        return passages_csv(items, job.voices)
    if fmt.name == "jsonl":
        return passages_jsonl(items, job.voices, words)
    if not one or len(items) != 1:
        raise InputError(f"{fmt.name} holds one testimony at a time")
    t, passages = items[0]
    voices = job.voices.get(t.id)
    if fmt.name == "vtt":
        return webvtt_captions(t, passages, voices, words)
    if fmt.name == "srt":
        return srt_captions(t, passages, voices)
    if fmt.name == "txt":
        return text(t, passages, voices)
    labels = theme_labels(job.taxonomy, t.language)
    if fmt.name == "ohms":
        return ohms(t, passages, labels, job.base_url, voices)
    if not job.base_url:
        raise InputError("a IIIF manifest needs the archive's base URL")
    return iiif_manifest(t, passages, job.base_url, labels, voices, words)


def _export(
    fmt: ExportFormat, items: Sequence[Item], job: _Job, name: str, one: bool = True
) -> Export:
    return Export(
        _render(fmt, items, job, one),
        fmt,
        name,
        len(items),
        sum(len(ps) for _, ps in items),
    )


def export_testimony(
    archive: Archive,
    testimony_id: str,
    viewer: Viewer,
    fmt: str,
    base_url: str = "",
    words: bool = False,
) -> Export:
    """One testimony in ``fmt`` as ``viewer`` may read it (``base_url``: where the API
    is served, for the links in OHMS and IIIF; ``words``: word times too, where the
    format has a place for them and the viewer may read them)."""
    form = export_format(fmt)
    items = collect(archive, [testimony_id], viewer)
    job = _Job(archive.tagger.taxonomy, base_url, collect_voices(archive, items, viewer), words)
    return _export(form, items, job, _filename(testimony_id, form))


def export_testimonies(
    archive: Archive,
    ids: Sequence[str],
    viewer: Viewer,
    fmt: str,
    base_url: str = "",
    words: bool = False,
) -> list[Export]:
    """Each testimony in its own file; all are read and rendered before any is returned,
    so one that cannot be exported (not visible, typed for captions) stops them all."""
    form = export_format(fmt)
    items = collect(archive, ids, viewer)
    job = _Job(archive.tagger.taxonomy, base_url, collect_voices(archive, items, viewer), words)
    return [_export(form, [item], job, _filename(item[0].id, form)) for item in items]


def export_set(
    archive: Archive,
    viewer: Viewer,
    fmt: str,
    flt: PassageFilter = PassageFilter(),
    ids: Sequence[str] | None = None,
    words: bool = False,
) -> Export:
    """Several testimonies in one file (csv, jsonl or json): those named by ``ids``, or
    every one within ``flt`` that ``viewer`` may see."""
    form = export_format(fmt)
    if not form.sets:
        raise InputError(
            f"{form.name} holds one testimony at a time; for several use one of "
            f"{', '.join(SET_FORMATS)}"
        )
    if ids is not None:
        items = collect(archive, ids, viewer)
    else:
        items = collect_filtered(archive, viewer, flt)
    job = _Job(archive.tagger.taxonomy, "", collect_voices(archive, items, viewer), words)
    return _export(form, items, job, f"voces-export.{form.extension}", one=False)
