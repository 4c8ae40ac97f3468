"""Domain records passed between stages and stored by the corpus. Frozen and plain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CONSENT_LEVELS",
    "ApiKey",
    "AuditEntry",
    "Consent",
    "Hit",
    "Job",
    "JobState",
    "Passage",
    "Review",
    "VERDICTS",
    "Segment",
    "Speaker",
    "Testimony",
    "ThemeCell",
    "ThemeCount",
    "ThemeTag",
    "Word",
]

Consent = Literal["public", "restricted", "private"]
#: Ordered from most to least open: ``public`` anyone may read, ``restricted`` researchers
#: and archivists, ``private`` archivists only (see corpus/access.py).
CONSENT_LEVELS: tuple[Consent, ...] = ("public", "restricted", "private")


@dataclass(frozen=True)
class Word:
    """One word as Whisper heard it: times in seconds from the start of the recording,
    ``text`` without surrounding spaces (punctuation attached: "río,"), and Whisper's
    probability for it (the mean of its tokens' probabilities, 0..1), low where the word
    may be wrong (see ``pipeline.transcribe.DOUBT_BELOW``)."""

    start: float
    end: float
    text: str
    probability: float
    edited: bool = False  # a correction changed it; its times are interpolated


@dataclass(frozen=True)
class Segment:
    """A stretch of transcribed speech, times in seconds from the start of the recording.

    ``words``: its words in order, each inside ``start``..``end`` and none starting before
    the previous one ends; empty where the decoder gave no word times."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str = ""  # diarization's label ("S1", "S2", ...), "" where not diarized


@dataclass(frozen=True)
class ThemeTag:
    """A theme attached to a passage, with the reason it was attached."""

    theme: str
    score: float  # in [0, 1]
    source: str  # "rule", "similarity", "classifier" or "human"
    evidence: tuple[str, ...] = ()
    version: str = ""  # taxonomy/ruleset version that produced it


@dataclass(frozen=True)
class Passage:
    """One to three sentences of a testimony; times are None for typed testimonies."""

    testimony_id: str
    seq: int
    text: str
    start: float | None = None
    end: float | None = None
    id: int | None = None  # assigned by the store
    tags: tuple[ThemeTag, ...] = ()
    redacted: bool = False  # text is the redacted copy (the viewer may not see names)
    speaker: str = ""  # speaker label ("S1", ...) of a diarized recording, "" otherwise
    #: Whisper's timed words; empty for typed testimonies and for viewers who may not see
    #: names (a word list would give back what redaction masked).
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Speaker:
    """A voice of one recording: diarization's ``label`` ("S1", ...) and the name an
    archivist gave it ("Entrevistadora", the narrator's name), "" until named. A name is
    personal data: viewers who may not see names get it masked (corpus.visibility)."""

    testimony_id: str
    label: str
    name: str = ""


@dataclass(frozen=True)
class Testimony:
    """A recorded or typed testimony and its archival metadata."""

    id: str
    title: str = ""
    region: str = ""
    community: str = ""
    date: str = ""  # ISO date YYYY-MM-DD, or "" when unknown
    language: str = ""  # ISO 639-1 of the speech/text ("es", "en", ...)
    language_probability: float | None = None  # set when the language was detected
    duration: float | None = None  # seconds, for recordings
    consent: Consent = "restricted"
    source_kind: Literal["audio", "text"] = "text"
    source_name: str = ""  # original file name (no directories)
    source_hash: str = ""  # sha256 of the source bytes (or of the typed text)
    media_path: str = ""  # stored copy of the recording, relative to VOCES_HOME
    illustrative: bool = False  # written for the demo, not a real testimony
    allow_names: bool = False  # the witness agreed to be named in public views
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    created_at: str = ""


#: accept: a machine tag is right; reject: it is wrong (or the theme must never be
#: tagged here); add: a theme the machine missed.
VERDICTS = ("accept", "reject", "add")


@dataclass(frozen=True)
class Review:
    """A person's decision about one theme of one passage."""

    passage_id: int
    theme: str
    verdict: str
    reviewer: str
    note: str
    reviewed_at: str


@dataclass(frozen=True)
class PassageEdit:
    """An archivist's correction of a passage's text (its times are never changed)."""

    passage_id: int
    old_text: str
    new_text: str
    editor: str
    note: str
    edited_at: str


@dataclass(frozen=True)
class Hit:
    """A passage found by a search, with what a researcher needs to judge and play it."""

    testimony_id: str
    passage_id: int
    text: str
    score: float
    start: float | None
    end: float | None
    region: str
    community: str
    language: str
    date: str
    title: str
    consent: Consent
    themes: tuple[str, ...]
    has_audio: bool = False  # the testimony's recording is stored and can be played
    # grouped results (one hit per testimony): the passages around the best one, how many
    # of the testimony's passages matched, and the query's words found in ``text``
    context_before: str = ""
    context_after: str = ""
    matched: int = 1
    highlights: tuple[tuple[int, int], ...] = ()


JobState = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True)
class Job:
    """An upload waiting for, going through, or done with the ingest pipeline."""

    id: str
    state: JobState
    source_name: str
    submitted_by: str
    created_at: str
    updated_at: str
    progress: float = 0.0  # 0..1
    message: str = ""
    error: str = ""
    attempts: int = 0
    results: tuple[dict[str, Any], ...] = ()  # {"id", "status", "passages", ...} per testimony
    upload_path: str = ""  # relative to VOCES_HOME
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    worker: str = ""  # host:pid of the worker that last took it


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed (the secret itself is never stored)."""

    id: str
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class ThemeCount:
    """How many testimonies and passages tell of a theme within a group (a region, a
    year...; "" when not grouped)."""

    theme: str
    group: str
    testimonies: int
    passages: int


@dataclass(frozen=True)
class ThemeCell:
    """One theme in one group, for prevalence estimates: the group's passages, those the
    machine tagged with the theme (not reviewed), and those reviewed with and without it."""

    theme: str
    group: str
    passages: int
    machine_tagged: int
    reviewed_yes: int
    reviewed_no: int
