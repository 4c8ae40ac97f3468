from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from corpus import PassageFilter
from pipeline.texts import check_date

from ..deps import ArchiveDep, ViewerDep
from ..schemas import SearchResponse
from .convert import hit_public

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchResponse)
def search(
    archive: ArchiveDep,
    viewer: ViewerDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query, any language")],
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    region: Annotated[str, Query(max_length=200)] = "",
    community: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=100)] = "",
    language: Annotated[str, Query(max_length=8)] = "",
    since: Annotated[str, Query(max_length=10, description="YYYY[-MM[-DD]]")] = "",
    until: Annotated[str, Query(max_length=10, description="YYYY[-MM[-DD]]")] = "",
    group: Annotated[
        bool, Query(description="One hit per testimony (default), or false: passages")
    ] = True,
) -> SearchResponse:
    """What answers ``q`` best, across languages, within the filters and what the caller
    may see: ``k`` distinct testimonies, each with its best passage, the passages around
    it and the query's words highlighted (``group=false``: the ``k`` closest passages)."""
    flt = PassageFilter(
        region=region,
        community=community,
        theme=theme,
        language=language,
        date_from=check_date(since, "since: "),
        date_to=check_date(until, "until: "),
    )
    hits = archive.search(q, viewer, k, flt, group=group)
    return SearchResponse(query=q, hits=[hit_public(h) for h in hits])
