"""``voces serve`` and ``voces demo``: the HTTP API and search page, over the archive or
over the bundled demo corpus."""

from __future__ import annotations

import click

from . import services
from .cli_base import friendly, pass_settings, progress_printer, viewer_for
from .settings import Settings


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from .app import create_app

    app = create_app(settings)
    base = f"http://{host}:{port}"
    click.echo(f"Voces is serving the archive in {settings.home}", err=True)
    click.echo(f"  search page: {base}/   API docs: {base}/docs   (Ctrl+C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@click.command()
@click.option("--host", default=None, help="Default: VOCES_HOST or 127.0.0.1.")
@click.option("--port", default=None, type=int, help="Default: VOCES_PORT or 8000.")
@pass_settings
@friendly
def serve(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the HTTP API (and a small search page)."""
    _serve(settings, host or settings.host, port or settings.port)


@click.command()
@click.option("--serve/--no-serve", "then_serve", default=True, help="Serve the API afterwards.")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@pass_settings
@friendly
def demo(settings: Settings, then_serve: bool, host: str | None, port: int | None) -> None:
    """Ingest the bundled illustrative demo corpus, then serve it."""
    from .demo import ingest_demo

    archive = services.build_archive(settings)
    added, present = ingest_demo(
        archive, settings.demo_dir, viewer_for(None), progress_printer(True)
    )
    click.echo(
        f"demo corpus: {added} testimonies added, {present} already present "
        f"(illustrative, written for the demo) in {settings.home}",
        err=True,
    )
    archive.close()
    if then_serve:
        _serve(settings, host or settings.host, port or settings.port)
