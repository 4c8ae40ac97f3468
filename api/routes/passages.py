from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from corpus import NotFoundError, Passage

from ..deps import AccessDep, ArchiveDep, ArchivistDep
from ..schemas import PassageDetail, ReviewCreate, ReviewPublic
from .convert import passage_public

router = APIRouter(prefix="/passages", tags=["passages"])


def _visible(archive: ArchiveDep, passage_id: int, access: tuple[str, ...]) -> Passage:
    passage = archive.store.passage(passage_id)
    if archive.store.get_testimony(passage.testimony_id).consent not in access:
        raise NotFoundError(f"no passage {passage_id}")
    return passage


def _detail(archive: ArchiveDep, passage: Passage) -> PassageDetail:
    assert passage.id is not None
    return PassageDetail(
        **passage_public(passage).model_dump(),
        testimony_id=passage.testimony_id,
        reviews=[ReviewPublic(**asdict(r)) for r in archive.store.reviews([passage.id])],
    )


@router.get("/{passage_id}", response_model=PassageDetail)
def get_passage(archive: ArchiveDep, access: AccessDep, passage_id: int) -> PassageDetail:
    """A passage with its effective tags (reviews applied) and the reviews themselves."""
    return _detail(archive, _visible(archive, passage_id, access))


@router.post(
    "/{passage_id}/reviews", response_model=PassageDetail, status_code=status.HTTP_201_CREATED
)
def review_passage(
    archive: ArchiveDep,
    access: AccessDep,
    _: ArchivistDep,
    passage_id: int,
    body: ReviewCreate,
) -> PassageDetail:
    """Accept, reject or add a theme on a passage (needs the archive's token). The
    decision wins over machine tags and survives re-tagging and re-indexing."""
    _visible(archive, passage_id, access)
    archive.tagger.taxonomy.check_theme(body.theme)
    archive.store.review(passage_id, body.theme, body.verdict, body.reviewer, body.note)
    return _detail(archive, archive.store.passage(passage_id))
