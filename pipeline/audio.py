"""Decoding recordings: anything PyAV (FFmpeg) reads, resampled to 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["AUDIO_EXTENSIONS", "SAMPLE_RATE", "decode_audio", "is_audio"]

SAMPLE_RATE = 16_000
AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".mp3",
        ".m4a",
        ".aac",
        ".ogg",
        ".oga",
        ".opus",
        ".flac",
        ".webm",
        ".mp4",
        ".mkv",
        ".mov",
        ".3gp",
        ".amr",
        ".wma",
    }
)


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def decode_audio(path: Path) -> np.ndarray:
    """The audio track of ``path`` as 16 kHz mono float32 samples in [-1, 1]."""
    from faster_whisper.audio import decode_audio as _decode

    try:
        samples = _decode(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many error types (InvalidDataError, ...)
        raise InputError(f"cannot decode audio in {path.name}: {exc}") from exc
    if samples.size == 0:
        raise InputError(f"{path.name} holds no audio")
    return np.asarray(samples, dtype=np.float32)
