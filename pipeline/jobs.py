"""Ingest jobs: an upload is staged durably, queued, and stored by a worker.

The queue is huey's (a well-kept task library): on a laptop its SQLite storage in
``VOCES_HOME/queue.sqlite3``; across machines its Redis or PostgreSQL storage, with the
same code. A huey message carries only a job id. Huey hands a message to one worker and
forgets it, so the job table (corpus/jobs.py) is what makes a job survive a crash: a
worker claims a job by compare-and-set, beats a heartbeat while it works, and at start
(and every minute) hands the queue again every job that is queued or whose worker went
silent. Handing a job out twice is harmless: the claim lets one worker have it, and
ingest is idempotent (the same bytes are "present" the second time).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corpus import ConflictError, CorpusError, ForbiddenError, Job, Viewer, require

from .archive import Archive, IngestResult, check_spoken_language
from .errors import InputError, PipelineError
from .texts import Metadata, check_metadata, read_text_items
from .uploads import UploadCheck

__all__ = ["JobRunner", "job_json", "new_job_id"]

logger = logging.getLogger(__name__)


def new_job_id() -> str:
    return "job-" + secrets.token_hex(8)


class JobRunner:
    """Stages uploads, queues them, and runs them against one archive."""

    def __init__(
        self,
        archive: Archive,
        huey: Any,
        stale_after: float = 120.0,
        poll_seconds: float = 0.5,
    ) -> None:
        self.archive = archive
        self.huey = huey
        self.stale_after = stale_after
        self.poll_seconds = poll_seconds
        self.uploads = archive.shared / "uploads"
        self.uploads.mkdir(exist_ok=True)
        self._task = huey.task(name="voces.ingest")(self.process)
        #: who this worker is in the job table: machines share one archive
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    # -- submitting ----------------------------------------------------------------------------

    def staging_path(self, job_id: str, name: str) -> Path:
        """Where an upload for ``job_id`` is written before it is checked."""
        folder = self.uploads / job_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.uploads / job_id, ignore_errors=True)
        if self.archive.media.local_path(f"uploads/{job_id}") is None:  # a bucket's copy
            self.archive.media.delete_under(f"uploads/{job_id}/")

    def validate(
        self, staged: Path, check: UploadCheck, meta: Metadata, speakers: object = None
    ) -> Metadata:
        """Refuse, before anything is queued, what the worker would refuse: bad metadata,
        a number of speakers out of range, an id or recording stored with other content
        or consent."""
        meta = check_metadata(meta, check.name)
        self.archive.check_speakers(speakers)
        if check.kind == "text":
            self.archive.check_conflicts(check.items)
        else:
            check_spoken_language(meta.language, check.name)
            self.archive.check_recording(staged, meta.consent, check.name)
        return meta

    def submit(
        self,
        job_id: str,
        staged: Path,
        check: UploadCheck,
        meta: Metadata,
        viewer: Viewer,
        speakers: int | None = None,
    ) -> Job:
        """Record and queue a checked upload (already written to ``staged``); a
        recording's number of speakers (None: estimated) travels with the job."""
        require(viewer, "upload")
        meta = self.validate(staged, check, meta, speakers)
        upload_path = staged.relative_to(self.archive.shared).as_posix()
        # durable where every worker can read it: synced in place in a shared folder,
        # or copied into the bucket (the local staging copy then goes)
        self.archive.media.put(upload_path, staged)
        if self.archive.media.local_path(upload_path) is None:
            shutil.rmtree(staged.parent, ignore_errors=True)
        metadata = {
            **asdict(meta),
            "extra": dict(meta.extra or {}),
            "kind": check.kind,
            "name": check.name,
            "duration": check.duration,
            "role": viewer.role,
            "speakers": self.archive.check_speakers(speakers),
        }
        job = self.archive.store.jobs.create(job_id, check.name, upload_path, metadata, viewer)
        self._task(job_id)
        return job

    # -- working ---------------------------------------------------------------------------

    def process(self, job_id: str) -> None:
        """Run one job if no other worker has it (the huey task)."""
        jobs = self.archive.store.jobs
        job = jobs.claim(job_id, self.stale_after, self.worker)
        if job is None:
            return
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, beating), daemon=True)
        beat.start()
        try:
            results = self._ingest(job)
        except (InputError, ConflictError, ForbiddenError) as exc:
            jobs.fail(job_id, str(exc))
            self.discard(job_id)
        except (PipelineError, CorpusError) as exc:
            logger.error("job %s failed: %s", job_id, exc)
            jobs.fail(job_id, str(exc))
        except Exception as exc:  # a bug: keep the upload, say so, keep the worker alive
            logger.exception("job %s failed unexpectedly", job_id)
            jobs.fail(job_id, f"internal error ({type(exc).__name__}); see the worker log")
        else:
            jobs.finish(job_id, [asdict(r) for r in results])
            self.discard(job_id)
        finally:
            beating.set()

    def _beat(self, job_id: str, stop: threading.Event) -> None:
        jobs = self.archive.store.jobs
        while not stop.wait(self.stale_after / 4):
            try:
                job = jobs.get(job_id, Viewer.system())
                jobs.progress(job_id, job.progress, job.message)
            except CorpusError:
                return

    def _ingest(self, job: Job) -> list[IngestResult]:
        meta_fields = {k: v for k, v in job.metadata.items() if k in Metadata.__dataclass_fields__}
        meta = Metadata(**meta_fields)
        role = job.metadata.get("role", "archivist")
        viewer = Viewer(role if role in ("archivist", "admin") else "anonymous", job.submitted_by)
        media = self.archive.media
        if not media.exists(job.upload_path):
            raise PipelineError(f"the upload of {job.source_name} is missing from {media.location}")
        with media.local_copy(job.upload_path) as path:
            return self._ingest_file(job, path, meta, viewer)

    def _ingest_file(
        self, job: Job, path: Path, meta: Metadata, viewer: Viewer
    ) -> list[IngestResult]:
        jobs = self.archive.store.jobs

        def progress(message: str, fraction: float | None = None) -> None:
            jobs.progress(job.id, fraction if fraction is not None else job.progress, message)

        if job.metadata.get("kind") == "audio":
            speakers = job.metadata.get("speakers")  # absent from jobs queued before it
            return [self.archive.ingest_audio(path, meta, viewer, progress, speakers)]
        items = read_text_items(path, meta, name=job.metadata.get("name", path.name))
        return self.archive.ingest_texts(items, viewer, progress)

    def _in_queue(self) -> set[str]:
        """Job ids whose message is still waiting in the queue."""
        try:
            return {str(task.args[0]) for task in self.huey.pending() if task.args}
        except Exception:  # a broker that cannot list its queue: hand everything out
            return set()

    def recover(self) -> int:
        """Queue again every job that is queued (and whose message was lost) or whose
        worker stopped; returns how many."""
        waiting = self._in_queue()
        pending = [
            job_id
            for job_id in self.archive.store.jobs.unfinished(self.stale_after)
            if job_id not in waiting
        ]
        for job_id in pending:
            self._task(job_id)
        if pending:
            logger.info("re-queued %d unfinished jobs", len(pending))
        return len(pending)

    def run(self, stop: threading.Event, recover_every: float = 60.0) -> None:
        """Take jobs from the queue until ``stop`` is set (a worker's main loop)."""
        self.recover()
        last_recovery = time.monotonic()
        while not stop.is_set():
            task = self.huey.dequeue()
            if task is not None:
                try:
                    self.huey.execute(task)
                except Exception:  # process() already recorded it; keep working
                    logger.exception("job task failed")
                continue
            if time.monotonic() - last_recovery > recover_every:
                self.recover()
                last_recovery = time.monotonic()
            stop.wait(self.poll_seconds)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run a worker in a thread of this process (``voces serve``)."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="voces-worker", daemon=True)
        thread.start()
        return thread, stop


def job_json(job: Job) -> dict[str, Any]:
    """A job as the CLI and the API show it."""
    return {
        "id": job.id,
        "state": job.state,
        "source_name": job.source_name,
        "submitted_by": job.submitted_by,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "progress": round(job.progress, 3),
        "message": job.message,
        "error": job.error,
        "attempts": job.attempts,
        "worker": job.worker,
        "results": list(job.results),
    }
