"""``voces speakers``: the voices of a recorded testimony (S1, S2, ... as diarization
found them), the names archivists give them, and which voice speaks each passage."""

from __future__ import annotations

from dataclasses import asdict

import click

from . import services
from .cli_base import as_option, emit, friendly, pass_settings, viewer_for
from .settings import Settings


@click.group()
def speakers() -> None:
    """List a testimony's voices, name them, and fix who speaks a passage."""


@speakers.command(name="list")
@click.argument("testimony_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@as_option
@pass_settings
@friendly
def list_speakers(
    settings: Settings, testimony_id: str, as_json: bool, as_role: str | None
) -> None:
    """TESTIMONY_ID's voices and their names (masked for roles that may not see names),
    with how many passages each speaks."""
    viewer = viewer_for(as_role)
    with services.build_archive(settings, models=False) as archive:
        found = archive.speakers(testimony_id, viewer)
        passages = archive.passages(testimony_id, viewer)
    held = {s.label: 0 for s in found}
    for p in passages:
        if p.speaker:
            held[p.speaker] = held.get(p.speaker, 0) + 1
    if as_json:
        emit(
            {
                "testimony_id": testimony_id,
                "speakers": [
                    {"label": s.label, "name": s.name, "passages": held.get(s.label, 0)}
                    for s in found
                ],
            }
        )
        return
    if not found:
        click.echo(f"{testimony_id} has no speaker turns (a typed testimony?)")
    for s in found:
        click.echo(f"{s.label:<4} {s.name or '(unnamed)'}  {held.get(s.label, 0)} passages")


@speakers.command()
@click.argument("testimony_id")
@click.argument("label")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def rename(settings: Settings, testimony_id: str, label: str, name: str, as_json: bool) -> None:
    """Name voice LABEL (S1, S2, ...) of TESTIMONY_ID ("Entrevistadora", the narrator's
    name; "" takes the name away). Viewers who may not see names read it masked."""
    with services.build_archive(settings, models=False) as archive:
        renamed = archive.rename_speaker(testimony_id, label, name, viewer_for(None))
    if as_json:
        emit(asdict(renamed))
    else:
        click.echo(f"{renamed.label} of {renamed.testimony_id} is {renamed.name or '(unnamed)'}")


@speakers.command(name="set")
@click.argument("passage_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("label")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def set_speaker(settings: Settings, passage_id: int, label: str, as_json: bool) -> None:
    """Fix a turn: passage PASSAGE_ID is spoken by LABEL, a voice of its testimony or a
    new S<n> (which adds that voice)."""
    with services.build_archive(settings, models=False) as archive:
        passage = archive.set_speaker(passage_id, label, viewer_for(None))
    if as_json:
        emit({"passage_id": passage.id, "testimony_id": passage.testimony_id, "speaker": label})
    else:
        click.echo(f"passage {passage.id} of {passage.testimony_id} is spoken by {label}")
