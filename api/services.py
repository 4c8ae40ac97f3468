"""Builds models and the archive from settings. Shared by the CLI and the HTTP app."""

from __future__ import annotations

from functools import partial
from typing import Any

from models import WhisperSpec, load_embedder, load_whisper
from models.nlp import load_nlp
from pipeline import Archive, TaggerOptions, ThemeTagger, TranscribeOptions, load_taxonomy
from pipeline.theme_model import ThemeModel, ThemeModelStore, bundled_model

from .settings import Settings

__all__ = [
    "active_theme_model",
    "build_archive",
    "build_tagger",
    "model_store",
    "transcribe_options",
    "whisper_loader",
]


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


def model_store(settings: Settings) -> ThemeModelStore:
    return ThemeModelStore(settings.home / "theme-models")


def active_theme_model(settings: Settings) -> ThemeModel | None:
    """The archive's active retrained model, else the bundled one."""
    store = model_store(settings)
    if store.manifest().get("active"):
        return store.active()
    return bundled_model()


def build_tagger(settings: Settings, embedder: Any | None, use_model: bool = True) -> ThemeTagger:
    return ThemeTagger(
        load_taxonomy(settings.taxonomy),
        load_nlp,
        embedder,
        TaggerOptions(use_similarity=settings.similarity_tags and embedder is not None),
        model=active_theme_model(settings) if use_model and embedder is not None else None,
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
