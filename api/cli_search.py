"""``voces`` verbs that find and read testimonies: search, similar and show, each as the
operator (or ``--as ROLE``) may see them."""

from __future__ import annotations

from dataclasses import asdict, replace

import click

from pipeline.texts import filter_from

from . import services
from .cli_base import as_option, emit, friendly, pass_settings, tag_json, viewer_for
from .settings import Settings


def _theme_check(settings: Settings, theme: str) -> None:
    if theme:
        services.build_tagger(settings, None).taxonomy.check_theme(theme)


@click.command()
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--region", default="")
@click.option("--community", default="")
@click.option("--theme", default="")
@click.option("--language", default="")
@click.option("--since", "date_from", default="", help="Only testimonies dated on/after.")
@click.option("--until", "date_to", default="", help="Only testimonies dated on/before.")
@click.option(
    "--speaker",
    default="",
    help="Only passages of this voice: its label (S1) or the name an archivist gave it.",
)
@click.option("--passages", is_flag=True, help="The k closest passages, not one hit per testimony.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@as_option
@pass_settings
@friendly
def search(
    settings: Settings,
    query: str,
    k: int,
    region: str,
    community: str,
    theme: str,
    language: str,
    date_from: str,
    date_to: str,
    speaker: str,
    passages: bool,
    as_json: bool,
    as_role: str | None,
) -> None:
    """Search by meaning, across languages: one hit per testimony (its best passage and
    the passages around it), or with --passages the closest passages."""
    if not query.strip():
        raise click.ClickException("the search query is empty")
    _theme_check(settings, theme)
    archive = services.build_archive(settings)
    flt = replace(
        filter_from(region, community, theme, language, date_from, date_to, ("--since", "--until")),
        speaker=speaker.strip()[:200],
    )
    hits = archive.search(query, viewer_for(as_role), k, flt, group=not passages)
    if as_json:
        emit({"hits": [asdict(h) for h in hits]})
        return
    if not hits:
        click.echo("no passages found")
    for h in hits:
        when = f" @{h.start:.1f}s" if h.start is not None else ""
        click.echo(f"{h.score:.3f}  {h.testimony_id}{when}  [{h.region}, {h.language}] {h.text}")


@click.command()
@click.argument("testimony_id")
@click.option("--other-regions", is_flag=True, help="Only testimonies from other regions.")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@as_option
@pass_settings
@friendly
def similar(
    settings: Settings,
    testimony_id: str,
    other_regions: bool,
    k: int,
    as_json: bool,
    as_role: str | None,
) -> None:
    """Testimonies that tell a similar story."""
    archive = services.build_archive(settings)
    found = archive.similar(testimony_id, viewer_for(as_role), k, other_regions)
    if as_json:
        emit({"testimony_id": testimony_id, "similar": [asdict(s) for s in found]})
        return
    if not found:
        click.echo("no similar testimonies")
    for s in found:
        click.echo(f"{s.score:.3f}  {s.testimony_id}  [{s.region}, {s.language}] {s.title}")


@click.command()
@click.argument("testimony_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@as_option
@pass_settings
@friendly
def show(settings: Settings, testimony_id: str, as_json: bool, as_role: str | None) -> None:
    """A testimony: metadata, passages with times and tags, and its themes with the
    passages that support them."""
    archive = services.build_archive(settings, models=False)
    viewer = viewer_for(as_role)
    t = archive.testimony(testimony_id, viewer)
    passages = archive.passages(testimony_id, viewer)
    themes = archive.testimony_themes(testimony_id, viewer, passages)
    voices = archive.speakers(testimony_id, viewer)
    names = {s.label: s.name for s in voices}
    if as_json:
        emit(
            {
                "testimony": asdict(t),
                "themes": [asdict(x) for x in themes],
                "speakers": [{"label": s.label, "name": s.name} for s in voices],
                "passages": [
                    {
                        "id": p.id,
                        "seq": p.seq,
                        "start": p.start,
                        "end": p.end,
                        "text": p.text,
                        "redacted": p.redacted,
                        "tags": [tag_json(g) for g in p.tags],
                        "speaker": p.speaker,
                        "speaker_name": names.get(p.speaker, ""),
                        "words": [asdict(w) for w in p.words],
                    }
                    for p in passages
                ],
            }
        )
        return
    click.echo(f"{t.id}  {t.title}  [{t.region}, {t.community}, {t.language}, {t.consent}]")
    for x in themes:
        flag = " (reviewed)" if x.reviewed else ""
        click.echo(f"  {x.theme:<14} {x.score:.2f}  passages {list(x.passages)}{flag}")
    for p in passages:
        when = f"{p.start:7.1f}s " if p.start is not None else ""
        who = f"{names.get(p.speaker) or p.speaker}: " if p.speaker else ""
        tags = ", ".join(f"{g.theme} {g.score:.2f} ({g.source})" for g in p.tags) or "-"
        click.echo(f"\n#{p.id} {when}{who}{p.text}\n    {tags}")
