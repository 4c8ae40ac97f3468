"""Crash safety: a job worker killed with SIGKILL at random moments of a batch upload.

Typed testimonies (JSON lines, some with ids, Spanish and English) and recordings are
queued as ``voces ingest --queue`` does. tests/crash_worker.py runs the product's job loop
on them, and is killed at a random moment (seeded: set ``VOCES_CRASH_SEED`` to replay a
run), at least 20 times while it holds a job. After every kill a copy of the archive as the
kill left it is checked: every testimony whole (all its passages, each with a vector and a
redacted copy; its recording whole), none twice, the index as large as SQLite's passages,
and ``check`` finding nothing worse than orphan files, which ``check --repair`` removes.
The worker then restarts on the archive as the kill left it. At the end every queued
testimony is stored exactly once and every job is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from huey import SqliteHuey

from corpus.db import open_database
from pipeline import Archive, Metadata, PassageOptions, split_text
from pipeline import archive as archive_module
from pipeline.jobs import JobRunner, new_job_id
from pipeline.maintenance import check
from pipeline.uploads import check_upload, safe_name

from . import backends
from .conftest import DATA, LOCAL
from .crash_worker import redact, rule_tagger
from .fakes import HashEmbedder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills with SIGKILL")

REPO = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).with_name("crash_worker.py")
MID_JOB_KILLS = 20  # kills that must land while the worker holds a job
MAX_KILLS = 45
ORPHANS = (
    "belongs to no testimony",
    "belongs to no unfinished job",
    "temporary files of interrupted index snapshots",
    # a kill mid-transcription leaves the decoded audio its process spooled (issue 26)
    "spooled audio of an ingest whose process is gone",
)

ES = [
    "El río está contaminado por la mina y el agua huele mal.",
    "Los animales se mueren y los niños están enfermos desde hace años.",
    "Perdimos nuestras tierras cuando llegó la empresa con sus abogados.",
    "La policía llegó de noche al pueblo y se llevó a varios vecinos.",
    "Mi abuela sembraba papa y maíz en la chacra de la familia.",
    "El agua del canal ya no sirve para regar los campos.",
    "Nos reunimos en la plaza para hablar con el alcalde del distrito.",
    "Muchos jóvenes se fueron a trabajar a Lima y no volvieron.",
    "Me llamo Rosa y mi número es 987 654 321, por si quieren preguntar.",
]
EN = [
    "The river was polluted by the mine and the fish disappeared.",
    "Our children got sick and the clinic had no medicine for them.",
    "We lost our land when the company arrived with its lawyers.",
    "The police came at night and took several neighbours away.",
    "My grandmother grew potatoes and maize on the family plot.",
    "The water in the canal is no longer good for the fields.",
    "We met in the square to speak with the mayor of the district.",
    "My name is Walter and you can call me on 987 654 321.",
]


@dataclass(frozen=True)
class Expected:
    id: str
    source_hash: str
    passages: int | None  # None for recordings (the fake transcript decides)


def _text_batch(folder: Path, rng: random.Random, batch: int) -> list[Path]:
    """Ten JSON-lines files of three testimonies each: some with ids, some Spanish, some
    English, some for the language guess."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for f in range(10):
        rows = []
        for n in range(3):
            number = f * 3 + n
            spanish = number % 3 != 2
            pool = ES if spanish else EN
            opening = (
                f"Testimonio {batch}-{number} de la comunidad."
                if spanish
                else f"Testimony {batch}-{number} from the community."
            )
            text = " ".join([opening, *rng.sample(pool, rng.randint(3, 7))])
            row = {"title": f"{'Relato' if spanish else 'Story'} {batch}-{number}", "text": text}
            if number % 2 == 0:
                row["id"] = f"crash-{batch}-{number}"
            if number % 5 != 4:
                row["language"] = "es" if spanish else "en"
            rows.append(json.dumps(row, ensure_ascii=False))
        path = folder / f"batch{batch}-{f}.jsonl"
        path.write_text("\n".join(rows) + "\n", "utf-8")
        files.append(path)
    return files


def _audio_batch(folder: Path, batch: int) -> list[Path]:
    """Copies of the test recordings made distinct by a few bytes after the last page."""
    files = []
    for name in ("es_rio.ogg", "en_land.ogg"):
        path = folder / f"b{batch}-{name}"
        path.write_bytes((DATA / name).read_bytes() + f"batch {batch}".encode())
        files.append(path)
    return files


def _queue(home: Path, files: list[Path], queue: Any = None, **archive: Any) -> dict[str, Expected]:
    """Stage, check and queue every file as ``voces ingest --queue`` does (into huey's
    SQLite queue in ``home``, or ``queue``; ``archive`` are more arguments of Archive)."""
    submitter = Archive(home, None, rule_tagger(), **archive)  # no models: submitting only
    queue = queue or SqliteHuey("voces", filename=str(home / "queue.sqlite3"))
    runner = JobRunner(submitter, queue)
    meta = Metadata(consent="public", region="Puno")
    expected: dict[str, Expected] = {}
    try:
        for path in files:
            job_id = new_job_id()
            staged = runner.staging_path(job_id, safe_name(path.name))
            shutil.copyfile(path, staged)
            audio = path.suffix == ".ogg"
            job_meta = Metadata(consent="public", region="Puno", language="es") if audio else meta
            upload = check_upload(staged, path.name, job_meta)
            runner.submit(job_id, staged, upload, job_meta, LOCAL)
            if upload.kind == "audio":
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                expected["a-" + digest[:16]] = Expected("a-" + digest[:16], digest, None)
            for item in upload.items:
                digest = hashlib.sha256(item.text.encode("utf-8")).hexdigest()
                tid = item.id or "t-" + digest[:16]
                count = len(split_text(item.text, PassageOptions()))
                expected[tid] = Expected(tid, digest, count)
    finally:
        if hasattr(queue.storage, "close"):  # huey's SQLite file: this process copies it later
            queue.storage.close()
        submitter.close()
    return expected


def _start(home: Path, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """Start tests/crash_worker.py on ``home``; ``extra`` are more environment variables."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    # the worker opens the same database as this test (a PostgreSQL one on that backend)
    env["VOCES_TEST_DATABASE"] = str(archive_module.default_database(home))
    env.update(extra)
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(home)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    if line.strip() != b"ready":
        proc.kill()
        proc.wait()
        pytest.fail(f"the worker did not start: {log.read_text('utf-8', 'replace')[-3000:]}")
    return proc


def _jobs(db: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    return {r[0]: (r[1], r[2]) for r in db.tuples("SELECT id, state, attempts FROM jobs")}


def _check_whole(home: Path, expected: dict[str, Expected], audio_passages: set[int]) -> dict:
    """Check the archive in ``home`` as a crash left it; returns its jobs (state and
    attempts), its passage count and the orphan files ``check`` found (and removed).

    SQLite is read directly first (opening the archive fills in what is missing, which
    would hide a partial write), then the archive is opened and checked."""
    db = open_database(archive_module.default_database(home))
    try:
        stored = db.tuples("SELECT id, source_hash, source_kind, media_path FROM testimonies")
        testimonies = {r[0]: r for r in stored}
        counts = dict(
            db.tuples("SELECT testimony_id, count(*) FROM passages GROUP BY testimony_id")
        )
        for tid, (_, source_hash, _, media_path) in testimonies.items():
            assert tid in expected, f"{tid} was never queued"
            assert source_hash == expected[tid].source_hash, f"{tid} holds other content"
            want = expected[tid].passages
            assert counts.get(tid, 0) >= 1, f"{tid} is stored without passages"
            if want is not None:
                assert counts[tid] == want, f"{tid}: {counts[tid]} of {want} passages stored"
            else:
                audio_passages.add(counts[tid])
                media = home / media_path
                assert media.is_file(), f"{tid}: recording {media_path} missing"
                digest = hashlib.sha256(media.read_bytes()).hexdigest()
                assert digest == source_hash, f"{tid}: recording {media_path} is partial"
        assert len(audio_passages) <= 1, f"copies of one recording differ: {audio_passages}"
        twice = db.tuples(
            "SELECT source_hash FROM testimonies GROUP BY source_hash HAVING count(*) > 1"
        )
        assert not twice, f"stored twice: {twice}"
        [(no_vector,)] = db.tuples(
            "SELECT count(*) FROM passages p LEFT JOIN vectors v ON v.passage_id = p.id "
            "WHERE v.passage_id IS NULL"
        )
        assert no_vector == 0, f"{no_vector} passages have no vector"
        [(unredacted,)] = db.tuples(
            "SELECT (SELECT count(*) FROM passages WHERE redacted IS NULL) + "
            "(SELECT count(*) FROM testimonies WHERE title_redacted IS NULL)"
        )
        assert unredacted == 0, f"{unredacted} passages or titles have no redacted copy"
        [(passages,)] = db.tuples("SELECT count(*) FROM passages")
        jobs = _jobs(db)
    finally:
        db.close()
    assert not [j for j, (state, _) in jobs.items() if state == "failed"]

    archive = Archive(home, HashEmbedder(), rule_tagger(), redact=redact)
    try:
        assert archive.indexed() == passages
        if archive.index is not None:  # the embedded backend's FAISS index
            assert archive.index.ids() == archive.store.all_passage_ids()
        report = check(archive)
        assert [p for p in report.problems if not any(o in p for o in ORPHANS)] == [], (
            report.problems
        )
        check(archive, repair=True)
        after = check(archive)
        assert after.ok and after.indexed == passages, after.to_dict()
    finally:
        archive.close()
    queue = sqlite3.connect(str(home / "queue.sqlite3"))
    try:
        assert queue.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        queue.close()
    return {"jobs": jobs, "passages": passages, "orphans": set(report.problems)}


def test_kill_9_during_a_batch_upload_loses_and_duplicates_nothing(voces_home, tmp_path):
    seed = int(os.environ.get("VOCES_CRASH_SEED") or random.randrange(2**32))
    print(f"crash test seed: {seed} (VOCES_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    home, probe, log = voces_home, tmp_path / "probe", tmp_path / "worker.log"
    home.mkdir(parents=True, exist_ok=True)
    expected: dict[str, Expected] = {}
    audio_passages: set[int] = set()
    jobs: dict[str, tuple[str, int]] = {}
    batches = kills = mid_job = 0
    orphans: set[str] = set()  # distinct files left by a kill, removed by check --repair
    started = time.monotonic()
    while mid_job < MID_JOB_KILLS and kills < MAX_KILLS:
        if sum(state == "queued" for state, _ in jobs.values()) < 5:  # keep the worker busy
            batches += 1
            files = _text_batch(tmp_path / "in", rng, batches)
            files += _audio_batch(tmp_path / "in", batches)
            rng.shuffle(files)
            expected |= _queue(home, files)
        proc = _start(home, log)
        try:
            proc.wait(timeout=rng.uniform(0.05, 1.5))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            assert proc.returncode == 0, log.read_text("utf-8", "replace")[-3000:]
        assert proc.stdout is not None
        proc.stdout.close()
        shutil.rmtree(probe, ignore_errors=True)
        shutil.copytree(home, probe)  # check a copy: the next worker starts from the crash
        if backends.POSTGRES:
            backends.clone(home, probe)
        try:
            seen = _check_whole(probe, expected, audio_passages)
        except AssertionError as exc:
            raise AssertionError(f"after kill {kills} (seed {seed}): {exc}") from exc
        # the kill landed mid-job if a job this worker claimed is still running
        if proc.returncode == -signal.SIGKILL and any(
            state_ == "running" and attempts > jobs.get(job_id, ("", 0))[1]
            for job_id, (state_, attempts) in seen["jobs"].items()
        ):
            mid_job += 1
        jobs = seen["jobs"]
        orphans |= seen["orphans"]
    index = home / "index"  # the embedded backend's FAISS snapshots (none on PostgreSQL)
    leftovers = (
        [p.name for p in index.iterdir() if p.name.startswith(".")] if index.is_dir() else []
    )
    print(
        f"{kills} kills, {mid_job} mid-job, {len(orphans)} orphan files found after kills, "
        f"{batches} batches, {len(expected)} testimonies, {time.monotonic() - started:.1f} s; "
        f"temporary files left in index/: {leftovers}"
    )
    assert mid_job >= MID_JOB_KILLS, f"only {mid_job} of {kills} kills landed mid-job (seed {seed})"

    proc = _start(home, log)
    assert proc.wait(timeout=180) == 0, log.read_text("utf-8", "replace")[-3000:]
    assert proc.stdout is not None
    proc.stdout.close()
    archive = Archive(home, HashEmbedder(), rule_tagger(), redact=redact)
    try:
        store = archive.store
        assert store.jobs.counts() == {"done": len(jobs)}
        listed, total = store.list_testimonies(LOCAL, limit=10**6)
        stored = {t.id: t for t in listed}
        assert total == len(listed) == len(stored)
        assert set(stored) == set(expected)
        assert {t.source_hash for t in stored.values()} == {
            e.source_hash for e in expected.values()
        }
        for tid, want in expected.items():
            passages = store.passages(tid, LOCAL)
            assert len(passages) == (want.passages or len(passages)) and passages, tid
        count = len(store.all_passage_ids())
        assert archive.indexed() == count
        report = check(archive)
        assert [p for p in report.problems if not any(o in p for o in ORPHANS)] == [], (
            report.problems
        )
        check(archive, repair=True)
        assert check(archive).ok
        hits = archive.search("river polluted by the mine", LOCAL, k=3)
        assert hits and hits[0].testimony_id in stored
    finally:
        archive.close()
