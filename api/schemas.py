"""HTTP shapes (pydantic). Domain records stay dataclasses in corpus/."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class TagPublic(BaseModel):
    theme: str
    score: float
    source: str
    evidence: list[str]


class HitPublic(BaseModel):
    testimony_id: str
    passage_id: int
    start: float | None
    end: float | None
    text: str
    score: float
    region: str
    community: str
    language: str
    date: str
    title: str
    themes: list[str]
    audio_url: str | None  # with a #t=start fragment: plays from the passage
    context_before: str = ""  # grouped results: the passages around this one
    context_after: str = ""
    matched: int = 1  # passages of this testimony among the matches
    highlights: list[tuple[int, int]] = []  # [start, end) of the query's words in text


class SearchResponse(BaseModel):
    query: str
    hits: list[HitPublic]


class TestimonySummary(BaseModel):
    id: str
    title: str
    region: str
    community: str
    date: str
    language: str
    duration: float | None
    consent: str
    source_kind: str
    illustrative: bool
    allow_names: bool


class TestimonyList(BaseModel):
    total: int
    items: list[TestimonySummary]


class WordPublic(BaseModel):
    """A word as Whisper heard it, timed in seconds from the start of the recording."""

    start: float
    end: float
    text: str
    probability: float
    edited: bool = Field(description="A correction wrote it; its times are interpolated")
    doubtful: bool = Field(description="Below the probability under which words are checked")


class SpeakerPublic(BaseModel):
    label: str = Field(description="Diarization's label: S1, S2, ...")
    name: str = Field(
        description="The name an archivist gave the voice (masked for "
        "callers who may not see names; empty until named)"
    )


class PassagePublic(BaseModel):
    id: int
    seq: int
    start: float | None
    end: float | None
    text: str
    redacted: bool  # names and numbers in the text are masked for this caller
    tags: list[TagPublic]
    speaker: str = Field("", description="The voice's label (S1, ...); empty for typed text")
    speaker_name: str = Field("", description="Its name, masked where names are hidden")
    words: list[WordPublic] = Field(
        default_factory=list,
        description="Timed words; empty for typed text and for callers who may not see "
        "names (the words would give back what redaction masks)",
    )


class TestimonyThemePublic(BaseModel):
    theme: str
    score: float
    passages: list[int]  # supporting passage ids, strongest first
    reviewed: bool


class TestimonyPublic(TestimonySummary):
    language_probability: float | None
    audio_url: str | None
    themes: list[TestimonyThemePublic]
    passages: list[PassagePublic]
    speakers: list[SpeakerPublic] = Field(default_factory=list)
    doubtful_words: int = Field(
        0,
        description="Words below the doubt threshold no one has corrected (0 where the "
        "caller gets no words)",
    )


class SpeakerRename(BaseModel):
    name: str = Field(max_length=200, description='The voice\'s name ("" takes it away)')


class SpeakerChange(BaseModel):
    speaker: str = Field(min_length=2, max_length=4, description="S1, S2, ... (a new one is added)")


class ReviewCreate(BaseModel):
    theme: str
    verdict: Literal["accept", "reject", "add"]
    reviewer: str = Field("", max_length=200, description="Default: the key's holder.")
    note: str = Field("", max_length=2000)


class ReviewPublic(BaseModel):
    passage_id: int
    theme: str
    verdict: str
    reviewer: str
    note: str
    reviewed_at: str


class ReviewCandidatePublic(BaseModel):
    """A passage offered for review and the theme to decide on: the verdict the tagger
    is least sure of, or where its parts disagree."""

    passage_id: int
    testimony_id: str
    text: str
    language: str
    start: float | None
    end: float | None
    theme: str
    score: float = Field(description="The tagger's score; 0.5 is its threshold")
    tagged: bool = Field(description="Whether the machine tags the theme now")
    priority: float
    reason: str


class ReviewTotals(BaseModel):
    total: int
    themes: dict[str, int] = Field(description="Current reviews per theme")


class EmergentQuote(BaseModel):
    passage_id: int
    testimony_id: str
    text: str


class EmergentPublic(BaseModel):
    """A cluster of passages no theme tags: a proposal for a new theme."""

    number: int
    size: int
    keywords: dict[str, list[str]]
    regions: dict[str, int]
    nearest_theme: str
    nearest_similarity: float
    quotes: list[EmergentQuote]


class AudioLink(BaseModel):
    """A URL that plays one recording without a header, until ``expires_at`` (Unix s)."""

    url: str
    expires_at: int


class PassageCorrection(BaseModel):
    """A corrected transcript text for one passage; its times stay as they are."""

    text: str = Field(min_length=1, max_length=10_000)
    editor: str = Field("", max_length=200, description="Default: the key's holder.")
    note: str = Field("", max_length=2000)


class PassageEditPublic(BaseModel):
    passage_id: int
    old_text: str
    new_text: str
    editor: str
    note: str
    edited_at: str


class PassageDetail(PassagePublic):
    testimony_id: str
    reviews: list[ReviewPublic]
    edits: list[PassageEditPublic] = Field(
        default_factory=list, description="Corrections, oldest first (archivists only)"
    )


class SimilarPublic(BaseModel):
    testimony_id: str
    title: str
    region: str
    community: str
    language: str
    score: float
    passage: HitPublic


class SimilarResponse(BaseModel):
    testimony_id: str
    similar: list[SimilarPublic]


class ThemeInfo(BaseModel):
    id: str
    label: dict[str, str]
    description: dict[str, str]
    definition: dict[str, str]
    subthemes: dict[str, str]
    parent: str | None


class ThemeQuote(BaseModel):
    testimony_id: str
    passage_id: int
    text: str = Field(description="As the caller may read it (redacted where names are hidden)")
    start: float | None
    end: float | None
    score: float
    has_audio: bool


class ThemeCount(BaseModel):
    theme: str
    group: str
    testimonies: int
    passages: int
    passages_in_group: int | None = Field(
        None, description="Passages of the group the caller may see"
    )
    tagged_share: float | None = Field(None, description="Share of them tagged with the theme")
    estimated_share: float | None = Field(
        None,
        description="True share corrected for the tagger's measured error rates "
        "(null when the tagger barely tells the theme apart)",
    )
    interval90: tuple[float, float] | None = Field(None, description="90% interval of it")
    basis: str | None = Field(None, description="Where the error rates come from")
    quotes: list[ThemeQuote] = Field(
        default_factory=list, description="Representative passages (reviewed first)"
    )


class ThemesResponse(BaseModel):
    version: str
    themes: list[ThemeInfo]
    by: str | None
    counts: list[ThemeCount]


class Health(BaseModel):
    status: str
    role: str  # the caller's role: counts are of what it may see
    testimonies: int
    passages: int
    embedder: str
    taxonomy_version: str


Consent = Literal["public", "restricted", "private"]


class UploadMetadata(BaseModel):
    """What an archivist says about an upload (form fields; all optional but consent)."""

    consent: Consent = Field(
        description="public: anyone; restricted: researchers and archivists; private: "
        "archivists only."
    )
    title: str = Field("", max_length=500)
    region: str = Field("", max_length=500)
    community: str = Field("", max_length=500)
    date: str = Field("", max_length=10, description="YYYY, YYYY-MM or YYYY-MM-DD")
    language: str = Field("auto", max_length=4, description="es, en, ... or auto")
    allow_names: bool = Field(False, description="The witness agreed to be named publicly.")
    speakers: int | None = Field(
        None, description="Recordings: how many voices it holds, 1 to 8 (default: estimated)"
    )

    @field_validator("speakers", mode="before")
    @classmethod
    def _speakers(cls, value: Any) -> int | None:
        from pipeline.speakers import check_speakers

        try:
            return check_speakers(value)
        except Exception as exc:  # InputError
            raise ValueError(str(exc)) from None

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        from pipeline.texts import check_date

        try:
            return check_date(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        except Exception as exc:  # InputError
            raise ValueError(str(exc)) from None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        from pipeline.texts import check_language

        try:
            return check_language(value)
        except Exception as exc:  # InputError
            raise ValueError(str(exc)) from None

    @field_validator("title", "region", "community")
    @classmethod
    def _clean(cls, value: str, info: Any) -> str:
        from pipeline.texts import check_text

        try:
            return check_text(value, info.field_name)
        except Exception as exc:  # InputError
            raise ValueError(str(exc)) from None


class JobPublic(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    source_name: str
    submitted_by: str
    created_at: str
    updated_at: str
    progress: float
    message: str
    error: str
    attempts: int
    results: list[dict[str, Any]]
    worker: str = Field("", description="host:process of the worker that last took the job")


class JobList(BaseModel):
    jobs: list[JobPublic]


class UploadResult(BaseModel):
    file: str
    accepted: bool
    job: JobPublic | None = None
    error: ErrorBody | None = None


class UploadResponse(BaseModel):
    uploads: list[UploadResult]


class ConsentUpdate(BaseModel):
    consent: Consent


class Deleted(BaseModel):
    id: str
    passages: int


class KeyCreate(BaseModel):
    role: Literal["researcher", "archivist", "admin"]
    name: str = Field(min_length=1, max_length=200, description="Who holds the key.")


class KeyPublic(BaseModel):
    id: str
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, never stored.")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class AuditPublic(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    detail: str


class AuditList(BaseModel):
    entries: list[AuditPublic]
