"""Diarization benchmark: diarization error rate (DER) on conversations built from real
clips of different speakers, and what diarization costs beside transcription.

    .venv/bin/python bench/diarization.py                      # the whole run
    .venv/bin/python bench/diarization.py --json /tmp/der.json --limit 10

Speakers (real speech, read by path, never copied into the repository)
    fleurs  ``../shared/data/audio``: 5 Spanish and 5 English FLEURS read sentences (Google,
            CC BY 4.0) and jfk.flac (public domain), 16 kHz. The manifest names no speaker;
            clips whose GE2E voice vectors are >= 0.8 alike are taken as one speaker (a
            wrong "different" would make the reference wrong): en-002/003/004 (0.84-0.93),
            es-000/002 (0.92), es-001/003/004 (0.84-0.95). Six speakers: en-000, en-001,
            en-002+, jfk, es-000+, es-001+ (three male, three female by ear of the pitch).
    radio   ``/usr/share/codec2/wav`` from Debian's codec2-examples (LGPL-2.1, David Rowe):
            two amateur-radio recordings, 8 kHz, noisy, two male speakers (vectors 0.74
            alike): ve9qrp (112 s) and vk5qi (13.5 s): one more two-speaker conversation.
            (david4 and vk2tpm_004 hold no words Whisper can find; the other clips are 1-4 s.)
            ``apt-get install codec2-examples``; skipped when absent.
    Conversations mix speakers of one family only (8 kHz radio beside 16 kHz studio
    speech would hand the encoder the answer).

Conversations
    Each source clip is transcribed once with word times (Whisper base); its words are
    cut into phrases of 1.5-4.5 s at the gaps between words, and a few single words of
    0.25-0.8 s are set aside as backchannels. A conversation takes turns between its 2 or
    3 speakers (never the same speaker twice in a row): a turn is one or two phrases of
    one speaker; 25 % of turns start 0.2-0.6 s before the previous one ends (overlap),
    the rest after a pause of 0.15-0.7 s; after 40 % of turns another speaker says a
    backchannel, half the time over the end of the turn (overlap), half in the pause.
    Each speaker gets a constant loudness (-26 dBFS +- 4 dB, a microphone's distance), a
    -60 dBFS noise floor runs under everything. No clip piece is used twice in one
    conversation. Every pair and every triple of a family's speakers makes one
    conversation (fleurs: 15 pairs, 20 triples; radio: 1 pair).
    The reference: each phrase and backchannel from its first word's start to its last
    word's end (Whisper's word times, about +-0.1 s), so overlaps are in the reference.

Method
    * Spans, as the pipeline will give them: the segments of ``pipeline.transcribe``
      (TranscribeOptions() defaults: batched, VAD, sentences cut at their words' times,
      language detected among es/en) on the conversation's audio. Also "oracle" spans: the
      reference's speech regions (touching turns merged), so the stage must still find
      every change of speaker itself; this separates clustering from span errors.
    * Labels: ``pipeline.diarize.diarize`` (GE2E, window 1.5 s, hop 0.75 s), the number of
      speakers given (N) or estimated (threshold). The hypothesis is its turns.
    * DER = (missed speech + false alarm + speaker confusion) / reference speech, from
      pyannote.metrics' DiarizationErrorRate, summed over the conversations of a set
      (the reference's overlapping speech counts: a one-voice-at-a-time system misses it),
      with the standard collar (+-0.25 s around every reference boundary not scored: NIST
      md-eval's -c 0.25, pyannote's collar=0.5) and without.
    * Estimation threshold: conversations are split in two halves (seeded); the
      threshold is chosen on the dev half (lowest DER with the collar, Whisper spans,
      2 and 3 speakers together) and the test half reports it. Given-N figures use all.
    * Cost: per conversation, wall-clock and process CPU seconds of the transcription and
      of the diarization (the encoder's forward passes, clustering, labelling; estimated
      N), one after the other in the same process, 2 threads each. The model loads are
      excluded. ratio = diarization / transcription.

Last runs (a29202b and 271ca22, the latter with transcription's speech levelling; the
same DER both times; 60 conversations, 29.9 min; a shared 2-CPU machine)
    DER with the 0.25-s collar, Whisper spans, one-language conversations: two speakers
    9.9 % with N given (missed 6.4, false alarm 2.7, confusion 0.8), 16.3 % estimated
    (test half); three speakers 8.0 % and 17.5 %. With oracle spans 0.6 / 2.6 % and
    1.6 / 3.7 %: what is left is Whisper's spans (speech between or around its words,
    overlaps) and the estimate (two speakers taken for three in 6 of 16 test
    conversations). Spanish and English in one conversation: 27-34 %, nearly all missed
    speech (Whisper decodes one language). Threshold 0.4 (dev DER 18.2 %). Cost:
    diarization 7.1-12.1 s wall / 5.8-6.3 s CPU against transcription's 223-334 s /
    209-234 s: 3.2-3.6 % of the wall time, 2.7-2.8 % of the CPU time.

Caveats
    * Small and read: six + two speakers, 36 conversations of 20-60 s, read sentences,
      not hour-long Andean interviews; same-family speakers only. Spanish and English
      speakers share a conversation in "fleurs" (a bilingual interview); Whisper's
      language is then right for one of them only, which costs spans some words.
    * The same clip material comes back across conversations (a speaker's pieces in
      another order with another partner): conversations are not independent samples.
    * Timings share a 2-CPU machine with other work: CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from lib.timing import say  # noqa: E402

from models.speakers import load_speaker_encoder  # noqa: E402
from models.whisper import WhisperSpec, load_whisper  # noqa: E402
from pipeline.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from pipeline.diarize import DiarizeOptions, diarize  # noqa: E402
from pipeline.transcribe import TranscribeOptions, transcribe  # noqa: E402

DEFAULT_AUDIO = REPO.parent / "shared" / "data" / "audio"
DEFAULT_RADIO = Path("/usr/share/codec2/wav")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voces"
WORK = Path("/tmp/voces-diarization-bench")

#: speaker -> (language, clip files); see the module docstring for the grouping.
FLEURS = {
    "en-000": ("en", ["en/fleurs-en-000.ogg"]),
    "en-001": ("en", ["en/fleurs-en-001.ogg"]),
    "en-002+": ("en", ["en/fleurs-en-002.ogg", "en/fleurs-en-003.ogg", "en/fleurs-en-004.ogg"]),
    "jfk": ("en", ["en/jfk.flac"]),
    "es-000+": ("es", ["es/fleurs-es-000.ogg", "es/fleurs-es-002.ogg"]),
    "es-001+": ("es", ["es/fleurs-es-001.ogg", "es/fleurs-es-003.ogg", "es/fleurs-es-004.ogg"]),
}
RADIO = {
    "ve9qrp": ("en", ["ve9qrp.wav"]),
    "vk5qi": ("en", ["vk5qi.wav"]),
}
THRESHOLDS = tuple(round(x, 3) for x in np.arange(0.15, 0.551, 0.025))


@dataclass
class Piece:
    audio: np.ndarray
    onset: float  # first word's start within the piece
    offset: float  # last word's end within the piece
    text: str


@dataclass
class Speaker:
    name: str
    family: str
    lang: str
    phrases: list[Piece] = field(default_factory=list)
    backchannels: list[Piece] = field(default_factory=list)


@dataclass
class Conversation:
    name: str
    kind: str  # "same" (one language, one family) or "mixed" (Spanish and English)
    speakers: tuple[str, ...]
    audio: np.ndarray
    reference: list[tuple[float, float, str]]  # (start, end, speaker), overlaps allowed

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


# --- material ----------------------------------------------------------------------------


def _words(model: Any, path: Path, audio: np.ndarray, lang: str) -> list[tuple[float, float, str]]:
    """Whisper's words of a source clip, cached under WORK (keyed by the file's bytes)."""
    key = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cache = WORK / f"words-{path.stem}-{key}.json"
    if cache.is_file():
        return [tuple(w) for w in json.loads(cache.read_text())]  # type: ignore[misc]
    segments, _ = model.transcribe(
        audio, language=lang, word_timestamps=True, vad_filter=False, beam_size=5
    )
    words = [(float(w.start), float(w.end), w.word) for s in segments for w in s.words or []]
    WORK.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(words))
    return words


def _cut(audio: np.ndarray, words: list[tuple[float, float, str]], lo: int, hi: int) -> Piece:
    """Words lo..hi-1 as a piece, cut halfway into the gaps around them (at most 0.1 s)."""
    start, end = words[lo][0], words[hi - 1][1]
    before = words[lo - 1][1] if lo > 0 else 0.0
    after = words[hi][0] if hi < len(words) else len(audio) / SAMPLE_RATE
    a = max(0.0, start - min(0.1, max(0.0, (start - before) / 2)))
    b = min(len(audio) / SAMPLE_RATE, end + min(0.1, max(0.0, (after - end) / 2)))
    samples = audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)].copy()
    fade = min(len(samples) // 4, int(0.01 * SAMPLE_RATE))  # 10 ms: no clicks
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        samples[:fade] *= ramp
        samples[-fade:] *= ramp[::-1]
    text = "".join(w[2] for w in words[lo:hi]).strip()
    return Piece(samples, start - a, end - a, text)


def _pieces(
    audio: np.ndarray, words: list[tuple[float, float, str]], rng: np.random.Generator
) -> tuple[list[Piece], list[Piece]]:
    """Phrases (1.5-4.5 s) and backchannels (one word, 0.25-0.8 s) of one clip."""
    short = [i for i, w in enumerate(words) if 0.25 <= w[1] - w[0] <= 0.8]
    chosen: set[int] = set()
    for i in rng.permutation(short)[: max(1, len(words) // 12)]:
        if not {i - 1, i + 1} & chosen:
            chosen.add(int(i))
    backchannels = [_cut(audio, words, i, i + 1) for i in sorted(chosen)]
    phrases = []
    lo = 0
    target = rng.uniform(1.5, 4.5)
    for i in range(len(words) + 1):
        if i == len(words) or i in chosen:
            if i > lo and words[i - 1][1] - words[lo][0] >= 1.0:
                phrases.append(_cut(audio, words, lo, i))
            lo = i + 1
            target = rng.uniform(1.5, 4.5)
            continue
        if words[i][1] - words[lo][0] >= target:
            phrases.append(_cut(audio, words, lo, i + 1))
            lo = i + 1
            target = rng.uniform(1.5, 4.5)
    return phrases, backchannels


def load_speakers(
    model: Any, audio_dir: Path, radio_dir: Path | None, rng: np.random.Generator
) -> list[Speaker]:
    families: list[tuple[str, Path, dict[str, tuple[str, list[str]]]]] = [
        ("fleurs", audio_dir, FLEURS)
    ]
    if radio_dir is not None and radio_dir.is_dir():
        families.append(("radio", radio_dir, RADIO))
    else:
        say(f"no radio speakers ({radio_dir} missing: apt-get install codec2-examples)")
    speakers = []
    for family, folder, table in families:
        for name, (lang, files) in table.items():
            speaker = Speaker(name, family, lang)
            for file in files:
                path = folder / file
                audio = decode_audio(path)
                phrases, backchannels = _pieces(audio, _words(model, path, audio, lang), rng)
                speaker.phrases += phrases
                speaker.backchannels += backchannels
            if not speaker.phrases:
                say(f"{family}/{name}: no phrases (Whisper found no words): left out")
                continue
            say(
                f"{family}/{name}: {len(speaker.phrases)} phrases "
                f"({sum(len(p.audio) for p in speaker.phrases) / SAMPLE_RATE:.1f} s), "
                f"{len(speaker.backchannels)} backchannels "
                f"({', '.join(p.text for p in speaker.backchannels)})"
            )
            speakers.append(speaker)
    return speakers


def build(name: str, speakers: Sequence[Speaker], rng: np.random.Generator) -> Conversation:
    """One conversation between ``speakers`` (see the module docstring)."""
    phrases = {s.name: [s.phrases[i] for i in rng.permutation(len(s.phrases))] for s in speakers}
    backs = {
        s.name: [s.backchannels[i] for i in rng.permutation(len(s.backchannels))] for s in speakers
    }
    gain = {s.name: 10 ** (rng.uniform(-30, -22) / 20) for s in speakers}
    placed: list[tuple[float, str, Piece]] = []
    t = 0.5
    current = speakers[int(rng.integers(len(speakers)))].name  # every speaker has phrases
    while True:
        turn_end = t
        for _ in range(1 + int(rng.random() < 0.4)):
            if not phrases[current]:
                break
            piece = phrases[current].pop()
            placed.append((turn_end, current, piece))
            turn_end += len(piece.audio) / SAMPLE_RATE + rng.uniform(0.15, 0.4)
        turn_end -= 0.15  # the last pause belongs to the gap below
        others = [s.name for s in speakers if s.name != current and phrases[s.name]]
        if not others:
            break
        listeners = [s.name for s in speakers if s.name != current and backs[s.name]]
        backchannel = None
        if listeners and rng.random() < 0.4:
            who = listeners[int(rng.integers(len(listeners)))]
            backchannel = (who, backs[who].pop())
        if rng.random() < 0.25:
            start = turn_end - rng.uniform(0.2, 0.6)
        else:
            start = turn_end + rng.uniform(0.15, 0.7)
        if backchannel is not None:
            who, piece = backchannel
            length = len(piece.audio) / SAMPLE_RATE
            if rng.random() < 0.5:  # over the end of the turn
                at = max(0.0, turn_end - length - rng.uniform(0.0, 0.5))
            else:  # in the pause, which grows to hold it
                at = turn_end + 0.2
                start = max(start, at + length + 0.2)
            placed.append((at, who, piece))
        current = others[int(rng.integers(len(others)))]
        t = start
    total = max(at + len(p.audio) / SAMPLE_RATE for at, _, p in placed) + 0.5
    mix = rng.normal(0, 10 ** (-60 / 20), int(total * SAMPLE_RATE)).astype(np.float32)
    reference = []
    for at, who, piece in placed:
        rms = float(np.sqrt(np.mean(np.square(piece.audio)))) or 1.0
        a = int(at * SAMPLE_RATE)
        mix[a : a + len(piece.audio)] += piece.audio * np.float32(gain[who] / rms)
        reference.append((round(at + piece.onset, 3), round(at + piece.offset, 3), who))
    np.clip(mix, -1, 1, out=mix)
    reference.sort()
    return Conversation(
        name,
        "same" if len({s.lang for s in speakers}) == 1 else "mixed",
        tuple(s.name for s in speakers),
        mix,
        reference,
    )


def conversations(speakers: list[Speaker], seed: int, variants: int) -> list[Conversation]:
    """Every pair and triple of one family's speakers: ``variants`` conversations when
    they share a language, one when they do not (Spanish and English)."""
    out = []
    by_family: dict[str, list[Speaker]] = {}
    for s in speakers:
        by_family.setdefault(s.family, []).append(s)
    for family, members in by_family.items():
        for size in (2, 3):
            for combo in itertools.combinations(members, size):
                same = len({s.lang for s in combo}) == 1
                for variant in range(variants if same else 1):
                    name = f"{family}:{'+'.join(s.name for s in combo)}#{variant}"
                    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
                    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
                    out.append(build(name, combo, rng))
    return out


def split(convs: Sequence[Conversation], seed: int) -> tuple[set[str], set[str]]:
    """Dev and test halves of the conversations' speaker combinations (all variants of
    one combination in one half), halved within each size and kind."""
    dev: set[str] = set()
    test: set[str] = set()
    strata: dict[tuple[int, str], list[str]] = {}
    for c in convs:
        combo = c.name.split("#")[0]
        group = strata.setdefault((len(c.speakers), c.kind), [])
        if combo not in group:
            group.append(combo)
    for key in sorted(strata):
        combos = strata[key]
        order = np.random.default_rng([seed, key[0], len(key[1])]).permutation(len(combos))
        for rank, i in enumerate(order):
            (dev if rank % 2 == 0 else test).add(combos[i])
    return dev, test


# --- scoring -----------------------------------------------------------------------------


def annotation(turns: Sequence[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment

    out = Annotation()
    for n, (a, b, who) in enumerate(turns):
        if b > a:
            out[Segment(a, b), n] = who
    return out


def oracle_spans(reference: Sequence[tuple[float, float, str]]) -> list[tuple[float, float]]:
    """The reference's speech regions: turns that overlap or touch merged."""
    spans: list[list[float]] = []
    for a, b, _ in sorted(reference):
        if spans and a <= spans[-1][1] + 0.05:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans]


class CachingEncoder:
    """The encoder with its vectors kept by window (the threshold sweep re-clusters the
    same windows many times; embedding them again would only cost time)."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self.name, self.dim, self.sample_rate = encoder.name, encoder.dim, encoder.sample_rate
        self._memo: dict[bytes, np.ndarray] = {}

    def embed(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        keys = [hashlib.blake2b(np.ascontiguousarray(w).tobytes(), digest_size=16).digest()
                for w in windows]  # fmt: skip
        missing = [i for i, k in enumerate(keys) if k not in self._memo]
        if missing:
            rows = self._encoder.embed([windows[i] for i in missing])
            for i, row in zip(missing, rows, strict=True):
                self._memo[keys[i]] = row
        return np.array([self._memo[k] for k in keys], dtype=np.float32).reshape(-1, self.dim)


@dataclass
class Run:
    conversation: Conversation
    whisper_spans: list[tuple[float, float]]
    transcribe_wall: float
    transcribe_cpu: float
    diarize_wall: float
    diarize_cpu: float


def _der(pairs: list[tuple[Any, Any, float]], collar: float) -> dict[str, float]:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    for reference, hypothesis, duration in pairs:
        metric(reference, hypothesis, uem=Timeline([Segment(0, duration)]))
    total = metric.accumulated_["total"] or 1.0
    return {
        "der": round(100 * abs(metric), 1),
        "missed": round(100 * metric.accumulated_["missed detection"] / total, 1),
        "false_alarm": round(100 * metric.accumulated_["false alarm"] / total, 1),
        "confusion": round(100 * metric.accumulated_["confusion"] / total, 1),
    }


def score(
    runs: Sequence[Run], encoder: Any, spans: str, options_for: Any
) -> dict[str, dict[str, float]]:
    pairs = []
    for run in runs:
        conv = run.conversation
        chosen = run.whisper_spans if spans == "whisper" else oracle_spans(conv.reference)
        result = diarize(conv.audio, chosen, encoder, options_for(conv))
        hyp = [(t.start, t.end, t.speaker) for t in result.turns()]
        pairs.append((annotation(conv.reference), annotation(hyp), conv.duration))
    return {"collar": _der(pairs, 0.5), "no_collar": _der(pairs, 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--radio", type=Path, default=DEFAULT_RADIO)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=2, help="Whisper's CPU threads")
    parser.add_argument("--encoder-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--limit", type=int, default=0, help="first N conversations only")
    parser.add_argument("--variants", type=int, default=3, help="per one-language combination")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--window", type=float, default=DiarizeOptions().window)
    parser.add_argument("--hop", type=float, default=DiarizeOptions().hop)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    base = DiarizeOptions(window=args.window, hop=args.hop)
    whisper = load_whisper(WhisperSpec(cpu_threads=args.threads), args.cache)
    encoder = load_speaker_encoder("ge2e", args.encoder_threads)
    rng = np.random.default_rng(args.seed)
    speakers = load_speakers(whisper, args.audio, args.radio, rng)
    convs = conversations(speakers, args.seed, args.variants)
    if args.limit:
        convs = convs[: args.limit]
    say(f"{len(convs)} conversations, {sum(c.duration for c in convs) / 60:.1f} min")

    list(transcribe(whisper, convs[0].audio, TranscribeOptions()).segments)  # warm-up (VAD)
    diarize(convs[0].audio, [(0.0, convs[0].duration)], encoder)  # warm-up (librosa)
    runs = []
    for n, conv in enumerate(convs):
        w0, c0 = time.perf_counter(), time.process_time()
        segments = list(transcribe(whisper, conv.audio, TranscribeOptions()).segments)
        w1, c1 = time.perf_counter(), time.process_time()
        spans = [(s.start, s.end) for s in segments]
        diarize(conv.audio, spans, encoder, base)
        w2, c2 = time.perf_counter(), time.process_time()
        runs.append(Run(conv, spans, w1 - w0, c1 - c0, w2 - w1, c2 - c1))
        say(
            f"[{n + 1}/{len(convs)}] {conv.name} {conv.duration:.0f} s, {len(spans)} spans; "
            f"transcribe {w1 - w0:.1f} s, diarize {w2 - w1:.2f} s"
        )

    cached = CachingEncoder(encoder)
    dev_combos, _ = split([r.conversation for r in runs], args.seed)
    dev = [r for r in runs if r.conversation.name.split("#")[0] in dev_combos]
    test = [r for r in runs if r.conversation.name.split("#")[0] not in dev_combos]
    sweep = {}
    for threshold in THRESHOLDS:
        opts = replace(base, threshold=threshold)
        sweep[threshold] = score(dev, cached, "whisper", lambda c, o=opts: o)["collar"]["der"]
        say(f"threshold {threshold}: dev DER {sweep[threshold]} %")
    best = min(sweep, key=lambda t: (sweep[t], abs(t - base.threshold)))
    say(f"chosen threshold {best} (dev DER {sweep[best]} %)")

    results: dict[str, Any] = {
        "options": {"window": base.window, "hop": base.hop},
        "threshold": best,
        "sweep_dev": sweep,
        "table": [],
    }
    for size in (2, 3):
        for kind in ("same", "mixed"):
            pick_all = [
                r
                for r in runs
                if len(r.conversation.speakers) == size and r.conversation.kind == kind
            ]
            pick_test = [r for r in pick_all if r in test]
            if not pick_all:
                continue
            for spans in ("whisper", "oracle"):
                given = score(
                    pick_all,
                    cached,
                    spans,
                    lambda c: replace(base, speakers=len(c.speakers), threshold=best),
                )
                estimated = score(pick_test, cached, spans, lambda c: replace(base, threshold=best))
                results["table"].append(
                    {
                        "speakers": size,
                        "kind": kind,
                        "spans": spans,
                        "conversations_given": len(pick_all),
                        "conversations_test": len(pick_test),
                        "given_n": given,
                        "estimated_n_test": estimated,
                    }
                )
    # how many speakers the estimate found, on the test half
    found = []
    for run in test:
        conv = run.conversation
        result = diarize(conv.audio, run.whisper_spans, cached, replace(base, threshold=best))
        found.append((len(conv.speakers), len(result.speakers)))
    counts = sorted({g for _, g in found})
    results["estimated_counts"] = {
        str(k): {str(f): sum(t == k and g == f for t, g in found) for f in counts} for k in (2, 3)
    }
    audio_s = sum(r.conversation.duration for r in runs)
    tw, tc = sum(r.transcribe_wall for r in runs), sum(r.transcribe_cpu for r in runs)
    dw, dc = sum(r.diarize_wall for r in runs), sum(r.diarize_cpu for r in runs)
    results["cost"] = {
        "audio_s": round(audio_s, 1),
        "transcribe_wall_s": round(tw, 1),
        "transcribe_cpu_s": round(tc, 1),
        "diarize_wall_s": round(dw, 1),
        "diarize_cpu_s": round(dc, 1),
        "ratio_wall": round(dw / tw, 3),
        "ratio_cpu": round(dc / tc, 3),
    }
    _print(results, len(runs), audio_s)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _print(results: dict[str, Any], conversations: int, audio_s: float) -> None:
    print(f"{conversations} conversations, {audio_s / 60:.1f} min of audio")
    print(f"estimation threshold (dev half): {results['threshold']}")
    print(
        "DER % (missed / false alarm / confusion); given N: all conversations; "
        "estimated N: test half"
    )
    head = f"{'spk':>3} {'kind':<6} {'spans':<8} {'collar':<7} {'given N':>26} {'est. N':>26}"
    print(head)
    for row in results["table"]:
        for collar in ("collar", "no_collar"):
            cells = []
            for key in ("given_n", "estimated_n_test"):
                d = row[key][collar]
                parts = f"{d['missed']:4.1f}/{d['false_alarm']:4.1f}/{d['confusion']:4.1f}"
                cells.append(f"{d['der']:5.1f} ({parts})")
            label = "0.25" if collar == "collar" else "none"
            print(
                f"{row['speakers']:>3} {row['kind']:<6} {row['spans']:<8} {label:<7} "
                f"{cells[0]:>26} {cells[1]:>26}   "
                f"n={row['conversations_given']}/{row['conversations_test']}"
            )
    print(
        "speakers found when estimating (test half; true number: {found: conversations}): "
        f"{results['estimated_counts']}"
    )
    c = results["cost"]
    print(
        f"cost: transcription {c['transcribe_wall_s']} s wall / {c['transcribe_cpu_s']} s CPU, "
        f"diarization {c['diarize_wall_s']} s wall / {c['diarize_cpu_s']} s CPU for "
        f"{c['audio_s']} s of audio: ratio {c['ratio_wall']} (wall), {c['ratio_cpu']} (CPU)"
    )


if __name__ == "__main__":
    main()
