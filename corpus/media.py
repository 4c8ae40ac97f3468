"""Where recordings and staged uploads are kept: a folder, or S3-compatible storage.

Files are named by the paths the store records (``media/<testimony>.ogg``,
``uploads/<job>/<file>``). A laptop keeps them in ``VOCES_HOME`` (:class:`FolderMedia`).
An archive on several machines keeps them in one folder every machine mounts (the same
class, on ``VOCES_SHARED_DIR``) or in a bucket of any S3-compatible store, AWS S3,
MinIO, Ceph or Garage (:class:`S3Media`, ``VOCES_MEDIA_URL=s3://bucket/prefix``), through
boto3, the AWS SDK (``pip install 'voces[s3]'``); credentials come from boto3's usual
chain (``AWS_ACCESS_KEY_ID`` ..., a profile, an instance role).

Every write is whole or absent: a folder's file is written to a temporary name, synced
and renamed; an S3 object appears only when its upload completes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from .errors import CorpusError, MediaUnavailable

__all__ = ["FolderMedia", "MediaStore", "S3Media", "open_media"]

CHUNK = 1 << 20


def _check_name(name: str) -> str:
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or path.parts[0]
        not in (
            "media",
            "uploads",
        )
    ):
        raise CorpusError(f"not a media name: {name!r}")
    return path.as_posix()


class MediaStore(Protocol):
    """Recordings and staged uploads, by name."""

    #: where the files are, for people: a folder or s3://bucket/prefix
    location: str

    def put(self, name: str, source: Path) -> None:
        """Store the file ``source`` as ``name``, whole or not at all."""

    def fetch(self, name: str, target: Path) -> None:
        """Copy ``name`` into the local file ``target``."""

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int:
        """Its size in bytes (``CorpusError`` if it is missing)."""
        ...

    def read(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Its bytes from ``start`` up to and including ``end`` (HTTP range style)."""
        ...

    def delete(self, name: str) -> None:
        """Remove it (nothing happens if it is not there)."""

    def delete_under(self, prefix: str) -> None:
        """Remove every file whose name starts with ``prefix`` (a folder, ending in /)."""

    def names(self, prefix: str) -> list[str]:
        """The names of every file under ``prefix`` (``media/``, ``uploads/``), sorted,
        a folder's hidden temporary files included."""
        ...

    def local_path(self, name: str) -> Path | None:
        """The file itself when it is on a local disk (a folder store), else None."""
        ...

    def local_copy(self, name: str) -> Any:
        """A context manager giving a local path to read ``name`` from: the file itself
        in a folder, a temporary download (removed afterwards) from a bucket."""
        ...


class FolderMedia:
    """Files in a folder: ``VOCES_HOME`` on a laptop, ``VOCES_SHARED_DIR`` on several
    machines (an NFS or SMB mount)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        (self.root / "media").mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / _check_name(name)

    def put(self, name: str, source: Path) -> None:
        target = self._path(name)
        if target.exists() and source.resolve() == target.resolve():
            _fsync(target)  # staged in place already (an upload): make it durable
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src:
            replace_durably(target, lambda dst: shutil.copyfileobj(src, dst, CHUNK))

    def fetch(self, name: str, target: Path) -> None:
        shutil.copyfile(self._path(name), target)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        try:
            return self._path(name).stat().st_size
        except OSError as exc:
            raise CorpusError(f"{name} is missing from {self.location}") from exc

    def read(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self._path(name).open("rb") as fh:
            fh.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = fh.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def delete_under(self, prefix: str) -> None:
        shutil.rmtree(self.root / _check_name(prefix.rstrip("/")), ignore_errors=True)

    def names(self, prefix: str) -> list[str]:
        folder = self.root / _check_name(prefix.rstrip("/"))
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())

    def local_path(self, name: str) -> Path | None:
        return self._path(name)

    @contextmanager
    def local_copy(self, name: str) -> Iterator[Path]:
        yield self._path(name)


class S3Media:
    """Files as objects in an S3-compatible bucket, under ``prefix``."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, **client_args: Any):
        if not bucket:
            raise CorpusError("an S3 media store needs a bucket: s3://bucket/prefix")
        if client is None:
            try:
                import boto3
            except ImportError as exc:
                raise CorpusError("S3 media needs boto3: pip install 'voces[s3]'") from exc
            client = boto3.client("s3", **{k: v for k, v in client_args.items() if v})
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.location = f"s3://{bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return self.prefix + _check_name(name)

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    @contextmanager
    def _calling(self, what: str, name: str = "") -> Iterator[None]:
        """botocore's errors (a bucket that is absent or refuses us, a network that is
        down) as one storage error the API answers with 503."""
        try:
            yield
        except CorpusError:
            raise
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("botocore", "boto3", "s3transfer"):
                raise
            if name and self._missing(exc):
                raise CorpusError(f"{name} is missing from {self.location}") from exc
            raise MediaUnavailable(f"cannot {what} {self.location}: {exc}") from exc

    def put(self, name: str, source: Path) -> None:
        # upload_file uses multipart for large files; the object exists only once the
        # whole upload is complete, so a failed put leaves nothing behind
        with self._calling("write to"):
            self.client.upload_file(str(source), self.bucket, self._key(name))

    def fetch(self, name: str, target: Path) -> None:
        with self._calling("read from", name):
            self.client.download_file(self.bucket, self._key(name), str(target))

    def _head(self, name: str) -> dict[str, Any] | None:
        try:
            with self._calling("read from", name):
                head: dict[str, Any] = self.client.head_object(
                    Bucket=self.bucket, Key=self._key(name)
                )
            return head
        except MediaUnavailable:
            raise
        except CorpusError:
            return None

    def exists(self, name: str) -> bool:
        return self._head(name) is not None

    def size(self, name: str) -> int:
        head = self._head(name)
        if head is None:
            raise CorpusError(f"{name} is missing from {self.location}")
        return int(head["ContentLength"])

    def read(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        span = f"bytes={start}-{'' if end is None else end}"
        with self._calling("read from", name):
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(name), Range=span)
        body = reply["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def delete(self, name: str) -> None:
        with self._calling("delete from"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def delete_under(self, prefix: str) -> None:
        keys = [self._key(n) for n in self.names(prefix)]
        for start in range(0, len(keys), 1000):  # the most one request may delete
            with self._calling("delete from"):
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
                )

    def names(self, prefix: str) -> list[str]:
        start = self._key(prefix.rstrip("/")) + "/"
        found = []
        with self._calling("list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            )
            for page in pages:
                found += [o["Key"][len(self.prefix) :] for o in page.get("Contents", [])]
        return sorted(found)

    def local_path(self, name: str) -> Path | None:
        return None

    @contextmanager
    def local_copy(self, name: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="voces-media-") as tmp:
            target = Path(tmp) / PurePosixPath(name).name
            self.fetch(name, target)
            yield target


def open_media(url: str, folder: Path, endpoint_url: str = "") -> MediaStore:
    """The media store ``url`` names: ``s3://bucket/prefix`` (with ``endpoint_url`` for
    a store other than AWS), else the folder ``folder``."""
    url = url.strip()
    if not url:
        return FolderMedia(folder)
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise CorpusError(f"unknown media store {url!r}: use s3://bucket/prefix, or leave it empty")
    return S3Media(parts.netloc, parts.path, endpoint_url=endpoint_url.strip())


def replace_durably(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write`` into a temporary name in the target folder, fsync, then rename into place
    (and fsync the folder), so ``target`` is either the old file or the whole new one."""
    tmp = target.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{target.name}")
    try:
        with tmp.open("wb") as dst:
            write(dst)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder to fsync it
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
