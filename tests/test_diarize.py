"""Diarization (pipeline/diarize.py) and the speaker encoder's loader (models/speakers.py).

Fast tests run the stage on made-up audio whose samples say who speaks (a fake encoder
turns a window into the mixture of its speakers' voice vectors) and the clustering and
labelling on synthetic vectors. The slow tests load the real GE2E encoder and label the
committed two-voice interview (tests/data/two_speakers.ogg, espeak-ng; see
tests/data/make_two_speakers.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import models.speakers as speakers_module
from models import ModelError
from models.errors import MissingDependencyError
from models.speakers import GE2EEncoder, SpeakerEncoder, load_speaker_encoder
from pipeline.audio import SAMPLE_RATE, decode_audio, spool_audio
from pipeline.diarize import (
    DiarizeOptions,
    assign_voices,
    cluster_voices,
    diarize,
)
from pipeline.errors import PipelineError

DATA = Path(__file__).parent / "data"
RATE = SAMPLE_RATE


class CodeEncoder:
    """A stand-in speaker encoder for audio made by :func:`conversation`: each sample's
    value is its speaker's code (0.1, 0.2, ...; 0 is silence), so a window's vector is
    the mixture of its speakers' fixed voice vectors, plus a little noise that depends on
    the window's samples (as a real encoder's would)."""

    name = "fake-code"
    dim = 16
    sample_rate = RATE

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        voices = rng.normal(size=(6, self.dim))
        self.voices = voices / np.linalg.norm(voices, axis=1, keepdims=True)
        self.calls: list[int] = []

    def embed(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        self.calls.append(len(windows))
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        for i, w in enumerate(windows):
            codes = np.rint(np.abs(w) * 10).astype(int)
            counts = np.bincount(codes[codes > 0], minlength=7)[1:7]
            seed = int(np.abs(w[:: max(1, len(w) // 50)]).sum() * 1e6) % (2**32)
            noise = np.random.default_rng(seed).normal(scale=0.15, size=self.dim)
            vector = counts @ self.voices / max(1, counts.sum()) + noise
            out[i] = vector / np.linalg.norm(vector)
        return out


def conversation(turns: Sequence[tuple[float, float, int]], total: float) -> np.ndarray:
    """Samples where each turn (start, end, speaker 1..6) holds its speaker's code."""
    audio = np.zeros(int(total * RATE), dtype=np.float32)
    for start, end, who in turns:
        audio[int(start * RATE) : int(end * RATE)] = 0.1 * who
    return audio


def same_up_to_names(found: Sequence[str], truth: Sequence[str]) -> bool:
    """True when ``found`` is ``truth`` with its labels renamed one-to-one."""
    pairs = set(zip(found, truth, strict=True))
    return len(pairs) == len({f for f, _ in pairs}) == len({t for _, t in pairs})


# --- fast: the stage with a stand-in encoder ---------------------------------------------

TURNS = [(0.5, 6.0, 1), (6.5, 12.0, 2), (12.5, 15.0, 1), (15.5, 22.0, 2), (22.5, 27.0, 1)]


@pytest.mark.parametrize("speakers", [2, None])
def test_each_span_gets_its_speaker_named_in_order_of_first_appearance(speakers):
    audio = conversation(TURNS, 28.0)
    spans = [(a, b) for a, b, _ in TURNS]
    result = diarize(audio, spans, CodeEncoder(), DiarizeOptions(speakers=speakers))
    assert [s.speaker for s in result.spans] == ["S1", "S2", "S1", "S2", "S1"]
    assert result.speakers == ("S1", "S2")
    assert [(s.start, s.end) for s in result.spans] == spans
    assert all(len(s.turns) == 1 for s in result.spans)


def test_three_speakers_are_estimated_and_named_by_first_appearance():
    turns = [(0, 5, 3), (5.5, 10, 1), (10.5, 16, 2), (16.5, 21, 1), (21.5, 26, 3), (26.5, 30, 2)]
    audio = conversation(turns, 31.0)
    result = diarize(audio, [(a, b) for a, b, _ in turns], CodeEncoder(), DiarizeOptions())
    assert [s.speaker for s in result.spans] == ["S1", "S2", "S3", "S2", "S1", "S3"]


def test_a_span_holding_two_voices_is_cut_into_turns_near_the_change():
    """A Whisper segment can hold a question and the start of its answer."""
    audio = conversation([(0.0, 7.0, 1), (7.0, 16.0, 2), (16.5, 22.0, 1)], 23.0)
    spans = [(0.0, 16.0), (16.5, 22.0)]
    result = diarize(audio, spans, CodeEncoder(), DiarizeOptions(speakers=2))
    first = result.spans[0]
    assert [t.speaker for t in first.turns] == ["S1", "S2"]
    assert first.turns[0].start == 0.0 and first.turns[-1].end == 16.0
    assert abs(first.turns[0].end - 7.0) <= 0.75
    assert first.turns[0].end == first.turns[1].start
    assert first.speaker == "S2"  # 9 s of the second voice against 7 of the first
    assert result.spans[1].speaker == "S1"
    flat = result.turns()
    assert [t.speaker for t in flat] == ["S2" if i == 1 else "S1" for i in range(3)]


def test_a_short_span_is_labelled_by_its_voice_not_its_neighbours():
    """A backchannel ('sí', half a second) between two turns of the other voice."""
    turns = [(0.0, 8.0, 1), (8.3, 8.8, 2), (9.0, 15.0, 1), (15.5, 22.0, 2)]
    audio = conversation(turns, 23.0)
    result = diarize(audio, [(a, b) for a, b, _ in turns], CodeEncoder(), DiarizeOptions())
    assert [s.speaker for s in result.spans] == ["S1", "S2", "S1", "S2"]


def test_spans_outside_the_audio_or_empty_take_a_neighbours_voice():
    audio = conversation([(0.0, 6.0, 1), (6.5, 12.0, 2)], 12.0)
    spans = [(0.0, 6.0), (6.5, 12.0), (3.0, 3.0), (12.5, 14.0)]
    result = diarize(audio, spans, CodeEncoder(), DiarizeOptions())
    assert [s.speaker for s in result.spans] == ["S1", "S2", "S1", "S2"]
    assert result.spans[3].turns[0].start == 12.5


def test_no_spans_and_one_speaker():
    audio = conversation(TURNS, 28.0)
    empty = diarize(audio, [], CodeEncoder(), DiarizeOptions())
    assert empty.spans == () and empty.speakers == ("S1",)
    encoder = CodeEncoder()
    one = diarize(audio, [(a, b) for a, b, _ in TURNS], encoder, DiarizeOptions(speakers=1))
    assert {s.speaker for s in one.spans} == {"S1"} and encoder.calls == []  # nothing to embed


def test_spooled_audio_read_in_blocks_gives_the_same_labels(tmp_path):
    """A long recording is read a block at a time: the result does not depend on it."""
    audio = conversation(TURNS, 28.0)
    wav = tmp_path / "conversation.wav"
    _write_wav(wav, audio)
    spooled = spool_audio(wav, tmp_path / "spool.pcm")
    spans = [(0.0, 14.0), (15.0, 27.0)]  # long spans, two voices in each
    whole = diarize(audio, spans, CodeEncoder(), DiarizeOptions(speakers=2))
    encoder = CodeEncoder()
    blocks = diarize(spooled, spans, encoder, DiarizeOptions(speakers=2, read_seconds=2.0, batch=4))
    assert [[t.speaker for t in s.turns] for s in blocks.spans] == [
        [t.speaker for t in s.turns] for s in whole.spans
    ]
    assert max(encoder.calls) <= 4


def _write_wav(path: Path, audio: np.ndarray) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((audio * 32767).astype("<i2").tobytes())


@pytest.mark.parametrize(
    "options",
    [
        DiarizeOptions(window=0.0),
        DiarizeOptions(hop=2.0, window=1.5),
        DiarizeOptions(speakers=0),
        DiarizeOptions(max_speakers=0),
    ],
)
def test_bad_options_are_refused_clearly(options):
    with pytest.raises(PipelineError, match="diarization|speakers"):
        diarize(np.zeros(RATE, dtype=np.float32), [(0.0, 1.0)], CodeEncoder(), options)


def test_a_span_ending_before_it_starts_is_refused():
    with pytest.raises(PipelineError, match="start <= end"):
        diarize(np.zeros(RATE, dtype=np.float32), [(0.8, 0.2)], CodeEncoder())


# --- fast: clustering and labelling on synthetic voice vectors ---------------------------


def _voices(counts: Sequence[int], spread: float = 0.25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(counts), 32))
    rows = [centres[k] + rng.normal(scale=spread, size=(n, 32)) for k, n in enumerate(counts)]
    x = np.vstack(rows)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("counts", [[20, 15], [12, 30, 9], [8, 8, 8, 8]])
def test_clustering_finds_the_number_of_voices(counts):
    vectors = _voices(counts)
    weights = np.full(len(vectors), 1.5)
    centroids = cluster_voices(vectors, weights, DiarizeOptions())
    assert len(centroids) == len(counts)
    labels = np.argmax(vectors @ centroids.T, axis=1)
    truth = np.repeat(np.arange(len(counts)), counts)
    assert same_up_to_names(list(labels), list(truth))


def test_a_given_number_of_voices_is_kept():
    vectors = _voices([20, 15, 10])
    centroids = cluster_voices(vectors, np.full(45, 1.5), DiarizeOptions(speakers=3))
    assert len(centroids) == 3
    merged = cluster_voices(vectors, np.full(45, 1.5), DiarizeOptions(speakers=2))
    assert len(merged) == 2


def test_one_odd_window_is_not_a_speaker_when_estimating():
    vectors = np.vstack([_voices([20, 20]), _voices([1], seed=5)])
    centroids = cluster_voices(vectors, np.full(41, 1.5), DiarizeOptions(min_speaker=3.0))
    assert len(centroids) == 2


def test_a_long_recording_is_clustered_on_a_sample_of_its_windows():
    """Two hours are ~9,600 windows: all pairwise distances would not fit in memory."""
    vectors = _voices([3000, 1500, 500])
    weights = np.full(len(vectors), 0.75)
    centroids = cluster_voices(vectors, weights, DiarizeOptions(cluster_sample=300))
    assert len(centroids) == 3
    labels = np.argmax(vectors @ centroids.T, axis=1)
    assert same_up_to_names(list(labels), list(np.repeat([0, 1, 2], [3000, 1500, 500])))


def test_an_estimate_never_exceeds_max_speakers():
    vectors = _voices([6] * 6, spread=0.1)
    centroids = cluster_voices(vectors, np.full(36, 1.5), DiarizeOptions(max_speakers=4))
    assert len(centroids) == 4


def test_assign_voices_uses_neighbouring_windows_and_names_by_first_heard():
    spans = [(0.0, 6.0), (6.0, 9.0)]
    windows = [(0, t, t + 1.5) for t in np.arange(0.0, 4.6, 0.75)] + [(1, 6.0, 7.5), (1, 7.5, 9.0)]
    # voice 1 (column 1) first, then voice 0; one window in the first span leans to voice 0,
    # its neighbours outvote it
    scores = np.array(
        [[0.1, 0.9], [0.2, 0.8], [0.6, 0.5], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.3, 0.7]]
        + [[0.9, 0.1], [0.8, 0.2]]
    )
    result = assign_voices(spans, windows, scores, DiarizeOptions())
    assert [s.speaker for s in result.spans] == ["S1", "S2"]
    assert [t.speaker for t in result.spans[0].turns] == ["S1"]
    assert result.speakers == ("S1", "S2")


def _one_span_with_an_intrusion(min_turn: float):
    """A 9-s span whose windows 5 and 6 (of 11) favour the other voice: a 1.5-s run."""
    windows = [(0, t, t + 1.5) for t in np.arange(0.0, 7.6, 0.75)]
    scores = np.array([[0.9, 0.1]] * len(windows))
    scores[5], scores[6] = [0.0, 1.0], [0.3, 0.9]
    return assign_voices([(0.0, 9.0)], windows, scores, DiarizeOptions(min_turn=min_turn))


def test_a_run_of_at_least_min_turn_is_a_turn_cut_between_window_centres():
    turns = _one_span_with_an_intrusion(1.0).spans[0].turns
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.0, 4.12, "S1"),  # halfway between the centres of windows 4 and 5 (4.125)
        (4.12, 5.62, "S2"),
        (5.62, 9.0, "S1"),
    ]


def test_a_change_shorter_than_min_turn_is_not_a_turn():
    result = _one_span_with_an_intrusion(2.0)
    assert [(t.start, t.end, t.speaker) for t in result.spans[0].turns] == [(0.0, 9.0, "S1")]
    assert result.spans[0].speaker == "S1"


# --- the encoder's loader ----------------------------------------------------------------


def test_an_unknown_encoder_is_a_model_error():
    with pytest.raises(ModelError, match="unknown speaker encoder 'nope'"):
        load_speaker_encoder("nope")


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(speakers_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match="pip install resemblyzer"):
        GE2EEncoder()


def test_weights_of_another_version_are_refused(monkeypatch):
    monkeypatch.setattr(speakers_module, "GE2E_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="damaged or of another version"):
        GE2EEncoder()


# --- slow: the real encoder on the committed two-voice interview -------------------------


@pytest.fixture(scope="module")
def interview():
    meta = json.loads((DATA / "two_speakers.json").read_text(encoding="utf-8"))
    audio = decode_audio(DATA / "two_speakers.ogg")
    return (
        audio,
        [(t["start"], t["end"]) for t in meta["turns"]],
        [t["speaker"] for t in meta["turns"]],
    )


@pytest.fixture(scope="module")
def ge2e() -> SpeakerEncoder:
    return load_speaker_encoder("ge2e")


@pytest.mark.slow
def test_ge2e_tells_two_voices_apart(interview, ge2e):
    audio, spans, truth = interview
    assert isinstance(ge2e, SpeakerEncoder) and ge2e.dim == 256
    a0, a1 = (int(x * RATE) for x in spans[0])
    b0, b1 = (int(x * RATE) for x in spans[1])
    d0, d1 = (int(x * RATE) for x in spans[2])
    v = ge2e.embed([audio[a0 : a0 + 24000], audio[b0 : b0 + 24000], audio[d0 : d0 + 24000]])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    same, other = float(v[0] @ v[2]), float(v[0] @ v[1])
    assert same > other + 0.1, (same, other)


@pytest.mark.slow
@pytest.mark.parametrize("speakers", [2, None])
def test_each_turn_of_the_interview_gets_its_speaker(interview, ge2e, speakers):
    audio, spans, truth = interview
    result = diarize(audio, spans, ge2e, DiarizeOptions(speakers=speakers))
    found = [s.speaker for s in result.spans]
    assert result.speakers == ("S1", "S2")
    assert same_up_to_names(found, truth), (found, truth)
    assert found[0] == "S1"


@pytest.mark.slow
def test_a_question_and_its_answer_in_one_span_are_two_turns(interview, ge2e):
    audio, spans, truth = interview
    joined = [(spans[0][0], spans[1][1]), *spans[2:]]  # turns 1 and 2 as one segment
    result = diarize(audio, joined, ge2e, DiarizeOptions(speakers=2))
    first = result.spans[0]
    assert [t.speaker for t in first.turns] == ["S1", "S2"]
    change = (spans[0][1] + spans[1][0]) / 2
    assert abs(first.turns[0].end - change) <= 1.0, (first.turns, change)
    labels = [s.speaker for s in result.spans]
    assert same_up_to_names(labels[1:], truth[2:]) and labels[1] == "S1", labels
