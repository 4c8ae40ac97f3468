"""Decoding recordings: anything PyAV (FFmpeg) reads, resampled to 16 kHz mono float32."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .completeness import undecodable
from .errors import InputError, PipelineError

__all__ = [
    "AUDIO_EXTENSIONS",
    "MEDIA_TYPES",
    "SAMPLE_RATE",
    "SpooledAudio",
    "decode_audio",
    "is_audio",
    "spool_audio",
]

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

#: Content types of the stored recordings' file extensions (served, and named in exports).
MEDIA_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def _pieces(path: Path) -> Iterator[np.ndarray]:
    """The audio track of ``path`` as 16 kHz mono 16-bit pieces, as PyAV (FFmpeg)
    decodes and resamples it. A frame FFmpeg reports as invalid is skipped, as
    faster-whisper means to: packet by packet, since an error raised inside PyAV's
    ``container.decode`` ends that generator and would drop the rest of the recording.
    Whether the file is whole is :func:`pipeline.completeness.check_complete`'s to say."""
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InputError(f"{path.name} has no audio track")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            fifo = av.AudioFifo()  # resampling ~0.5M samples at a time is 3x faster
            for packet in container.demux(container.streams.audio[0]):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue
                for frame in frames:
                    frame.pts = None  # resampling needs no timestamps; some files have bad ones
                    fifo.write(frame)
                if fifo.samples >= 500_000:
                    for out in resampler.resample(fifo.read()):
                        yield out.to_ndarray().reshape(-1)
            if fifo.samples:
                for out in resampler.resample(fifo.read()):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
    except InputError:
        raise
    except Exception as exc:  # PyAV raises many error types (InvalidDataError, ...)
        raise undecodable(path, exc) from exc


def decode_audio(path: Path) -> np.ndarray:
    """The audio track of ``path`` as 16 kHz mono float32 samples in [-1, 1].

    The 16-bit pieces PyAV gives are converted into one float32 array allocated once,
    each piece freed as it is copied. (faster-whisper's ``decode_audio`` does the same
    decoding but holds its 16-bit buffer and two float32 copies at once: about 1.1 GB at
    the peak for a two-hour recording, against 0.7 GB.) Long recordings are better
    spooled to disk with :func:`spool_audio`."""
    pieces: list[np.ndarray | None] = list(_pieces(path))
    total = sum(len(p) for p in pieces if p is not None)
    if total == 0:
        raise InputError(f"{path.name} holds no audio")
    samples = np.empty(total, dtype=np.float32)
    at = 0
    for n, piece in enumerate(pieces):
        assert piece is not None
        np.multiply(piece, 1 / 32768, out=samples[at : at + len(piece)], casting="unsafe")
        at += len(piece)
        pieces[n] = None
    return samples


class SpooledAudio:
    """A decoded recording kept on disk as 16 kHz mono 16-bit samples (115 MB an hour),
    read back a slice at a time as float32 in [-1, 1]: the same samples as
    :func:`decode_audio` gives, without holding hours of audio in memory (460 MB of
    float32 for two hours). Sliced like an array (``audio[a:b]``, ``len(audio)``), so
    transcription takes either."""

    def __init__(self, path: Path, samples: int) -> None:
        self.path = path
        self.samples = samples

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("spooled audio is read a slice at a time")
        start, stop, step = key.indices(self.samples)
        if step != 1:
            raise ValueError("spooled audio is read in contiguous slices")
        count = max(0, stop - start)
        with self.path.open("rb") as f:
            f.seek(2 * start)
            pcm = np.fromfile(f, dtype="<i2", count=count)
        out = pcm.astype(np.float32)
        out *= 1 / 32768
        return out

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def spool_audio(path: Path, dest: Path) -> SpooledAudio:
    """Decode ``path`` into ``dest`` (16-bit samples), a piece at a time: memory stays at
    one piece whatever the recording's length. ``dest`` is removed if decoding fails."""
    samples = 0
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as out:
            for piece in _pieces(path):
                piece.astype("<i2", copy=False).tofile(out)
                samples += len(piece)
        if samples == 0:
            raise InputError(f"{path.name} holds no audio")
    except OSError as exc:  # a full disk, a folder that cannot be written
        _unlink_quietly(dest)
        raise PipelineError(
            f"cannot write {path.name}'s decoded audio to {dest.parent} "
            f"(needs 115 MB an hour of recording): {exc.strerror or exc}"
        ) from exc
    except BaseException:
        _unlink_quietly(dest)
        raise
    return SpooledAudio(dest, samples)


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
