"""Checking an uploaded file before anything is stored or queued.

The type comes from the bytes, not the name: ``puremagic`` reads the container's magic
numbers (a text file renamed ``.mp3`` is refused), then PyAV opens the audio stream and
reads its duration (a truncated or empty recording is refused). Typed testimonies must be
UTF-8 text and are parsed and validated row by row, as ``voces ingest`` does. File names
are reduced to a safe base name; nothing from a name ever becomes part of a path.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .audio import AUDIO_EXTENSIONS
from .completeness import check_complete, undecodable
from .errors import InputError
from .texts import TEXT_EXTENSIONS, Metadata, TextItem, read_text_items, row_metadata

__all__ = [
    "UploadCheck",
    "UploadLimits",
    "UnsupportedType",
    "check_complete",
    "check_upload",
    "read_manifest",
    "safe_name",
]

logger = logging.getLogger(__name__)


class UnsupportedType(InputError):
    """The bytes are neither a recording nor UTF-8 text."""


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 2 * 1024**3  # 2 GiB: hours of compressed audio
    max_seconds: float = 6 * 3600.0
    min_seconds: float = 0.2  # as pipeline.archive.MIN_SECONDS


@dataclass(frozen=True)
class UploadCheck:
    kind: Literal["audio", "text"]
    name: str  # safe base name, the extension matching the content
    duration: float | None = None
    items: tuple[TextItem, ...] = ()


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(name: str, fallback: str = "upload") -> str:
    """A base name without folders, control characters or leading dots."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).strip(" ._")[:120]
    return base or fallback


_AUDIO_MIMES = ("audio/", "video/", "application/ogg", "application/x-ogg")


def _sniff_audio(path: Path) -> bool:
    import puremagic

    try:
        matches = puremagic.magic_file(str(path))
    except (puremagic.PureError, ValueError, OSError):
        return False
    return any(m.mime_type.startswith(_AUDIO_MIMES) for m in matches[:3])


def _probe_duration(path: Path) -> float:
    """Seconds of audio in the file, decoding it through. Raises InputError if it cannot
    be decoded, or if it is cut short (see pipeline.completeness)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise InputError(f"{path.name} has no audio track")
            stream = container.streams.audio[0]
            seconds = 0.0
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # a damaged frame; one the file ends inside, check_complete names
                for frame in frames:
                    end = float(frame.time or 0.0) + frame.samples / frame.sample_rate
                    seconds = max(seconds, end)
    except InputError:
        raise
    except Exception as exc:  # PyAV raises many error types
        raise undecodable(path, exc) from exc
    check_complete(path, seconds)
    return seconds


def _is_text(path: Path) -> bool:
    head = path.open("rb").read(65536)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut by the 64 KiB boundary
    return True


def check_upload(
    path: Path, original_name: str, meta: Metadata, limits: UploadLimits = UploadLimits()
) -> UploadCheck:
    """What ``path`` holds, validated: a decodable recording within the limits, or typed
    testimonies whose every row is valid. Raises InputError (UnsupportedType for a type
    Voces does not take) with a message fit for the person who uploaded it."""
    name = safe_name(original_name)
    if path.is_symlink():
        raise InputError(f"{name} is a symbolic link; pass the file it points to")
    if not path.is_file():
        raise InputError(f"{name} is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty")
    if size > limits.max_bytes:
        raise InputError(f"{name} is {size} bytes; the limit is {limits.max_bytes}")
    suffix = Path(name).suffix.lower()
    if _sniff_audio(path):
        if suffix not in AUDIO_EXTENSIONS:
            name = Path(name).stem + ".audio"  # kept, but never served under a text name
        seconds = _probe_duration(path)
        if seconds < limits.min_seconds:
            raise InputError(f"{name} holds {seconds:.2f} s of audio; nothing to transcribe")
        if seconds > limits.max_seconds:
            raise InputError(
                f"{name} is {seconds / 3600:.1f} h long; the limit is "
                f"{limits.max_seconds / 3600:.1f} h (VOCES_MAX_UPLOAD_SECONDS)"
            )
        return UploadCheck("audio", name, duration=seconds)
    if suffix in AUDIO_EXTENSIONS:
        raise UnsupportedType(f"{name} is named like a recording but its bytes are not audio")
    if not _is_text(path):
        raise UnsupportedType(
            f"{name} is neither a recording (wav, mp3, m4a, ogg, flac, mp4, webm) nor UTF-8 text"
        )
    if suffix not in TEXT_EXTENSIONS:
        name = Path(name).stem + ".txt"
    items = read_text_items(path, meta, name=name)
    return UploadCheck("text", name, items=tuple(items))


def read_manifest(path: Path, name: str, defaults: Metadata) -> dict[str, Metadata]:
    """A bulk upload's manifest (CSV with a header, or JSON lines): one row per file,
    ``file`` naming it, the other columns its metadata. Every row is checked."""
    from .texts import manifest_rows

    out: dict[str, Metadata] = {}
    for source, row in manifest_rows(path, name):
        file = safe_name(str(row.get("file") or ""), fallback="")
        if not file:
            raise InputError(f"{source}: a manifest row needs a 'file' column")
        if file in out:
            raise InputError(f"{source}: file {file!r} is listed twice")
        out[file] = row_metadata(row, defaults, source)
    if not out:
        raise InputError(f"{name}: the manifest lists no files")
    return out
