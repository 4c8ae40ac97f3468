from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from starlette.convertors import Convertor, register_url_convertor

from corpus import Passage, Viewer, allowed

from ..deps import ArchiveDep, ViewerDep, WriterDep
from ..schemas import (
    PassageCorrection,
    PassageDetail,
    PassageEditPublic,
    ReviewCandidatePublic,
    ReviewCreate,
    ReviewPublic,
    ReviewTotals,
    SpeakerChange,
)
from .convert import passage_public

router = APIRouter(prefix="/passages", tags=["passages"])


class _SignedInt(Convertor[int]):
    """Path segments that look like integers (negative too, so that range checks answer
    422, not 404), leaving words such as ``review-queue`` to their own routes: a PATCH
    there is then a 405, not an attempt to read "review-queue" as a passage id."""

    regex = "-?[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("passage_id", _SignedInt())

PassageId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _detail(archive: ArchiveDep, passage: Passage, viewer: Viewer) -> PassageDetail:
    assert passage.id is not None
    names = {s.label: s.name for s in archive.speakers(passage.testimony_id, viewer)}
    return PassageDetail(
        **passage_public(passage, names).model_dump(),
        testimony_id=passage.testimony_id,
        reviews=[ReviewPublic(**asdict(r)) for r in archive.read.reviews(viewer, [passage.id])],
        edits=[
            PassageEditPublic(**asdict(e)) for e in archive.read.passage_edits(passage.id, viewer)
        ]
        if allowed(viewer, "read edit history")
        else [],
    )


@router.get("/review-queue", response_model=list[ReviewCandidatePublic])
def review_queue(
    archive: ArchiveDep,
    viewer: WriterDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    theme: Annotated[str, Query(max_length=100)] = "",
    pool: Annotated[int, Query(ge=1, le=5000, description="Unreviewed passages scored")] = 300,
) -> list[ReviewCandidatePublic]:
    """The passages whose review would teach the tagger most (archivists): from a pool
    of unreviewed passages, those the tagger is least sure of or whose rules, similarity
    and classifier disagree, themes with fewer reviews first; one theme per passage."""
    return [
        ReviewCandidatePublic(**asdict(c)) for c in archive.review_queue(viewer, limit, theme, pool)
    ]


@router.get("/review-totals", response_model=ReviewTotals)
def review_totals(archive: ArchiveDep, viewer: WriterDep) -> ReviewTotals:
    """How many passages carry a current review, per theme (archivists; counts only)."""
    totals = archive.review_totals(viewer)
    return ReviewTotals(total=sum(totals.values()), themes=totals)


@router.get("/{passage_id:passage_id}", response_model=PassageDetail)
def get_passage(archive: ArchiveDep, viewer: ViewerDep, passage_id: PassageId) -> PassageDetail:
    """A passage with its effective tags (reviews applied) and the reviews themselves
    (who reviewed, and their notes, for archivists only)."""
    return _detail(archive, archive.read.passage(passage_id, viewer), viewer)


@router.post(
    "/{passage_id:passage_id}/reviews",
    response_model=PassageDetail,
    status_code=status.HTTP_201_CREATED,
)
def review_passage(
    archive: ArchiveDep, viewer: WriterDep, passage_id: PassageId, body: ReviewCreate
) -> PassageDetail:
    """Accept, reject or add a theme on a passage (archivists). The decision wins over
    machine tags and survives re-tagging and re-indexing."""
    archive.tagger.taxonomy.check_theme(body.theme)
    archive.review(passage_id, body.theme, body.verdict, viewer, body.reviewer, body.note)
    return _detail(archive, archive.read.passage(passage_id, viewer), viewer)


@router.patch("/{passage_id:passage_id}", response_model=PassageDetail)
def correct_passage(
    archive: ArchiveDep, viewer: WriterDep, passage_id: PassageId, body: PassageCorrection
) -> PassageDetail:
    """Correct a passage's transcript text (archivists). Its start and end times stay;
    the text is embedded, tagged and redacted again, and the edit is kept in ``edits``."""
    passage, _ = archive.correct_passage(passage_id, body.text, viewer, body.editor, body.note)
    return _detail(archive, passage, viewer)


@router.put("/{passage_id:passage_id}/speaker", response_model=PassageDetail)
def set_speaker(
    archive: ArchiveDep, viewer: WriterDep, passage_id: PassageId, body: SpeakerChange
) -> PassageDetail:
    """Fix a turn (archivists): the passage is spoken by ``speaker``, a voice of its
    testimony or a new label S<n> (which adds that voice)."""
    return _detail(archive, archive.set_speaker(passage_id, body.speaker, viewer), viewer)
