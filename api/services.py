"""Builds models, the archive and the job queue from settings. Shared by the CLI and the
HTTP app."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from corpus.media import MediaStore, open_media
from models import WhisperSpec, load_embedder, load_whisper
from models.ner import load_ner
from models.nlp import load_nlp
from models.speakers import load_speaker_encoder
from pipeline import Archive, TaggerOptions, ThemeTagger, TranscribeOptions, load_taxonomy
from pipeline.archive import TAXONOMY_FILE
from pipeline.jobs import JobRunner
from pipeline.redact import Redactor, TextRedactor
from pipeline.theme_model import ThemeModel, ThemeModelStore, bundled_model

from .settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "active_theme_model",
    "build_archive",
    "build_jobs",
    "build_queue",
    "build_tagger",
    "model_store",
    "taxonomy_path",
    "redactor",
    "speaker_loader",
    "transcribe_options",
    "whisper_loader",
]


def whisper_loader(settings: Settings) -> Any:
    """A function that loads Whisper on first call (ingesting text never needs it)."""
    workers = settings.ingest_workers
    spec = WhisperSpec(
        model=settings.whisper_model,
        compute_type=settings.whisper_compute_type,
        cpu_threads=max(1, settings.threads // workers),
        num_workers=workers,
    )
    return partial(load_whisper, spec, settings.cache_dir)


def speaker_loader(settings: Settings) -> Any:
    """A function that loads the voice encoder diarization uses on first call (the GE2E
    encoder inside the resemblyzer wheel: nothing is downloaded; typed testimonies and
    recordings declared as one voice never load it)."""
    return partial(load_speaker_encoder, "ge2e")


def transcribe_options(settings: Settings, language: str | None = None) -> TranscribeOptions:
    return TranscribeOptions(
        language=language or None,
        candidates=settings.language_candidates,
        beam_size=settings.beam_size,
        batch_size=settings.batch_size,
        chunk_seconds=settings.chunk_seconds,
    )


def model_store(settings: Settings) -> ThemeModelStore:
    return ThemeModelStore(settings.home / "theme-models")


def active_theme_model(settings: Settings) -> ThemeModel | None:
    """The archive's active retrained model, else the bundled one."""
    store = model_store(settings)
    if store.manifest().get("active"):
        return store.active()
    return bundled_model()


def taxonomy_path(settings: Settings) -> Path | None:
    """The archive's own taxonomy (``VOCES_HOME/taxonomy.json``, written when an archivist
    promotes an emergent theme, grown from the taxonomy in use then) if it has one, else
    VOCES_TAXONOMY, else None: the bundled taxonomy."""
    own = settings.home / TAXONOMY_FILE
    if own.is_file():
        if settings.taxonomy is not None:
            logger.warning(
                "using %s (promoted themes), not VOCES_TAXONOMY %s", own, settings.taxonomy
            )
        return own
    return settings.taxonomy


def build_tagger(settings: Settings, embedder: Any | None, use_model: bool = True) -> ThemeTagger:
    return ThemeTagger(
        load_taxonomy(taxonomy_path(settings)),
        load_nlp,
        embedder,
        TaggerOptions(use_similarity=settings.similarity_tags and embedder is not None),
        model=active_theme_model(settings) if use_model and embedder is not None else None,
    )


def redactor(settings: Settings) -> Any:
    """Masks names and numbers with spaCy NER and patterns, or None when
    redaction is switched off (then viewers who may not see names get nothing)."""
    if not settings.redaction:
        return None
    return TextRedactor(Redactor(load_ner))


def build_archive(settings: Settings, models: bool = True) -> Archive:
    """The archive with its models; ``models=False`` opens it for metadata, counts,
    reviews, consent and keys without loading any model."""
    embedder = load_embedder(settings.embedder, settings.threads) if models else None
    return Archive(
        settings.home,
        embedder=embedder,
        tagger=build_tagger(settings, embedder),
        whisper=whisper_loader(settings) if models else None,
        # lazy (loaded by the first recording that needs it), so an archive opened to
        # queue uploads still knows it can tell voices apart
        speaker_encoder=speaker_loader(settings),
        transcribe_options=transcribe_options(settings),
        redact=redactor(settings) if models else None,
        exact_below=settings.exact_search_below,
        ingest_workers=settings.ingest_workers,
        database=settings.database_url.strip(),
        shared=settings.shared_dir,
        media=media_store(settings),
    )


def media_store(settings: Settings) -> MediaStore:
    """Where recordings and staged uploads go: VOCES_SHARED_DIR (else VOCES_HOME), or the
    S3 bucket VOCES_MEDIA_URL names."""
    return open_media(
        settings.media_url, settings.shared_dir or settings.home, settings.s3_endpoint_url
    )


def build_queue(settings: Settings) -> Any:
    """huey on SQLite in VOCES_HOME, or on Redis when VOCES_QUEUE_URL says so."""
    from huey import RedisHuey, SqliteHuey

    url = settings.queue_url.strip()
    if not url:
        settings.home.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("voces", filename=str(settings.home / "queue.sqlite3"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("voces", url=url)
    raise ValueError(f"VOCES_QUEUE_URL {url!r}: use redis://... or leave it empty")


def build_jobs(archive: Archive, settings: Settings) -> JobRunner:
    return JobRunner(archive, build_queue(settings), stale_after=settings.stale_job_seconds)
