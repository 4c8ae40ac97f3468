"""``voces`` verbs that bring material in or look at it without storing it: ingest,
transcribe, tag, and reindex (re-embed what is stored)."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from corpus import CONSENT_LEVELS
from pipeline import Metadata, split_text, spool_audio, transcribe
from pipeline.language import guess_language
from pipeline.speakers import MAX_SPEAKERS, label_segments
from pipeline.texts import check_date
from pipeline.transcribe import doubtful

from . import services
from .cli_base import emit, friendly, pass_settings, progress_printer, tag_json, viewer_for
from .settings import Settings


def _speakers_option(fn: Any) -> Any:
    return click.option(
        "--speakers",
        type=click.IntRange(1, MAX_SPEAKERS),
        default=None,
        help=f"How many voices each recording holds (1-{MAX_SPEAKERS}); default: estimated.",
    )(fn)


def _language_option(value: str | None) -> str | None:
    if value in (None, "", "auto"):
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if value not in _LANGUAGE_CODES:
        raise click.BadParameter(f"{value!r} is not a language Whisper knows (e.g. es, en)")
    return value


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--region", default="", help="Region, e.g. Cajamarca.")
@click.option("--community", default="", help="Community or district.")
@click.option("--language", default="auto", help="es, en, ... or auto (detect).")
@click.option("--date", default="", help="Date of the testimony, YYYY-MM-DD.")
@click.option("--title", default="", help="Title (default: the file name).")
@click.option(
    "--consent",
    type=click.Choice(CONSENT_LEVELS),
    default="restricted",
    show_default=True,
    help="public: anyone; restricted: researchers and archivists; private: archivists only.",
)
@click.option("--allow-names", is_flag=True, help="The witness agreed to be named publicly.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--progress/--no-progress", default=None, help="Show progress on stderr.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Only queue the files; a worker (`voces serve` or "
    "`voces worker`) stores them. Prints the job ids.",
)
@_speakers_option
@pass_settings
@friendly
def ingest(
    settings: Settings,
    paths: tuple[Path, ...],
    region: str,
    community: str,
    language: str,
    date: str,
    title: str,
    consent: str,
    allow_names: bool,
    as_json: bool,
    progress: bool | None,
    no_wait: bool,
    speakers: int | None,
) -> None:
    """Add recordings (wav, mp3, m4a, ogg, flac, mp4, ...) or typed testimonies
    (.txt, .jsonl, .csv) to the archive. Ingesting the same bytes again changes nothing."""
    meta = Metadata(
        title=title,
        region=region,
        community=community,
        date=check_date(date, "--date: "),
        language=_language_option(language) or "",
        consent=consent,
        allow_names=allow_names,
    )
    viewer = viewer_for(None)
    if no_wait:
        _enqueue(settings, list(paths), meta, as_json, speakers)
        return
    show = sys.stderr.isatty() if progress is None else progress
    with services.build_archive(settings) as archive:
        results = archive.ingest_paths(list(paths), meta, viewer, progress_printer(show), speakers)
    if as_json:
        emit(
            {
                "added": [r.id for r in results if r.status == "added"],
                "present": [r.id for r in results if r.status == "present"],
                "results": [asdict(r) for r in results],
            }
        )
        return
    for r in results:
        if r.status == "added":
            extra = f", {r.duration:.1f} s" if r.duration else ""
            click.echo(f"added    {r.id}  {r.source} ({r.passages} passages, {r.language}{extra})")
        else:
            click.echo(f"present  {r.id}  {r.source} (already in the archive)")


def _enqueue(
    settings: Settings, paths: list[Path], meta: Metadata, as_json: bool, speakers: int | None
) -> None:
    """Check and stage every file, then queue them all (nothing is queued if one is bad)."""
    import shutil

    from pipeline.jobs import job_json, new_job_id
    from pipeline.uploads import UploadLimits, check_upload, safe_name

    archive = services.build_archive(settings, models=False)
    runner = services.build_jobs(archive, settings)
    limits = UploadLimits(settings.max_upload_bytes, settings.max_upload_seconds)
    job_ids: list[str] = []
    staged = []
    try:
        for path in paths:
            if path.is_symlink():
                raise click.ClickException(f"{path} is a symbolic link; pass the file itself")
            if not path.is_file():
                raise click.ClickException(f"no such file: {path}")
            job_ids.append(new_job_id())  # discarded with the others on any failure
            target = runner.staging_path(job_ids[-1], safe_name(path.name))
            shutil.copyfile(path, target)
            check = check_upload(target, path.name, meta, limits)
            runner.validate(target, check, meta, speakers)
            staged.append((job_ids[-1], target, check))
        jobs = [runner.submit(j, t, c, meta, viewer_for(None), speakers) for j, t, c in staged]
    except BaseException:
        for job_id in job_ids:
            runner.discard(job_id)
        raise
    finally:
        archive.close()
    if as_json:
        emit({"jobs": [job_json(j) for j in jobs]})
        return
    for job in jobs:
        click.echo(f"queued   {job.id}  {job.source_name}")


@click.command(name="transcribe")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--language", default="auto", help="es, en, ... or auto (detect).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_speakers_option
@pass_settings
@friendly
def transcribe_cmd(
    settings: Settings, file: Path, language: str, as_json: bool, speakers: int | None
) -> None:
    """Transcribe a recording without storing anything: each segment with its speaker
    (S1, S2, ...) and, with --json, its timed words."""
    if not file.is_file():
        raise click.ClickException(f"no such file: {file}")
    with tempfile.TemporaryDirectory(prefix="voces-transcribe-") as spool:
        # spooled to disk and read a chunk at a time: hours of audio never sit in memory
        audio = spool_audio(file, Path(spool) / "audio.pcm")
        model = services.whisper_loader(settings)()
        result = transcribe(
            model, audio, services.transcribe_options(settings, _language_option(language))
        )
        segments = list(result.segments)
        # who speaks when, while the decoded audio is still there
        loader = services.speaker_loader(settings) if speakers != 1 else None
        segments = label_segments(audio, segments, loader() if loader else None, speakers)
    if as_json:
        emit(
            {
                "language": result.language,
                "language_probability": result.language_probability,
                "duration": round(result.duration, 2),
                "segments": [
                    {
                        "start": s.start,
                        "end": s.end,
                        "text": s.text,
                        "speaker": s.speaker,
                        "words": [
                            {
                                "start": w.start,
                                "end": w.end,
                                "text": w.text,
                                "probability": round(w.probability, 4),
                                "doubtful": doubtful(w),
                            }
                            for w in s.words
                        ],
                    }
                    for s in segments
                ],
            }
        )
        return
    for s in segments:
        click.echo(f"[{s.start:7.2f} → {s.end:7.2f}] {s.speaker}: {s.text}")


def _tag_inputs(file: Path | None) -> list[dict[str, str]]:
    if file is None:
        lines = sys.stdin.read().splitlines()
        source = "stdin"
    else:
        try:
            lines = file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot read {file}: {exc}") from exc
        source = file.name
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(
                    f"{source}:{number}: not valid JSON ({exc.msg})"
                ) from exc
            if not isinstance(row, dict) or not str(row.get("text", "")).strip():
                raise click.ClickException(f'{source}:{number}: expected {{"id", "text"}}')
            items.append(
                {
                    "id": str(row.get("id", number)),
                    "text": str(row["text"]),
                    "language": str(row.get("language") or ""),
                }
            )
        elif file is not None:
            raise click.ClickException(f"{source}:{number}: expected a JSON object per line")
        else:
            items.append({"id": str(number), "text": line, "language": ""})
    if not items:
        raise click.ClickException(f"{source}: nothing to tag")
    return items


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_settings
@friendly
def tag(settings: Settings, file: Path | None, as_json: bool) -> None:
    """Tag texts with themes without storing anything.

    Reads FILE.jsonl ({"id", "text"} per line) or, without FILE, plain text lines
    (or JSON lines) from stdin. A long text (a whole testimony or case) is cut into
    passages as an ingest cuts it: it holds a theme with its best passage's score, and
    the passages that hold the theme are listed, best first.
    """
    items = _tag_inputs(file)
    embedder = (
        services.load_embedder(settings.embedder, settings.threads)
        if settings.similarity_tags
        else None
    )
    tagger = services.build_tagger(settings, embedder)
    for item in items:
        language = item["language"] or guess_language(item["text"])[0] or "es"
        passages = split_text(item["text"]) or [item["text"]]
        found, _ = tagger.tag_document(passages, language)
        themes = [
            {
                **tag_json(d.tag),
                "passages": [
                    {"n": n, "score": score, "text": text} for n, text, score in d.passages
                ],
            }
            for d in found
        ]
        if as_json:
            emit({"id": item["id"], "passages": len(passages), "themes": themes})
        else:
            listed = ", ".join(_document_theme(t, len(passages)) for t in themes) or "(none)"
            click.echo(f"{item['id']}: {listed}")


def _document_theme(theme: dict[str, Any], passages: int) -> str:
    if passages == 1:
        return f"{theme['theme']} {theme['score']:.2f}"
    held = ", ".join(str(p["n"] + 1) for p in theme["passages"][:5])
    more = "..." if len(theme["passages"]) > 5 else ""
    return f"{theme['theme']} {theme['score']:.2f} (passages {held}{more} of {passages})"


@click.command()
@pass_settings
@friendly
def reindex(settings: Settings) -> None:
    """Re-embed every passage with the configured embedder and rebuild the vector index."""
    from pipeline import Archive

    embedder = services.load_embedder(settings.embedder, settings.threads)
    archive = Archive(
        settings.home,
        embedder=embedder,
        tagger=services.build_tagger(settings, embedder),
        fresh_index=True,
    )
    archive.close()
    click.echo(f"reindexed {archive.rebuilt} passages with {embedder.name}")
