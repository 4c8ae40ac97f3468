"""Builds models and the archive from settings. Shared by the CLI and the HTTP app."""

from __future__ import annotations

from functools import partial
from typing import Any

from models import WhisperSpec, load_embedder, load_whisper
from models.nlp import load_nlp
from pipeline import Archive, TaggerOptions, ThemeTagger, TranscribeOptions, load_taxonomy

from .settings import Settings

__all__ = ["build_archive", "build_tagger", "transcribe_options", "whisper_loader"]


def whisper_loader(settings: Settings) -> Any:
    """A function that loads Whisper on first call (ingesting text never needs it)."""
    spec = WhisperSpec(
        model=settings.whisper_model,
        compute_type=settings.whisper_compute_type,
        cpu_threads=settings.threads,
    )
    return partial(load_whisper, spec, settings.cache_dir)


def transcribe_options(settings: Settings, language: str | None = None) -> TranscribeOptions:
    return TranscribeOptions(
        language=language or None,
        candidates=settings.language_candidates,
        beam_size=settings.beam_size,
    )


def build_tagger(settings: Settings, embedder: Any | None) -> ThemeTagger:
    return ThemeTagger(
        load_taxonomy(settings.taxonomy),
        load_nlp,
        embedder,
        TaggerOptions(use_similarity=settings.similarity_tags and embedder is not None),
    )


def build_archive(settings: Settings) -> Archive:
    embedder = load_embedder(settings.embedder, settings.threads)
    return Archive(
        settings.home,
        embedder=embedder,
        tagger=build_tagger(settings, embedder),
        whisper=whisper_loader(settings),
        transcribe_options=transcribe_options(settings),
    )
