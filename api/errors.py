"""One table from exceptions to HTTP statuses, and one JSON error shape for the whole API."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from corpus import (
    ConflictError,
    CorpusError,
    DuplicateError,
    ForbiddenError,
    IndexMismatchError,
    MediaUnavailable,
    NotFoundError,
)
from models import ModelError
from pipeline import InputError, PipelineError
from pipeline.uploads import UnsupportedType

logger = logging.getLogger(__name__)


class Unauthorized(Exception):
    """No valid key where one is needed, or a key that is not valid."""


class TooLarge(Exception):
    """The request body is over the upload limit."""


# Most specific first: the first matching class decides.
STATUS: list[tuple[type[Exception], int, str]] = [
    (Unauthorized, 401, "unauthorized"),
    (ForbiddenError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (DuplicateError, 409, "conflict"),
    (TooLarge, 413, "too_large"),
    (UnsupportedType, 415, "unsupported_type"),
    (InputError, 400, "bad_input"),
    (IndexMismatchError, 409, "index_mismatch"),
    (ModelError, 503, "model_unavailable"),
    (MediaUnavailable, 503, "media_unavailable"),
    (PipelineError, 422, "pipeline_error"),
    (CorpusError, 500, "storage_error"),
]


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI schema documents for this path (Starlette's own 405 names
    only the first route that matched the path)."""
    path = request.url.path
    paths = request.app.openapi().get("paths", {})
    templates = (
        [path]
        if path in paths
        else [  # a literal path wins over a template
            t
            for t in paths
            if re.match("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$", path)
        ]
    )
    return sorted({m.upper() for t in templates for m in paths[t] if m.lower() in _HTTP_METHODS})


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        for cls, status, code in STATUS:
            if isinstance(exc, cls):
                if status >= 500:
                    logger.exception("error serving %s", request.url.path)
                response = error_response(status, code, str(exc))
                if status == 401:
                    response.headers["WWW-Authenticate"] = "Bearer"
                return response
        logger.exception("unexpected error serving %s", request.url.path)
        return error_response(500, "internal_error", "internal error; see the server log")

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:  # every method the path allows, not only one route's
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'body'))}: "
            f"{e.get('msg')}"
            for e in exc.errors()
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    for cls, _, _ in STATUS:
        app.add_exception_handler(cls, domain_error)
    app.add_exception_handler(Exception, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
