"""The HTTP app. Models load once, in the lifespan, and live on ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from pipeline import Archive

from . import services
from .errors import install_error_handlers
from .routes import health, passages, search, testimonies, themes
from .settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, archive: Archive | None = None) -> FastAPI:
    """Build the app; pass ``archive`` to serve one already built (with its models)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.archive = archive or services.build_archive(settings)
        yield
        app.state.archive.store.close()

    app = FastAPI(
        title="Voces",
        version="0.1.0",
        description="Searchable, themed, consent-respecting archive of spoken testimonies.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in (search, testimonies, passages, themes, health):
        app.include_router(module.router, prefix="/api/v1")

    page = (Path(__file__).parent / "static" / "index.html").read_text("utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    return app
