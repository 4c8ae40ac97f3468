from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from corpus import PassageFilter
from pipeline.texts import check_date

from ..deps import AccessDep, ArchiveDep
from ..schemas import SearchResponse
from .convert import hit_public

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchResponse)
def search(
    archive: ArchiveDep,
    access: AccessDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query, any language")],
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    region: str = "",
    community: str = "",
    theme: str = "",
    language: str = "",
    since: Annotated[str, Query(description="YYYY[-MM[-DD]]")] = "",
    until: Annotated[str, Query(description="YYYY[-MM[-DD]]")] = "",
) -> SearchResponse:
    """Passages closest in meaning to ``q``, across languages, within the filters."""
    flt = PassageFilter(
        region=region,
        community=community,
        theme=theme,
        language=language,
        date_from=check_date(since, "since: "),
        date_to=check_date(until, "until: "),
        consent=access,
    )
    hits = archive.search(q, k, flt)
    return SearchResponse(query=q, hits=[hit_public(h) for h in hits])
