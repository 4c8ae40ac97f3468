"""``voces export``: testimonies as files (captions, transcripts, passages, OHMS, IIIF),
read as the operator (or ``--as ROLE``) may see them."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.exports import FORMATS, SET_FORMATS, export_set, export_testimonies
from pipeline.texts import filter_from

from . import services
from .cli_base import as_option, friendly, pass_settings, viewer_for
from .output_files import output_folder, write_output
from .settings import Settings


@click.command(name="export")
@click.argument("ids", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    required=True,
    help="vtt, srt, txt, json, csv, jsonl, ohms or iiif (sets: csv, jsonl, json).",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write here (default: stdout)."
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one file per testimony into this folder.",
)
@click.option("--region", default="", help="Without IDS: testimonies of this region.")
@click.option("--community", default="")
@click.option("--theme", default="", help="Testimonies that tell of this theme.")
@click.option("--language", default="")
@click.option("--since", "date_from", default="", help="Only testimonies dated on/after.")
@click.option("--until", "date_to", default="", help="Only testimonies dated on/before.")
@click.option(
    "--base-url",
    default="",
    help="Where the API is served, for the links in OHMS and IIIF "
    "(default: http://VOCES_HOST:VOCES_PORT).",
)
@click.option(
    "--words",
    is_flag=True,
    help="Word times too, where the format has a place for them (vtt, iiif, json, jsonl) "
    "and you may read names; a masked copy never has them.",
)
@as_option
@pass_settings
@friendly
def export(
    settings: Settings,
    ids: tuple[str, ...],
    fmt: str,
    output: Path | None,
    out_dir: Path | None,
    region: str,
    community: str,
    theme: str,
    language: str,
    date_from: str,
    date_to: str,
    base_url: str,
    words: bool,
    as_role: str | None,
) -> None:
    """Export testimonies IDS, or without IDS every one within the filters, as files.

    \b
      voces export ID --format vtt -o ID.vtt
      voces export --region Puno --format csv -o puno.csv
      voces export ID1 ID2 --format ohms --out-dir exports/
      voces export ID --format vtt --words -o ID.vtt   # word timing in the cues
    """
    filters = (region, community, theme, language, date_from, date_to)
    if ids and any(filters):
        raise click.ClickException("give testimony IDS or filters (--region ...), not both")
    if output is not None and out_dir is not None:
        raise click.ClickException("give -o/--output or --out-dir, not both")
    form = FORMATS[fmt]
    per_file = out_dir is not None or len(ids) == 1  # one testimony: as the API gives it
    if not ids and not form.sets:
        raise click.ClickException(
            f"{fmt} holds one testimony: give testimony IDS (or use {', '.join(SET_FORMATS)})"
        )
    if not per_file and not form.sets:
        raise click.ClickException(f"{fmt} holds one testimony: give --out-dir for several")
    if out_dir is not None and not ids:
        raise click.ClickException("--out-dir writes one file per testimony: give testimony IDS")
    base = base_url or f"http://{settings.host}:{settings.port}"
    viewer = viewer_for(as_role)
    with services.build_archive(settings, models=False) as archive:
        if theme:
            archive.tagger.taxonomy.check_theme(theme)
        if per_file:
            exports = export_testimonies(archive, ids, viewer, fmt, base, words)
        else:
            flt = filter_from(
                region, community, theme, language, date_from, date_to, ("--since", "--until")
            )
            exports = [export_set(archive, viewer, fmt, flt, list(ids) if ids else None, words)]
    if out_dir is not None:
        output_folder(out_dir)
        for one in exports:  # each file whole; a failure stops before the next
            write_output(out_dir / one.filename, one.content)
        click.echo(f"wrote {len(exports)} files to {out_dir}", err=True)
        return
    [one] = exports
    if output is None:
        click.echo(one.content, nl=False)
        return
    write_output(output, one.content)
    click.echo(f"wrote {output} ({one.testimonies} testimonies, {one.passages} passages)", err=True)
