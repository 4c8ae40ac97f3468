"""Every common container/codec archivists bring decodes to the same 16 kHz mono speech."""

from pathlib import Path

import av
import numpy as np
import pytest

from pipeline import InputError, Metadata, PipelineError, decode_audio, spool_audio
from pipeline.audio import SAMPLE_RATE, is_audio
from pipeline.uploads import check_complete, check_upload

from .conftest import DATA

DEMO_AUDIO = Path(__file__).parents[1] / "demo" / "audio"

FORMATS = [
    ("wav", "pcm_s16le"),
    ("flac", "flac"),
    ("mp3", "libmp3lame"),
    ("m4a", "aac"),
    ("ogg", "libopus"),
    ("mp4", "aac"),  # the audio track of a phone video
    ("webm", "libopus"),
]


def _encode(samples: np.ndarray, path, codec: str, options: dict | None = None) -> None:
    """Write ``samples`` (16 kHz mono float) with PyAV, as a phone or recorder would;
    ``options`` go to the muxer (``movflags``, ``write_xing``)."""
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    with av.open(str(path), "w", options=options or {}) as out:
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


# -- whole or refused --------------------------------------------------------------------------
# Each container declares its length its own way (pipeline/completeness.py); each is cut
# here the ways a copy from a phone is cut: in half, inside its last frame, and cleanly
# between frames more than a second before the end.

WHOLENESS = {
    "wav": ("wav", "pcm_s16le", {}),
    "flac": ("flac", "flac", {}),
    "mp3": ("mp3", "libmp3lame", {}),  # with the Xing/Info header FFmpeg writes
    "mp3-no-xing": ("mp3", "libmp3lame", {"write_xing": "0"}),  # CBR, no declared length
    "m4a": ("m4a", "aac", {}),  # the moov index last, as phones write it
    "m4a-faststart": ("m4a", "aac", {"movflags": "+faststart"}),  # moov first, mdat last
    "ogg": ("ogg", "libopus", {}),
}
ID3V1 = b"TAG" + b"Entrevista".ljust(30, b"\0") + bytes(95)  # a tag appended by a tagger
JUNK = bytes(100) + b"trailing junk from a copy tool " * 8


def _refusal(path: Path) -> str | None:
    """How Voces refuses ``path`` on both roads in, or None if it takes it: decoded then
    checked as ``voces ingest`` does (pipeline.archive), and checked as an upload is. Both
    must agree."""
    try:
        check_complete(path, len(decode_audio(path)) / SAMPLE_RATE)
        stored = None
    except InputError as exc:
        stored = str(exc)
    try:
        check_upload(path, path.name, Metadata())
        uploaded = None
    except InputError as exc:
        uploaded = str(exc)
    assert (stored is None) == (uploaded is None), (stored, uploaded)
    return stored


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory, speech):
    """Each format of WHOLENESS, whole: the 7.5 s clip, and 40 s of it repeated."""
    folder = tmp_path_factory.mktemp("whole")
    out = {}
    for name, (ext, codec, options) in WHOLENESS.items():
        for length, samples in (
            ("short", speech),
            ("long", np.tile(speech, 6)[: 40 * SAMPLE_RATE]),
        ):
            path = folder / f"{name}-{length}.{ext}"
            _encode(samples, path, codec, options)
            out[name, length] = path
    return out


def _cut(path: Path, folder: Path, size: int, tail: bytes = b"") -> Path:
    out = folder / f"cut-{path.name}"
    out.write_bytes(path.read_bytes()[:size] + tail)
    return out


@pytest.mark.parametrize("name", list(WHOLENESS))
@pytest.mark.parametrize("tail", [b"", ID3V1, JUNK], ids=["plain", "id3v1-tag", "junk"])
def test_a_whole_file_of_each_format_is_taken(whole_files, tmp_path, name, tail):
    for length in ("short", "long"):
        path = whole_files[name, length]
        assert _refusal(_cut(path, tmp_path, path.stat().st_size, tail)) is None


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(DATA.glob("*.ogg")) if p.name != "not_audio.ogg"]
    + sorted(DEMO_AUDIO.glob("*.ogg")),
    ids=lambda p: p.name,
)
def test_the_committed_recordings_are_whole(path):
    assert _refusal(path) is None


def test_recordings_written_by_a_streaming_recorder_are_taken(tmp_path, speech):
    """A recorder writing to a pipe cannot go back to fill in the length: the WAV data size
    stays 0xFFFFFFFF, FLAC's total samples 0. No declared length, nothing to disagree with."""

    class Pipe:  # write-only: the muxer cannot seek back
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, block: bytes) -> int:
            self.data += block
            return len(block)

    for ext, codec in (("wav", "pcm_s16le"), ("flac", "flac")):
        pipe = Pipe()
        with av.open(pipe, "w", format=ext) as out:
            stream = out.add_stream(codec, rate=SAMPLE_RATE)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(
                (speech[None, :] * 32767).astype(np.int16), format="s16", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame) + stream.encode(None):
                out.mux(packet)
        path = tmp_path / f"streamed.{ext}"
        path.write_bytes(bytes(pipe.data))
        assert _refusal(path) is None


@pytest.mark.parametrize("name", list(WHOLENESS))
def test_a_file_cut_in_half_is_refused(whole_files, tmp_path, name):
    path = whole_files[name, "short"]
    message = _refusal(_cut(path, tmp_path, path.stat().st_size // 2))
    assert message and message.startswith(f"cut-{path.name} is truncated: "), message
    assert str(tmp_path) not in message  # FFmpeg's errors name the path: never shown


@pytest.mark.parametrize("name", list(WHOLENESS))
def test_a_file_that_ends_inside_its_last_frame_is_refused(whole_files, tmp_path, name):
    """51 bytes off the end: inside the last audio frame (or, for an M4A written moov
    last, inside its index; for Ogg, inside its final page). Well under a second."""
    path = whole_files[name, "short"]
    message = _refusal(_cut(path, tmp_path, path.stat().st_size - 51))
    assert message and message.startswith(f"cut-{path.name} is truncated: "), message


@pytest.mark.parametrize("name", ["wav", "flac", "mp3", "m4a-faststart", "ogg"])
def test_more_than_a_second_missing_at_a_frame_boundary_is_refused(whole_files, tmp_path, name):
    """40 s cut cleanly between two frames 1.5 s before the end: no frame is cut, only the
    declared length (or Ogg's missing final page) tells. A CBR MP3 without a Xing header
    declares no length, so a clean cut of it cannot be told (pipeline/completeness.py)."""
    path = whole_files[name, "long"]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        boundary = next(
            p.pos
            for p in container.demux(stream)
            if p.size and p.pts is not None and p.pts * p.time_base >= 38.5
        )
    message = _refusal(_cut(path, tmp_path, boundary))
    assert message and message.startswith(f"cut-{path.name} is truncated: "), message
    if name != "ogg":
        assert "declares" in message


def test_a_damaged_frame_mid_file_is_skipped_not_the_rest(whole_files, tmp_path):
    """A stretch of bytes lost mid-file: the frame it falls in is skipped and the rest of
    the recording decodes (PyAV's container.decode stops at the first invalid frame)."""
    path = whole_files["mp3-no-xing", "short"]
    data = path.read_bytes()
    holed = tmp_path / "holed.mp3"
    holed.write_bytes(data[: len(data) // 2] + data[len(data) // 2 + 777 :])
    whole = len(decode_audio(path))
    assert len(decode_audio(holed)) > 0.9 * whole
    assert len(spool_audio(holed, tmp_path / "holed.pcm")) > 0.9 * whole
