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
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import srt
import webvtt
from webvtt.models import Timestamp

from corpus import NotFoundError, Passage, PassageFilter, Testimony, ThemeTag, Viewer
from corpus.text import clock

from .archive import Archive
from .audio import MEDIA_TYPES
from .errors import InputError
from .taxonomy import Taxonomy

__all__ = [
    "FORMATS",
    "ILLUSTRATIVE_NOTE",
    "MASKED_NOTE",
    "OHMS_NAMESPACE",
    "SET_FORMATS",
    "Cue",
    "Export",
    "ExportFormat",
    "Item",
    "collect",
    "collect_filtered",
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

OHMS_NAMESPACE = "https://www.weareavp.com/nunncenter/ohms"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_IIIF_CONTEXT = "http://iiif.io/api/presentation/3/context.json"

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
    "text",
    "redacted",
    "themes",
    "tags",
)


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; InputError naming the known ones otherwise."""
    found = FORMATS.get(name.strip().lower())
    if found is None:
        raise InputError(f"unknown export format {name!r}; one of {', '.join(FORMATS)}")
    return found


# -- shared pieces -------------------------------------------------------------------------


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


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _masked(passages: Sequence[Passage]) -> bool:
    return any(p.redacted for p in passages)


def _notes(t: Testimony, passages: Sequence[Passage]) -> list[str]:
    """What a reader of any format must know first: what this is, and what it is not."""
    place = ", ".join(x for x in (t.community, t.region) if x)
    facts = [
        f"Testimony {t.id}",
        place,
        t.date,
        f"language {t.language}" if t.language else "",
        f"consent {t.consent}",
    ]
    notes = [f"Voces export: {_one_line(t.title) or t.id}", " · ".join(f for f in facts if f)]
    if t.illustrative:
        notes.append(ILLUSTRATIVE_NOTE)
    if _masked(passages):
        notes.append(MASKED_NOTE)
    return notes


def _length(t: Testimony, found: Sequence[Cue]) -> float:
    """The recording's length, or the last cue's end when that is later."""
    return max([t.duration or 0.0, *(c.end for c in found)])


def _tags(tags: Sequence[ThemeTag]) -> list[dict[str, Any]]:
    return [
        {"theme": g.theme, "score": g.score, "source": g.source, "evidence": list(g.evidence)}
        for g in tags
    ]


def _themes_of(passages: Sequence[Passage]) -> list[str]:
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


# -- captions ------------------------------------------------------------------------------


def _vtt_text(value: str) -> str:
    """Cue text as WebVTT requires it: one line, ``&``, ``<`` and ``>`` escaped (so
    ``-->`` cannot occur)."""
    return _one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_time(seconds: float) -> str:
    return str(Timestamp.from_seconds(seconds))


def webvtt_captions(t: Testimony, passages: Sequence[Passage]) -> str:
    """WebVTT: a NOTE block saying what this is (illustrative, masked), then one cue per
    passage, identified ``passage-<id>``."""
    captions = [
        webvtt.Caption(
            start=_vtt_time(c.start),
            end=_vtt_time(c.end),
            text=_vtt_text(c.passage.text),
            identifier=f"passage-{c.passage.id}" if c.passage.id is not None else None,
        )
        for c in cues(t, passages)
    ]
    notes = "\n".join(_one_line(n).replace("-->", "->") for n in _notes(t, passages))
    metadata = [f"Language: {t.language}"] if t.language else []
    return webvtt.WebVTT(captions=captions, header_comments=[notes], metadata=metadata).content


def _srt_time(seconds: float) -> dt.timedelta:
    return dt.timedelta(milliseconds=round(seconds * 1000))


def srt_captions(t: Testimony, passages: Sequence[Passage]) -> str:
    """SubRip: one subtitle per passage. SRT has no comments, so an illustrative
    testimony opens with a subtitle that says so, shown with the first passage."""
    found = cues(t, passages)
    subs = [
        srt.Subtitle(None, _srt_time(c.start), _srt_time(c.end), _one_line(c.passage.text))
        for c in found
    ]
    if t.illustrative:
        until = found[0].end if found else FALLBACK_SECONDS
        subs.insert(0, srt.Subtitle(None, _srt_time(0), _srt_time(until), ILLUSTRATIVE_NOTE))
    return str(srt.compose(subs, reindex=True, start_index=1))


# -- transcripts and passages --------------------------------------------------------------


def text(t: Testimony, passages: Sequence[Passage]) -> str:
    """A plain-text transcript: the notes, then one paragraph per passage, opened by its
    time ``[hh:mm:ss]`` when it has one."""
    out = [*_notes(t, passages), ""]
    for p in passages:
        when = f"[{clock(p.start)}] " if p.start is not None else ""
        out += [when + p.text.strip(), ""]
    return "\n".join(out)


def _testimony_json(t: Testimony, passages: Sequence[Passage]) -> dict[str, Any]:
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
        "masked": _masked(passages),
        "themes": _themes_of(passages),
        "passages": [
            {
                "id": p.id,
                "seq": p.seq,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "redacted": p.redacted,
                "tags": _tags(p.tags),
            }
            for p in passages
        ],
    }


def json_transcript(t: Testimony, passages: Sequence[Passage]) -> str:
    """One testimony: its metadata and passages with times and tags."""
    return json.dumps(_testimony_json(t, passages), ensure_ascii=False, indent=2) + "\n"


def json_set(items: Sequence[Item]) -> str:
    """Several testimonies: ``{"count": n, "testimonies": [...]}``, each as
    :func:`json_transcript` writes one."""
    return (
        json.dumps(
            {"count": len(items), "testimonies": [_testimony_json(t, ps) for t, ps in items]},
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )


def _passage_row(t: Testimony, p: Passage) -> dict[str, Any]:
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
        "text": p.text,
        "redacted": p.redacted,
    }


def passages_csv(items: Sequence[Item]) -> str:
    """One row per passage with its testimony's metadata; ``themes`` is ``a;b``,
    ``tags`` is ``theme:score:source;...``; times are empty for typed testimonies."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS)
    writer.writeheader()
    for t, passages in items:
        for p in passages:
            row = _passage_row(t, p)
            row["illustrative"] = "true" if t.illustrative else "false"
            row["redacted"] = "true" if p.redacted else "false"
            row["themes"] = ";".join(g.theme for g in p.tags)
            row["tags"] = ";".join(f"{g.theme}:{g.score:.4f}:{g.source}" for g in p.tags)
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def passages_jsonl(items: Sequence[Item]) -> str:
    """One JSON object per line and passage, with its testimony's metadata and tags."""
    lines = [
        json.dumps({**_passage_row(t, p), "tags": _tags(p.tags)}, ensure_ascii=False)
        for t, passages in items
        for p in passages
    ]
    return "".join(line + "\n" for line in lines)


# -- OHMS ----------------------------------------------------------------------------------


def _media_url(t: Testimony, base_url: str) -> str:
    """The recording's URL when this viewer may hear it (else "")."""
    if not t.media_path or not base_url:
        return ""
    return f"{base_url.rstrip('/')}/api/v1/testimonies/{t.id}/audio"


def _media_type(t: Testimony) -> str:
    return MEDIA_TYPES.get(PurePosixPath(t.media_path).suffix.lower(), "audio/ogg")


def _segments(found: Sequence[Cue]) -> list[list[Cue]]:
    """Consecutive cues that tell of the same themes, as one index segment."""
    groups: list[list[Cue]] = []
    for c in found:
        if groups and _theme_ids(groups[-1][0].passage) == _theme_ids(c.passage):
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _theme_ids(p: Passage) -> list[str]:
    return sorted({g.theme for g in p.tags})


def _opening(value: str, words: int = 8) -> str:
    parts = value.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _sync(found: Sequence[Cue]) -> str:
    """OHMS ``sync``: ``1:`` then, per minute of the recording, ``|line(word)`` where
    that minute falls in the transcript (lines from 0; a passage is line ``2*i``, with a
    blank line between passages; the word is interpolated within the passage)."""
    if not found:
        return "1:"
    marks = []
    for minute in range(1, int(found[-1].end // 60) + 1):
        at = minute * 60.0
        i = next((k for k, c in enumerate(found) if c.end > at), len(found) - 1)
        c = found[i]
        span = max(c.end - c.start, 1e-9)
        words = len(c.passage.text.split())
        word = min(words, max(0, int(words * (at - c.start) / span)))
        marks.append(f"|{2 * i}({word})")
    return "1:" + "".join(marks)


def _record_date(t: Testimony) -> str:
    """When the record was made: the day the testimony was stored (so an export is the
    same every time), today when that is unknown."""
    try:
        return dt.date.fromisoformat(t.created_at[:10]).isoformat()
    except ValueError:
        return dt.datetime.now(dt.UTC).date().isoformat()


def _sub(
    parent: ET.Element, tag: str, text: str | None = None, attrs: Mapping[str, str] | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, dict(attrs or {}))
    if text is not None:
        element.text = text
    return element


def ohms(
    t: Testimony,
    passages: Sequence[Passage],
    themes: Mapping[str, str] | None = None,
    base_url: str = "",
) -> str:
    """OHMS XML (the 5.4 schema's element order): the record's metadata, keywords from
    the testimony's themes (``themes`` maps theme ids to labels), the transcript with
    its minute ``sync``, and an index point per run of passages telling of the same
    themes: its start time (whole seconds), a title, the passages as synopsis, the theme
    labels as keywords (``a;b``) and theme ids as subjects. ``record/@id`` must be a
    number: a CRC-32 of the testimony id, which is in ``accession`` and ``cms_record_id``;
    ``record/@dt`` is the day the testimony was stored."""
    found = cues(t, passages)
    labels = dict(themes or {})
    root = ET.Element(
        "ROOT",
        {
            "xmlns": OHMS_NAMESPACE,
            "xmlns:xsi": _XSI,
            "xsi:schemaLocation": f"{OHMS_NAMESPACE} {OHMS_NAMESPACE}/ohms.xsd",
        },
    )
    record_id = str(zlib.crc32(t.id.encode("utf-8")) & 0x7FFFFFFF)
    record = _sub(root, "record", attrs={"id": record_id, "dt": _record_date(t)})
    _sub(record, "version", "5.4")
    full_date = len(t.date) == 10
    _sub(record, "date", attrs={"value": t.date if full_date else "", "format": "yyyy-mm-dd"})
    _sub(record, "date_nonpreferred_format", "" if full_date else t.date)
    _sub(record, "cms_record_id", t.id)
    _sub(record, "title", _one_line(t.title) or t.id)
    _sub(record, "accession", t.id)
    _sub(record, "duration", clock(_length(t, found)))
    _sub(record, "collection_name", ", ".join(x for x in (t.region, t.community) if x))
    _sub(record, "repository", "Voces")
    for theme in _themes_of(passages):
        _sub(record, "keyword", labels.get(theme, theme))
    _sub(record, "format", "audio")
    _sub(record, "sync", _sync(found))
    media = _media_url(t, base_url)
    if media:
        _sub(record, "media_url", media)
        mediafile = _sub(record, "mediafile")
        _sub(mediafile, "host", "Other")
        _sub(mediafile, "clip_format", "audio")
    _sub(record, "language", t.language)
    _sub(record, "user_notes", " ".join(_notes(t, passages)))
    index = _sub(record, "index")
    for segment in _segments(found):
        ids = _theme_ids(segment[0].passage)
        point = _sub(index, "point")
        _sub(point, "time", str(int(segment[0].start)))
        title = "; ".join(labels.get(i, i) for i in ids) or _opening(segment[0].passage.text)
        _sub(point, "title", title)
        _sub(point, "partial_transcript", _opening(segment[0].passage.text, 12))
        _sub(point, "synopsis", " ".join(_one_line(c.passage.text) for c in segment))
        _sub(point, "keywords", ";".join(labels.get(i, i) for i in ids))
        _sub(point, "subjects", ";".join(ids))
    _sub(record, "type", "testimony")
    description = [ILLUSTRATIVE_NOTE] if t.illustrative else []
    _sub(record, "description", " ".join([*description, f"Consent: {t.consent}."]))
    _sub(record, "transcript", "\n\n".join(_one_line(c.passage.text) for c in found))
    _sub(record, "fmt", "audio")
    _sub(record, "userestrict", "0" if t.consent == "public" else "1")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


# -- IIIF ----------------------------------------------------------------------------------


def _npt(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _lang(value: str) -> str:
    return value if value and value.isalpha() else "none"


def iiif_manifest(
    t: Testimony,
    passages: Sequence[Passage],
    base_url: str,
    themes: Mapping[str, str] | None = None,
) -> str:
    """A IIIF Presentation 3 manifest built with iiif-prezi3's models: metadata, one
    Canvas as long as the recording, the recording painted on it when this viewer may
    hear it, and the transcript inline as a supplementing AnnotationPage (a TextualBody
    per passage targeting ``canvas#t=start,end``); the WebVTT and text exports are linked
    as renderings."""
    from iiif_prezi3 import (  # imported here: loading its models takes a moment
        Annotation,
        AnnotationBody,
        AnnotationPage,
        Canvas,
        KeyValueString,
        Manifest,
        TextualBody,
    )

    found = cues(t, passages)
    labels = dict(themes or {})
    base = f"{base_url.rstrip('/')}/api/v1/testimonies/{t.id}"
    canvas_id = f"{base}/iiif/canvas"
    duration = _length(t, found) or FALLBACK_SECONDS
    language = _lang(t.language)

    def row(label: str, value: str) -> Any:
        return KeyValueString(label={"en": [label]}, value={"none": [value]})

    metadata = [
        row(label, value)
        for label, value in (
            ("Testimony", t.id),
            ("Region", t.region),
            ("Community", t.community),
            ("Date", t.date),
            ("Language", t.language),
            ("Consent", t.consent),
            ("Themes", "; ".join(labels.get(x, x) for x in _themes_of(passages))),
        )
        if value
    ]
    if t.illustrative:
        metadata.insert(0, row("Illustrative", ILLUSTRATIVE_NOTE))
    if _masked(passages):
        metadata.append(row("Masked", MASKED_NOTE))
    painting = []
    media = _media_url(t, base_url)
    if media:
        media_type = _media_type(t)
        painting.append(
            Annotation(
                id=f"{canvas_id}/annotation/recording",
                motivation="painting",
                target=canvas_id,
                body=AnnotationBody(
                    id=media,
                    type="Video" if media_type.startswith("video/") else "Sound",
                    format=media_type,
                    duration=duration,
                ),
            )
        )
    transcript = [
        Annotation(
            id=f"{canvas_id}/annotation/passage-{c.passage.seq}",
            motivation="supplementing",
            target=f"{canvas_id}#t={_npt(c.start)},{_npt(c.end)}",
            body=TextualBody(
                value=c.passage.text, format="text/plain", language=t.language or None
            ),
        )
        for c in found
    ]
    canvas = Canvas(
        id=canvas_id,
        label={"none": [_one_line(t.title) or t.id]},
        duration=duration,
        items=[AnnotationPage(id=f"{canvas_id}/page/recording", items=painting)],
        annotations=[
            AnnotationPage(
                id=f"{canvas_id}/page/transcript",
                label={"en": ["Transcript"]},
                items=transcript,
            )
        ],
    )
    summary = [ILLUSTRATIVE_NOTE] if t.illustrative else []
    summary.append(f"Testimony {t.id} from the Voces archive; consent {t.consent}.")
    manifest = Manifest(
        id=f"{base}/export?format=iiif",
        label={language: [_one_line(t.title) or t.id]},
        summary={"en": [" ".join(summary)]},
        metadata=metadata,
        rendering=[
            {
                "id": f"{base}/export?format={name}",
                "type": "Text",
                "label": {"en": [FORMATS[name].description]},
                "format": FORMATS[name].media_type.split(";")[0],
            }
            for name in ("vtt", "txt")
        ],
        items=[canvas],
    )
    return str(manifest.json()) + "\n"


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


def _render(
    fmt: ExportFormat, items: Sequence[Item], taxonomy: Taxonomy, base_url: str, one: bool
) -> str:
    """``one``: a single testimony's file (else a set, even of one)."""
    if fmt.name == "json":
        return json_transcript(*items[0]) if one else json_set(items)
    if fmt.name == "csv":
        return passages_csv(items)
    if fmt.name == "jsonl":
        return passages_jsonl(items)
    if not one or len(items) != 1:
        raise InputError(f"{fmt.name} holds one testimony at a time")
    t, passages = items[0]
    if fmt.name == "vtt":
        return webvtt_captions(t, passages)
    if fmt.name == "srt":
        return srt_captions(t, passages)
    if fmt.name == "txt":
        return text(t, passages)
    labels = theme_labels(taxonomy, t.language)
    if fmt.name == "ohms":
        return ohms(t, passages, labels, base_url)
    if not base_url:
        raise InputError("a IIIF manifest needs the archive's base URL")
    return iiif_manifest(t, passages, base_url, labels)


def _export(
    fmt: ExportFormat,
    items: Sequence[Item],
    taxonomy: Taxonomy,
    base_url: str,
    name: str,
    one: bool = True,
) -> Export:
    return Export(
        _render(fmt, items, taxonomy, base_url, one),
        fmt,
        name,
        len(items),
        sum(len(ps) for _, ps in items),
    )


def export_testimony(
    archive: Archive, testimony_id: str, viewer: Viewer, fmt: str, base_url: str = ""
) -> Export:
    """One testimony in ``fmt`` as ``viewer`` may read it (``base_url``: where the API
    is served, for the links in OHMS and IIIF)."""
    form = export_format(fmt)
    items = collect(archive, [testimony_id], viewer)
    return _export(form, items, archive.tagger.taxonomy, base_url, _filename(testimony_id, form))


def export_testimonies(
    archive: Archive, ids: Sequence[str], viewer: Viewer, fmt: str, base_url: str = ""
) -> list[Export]:
    """Each testimony in its own file; all are read and rendered before any is returned,
    so one that cannot be exported (not visible, typed for captions) stops them all."""
    form = export_format(fmt)
    taxonomy = archive.tagger.taxonomy
    return [
        _export(form, [item], taxonomy, base_url, _filename(item[0].id, form))
        for item in collect(archive, ids, viewer)
    ]


def export_set(
    archive: Archive,
    viewer: Viewer,
    fmt: str,
    flt: PassageFilter = PassageFilter(),
    ids: Sequence[str] | None = None,
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
    name = f"voces-export.{form.extension}"
    return _export(form, items, archive.tagger.taxonomy, "", name, one=False)
