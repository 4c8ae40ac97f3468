"""What checking that a recording is whole costs, next to decoding it.

    .venv/bin/python bench/check_complete.py [--minutes 30] [--out /tmp/voces-whole]

``pipeline.completeness.check_complete`` runs after a recording is decoded (``voces
ingest``, and an upload's check): it reads the header's declared length and every packet
of the audio track (demuxing, no decoding) to see whether the last frame is whole. This
makes one recording per format (WAV, FLAC, MP3, M4A, Ogg/Opus) of ``--minutes`` of the
test clip repeated, and prints, per format: the file's size, seconds to decode it to
16 kHz (``spool_audio``, as ingest does), seconds for ``check_complete``, and the check's
share of the two. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.audio import SAMPLE_RATE, decode_audio, spool_audio  # noqa: E402
from pipeline.completeness import check_complete  # noqa: E402

FORMATS = [
    ("wav", "pcm_s16le"),
    ("flac", "flac"),
    ("mp3", "libmp3lame"),
    ("m4a", "aac"),
    ("ogg", "libopus"),
]


def _write(samples: np.ndarray, path: Path, codec: str) -> None:
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for at in range(0, len(samples), 60 * SAMPLE_RATE):
            frame = av.AudioFrame.from_ndarray(
                samples[None, at : at + 60 * SAMPLE_RATE], format="flt", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    clip = decode_audio(REPO / "tests" / "data" / "es_rio.ogg")
    samples = np.tile(clip, int(args.minutes * 60 * SAMPLE_RATE / len(clip)) + 1)
    samples = samples[: int(args.minutes * 60 * SAMPLE_RATE)].astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="voces-whole-") as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{args.minutes:g} min of audio; seconds of wall time on this machine")
        print(f"{'format':8} {'MB':>7} {'decode s':>9} {'check s':>8} {'check share':>12}")
        for ext, codec in FORMATS:
            path = folder / f"long.{ext}"
            if not path.exists():
                _write(samples, path, codec)
            began = time.perf_counter()
            audio = spool_audio(path, folder / f"{ext}.pcm")
            decoded = time.perf_counter() - began
            began = time.perf_counter()
            check_complete(path, len(audio) / SAMPLE_RATE)
            checked = time.perf_counter() - began
            audio.remove()
            share = checked / (decoded + checked)
            size = path.stat().st_size / 1e6
            print(f"{ext:8} {size:7.1f} {decoded:9.2f} {checked:8.3f} {share:11.1%}")


if __name__ == "__main__":
    main()
