"""Every common container/codec archivists bring decodes to the same 16 kHz mono speech."""

import av
import numpy as np
import pytest

from pipeline import InputError, PipelineError, decode_audio, spool_audio
from pipeline.audio import SAMPLE_RATE, is_audio

from .conftest import DATA

FORMATS = [
    ("wav", "pcm_s16le"),
    ("flac", "flac"),
    ("mp3", "libmp3lame"),
    ("m4a", "aac"),
    ("ogg", "libopus"),
    ("mp4", "aac"),  # the audio track of a phone video
    ("webm", "libopus"),
]


def _encode(samples: np.ndarray, path, codec: str) -> None:
    """Write ``samples`` (16 kHz mono float) with PyAV, as a phone or recorder would."""
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            samples[None, :].astype(np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _envelope(x: np.ndarray, hop: int = 400) -> np.ndarray:
    """Mean loudness per 25 ms."""
    n = len(x) - len(x) % hop
    return np.abs(x[:n]).reshape(-1, hop).mean(axis=1)


@pytest.fixture(scope="module")
def speech():
    return decode_audio(DATA / "es_rio.ogg")


@pytest.mark.parametrize("ext, codec", FORMATS)
def test_common_formats_decode(tmp_path, speech, ext, codec):
    path = tmp_path / f"clip.{ext}"
    _encode(speech, path, codec)
    assert is_audio(path)
    decoded = decode_audio(path)
    # same length within codec padding, and the same signal envelope
    assert abs(len(decoded) - len(speech)) < 0.1 * SAMPLE_RATE
    a, b = _envelope(speech), _envelope(decoded)
    # codecs add a little delay (AAC primes ~64 ms): best match within +-200 ms
    n = min(len(a), len(b)) - 16
    best = max(np.corrcoef(a[8 : 8 + n], b[8 + lag : 8 + lag + n])[0, 1] for lag in range(-8, 9))
    assert best > 0.9


def test_garbage_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="cannot decode audio in not_audio.ogg"):
        decode_audio(DATA / "not_audio.ogg")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.wav"):
        decode_audio(empty)


def test_spooled_audio_reads_back_the_same_samples(tmp_path):
    whole = decode_audio(DATA / "es_rio.ogg")
    spooled = spool_audio(DATA / "es_rio.ogg", tmp_path / "spool" / "rio.pcm")
    assert len(spooled) == len(whole)
    assert spooled.path.stat().st_size == 2 * len(whole)  # 16-bit on disk
    np.testing.assert_array_equal(spooled[:], whole)
    np.testing.assert_array_equal(spooled[1000:5000], whole[1000:5000])
    np.testing.assert_array_equal(spooled[-100:], whole[-100:])
    assert spooled[:].dtype == np.float32
    assert spooled[len(whole) : len(whole) + 10].size == 0
    with pytest.raises(ValueError, match="contiguous"):
        spooled[::2]
    spooled.remove()
    assert not spooled.path.exists()


def test_a_failed_spool_leaves_no_file(tmp_path):
    with pytest.raises(InputError, match="cannot decode audio in not_audio.ogg"):
        spool_audio(DATA / "not_audio.ogg", tmp_path / "bad.pcm")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.wav"):
        spool_audio(empty, tmp_path / "empty.pcm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.wav"]
    # nowhere to write it (a full disk fails alike): a clear error, not a crash
    with pytest.raises(PipelineError, match="cannot write es_rio.ogg's decoded audio"):
        spool_audio(DATA / "es_rio.ogg", tmp_path / "empty.wav" / "rio.pcm")
