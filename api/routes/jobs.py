from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ..deps import ArchiveDep, WriterDep
from ..schemas import JobList, JobPublic
from .convert import job_public

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=JobList)
def list_jobs(
    archive: ArchiveDep,
    viewer: WriterDep,
    state: Annotated[str, Query(pattern="^(|queued|running|done|failed)$")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobList:
    """Uploads and where they stand, newest first (archivists)."""
    return JobList(jobs=[job_public(j) for j in archive.jobs.list(viewer, state, limit)])


@router.get("/{job_id}", response_model=JobPublic)
def get_job(
    archive: ArchiveDep, viewer: WriterDep, job_id: Annotated[str, Path(max_length=100)]
) -> JobPublic:
    """One upload's state, progress (0..1), message, error, and the testimonies stored."""
    return job_public(archive.jobs.get(job_id, viewer))
