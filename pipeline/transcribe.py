"""Speech to timestamped text with faster-whisper.

Language: forced when the user knows it (``--language es``: measurably more accurate),
otherwise detected on the speech (voice-activity detection first) and chosen among the
archive's candidate languages. Whisper's unrestricted guess on short or synthetic speech
can be far off ("ja" for Andean Spanish was seen); restricting it to the languages an
archive actually holds removes that failure while keeping the probability honest.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpus import Segment
from corpus.records import Word

from .audio import SAMPLE_RATE, SpooledAudio
from .errors import PipelineError

__all__ = [
    "DOUBT_BELOW",
    "Checkpoint",
    "TranscribeOptions",
    "Transcript",
    "detect_language",
    "doubtful",
    "plan_chunks",
    "transcribe",
]

logger = logging.getLogger(__name__)

#: 16 kHz mono audio: in memory, or spooled to disk and read a slice at a time.
Samples = np.ndarray | SpooledAudio


#: Language detection looks at the first minutes of a recording only.
DETECTION_SECONDS = 180.0

#: A word whose Whisper probability is below this is marked for review (doubtful): the
#: threshold that caught the most wrong words while marking at most 15 % of all words,
#: measured by bench/word_doubt.py (words aligned to the reference; wrong = substituted
#: or inserted; Whisper base int8, TranscribeOptions() defaults). On the 11 real clips of
#: ../shared/data/audio (258 words, 22 wrong): 68 % of wrong words caught (15/22, 95 %
#: Wilson interval 47-84 %) with 14.7 % of words marked, 40 % of marked words wrong; the
#: same leaving each clip out of the choice. On the four 7-minute recordings of
#: bench/make_long.py (issue 29's kind and the default; 3,227 words, 278 wrong, but made
#: of those clips repeated, so errors repeat too): 57 % caught (51-63 %), 14.5 % marked.
#: The goal of 60 % caught at 15 % marked holds on the clips and not on the recordings:
#: too few independent errors to say more. Both sets chose 0.77-0.78.
DOUBT_BELOW = 0.78


def doubtful(word: Word) -> bool:
    """Whether a reviewer should check ``word`` (its probability is below DOUBT_BELOW)."""
    return word.probability < DOUBT_BELOW


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None  # ISO 639-1 code, or None to detect
    candidates: tuple[str, ...] = ("es", "en")  # languages detection may choose; () = any
    beam_size: int = 5
    vad: bool = True
    detection_segments: int = 3  # 30-s windows of speech used to detect the language
    condition_on_previous_text: bool = False  # False stops one bad window derailing the rest
    # >0: faster-whisper's BatchedInferencePipeline decodes this many VAD chunks (<= 30 s
    # of speech each) at once, with word times (sentences are cut at their words' times);
    # 0: one 30-s window after another (faster-whisper's default path). 8 measured 1.8x
    # the speed of faster-whisper's defaults at the same WER on 14 min of real speech
    # (bench/transcribe.py on bench/make_long.py recordings); 16 was no faster
    batch_size: int = 8
    # sequential decoding: word times and probabilities too (batched: always). On so
    # that every path gives words; it cost the sequential path 15 % more CPU time (69.5
    # against 60.5 s) and moved its WER 9.1 -> 10.3 % (faster-whisper seeks by word times
    # then) on the two 7-minute bench/make_long.py recordings (bench/transcribe.py,
    # "sequential" against "sequential-nowords"). Batched decoding is the default.
    word_timestamps: bool = True
    # bring each stretch of speech to one loudness before Whisper hears it (VAD on):
    # a quiet voice beside a loud one in a 30-s window was skipped (models.whisper.level_speech)
    level: bool = True
    # recordings longer than 1.5x this are transcribed in chunks of about this length, cut
    # at the quietest moment near each boundary; each finished chunk can be checkpointed.
    # faster-whisper's batched pipeline holds about 2 MB per second of the audio it is given
    # (+143 MB for 60 s, +617 MB for 300 s, batch 8); 240 s still fills a batch of 8
    # 30-s windows
    chunk_seconds: float = 240.0

    def key(self, language: str) -> str:
        """What a checkpoint's segments depend on (a resumed run must decode alike)."""
        return json.dumps(
            [language, self.beam_size, self.vad, self.batch_size, self.word_timestamps,
             self.chunk_seconds, self.condition_on_previous_text, self.level,
             "words"]  # checkpoint rows carry words (before issue 29 they did not)
        )  # fmt: skip


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float | None  # None when the language was forced
    duration: float
    segments: Iterator[Segment] = field(repr=False)  # streams: consumed once


def detect_language(model: Any, audio: np.ndarray, options: TranscribeOptions) -> tuple[str, float]:
    """Most probable language of the speech in ``audio`` among ``options.candidates``."""
    try:
        _, _, probabilities = model.detect_language(
            audio,
            vad_filter=options.vad,
            language_detection_segments=options.detection_segments,
        )
    except (RuntimeError, ValueError) as exc:
        raise PipelineError(f"language detection failed: {exc}") from exc
    ranked = sorted(probabilities, key=lambda lp: -lp[1])
    allowed = [lp for lp in ranked if not options.candidates or lp[0] in options.candidates]
    if not allowed:
        return ranked[0][0], float(ranked[0][1])
    total = sum(p for _, p in allowed) or 1.0
    language, probability = allowed[0]
    if ranked[0][0] != language:
        logger.info(
            "Whisper's first guess was %r (p=%.2f); choosing %r among %s",
            ranked[0][0],
            ranked[0][1],
            language,
            options.candidates,
        )
    return language, float(probability) / total


class Checkpoint:
    """The finished chunks of one recording's transcription, on disk, so that a
    transcription interrupted by a crash, a kill or a power cut resumes from its last
    finished chunk. One JSON line per chunk, appended and fsynced; a line cut short by a
    crash is ignored. A checkpoint made with other options is discarded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[str, str, float | None, dict[int, list[Segment]]] | None:
        """(options key, language, probability, segments per finished chunk), or None."""
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except OSError:
            return None
        try:
            head = json.loads(lines[0])
        except (IndexError, ValueError):
            return None
        done: dict[int, list[Segment]] = {}
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except ValueError:
                break  # cut short by a crash: the chunk is decoded again
            done[int(row["chunk"])] = [_segment_from_row(s) for s in row["segments"]]
        return head["key"], head["language"], head["probability"], done

    def _append(self, row: dict[str, Any], fresh: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w" if fresh else "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def begin(self, key: str, language: str, probability: float | None) -> None:
        self._append({"key": key, "language": language, "probability": probability}, True)

    def add(self, chunk: int, segments: list[Segment]) -> None:
        rows = [
            [s.start, s.end, s.text, [[w.start, w.end, w.text, w.probability] for w in s.words]]
            for s in segments
        ]
        self._append({"chunk": chunk, "segments": rows})

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _segment_from_row(row: list[Any]) -> Segment:
    """A checkpoint's ``[start, end, text, [[start, end, text, probability], ...]]``."""
    words = tuple(Word(*w) for w in row[3]) if len(row) > 3 else ()
    return Segment(row[0], row[1], row[2], words)


def _frame_energy(audio: Samples, frame: int) -> np.ndarray:
    """RMS of each whole ``frame`` of samples, read a minute at a time (so spooled
    audio is never in memory whole, and no squared copy of hours of audio is made)."""
    usable = len(audio) // frame * frame
    block = frame * (60 * SAMPLE_RATE // frame)
    parts = [np.zeros(0, dtype=np.float32)]
    for a in range(0, usable, block):
        frames = audio[a : min(a + block, usable)].reshape(-1, frame)
        parts.append(np.sqrt(np.einsum("ij,ij->i", frames, frames) / frame))
    return np.concatenate(parts)


def plan_chunks(audio: Samples, chunk_seconds: float) -> list[tuple[int, int]]:
    """Sample ranges covering ``audio``: one range when it is under 1.5 chunks, else
    chunks of about ``chunk_seconds`` cut at the quietest 0.5 s within 30 s of each
    boundary (so no word is cut in two)."""
    total = len(audio)
    size = int(chunk_seconds * SAMPLE_RATE)
    if size <= 0 or total < 1.5 * size:
        return [(0, total)]
    frame = SAMPLE_RATE // 10  # 100 ms
    energy = _frame_energy(audio, frame)
    quiet = np.convolve(energy, np.ones(5) / 5, mode="same")  # 0.5 s windows
    cuts = [0]
    target = size
    while total - target > size // 2:
        lo = max(cuts[-1] // frame + 1, (target - 30 * SAMPLE_RATE) // frame)
        hi = min(len(quiet), (target + 30 * SAMPLE_RATE) // frame)
        cut = (lo + int(np.argmin(quiet[lo:hi]))) * frame if hi > lo else target
        cuts.append(cut)
        target = cut + size
    return list(zip(cuts, [*cuts[1:], total], strict=True))


def transcribe(
    model: Any,
    audio: Samples,
    options: TranscribeOptions,
    checkpoint: Checkpoint | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono ``audio``. Segments are produced lazily, as decoding runs,
    and only one chunk of a long recording is read into memory at a time (from disk when
    ``audio`` is spooled); with a ``checkpoint``, finished chunks are kept and a later
    call resumes after them."""
    duration = len(audio) / SAMPLE_RATE
    saved = checkpoint.load() if checkpoint is not None else None
    done: dict[int, list[Segment]] = {}
    if saved is not None and saved[0] == options.key(options.language or saved[1]):
        _, language, probability, done = saved
        if options.language and options.language != language:
            done = {}
    if not done:
        if options.language:
            language, probability = options.language, None
        else:
            # detection reads a few 30-s windows of speech, found in the first minutes:
            # VAD over hours of audio only to find them is wasted work
            head = audio[: int(DETECTION_SECONDS * SAMPLE_RATE)]
            language, probability = detect_language(model, head, options)
        if checkpoint is not None:
            checkpoint.begin(options.key(language), language, probability)
    chunks = plan_chunks(audio, options.chunk_seconds)

    def segments() -> Iterator[Segment]:
        last_end = 0.0
        for number, (a, b) in enumerate(chunks):
            if number in done:
                decoded: Iterator[Segment] = iter(done[number])
            else:
                decoded = _decode(model, audio[a:b], a / SAMPLE_RATE, language, options)
            fresh: list[Segment] = []
            for segment in decoded:
                fresh.append(segment)
                # monotonic and inside the recording, whatever the decoder returned
                start = min(max(segment.start, last_end), duration)
                end = min(max(segment.end, start), duration)
                last_end = end
                yield Segment(
                    start=round(start, 2),
                    end=round(end, 2),
                    text=segment.text,
                    words=_words_inside(segment.words, start, end),
                )
            if checkpoint is not None and number not in done:
                checkpoint.add(number, fresh)

    return Transcript(language, probability, duration, segments())


def _words_inside(words: tuple[Word, ...], start: float, end: float) -> tuple[Word, ...]:
    """``words`` clamped inside ``start``..``end``, each starting no earlier than the
    previous one ends, rounded like segment times (rounding keeps the order)."""
    out: list[Word] = []
    last = start
    for word in words:
        a = min(max(word.start, last), end)
        b = min(max(word.end, a), end)
        last = b
        out.append(Word(round(a, 2), round(b, 2), word.text, word.probability))
    return tuple(out)


def _levelled(audio: np.ndarray, options: TranscribeOptions) -> np.ndarray:
    """``audio`` with each stretch of speech at one loudness (models.whisper.level_speech);
    as it is when levelling is off, or VAD is (then nothing says where speech is)."""
    if not options.level or not (options.vad or options.batch_size > 0):
        return audio
    from models.whisper import level_speech

    return level_speech(audio)


def _decode(
    model: Any, audio: np.ndarray, offset: float, language: str, options: TranscribeOptions
) -> Iterator[Segment]:
    """Segments of one chunk, times from the start of the recording."""
    try:
        audio = _levelled(np.asarray(audio, dtype=np.float32), options)
        if options.batch_size > 0:
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            # a stand-in model (tests) takes the batched call's options itself
            batched = BatchedInferencePipeline(model) if isinstance(model, WhisperModel) else model
            # Batched decoding needs speech chunks: VAD is always on here. Each chunk
            # (up to 30 s of speech) comes back as one segment, so word times are always
            # asked for, and sentences are cut at their own words' times. (Asking Whisper
            # for its timestamp tokens instead, without_timestamps=False, lost words at
            # chunk ends: WER 0.145 against 0.102 greedy on the 7-minute Spanish
            # recording of bench/make_long.py.)
            raw, _info = batched.transcribe(
                audio,
                language=language,
                beam_size=options.beam_size,
                batch_size=options.batch_size,
                vad_filter=True,
                without_timestamps=True,
                word_timestamps=True,
                condition_on_previous_text=False,
            )
        else:
            raw, _info = model.transcribe(
                audio,
                language=language,
                beam_size=options.beam_size,
                vad_filter=options.vad,
                condition_on_previous_text=options.condition_on_previous_text,
                word_timestamps=options.word_timestamps,
            )
        for s in raw:
            for start, end, text, words in _sentences(s):
                if text:
                    yield Segment(
                        start=start + offset,
                        end=end + offset,
                        text=text,
                        words=tuple(
                            Word(w.start + offset, w.end + offset, w.text, w.probability)
                            for w in words
                        ),
                    )
    except (RuntimeError, ValueError) as exc:
        raise PipelineError(f"transcription failed: {exc}") from exc


Sentence = tuple[float, float, str, tuple[Word, ...]]

_SENTENCE_END = (".", "?", "!", "…", "。")


def _sentences(segment: Any) -> list[Sentence]:
    """A decoded segment cut into sentences at the times of their own words (a batched
    segment can hold 30 s of speech: several sentences, which passages group again),
    each with its words; a segment without word times is one sentence without words."""
    words = list(getattr(segment, "words", None) or [])
    if not words:
        return [(float(segment.start), float(segment.end), segment.text.strip(), ())]
    out: list[Sentence] = []
    current: list[Any] = []
    for word in words:
        current.append(word)
        if word.word.strip().endswith(_SENTENCE_END):
            out.append(_joined(current))
            current = []
    if current:
        out.append(_joined(current))
    return out


def _joined(words: list[Any]) -> Sentence:
    kept = tuple(
        Word(float(w.start), float(w.end), w.word.strip(), round(float(w.probability), 3))
        for w in words
        if w.word.strip()
    )
    text = " ".join("".join(w.word for w in words).split())
    return float(words[0].start), float(words[-1].end), text, kept
