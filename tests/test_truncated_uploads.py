"""A recording cut short is refused on every road in -- an HTTP upload, ``voces ingest``,
``voces ingest --no-wait`` and a queued job -- with a message that says so, and nothing is
stored. (Which cuts are told, format by format: tests/test_audio_formats.py.)"""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from pipeline import Metadata, decode_audio
from pipeline.audio import SAMPLE_RATE

from .conftest import DATA, LOCAL, fake_cli
from .fakes import HashEmbedder


def _encode(path: Path, codec: str, options: dict[str, str]) -> None:
    speech = decode_audio(DATA / "es_rio.ogg")
    frame = av.AudioFrame.from_ndarray(
        (speech[None, :] * 32767).astype(np.int16), format="s16", layout="mono"
    )
    frame.sample_rate = SAMPLE_RATE
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream(codec, rate=SAMPLE_RATE)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=SAMPLE_RATE)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _half_wav(folder: Path) -> Path:
    """The reviewed case: the first half of a 7.5 s WAV whose header still says 7.5 s."""
    whole = folder / "whole.wav"
    _encode(whole, "pcm_s16le", {})
    data = whole.read_bytes()
    cut = folder / "half.wav"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def _mp3_cut_in_its_last_frame(folder: Path) -> Path:
    """A CBR MP3 without a Xing header (it declares no length) missing 51 bytes."""
    whole = folder / "whole.mp3"
    _encode(whole, "libmp3lame", {"write_xing": "0"})
    cut = folder / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:-51])
    return cut


CUTS = [pytest.param(_half_wav, id="half-wav"), pytest.param(_mp3_cut_in_its_last_frame, id="mp3")]


def _stored(archive) -> dict[str, object]:
    return {
        "counts": archive.store.counts(LOCAL),
        "jobs": [j.id for j in archive.store.jobs.list(LOCAL)],
        "media": sorted(p.name for p in (archive.home / "media").glob("*")),
        "uploads": sorted(p.name for p in (archive.home / "uploads").glob("*")),
    }


@pytest.fixture
def client(archive, voces_home):
    with TestClient(create_app(get_settings(), archive=archive)) as c:
        yield c


@pytest.fixture
def archivist(archive):
    _, key = archive.store.keys.create("archivist", "truncation test", LOCAL)
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("make", CUTS)
def test_an_upload_cut_short_is_a_400_that_says_so(client, archive, archivist, tmp_path, make):
    path = make(tmp_path)
    before = _stored(archive)
    r = client.post(
        "/api/v1/testimonies",
        files={"file": (path.name, io.BytesIO(path.read_bytes()))},
        data={"consent": "restricted"},
        headers=archivist,
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_input"
    assert error["message"].startswith(f"{path.name} is truncated: "), error
    assert _stored(archive) == before


@pytest.mark.parametrize("wait", [True, False], ids=["ingest", "no-wait"])
@pytest.mark.parametrize("make", CUTS)
def test_voces_ingest_of_a_file_cut_short_is_one_error_line(
    monkeypatch, fake_whisper, archive, tmp_path, make, wait
):
    path = make(tmp_path)
    before = _stored(archive)
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    args = ["ingest", str(path), "--consent", "restricted"] + ([] if wait else ["--no-wait"])
    result = run(*args)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(f"Error: {path.name} is truncated: ")
    assert _stored(archive) == before
    assert fake_whisper.calls == []  # refused before anything was transcribed


def test_a_queued_recording_found_cut_short_fails_its_job_with_the_reason(archive, tmp_path):
    """The worker checks again what it stores (the staged copy might have been damaged
    since it was accepted): the job fails, naming why, and nothing is stored."""
    from huey import MemoryHuey

    from pipeline.jobs import JobRunner, new_job_id
    from pipeline.uploads import check_upload

    runner = JobRunner(archive, MemoryHuey("t"), stale_after=30)
    job_id = new_job_id()
    staged = runner.staging_path(job_id, "entrevista.wav")
    _encode(staged, "pcm_s16le", {})
    meta = Metadata(consent="restricted")
    runner.submit(job_id, staged, check_upload(staged, "entrevista.wav", meta), meta, LOCAL)
    staged.write_bytes(staged.read_bytes()[: staged.stat().st_size // 2])
    runner.process(job_id)
    deadline = time.monotonic() + 10
    while (job := archive.store.jobs.get(job_id, LOCAL)).state not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job.state == "failed", job
    assert "entrevista.wav is truncated: " in (job.error or ""), job
    assert archive.store.counts(LOCAL) == {"testimonies": 0, "passages": 0}
