from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from corpus import NotFoundError, PassageFilter, Testimony

from ..deps import AccessDep, ArchiveDep
from ..schemas import (
    SimilarPublic,
    SimilarResponse,
    TestimonyList,
    TestimonyPublic,
    TestimonyThemePublic,
)
from .convert import audio_url, hit_public, passage_public, summary

router = APIRouter(prefix="/testimonies", tags=["testimonies"])

_MEDIA_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}


def _visible(archive: ArchiveDep, testimony_id: str, access: tuple[str, ...]) -> Testimony:
    testimony = archive.store.get_testimony(testimony_id)
    if testimony.consent not in access:  # same answer as absent: existence is not leaked
        raise NotFoundError(f"no testimony {testimony_id!r}")
    return testimony


@router.get("", response_model=TestimonyList)
def list_testimonies(
    archive: ArchiveDep,
    access: AccessDep,
    region: str = "",
    community: str = "",
    theme: str = "",
    language: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TestimonyList:
    """Testimonies, newest first, filtered by metadata or by a theme told in them."""
    if theme:
        archive.tagger.taxonomy.check_theme(theme)
    flt = PassageFilter(
        region=region, community=community, theme=theme, language=language, consent=access
    )
    items, total = archive.store.list_testimonies(flt, limit, offset)
    return TestimonyList(total=total, items=[summary(t) for t in items])


@router.get("/{testimony_id}", response_model=TestimonyPublic)
def get_testimony(archive: ArchiveDep, access: AccessDep, testimony_id: str) -> TestimonyPublic:
    """A testimony's metadata and its passages with times and theme tags."""
    t = _visible(archive, testimony_id, access)
    passages = archive.store.passages(testimony_id)
    themes = [
        TestimonyThemePublic(
            theme=x.theme, score=x.score, passages=list(x.passages), reviewed=x.reviewed
        )
        for x in archive.testimony_themes(testimony_id, passages)
    ]
    return TestimonyPublic(
        **summary(t).model_dump(),
        language_probability=t.language_probability,
        audio_url=audio_url(t.id, t.media_path),
        themes=themes,
        passages=[passage_public(p) for p in passages],
    )


@router.get("/{testimony_id}/similar", response_model=SimilarResponse)
def similar(
    archive: ArchiveDep,
    access: AccessDep,
    testimony_id: str,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    other_regions: bool = False,
) -> SimilarResponse:
    """Testimonies telling a similar story; ``other_regions`` keeps only other regions."""
    _visible(archive, testimony_id, access)
    found = archive.similar(testimony_id, k, other_regions, consent=access)
    return SimilarResponse(
        testimony_id=testimony_id,
        similar=[
            SimilarPublic(
                testimony_id=s.testimony_id,
                title=s.title,
                region=s.region,
                community=s.community,
                language=s.language,
                score=s.score,
                passage=hit_public(s.passage),
            )
            for s in found
        ],
    )


@router.get("/{testimony_id}/audio", response_class=FileResponse)
def audio(archive: ArchiveDep, access: AccessDep, testimony_id: str) -> FileResponse:
    """The original recording (supports HTTP Range requests, so players can seek)."""
    t = _visible(archive, testimony_id, access)
    path = archive.home / t.media_path if t.media_path else None
    if path is None or not path.is_file():
        raise NotFoundError(f"testimony {testimony_id!r} has no recording")
    return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix, "application/octet-stream"))
