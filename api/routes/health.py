from __future__ import annotations

from fastapi import APIRouter

from ..deps import ArchiveDep
from ..schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health)
def health(archive: ArchiveDep) -> Health:
    counts = archive.store.counts()
    return Health(
        status="ok",
        testimonies=counts["testimonies"],
        passages=counts["passages"],
        indexed=len(archive.index),
        embedder=archive.embedder.name,
        taxonomy_version=archive.tagger.taxonomy.version,
    )
