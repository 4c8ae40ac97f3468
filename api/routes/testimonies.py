from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse, Response

from corpus import NotFoundError, PassageFilter, Viewer
from pipeline import InputError, Metadata
from pipeline.jobs import JobRunner, new_job_id
from pipeline.uploads import UploadLimits, check_upload, read_manifest, safe_name

from ..deps import ArchiveDep, JobsDep, ViewerDep, WriterDep
from ..errors import STATUS, TooLarge
from ..media_stream import recording_response
from ..schemas import (
    AudioLink,
    ConsentUpdate,
    Deleted,
    ErrorBody,
    SimilarPublic,
    SimilarResponse,
    SpeakerPublic,
    SpeakerRename,
    TestimonyList,
    TestimonyPublic,
    TestimonySummary,
    TestimonyThemePublic,
    UploadMetadata,
    UploadResponse,
    UploadResult,
)
from .convert import (
    audio_url,
    doubtful_words,
    hit_public,
    job_public,
    passage_public,
    speakers_public,
    summary,
)

router = APIRouter(prefix="/testimonies", tags=["testimonies"])

TestimonyId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("", response_model=TestimonyList)
def list_testimonies(
    archive: ArchiveDep,
    viewer: ViewerDep,
    region: Annotated[str, Query(max_length=200)] = "",
    community: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=100)] = "",
    language: Annotated[str, Query(max_length=8)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> TestimonyList:
    """Testimonies the caller may see, newest first, filtered by metadata or by a theme
    told in them."""
    if theme:
        archive.tagger.taxonomy.check_theme(theme)
    flt = PassageFilter(region=region, community=community, theme=theme, language=language)
    items, total = archive.read.list_testimonies(viewer, flt, limit, offset)
    return TestimonyList(total=total, items=[summary(t) for t in items])


@router.get("/{testimony_id}", response_model=TestimonyPublic)
def get_testimony(
    archive: ArchiveDep, viewer: ViewerDep, testimony_id: TestimonyId
) -> TestimonyPublic:
    """A testimony's metadata, its voices, and its passages with times, speaker, theme
    tags and timed words (words and voices' names only for callers who may see names;
    others get names masked and no words)."""
    t = archive.testimony(testimony_id, viewer)
    passages = archive.passages(testimony_id, viewer)
    speakers = archive.speakers(testimony_id, viewer)
    names = {s.label: s.name for s in speakers}
    themes = [
        TestimonyThemePublic(
            theme=x.theme, score=x.score, passages=list(x.passages), reviewed=x.reviewed
        )
        for x in archive.testimony_themes(testimony_id, viewer, passages)
    ]
    return TestimonyPublic(
        **summary(t).model_dump(),
        language_probability=t.language_probability,
        audio_url=audio_url(t.id, t.media_path),
        themes=themes,
        passages=[passage_public(p, names) for p in passages],
        speakers=speakers_public(speakers),
        doubtful_words=doubtful_words(passages),
    )


@router.get("/{testimony_id}/speakers", response_model=list[SpeakerPublic])
def speakers(
    archive: ArchiveDep, viewer: ViewerDep, testimony_id: TestimonyId
) -> list[SpeakerPublic]:
    """A testimony's voices (S1, S2, ...) and the names archivists gave them, masked for
    callers who may not see names."""
    return speakers_public(archive.speakers(testimony_id, viewer))


@router.put("/{testimony_id}/speakers/{label}", response_model=SpeakerPublic)
def rename_speaker(
    archive: ArchiveDep,
    viewer: WriterDep,
    testimony_id: TestimonyId,
    label: Annotated[str, Path(min_length=1, max_length=20)],
    body: SpeakerRename,
) -> SpeakerPublic:
    """Name a voice of a testimony ("Entrevistadora", the narrator's name; archivists).
    The audit log records the rename, not the name."""
    renamed = archive.rename_speaker(testimony_id, label, body.name, viewer)
    return SpeakerPublic(label=renamed.label, name=renamed.name)


@router.get("/{testimony_id}/similar", response_model=SimilarResponse)
def similar(
    archive: ArchiveDep,
    viewer: ViewerDep,
    testimony_id: TestimonyId,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    other_regions: bool = False,
) -> SimilarResponse:
    """Testimonies telling a similar story; ``other_regions`` keeps only other regions."""
    found = archive.similar(testimony_id, viewer, k, other_regions)
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
def audio(
    request: Request,
    archive: ArchiveDep,
    viewer: ViewerDep,
    testimony_id: TestimonyId,
    link: Annotated[
        str, Query(max_length=300, description="A token from /audio-link, in place of a key")
    ] = "",
) -> Response:
    """The original recording (supports HTTP Range requests, so players can seek)."""
    if link:
        settings = request.app.state.settings
        viewer = request.app.state.media_links.viewer(
            link, testimony_id, archive.keys, bool(settings.api_token)
        )
    name = archive.recording(testimony_id, viewer)
    if name is None:
        raise NotFoundError(f"testimony {testimony_id!r} has no recording")
    return recording_response(request, archive.media, name)


@router.get("/{testimony_id}/audio-link", response_model=AudioLink)
def audio_link(
    request: Request, archive: ArchiveDep, viewer: ViewerDep, testimony_id: TestimonyId
) -> AudioLink:
    """A short-lived URL for a player that cannot send the key (a browser's ``<audio>``):
    it opens this recording only, for this key, for an hour. Public recordings need none."""
    if archive.recording(testimony_id, viewer) is None:
        raise NotFoundError(f"testimony {testimony_id!r} has no recording")
    if viewer.role == "anonymous":
        return AudioLink(url=f"/api/v1/testimonies/{testimony_id}/audio", expires_at=0)
    token, expires = request.app.state.media_links.issue(testimony_id, viewer)
    return AudioLink(
        url=f"/api/v1/testimonies/{testimony_id}/audio?link={token}", expires_at=expires
    )


# -- writing ------------------------------------------------------------------------------


def _limits(request: Request) -> UploadLimits:
    settings = request.app.state.settings
    return UploadLimits(
        max_bytes=settings.max_upload_bytes, max_seconds=settings.max_upload_seconds
    )


def _stage(jobs: JobRunner, job_id: str, upload: UploadFile, limit: int) -> tuple[str, FilePath]:
    """Write an uploaded file under VOCES_HOME/uploads/<job>/, refusing it past ``limit``."""
    name = safe_name(upload.filename or "upload")
    target = jobs.staging_path(job_id, name)
    written = 0
    with target.open("wb") as out:
        while block := upload.file.read(1 << 20):
            written += len(block)
            if written > limit:
                out.close()
                jobs.discard(job_id)
                raise TooLarge(f"{name} is over the upload limit of {limit} bytes")
            out.write(block)
    return name, target


def _accept(
    jobs: JobRunner,
    upload: UploadFile,
    meta: Metadata,
    viewer: Viewer,
    limits: UploadLimits,
    speakers: int | None = None,
) -> UploadResult:
    job_id = new_job_id()
    name, target = _stage(jobs, job_id, upload, limits.max_bytes)
    try:
        check = check_upload(target, upload.filename or name, meta, limits)
        job = jobs.submit(job_id, target, check, meta, viewer, speakers)
    except BaseException:
        jobs.discard(job_id)
        raise
    return UploadResult(file=name, accepted=True, job=job_public(job))


def _metadata(form: UploadMetadata) -> Metadata:
    return Metadata(
        title=form.title,
        region=form.region,
        community=form.community,
        date=form.date,
        language="" if form.language == "auto" else form.language,
        consent=form.consent,
        allow_names=form.allow_names,
    )


_UPLOAD_ERRORS = {
    400: {"description": "The file cannot be used (empty, truncated, undecodable, bad rows)"},
    409: {"description": "An id or recording is already stored with other content/consent"},
    413: {"description": "The file is over the upload limit"},
    415: {"description": "The bytes are neither audio nor UTF-8 text"},
}


@router.post(
    "",
    response_model=UploadResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_UPLOAD_ERRORS,  # type: ignore[arg-type]
)
def upload(
    request: Request,
    jobs: JobsDep,
    viewer: WriterDep,
    file: Annotated[UploadFile, File(description="A recording, or typed testimonies")],
    form: Annotated[UploadMetadata, Form()],
) -> UploadResponse:
    """Upload one recording (wav, mp3, m4a, ogg, flac, mp4, webm) or typed testimonies
    (.txt, .jsonl, .csv) with its metadata (archivists). The file is checked and written
    durably, then a worker transcribes, tags and stores it: follow ``/jobs/{id}``."""
    result = _accept(jobs, file, _metadata(form), viewer, _limits(request), form.speakers)
    return UploadResponse(uploads=[result])


@router.post(
    "/bulk",
    response_model=UploadResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses={422: {"description": "No file was accepted; each one says why"}},
)
def upload_bulk(
    request: Request,
    jobs: JobsDep,
    viewer: WriterDep,
    files: Annotated[list[UploadFile], File(description="Recordings and typed files")],
    manifest: Annotated[
        UploadFile | None,
        File(description="CSV or JSONL: a 'file' column and metadata per file"),
    ] = None,
    consent: Annotated[
        str, Form(pattern="^(|public|restricted|private)$", description="Default consent")
    ] = "",
) -> UploadResponse | JSONResponse:
    """Upload several files at once; a manifest gives each file its metadata. Every file
    is reported: accepted with its job, or refused with the reason."""
    defaults = Metadata(consent=consent)
    rows: dict[str, Metadata] = {}
    if manifest is not None:
        job_id = new_job_id()
        name, target = _stage(jobs, job_id, manifest, 10 * 1024**2)
        try:
            rows = read_manifest(target, name, defaults)
        finally:
            jobs.discard(job_id)
    limits = _limits(request)
    results: list[UploadResult] = []
    seen: set[str] = set()
    for upload in files:
        name = safe_name(upload.filename or "upload")
        meta = rows.get(name, defaults)
        try:
            if name in seen:
                raise InputError(f"{name} is uploaded twice in this request")
            seen.add(name)
            if manifest is not None and name not in rows:
                raise InputError(f"{name} is not listed in the manifest")
            if not meta.consent:
                raise InputError(f"{name}: no consent given (manifest column or form field)")
            results.append(_accept(jobs, upload, meta, viewer, limits))
        except Exception as exc:
            status_code, code = next(
                ((s, c) for cls, s, c in STATUS if isinstance(exc, cls)), (0, "")
            )
            if not status_code or status_code >= 500:
                raise
            results.append(
                UploadResult(
                    file=name, accepted=False, error=ErrorBody(code=code, message=str(exc))
                )
            )
    for missing in sorted(set(rows) - seen):
        results.append(
            UploadResult(
                file=missing,
                accepted=False,
                error=ErrorBody(
                    code="missing", message=f"{missing} is in the manifest but was not uploaded"
                ),
            )
        )
    response = UploadResponse(uploads=results)
    if not any(r.accepted for r in results):
        return JSONResponse(response.model_dump(), status_code=422)
    return response


@router.patch("/{testimony_id}", response_model=TestimonySummary)
def change_consent(
    archive: ArchiveDep, viewer: WriterDep, testimony_id: TestimonyId, body: ConsentUpdate
) -> TestimonySummary:
    """Change a testimony's consent level (archivists); recorded in the audit log."""
    return summary(archive.set_consent(testimony_id, body.consent, viewer))


@router.delete("/{testimony_id}", response_model=Deleted)
def delete_testimony(archive: ArchiveDep, viewer: WriterDep, testimony_id: TestimonyId) -> Deleted:
    """Withdraw a testimony (archivists): its recording, passages, tags, reviews and
    vectors are removed everywhere at once."""
    return Deleted(id=testimony_id, passages=archive.delete(testimony_id, viewer))
