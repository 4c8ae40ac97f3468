"""Exports as downloads: one testimony in any format, or a filtered set as CSV, JSON lines
or JSON. Only what the caller may see is read (see :mod:`pipeline.exports`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from pipeline.exports import FORMATS, SET_FORMATS, Export, export_set, export_testimony

from ..deps import ArchiveDep, FilterDep, ViewerDep
from ..schemas import TagPublic

router = APIRouter(tags=["exports"])

TestimonyFormat = Literal["vtt", "srt", "txt", "json", "csv", "jsonl", "ohms", "iiif"]
SetFormat = Literal["csv", "jsonl", "json"]
assert set(get_args(TestimonyFormat)) == set(FORMATS)
assert set(get_args(SetFormat)) == set(SET_FORMATS)
WordsQuery = Annotated[
    bool,
    Query(
        description="Word times too, where the format has a place for them (vtt: timestamp "
        "tags in cues; iiif: an annotation per word; json, jsonl: a words list) and the "
        "caller may read them: never in a copy with names masked"
    ),
]


class ExportedWord(BaseModel):
    """A word as Whisper heard it (seconds from the start of the recording)."""

    start: float
    end: float
    text: str
    probability: float
    edited: bool  # a correction wrote it; its times are interpolated


class ExportedPassage(BaseModel):
    id: int | None
    seq: int
    start: float | None
    end: float | None
    speaker: str  # the voice's label ("S1"), "" where the recording was not diarized
    speaker_name: str  # the name shown for it (masked where names are), else the label
    text: str
    redacted: bool
    tags: list[TagPublic]
    words: list[ExportedWord] | None = Field(
        None, description="With words=true: its timed words ([] where it has none)"
    )


class ExportedSpeaker(BaseModel):
    label: str
    name: str  # as the caller may see it; the label where unnamed


class ExportedTestimony(BaseModel):
    """``format=json`` for one testimony."""

    id: str
    title: str
    region: str
    community: str
    date: str
    language: str
    duration: float | None
    consent: str
    source_kind: str
    illustrative: bool
    allow_names: bool
    masked: bool  # names and numbers are masked for this caller
    themes: list[str]
    speakers: list[ExportedSpeaker]  # in the order first heard
    passages: list[ExportedPassage]


class ExportedSet(BaseModel):
    """``format=json`` for a filtered set."""

    count: int
    testimonies: list[ExportedTestimony]


def _documented(names: tuple[str, ...], model: type[BaseModel]) -> dict[int | str, Any]:
    """The 200 answer's media types: ``model`` for JSON, a JSON object for IIIF, text for
    the others."""
    content: dict[str, Any] = {}
    for name in names:
        media_type = FORMATS[name].media_type
        if name == "iiif":
            content[media_type] = {
                "schema": {"type": "object", "description": "A IIIF Presentation 3 manifest"}
            }
        elif name != "json":
            content[media_type] = {"schema": {"type": "string", "description": name}}
    return {200: {"description": "The export, as a download", "model": model, "content": content}}


def _download(export: Export) -> Response:
    return Response(
        export.content,
        media_type=export.format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@router.get(
    "/testimonies/{testimony_id}/export",
    response_class=Response,
    responses=_documented(tuple(FORMATS), ExportedTestimony),
)
def export_one(
    request: Request,
    archive: ArchiveDep,
    viewer: ViewerDep,
    testimony_id: Annotated[str, Path(min_length=1, max_length=200)],
    format: Annotated[TestimonyFormat, Query(description="What to export")] = "json",
    words: WordsQuery = False,
) -> Response:
    """One testimony as a file: captions (vtt, srt), a transcript (txt, json), its
    passages with tags (csv, jsonl), an OHMS index (ohms) or a IIIF Presentation 3
    manifest (iiif). Captions, OHMS and IIIF need times: a typed testimony answers 400.
    Where the recording was diarized every format names its voices (WebVTT ``<v>``
    spans, ``Name:`` in SRT, text and OHMS, IIIF labels, a ``speaker`` field)."""
    base_url = str(request.base_url).rstrip("/")
    return _download(export_testimony(archive, testimony_id, viewer, format, base_url, words))


@router.get("/exports", response_class=Response, responses=_documented(SET_FORMATS, ExportedSet))
def export_many(
    archive: ArchiveDep,
    viewer: ViewerDep,
    flt: FilterDep,
    format: Annotated[SetFormat, Query(description="What to export")] = "csv",
    words: WordsQuery = False,
) -> Response:
    """Every testimony the caller may see within the filters, whole, with its passages
    and tags: one row per passage (csv, jsonl) or one object per testimony (json)."""
    if flt.theme:
        archive.tagger.taxonomy.check_theme(flt.theme)
    return _download(export_set(archive, viewer, format, flt, words=words))
