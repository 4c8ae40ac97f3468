"""Ingest: recordings and typed testimonies into the archive, whole or not at all.

Ingest order keeps the archive whole. Every model stage (decode, transcribe, passages,
embeddings, tags, redaction) runs in memory first, outside any lock. Then, holding the
archive's write lock (a file lock, so a CLI ingest and a running server take turns; an
advisory lock across machines on PostgreSQL), the archive checks again that the source
is not stored (a concurrent ingest of the same bytes ends as "present" and touches
nothing), copies the recording into ``media/`` (temporary name, fsync, rename) and writes
the testimony, passages, tags, words, voices and vectors in one transaction. The vector
search follows the store's log of vector changes; a crash at any point leaves either the
whole testimony or none of it, at worst with an orphan media file that ``voces check``
removes.

Ingest is idempotent: the same bytes give the same testimony id (a content hash), and
ingesting them twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from corpus import (
    CONSENT_LEVELS,
    ConflictError,
    Consent,
    Passage,
    PassageEdit,
    Segment,
    Store,
    Testimony,
    VectorSearch,
    Viewer,
    require,
)
from corpus.media import MediaStore
from corpus.text import clock
from models.speakers import SpeakerEncoder

from . import partial
from .audio import SpooledAudio, is_audio, spool_audio
from .errors import InputError, PipelineError
from .language import TYPED_ONLY, guess_language
from .passages import PassageOptions, group_segments, split_text
from .prepare import Prepared, Redact, opening, prepare
from .speakers import Voices, label_segments
from .tagger import ThemeTagger
from .texts import TEXT_EXTENSIONS, Metadata, TextItem, check_metadata, read_text_items
from .transcribe import Checkpoint, TranscribeOptions, transcribe
from .uploads import check_complete
from .word_align import realign

__all__ = [
    "MIN_SECONDS",
    "Ingest",
    "IngestResult",
    "Progress",
    "Redact",
    "check_spoken_language",
    "sha256_file",
]

logger = logging.getLogger(__name__)

#: Shorter recordings hold no speech worth a testimony (uploads use the same floor).
MIN_SECONDS = 0.2


class Progress(Protocol):
    """Told what is happening, and how far along (0..1) when that is known."""

    def __call__(self, message: str, fraction: float | None = None) -> None: ...


@dataclass(frozen=True)
class IngestResult:
    id: str
    status: str  # "added" or "present"
    source: str
    passages: int = 0
    language: str = ""
    duration: float | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Ingest:
    """The archive's ingest: models in memory first, then one write under the lock."""

    def __init__(
        self,
        home: Path,
        store: Store,
        vectors: VectorSearch,
        media: MediaStore,
        writing: Callable[[], Any],
        embedder: Any,
        tagger: ThemeTagger,
        whisper: Callable[[], Any] | None,
        transcribe_options: TranscribeOptions,
        passage_options: PassageOptions,
        redact: Redact | None,
        ingest_workers: int,
        speaker_encoder: Callable[[], SpeakerEncoder] | None = None,
    ) -> None:
        self.home = home
        self.store = store
        self.vectors = vectors
        self.media = media
        self.writing = writing
        self.embedder = embedder
        self.tagger = tagger
        self._whisper = whisper
        self.transcribe_options = transcribe_options
        self.passage_options = passage_options
        self.redact = redact
        # recordings transcribed at once by ingest_paths (Whisper must be loaded with as
        # many workers, each on its share of the cores: see api.services.whisper_loader)
        self.ingest_workers = max(1, ingest_workers)
        # loaded on the first recording that needs it (one voice declared: never)
        self.voices = Voices(speaker_encoder)

    def require_embedder(self) -> Any:
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.embedder

    def ingest_paths(
        self,
        paths: Sequence[Path],
        meta: Metadata,
        viewer: Viewer,
        progress: Progress | None = None,
        speakers: int | None = None,
    ) -> list[IngestResult]:
        """Ingest recordings and typed files. Every path is checked before any is read.
        ``speakers``: how many voices each recording holds (None: estimated)."""
        meta = check_metadata(meta)
        speakers = self.voices.check(speakers)
        for path in paths:
            if not path.exists():
                raise InputError(f"no such file: {path}")
            if path.is_symlink():
                raise InputError(f"{path} is a symbolic link; pass the file it points to")
            if path.is_dir():
                raise InputError(f"{path} is a folder; pass the files in it")
            if not path.is_file():
                raise InputError(f"{path} is not a regular file")
            if not is_audio(path) and path.suffix.lower() not in TEXT_EXTENSIONS:
                raise InputError(
                    f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                    "use audio/video (wav, mp3, m4a, ogg, opus, flac, mp4, webm) or "
                    "text (.txt, .jsonl, .csv)"
                )
        texts = {p: read_text_items(p, meta) for p in paths if not is_audio(p)}
        for items in texts.values():
            self.check_conflicts(items)
        recordings = [p for p in paths if is_audio(p)]
        heard: dict[Path, IngestResult] = {}
        if self.ingest_workers > 1 and len(recordings) > 1:
            # decode, transcribe, embed and store several recordings at once: CTranslate2
            # and PyAV release the GIL, and writes still take the archive's lock one by one
            with ThreadPoolExecutor(self.ingest_workers, thread_name_prefix="ingest") as pool:
                futures = {
                    p: pool.submit(self.ingest_audio, p, meta, viewer, progress, speakers)
                    for p in recordings
                }
                heard = {p: f.result() for p, f in futures.items()}
        results: list[IngestResult] = []
        for path in paths:
            if is_audio(path):
                results.append(
                    heard.get(path) or self.ingest_audio(path, meta, viewer, progress, speakers)
                )
            else:
                results.extend(self.ingest_texts(texts[path], viewer, progress))
        return results

    def check_conflicts(self, items: Sequence[TextItem]) -> None:
        """Refuse ids already used by a testimony with other text or another consent."""
        for item in items:
            if item.id:
                self._present(item.id, _text_hash(item), item.meta.consent, item.source)

    def check_recording(self, path: Path, consent: str, source: str) -> str | None:
        """Before queueing a recording: the id it is stored under (None if it is not), or
        ConflictError if it is stored with another consent."""
        source_hash = sha256_file(path)
        return self._present(_audio_id(source_hash), source_hash, consent, source)

    def _present(
        self, testimony_id: str, source_hash: str, consent: str, source: str
    ) -> str | None:
        """The id under which this source is stored, None if it is not; ConflictError if
        the id holds other content or the source is stored with another consent."""
        found = self.store.find_by_hash(source_hash)
        if found is not None:
            existing, stored_consent = found
            if stored_consent != consent:
                raise ConflictError(
                    f"{source}: already stored as {existing} with consent {stored_consent!r}, "
                    f"not {consent!r}; change it with `voces consent {existing} {consent}`"
                )
            return existing
        if self.store.source_of(testimony_id) is not None:
            raise ConflictError(
                f"{source}: id {testimony_id!r} is already used by a testimony with other "
                "content; choose another id"
            )
        return None

    def ingest_audio(
        self,
        path: Path,
        meta: Metadata,
        viewer: Viewer,
        progress: Progress | None = None,
        speakers: int | None = None,
    ) -> IngestResult:
        """Transcribe, diarize (``speakers`` voices, None: estimated), embed, tag and
        store one recording."""
        require(viewer, "ingest")
        speakers = self.voices.check(speakers)
        meta = check_metadata(meta, path.name)
        check_spoken_language(meta.language, path.name)
        consent = _consent(meta.consent)
        source_hash = sha256_file(path)
        testimony_id = _audio_id(source_hash)
        existing = self._present(testimony_id, source_hash, consent, path.name)
        if existing:
            # a process killed between storing it and cleaning up left these behind
            for leftover in (self.home / "partial").glob(f"{source_hash}.*"):
                leftover.unlink(missing_ok=True)
            return IngestResult(existing, "present", path.name)
        if self._whisper is None:
            raise PipelineError("no speech recogniser is configured for this archive")
        # an ingest of these bytes killed mid-way (which this one resumes) left its
        # decoded audio: the whole recording, in a file nobody will remove otherwise
        partial.remove_dead_spools(self.home, source_hash)
        # the decoded audio is spooled to disk (16-bit, 115 MB an hour) and read back a
        # chunk at a time: two hours held as float32 would be 460 MB of the peak
        audio = spool_audio(path, partial.spool_path(self.home, source_hash))
        try:
            return self._ingest_spooled(
                path, meta, consent, source_hash, audio, progress, viewer, speakers
            )
        finally:
            audio.remove()

    def _ingest_spooled(
        self,
        path: Path,
        meta: Metadata,
        consent: Consent,
        source_hash: str,
        audio: SpooledAudio,
        progress: Progress | None,
        viewer: Viewer,
        speakers: int | None,
    ) -> IngestResult:
        testimony_id = _audio_id(source_hash)
        check_complete(path, len(audio) / 16_000)
        if len(audio) < MIN_SECONDS * 16_000:
            raise InputError(
                f"{path.name} holds {len(audio) / 16_000:.2f} s of audio; nothing to transcribe"
            )
        language = meta.language if meta.language not in ("", "auto") else None
        options = replace(self.transcribe_options, language=language)
        # finished chunks of a long recording are kept here, so an interrupted ingest
        # (a crash, a killed worker) resumes after its last finished chunk
        checkpoint = Checkpoint(partial.checkpoint_path(self.home, source_hash))
        assert self._whisper is not None
        began = time.monotonic()
        transcript = transcribe(self._whisper(), audio, options, checkpoint)
        segments: list[Segment] = []
        started = time.monotonic()
        first: float | None = None  # where this run started decoding (after resumed chunks)
        for segment in transcript.segments:
            segments.append(segment)
            if progress:
                total = max(transcript.duration, 1e-6)
                left = ""
                if first is None:
                    first = segment.end
                elif segment.end > first:
                    rate = (segment.end - first) / max(time.monotonic() - started, 1e-6)
                    left = f"  (about {clock((total - segment.end) / rate)} left)"
                progress(
                    f"{path.name}: {clock(segment.end)}/{clock(total)}{left}  {segment.text}",
                    0.95 * min(1.0, segment.end / total),
                )
        language, probability, duration = (
            transcript.language,
            transcript.language_probability,
            transcript.duration,
        )
        del transcript
        transcribed = time.monotonic()
        # who speaks when, from the decoded audio before it goes (a resumed ingest
        # diarizes the whole recording again: it is a few per cent of transcribing it)
        encoder = self.voices.encoder() if speakers != 1 else None
        if progress and encoder is not None:
            progress(f"{path.name}: telling the voices apart", 0.95)
        segments = label_segments(audio, segments, encoder, speakers)
        diarized = time.monotonic()
        audio.remove()  # transcribed: 115 MB an hour of disk not needed to store
        grouped = list(group_segments(segments, self.passage_options))
        testimony = Testimony(
            id=testimony_id,
            title=meta.title or path.stem.replace("_", " ").replace("-", " "),
            region=meta.region,
            community=meta.community,
            date=meta.date,
            language=language,
            language_probability=probability,
            duration=round(duration, 2),
            consent=consent,
            source_kind="audio",
            source_name=path.name,
            source_hash=source_hash,
            media_path=f"media/{testimony_id}{path.suffix.lower()}",
            illustrative=meta.illustrative,
            allow_names=meta.allow_names,
            extra=dict(meta.extra or {}),
        )
        passages = [
            Passage(
                testimony_id,
                seq,
                g.text,
                start=g.start,
                end=g.end,
                speaker=g.speaker,
                words=g.words,
            )
            for seq, g in enumerate(grouped)
        ]
        prepared = self._prepare(testimony, passages)
        models_done = time.monotonic()
        status = self._store(prepared, viewer, media_source=path)
        checkpoint.remove()
        # where an ingest's time went (bench/ingest_long.py reads this line)
        logger.info(
            "ingest stages %s",
            json.dumps(
                {
                    "file": path.name,
                    "audio_s": testimony.duration,
                    "transcribe_s": round(transcribed - began, 2),
                    "diarize_s": round(diarized - transcribed, 2),
                    "models_s": round(models_done - diarized, 2),
                    "store_s": round(time.monotonic() - models_done, 2),
                    "passages": len(passages),
                    "speakers": len({p.speaker for p in passages}),
                }
            ),
        )
        return IngestResult(
            testimony_id,
            status,
            path.name,
            len(passages) if status == "added" else 0,
            language,
            testimony.duration,
        )

    def ingest_texts(
        self,
        items: Sequence[TextItem],
        viewer: Viewer,
        progress: Progress | None = None,
        batch: int = 32,
    ) -> list[IngestResult]:
        """Store typed testimonies, ``batch`` at a time through the models (one embedding,
        tagging and redaction call per batch); each testimony is still written in its own
        transaction, so an interruption keeps every testimony whole."""
        require(viewer, "ingest")
        self.check_conflicts(items)
        results: list[IngestResult] = []
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            new: list[tuple[TextItem, Testimony, list[Passage]]] = []
            for item in chunk:
                source_hash = _text_hash(item)
                testimony_id = item.id or "t-" + source_hash[:16]
                existing = self._present(testimony_id, source_hash, item.meta.consent, item.source)
                if existing:
                    results.append(IngestResult(existing, "present", item.source))
                    continue
                testimony = self._typed_testimony(item, testimony_id, source_hash)
                passages = [
                    Passage(testimony.id, seq, text)
                    for seq, text in enumerate(split_text(item.text, self.passage_options))
                ]
                new.append((item, testimony, passages))
            prepared = self._prepare_many([(t, p) for _, t, p in new])
            for (item, testimony, passages), ready in zip(new, prepared, strict=True):
                status = self._store(ready, viewer)
                results.append(
                    IngestResult(
                        testimony.id,
                        status,
                        item.source,
                        len(passages) if status == "added" else 0,
                        testimony.language,
                    )
                )
            if progress:
                done = min(start + batch, len(items))
                progress(f"[{done}/{len(items)}] typed testimonies", done / len(items))
        return results

    def _typed_testimony(self, item: TextItem, testimony_id: str, source_hash: str) -> Testimony:
        language = item.meta.language
        probability = None
        if language in ("", "auto"):
            language, probability = guess_language(item.text)
        return Testimony(
            id=testimony_id,
            title=item.meta.title,
            region=item.meta.region,
            community=item.meta.community,
            date=item.meta.date,
            language=language,
            language_probability=probability,
            consent=_consent(item.meta.consent),
            source_kind="text",
            source_name=item.source.split(":")[0],
            source_hash=source_hash,
            illustrative=item.meta.illustrative,
            allow_names=item.meta.allow_names,
            extra=dict(item.meta.extra or {}),
        )

    def _prepare(self, testimony: Testimony, passages: list[Passage]) -> Prepared:
        return self._prepare_many([(testimony, passages)])[0]

    def _prepare_many(self, stories: Sequence[tuple[Testimony, list[Passage]]]) -> list[Prepared]:
        """The model stages over several testimonies at once (no lock held)."""
        return prepare(stories, self.require_embedder(), self.tagger, self.redact)

    def _store(self, prepared: Prepared, viewer: Viewer, media_source: Path | None = None) -> str:
        """Write one prepared testimony, all or nothing; "present" if it raced another."""
        testimony = prepared.testimony
        with self.writing():
            if self._present(
                testimony.id, testimony.source_hash, testimony.consent, testimony.source_name
            ):
                return "present"  # a concurrent ingest of the same source won
            media_target = testimony.media_path if media_source else None
            if media_source is not None and media_target:
                self.media.put(media_target, media_source)
            try:
                self.store.add_testimony(
                    testimony,
                    prepared.passages,
                    prepared.vectors,
                    self.embedder.name,
                    viewer,
                    redacted=prepared.redacted if self.redact else None,
                    title_redacted=prepared.title_redacted if self.redact else None,
                    text_vector=prepared.text_vector,
                )
            except BaseException:
                # the source was not stored when we took the lock: the file is ours
                if media_target:
                    self.media.delete(media_target)
                raise
        self.vectors.refresh()
        return "added"

    def fill_redactions(self) -> int:
        """Redact passages and titles stored without a redacted copy."""
        if self.redact is None:
            return 0
        passages, titles = self.store.unredacted(Viewer.system())
        if not passages and not titles:
            return 0
        redact = self.redact
        with self.writing():
            by_language: dict[str, list[tuple[int, str]]] = {}
            for pid, text, lang in passages:
                by_language.setdefault(lang or "es", []).append((pid, text))
            masked = {
                pid: text
                for lang, rows in by_language.items()
                for pid, text in zip(
                    [p for p, _ in rows], redact.many([t for _, t in rows], lang), strict=True
                )
            }
            self.store.set_redactions(
                masked,
                {tid: redact(title, lang or "es") for tid, title, lang in titles},
            )
        return len(passages)

    def correct_passage(
        self, passage_id: int, text: str, viewer: Viewer, editor: str = "", note: str = ""
    ) -> tuple[Passage, PassageEdit | None]:
        """Correct a passage's transcript (archivists). Its times stay; the new text is
        embedded, tagged and redacted again, its words are realigned (unchanged words
        keep their times, edited ones are interpolated and marked), and the edit is kept
        in its history. Returns the passage as the viewer now sees it, and the edit (None
        if nothing changed)."""
        self.require_embedder()
        require(viewer, "correct")
        text = " ".join(text.split())
        if not text:
            raise InputError("a corrected passage cannot be empty")
        before = self.store.passage(passage_id, viewer)
        language = self.store.get_testimony(before.testimony_id, viewer).language or "es"
        # the testimony's opening with the corrected text, for its text vector
        texts = [
            p.text if p.id != passage_id else text
            for p in self.store.passages(before.testimony_id, Viewer.system())
        ]
        both = self.embedder.embed([text, opening(texts)], kind="passage")
        vector = both[:1]
        tags = self.tagger.tag([text], [language], vector)[0]
        redacted = self.redact.many([text], language)[0] if self.redact is not None else None
        with self.writing():
            # the words as stored now (under the lock: a correction made meanwhile counts)
            words = realign(
                self.store.stored_words(passage_id, viewer), text, before.start, before.end
            )
            edit = self.store.correct_passage(
                passage_id,
                text,
                viewer,
                redacted=redacted,
                vector=vector[0],
                embedder=self.embedder.name,
                tags=tags,
                editor=editor,
                note=note,
                text_vector=both[1],
                words=words,
            )
        if edit is not None:
            self.vectors.refresh()
        return self.store.passage(passage_id, viewer), edit


def check_spoken_language(language: str, source: str) -> None:
    """Refuse a recording declared in a language Whisper cannot transcribe (Quechua,
    Aymara): it would fail in the worker, after the upload was accepted."""
    if language in TYPED_ONLY:
        raise InputError(
            f"{source}: Whisper cannot transcribe {TYPED_ONLY[language]}; upload a typed "
            "transcription of the recording, or declare the language spoken in it "
            "(es, en, or auto)"
        )


def _text_hash(item: TextItem) -> str:
    return hashlib.sha256(item.text.encode("utf-8")).hexdigest()


def _audio_id(source_hash: str) -> str:
    """A recording's testimony id: from its content, so the same file is found again."""
    return "a-" + source_hash[:16]


def _consent(value: str) -> Consent:
    if value not in CONSENT_LEVELS:
        raise InputError(f"consent {value!r} is not one of {', '.join(CONSENT_LEVELS)}")
    return value  # type: ignore[return-value]
