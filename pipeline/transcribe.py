"""Speech to timestamped text with faster-whisper.

Language: forced when the user knows it (``--language es``: measurably more accurate),
otherwise detected on the speech (voice-activity detection first) and chosen among the
archive's candidate languages. Whisper's unrestricted guess on short or synthetic speech
can be far off ("ja" for Andean Spanish was seen); restricting it to the languages an
archive actually holds removes that failure while keeping the probability honest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corpus import Segment

from .audio import SAMPLE_RATE
from .errors import PipelineError

__all__ = ["TranscribeOptions", "Transcript", "detect_language", "transcribe"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None  # ISO 639-1 code, or None to detect
    candidates: tuple[str, ...] = ("es", "en")  # languages detection may choose; () = any
    beam_size: int = 5
    vad: bool = True
    detection_segments: int = 3  # 30-s windows of speech used to detect the language
    condition_on_previous_text: bool = False  # False stops one bad window derailing the rest


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float | None  # None when the language was forced
    duration: float
    segments: Iterator[Segment] = field(repr=False)  # streams: consumed once


def detect_language(model: Any, audio: np.ndarray, options: TranscribeOptions) -> tuple[str, float]:
    """Most probable language of the speech in ``audio`` among ``options.candidates``."""
    try:
        _, _, probabilities = model.detect_language(
            audio,
            vad_filter=options.vad,
            language_detection_segments=options.detection_segments,
        )
    except (RuntimeError, ValueError) as exc:
        raise PipelineError(f"language detection failed: {exc}") from exc
    ranked = sorted(probabilities, key=lambda lp: -lp[1])
    allowed = [lp for lp in ranked if not options.candidates or lp[0] in options.candidates]
    if not allowed:
        return ranked[0][0], float(ranked[0][1])
    total = sum(p for _, p in allowed) or 1.0
    language, probability = allowed[0]
    if ranked[0][0] != language:
        logger.info(
            "Whisper's first guess was %r (p=%.2f); choosing %r among %s",
            ranked[0][0],
            ranked[0][1],
            language,
            options.candidates,
        )
    return language, float(probability) / total


def transcribe(model: Any, audio: np.ndarray, options: TranscribeOptions) -> Transcript:
    """Transcribe 16 kHz mono ``audio``. Segments are produced lazily, as decoding runs."""
    duration = len(audio) / SAMPLE_RATE
    if options.language:
        language, probability = options.language, None
    else:
        language, probability = detect_language(model, audio, options)
    try:
        raw, _info = model.transcribe(
            audio,
            language=language,
            beam_size=options.beam_size,
            vad_filter=options.vad,
            condition_on_previous_text=options.condition_on_previous_text,
        )
    except (RuntimeError, ValueError) as exc:
        raise PipelineError(f"transcription failed: {exc}") from exc

    def segments() -> Iterator[Segment]:
        for s in raw:
            if s.text.strip():
                yield Segment(start=round(s.start, 2), end=round(s.end, 2), text=s.text.strip())

    return Transcript(language, probability, duration, segments())
