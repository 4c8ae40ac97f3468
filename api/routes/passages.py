from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, status

from corpus import Passage, Viewer

from ..deps import ArchiveDep, ViewerDep, WriterDep
from ..schemas import PassageDetail, ReviewCreate, ReviewPublic
from .convert import passage_public

router = APIRouter(prefix="/passages", tags=["passages"])

PassageId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _detail(archive: ArchiveDep, passage: Passage, viewer: Viewer) -> PassageDetail:
    assert passage.id is not None
    return PassageDetail(
        **passage_public(passage).model_dump(),
        testimony_id=passage.testimony_id,
        reviews=[ReviewPublic(**asdict(r)) for r in archive.store.reviews(viewer, [passage.id])],
    )


@router.get("/{passage_id}", response_model=PassageDetail)
def get_passage(archive: ArchiveDep, viewer: ViewerDep, passage_id: PassageId) -> PassageDetail:
    """A passage with its effective tags (reviews applied) and the reviews themselves
    (who reviewed, and their notes, for archivists only)."""
    return _detail(archive, archive.store.passage(passage_id, viewer), viewer)


@router.post(
    "/{passage_id}/reviews", response_model=PassageDetail, status_code=status.HTTP_201_CREATED
)
def review_passage(
    archive: ArchiveDep, viewer: WriterDep, passage_id: PassageId, body: ReviewCreate
) -> PassageDetail:
    """Accept, reject or add a theme on a passage (archivists). The decision wins over
    machine tags and survives re-tagging and re-indexing."""
    archive.tagger.taxonomy.check_theme(body.theme)
    archive.store.review(passage_id, body.theme, body.verdict, viewer, body.reviewer, body.note)
    return _detail(archive, archive.store.passage(passage_id, viewer), viewer)
