"""Keeping an archive whole: the consistency check, backup and restore.

``check`` compares what SQLite holds (the truth) with what is derived from it or stored
beside it: vectors, the FAISS index, media files, redacted copies, staged uploads. With
``repair`` it fixes what can be fixed from SQLite alone.

``backup`` is consistent while the server runs: it holds the archive's write lock (reads
go on; writers wait), copies SQLite with its online backup API (a transactionally
consistent snapshot, WAL included) and copies the files beside it; a manifest records
every file's SHA-256. ``restore`` (pipeline/restoring.py) treats a backup as untrusted:
it checks the manifest, the folder, the digests and SQLite's integrity on a copy, and swaps
the copy in whole.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus import Viewer
from corpus.media import replace_durably

from . import partial
from .archive import Archive, sha256_file
from .errors import InputError, PipelineError
from .restoring import DATABASES as _DATABASES
from .restoring import FOLDERS as _FOLDERS
from .restoring import FORMAT, restore

__all__ = ["CheckReport", "backup", "check", "restore"]

logger = logging.getLogger(__name__)


@dataclass
class CheckReport:
    passages: int = 0
    vectors: int = 0
    indexed: int = 0
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passages": self.passages,
            "vectors": self.vectors,
            "indexed": self.indexed,
            "problems": self.problems,
            "repaired": self.repaired,
        }


def check(archive: Archive, repair: bool = False) -> CheckReport:
    """Find (and with ``repair``, fix) disagreements between SQLite and the rest."""
    report = CheckReport()
    store = archive.store

    def problem(text: str, fixed: bool) -> None:
        (report.repaired if fixed else report.problems).append(text)

    integrity = store.integrity_check()
    if integrity != "ok":
        problem(f"SQLite integrity check: {integrity}", False)
    with archive.writing():
        passages = store.all_passage_ids()
        vectors = store.vector_ids()
        missing = sorted(passages - vectors)
        if missing:
            fixed = repair and archive.embedder is not None
            if fixed:
                archive._embed_passages(missing)
            problem(f"{len(missing)} passages have no stored vector", fixed)
        media = store.media_paths()
        kept = set(archive.media.names("media/"))
        for path in sorted(media - kept):
            problem(f"recording {path} is missing (restore it from a backup)", False)
        for name in sorted(kept - media):
            if repair:
                archive.media.delete(name)
            problem(f"{name} belongs to no testimony (left by an interrupted ingest)", repair)
        jobs = {j.id: j for j in store.jobs.list(Viewer.system(), limit=10**9)}

        def unfinished(job_id: str) -> bool:
            job = jobs.get(job_id)
            return job is not None and job.state != "done"

        uploads = archive.shared / "uploads"  # staged here first (and kept, in a folder)
        for staged in sorted(uploads.iterdir()) if uploads.is_dir() else []:
            if not unfinished(staged.name):
                if repair:
                    shutil.rmtree(staged, ignore_errors=True)
                problem(f"uploads/{staged.name} belongs to no unfinished job", repair)
        if archive.media.local_path("uploads") is None:  # uploads kept in a bucket
            for job_id in sorted({n.split("/")[1] for n in archive.media.names("uploads/")}):
                if not unfinished(job_id):
                    if repair:
                        archive.media.delete_under(f"uploads/{job_id}/")
                    problem(
                        f"uploads/{job_id} in {archive.media.location} belongs to no "
                        "unfinished job",
                        repair,
                    )
        _check_partial(archive, repair, problem)
    passages_left, titles_left = store.unredacted(Viewer.system())
    if (passages_left or titles_left) and archive.redact is not None:
        fixed = repair
        if repair:
            archive.fill_redactions()
        problem(f"{len(passages_left)} passages have no redacted copy", fixed)
    elif passages_left or titles_left:
        problem(
            f"{len(passages_left)} passages have no redacted copy (redaction is off: "
            "anonymous users and researchers see […] in their place)",
            False,
        )
    for text, fixed in archive.vectors.check(repair):
        problem(text, fixed)
    if archive.embedder is not None:
        report.indexed = archive.indexed()
    report.passages = len(store.all_passage_ids())
    report.vectors = len(store.vector_ids())
    return report


#: A transcription checkpoint untouched this long, of a recording neither stored nor
#: waiting in a job, belongs to an ingest that was interrupted and never resumed (a
#: running one writes its checkpoint after every 4-minute chunk).
STALE_PARTIAL_SECONDS = 24 * 3600


def _check_partial(archive: Archive, repair: bool, problem: Callable[[str, bool], None]) -> None:
    """Leftovers under ``partial/`` (see :mod:`pipeline.partial`): spooled audio whose
    process is gone, whatever its age (it holds a whole recording, and only that process
    would remove it); checkpoints of recordings already stored; and checkpoints untouched
    for a day of recordings no unfinished job holds (an interrupted ``voces ingest`` that
    was never run again)."""
    folder = archive.home / "partial"
    now = time.time()
    for file in sorted(folder.iterdir()) if folder.is_dir() else []:
        alive = partial.owner_alive(file)
        if alive:
            continue  # an ingest is decoding or transcribing it now
        if alive is False:
            why = "spooled audio of an ingest whose process is gone"
        elif archive.store.find_by_hash(file.name.split(".")[0]) is not None:
            why = "its recording is stored"
        elif now - file.stat().st_mtime > STALE_PARTIAL_SECONDS:
            why = "left by an interrupted ingest a day or more ago"
        else:
            continue  # an ingest may be retried soon and resume from it
        if repair:
            file.unlink(missing_ok=True)
        problem(f"partial/{file.name}: {why}", repair)


def _copy_database(source: Path, target: Path) -> None:
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _fetch_all(archive: Archive, prefix: str, destination: Path) -> None:
    """Copy every file under ``prefix`` in the archive's media store into ``destination``."""
    for name in archive.media.names(prefix):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        archive.media.fetch(name, target)


def backup(archive: Archive, destination: Path) -> dict[str, Any]:
    """Write a consistent copy of the archive into ``destination`` (a new folder). A backup
    that fails (a full disk, a pulled USB stick) leaves nothing behind: half a backup kept
    under a name that looks like a backup is worse than none."""
    refusal = archive.store.db.file_backup_refusal()
    if refusal:
        raise InputError(refusal)
    _check_destination(archive, destination)
    made = not os.path.lexists(destination)
    try:
        destination.mkdir(parents=True, exist_ok=True)
        return _write_backup(archive, destination)
    except BaseException as exc:
        _discard(destination, made)
        if isinstance(exc, OSError | sqlite3.Error):
            raise PipelineError(
                f"cannot back up into {destination}: {_reason(exc)} (nothing was kept there)"
            ) from exc
        raise


def _check_destination(archive: Archive, destination: Path) -> None:
    try:
        if destination.exists() and not destination.is_dir():
            raise InputError(f"{destination} exists and is not a folder; back up into a new folder")
        if destination.is_dir() and any(destination.iterdir()):
            raise InputError(f"{destination} is not empty; back up into a new folder")
        where = destination.resolve()
    except OSError as exc:
        raise InputError(f"cannot back up into {destination}: {_reason(exc)}") from exc
    for folder in _FOLDERS:
        root = archive.shared if folder in ("media", "uploads") else archive.home
        if where.is_relative_to((root / folder).resolve()):
            raise InputError(
                f"{destination} is inside {root / folder}, which the backup copies; back up "
                "into a folder outside it"
            )


def _write_backup(archive: Archive, destination: Path) -> dict[str, Any]:
    files: dict[str, str] = {}
    with archive.writing():
        archive.snapshot()
        for name in _DATABASES:
            if (archive.home / name).is_file():
                _copy_database(archive.home / name, destination / name)
        for folder in _FOLDERS:
            if folder in ("media", "uploads") and archive.media.local_path(folder) is None:
                _fetch_all(archive, f"{folder}/", destination)  # from the bucket
                continue
            source = (archive.shared if folder in ("media", "uploads") else archive.home) / folder
            if source.is_dir():
                shutil.copytree(
                    source, destination / folder, ignore=shutil.ignore_patterns(".tmp-*", ".*")
                )
    for path in sorted(p for p in destination.rglob("*") if p.is_file()):
        files[path.relative_to(destination).as_posix()] = sha256_file(path)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": archive.store.schema_version(),
        "files": files,
    }
    text = json.dumps(manifest, indent=1).encode("utf-8")
    # last, and whole or not at all: a folder without it is not taken for a backup
    replace_durably(destination / "manifest.json", lambda out: out.write(text))
    return manifest


def _discard(destination: Path, made: bool) -> None:
    """Remove what a failed backup wrote: the folder it made, or what it put in the empty
    folder it was given."""
    if made:
        shutil.rmtree(destination, ignore_errors=True)
        return
    for child in destination.iterdir() if destination.is_dir() else []:
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    """What went wrong, in a few words ("No space left on device")."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        first = exc.args[0][0] if exc.args[0] else None  # copytree's (src, dst, why) list
        return str(first[2]) if first else str(exc)
    return getattr(exc, "strerror", None) or str(exc)


def migrate(
    archive: Archive,
    target: str,
    viewer: Viewer,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Copy the archive into ``target``, ids, reviews, consent and audit included:
    a ``postgresql://`` database (empty), or a folder (new or empty) that becomes a
    laptop archive (SQLite, its recordings and theme models copied beside it).

    Recordings stay where they are for a PostgreSQL target: every machine reads them
    from the folder VOCES_SHARED_DIR names (``shared`` here). Stop the server and the
    workers first: rows written during the copy would be left behind."""
    from corpus import Store
    from corpus.db import is_database_url
    from corpus.transfer import copy_store

    folder: Path | None = None
    if is_database_url(target):
        location: Path | str = target
    else:
        folder = Path(target).expanduser()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InputError(f"{folder} is not an empty folder; migrate into a new one")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from exc
        location = folder / "voces.sqlite3"
    destination = Store(location)
    try:
        counts = copy_store(archive.store, destination, viewer, progress)
    except BaseException:
        destination.close()
        if folder is not None:  # nothing half-made is left behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    destination.close()
    copied: list[str] = []
    if folder is not None:
        if archive.media.local_path("media") is None:  # recordings in a bucket
            _fetch_all(archive, "media/", folder)
            copied.append("media")
        for name, root in (("media", archive.shared), ("theme-models", archive.home)):
            if name == "media" and "media" in copied:
                continue
            if (root / name).is_dir():
                shutil.copytree(root / name, folder / name, ignore=shutil.ignore_patterns(".*"))
                copied.append(name)
        for name in ("taxonomy.json",):
            if (archive.home / name).is_file():
                shutil.copy2(archive.home / name, folder / name)
                copied.append(name)
    return {
        "target": destination.location,
        "rows": counts,
        "copied": copied,
        "media": archive.media.location if folder is None else str(folder / "media"),
    }
