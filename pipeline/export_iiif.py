"""A IIIF Presentation 3 manifest: the recording on a canvas, the transcript as
annotations on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corpus import Passage, Testimony

from .export_common import (
    FALLBACK_SECONDS,
    FORMATS,
    ILLUSTRATIVE_NOTE,
    MASKED_NOTE,
    cues,
    is_masked,
    media_url,
    one_line,
    recording_length,
    recording_type,
    themes_of,
)
from .export_voices import Voices, exported_words, voice_marks

__all__ = ["MIN_WORD_SECONDS", "iiif_manifest"]

#: A word Whisper timed with no length is given this much, so its media fragment
#: ``#t=start,end`` has an end after its start.
MIN_WORD_SECONDS = 0.01


def _npt(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _lang(value: str) -> str:
    return value if value and value.isalpha() else "none"


def iiif_manifest(
    t: Testimony,
    passages: Sequence[Passage],
    base_url: str,
    themes: Mapping[str, str] | None = None,
    voices: Voices | None = None,
    words: bool = False,
) -> str:
    """A IIIF Presentation 3 manifest built with iiif-prezi3's models: metadata, one
    Canvas as long as the recording, the recording painted on it when this viewer may
    hear it, and the transcript inline as a supplementing AnnotationPage (a TextualBody
    per passage targeting ``canvas#t=start,end``, labelled with the name of its voice
    where the recording was diarized: ``voices`` maps labels to the names the reader may
    see); the WebVTT and text exports are linked as renderings.

    ``words``: a second AnnotationPage, "Words", with a supplementing annotation per
    timed word targeting ``canvas#t=start,end`` (a word of no length is given
    :data:`MIN_WORD_SECONDS`), for the passages that carry word times."""
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
    duration = recording_length(t, found) or FALLBACK_SECONDS
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
            ("Themes", "; ".join(labels.get(x, x) for x in themes_of(passages))),
        )
        if value
    ]
    if t.illustrative:
        metadata.insert(0, row("Illustrative", ILLUSTRATIVE_NOTE))
    if is_masked(passages):
        metadata.append(row("Masked", MASKED_NOTE))
    marks = voice_marks(passages, voices)
    names = dict.fromkeys(name for name in marks if name)
    if names:
        metadata.append(row("Voices", "; ".join(names)))
    painting = []
    media = media_url(t, base_url)
    if media:
        media_type = recording_type(t)
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
    body_language = t.language or None
    transcript = []
    for c, name in zip(found, voice_marks([c.passage for c in found], voices), strict=True):
        transcript.append(
            Annotation(
                id=f"{canvas_id}/annotation/passage-{c.passage.seq}",
                motivation="supplementing",
                target=f"{canvas_id}#t={_npt(c.start)},{_npt(c.end)}",
                body=TextualBody(value=c.passage.text, format="text/plain", language=body_language),
                **({"label": {"none": [name]}} if name else {}),
            )
        )
    pages = [
        AnnotationPage(
            id=f"{canvas_id}/page/transcript", label={"en": ["Transcript"]}, items=transcript
        )
    ]
    timed = [
        Annotation(
            id=f"{canvas_id}/annotation/passage-{c.passage.seq}/word-{k}",
            motivation="supplementing",
            target=f"{canvas_id}#t={_npt(w.start)},{_npt(max(w.end, w.start + MIN_WORD_SECONDS))}",
            body=TextualBody(value=w.text, format="text/plain", language=body_language),
        )
        for c in (found if words else [])
        for k, w in enumerate(exported_words(c.passage))
    ]
    if timed:
        pages.append(
            AnnotationPage(id=f"{canvas_id}/page/words", label={"en": ["Words"]}, items=timed)
        )
    canvas = Canvas(
        id=canvas_id,
        label={"none": [one_line(t.title) or t.id]},
        duration=duration,
        items=[AnnotationPage(id=f"{canvas_id}/page/recording", items=painting)],
        annotations=pages,
    )
    summary = [ILLUSTRATIVE_NOTE] if t.illustrative else []
    summary.append(f"Testimony {t.id} from the Voces archive; consent {t.consent}.")
    manifest = Manifest(
        id=f"{base}/export?format=iiif",
        label={language: [one_line(t.title) or t.id]},
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
