"""``voces review``: people accept, reject or add theme tags on passages, see what to
review next, and export their decisions as labelled data."""

from __future__ import annotations

from dataclasses import asdict
from textwrap import shorten

import click

from corpus import VERDICTS

from . import services
from .cli_base import emit, friendly, pass_settings, viewer_for
from .settings import Settings


@click.group()
def review() -> None:
    """Accept, reject or add theme tags on passages; reviews win over machine tags."""


def _review_command(verdict: str) -> None:
    @review.command(name=verdict, help=f"{verdict.capitalize()} THEME on passage PASSAGE_ID.")
    @click.argument("passage_id", type=click.IntRange(1, 2**63 - 1))
    @click.argument("theme")
    @click.option("--by", "reviewer", default="", help="Who decides (default: you).")
    @click.option("--note", default="", help="Why, in a few words.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_settings
    @friendly
    def command(
        settings: Settings, passage_id: int, theme: str, reviewer: str, note: str, as_json: bool
    ) -> None:
        archive = services.build_archive(settings, models=False)
        archive.tagger.taxonomy.check_theme(theme)
        r = archive.review(passage_id, theme, verdict, viewer_for(None), reviewer, note)
        if as_json:
            emit(asdict(r))
        else:
            click.echo(f"{r.verdict}ed {r.theme} on passage {r.passage_id} (by {r.reviewer})")


for _verdict in VERDICTS:
    _review_command(_verdict)


@review.command(name="next")
@click.option("--limit", default=10, show_default=True, help="How many passages to offer.")
@click.option("--theme", default="", help="Only this theme.")
@click.option(
    "--pool", default=300, show_default=True, help="Unreviewed passages scored to choose from."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_settings
@friendly
def review_next(settings: Settings, limit: int, theme: str, pool: int, as_json: bool) -> None:
    """The passages whose review would teach the tagger most: those it is least sure
    of, or where its rules, similarity and classifier disagree; themes with fewer
    reviews first. Decide each with `voces review accept|reject PASSAGE_ID THEME`."""
    archive = services.build_archive(settings)
    for c in archive.review_queue(viewer_for(None), limit, theme, pool):
        if as_json:
            emit(asdict(c))
            continue
        place = f" at {c.start:.0f}s" if c.start is not None else ""
        tagged = "tagged" if c.tagged else "not tagged"
        click.echo(f"{c.passage_id:>6} {c.theme:<14} {c.score:.2f} {tagged}  ({c.reason})")
        click.echo(f"       {c.testimony_id}{place}: {shorten(c.text, 160)}")


@review.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_settings
@friendly
def review_list(settings: Settings, as_json: bool) -> None:
    """Every current review."""
    archive = services.build_archive(settings, models=False)
    for r in archive.read.reviews(viewer_for(None)):
        if as_json:
            emit(asdict(r))
        else:
            click.echo(
                f"{r.passage_id:>6} {r.theme:<14} {r.verdict:<7} {r.reviewer}  {r.reviewed_at}"
            )


@review.command(name="export")
@pass_settings
@friendly
def review_export(settings: Settings) -> None:
    """Reviewed passages as labelled JSON lines (the format `voces eval themes` and
    `voces retrain --labels` read): themes accepted or added are listed, rejected ones
    are absent, themes nobody reviewed are marked unknown."""
    archive = services.build_archive(settings, models=False)
    viewer = viewer_for(None)
    themes = archive.tagger.taxonomy.ids
    by_passage: dict[int, dict[str, str]] = {}
    for r in archive.read.reviews(viewer):
        by_passage.setdefault(r.passage_id, {})[r.theme] = r.verdict
    rows = {h.passage_id: h for h in archive.read.hits([(p, 0.0) for p in by_passage], viewer)}
    for pid, verdicts in sorted(by_passage.items()):
        emit(
            {
                "id": f"passage-{pid}",
                "testimony_id": rows[pid].testimony_id,
                "language": rows[pid].language,
                "text": rows[pid].text,
                "themes": sorted(t for t, v in verdicts.items() if v != "reject"),
                "unknown": sorted(t for t in themes if t not in verdicts),
            }
        )
