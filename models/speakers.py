"""Speaker encoders: a stretch of speech to a vector that is near the vectors of the same
voice and far from other voices' (for diarization: who spoke when).

Registry names (``SPEAKER_ENCODERS``):

- ``ge2e``  the GE2E voice encoder (Wan et al. 2018) that ships inside the
  ``resemblyzer`` wheel (Apache-2.0; 3-layer LSTM over 40 mel bands, 256-d, trained by
  Corentin Jemine on LibriSpeech, VoxCeleb 1 and 2). 17 MB, CPU, nothing downloaded.

The weights are read from the installed package (sha256 pinned) and the network is
rebuilt here (three lines of torch) rather than imported from ``resemblyzer``: its package
``__init__`` imports ``webrtcvad``, whose 2.0.10 release imports ``pkg_resources``, which
setuptools >= 81 no longer has (torch pulls a newer setuptools), so ``import resemblyzer``
fails in this environment. The mel features are resemblyzer's (librosa's mel filters and
STFT framing), computed in one batched torch STFT.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .embedders import normalise_rows
from .errors import MissingDependencyError, ModelError

__all__ = [
    "GE2E_SHA256",
    "SPEAKER_ENCODERS",
    "GE2EEncoder",
    "SpeakerEncoder",
    "load_speaker_encoder",
]

#: sha256 of resemblyzer 0.1.4's ``pretrained.pt`` (the GE2E encoder's weights).
GE2E_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"


@runtime_checkable
class SpeakerEncoder(Protocol):
    """Turns windows of 16 kHz mono speech into unit-length voice vectors."""

    name: str  # stable identifier, includes the weights' version
    dim: int
    sample_rate: int

    def embed(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Return (len(windows), dim) float32 rows of unit length; windows may differ in
        length (float32 samples in [-1, 1] at ``sample_rate``)."""
        ...


def _package_file(package: str, name: str, dist: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"the speaker encoder needs the package {dist}; install it with: pip install {dist}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / name


class GE2EEncoder:
    """resemblyzer's GE2E voice encoder, on CPU.

    Each window is brought up to -30 dBFS if quieter (resemblyzer's ``normalize_volume``,
    increase only: its features are mel *power*, not log-mel, so loudness matters), then
    turned into 40 mel bands every 10 ms (25 ms frames); the LSTM's last hidden state,
    through a linear layer and a ReLU, is the voice vector."""

    sample_rate = 16_000
    dim = 256
    _TARGET_DBFS = -30.0

    def __init__(self, threads: int = 1, batch_size: int = 128) -> None:
        import torch
        from torch import nn

        weights = _package_file("resemblyzer", "pretrained.pt", "resemblyzer")
        if not weights.is_file():
            raise ModelError(f"{weights} is missing: reinstall the package resemblyzer")
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != GE2E_SHA256:
            raise ModelError(
                f"{weights} has sha256 {digest}, expected {GE2E_SHA256}: the resemblyzer "
                "package is damaged or of another version (voces expects 0.1.4)"
            )
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
        except (RuntimeError, OSError, KeyError) as exc:
            raise ModelError(f"could not read the GE2E weights in {weights}: {exc}") from exc
        self._lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self._linear = nn.Linear(256, 256)
        self._lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self._linear.load_state_dict(
            {k[7:]: v for k, v in state.items() if k.startswith("linear.")}
        )
        self._lstm.eval()
        self._linear.eval()
        import librosa

        self._torch = torch
        self._window = torch.hann_window(400)  # periodic, as scipy's get_window("hann")
        self._filters = torch.from_numpy(
            librosa.filters.mel(sr=self.sample_rate, n_fft=400, n_mels=40).astype(np.float32)
        )
        self._threads = threads
        self._batch_size = batch_size
        self._lock = threading.Lock()  # torch.set_num_threads is process-wide
        self.name = "resemblyzer-ge2e@0.1.4"

    def _mels(self, windows: np.ndarray) -> Any:
        """(n, samples) windows of one length -> (n, frames, 40) mel power, as
        ``librosa.feature.melspectrogram`` computes it (periodic Hann, 400-sample frames
        every 160, zero-padded at the ends), in one batched torch STFT."""
        torch = self._torch
        wav = np.asarray(windows, dtype=np.float32)
        rms = np.sqrt(np.mean(np.square(wav, dtype=np.float64), axis=1))
        with np.errstate(divide="ignore"):
            gain_db = self._TARGET_DBFS - 20 * np.log10(rms)
        gain = np.where((rms > 0) & (gain_db > 0), 10 ** (np.maximum(gain_db, 0) / 20), 1.0)
        x = torch.from_numpy(wav * gain[:, None].astype(np.float32))
        spec = torch.stft(
            x,
            n_fft=400,
            hop_length=160,
            window=self._window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (n, 201, frames)
        return torch.matmul(self._filters, power).transpose(1, 2).contiguous()

    def _forward(self, windows: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            _, (hidden, _) = self._lstm(self._mels(windows))
            out = torch.relu(self._linear(hidden[-1]))
        return out.numpy()

    def embed(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        if not len(windows):
            return out
        by_length: dict[int, list[int]] = {}
        for i, window in enumerate(windows):
            by_length.setdefault(len(window), []).append(i)  # a batch holds equal lengths
        with self._lock:
            previous = self._torch.get_num_threads()
            self._torch.set_num_threads(self._threads)
            try:
                for length, rows in by_length.items():
                    if length == 0:
                        continue  # no sound, no voice: the row stays zero
                    for at in range(0, len(rows), self._batch_size):
                        part = rows[at : at + self._batch_size]
                        out[part] = self._forward(np.stack([windows[i] for i in part]))
            finally:
                self._torch.set_num_threads(previous)
        return normalise_rows(out)


SPEAKER_ENCODERS: dict[str, Callable[[int], SpeakerEncoder]] = {
    "ge2e": lambda threads: GE2EEncoder(threads=threads),
}


@lru_cache(maxsize=2)
def load_speaker_encoder(name: str = "ge2e", threads: int = 1) -> SpeakerEncoder:
    """Load (once per process) the speaker encoder registered as ``name``.

    One thread by default: the LSTM's steps are small matrix products that a second
    thread barely shares, and on a busy 2-CPU machine its spin-waiting made 256 windows
    take 4.8-12.9 s of CPU against 0.8 s on one thread (batch 32-256)."""
    factory: Any = SPEAKER_ENCODERS.get(name)
    if factory is None:
        raise ModelError(
            f"unknown speaker encoder {name!r}: use one of {', '.join(sorted(SPEAKER_ENCODERS))}"
        )
    encoder: SpeakerEncoder = factory(threads)
    return encoder
