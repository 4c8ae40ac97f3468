"""End-to-end ingest of long recordings: speed, peak memory and word error per configuration.

Each configuration runs `voces ingest FILE` in its own process on a fresh archive (decode,
VAD, transcription, passages, tagging, embedding, SQLite and FAISS: everything a user
waits for, model loading included) and reports:

* speed = audio seconds / wall seconds of the whole command;
* peak RSS of that process (``ru_maxrss``);
* WER of the stored transcript against the recording's reference (``bench/_wer.py``);
* "x base": speed over plain faster-whisper defaults transcribing the same file in the
  same run (transcription only: ``model.transcribe(audio)``, beam 5, no VAD).

Recordings come from ``bench/make_long.py`` (real clips, silences, noise)::

    python bench/make_long.py --minutes 7 --out /tmp/voces-long
    python bench/ingest_long.py /tmp/voces-long/es-7min.ogg /tmp/voces-long/en-7min.ogg
    python bench/ingest_long.py /tmp/voces-long/es-120min.ogg --configs batched-greedy
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from _wer import edit_distance, normalize  # noqa: E402

#: configuration -> VOCES_* settings
CONFIGS: dict[str, dict[str, str]] = {
    "sequential-beam5": {"VOCES_BATCH_SIZE": "0", "VOCES_BEAM_SIZE": "5"},
    "sequential-greedy": {"VOCES_BATCH_SIZE": "0", "VOCES_BEAM_SIZE": "1"},
    "batched-beam5": {"VOCES_BATCH_SIZE": "8", "VOCES_BEAM_SIZE": "5"},
    "batched-greedy": {"VOCES_BATCH_SIZE": "8", "VOCES_BEAM_SIZE": "1"},
    "batched16-greedy": {"VOCES_BATCH_SIZE": "16", "VOCES_BEAM_SIZE": "1"},
}

_RUN = """
import resource, sys, time
from api.cli import cli
start = time.perf_counter()
try:
    cli.main(args=sys.argv[1:], prog_name="voces", standalone_mode=False)
finally:
    print("RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
    print("WALL_S", time.perf_counter() - start, file=sys.stderr)
"""


def baseline_speed(path: Path, cache: Path) -> float:
    from models.whisper import WhisperSpec, load_whisper
    from pipeline.audio import decode_audio

    audio = decode_audio(path)
    model = load_whisper(WhisperSpec(), cache)
    start = time.perf_counter()
    segments, _ = model.transcribe(audio)
    for _ in segments:
        pass
    return len(audio) / 16_000 / (time.perf_counter() - start)


def stored_text(home: Path) -> str:
    from corpus import Store, Viewer

    store = Store(home / "voces.sqlite3")
    [t], _ = store.list_testimonies(Viewer.system(), limit=10)
    text = " ".join(p.text for p in store.passages(t.id, Viewer.system()))
    store.close()
    return text


def run(path: Path, name: str, cache: Path, keep: bool, skip_wer: bool = False) -> dict[str, Any]:
    info = json.loads(path.with_suffix(".json").read_text("utf-8"))
    home = Path(tempfile.mkdtemp(prefix=f"voces-{name}-"))
    env = {**os.environ, **CONFIGS[name], "VOCES_HOME": str(home), "VOCES_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUN, "ingest", str(path), "--consent", "private"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: voces ingest failed:\n{done.stderr[-2000:]}")
    rss_kb = int(next(x for x in done.stderr.splitlines() if x.startswith("RSS_KB")).split()[1])
    wer = None
    if not skip_wer:
        ref, hyp = normalize(info["reference"]), normalize(stored_text(home))
        wer = round(edit_distance(ref, hyp) / len(ref), 4)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "file": path.name,
        "config": name,
        "audio_s": info["duration_s"],
        "wall_s": round(wall, 1),
        "speed": round(info["duration_s"] / wall, 2),
        "peak_rss_mb": round(rss_kb / 1024),
        "wer": wer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "voces")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the archives made")
    parser.add_argument("--no-wer", action="store_true", help="skip WER (minutes on hours)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    print(f"{'file':<16} {'config':<18} {'audio s':>8} {'wall s':>7} {'speed':>7} "
          f"{'x base':>7} {'RSS MB':>7} {'WER':>6}")  # fmt: skip
    for path in args.files:
        base = None if args.no_baseline else baseline_speed(path, args.cache_dir)
        if base is not None:
            print(f"{path.name:<16} {'faster-whisper':<18} {'':>8} {'':>7} {base:6.2f}x")
        for name in args.configs:
            row = run(path, name, args.cache_dir, args.keep, args.no_wer)
            row["speed_vs_baseline"] = None if base is None else round(row["speed"] / base, 2)
            rows.append(row)
            ratio = "-" if base is None else f"{row['speed_vs_baseline']:.2f}"
            print(
                f"{row['file']:<16} {name:<18} {row['audio_s']:8.0f} {row['wall_s']:7.1f} "
                f"{row['speed']:6.2f}x {ratio:>7} {row['peak_rss_mb']:7d} "
                + ("     -" if row["wer"] is None else f"{row['wer']:6.1%}"),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
