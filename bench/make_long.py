"""Long recordings for the transcription benchmark, made from the real clips.

The shared clips are 4-21 s each; archive recordings run for hours, where voice-activity
detection, batching, Whisper's loops on quiet or repeated stretches and memory matter.
This script makes one long recording per language: that language's clips in manifest
order, again and again until the wanted length, with 1-4 s of silence between them
(seeded), each clip brought to the same loudness (RMS -20 dBFS: some FLEURS clips are
recorded 40 dB quieter than others, which a recorder's gain control would not allow), a
steady noise floor at -50 dBFS over everything (room tone, 30 dB below the speech: a
phone recording is never digitally silent), written as 16-bit WAV and then encoded with sox
to Ogg Vorbis (q 3, a compressed file as archivists receive them). The reference text is
the clips' references in the same order, and a JSON sidecar keeps the clip boundaries::

    python bench/make_long.py --minutes 7 --out /tmp/voces-long        # es.ogg, en.ogg
    python bench/make_long.py --minutes 120 --lang es --out /tmp/voces-long
    python bench/make_long.py --minutes 7 --gap 1.5 --plain --out /tmp/voces-29  # issue 29

Nothing is written into the repository (the clips' licences do not allow it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.audio import SAMPLE_RATE, decode_audio  # noqa: E402

DEFAULT_MANIFEST = REPO.parent / "shared" / "data" / "audio" / "manifest.jsonl"


def _level(clip: np.ndarray, dbfs: float = -20.0) -> np.ndarray:
    rms = float(np.sqrt(np.mean(clip.astype(np.float64) ** 2))) or 1.0
    return (clip * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def make_long(
    manifest: Path,
    lang: str,
    minutes: float,
    out: Path,
    seed: int = 0,
    gap: float | None = None,
    plain: bool = False,
) -> tuple[Path, dict[str, object]]:
    """One long recording of ``lang``; ``gap`` fixes the silence between clips (else
    1-4 s, seeded); ``plain`` keeps the clips as recorded (no levelling, digital silence,
    no noise floor), as issue 29's reproduction describes its recordings."""
    rows = [json.loads(line) for line in manifest.read_text("utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["lang"] == lang]
    if not rows:
        raise SystemExit(f"no {lang} clips in {manifest}")
    clips = [decode_audio(manifest.parent / r["file"]) for r in rows]
    if not plain:
        clips = [_level(c) for c in clips]
    rng = np.random.default_rng(seed)
    target = int(minutes * 60 * SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    spans: list[dict[str, object]] = []
    references: list[str] = []
    at = 0
    n = 0
    while at < target:
        seconds = rng.uniform(1.0, 4.0) if gap is None else gap
        silence = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
        pieces.append(silence)
        at += len(silence)
        clip, row = clips[n % len(clips)], rows[n % len(rows)]
        spans.append(
            {"file": row["file"], "start": at / SAMPLE_RATE, "end": (at + len(clip)) / SAMPLE_RATE}
        )
        references.append(row["reference"])
        pieces.append(clip.astype(np.float32))
        at += len(clip)
        n += 1
    audio = np.concatenate(pieces)
    if not plain:
        audio += rng.normal(0.0, 10 ** (-50 / 20), size=len(audio)).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    wav = out / f"{lang}-{minutes:g}min.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    target_file = wav
    if shutil.which("sox"):
        target_file = wav.with_suffix(".ogg")
        subprocess.run(["sox", str(wav), "-C", "3", str(target_file)], check=True)
        wav.unlink()
    info = {
        "file": target_file.name,
        "lang": lang,
        "duration_s": round(len(audio) / SAMPLE_RATE, 2),
        "clips": len(spans),
        "reference": " ".join(references),
        "spans": spans,
        "how": (
            "clips of this language in manifest order, repeated, as recorded; "
            f"{gap if gap is not None else '1-4'} s digital silences"
            if plain
            else "clips of this language in manifest order, repeated, each at RMS -20 dBFS; "
            + (f"{gap} s silences" if gap is not None else f"1-4 s silences (seed {seed})")
            + "; Gaussian noise at -50 dBFS"
        )
        + "; 16-bit WAV, then sox to Ogg Vorbis q3",
    }
    target_file.with_suffix(".json").write_text(json.dumps(info, ensure_ascii=False, indent=1))
    return target_file, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--lang", nargs="+", default=["es", "en"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/voces-long"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gap", type=float, help="seconds of silence between clips (1-4 s)")
    parser.add_argument(
        "--plain", action="store_true", help="clips as recorded: no levelling, no noise floor"
    )
    args = parser.parse_args()
    for lang in args.lang:
        path, info = make_long(
            args.manifest, lang, args.minutes, args.out, args.seed, args.gap, args.plain
        )
        print(f"{path}  {info['duration_s']:.0f} s, {info['clips']} clips")
    # a manifest of every long recording in the folder, for bench/transcribe.py --manifest
    rows = []
    for sidecar in sorted(args.out.glob("*.json")):
        info = json.loads(sidecar.read_text("utf-8"))
        rows.append({k: info[k] for k in ("file", "lang", "reference", "duration_s")})
    (args.out / "manifest.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
    )
    print(f"{args.out / 'manifest.jsonl'}: {len(rows)} recordings")


if __name__ == "__main__":
    main()
