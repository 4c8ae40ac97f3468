"""Putting a backup in place as the archive, verified first, swapped in whole.

A backup folder is untrusted input: it may have sat on a USB stick for a year, or have
been edited by someone who wants a file of their own inside VOCES_HOME, or who wants the
archive gone. So ``restore`` takes three steps, and the archive in ``home`` is not touched
before the last:

1. **Verify.** ``manifest.json`` must map each file's path (relative, inside the backup,
   under one of the archive's own names) to a SHA-256, and list the database. The backup
   folder is listed without following links: every entry must be a folder or a regular
   file, and the regular files must be exactly those the manifest lists.
2. **Stage.** Each file is copied into ``home/.restore/new``, its digest computed from the
   bytes copied (what is checked is what is put in place), and SQLite's integrity check
   runs on the copied databases. Then ``home/.restore/ready.json`` is written (atomically):
   from that instant the new archive is whole on disk.
3. **Swap.** The old archive's pieces (its databases with their -wal/-shm files, its
   folders) are renamed into ``home/.restore/old``, the new pieces renamed into ``home``,
   ``ready.json`` removed, and ``.restore`` deleted with the old archive in it.

Every rename stays inside ``home`` (one file system), so each is atomic, and at every
instant either the old or the new archive is whole. A crash (power cut, kill -9) leaves one
of two states, and the next ``voces restore`` finishes it before anything else
(:func:`finish_interrupted`):

- no ``ready.json``: the old archive was never touched; ``.restore`` is deleted (rolled back);
- ``ready.json``: the new archive is whole, split between ``.restore/new`` and ``home``, the
  old one split between ``home`` and ``.restore/old``; the swap is finished (rolled forward).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from filelock import FileLock, Timeout

from corpus.media import fsync_dir, replace_durably

from .errors import InputError, PipelineError

__all__ = ["DATABASES", "FOLDERS", "finish_interrupted", "read_manifest", "restore"]

logger = logging.getLogger(__name__)

#: What a backup holds, and so all that a restore may put in place or replace.
DATABASES = ("voces.sqlite3", "queue.sqlite3")
FOLDERS = ("media", "index", "theme-models", "uploads")
MAIN_DATABASE = DATABASES[0]
FORMAT = "voces-backup/1"

_SIDE_FILES = ("", "-wal", "-shm", "-journal")  # what SQLite keeps beside a database
_WORK = ".restore"  # inside home: same file system, so the swap's renames are atomic
_READY = "ready.json"
_LOCKS = (".write.lock", ".snapshot.lock")  # the archive's own (pipeline/archive.py)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CHUNK = 1 << 20
_LOCK_WAIT_SECONDS = 10


def restore(source: Path, home: Path, force: bool = False) -> dict[str, Any]:
    """Put the backup in ``source`` in place as the archive in ``home`` (see the module's
    docstring); with ``force``, replace the archive already there. Returns the manifest."""
    manifest = read_manifest(source)
    files: dict[str, str] = manifest["files"]
    sizes = _listing(source, files)
    try:
        if home.exists() and not home.is_dir():
            raise InputError(f"{home} exists and is not a folder; restore into a folder")
        _refuse_source_inside(source, home)
        created = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot restore into {home}: {exc.strerror or exc}") from exc
    try:
        with _locked(home):
            finished = finish_interrupted(home)
            if finished is not None and finished.get("source") == str(source.resolve()):
                if finished.get("manifest") == manifest:
                    return manifest  # the same restore, interrupted and now finished
            if not force and _occupied(home):
                raise InputError(
                    f"{home} is not empty; restore into an empty folder or use --force"
                )
            _check_swappable(home)
            _check_space(home, sum(sizes.values()))
            _stage(source, files, home)
            pieces = _pieces(files)
            record = {"source": str(source.resolve()), "pieces": pieces, "manifest": manifest}
            text = json.dumps(record, ensure_ascii=False).encode("utf-8")
            try:
                replace_durably(home / _WORK / _READY, lambda out: out.write(text))
            except BaseException:
                shutil.rmtree(home / _WORK, ignore_errors=True)
                raise
            _swap(home, pieces)
    except BaseException:
        if created:  # it was made here, for this restore: nothing else is in it
            shutil.rmtree(home, ignore_errors=True)
        raise
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, checked: a format this version knows, ``files`` a mapping of
    safe relative paths to SHA-256 digests, the database among them."""
    path = source / "manifest.json"
    try:
        raw = _read_regular(path)
        manifest = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{source} is not a Voces backup (no readable manifest.json)") from exc
    except _NotAFile as exc:
        raise InputError(f"{source} is not a Voces backup: manifest.json is {exc}") from exc
    if not isinstance(manifest, dict):
        raise InputError(f"{source} is not a Voces backup (manifest.json holds no object)")
    if manifest.get("format") != FORMAT:
        raise InputError(f"{source}: unknown backup format {manifest.get('format')!r}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise InputError(
            f"the backup is damaged: manifest.json's 'files' must map each file's path to its "
            f"SHA-256, and it is {_json_kind(files)}"
        )
    for name, digest in files.items():
        problem = _path_problem(name)
        if problem:
            raise InputError(f"the backup is damaged: its manifest lists {name!r}, {problem}")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise InputError(
                f"the backup is damaged: its manifest gives {name} the digest {digest!r}, "
                "not a SHA-256 (64 hexadecimal digits)"
            )
    if MAIN_DATABASE not in files:
        raise InputError(
            f"the backup is damaged: its manifest does not list the database ({MAIN_DATABASE})"
        )
    return manifest


def finish_interrupted(home: Path) -> dict[str, Any] | None:
    """Finish a restore into ``home`` that was interrupted (a crash, a kill): roll it back
    if its copy was not yet whole, forward if it was. Returns the record of a restore
    rolled forward (``source``, ``pieces``, ``manifest``), else None. Call it holding the
    archive's write lock, with no server running (``restore`` does)."""
    work = home / _WORK
    if not os.path.lexists(work):
        return None
    ready = work / _READY
    if not os.path.lexists(ready):
        # the staged copy never became whole, and the archive was not touched
        if work.is_dir() and not work.is_symlink():
            shutil.rmtree(work)
        else:
            work.unlink()
        logger.warning("removed the unfinished copy of an interrupted restore in %s", work)
        return None
    try:
        record = json.loads(_read_regular(ready).decode("utf-8"))
        pieces = [p for p in record["pieces"] if p in (*DATABASES, *FOLDERS)]
    except (OSError, ValueError, KeyError, TypeError, _NotAFile) as exc:
        raise PipelineError(
            f"{ready} is unreadable: a restore into {home} was interrupted and cannot be "
            f"finished; its new pieces are in {work / 'new'}, the old ones in {home} and "
            f"{work / 'old'}"
        ) from exc
    _roll_forward(home, pieces)
    logger.warning(
        "finished the restore of %s into %s that was interrupted", record.get("source"), home
    )
    return record  # type: ignore[no-any-return]


# -- verifying ---------------------------------------------------------------------------


class _NotAFile(Exception):
    """An entry that is not a regular file (its kind is the message)."""


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def _json_kind(value: object) -> str:
    if value is None:
        return "missing or null"
    return {list: "a list", str: "a string", bool: "true/false", int: "a number"}.get(
        type(value), type(value).__name__
    )


def _path_problem(name: str) -> str:
    """Why ``name`` cannot be a file of a backup ('' when it can): it must be a relative
    POSIX path inside the backup, under one of the archive's own names."""
    if not name:
        return "an empty name"
    if "\\" in name:
        return "a name with a backslash (only / separates folders in a manifest)"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return "a name with a control character"
    if name.startswith("/"):
        return "an absolute path"
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "not a plain path inside the backup (an empty, . or .. part)"
    if (len(parts) == 1 and parts[0] in DATABASES) or (len(parts) > 1 and parts[0] in FOLDERS):
        return ""
    return (
        f"not a part of an archive (the databases {', '.join(DATABASES)}, or files under "
        f"{', '.join(f + '/' for f in FOLDERS)})"
    )


def _listing(source: Path, files: Mapping[str, str]) -> dict[str, int]:
    """Every regular file in the backup with its size, checked against the manifest;
    nothing is followed or opened (a link or a named pipe is refused as it is listed)."""
    found: dict[str, int] = {}

    def walk(folder: Path, prefix: str) -> None:
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
            for entry in listed:
                name = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                mode = info.st_mode
                if stat.S_ISDIR(mode):
                    walk(Path(entry.path), name + "/")
                elif stat.S_ISREG(mode):
                    found[name] = info.st_size
                else:
                    raise PipelineError(
                        f"the backup is damaged: {name} is {_kind(mode)}, not a regular file"
                    )
        except OSError as exc:
            raise InputError(f"cannot read the backup {source}: {exc.strerror or exc}") from exc

    walk(source, "")
    found.pop("manifest.json", None)
    for name in sorted(set(files) - set(found)):
        try:
            what = _kind(os.lstat(source / name).st_mode)
        except OSError:
            raise PipelineError(f"the backup is damaged: {name} is missing or altered") from None
        raise PipelineError(f"the backup is damaged: {name} is {what}, not a regular file")
    for name in sorted(set(found) - set(files)):
        raise PipelineError(
            f"the backup is damaged: {name} is in the backup folder but not in its manifest"
        )
    return found


def _read_regular(path: Path) -> bytes:
    """A regular file's bytes, without following a link or blocking on a named pipe."""
    with _open_regular(path) as fh:
        return fh.read()


def _open_regular(path: Path) -> BinaryIO:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise _NotAFile("a symbolic link") from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _NotAFile(_kind(mode))
    return os.fdopen(fd, "rb")


def _refuse_source_inside(source: Path, home: Path) -> None:
    """A backup kept inside a part of the archive it replaces would be deleted with it."""
    where = source.resolve()
    for piece in FOLDERS:
        if where.is_relative_to(home.resolve() / piece):
            raise InputError(
                f"{source} is inside {home / piece}, which the restore replaces; move the "
                "backup out of the archive first"
            )


# -- staging and swapping ----------------------------------------------------------------


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold the archive's write and snapshot locks: no writer of this archive (a server,
    a worker) can change it while it is replaced, and no other restore can run."""
    locks = [FileLock(str(home / name), thread_local=False) for name in _LOCKS]
    try:
        for lock in locks:
            lock.acquire(timeout=_LOCK_WAIT_SECONDS)
    except Timeout as exc:
        for lock in locks:
            lock.release()
        raise InputError(
            f"another process is writing to {home}: stop the server and workers (or the other "
            "restore) before restoring"
        ) from exc
    try:
        yield
    finally:
        for lock in reversed(locks):
            lock.release()


def _managed(home: Path) -> list[str]:
    """The pieces of the archive in ``home`` that a restore replaces (present ones)."""
    names = [db + side for db in DATABASES for side in _SIDE_FILES] + list(FOLDERS)
    return [name for name in names if os.path.lexists(home / name)]


def _pieces(files: Mapping[str, str]) -> list[str]:
    return sorted({name.split("/")[0] for name in files})


def _occupied(home: Path) -> bool:
    return any(p.name not in (*_LOCKS, _WORK) for p in home.iterdir())


def _check_swappable(home: Path) -> None:
    """A piece that is a mount point cannot be renamed: refuse before copying anything."""
    for name in _managed(home):
        if os.path.ismount(home / name):
            raise InputError(
                f"{home / name} is a mount point, which a restore cannot swap whole; restore "
                "into a new folder and move its contents there by hand"
            )


def _check_space(home: Path, needed: int) -> None:
    free = shutil.disk_usage(home).free
    if needed > free:
        raise InputError(
            f"{home} has {free / 1e6:,.0f} MB free and the backup needs {needed / 1e6:,.0f} MB "
            "(it is copied and checked beside the archive before it replaces it)"
        )


def _stage(source: Path, files: Mapping[str, str], home: Path) -> None:
    """Copy and check the backup in ``home/.restore/new``; on any failure remove the copy
    and raise, leaving ``home`` as it was."""
    work = home / _WORK
    new = work / "new"
    try:
        new.mkdir(parents=True)
        for name, digest in sorted(files.items()):
            target = new.joinpath(*name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if _copy_hashing(source / name, target, name) != digest.lower():
                raise PipelineError(f"the backup is damaged: {name} is missing or altered")
        for name in DATABASES:
            if name in files:
                _integrity_check(new / name, name)
        for folder, _, _ in os.walk(new, topdown=False):
            fsync_dir(Path(folder))
        fsync_dir(work)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise PipelineError(
            f"cannot restore into {home}: {exc.strerror or exc}; the archive there is unchanged"
        ) from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _copy_hashing(source: Path, target: Path, name: str) -> str:
    """Copy ``source`` (a regular file, not followed if a link) to ``target``, durably, and
    return the SHA-256 of the bytes copied."""
    digest = hashlib.sha256()
    try:
        src = _open_regular(source)
    except _NotAFile as exc:
        raise PipelineError(f"the backup is damaged: {name} is {exc}, not a regular file") from exc
    except OSError as exc:
        raise PipelineError(f"cannot read {name} from the backup: {exc.strerror or exc}") from exc
    with src, target.open("xb") as out:
        while True:
            try:
                block = src.read(_CHUNK)
            except OSError as exc:
                raise PipelineError(
                    f"cannot read {name} from the backup: {exc.strerror or exc}"
                ) from exc
            if not block:
                break
            digest.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _integrity_check(path: Path, name: str) -> None:
    """SQLite's integrity check of the copy, read as immutable (nothing written beside it)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise PipelineError(
            f"the backup's database {name} fails SQLite's integrity check ({exc})"
        ) from exc
    if rows != [("ok",)]:
        first = rows[0][0] if rows else "no answer"
        raise PipelineError(f"the backup's database {name} fails SQLite's integrity check: {first}")


def _aside(path: Path, old: Path) -> None:
    """Move an old piece into ``old`` (under a fresh name if one is there already)."""
    target, n = old / path.name, 1
    while os.path.lexists(target):
        n += 1
        target = old / f"{path.name}~{n}"
    os.replace(path, target)


def _roll_forward(home: Path, pieces: list[str]) -> None:
    """From any point of a swap (or its undoing), put the new pieces in place and the old
    ones aside, then delete them. Safe to repeat after a crash at any line."""
    work = home / _WORK
    new, old = work / "new", work / "old"
    old.mkdir(exist_ok=True)
    for name in _managed(home):
        if name not in pieces or os.path.lexists(new / name):
            _aside(home / name, old)  # old: not in the backup, or its new one not moved yet
    fsync_dir(old)
    for name in pieces:
        if os.path.lexists(new / name):
            os.replace(new / name, home / name)
    fsync_dir(home)
    (work / _READY).unlink(missing_ok=True)  # whole from here: any leftover is only old
    fsync_dir(work)
    shutil.rmtree(work)


def _swap(home: Path, pieces: list[str]) -> None:
    """Swap the staged archive in; if a rename fails, undo what was done and raise."""
    try:
        _roll_forward(home, pieces)
    except OSError as exc:
        if not (home / _WORK / _READY).exists():  # the new archive is in place
            logger.warning("could not delete the replaced archive in %s: %s", home / _WORK, exc)
            return
        try:
            _roll_back(home, pieces)
        except OSError:
            raise PipelineError(
                f"the restore into {home} was interrupted ({exc.strerror or exc}) and could not "
                "be undone; run the same `voces restore` again to finish it"
            ) from exc
        raise PipelineError(
            f"cannot restore into {home}: {exc.strerror or exc}; the archive there is unchanged"
        ) from exc


def _roll_back(home: Path, pieces: list[str]) -> None:
    work = home / _WORK
    new, old = work / "new", work / "old"
    for name in pieces:
        if not os.path.lexists(new / name) and os.path.lexists(home / name):
            os.replace(home / name, new / name)
    for path in sorted(old.iterdir()) if old.is_dir() else []:
        if "~" not in path.name:
            os.replace(path, home / path.name)
    fsync_dir(home)
    shutil.rmtree(work)
