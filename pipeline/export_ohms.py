"""OHMS XML, as the OHMS viewer reads it (the 5.4 schema's element order)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping, Sequence

from corpus import Passage, Testimony
from corpus.text import clock

from .export_common import (
    ILLUSTRATIVE_NOTE,
    Cue,
    cues,
    media_url,
    one_line,
    opening_notes,
    recording_length,
    themes_of,
)
from .export_voices import Voices, exported_words, turn_marks, voice_marks

__all__ = ["OHMS_NAMESPACE", "ohms"]

OHMS_NAMESPACE = "https://www.weareavp.com/nunncenter/ohms"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


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


def _word_at(c: Cue, at: float) -> int:
    """The word of ``c``'s passage heard at ``at``: from its word times where the export
    carries them (and they are the passage's words), interpolated otherwise."""
    count = len(c.passage.text.split())
    words = exported_words(c.passage)
    if words and len(words) == count:
        return sum(1 for w in words if w.end <= at)
    span = max(c.end - c.start, 1e-9)
    return min(count, max(0, int(count * (at - c.start) / span)))


def _sync(found: Sequence[Cue], prefixes: Sequence[str] = ()) -> str:
    """OHMS ``sync``: ``1:`` then, per minute of the recording, ``|line(word)`` where
    that minute falls in the transcript (lines from 0; a passage is line ``2*i``, with a
    blank line between passages; the word is counted within the line, after the
    speaker's ``NAME:`` in ``prefixes`` where a turn begins)."""
    if not found:
        return "1:"
    marks = []
    for minute in range(1, int(found[-1].end // 60) + 1):
        at = minute * 60.0
        i = next((k for k, c in enumerate(found) if c.end > at), len(found) - 1)
        before = len(prefixes[i].split()) if i < len(prefixes) else 0
        marks.append(f"|{2 * i}({before + _word_at(found[i], at)})")
    return "1:" + "".join(marks)


def _speaker_prefixes(found: Sequence[Cue], voices: Voices | None) -> list[str]:
    """``NAME: `` before each passage that opens a turn, "" before the others: the OHMS
    viewer shows a line opening with a name in capitals and a colon as its speaker."""
    marks = turn_marks([c.passage for c in found], voices)
    return [f"{one_line(name).upper()}: " if name else "" for name in marks]


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
    voices: Voices | None = None,
) -> str:
    """OHMS XML (the 5.4 schema's element order): the record's metadata, keywords from
    the testimony's themes (``themes`` maps theme ids to labels), the transcript with
    its minute ``sync``, and an index point per run of passages telling of the same
    themes: its start time (whole seconds), a title, the passages as synopsis, the theme
    labels as keywords (``a;b``) and theme ids as subjects. ``record/@id`` must be a
    number: a CRC-32 of the testimony id, which is in ``accession`` and ``cms_record_id``;
    ``record/@dt`` is the day the testimony was stored.

    Voices (``voices``: label to the name the reader may see): OHMS has no speaker
    element, so a turn opens its transcript line with ``NAME:`` as OHMS transcripts do,
    and an index point's partial transcript with the name of who speaks there. The
    record's ``interviewee``/``interviewer`` stay out: diarization knows voices, not
    roles."""
    found = cues(t, passages)
    prefixes = _speaker_prefixes(found, voices)
    shown = voice_marks([c.passage for c in found], voices)
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
    _sub(record, "title", one_line(t.title) or t.id)
    _sub(record, "accession", t.id)
    _sub(record, "duration", clock(recording_length(t, found)))
    _sub(record, "collection_name", ", ".join(x for x in (t.region, t.community) if x))
    _sub(record, "repository", "Voces")
    for theme in themes_of(passages):
        _sub(record, "keyword", labels.get(theme, theme))
    _sub(record, "format", "audio")
    _sub(record, "sync", _sync(found, prefixes))
    media = media_url(t, base_url)
    if media:
        _sub(record, "media_url", media)
        mediafile = _sub(record, "mediafile")
        _sub(mediafile, "host", "Other")
        _sub(mediafile, "clip_format", "audio")
    _sub(record, "language", t.language)
    _sub(record, "user_notes", " ".join(opening_notes(t, passages)))
    index = _sub(record, "index")
    at = 0  # the index of the segment's first cue
    for segment in _segments(found):
        ids = _theme_ids(segment[0].passage)
        point = _sub(index, "point")
        _sub(point, "time", str(int(segment[0].start)))
        title = "; ".join(labels.get(i, i) for i in ids) or _opening(segment[0].passage.text)
        _sub(point, "title", title)
        first = segment[0].passage
        who = shown[at]
        at += len(segment)
        opening = _opening(first.text, 12)
        _sub(point, "partial_transcript", f"{one_line(who).upper()}: {opening}" if who else opening)
        _sub(point, "synopsis", " ".join(one_line(c.passage.text) for c in segment))
        _sub(point, "keywords", ";".join(labels.get(i, i) for i in ids))
        _sub(point, "subjects", ";".join(ids))
    _sub(record, "type", "testimony")
    description = [ILLUSTRATIVE_NOTE] if t.illustrative else []
    _sub(record, "description", " ".join([*description, f"Consent: {t.consent}."]))
    lines = [who + one_line(c.passage.text) for c, who in zip(found, prefixes, strict=True)]
    _sub(record, "transcript", "\n\n".join(lines))
    _sub(record, "fmt", "audio")
    _sub(record, "userestrict", "0" if t.consent == "public" else "1")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
