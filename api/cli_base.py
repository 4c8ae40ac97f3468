"""The ``voces`` command group and what its verbs share: settings, viewers, output and
error handling. The verb modules (cli_ingest, cli_search, cli_themes, cli_review,
cli_eval, cli_exports, cli_admin, cli_serve) import this one, never each other;
``api/cli.py`` adds their commands to the group."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from corpus import ROLES, CorpusError, ThemeTag, Viewer
from models import ModelError
from pipeline import PipelineError

from .settings import Settings, get_settings

__all__ = [
    "as_option",
    "cli",
    "emit",
    "friendly",
    "pass_settings",
    "progress_printer",
    "tag_json",
    "viewer_for",
]

F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn the errors a user can cause or fix into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (PipelineError, CorpusError, ModelError) as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            raise click.Abort() from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: one line for the user, the traceback on request
            if os.environ.get("VOCES_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (a bug in Voces: please report it; "
                "run again with VOCES_DEBUG=1 to see where it happened)"
            ) from exc

    return wrapper  # type: ignore[return-value]


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def tag_json(tag: ThemeTag) -> dict[str, Any]:
    """A tag as the CLI prints it (the `voces tag --json` contract)."""
    return {
        "theme": tag.theme,
        "score": tag.score,
        "source": tag.source,
        "evidence": list(tag.evidence),
    }


def progress_printer(enabled: bool) -> Callable[..., None] | None:
    if not enabled:
        return None

    def show(message: str, fraction: float | None = None) -> None:
        click.echo(message, err=True)

    return show


def viewer_for(role: str | None) -> Viewer:
    """The CLI's viewer: the operator at this machine (an admin: they hold the files), or,
    with ``--as ROLE``, what that role would see."""
    local = Viewer.local()
    if role is None:
        return local
    return Viewer(role, f"{local.name} as {role}")  # type: ignore[arg-type]


def as_option(fn: F) -> F:
    return click.option(
        "--as",
        "as_role",
        type=click.Choice(ROLES),
        default=None,
        help="Read as this role would (e.g. anonymous: what the public sees).",
    )(fn)


@click.group()
@click.option("-v", "--verbose", count=True, help="More log output on stderr.")
@click.version_option(package_name="voces")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Voces: a searchable, themed, consent-respecting archive of spoken testimonies."""
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        ctx.obj = get_settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid VOCES_ setting: {exc}") from exc


pass_settings = click.make_pass_decorator(Settings)
