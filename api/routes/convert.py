"""Domain records → HTTP schemas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from corpus import Hit, Job, Passage, Speaker, Testimony, ThemeTag, Word
from pipeline.jobs import job_json
from pipeline.transcribe import doubtful

from ..schemas import (
    HitPublic,
    JobPublic,
    PassagePublic,
    SpeakerPublic,
    TagPublic,
    TestimonySummary,
    WordPublic,
)


def tag_public(tag: ThemeTag) -> TagPublic:
    return TagPublic(
        theme=tag.theme, score=tag.score, source=tag.source, evidence=list(tag.evidence)
    )


def audio_url(testimony_id: str, media_path: str | bool, start: float | None = None) -> str | None:
    if not media_path:
        return None
    url = f"/api/v1/testimonies/{testimony_id}/audio"
    return f"{url}#t={start:.2f}" if start is not None else url


def hit_public(hit: Hit) -> HitPublic:
    return HitPublic(
        testimony_id=hit.testimony_id,
        passage_id=hit.passage_id,
        start=hit.start,
        end=hit.end,
        text=hit.text,
        score=hit.score,
        region=hit.region,
        community=hit.community,
        language=hit.language,
        date=hit.date,
        title=hit.title,
        themes=list(hit.themes),
        audio_url=audio_url(hit.testimony_id, hit.has_audio, hit.start),
        context_before=hit.context_before,
        context_after=hit.context_after,
        matched=hit.matched,
        highlights=[list(span) for span in hit.highlights],  # type: ignore[misc]
    )


def summary(t: Testimony) -> TestimonySummary:
    return TestimonySummary(
        id=t.id,
        title=t.title,
        region=t.region,
        community=t.community,
        date=t.date,
        language=t.language,
        duration=t.duration,
        consent=t.consent,
        source_kind=t.source_kind,
        illustrative=t.illustrative,
        allow_names=t.allow_names,
    )


def word_public(w: Word) -> WordPublic:
    return WordPublic(
        start=w.start,
        end=w.end,
        text=w.text,
        probability=round(w.probability, 4),
        edited=w.edited,
        doubtful=doubtful(w),
    )


def speakers_public(speakers: Sequence[Speaker]) -> list[SpeakerPublic]:
    return [SpeakerPublic(label=s.label, name=s.name) for s in speakers]


def doubtful_words(passages: Sequence[Passage]) -> int:
    """Words an archivist should check first: doubtful and not yet corrected (none where
    the caller gets no words)."""
    return sum(1 for p in passages for w in p.words if doubtful(w) and not w.edited)


def passage_public(p: Passage, names: Mapping[str, str] | None = None) -> PassagePublic:
    """A passage as the API shows it; ``names`` maps its testimony's speaker labels to
    names as the caller may read them (from ``archive.speakers``)."""
    assert p.id is not None  # passages read from the store have ids
    return PassagePublic(
        id=p.id,
        seq=p.seq,
        start=p.start,
        end=p.end,
        text=p.text,
        redacted=p.redacted,
        tags=[tag_public(g) for g in p.tags],
        speaker=p.speaker,
        speaker_name=(names or {}).get(p.speaker, ""),
        words=[word_public(w) for w in p.words],
    )


def job_public(job: Job) -> JobPublic:
    return JobPublic(**job_json(job))
