"""End-to-end ingest of long recordings: speed, peak memory and word error per configuration.

Each configuration runs `voces ingest FILE` in its own process on a fresh archive (decode,
VAD, transcription, passages, tagging, embedding, SQLite and FAISS: everything a user
waits for, model loading included) and reports:

* speed = audio seconds / wall seconds of the whole command;
* peak RSS of that process (``ru_maxrss``);
* WER of the stored transcript against the recording's reference (``bench/lib/wer.py``);
* "x base": speed over plain faster-whisper defaults transcribing the same file in the
  same run (transcription only: ``model.transcribe(audio)``, beam 5, no VAD), whose WER is
  printed too;
* CPU seconds of each (all threads): others' work on a shared machine stretches wall time
  much more than CPU time, so both are printed.

With ``--rounds N`` the baseline and the configurations alternate N times (the order
reversed every other round, so drifting machine load hits all alike); each row is one
round, and the summary keeps each one's fastest round and the spread of its speeds.

A folder's recordings are ingested in one command (``voces ingest FILE...``): speed is
then the folder's audio over the command's wall time, and WER is over all its recordings,
which is how ``VOCES_INGEST_WORKERS`` is measured.

Recordings come from ``bench/make_long.py`` (real clips, silences, noise)::

    python bench/make_long.py --minutes 7 --out /tmp/voces-long
    python bench/ingest_long.py /tmp/voces-long/es-7min.ogg /tmp/voces-long/en-7min.ogg
    python bench/make_long.py --minutes 7 --gap 1.5 --plain --out /tmp/voces-29  # issue 29
    python bench/ingest_long.py /tmp/voces-29/en-7min.ogg /tmp/voces-29/es-7min.ogg \
        --configs batched-beam5 --rounds 2
    python bench/ingest_long.py /tmp/voces-long/es-120min.ogg --configs batched-greedy
    python bench/ingest_long.py /tmp/voces-folder --no-baseline \
        --configs batched-beam5 batched-beam5-2workers
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

from lib.wer import word_errors  # noqa: E402

#: configuration -> VOCES_* settings
CONFIGS: dict[str, dict[str, str]] = {
    "sequential-beam5": {"VOCES_BATCH_SIZE": "0", "VOCES_BEAM_SIZE": "5"},
    "sequential-greedy": {"VOCES_BATCH_SIZE": "0", "VOCES_BEAM_SIZE": "1"},
    "batched-beam5": {"VOCES_BATCH_SIZE": "8", "VOCES_BEAM_SIZE": "5"},
    "batched-greedy": {"VOCES_BATCH_SIZE": "8", "VOCES_BEAM_SIZE": "1"},
    "batched16-greedy": {"VOCES_BATCH_SIZE": "16", "VOCES_BEAM_SIZE": "1"},
    # a folder of recordings, two at a time (threads split between them: 1 each)
    "batched-beam5-2workers": {
        "VOCES_BATCH_SIZE": "8",
        "VOCES_BEAM_SIZE": "5",
        "VOCES_INGEST_WORKERS": "2",
    },
}

_RUN = """
import logging, resource, sys, time
from api.cli import cli
logging.basicConfig(level=logging.WARNING, format="%(message)s")
logging.getLogger("pipeline.archive").setLevel(logging.INFO)
logging.getLogger("pipeline.ingest").setLevel(logging.INFO)  # "ingest stages" (since 5b157c6)
start = time.perf_counter()
try:
    cli.main(args=sys.argv[1:], prog_name="voces", standalone_mode=False)
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("RSS_KB", usage.ru_maxrss, file=sys.stderr)
    print("CPU_S", usage.ru_utime + usage.ru_stime, file=sys.stderr)
    print("WALL_S", time.perf_counter() - start, file=sys.stderr)
"""


def _recordings(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".ogg")
    return [path]


def baseline(path: Path, cache: Path, skip_wer: bool = False) -> dict[str, Any]:
    """Plain faster-whisper (its defaults: beam 5, no VAD, language detected, conditioned
    on previous text) on the recordings of ``path``: speed, CPU seconds and WER."""
    from models.whisper import WhisperSpec, load_whisper
    from pipeline.audio import decode_audio

    model = load_whisper(WhisperSpec(), cache)
    seconds = wall = cpu = 0.0
    edits = words = 0
    for recording in _recordings(path):
        audio = decode_audio(recording)
        start, began = time.perf_counter(), time.process_time()
        segments, _ = model.transcribe(audio)
        text = " ".join(s.text for s in segments)
        wall += time.perf_counter() - start
        cpu += time.process_time() - began
        seconds += len(audio) / 16_000
        if not skip_wer:
            info = json.loads(recording.with_suffix(".json").read_text("utf-8"))
            errors, ref_words = word_errors(info["reference"], text)
            edits, words = edits + errors, words + ref_words
    return {
        "file": path.name,
        "config": "faster-whisper",
        "audio_s": seconds,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "speed": round(seconds / wall, 2),
        "wer": round(edits / words, 4) if words else None,
    }


def stored_texts(home: Path) -> dict[str, str]:
    """Stored transcript per recording's file name."""
    from corpus import Store, Viewer

    store = Store(home / "voces.sqlite3")
    testimonies, _ = store.list_testimonies(Viewer.system(), limit=1000)
    texts = {
        t.source_name: " ".join(p.text for p in store.passages(t.id, Viewer.system()))
        for t in testimonies
    }
    store.close()
    return texts


def run(
    path: Path,
    name: str,
    cache: Path,
    keep: bool,
    skip_wer: bool = False,
    repo: Path = REPO,
) -> dict[str, Any]:
    recordings = _recordings(path)
    infos = {r.name: json.loads(r.with_suffix(".json").read_text("utf-8")) for r in recordings}
    seconds = sum(i["duration_s"] for i in infos.values())
    home = Path(tempfile.mkdtemp(prefix=f"voces-{name}-"))
    env = {**os.environ, **CONFIGS[name], "VOCES_HOME": str(home), "VOCES_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUN, "ingest", *map(str, recordings), "--consent", "private"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: voces ingest failed:\n{done.stderr[-2000:]}")
    rss_kb = int(next(x for x in done.stderr.splitlines() if x.startswith("RSS_KB")).split()[1])
    cpu_s = float(next(x for x in done.stderr.splitlines() if x.startswith("CPU_S")).split()[1])
    # per recording: seconds transcribing, in the models (embedding, tagging, redaction)
    # and storing, as the archive logs them
    stages = [
        json.loads(line.split("ingest stages ", 1)[1])
        for line in done.stderr.splitlines()
        if line.startswith("ingest stages ")
    ]
    wer = None
    if not skip_wer:
        texts = stored_texts(home)
        if sorted(texts) != sorted(infos):
            raise SystemExit(f"{name}: stored {sorted(texts)}, expected {sorted(infos)}")
        edits = words = 0
        for file, info in infos.items():
            errors, ref_words = word_errors(info["reference"], texts[file])
            edits += errors
            words += ref_words
        wer = round(edits / words, 4)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "file": path.name,
        "recordings": len(recordings),
        "config": name,
        "audio_s": seconds,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu_s, 1),
        "speed": round(seconds / wall, 2),
        "peak_rss_mb": round(rss_kb / 1024),
        "wer": wer,
        "transcribe_s": round(sum(x["transcribe_s"] for x in stages), 1),
        "models_s": round(sum(x["models_s"] for x in stages), 1),
        "store_s": round(sum(x["store_s"] for x in stages), 1),
    }


def _print(row: dict[str, Any], base: float | None) -> None:
    ratio = "-" if base is None else f"{row['speed'] / base:.2f}"
    wer = "     -" if row.get("wer") is None else f"{row['wer']:6.1%}"
    rss = f"{row['peak_rss_mb']:7d}" if "peak_rss_mb" in row else f"{'-':>7}"
    stages = (
        f" {row['transcribe_s']:9.1f} {row['models_s']:8.1f} {row['store_s']:7.1f}"
        if "transcribe_s" in row
        else ""
    )
    print(
        f"{row['file']:<16} {row['config']:<22} {row.get('round', '-'):>5} "
        f"{row['audio_s']:8.0f} {row['wall_s']:7.1f} {row['cpu_s']:7.1f} {row['speed']:6.2f}x "
        f"{ratio:>7} {rss} {wer}{stages}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "voces")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="alternate everything N times")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (git worktree add /tmp/before COMMIT): its `voces ingest` "
        "runs each configuration too, as CONFIG@before, in the same rounds",
    )
    parser.add_argument("--keep", action="store_true", help="keep the archives made")
    parser.add_argument("--no-wer", action="store_true", help="skip WER (minutes on hours)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    header = (
        f"{'file':<16} {'config':<22} {'round':>5} {'audio s':>8} {'wall s':>7} {'cpu s':>7} "
        f"{'speed':>7} {'x base':>7} {'RSS MB':>7} {'WER':>6} {'transcr s':>9} "
        f"{'models s':>8} {'store s':>7}"
    )
    print(header)
    names = ([] if args.no_baseline else ["faster-whisper"]) + list(args.configs)
    if args.before:
        names += [f"{name}@before" for name in args.configs]
    for path in args.files:
        mine: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for number in range(max(1, args.rounds)):
            for name in names if number % 2 == 0 else names[::-1]:
                if name == "faster-whisper":
                    row = baseline(path, args.cache_dir, args.no_wer or number > 0)
                else:
                    config, _, before = name.partition("@")
                    row = run(
                        path,
                        config,
                        args.cache_dir,
                        args.keep,
                        args.no_wer or number > 0,
                        args.before if before else REPO,
                    )
                    row["config"] = name
                row["round"] = number + 1
                mine[name].append(row)
                rows.append(row)
                _print(row, None)
        if args.rounds > 1 or not args.no_baseline:
            print(f"-- {path.name}: fastest round of each, speed spread over rounds")
            base = max((r["speed"] for r in mine.get("faster-whisper", [])), default=None)
            for name in names:
                fastest = dict(max(mine[name], key=lambda r: r["speed"]))
                fastest["wer"] = mine[name][0]["wer"]  # decoding is deterministic: round 1
                speeds = [r["speed"] for r in mine[name]]
                fastest["round"] = f"{min(speeds):.1f}-{max(speeds):.1f}"
                _print(fastest, base)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
