"""Every transcribed segment carries its words (times, text, Whisper's probability): times
monotonic and inside the segment, kept by chunk checkpoints and by passages; doubtful
words are those under one documented threshold; quiet speech reaches Whisper as loud as
the rest."""

import importlib
import inspect
import json
import re

import numpy as np
import pytest

from corpus import Segment
from corpus.records import Word
from pipeline import PipelineError
from pipeline.audio import SAMPLE_RATE, decode_audio
from pipeline.passages import PassageOptions, group_segments
from pipeline.transcribe import (
    DOUBT_BELOW,
    Checkpoint,
    TranscribeOptions,
    doubtful,
    plan_chunks,
    transcribe,
)

from .conftest import DATA
from .fakes import FakeWhisper, FakeWhisperSegment, FakeWhisperWord

# Whisper's own output is not always tidy: a word starting before the previous one ends,
# a word running past its segment, a blank word, a sentence end inside a segment.
MESSY = [
    (
        0.0,
        4.0,
        " El río está. Contaminado",
        [
            (0.1, 0.5, " El", 0.9),
            (0.4, 0.9, " río", 0.2),  # starts before "El" ends
            (0.9, 1.4, " está.", 0.8),
            (1.6, 4.6, " Contaminado", 0.7),  # ends after the segment
        ],
    ),
    (3.5, 6.0, " por la mina.", [(3.5, 4.0, " por", 0.95), (4.0, 4.2, " ", 0.1),
                                 (4.2, 4.6, " la", 0.9), (4.6, 6.5, " mina.", 0.4)]),
]  # fmt: skip


def _check_words(segments: list[Segment]) -> None:
    for s in segments:
        assert s.words, s
        assert all(s.start <= w.start <= w.end <= s.end for w in s.words), s
        assert all(a.end <= b.start for a, b in zip(s.words, s.words[1:], strict=False)), s
        assert all(w.text == w.text.strip() and w.text for w in s.words), s
        assert all(0.0 <= w.probability <= 1.0 for w in s.words), s


@pytest.mark.parametrize("batch_size", [8, 0])
def test_words_are_monotonic_and_inside_their_segment(batch_size):
    whisper = FakeWhisper(MESSY)
    options = TranscribeOptions(language="es", batch_size=batch_size)
    segments = list(transcribe(whisper, np.zeros(7 * SAMPLE_RATE), options).segments)
    _check_words(segments)
    # sentences are cut at their words, and each keeps its own words
    assert [s.text for s in segments] == ["El río está.", "Contaminado", "por la mina."]
    assert [[w.text for w in s.words] for s in segments] == [
        ["El", "río", "está."],
        ["Contaminado"],
        ["por", "la", "mina."],
    ]
    assert [w.probability for s in segments for w in s.words] == [
        0.9, 0.2, 0.8, 0.7, 0.95, 0.9, 0.4
    ]  # fmt: skip
    assert segments[1].end == 4.6 and segments[2].start == 4.6  # monotonic across segments
    # the sequential path asks faster-whisper for word times by default
    if batch_size == 0:
        assert whisper.calls[0]["word_timestamps"] is True


def test_segments_without_word_times_have_no_words():
    whisper = FakeWhisper([(0.0, 2.0, " Sin palabras.")])
    options = TranscribeOptions(language="es", batch_size=0, word_timestamps=False)
    [segment] = transcribe(whisper, np.zeros(3 * SAMPLE_RATE), options).segments
    assert segment == Segment(0.0, 2.0, "Sin palabras.")
    assert whisper.calls[0]["word_timestamps"] is False


class WordyChunkWhisper:
    """Per 5 s of the audio it is given, a segment of three words whose times run a
    little over (as Whisper's do); can be told to fail on its n-th call."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def detect_language(self, audio, **_):
        return "es", 0.9, [("es", 0.9), ("en", 0.1)]

    def transcribe(self, audio, language=None, **kwargs):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("worker killed")
        length = len(audio) / SAMPLE_RATE
        out = []
        for n, s in enumerate(np.arange(0.0, length, 5.0)):
            e = min(s + 5.0, length)
            words = [
                FakeWhisperWord(s + 0.2, s + 1.7, f" uno{n}", 0.91),
                FakeWhisperWord(s + 1.5, s + 3.0, f" dos{n}", 0.32),
                FakeWhisperWord(s + 3.1, e + 0.4, f" tres{n}.", 0.77),
            ]
            out.append(FakeWhisperSegment(s, e, f" uno{n} dos{n} tres{n}.", words))
        return iter(out), None


def _speech_with_pauses(seconds: int, pause_every: int = 7) -> np.ndarray:
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, seconds * SAMPLE_RATE).astype(np.float32)
    for at in range(pause_every, seconds, pause_every):
        audio[at * SAMPLE_RATE : (at + 1) * SAMPLE_RATE] *= 0.001
    return audio


def test_checkpoints_keep_the_words_and_a_resumed_run_gives_them_back(tmp_path):
    audio = _speech_with_pauses(130)
    options = TranscribeOptions(chunk_seconds=30.0)
    whole = list(transcribe(WordyChunkWhisper(), audio, options).segments)
    _check_words(whole)
    checkpoint = Checkpoint(tmp_path / "partial.jsonl")
    with pytest.raises(PipelineError, match="worker killed"):
        list(transcribe(WordyChunkWhisper(fail_on_call=3), audio, options, checkpoint).segments)
    rows = [json.loads(line) for line in checkpoint.path.read_text("utf-8").splitlines()[1:]]
    assert len(rows) == 2 and all(len(s[3]) == 3 for row in rows for s in row["segments"])
    again = WordyChunkWhisper()
    resumed = list(transcribe(again, audio, options, checkpoint).segments)
    assert again.calls == len(plan_chunks(audio, 30.0)) - 2  # two chunks came from disk
    assert resumed == whole  # words included: Segment equality compares them


def test_passages_keep_their_segments_words_in_order():
    def seg(start, end, text):
        words = text.split()
        step = (end - start) / len(words)
        return Segment(
            start,
            end,
            text,
            tuple(
                Word(start + i * step, start + (i + 1) * step, w, 0.5) for i, w in enumerate(words)
            ),
        )

    segments = [
        seg(0.0, 2.0, "Hola, me llamo"),
        seg(2.0, 4.5, "Rosa y vivo en Choropampa."),
        Segment(4.5, 5.0, "  "),
        seg(5.0, 9.0, "El mercurio se derramó en la carretera en el año dos mil."),
        seg(9.5, 11.0, "Nadie nos ayudó."),
    ]
    passages = list(group_segments(segments, PassageOptions(min_chars=40)))
    assert len(passages) >= 2
    assert [w for p in passages for w in p.words] == [w for s in segments for w in s.words]
    for p in passages:
        assert [w.text for w in p.words] == p.text.split()
        assert all(p.start <= w.start <= w.end <= p.end for w in p.words)


def test_the_doubt_threshold_is_one_documented_constant():
    assert 0.0 < DOUBT_BELOW < 1.0
    assert doubtful(Word(0.0, 0.1, "quizás", DOUBT_BELOW - 0.01))
    assert not doubtful(Word(0.0, 0.1, "seguro", DOUBT_BELOW))
    # the comment above the constant says how it was measured, and what it gives
    # (pipeline.transcribe is also the function pipeline re-exports: ask for the module)
    source = inspect.getsource(importlib.import_module("pipeline.transcribe"))
    comment = source[: source.index("DOUBT_BELOW =")].rsplit("\n\n", 1)[-1]
    assert "bench/word_doubt.py" in comment and re.search(r"\d+ ?%", comment), comment
    assert "PROVISIONAL" not in comment


# Real model (slow): words from Whisper base on the committed clips


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    from models.whisper import WhisperSpec, load_whisper

    return load_whisper(WhisperSpec(), tmp_path_factory.mktemp("model-cache"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["es_rio.ogg", "en_land.ogg"])
@pytest.mark.parametrize("batch_size", [8, 0])
def test_real_words_are_timed_inside_their_segments(whisper, fixture_clips, name, batch_size):
    clip = fixture_clips[name]
    options = TranscribeOptions(language=clip["language"], batch_size=batch_size)
    result = transcribe(whisper, decode_audio(DATA / name), options)
    segments = list(result.segments)
    _check_words(segments)
    words = [w for s in segments for w in s.words]
    assert all(a.end <= b.start for a, b in zip(words, words[1:], strict=False))
    assert words[-1].end <= result.duration
    for s in segments:
        assert " ".join(w.text for w in s.words) == s.text
    heard = {re.sub(r"\W", "", w.text.lower()) for w in words}
    assert len({w.lower() for w in clip["expected_words"]} - heard) <= 1, heard
