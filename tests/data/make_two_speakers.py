"""Make tests/data/two_speakers.ogg and two_speakers.json: an interview of two synthetic
voices taking turns (espeak-ng's Spanish with a male and a female variant), for
tests/test_diarize.py. The JSON holds each turn's start, end and speaker, measured on the
synthesised audio (its voiced extent), so the test knows who speaks when.

    apt-get install espeak-ng && .venv/bin/python tests/data/make_two_speakers.py

The output is committed; the tests never run this (they need no espeak-ng).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).parent
RATE = 16_000
VOICES = {"A": "es+m3", "B": "es-419+f4"}
TURNS = [
    ("A", "Buenos días. ¿Puede contarnos qué pasó con el río cuando llegó la mina?"),
    ("B", "Sí. Antes tomábamos agua del río. Después el agua se volvió amarilla."),
    ("A", "¿Y qué hizo la comunidad entonces?"),
    ("B", "Hicimos una asamblea y fuimos a hablar con la empresa, pero nadie nos escuchó."),
    ("A", "Ajá."),
    ("B", "Ahora quedan muy pocas familias cerca del río."),
]
GAP = 0.5  # seconds of silence between turns


def _speak(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "turn.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
        with av.open(str(wav)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            pieces = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    samples = np.concatenate(pieces).astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.01)  # espeak pads each utterance with silence
    return samples[loud[0] : loud[-1] + 1]


def main() -> None:
    rng = np.random.default_rng(29)
    parts: list[np.ndarray] = [np.zeros(int(0.3 * RATE), dtype=np.float32)]
    turns = []
    at = 0.3
    for speaker, text in TURNS:
        speech = _speak(VOICES[speaker], text)
        turns.append(
            {"start": round(at, 3), "end": round(at + len(speech) / RATE, 3), "speaker": speaker}
        )
        parts += [speech, np.zeros(int(GAP * RATE), dtype=np.float32)]
        at += len(speech) / RATE + GAP
    audio = np.concatenate(parts)
    audio += rng.normal(0, 1e-3, len(audio)).astype(np.float32)  # a faint noise floor
    audio = np.clip(audio * 0.8, -1, 1)
    out = HERE / "two_speakers.ogg"
    with av.open(str(out), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        stream.bit_rate = 20_000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(
            (audio * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    meta = {
        "voices": VOICES,
        "turns": turns,
        "made_by": "tests/data/make_two_speakers.py (espeak-ng, Opus 20 kbps)",
    }
    (HERE / "two_speakers.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"{out}: {len(audio) / RATE:.1f} s, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
