"""Ingest jobs as people follow them: state, progress, error, results.

The queue that carries job ids to workers is a job library's (huey); this table is what
an archivist reads (``GET /api/v1/jobs/{id}``, ``voces jobs``) and what makes a job
resumable: a worker *claims* a job with a compare-and-set on its state, beats a heartbeat
while it runs, and a job whose worker died (stale heartbeat) can be claimed again.
Jobs hold upload names and metadata, so only archivists and admins may read them.
"""

from __future__ import annotations

import builtins
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from .access import Viewer, require
from .db import AnyDatabase, now
from .errors import NotFoundError
from .records import Job

__all__ = ["JobTable"]


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        state=row["state"],
        source_name=row["source_name"],
        submitted_by=row["submitted_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        progress=row["progress"],
        message=row["message"],
        error=row["error"],
        attempts=row["attempts"],
        results=tuple(json.loads(row["results"])),
        upload_path=row["upload_path"],
        metadata=json.loads(row["metadata"]),
        worker=row["worker"],
    )


def _beat() -> str:
    """Heartbeat times carry milliseconds (stale_after may be under a second in tests)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


class JobTable:
    def __init__(self, db: AnyDatabase) -> None:
        self.db = db

    def create(
        self,
        job_id: str,
        source_name: str,
        upload_path: str,
        metadata: dict[str, Any],
        viewer: Viewer,
    ) -> Job:
        require(viewer, "upload")
        stamp = now()
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, state, source_name, upload_path, metadata, submitted_by, "
                "created_at, updated_at) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    source_name,
                    upload_path,
                    json.dumps(metadata, ensure_ascii=False),
                    viewer.name,
                    stamp,
                    stamp,
                ),
            )
            if viewer.audited:
                db.execute(
                    "INSERT INTO audit (at, actor, role, action, target, detail) "
                    "VALUES (?, ?, ?, 'upload', ?, ?)",
                    (stamp, viewer.name, viewer.role, f"job:{job_id}", source_name[:500]),
                )
        return self._get(job_id)

    def _get(self, job_id: str) -> Job:
        rows = self.db.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise NotFoundError(f"no job {job_id!r}")
        return _job(rows[0])

    def get(self, job_id: str, viewer: Viewer) -> Job:
        require(viewer, "read jobs")
        return self._get(job_id)

    def list(self, viewer: Viewer, state: str = "", limit: int = 100) -> builtins.list[Job]:
        require(viewer, "read jobs")
        sql, args = "SELECT * FROM jobs", []
        if state:
            sql, args = sql + " WHERE state = ?", [state]
        rows = self.db.query(sql + " ORDER BY created_at DESC, id LIMIT ?", [*args, limit])
        return [_job(r) for r in rows]

    # -- the worker's side (no viewer: the worker acts for the job's submitter) --------------

    def claim(self, job_id: str, stale_after: float, worker: str = "") -> Job | None:
        """Take a queued job, or a running one whose worker stopped beating; None when
        another worker has it or it is finished. ``worker`` names who took it (host:pid).

        Heartbeats are the workers' clocks: machines sharing an archive keep them in step
        (NTP); a skew well under ``stale_after`` is harmless."""
        with self.db.transaction() as db:
            done = db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, heartbeat_at = ?, "
                "updated_at = ?, worker = ? WHERE id = ? AND (state = 'queued' OR "
                "(state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ?)))",
                (_beat(), now(), worker, job_id, _ago(stale_after)),
            ).rowcount
        return self._get(job_id) if done else None

    def progress(self, job_id: str, fraction: float, message: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, message = ?, heartbeat_at = ?, updated_at = ? "
                "WHERE id = ? AND state = 'running'",
                (max(0.0, min(1.0, fraction)), message[:500], _beat(), now(), job_id),
            )

    def finish(self, job_id: str, results: builtins.list[dict[str, Any]]) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE jobs SET state = 'done', progress = 1, message = 'stored', error = '', "
                "results = ?, updated_at = ? WHERE id = ?",
                (json.dumps(results, ensure_ascii=False), now(), job_id),
            )

    def fail(self, job_id: str, error: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE jobs SET state = 'failed', error = ?, updated_at = ? WHERE id = ?",
                (error[:2000], now(), job_id),
            )

    def unfinished(self, stale_after: float) -> builtins.list[str]:
        """Jobs to hand to a worker again: queued ones, and running ones gone stale."""
        rows = self.db.query(
            "SELECT id FROM jobs WHERE state = 'queued' OR (state = 'running' AND "
            "(heartbeat_at IS NULL OR heartbeat_at < ?)) ORDER BY created_at, id",
            (_ago(stale_after),),
        )
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT state, count(*) FROM jobs GROUP BY state")
        return {r[0]: r[1] for r in rows}
