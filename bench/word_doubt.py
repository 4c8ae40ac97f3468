"""Which of Whisper's words to mark for review: errors caught against words marked.

Each recording of a manifest (default: the 11 real clips of ``../shared/data/audio``) is
transcribed as ingest transcribes it (``pipeline.transcribe.transcribe`` with
``TranscribeOptions()``: language detected among es/en, batched, levelled), and its words
(``Segment.words``, each with Whisper's probability) are aligned to the reference with
jiwer's word-level Levenshtein alignment, after normalising both sides as the references
are (``bench/lib/wer.py``: lowercase, punctuation removed, accents kept). A hypothesis
word is *wrong* when the alignment substitutes or inserts it; a reference word that
Whisper dropped (a deletion) has no hypothesis word to mark and is not counted.

For each threshold t on the word probability it prints

* caught: the share of wrong words whose probability is below t (errors a reviewer
  would be shown);
* marked: the share of all hypothesis words below t (the reviewer's load);
* precision: the share of marked words that are wrong;

then the threshold that catches the most errors while marking at most 15 % of words,
with 95 % Wilson intervals (the errors are few: say how few), and a leave-one-recording-out
estimate (the threshold chosen on the other recordings, counted on the one left out), which
is what a threshold chosen on these data would do on new ones::

    .venv/bin/python bench/word_doubt.py
    .venv/bin/python bench/word_doubt.py --manifest /tmp/voces-29/manifest.jsonl

jiwer is a bench dependency (``pip install -e .[bench]``): its alignment is the standard
one other WER tools report, and it aligns hours of words in C where ``bench/lib/wer.py``'s
pure-Python distance (which gives the same count) only counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from lib.wer import normalize  # noqa: E402

from corpus.records import Word  # noqa: E402
from models.whisper import WhisperSpec, load_whisper  # noqa: E402
from pipeline.audio import decode_audio  # noqa: E402
from pipeline.transcribe import DOUBT_BELOW, TranscribeOptions, transcribe  # noqa: E402

DEFAULT_MANIFEST = REPO.parent / "shared" / "data" / "audio" / "manifest.jsonl"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voces"
MOST_MARKED = 0.15
SHOWN = [round(0.05 * i, 2) for i in range(1, 20)]  # the curve printed
THRESHOLDS = [round(0.01 * i, 2) for i in range(1, 100)]  # the thresholds searched


@dataclass(frozen=True)
class Judged:
    """One normalised hypothesis word: its probability, whether the alignment found it wrong."""

    recording: str
    text: str
    probability: float
    wrong: bool


def judge(recording: str, reference: str, words: Sequence[Word]) -> list[Judged]:
    """The words of a transcript, normalised (a Whisper word may give none, "¿Qué?",
    or two, "25-30": each keeps its word's probability) and aligned to ``reference``."""
    import jiwer

    tokens = [(t, w.probability) for w in words for t in normalize(w.text)]
    ref = normalize(reference)
    if not tokens:
        return []
    if not ref:
        return [Judged(recording, t, p, True) for t, p in tokens]
    wrong = [False] * len(tokens)
    aligned = jiwer.process_words(" ".join(ref), " ".join(t for t, _ in tokens))
    for chunk in aligned.alignments[0]:
        if chunk.type in ("substitute", "insert"):
            for i in range(chunk.hyp_start_idx, chunk.hyp_end_idx):
                wrong[i] = True
    return [Judged(recording, t, p, bad) for (t, p), bad in zip(tokens, wrong, strict=True)]


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``hits / n``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Point:
    threshold: float
    errors: int
    words: int
    caught: int  # wrong words below the threshold
    marked: int  # words below the threshold

    @property
    def caught_share(self) -> float:
        return self.caught / self.errors if self.errors else 0.0

    @property
    def marked_share(self) -> float:
        return self.marked / self.words if self.words else 0.0

    @property
    def precision(self) -> float:
        return self.caught / self.marked if self.marked else 0.0


def point(judged: Sequence[Judged], threshold: float) -> Point:
    return Point(
        threshold,
        errors=sum(j.wrong for j in judged),
        words=len(judged),
        caught=sum(j.wrong and j.probability < threshold for j in judged),
        marked=sum(j.probability < threshold for j in judged),
    )


def best(judged: Sequence[Judged], thresholds: Sequence[float] = THRESHOLDS) -> Point:
    """The threshold catching the most errors with at most 15 % of words marked (the
    lowest such threshold on a tie: fewer words marked)."""
    allowed = [point(judged, t) for t in thresholds]
    allowed = [p for p in allowed if p.marked_share <= MOST_MARKED] or [allowed[0]]
    return max(allowed, key=lambda p: (p.caught, -p.marked))


def left_out(judged: Sequence[Judged]) -> tuple[int, int, int, int]:
    """(caught, errors, marked, words) over recordings each judged at the threshold
    chosen on all the others."""
    caught = errors = marked = words = 0
    for recording in sorted({j.recording for j in judged}):
        rest = [j for j in judged if j.recording != recording]
        mine = [j for j in judged if j.recording == recording]
        p = point(mine, best(rest).threshold)
        caught, errors = caught + p.caught, errors + p.errors
        marked, words = marked + p.marked, words + p.words
    return caught, errors, marked, words


def transcribe_manifest(manifest: Path, cache: Path) -> list[Judged]:
    model = load_whisper(WhisperSpec(), cache)
    judged: list[Judged] = []
    for line in manifest.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        audio = decode_audio(manifest.parent / row["file"])
        result = transcribe(model, audio, TranscribeOptions())
        words = [w for s in result.segments for w in s.words]
        mine = judge(f"{manifest.parent.name}/{row['file']}", row["reference"], words)
        logging.info("%s: %d words, %d wrong", row["file"], len(mine), sum(j.wrong for j in mine))
        judged += mine
    return judged


def report(judged: Sequence[Judged], title: str) -> None:
    errors = sum(j.wrong for j in judged)
    recordings = len({j.recording for j in judged})
    print(f"{title}: {recordings} recordings, {len(judged)} words, {errors} wrong\n")
    print(f"{'below':>6} {'caught':>16} {'marked':>16} {'precision':>9}")
    for t in sorted({*SHOWN, best(judged).threshold, DOUBT_BELOW}):
        p = point(judged, t)
        print(
            f"{t:6.2f} {p.caught:4d}/{p.errors:<4d} {p.caught_share:6.1%} "
            f"{p.marked:5d}/{p.words:<5d}{p.marked_share:5.1%} {p.precision:9.1%}"
        )
    chosen = best(judged)
    lo, hi = wilson(chosen.caught, chosen.errors)
    print(
        f"\nmost errors caught with <= {MOST_MARKED:.0%} marked: below {chosen.threshold:.2f}: "
        f"{chosen.caught_share:.1%} of errors caught (95 % CI {lo:.1%}-{hi:.1%}, "
        f"n={chosen.errors}), {chosen.marked_share:.1%} of words marked, "
        f"precision {chosen.precision:.1%}"
    )
    now = point(judged, DOUBT_BELOW)
    lo, hi = wilson(now.caught, now.errors)
    print(
        f"DOUBT_BELOW = {DOUBT_BELOW}: {now.caught_share:.1%} caught (95 % CI "
        f"{lo:.1%}-{hi:.1%}), {now.marked_share:.1%} marked, precision {now.precision:.1%}"
    )
    if recordings > 1:
        caught, errs, marked, words = left_out(judged)
        lo, hi = wilson(caught, errs)
        print(
            f"leave one recording out: {caught}/{errs} = {caught / max(errs, 1):.1%} caught "
            f"(95 % CI {lo:.1%}-{hi:.1%}), {marked}/{words} = {marked / max(words, 1):.1%} "
            "marked"
        )
    goal = chosen.caught_share >= 0.60 and chosen.marked_share <= MOST_MARKED
    print(f"goal (>= 60 % caught with <= 15 % marked): {'met' if goal else 'NOT met'}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, nargs="+", default=[DEFAULT_MANIFEST])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="also write every judged word")
    parser.add_argument(
        "--judged", type=Path, nargs="+", help="report on words a --json run wrote instead"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    everything: list[Judged] = []
    if args.judged:
        for path in args.judged:
            judged = [Judged(**row) for row in json.loads(path.read_text("utf-8"))]
            report(judged, str(path))
            everything += judged
        if len(args.judged) > 1:
            report(everything, "all together")
        return 0
    for manifest in args.manifest:
        judged = transcribe_manifest(manifest, args.cache_dir)
        report(judged, str(manifest))
        everything += judged
    if len(args.manifest) > 1:
        report(everything, "all manifests together")
    if args.json:
        rows = [j.__dict__ for j in everything]
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=0), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
