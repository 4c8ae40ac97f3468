"""Workers on several machines: two worker processes on loopback take jobs from one
shared queue (huey on a real Redis) for one archive (a real PostgreSQL + pgvector, media
in one shared folder); one is killed with SIGKILL mid-job, and the other finishes its
job. Every upload ends stored exactly once.

Needs ``redis-server`` (Debian's) and PostgreSQL (pgserver, see tests/backends.py): CI
installs both and sets VOCES_TEST_REQUIRE_SERVERS=1, which turns a missing one into a
failure instead of a skip."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pytest

from corpus import Store, Viewer
from pipeline import Archive
from pipeline.maintenance import check

from . import backends
from .crash_worker import redact, rule_tagger
from .fakes import HashEmbedder
from .test_crash import ORPHANS, _audio_batch, _queue, _start, _text_batch

REDIS = shutil.which("redis-server")
if REDIS is None and os.environ.get("VOCES_TEST_REQUIRE_SERVERS"):
    raise RuntimeError("redis-server is missing (apt-get install redis-server)")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


@pytest.fixture
def redis_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _jobs(store: Store) -> dict[str, tuple[str, int, str]]:
    return {
        r[0]: (r[1], r[2], r[3])
        for r in store.db.tuples("SELECT id, state, attempts, worker FROM jobs")
    }


def test_two_workers_share_a_queue_and_one_dies_mid_job(tmp_path, redis_url):
    from huey import RedisHuey

    rng = random.Random(7)
    url = backends.database_for(tmp_path / "database")
    shared = tmp_path / "shared"  # the folder every machine mounts (media/, uploads/)
    files = _text_batch(tmp_path / "in", rng, 1) + _audio_batch(tmp_path / "in", 1)
    expected = _queue(
        tmp_path / "desk", files, RedisHuey("voces", url=redis_url), database=url, shared=shared
    )
    env = {
        "VOCES_TEST_DATABASE": url,
        "VOCES_TEST_QUEUE_URL": redis_url,
        "VOCES_TEST_SHARED": str(shared),
        "VOCES_CRASH_EMBED_DELAY": "0.4",
    }
    store = Store(url)
    a = _start(tmp_path / "machine-a", tmp_path / "a.log", **env)
    b = _start(tmp_path / "machine-b", tmp_path / "b.log", **env)
    killed_job = ""
    try:
        deadline = time.monotonic() + 120
        while not killed_job and time.monotonic() < deadline:
            jobs = _jobs(store)
            mine = {j: s for j, (s, _, w) in jobs.items() if w.endswith(f":{a.pid}")}
            running = [j for j, s in mine.items() if s == "running"]
            if running and "done" in mine.values():  # A has finished one and is mid-job
                a.send_signal(signal.SIGKILL)
                a.wait()
                killed_job = running[0]
            time.sleep(0.02)
        assert killed_job, f"worker A never was mid-job after finishing one: {_jobs(store)}"
        assert b.wait(timeout=180) == 0, (tmp_path / "b.log").read_text("utf-8", "replace")[-3000:]
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    jobs = _jobs(store)
    workers = {w for _, _, w in jobs.values()}
    assert {w for w in workers if w.endswith(f":{a.pid}")} and {
        w for w in workers if w.endswith(f":{b.pid}")
    }, f"both workers took jobs: {workers}"
    assert {state for state, _, _ in jobs.values()} == {"done"}, jobs
    state, attempts, worker = jobs[killed_job]
    assert attempts >= 2 and worker.endswith(f":{b.pid}"), (killed_job, jobs[killed_job])
    # every upload stored exactly once, with its content
    rows = store.db.tuples("SELECT id, source_hash FROM testimonies")
    assert len(rows) == len({h for _, h in rows}) == len(expected)
    assert {tid: h for tid, h in rows} == {t: e.source_hash for t, e in expected.items()}
    for tid, want in expected.items():
        if want.passages is not None:
            assert len(store.passages(tid, Viewer.system())) == want.passages, tid
    store.close()
    archive = Archive(
        tmp_path / "machine-c",
        HashEmbedder(),
        rule_tagger(),
        redact=redact,
        database=url,
        shared=shared,
    )
    try:
        report = check(archive, repair=True)
        assert [p for p in report.problems if not any(o in p for o in ORPHANS)] == []
        assert report.indexed == report.passages == report.vectors > 0
    finally:
        archive.close()
