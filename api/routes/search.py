from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import ArchiveDep, FilterDep, ViewerDep
from ..schemas import SearchResponse
from .convert import hit_public

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchResponse)
def search(
    archive: ArchiveDep,
    viewer: ViewerDep,
    flt: FilterDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query, any language")],
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    group: Annotated[
        bool, Query(description="One hit per testimony (default), or false: passages")
    ] = True,
    speaker: Annotated[
        str,
        Query(
            max_length=200,
            description="Only passages of this voice: its label (S1) or, where the caller "
            "may see names, the name an archivist gave it",
        ),
    ] = "",
) -> SearchResponse:
    """What answers ``q`` best, across languages, within the filters and what the caller
    may see: ``k`` distinct testimonies, each with its best passage, the passages around
    it and the query's words highlighted (``group=false``: the ``k`` closest passages)."""
    if speaker.strip():
        flt = replace(flt, speaker=speaker.strip())
    hits = archive.search(q, viewer, k, flt, group=group)
    return SearchResponse(query=q, hits=[hit_public(h) for h in hits])
