"""Request bodies are limited before they are read, by who is calling.

The key is in the ``Authorization`` header, so it is checked before a byte of the body is
read: a request with a key that is not valid is refused at once, one without a key may
send a small body only (every route that takes one needs a key; the small allowance lets
such a request reach its route and get that route's own answer), and a valid key may
send what its route takes: an upload's file, or a small JSON body elsewhere. The bytes
actually received are counted as they arrive, chunked or not, so a body that declares
less than it sends, or declares nothing, is cut where it crosses the limit: the app's
reading fails at once, Starlette closes the temporary files it was spooling to, and the
caller gets the refusal in the one JSON error shape. A ``Content-Length`` over the limit
is refused before anything is read. Every refusal closes the connection, or the server
would go on reading the rest of the body to find where a next request starts.

Starlette's ``RequestBodyLimitMiddleware`` (FastAPI's ``max_body_size``) counts the same
way, but it has one limit per route whatever the caller, answers in text/plain, and
leaves the connection open (uvicorn then reads the whole body and throws it away).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corpus import Viewer, allowed

from .deps import viewer_for_header
from .errors import Unauthorized, error_response

__all__ = ["ANONYMOUS_BODY_BYTES", "JSON_BODY_BYTES", "BodyLimit", "BodyLimits"]

logger = logging.getLogger(__name__)

#: The most a caller without a valid key may send: enough for any JSON body a route takes,
#: far too little to fill a disk.
ANONYMOUS_BODY_BYTES = 64 * 1024
#: The most a request with a key may send to a route that is not an upload (JSON bodies:
#: a review, a corrected passage, a consent change, a new key).
JSON_BODY_BYTES = 1024**2


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def response(self) -> JSONResponse:
        """The answer, closing the connection (RFC 9112 section 9.6): the rest of the
        body is never read, not even to find where the next request would start."""
        response = error_response(self.status, self.code, self.message)
        response.headers["Connection"] = "close"
        if self.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response


@dataclass(frozen=True)
class BodyLimits:
    """How much each caller may send: ``uploads`` maps each upload route's path (POST) to
    its limit for a caller who may upload."""

    uploads: Mapping[str, int]
    anonymous: int = ANONYMOUS_BODY_BYTES
    json: int = JSON_BODY_BYTES

    def for_request(self, method: str, path: str, viewer: Viewer) -> tuple[int, Refusal]:
        """The limit on this request's body, and the answer when it is crossed."""
        if viewer.role == "anonymous":
            return self.anonymous, Refusal(
                401,
                "unauthorized",
                f"a request without a key may send at most {self.anonymous} bytes; "
                "uploads and other writes need a key (Authorization: Bearer ...)",
            )
        upload = self.uploads.get(path) if method == "POST" else None
        if upload is not None:
            if allowed(viewer, "upload"):
                return upload, Refusal(
                    413,
                    "too_large",
                    f"the upload is over the limit of {upload} bytes for this route "
                    "(VOCES_MAX_UPLOAD_BYTES per file, and the form)",
                )
            return self.json, Refusal(403, "forbidden", "uploads need an archivist's key")
        return self.json, Refusal(
            413, "too_large", f"the request body is over the limit of {self.json} bytes"
        )


class BodyOverLimit(HTTPException):
    """Raised to the app from ``receive`` when the body crosses its limit: an
    HTTPException, so FastAPI's body parsing passes it on instead of calling it bad input
    (the middleware sends its own answer in its place)."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is over its limit")


def _declares_body(headers: Headers) -> bool:
    """HTTP/1.1 frames a request body with Content-Length or Transfer-Encoding; a request
    with neither has none (RFC 9112 section 6.3)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


class BodyLimit:
    """ASGI middleware: who is calling decides how much of a body is read (see module)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _declares_body(headers):
            await self.app(scope, receive, send)
            return
        declared = _content_length(headers)
        if declared is None:
            refusal = Refusal(400, "bad_request", "the Content-Length header is not a byte count")
            await refusal.response()(scope, receive, send)
            return
        try:
            viewer = await self._viewer(scope, headers.get("authorization", ""))
        except Unauthorized as exc:
            await Refusal(401, "unauthorized", str(exc)).response()(scope, receive, send)
            return
        limit, refusal = self.limits.for_request(scope["method"], _route_path(scope), viewer)
        if declared > limit:
            await refusal.response()(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit, refusal)

    @staticmethod
    async def _viewer(scope: Scope, authorization: str) -> Viewer:
        if not authorization:
            return Viewer.anonymous()
        # a key is looked up in the database: off the event loop, as routes do
        return await anyio.to_thread.run_sync(viewer_for_header, scope["app"].state, authorization)

    async def _counted(
        self, scope: Scope, receive: Receive, send: Send, limit: int, refusal: Refusal
    ) -> None:
        """Run the app with a ``receive`` that counts, and fails once ``limit`` is crossed;
        the app's answer to that failure is replaced by ``refusal``."""
        received = 0
        over = started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyOverLimit()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    logger.info("%s %s: body over %d bytes", scope["method"], scope["path"], limit)
                    raise BodyOverLimit()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyOverLimit:  # FastAPI answers it; an app that does not, raises it here
            pass
        if over and not started:
            await refusal.response()(scope, receive, send)


def _content_length(headers: Headers) -> int | None:
    """The declared length (0 for a chunked body: counted as it comes), None if invalid."""
    value = headers.get("content-length")
    if value is None:
        return 0
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _route_path(scope: Scope) -> str:
    """The path the router matches (behind a proxy's root path; a trailing slash, which
    the router redirects, does not change the limit)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.rstrip("/") or "/"
