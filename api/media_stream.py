"""Recordings served from the archive's media store, with HTTP Range requests (RFC 9110
section 14) so that players can seek.

A recording in a folder is served by Starlette's ``FileResponse``, which handles ranges
itself. One in an S3 bucket is streamed through the API (the bucket need not be reachable
from the listener's browser, and no bucket URL is handed out): a single ``bytes=`` range
is passed on to S3 as its own Range request; several ranges at once get the whole file,
which RFC 9110 allows.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from corpus.media import MediaStore
from pipeline.audio import MEDIA_TYPES

from .errors import error_response

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a ``Range`` header asks for; None to send everything
    (no header, several ranges, another unit); ValueError if it cannot be satisfied."""
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # the last N bytes
        first, last = max(0, size - int(match[2])), size - 1
    if first > last or first >= size:
        raise ValueError(f"bytes {header} are outside a file of {size} bytes")
    return first, last


def recording_response(request: Request, media: MediaStore, name: str) -> Response:
    media_type = MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
    path = media.local_path(name)
    if path is not None:
        return FileResponse(path, media_type=media_type)
    size = media.size(name)
    headers = {"Accept-Ranges": "bytes"}
    try:
        span = byte_range(request.headers.get("range", ""), size)
    except ValueError as exc:
        response = error_response(416, "range_not_satisfiable", str(exc))
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(media.read(name), media_type=media_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        media.read(name, first, last), status_code=206, media_type=media_type, headers=headers
    )
