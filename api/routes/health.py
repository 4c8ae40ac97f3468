from __future__ import annotations

from fastapi import APIRouter

from ..deps import ArchiveDep, ViewerDep
from ..schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health)
def health(archive: ArchiveDep, viewer: ViewerDep) -> Health:
    """The server answers; counts are of what the caller may see."""
    counts = archive.read.counts(viewer)
    return Health(
        status="ok",
        role=viewer.role,
        testimonies=counts["testimonies"],
        passages=counts["passages"],
        embedder=archive.embedder.name if archive.embedder else "",
        taxonomy_version=archive.tagger.taxonomy.version,
    )
