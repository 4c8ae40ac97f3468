"""Long recordings: chunks cut in silences, times monotonic and inside the recording, and
an interrupted transcription resuming after its last finished chunk."""

import numpy as np
import pytest

from pipeline import PipelineError
from pipeline.audio import SAMPLE_RATE
from pipeline.transcribe import Checkpoint, TranscribeOptions, plan_chunks, transcribe

from .fakes import FakeWhisperSegment


def _speech_with_pauses(seconds: int, pause_every: int = 7, seed: int = 0) -> np.ndarray:
    """Noise bursts ("speech") with 1-s near-silences every ``pause_every`` seconds."""
    rng = np.random.default_rng(seed)
    audio = rng.normal(0, 0.3, seconds * SAMPLE_RATE).astype(np.float32)
    for at in range(pause_every, seconds, pause_every):
        audio[at * SAMPLE_RATE : (at + 1) * SAMPLE_RATE] *= 0.001
    return audio


class ChunkWhisper:
    """One segment per 5 s of the audio it is given (times relative to that audio); can
    be told to fail on its n-th call, as a crash would."""

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
        starts = np.arange(0.0, length, 5.0)
        return (
            (FakeWhisperSegment(s, min(s + 5.0, length), f"{length:.1f}:{s:.0f}") for s in starts),
            None,
        )


def test_chunks_cover_the_audio_and_cut_in_silences():
    audio = _speech_with_pauses(200)
    chunks = plan_chunks(audio, 30.0)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    for _, end in chunks[:-1]:
        second = end / SAMPLE_RATE
        assert abs(second - round(second)) < 1 and int(second) % 7 in (0, 6), second
    assert plan_chunks(audio[: 40 * SAMPLE_RATE], 30.0) == [(0, 40 * SAMPLE_RATE)]
    assert len(plan_chunks(audio, 0)) == 1


def test_spooled_audio_is_chunked_and_transcribed_as_in_memory_audio(tmp_path):
    from pipeline.audio import SpooledAudio

    pcm = (_speech_with_pauses(200) * 32768).clip(-32768, 32767).astype("<i2")
    pcm.tofile(tmp_path / "a.pcm")
    spooled = SpooledAudio(tmp_path / "a.pcm", len(pcm))
    in_memory = spooled[:]
    assert plan_chunks(spooled, 30.0) == plan_chunks(in_memory, 30.0)
    assert len(plan_chunks(spooled, 30.0)) > 3
    options = TranscribeOptions(language="es", chunk_seconds=30.0)
    assert list(transcribe(ChunkWhisper(), spooled, options).segments) == list(
        transcribe(ChunkWhisper(), in_memory, options).segments
    )


def test_times_are_monotonic_and_inside_the_recording():
    audio = _speech_with_pauses(100)
    options = TranscribeOptions(language="es", chunk_seconds=30.0)
    segments = list(transcribe(ChunkWhisper(), audio, options).segments)
    assert len(segments) > 10
    assert all(s.start <= s.end <= 100.0 for s in segments)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(segments, segments[1:], strict=False))
    assert segments[-1].end == pytest.approx(100.0, abs=0.01)


def test_an_interrupted_transcription_resumes_after_its_last_finished_chunk(tmp_path):
    audio = _speech_with_pauses(130)
    options = TranscribeOptions(chunk_seconds=30.0)
    whole = [(s.start, s.end, s.text) for s in transcribe(ChunkWhisper(), audio, options).segments]
    checkpoint = Checkpoint(tmp_path / "partial.jsonl")
    crashing = ChunkWhisper(fail_on_call=3)  # dies in the third chunk
    with pytest.raises(PipelineError, match="worker killed"):
        list(transcribe(crashing, audio, options, checkpoint).segments)
    # a crash in the middle of writing leaves half a line: it is ignored
    with checkpoint.path.open("a") as out:
        out.write('{"chunk": 2, "segm')
    again = ChunkWhisper()
    resumed = transcribe(again, audio, options, checkpoint)
    assert (resumed.language, resumed.language_probability) == ("es", 0.9)
    got = [(s.start, s.end, s.text) for s in resumed.segments]
    assert got == whole
    chunks = len(plan_chunks(audio, 30.0))
    assert again.calls == chunks - 2  # the two finished chunks were not decoded again
    # other options: the checkpoint is not used
    other = ChunkWhisper()
    list(
        transcribe(
            other, audio, TranscribeOptions(chunk_seconds=30.0, beam_size=1), checkpoint
        ).segments
    )
    assert other.calls == chunks


def test_an_ingest_killed_mid_transcription_resumes_and_cleans_up(voces_home, rule_tagger):
    from pipeline import Archive, Metadata

    from .conftest import DATA, LOCAL
    from .fakes import HashEmbedder

    whisper = ChunkWhisper(fail_on_call=2)
    archive = Archive(
        voces_home,
        HashEmbedder(),
        rule_tagger,
        whisper=lambda: whisper,
        transcribe_options=TranscribeOptions(chunk_seconds=1.0),
    )
    with pytest.raises(PipelineError):
        archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(consent="public"), LOCAL)
    [partial] = (voces_home / "partial").glob("*.jsonl")
    assert not list((voces_home / "partial").glob("*.pcm"))  # the spooled audio is gone
    assert archive.store.counts(LOCAL)["testimonies"] == 0  # nothing half-stored
    whisper.fail_on_call = None
    calls = whisper.calls
    said: list[tuple[str, float | None]] = []
    [result] = archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(consent="public"),
        LOCAL,
        lambda m, f=None: said.append((m, f)),
    )
    assert result.status == "added"
    # progress a person can follow: position, length and the time left, fractions rising
    heard = [(m, f) for m, f in said if m.startswith("es_rio.ogg: ")]
    assert len(heard) >= 2 and "left)" in heard[-1][0]
    assert [f for _, f in heard] == sorted(f for _, f in heard)
    assert whisper.calls - calls < len(
        plan_chunks(np.zeros(int(result.duration * SAMPLE_RATE)), 1.0)
    )
    assert not partial.exists()
    assert not list((voces_home / "partial").iterdir())
    # killed between storing and cleaning up: the retry finds it stored and cleans up
    partial.write_text("{}\n")
    [again] = archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(consent="public"), LOCAL)
    assert again.status == "present" and not partial.exists()
    archive.close()


def test_a_folder_of_recordings_is_ingested_by_several_workers(voces_home, rule_tagger):
    import threading

    from pipeline import Archive, Metadata

    from .conftest import DATA, LOCAL
    from .fakes import HashEmbedder

    class TwoAtOnce(ChunkWhisper):
        """Proves two transcriptions overlap: each waits until the other has started."""

        def __init__(self):
            super().__init__()
            self.barrier = threading.Barrier(2, timeout=20)

        def transcribe(self, audio, language=None, **kwargs):
            self.barrier.wait()
            return super().transcribe(audio, language, **kwargs)

    whisper = TwoAtOnce()
    archive = Archive(
        voces_home, HashEmbedder(), rule_tagger, whisper=lambda: whisper, ingest_workers=2
    )
    files = [DATA / "es_rio.ogg", DATA / "en_land.ogg"]
    results = archive.ingest_paths(files, Metadata(consent="public"), LOCAL)
    assert [r.source for r in results] == ["es_rio.ogg", "en_land.ogg"]
    assert [r.status for r in results] == ["added", "added"]
    assert archive.store.counts(LOCAL)["testimonies"] == 2
    archive.close()


class Listening:
    """Keeps the audio Whisper was handed; says one word."""

    def __init__(self) -> None:
        self.heard: list[np.ndarray] = []

    def transcribe(self, audio, language=None, **kwargs):
        self.heard.append(np.array(audio))
        return iter([FakeWhisperSegment(0.0, 1.0, " Hola.")]), None


def _rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


@pytest.mark.parametrize("batch_size", [8, 0])
def test_a_quiet_voice_reaches_whisper_as_loud_as_a_loud_one(batch_size):
    """Two voices 40 dB apart in one recording (a witness far from the microphone):
    Whisper hears both at one loudness (issue 29: batched decoding skipped the quiet
    one, which shared a 30-s window with the loud one)."""
    from pipeline.audio import decode_audio

    from .conftest import DATA

    clip = decode_audio(DATA / "en_land.ogg")
    gap = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([clip, gap, clip * 10 ** (-40 / 20), gap])
    whisper = Listening()
    options = TranscribeOptions(language="en", batch_size=batch_size)
    list(transcribe(whisper, audio, options).segments)
    [heard] = whisper.heard
    loud, quiet = heard[: len(clip)], heard[len(clip) + len(gap) : 2 * len(clip) + len(gap)]
    assert abs(_rms_db(loud) - _rms_db(quiet)) < 3.0, (_rms_db(loud), _rms_db(quiet))
    assert np.max(np.abs(heard)) <= 1.0
    assert not heard[len(clip) + 4000 : len(clip) + len(gap) - 8000].any()  # silence kept
    # levelling off: Whisper hears the recording as it is
    plain = Listening()
    options = TranscribeOptions(language="en", batch_size=batch_size, level=False)
    list(transcribe(plain, audio, options).segments)
    assert np.array_equal(plain.heard[0], audio)


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    from models.whisper import WhisperSpec, load_whisper

    return load_whisper(WhisperSpec(), tmp_path_factory.mktemp("model-cache"))


@pytest.mark.slow
def test_real_whisper_hears_a_quiet_voice_beside_a_loud_one(whisper, fixture_clips):
    """The English clip 45 dB under the Spanish one, in one window: levelled, Whisper
    hears its words (without levelling, batched decoding returned none of them)."""
    import re

    from pipeline.audio import decode_audio

    from .conftest import DATA

    loud, quiet = decode_audio(DATA / "es_rio.ogg"), decode_audio(DATA / "en_land.ogg")
    gap = np.zeros(int(1.5 * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([loud, gap, quiet * 10 ** (-45 / 20), gap, loud])
    start = (len(loud) + len(gap)) / SAMPLE_RATE
    end = start + len(quiet) / SAMPLE_RATE
    segments = list(transcribe(whisper, audio, TranscribeOptions(language="en")).segments)
    said = " ".join(s.text for s in segments if start - 0.5 <= s.start and s.end <= end + 0.5)
    heard = set(re.findall(r"\w+", said.lower()))
    expected = {w.lower() for w in fixture_clips["en_land.ogg"]["expected_words"]}
    assert len(expected - heard) <= 1, (heard, [(s.start, s.end, s.text) for s in segments])
