"""The ``voces`` command line. Data goes to stdout (``--json`` for machines), logs and
progress to stderr. A user mistake prints one clear line and exits non-zero.

Every verb reads and writes through :class:`~pipeline.Archive` with an explicit viewer:
the operator at this machine (``Viewer.local()``), or ``--as ROLE`` to see what a role
would see.
"""

from __future__ import annotations

import click

from . import services
from .cli_base import (
    as_option,
    cli,
    emit,
    friendly,
    pass_settings,
    viewer_for,
)
from .settings import Settings
from .theme_table import theme_rows, to_csv


@cli.group(invoke_without_command=True)
@click.option(
    "--by", type=click.Choice(["", "region", "community", "language", "year"]), default=""
)
@click.option(
    "--quotes",
    default=0,
    type=click.IntRange(0, 20),
    help="Representative passages per row (reviewed first, then by score).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one line per theme and group).")
@as_option
@pass_settings
@friendly
@click.pass_context
def themes(
    ctx: click.Context,
    settings: Settings,
    by: str,
    quotes: int,
    as_json: bool,
    as_csv: bool,
    as_role: str | None,
) -> None:
    """The theme taxonomy and how many testimonies tell of each theme (estimated true
    shares with 90% intervals); `voces themes discover` for themes it lacks."""
    if ctx.invoked_subcommand is not None:
        return
    archive = services.build_archive(settings, models=False)
    taxonomy = archive.tagger.taxonomy
    viewer = viewer_for(as_role)
    key = by or "all"
    found = theme_rows(archive, viewer, by, quotes)
    archive.close()
    if as_csv:
        click.echo(to_csv(found), nl=False)
        return
    # the CLI's JSON names the group after what it is ("region": "Puno")
    rows = [
        {
            "theme": r["theme"],
            key: r["group"],
            **{k: v for k, v in r.items() if k not in ("theme", "group")},
        }
        for r in found
    ]
    if as_json:
        emit({**taxonomy.to_dict(), "by": by or None, "counts": rows})
        return
    click.echo(f"taxonomy version {taxonomy.version}")
    for theme in taxonomy.themes.values():
        click.echo(f"  {theme.id:<14} {theme.label.get('en', '')}")
    click.echo("")
    for row in rows:
        group = f"{row[key]:<16}" if by else ""
        t, n = row["testimonies"], row["passages"]
        numbers = (
            f"{t:>4} {'testimony  ' if t == 1 else 'testimonies'}  "
            f"{n:>5} {'passage ' if n == 1 else 'passages'}"
        )
        estimate = ""
        if row["estimated_share"] is not None:
            low, high = row["interval90"]
            estimate = (
                f"  tagged {row['tagged_share']:.0%} of {row['passages_in_group']}, "
                f"estimated {row['estimated_share']:.0%} (90%: {low:.0%}–{high:.0%})"
            )
        click.echo(f"{row['theme']:<14} {group} {numbers}{estimate}")
        for q in row.get("quotes", []):
            when = f" at {q['start']:.0f}s" if q["start"] is not None else ""
            click.echo(f"    “{q['text'][:160]}” ({q['testimony_id']}{when})")
    bases = sorted({row["basis"] for row in rows if row["basis"]})
    if bases:
        click.echo("\nestimates corrected for the tagger's error rates from: " + "; ".join(bases))


from . import cli_admin, cli_exports, cli_ingest, cli_search, cli_serve, cli_themes  # noqa: E402,F401  (register their verbs)

for _command in (
    cli_search.search,
    cli_search.similar,
    cli_search.show,
    cli_ingest.ingest,
    cli_ingest.transcribe_cmd,
    cli_ingest.tag,
    cli_ingest.reindex,
    cli_serve.serve,
    cli_serve.demo,
):
    cli.add_command(_command)

themes.add_command(cli_themes.discover)
themes.add_command(cli_themes.promote)


def main() -> None:
    cli(prog_name="voces")


if __name__ == "__main__":
    main()
