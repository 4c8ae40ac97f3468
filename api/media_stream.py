"""Recordings served from the archive's media store, with HTTP Range requests (RFC 9110
section 14) so that players can seek.

One reading of the ``Range`` header decides for both stores, so that a recording answers
alike wherever it is kept:

- no header, another unit (``items=0-5``: RFC 9110 section 14.2 says MUST ignore), a
  header that does not parse (``bytes=abc``, ``bytes=``) or several ranges at once: the
  header is ignored and the whole recording sent, 200 (a server MAY ignore a Range);
- one range that overlaps the recording: 206 with that part;
- one range that cannot be satisfied: one starting at or past the end, a suffix of zero
  bytes (``bytes=-0``), or one ending before it starts (``bytes=5-1``, which section
  14.1.1 calls invalid: nothing of the recording is asked for, so nothing can be sent):
  416 in the API's JSON error shape, with ``Content-Range: bytes */size``.

Never Starlette's own text/plain 400 for a header it cannot parse. A recording in a
folder is sent by ``FileResponse`` with the one range decided here; one in an S3 bucket is
streamed through the API (the bucket need not be reachable from the listener's browser,
and no bucket URL is handed out), its range passed on to S3 as its own Range request.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from corpus.media import MediaStore
from pipeline.audio import MEDIA_TYPES

from .errors import error_response

_SPEC = re.compile(r"(\d*)-(\d*)")


class Unsatisfiable(ValueError):
    """A range that selects no byte of the recording (answered 416)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a ``Range`` header asks for; None to send everything
    (see the module's table); Unsatisfiable if it asks for nothing the file holds."""
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in specs:
        return None
    match = _SPEC.fullmatch(specs.strip())
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
        if match[2] and int(match[2]) < first:
            raise Unsatisfiable(f"{header[:60]!r} ends before it starts")
    else:  # the last N bytes
        first, last = max(0, size - int(match[2])), size - 1
        if int(match[2]) == 0:
            raise Unsatisfiable(f"{header[:60]!r} asks for no bytes")
    if first >= size or first > last:
        raise Unsatisfiable(f"{header[:60]!r} is outside a recording of {size} bytes")
    return first, last


class _FileRange(FileResponse):
    """A recording in a folder, sent with the range decided here (or whole): Starlette's
    own parsing sees only that range, never the header as the client wrote it."""

    def __init__(self, path: Path, media_type: str, span: tuple[int, int] | None) -> None:
        super().__init__(path, media_type=media_type)
        self.span = span

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k != b"range"]
        if self.span is not None:
            headers.append((b"range", f"bytes={self.span[0]}-{self.span[1]}".encode()))
        await super().__call__({**scope, "headers": headers}, receive, send)


def recording_response(request: Request, media: MediaStore, name: str) -> Response:
    media_type = MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
    size = media.size(name)
    try:
        span = byte_range(request.headers.get("range", ""), size)
    except Unsatisfiable as exc:
        response = error_response(416, "range_not_satisfiable", str(exc))
        response.headers["Content-Range"] = f"bytes */{size}"
        response.headers["Accept-Ranges"] = "bytes"
        return response
    path = media.local_path(name)
    if path is not None:
        return _FileRange(path, media_type, span)
    headers = {"Accept-Ranges": "bytes"}
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(media.read(name), media_type=media_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        media.read(name, first, last), status_code=206, media_type=media_type, headers=headers
    )
