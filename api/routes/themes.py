from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from ..deps import ArchiveDep, ViewerDep, WriterDep
from ..schemas import EmergentPublic, EmergentQuote, ThemeCount, ThemeInfo, ThemesResponse
from ..theme_table import theme_rows, to_csv

router = APIRouter(prefix="/themes", tags=["themes"])


class CSVResponse(PlainTextResponse):
    media_type = "text/csv"


_BY = Query("region", pattern="^(|region|community|language|year)$")


@router.get("", response_model=ThemesResponse)
def themes(
    archive: ArchiveDep,
    viewer: ViewerDep,
    by: str = _BY,
    quotes: int = Query(0, ge=0, le=20, description="Representative passages per count"),
) -> ThemesResponse:
    """The taxonomy, and per theme and group (region by default) among what the caller
    may see: testimonies and passages tagged, the true share they imply corrected for the
    tagger's measured error rates with a 90% interval and its basis, and quotes."""
    taxonomy = archive.tagger.taxonomy.to_dict()
    return ThemesResponse(
        version=taxonomy["version"],
        themes=[ThemeInfo(**t) for t in taxonomy["themes"]],
        by=by or None,
        counts=[ThemeCount(**row) for row in theme_rows(archive, viewer, by, quotes)],
    )


@router.get(".csv", response_class=CSVResponse)
def themes_csv(archive: ArchiveDep, viewer: ViewerDep, by: str = _BY) -> CSVResponse:
    """The same counts and corrected shares as CSV, one line per theme and group."""
    return CSVResponse(
        to_csv(theme_rows(archive, viewer, by)),
        headers={"Content-Disposition": f'attachment; filename="voces-themes-{by or "all"}.csv"'},
    )


@router.post("/emergent", response_model=list[EmergentPublic])
def emergent(
    archive: ArchiveDep,
    viewer: WriterDep,
    min_size: int = Query(5, ge=2, le=1000, description="Fewest passages in a proposal"),
    quotes: int = Query(3, ge=0, le=20),
) -> list[EmergentPublic]:
    """Discover emergent themes (archivists): clusters of the passages no theme tags, with
    the words that set each apart per language, its regions and example passages.
    Promote one with `voces themes promote NUMBER THEME_ID` (it re-tags the archive)."""
    found = archive.discover_themes(viewer, min_size)
    wanted = [pid for e in found for pid in e.passage_ids[:quotes]]
    shown = {p.id: p for p in archive.read.passages_by_id(wanted, viewer)}
    return [
        EmergentPublic(
            number=e.number,
            size=e.size,
            keywords={lang: list(words) for lang, words in e.keywords.items()},
            regions=e.regions,
            nearest_theme=e.nearest_theme,
            nearest_similarity=e.nearest_similarity,
            quotes=[
                EmergentQuote(
                    passage_id=pid, testimony_id=shown[pid].testimony_id, text=shown[pid].text
                )
                for pid in e.passage_ids[:quotes]
                if pid in shown
            ],
        )
        for e in found
    ]
