from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query

from ..deps import ArchiveDep, ViewerDep
from ..schemas import ThemeCount, ThemeInfo, ThemeQuote, ThemesResponse

router = APIRouter(prefix="/themes", tags=["themes"])


@router.get("", response_model=ThemesResponse)
def themes(
    archive: ArchiveDep,
    viewer: ViewerDep,
    by: str = Query("region", pattern="^(|region|community|language|year)$"),
    quotes: int = Query(0, ge=0, le=20, description="Representative passages per count"),
) -> ThemesResponse:
    """The taxonomy, and testimonies/passages per theme among those the caller may see
    (grouped by region by default)."""
    taxonomy = archive.tagger.taxonomy.to_dict()
    counts = archive.store.theme_counts(viewer, by)
    shares = {(p.theme, p.group): p for p in archive.theme_prevalence(viewer, by)}
    quoted = archive.store.theme_quotes(viewer, by, quotes)
    rows = []
    for c in counts:
        share = shares.get((c.theme, c.group))
        extra: dict[str, object] = {}
        if share is not None:
            extra = {
                "passages_in_group": share.passages,
                "tagged_share": round(share.observed, 4),
                "estimated_share": None if share.estimate is None else round(share.estimate, 4),
                "interval90": None
                if share.low is None or share.high is None
                else (round(share.low, 4), round(share.high, 4)),
                "basis": share.basis,
            }
        extra["quotes"] = [
            ThemeQuote(
                testimony_id=h.testimony_id,
                passage_id=h.passage_id,
                text=h.text,
                start=h.start,
                end=h.end,
                score=h.score,
                has_audio=h.has_audio,
            )
            for h in quoted.get((c.theme, c.group), [])
        ]
        rows.append(ThemeCount(**asdict(c), **extra))  # type: ignore[arg-type]
    return ThemesResponse(
        version=taxonomy["version"],
        themes=[ThemeInfo(**t) for t in taxonomy["themes"]],
        by=by or None,
        counts=rows,
    )
