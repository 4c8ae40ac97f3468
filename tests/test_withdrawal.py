"""Withdrawal removes everything (issue 26, findings 2 and 3).

A typed testimony and a recording are uploaded over HTTP (jobs, audit entries, staged
uploads), searched, reviewed and corrected (edit history), and a transcription killed
mid-way is simulated (its spooled audio and checkpoint under ``partial/``, owned by a
process that is gone). Then both are deleted over HTTP and a backup is taken. Every file
under the archive's folder and under the backup is read as raw bytes and searched for
the testimonies' unique words (text, title, file name), in the forms SQLite and FTS5
store them, and for a stretch of the recording's samples: none may be left. The job and
audit routes must not give the title or file name back either.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from pipeline import Archive, Metadata
from pipeline.maintenance import backup, check

from .backends import POSTGRES
from .conftest import LOCAL, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

#: Unique words, lower-case and accent-free as FTS5 stores its terms; each is searched
#: for by a middle stretch too, since FTS5 stores a term after the prefix it shares with
#: the one before it.
TEXT_WORD = "Zqwithdrawntextzq"
TITLE_WORD = "Zqwithdrawntitlezq"
FILE_WORD = "zqwithdrawnfilezq"
SPOKEN_WORD = "Zqwithdrawnspokenzq"
SPEAKER_WORD = "Zqwithdrawnspeakerzq"  # the name an archivist gives the recording's voice
NEEDLES = [
    w.lower()[2:-2].encode() for w in (TEXT_WORD, TITLE_WORD, FILE_WORD, SPOKEN_WORD, SPEAKER_WORD)
]


def _wav(seconds: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(16_000 * seconds)) * 3000).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def _holding(roots: list[Path], needles: list[bytes]) -> dict[str, list[str]]:
    """Which files under ``roots`` hold which needles (as raw bytes)."""
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in _files(root):
            data = path.read_bytes()
            hits = [n.decode("latin-1")[:24] for n in needles if n in data]
            if hits:
                found[str(path.relative_to(root.parent))] = hits
    return found


def _wait(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture
def served(tmp_path, rule_tagger):
    home = tmp_path / "home"
    spoken = [  # each word timed: the words table holds them too
        (
            0.0,
            2.0,
            f"Me llamo Ernesto y vivo en {SPOKEN_WORD}.",
            [
                (0.0, 0.3, " Me", 0.9),
                (0.3, 0.6, " llamo", 0.9),
                (0.6, 1.0, " Ernesto", 0.9),
                (1.0, 1.2, " y", 0.9),
                (1.2, 1.4, " vivo", 0.9),
                (1.4, 1.6, " en", 0.9),
                (1.6, 2.0, f" {SPOKEN_WORD}.", 0.5),
            ],
        ),
        (2.0, 4.0, "El río está contaminado por la mina."),
    ]
    archive = Archive(
        home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper(spoken),
        redact=pattern_redact,
    )
    _, key = archive.store.keys.create("archivist", "withdrawal test", LOCAL)
    settings = get_settings(home=home, cache_dir=tmp_path / "cache", api_token="")
    with TestClient(create_app(settings, archive=archive)) as client:
        yield client, archive, {"Authorization": f"Bearer {key}"}
    archive.close()


def test_a_deleted_testimony_leaves_no_byte_behind(served, tmp_path):
    client, archive, archivist = served
    home = archive.home
    # testimonies that stay, so the database is not simply emptied
    kept = "\n".join(
        f'{{"id": "kept-{i}", "text": "El agua del río Coata bajaba turbia en {i}. '
        f'Los animales enfermaron.", "consent": "public", "language": "es"}}'
        for i in range(20)
    )
    archive.ingest_texts(
        __import__("pipeline.texts", fromlist=["read_text_items"]).read_text_items(
            _write(tmp_path / "kept.jsonl", kept), Metadata()
        ),
        LOCAL,
    )
    audio = _wav(4.0, seed=26)
    uploads = {
        "text": (
            f"testimonio_ernesto_{FILE_WORD}.txt",
            f"Me llamo Ernesto. En {TEXT_WORD} el agua se volvió amarilla. "
            f"La empresa compró las tierras de {TEXT_WORD} sin consulta.".encode(),
        ),
        "audio": (f"grabacion_{FILE_WORD}.wav", audio),
    }
    ids: dict[str, str] = {}
    jobs: dict[str, str] = {}
    for kind, (name, data) in uploads.items():
        form = {
            "consent": "restricted",
            "title": f"Testimonio de Ernesto {TITLE_WORD}",
            "region": "Puno",
            "language": "es",
        }
        r = client.post(
            "/api/v1/testimonies", files={"file": (name, data)}, data=form, headers=archivist
        )
        assert r.status_code == 202, r.text
        jobs[kind] = r.json()["uploads"][0]["job"]["id"]
        job = _wait(client, jobs[kind], archivist)
        assert job["state"] == "done", job
        ids[kind] = job["results"][0]["id"]
    # read, reviewed, corrected: every table that names a passage gets a row
    for q in (TEXT_WORD, SPOKEN_WORD):
        hits = client.get("/api/v1/search", params={"q": q}, headers=archivist).json()["hits"]
        assert hits and hits[0]["testimony_id"] in ids.values()
    first = archive.passages(ids["text"], LOCAL)[0]
    r = client.post(
        f"/api/v1/passages/{first.id}/reviews",
        json={"theme": "land_loss", "verdict": "accept", "note": TEXT_WORD},
        headers=archivist,
    )
    assert r.status_code == 201, r.text
    r = client.patch(
        f"/api/v1/passages/{first.id}",
        json={"text": f"Me llamo Ernesto, de {TEXT_WORD}."},
        headers=archivist,
    )
    assert r.status_code == 200, r.text
    # the recording's voice named (a name is personal data: it goes with the testimony)
    r = client.put(
        f"/api/v1/testimonies/{ids['audio']}/speakers/S1",
        json={"name": f"Ernesto {SPEAKER_WORD}"},
        headers=archivist,
    )
    assert r.status_code == 200, r.text
    assert any(
        w.text == f"{SPOKEN_WORD}." for p in archive.passages(ids["audio"], LOCAL) for w in p.words
    )
    # a transcription of the recording killed mid-way: its spooled audio (the decoded
    # samples) and checkpoint, owned by a process that is gone
    [(source_hash,)] = archive.store.db.query(
        "SELECT source_hash FROM testimonies WHERE id = ?", (ids["audio"],)
    )
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    partial = home / "partial"
    partial.mkdir(exist_ok=True)
    (partial / f"{source_hash}.{int(gone.stdout)}-1.pcm").write_bytes(audio[44:])
    (partial / f"{source_hash}.jsonl").write_text(f'{{"text": "{SPOKEN_WORD}"}}\n')
    samples = audio[44 + 16_000 : 44 + 16_000 + 64]  # half a second in: 32 samples
    needles = [*NEEDLES, samples]

    before = _holding([home], needles)
    assert before, "the words and samples must be findable before the deletion"
    if not POSTGRES:  # the database files hold the text, title and file name
        in_database = {
            w for name, words in before.items() if "voces.sqlite3" in name for w in words
        }
        assert in_database >= {n.decode() for n in NEEDLES}, before

    for tid in ids.values():
        r = client.delete(f"/api/v1/testimonies/{tid}", headers=archivist)
        assert r.status_code == 200, r.text
    archive.close()  # as a server shuts down: nothing is held open
    reopened = Archive(home, embedder=HashEmbedder(), tagger=archive.tagger, redact=pattern_redact)
    try:
        assert check(reopened).ok
        if not POSTGRES:  # PostgreSQL is backed up with pg_dump (docs/deploy.md)
            backup(reopened, tmp_path / "backup")
    finally:
        reopened.close()

    roots = [home] if POSTGRES else [home, tmp_path / "backup"]
    assert _holding(roots, needles) == {}
    # the jobs and the audit log keep ids, states and times, not names
    admin_key = Archive(home, embedder=None, tagger=archive.tagger)
    try:
        for job_id in jobs.values():
            job = admin_key.store.jobs.get(job_id, LOCAL)
            assert FILE_WORD not in repr(job) and TITLE_WORD not in repr(job), job
            assert job.state == "done" and job.results
        entries = admin_key.store.audit_entries(LOCAL, limit=1000)
        assert [e for e in entries if e.action == "delete" and e.target in ids.values()]
        for entry in entries:
            assert FILE_WORD not in repr(entry) and TITLE_WORD not in repr(entry), entry
            assert SPEAKER_WORD not in repr(entry), entry
    finally:
        admin_key.close()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path
