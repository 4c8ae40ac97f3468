from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from ..deps import ArchiveDep, ViewerDep
from ..schemas import ThemeCount, ThemeInfo, ThemesResponse

router = APIRouter(prefix="/themes", tags=["themes"])


@router.get("", response_model=ThemesResponse)
def themes(
    archive: ArchiveDep,
    viewer: ViewerDep,
    by: str = Query("region", pattern="^(|region|community|language|year)$"),
) -> ThemesResponse:
    """The taxonomy, and testimonies/passages per theme among those the caller may see
    (grouped by region by default)."""
    taxonomy = archive.tagger.taxonomy.to_dict()
    counts = archive.store.theme_counts(viewer, by)
    return ThemesResponse(
        version=taxonomy["version"],
        themes=[ThemeInfo(**t) for t in taxonomy["themes"]],
        by=by or None,
        counts=[ThemeCount(**asdict(c)) for c in counts],
    )
