"""The HTTP app. Models load once, in the lifespan, before the first request is served;
an ingest worker runs in-process unless ``VOCES_WORKER=false``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from pipeline import Archive

from . import services
from .body_limit import BodyLimit, BodyLimits
from .errors import install_error_handlers
from .media_links import MediaLinks
from .routes import admin, exports, health, jobs, passages, search, testimonies, themes
from .settings import Settings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_ERRORS = {
    400: "Bad input",
    401: "No valid key where one is needed, or a key that is not valid",
    403: "The key's role does not allow this",
    404: "Not found, or not visible to this caller",
    422: "Invalid parameters",
}


def _document_errors(app: FastAPI) -> None:
    """OpenAPI: a key is optional where it is (anonymous reads public material), and the
    error answers every route can give are listed with their one JSON shape."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if not isinstance(operation, dict):
                    continue
                if operation.get("security") is not None:
                    operation["security"] = [{}, *operation["security"]]
                responses = operation.setdefault("responses", {})
                for status, text in _ERRORS.items():
                    responses.setdefault(
                        str(status),
                        {
                            "description": text,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                                }
                            },
                        },
                    )
        from .schemas import ErrorResponse

        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorResponse"] = ErrorResponse.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name, sub in components["ErrorResponse"].pop("$defs", {}).items():
            components.setdefault(name, sub)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_API = "/api/v1"
#: Room in an upload's request for the form around its file (metadata fields, boundaries).
_FORM_BYTES = 1024**2
#: A bulk upload's request carries at most this many files' worth of bytes.
_BULK_FILES = 8


def _body_limits(settings: Settings) -> BodyLimits:
    """The request limit of each upload route, found by its endpoint (not by a path
    written twice): one file and its form, or a bulk upload's several files."""
    each = settings.max_upload_bytes
    sizes = {
        testimonies.upload: each + _FORM_BYTES,
        testimonies.upload_bulk: _BULK_FILES * each + _FORM_BYTES,
    }
    uploads = {
        _API + route.path: sizes[route.endpoint]
        for route in testimonies.router.routes
        if isinstance(route, APIRoute) and route.endpoint in sizes
    }
    return BodyLimits(uploads=uploads)


def create_app(settings: Settings, archive: Archive | None = None) -> FastAPI:
    """Build the app; pass ``archive`` to serve one already built (with its models)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.archive = archive or services.build_archive(settings)
        app.state.archive.warm_up()
        app.state.jobs = services.build_jobs(app.state.archive, settings)
        worker = app.state.jobs.start() if settings.worker else None
        try:
            yield
        finally:
            if worker is not None:
                thread, stop = worker
                stop.set()
                thread.join(timeout=30)
            if archive is None:
                app.state.archive.close()

    app = FastAPIOffline(
        title="Voces",
        version="0.2.0",
        description="Searchable, themed, consent-respecting archive of spoken testimonies. "
        "Without a key you read public testimonies, redacted; keys give roles "
        "(researcher, archivist, admin).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.media_links = MediaLinks()
    install_error_handlers(app)
    for module in (search, exports, testimonies, passages, themes, jobs, admin, health):
        app.include_router(module.router, prefix=_API)
    app.add_middleware(BodyLimit, limits=_body_limits(settings))
    _document_errors(app)

    _pages(app)
    return app


#: The pages are one static shell; every testimony reaches them through the API with
#: the caller's key, so nothing restricted is ever in a page's source. The policy allows
#: this server only (offline: no CDN), no inline script, and media from this server.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _pages(app: FastAPI) -> None:
    static = Path(__file__).parent / "static"
    shell = (static / "index.html").read_text("utf-8")

    def page() -> HTMLResponse:
        return HTMLResponse(shell, headers=_PAGE_HEADERS)

    for path in ("/", "/search", "/upload", "/themes", "/review", "/testimonies/{testimony_id}"):
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=static), name="static")
