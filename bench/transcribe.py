"""Transcription benchmark: plain faster-whisper versus the Voces pipeline.

Runs, in one process on one machine and with one loaded model, several transcription
configurations over the clips of an audio manifest and reports speed, word error rate
(WER) and language-detection accuracy. The data are read by path and never copied into
the repository (see ``../shared/data/README.md``)::

    .venv/bin/python bench/transcribe.py
    .venv/bin/python bench/transcribe.py --repeat 3 --json /tmp/transcribe.json
    .venv/bin/python bench/transcribe.py --configs voces-default voces-forced

Configurations
    baseline       ``model.transcribe(audio)`` with faster-whisper's own defaults: beam 5,
                   no VAD, language detected by Whisper among all its languages,
                   condition_on_previous_text=True (the defaults are read from the
                   installed library and printed, so a changed default is visible).
    sequential     ``TranscribeOptions(batch_size=0)``: one 30-s window after another,
                   VAD on, language detected on the speech and chosen among es/en, beam 5,
                   condition_on_previous_text=False (the default before batching), with
                   word times and probabilities (the default since issue 29).
                   Language detection is a separate ``model.detect_language`` pass, and
                   its time is included.
    voces-default  ``pipeline.transcribe.transcribe(model, audio, TranscribeOptions())``:
                   today batched, 8 VAD chunks at a time, beam 5 (the same as "batched").
    voces-forced   the same with the manifest's language forced (no detection pass).
    voces-unlevelled  the default without levelling speech (``level=False``): what Voces
                   did before issue 29 (quiet voices beside loud ones were skipped).
    voces-greedy   ``TranscribeOptions(beam_size=1)``: greedy decoding, detection as default.
    sequential-nowords  sequential without word times (what it cost to add them).
    batched…       faster-whisper's ``BatchedInferencePipeline`` over VAD chunks, 8 (or 16)
                   at a time (``TranscribeOptions(batch_size=8)``), beam 5 or greedy, with
                   word timestamps (sentences cut at their words' times); language
                   detection as default.

Long recordings: ``python bench/make_long.py --minutes 7`` makes one per language from
the clips (silences, a noise floor, Ogg Vorbis; see its docstring), then
``python bench/transcribe.py --manifest /tmp/voces-long/manifest.jsonl``.

Method
    * Every clip is decoded to 16 kHz mono float32 once, before anything is timed; all
      configurations get the same arrays, so audio decoding is excluded from every timing
      (it is reported separately as "decode s").
    * The model (Whisper base, multilingual, CTranslate2 int8, 2 CPU threads by default) is
      loaded once; its load time (including assembling the weights on the very first run)
      is reported separately and excluded.
    * One untimed warm-up transcription (the first clip, through the Voces pipeline, so
      that the Silero VAD model that faster-whisper loads lazily is loaded too) runs before
      the timed passes; otherwise the first VAD configuration would pay for that load.
    * A clip's time is wall-clock from the call until its last segment has been produced
      (segments are generated lazily, so consuming them is where decoding happens).
      Configurations run one after another, each over all clips. With ``--repeat N`` the
      whole sequence runs N times (rounds interleave the configurations, so slow drift in
      machine load hits all alike) and each clip's time is the fastest of its N runs;
      WER and languages come from the first round (decoding is deterministic here).
    * "cpu s" is the process's CPU time over the same calls (all threads): on a machine
      others use too, wall time stretches while CPU time barely moves, so compare both.
    * speed = audio seconds / wall seconds (the inverse of the real-time factor);
      "x base" is that speed divided by the baseline's.
    * WER = total word errors (word-level Levenshtein) / total reference words, per
      language and over all clips. Hypothesis and reference are normalised alike (see
      ``bench/lib/wer.py``): lowercase, punctuation removed (incl. ``¿¡«»``), accents kept;
      "fold" is the same WER with accents removed from both sides.
    * lang acc = clips whose detected language equals the manifest's; "forced" where the
      configuration does not detect. The per-clip probability of Voces' detection is
      renormalised over the candidate languages, so it is not comparable to the baseline's.

Caveats
    * Tiny sample: 11 clips, about two minutes of audio (5 Spanish and 5 English FLEURS
      read Wikipedia sentences, plus the JFK clip). One word is ~0.4 WER points here;
      differences of a few points are noise. Read, studio-quality speech of standard
      Latin-American Spanish and US English is far easier than Andean oral testimony
      (long, spontaneous, noisy, accented, code-switched), so absolute WER says little
      about the archive; the comparison between configurations is what this measures.
    * Clips are 4-21 s, shorter than one 30-s Whisper window, so condition_on_previous_text
      (which only matters across windows) plays no part, and VAD has little silence to
      remove; on hour-long recordings both matter much more.
    * Timings are wall-clock on a shared machine; with a single round, totals moved by up
      to ~15% between two identical runs on a 2-CPU machine, so use ``--repeat 3`` for
      speed comparisons and compare configurations only within one run. No number
      normalisation in WER.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from lib.wer import word_errors  # noqa: E402

from models.whisper import WhisperSpec, load_whisper  # noqa: E402
from pipeline.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from pipeline.transcribe import TranscribeOptions, transcribe  # noqa: E402

DEFAULT_MANIFEST = REPO.parent / "shared" / "data" / "audio" / "manifest.jsonl"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voces"
CONFIGS = (
    "baseline",
    "sequential",
    "voces-default",
    "voces-forced",
    "voces-unlevelled",
    "voces-greedy",
    "sequential-nowords",
    "batched",
    "batched-greedy",
    "batched16",
    "batched16-greedy",
)
PER_CLIP_CONFIGS = ("baseline", "voces-default")


@dataclass
class Clip:
    file: str
    lang: str
    reference: str
    audio: np.ndarray

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass
class ClipResult:
    file: str
    lang: str
    detected: str | None  # None when the language was forced
    probability: float | None
    audio_s: float
    wall_s: float
    cpu_s: float  # this process's CPU seconds (all threads): steadier on a shared machine
    ref_words: int
    errors: int
    errors_folded: int
    hypothesis: str

    @property
    def wer(self) -> float:
        return self.errors / self.ref_words if self.ref_words else 0.0


# A runner transcribes one clip and returns (hypothesis text, detected language or None,
# detection probability or None).
Runner = Callable[[Any, Clip], tuple[str, str | None, float | None]]


def run_baseline(model: Any, clip: Clip) -> tuple[str, str | None, float | None]:
    segments, info = model.transcribe(clip.audio)
    text = " ".join(s.text.strip() for s in segments)
    return text, info.language, info.language_probability


def _voces(options_for: Callable[[Clip], TranscribeOptions]) -> Runner:
    def run(model: Any, clip: Clip) -> tuple[str, str | None, float | None]:
        options = options_for(clip)
        result = transcribe(model, clip.audio, options)
        text = " ".join(s.text for s in result.segments)
        return text, (None if options.language else result.language), result.language_probability

    return run


RUNNERS: dict[str, Runner] = {
    "baseline": run_baseline,
    "sequential": _voces(lambda clip: TranscribeOptions(batch_size=0)),
    "voces-default": _voces(lambda clip: TranscribeOptions()),
    "voces-forced": _voces(lambda clip: TranscribeOptions(language=clip.lang)),
    "voces-unlevelled": _voces(lambda clip: TranscribeOptions(level=False)),
    "voces-greedy": _voces(lambda clip: TranscribeOptions(beam_size=1)),
    "sequential-nowords": _voces(
        lambda clip: TranscribeOptions(batch_size=0, word_timestamps=False)
    ),
    "batched": _voces(lambda clip: TranscribeOptions(batch_size=8)),
    "batched-greedy": _voces(lambda clip: TranscribeOptions(batch_size=8, beam_size=1)),
    "batched16": _voces(lambda clip: TranscribeOptions(batch_size=16)),
    "batched16-greedy": _voces(lambda clip: TranscribeOptions(batch_size=16, beam_size=1)),
}


def load_clips(manifest: Path) -> list[Clip]:
    clips = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        audio = decode_audio(manifest.parent / row["file"])
        clips.append(Clip(row["file"], row["lang"], row["reference"], audio))
    return clips


def run_config(model: Any, name: str, clips: list[Clip]) -> list[ClipResult]:
    runner = RUNNERS[name]
    results = []
    for clip in clips:
        start, cpu = time.perf_counter(), time.process_time()
        text, detected, probability = runner(model, clip)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        errors, ref_words = word_errors(clip.reference, text)
        results.append(
            ClipResult(
                file=clip.file,
                lang=clip.lang,
                detected=detected,
                probability=None if probability is None else round(float(probability), 3),
                audio_s=round(clip.duration, 2),
                wall_s=round(wall, 3),
                cpu_s=round(cpu, 3),
                ref_words=ref_words,
                errors=errors,
                errors_folded=word_errors(clip.reference, text, fold=True)[0],
                hypothesis=text,
            )
        )
    return results


def _wer(results: list[ClipResult], lang: str | None = None, folded: bool = False) -> float:
    chosen = [r for r in results if lang is None or r.lang == lang]
    words = sum(r.ref_words for r in chosen)
    errors = sum(r.errors_folded if folded else r.errors for r in chosen)
    return errors / words if words else float("nan")


def summarise(name: str, results: list[ClipResult], base_speed: float | None) -> dict[str, Any]:
    audio = sum(r.audio_s for r in results)
    wall = sum(r.wall_s for r in results)
    cpu = sum(r.cpu_s for r in results)
    speed = audio / wall if wall else float("nan")
    detecting = [r for r in results if r.detected is not None]
    return {
        "config": name,
        "audio_s": round(audio, 2),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "speed": round(speed, 3),
        "speed_vs_baseline": None if base_speed is None else round(speed / base_speed, 3),
        "wer_es": round(_wer(results, "es"), 4),
        "wer_en": round(_wer(results, "en"), 4),
        "wer_all": round(_wer(results), 4),
        "wer_all_folded": round(_wer(results, folded=True), 4),
        "lang_correct": sum(r.detected == r.lang for r in detecting) if detecting else None,
        "lang_total": len(detecting) if detecting else None,
    }


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def print_summary(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'config':<14} {'audio s':>8} {'wall s':>8} {'cpu s':>8} {'speed':>7} {'x base':>7} "
        f"{'WER es':>7} {'WER en':>7} {'WER all':>7} {'fold':>7} {'lang acc':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = "-" if r["speed_vs_baseline"] is None else f"{r['speed_vs_baseline']:.2f}"
        lang = "forced" if r["lang_total"] is None else f"{r['lang_correct']}/{r['lang_total']}"
        print(
            f"{r['config']:<14} {r['audio_s']:8.1f} {r['wall_s']:8.2f} {r['cpu_s']:8.2f} "
            f"{r['speed']:6.2f}x "
            f"{ratio:>7} {_pct(r['wer_es']):>7} {_pct(r['wer_en']):>7} "
            f"{_pct(r['wer_all']):>7} {_pct(r['wer_all_folded']):>7} {lang:>9}"
        )


def print_per_clip(results: dict[str, list[ClipResult]]) -> None:
    names = [n for n in PER_CLIP_CONFIGS if n in results]
    if not names:
        return
    head = f"{'clip':<22} {'lang':>4} {'s':>5} {'words':>5}"
    for n in names:
        head += f" | {n + ' det':>17} {'WER':>6}"
    print(head)
    print("-" * len(head))
    first = results[names[0]]
    for i, clip in enumerate(first):
        line = f"{clip.file:<22} {clip.lang:>4} {clip.audio_s:5.1f} {clip.ref_words:5d}"
        for n in names:
            r = results[n][i]
            det = "forced" if r.detected is None else f"{r.detected} ({r.probability:.2f})"
            mark = "!" if r.detected is not None and r.detected != r.lang else " "
            line += f" | {det:>16}{mark} {_pct(r.wer):>6}"
        print(line)
    print(
        "(det = detected language and its probability; the baseline's is over all Whisper\n"
        " languages, Voces' is renormalised over the candidates es/en, so it reads higher)\n"
    )
    shown = False
    for n in names:
        for r in results[n]:
            if r.wer > 0.25 or (r.detected is not None and r.detected != r.lang):
                if not shown:
                    print("Hypotheses of clips with WER > 25% or a wrong language:")
                    shown = True
                print(f"  [{n}] {r.file} ({r.detected or 'forced'}, WER {_pct(r.wer).strip()}):")
                print(f"      {r.hypothesis!r}")


def baseline_defaults(model: Any) -> dict[str, Any]:
    params = inspect.signature(model.transcribe).parameters
    keys = ("language", "beam_size", "vad_filter", "condition_on_previous_text")
    return {k: params[k].default for k in keys if k in params}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--json", type=Path, help="also write results (summary, per clip)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--model", default="base", help="'base' or a CTranslate2 folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument(
        "--repeat", type=int, default=1, help="timed rounds; a clip's time is its fastest"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import ctranslate2
    import faster_whisper

    start = time.perf_counter()
    clips = load_clips(args.manifest)
    decode_s = time.perf_counter() - start

    spec = WhisperSpec(model=args.model, compute_type=args.compute_type, cpu_threads=args.threads)
    start = time.perf_counter()
    model = load_whisper(spec, args.cache_dir)
    load_s = time.perf_counter() - start

    start = time.perf_counter()
    _voces(lambda clip: TranscribeOptions())(model, clips[0])
    warmup_s = time.perf_counter() - start

    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "model": args.model,
        "compute_type": args.compute_type,
        "cpu_threads": args.threads,
        "repeat": max(1, args.repeat),
        "baseline_defaults": baseline_defaults(model),
    }
    total_audio = sum(c.duration for c in clips)
    print(
        f"faster-whisper {env['faster_whisper']}, ctranslate2 {env['ctranslate2']}, "
        f"Python {env['python']} on {env['machine']} ({env['cpu_count']} CPUs)"
    )
    print(
        f"model {args.model} ({args.compute_type}, {args.threads} threads); "
        f"baseline = library defaults {env['baseline_defaults']}"
    )
    print(
        f"{len(clips)} clips, {total_audio:.1f} s of audio from {args.manifest}\n"
        f"decode {decode_s:.2f} s (excluded), model load {load_s:.2f} s (excluded), "
        f"warm-up {warmup_s:.2f} s on {clips[0].file} (excluded); "
        f"{max(1, args.repeat)} timed round(s), each clip's fastest kept\n"
    )

    results: dict[str, list[ClipResult]] = {}
    for _ in range(max(1, args.repeat)):
        for name in args.configs:
            again = run_config(model, name, clips)
            if name not in results:
                results[name] = again
                continue
            for kept, new in zip(results[name], again, strict=True):
                kept.wall_s = min(kept.wall_s, new.wall_s)
                kept.cpu_s = min(kept.cpu_s, new.cpu_s)
    base_speed = None
    if "baseline" in results:
        base_speed = summarise("baseline", results["baseline"], None)["speed"]
    rows = [summarise(name, res, base_speed) for name, res in results.items()]

    print_summary(rows)
    print()
    print_per_clip(results)

    if args.json:
        payload = {
            "env": env,
            "manifest": str(args.manifest),
            "decode_s": round(decode_s, 3),
            "load_s": round(load_s, 3),
            "warmup_s": round(warmup_s, 3),
            "summary": rows,
            "clips": {name: [asdict(r) for r in res] for name, res in results.items()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
