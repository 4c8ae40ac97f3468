"""``voces`` verbs that keep the archive safe: consent, delete, keys, audit, jobs, worker,
check, backup, restore, migrate."""

from __future__ import annotations

import signal
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import click

from corpus import CONSENT_LEVELS, KEY_ROLES
from pipeline.jobs import job_json
from pipeline.maintenance import backup as backup_archive
from pipeline.maintenance import check as check_archive
from pipeline.maintenance import migrate as migrate_archive
from pipeline.maintenance import restore as restore_archive

from . import services
from .audit_since import audit_since
from .cli_base import emit, friendly, pass_settings, viewer_for
from .settings import Settings


@click.command()
@click.argument("testimony_id")
@click.argument("level", type=click.Choice(CONSENT_LEVELS))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def consent(settings: Settings, testimony_id: str, level: str, as_json: bool) -> None:
    """Change a testimony's consent level (recorded in the audit log)."""
    with services.build_archive(settings, models=False) as archive:
        t = archive.set_consent(testimony_id, level, viewer_for(None))
    if as_json:
        emit({"id": t.id, "consent": t.consent})
    else:
        click.echo(f"{t.id} is now {t.consent}")


@click.command()
@click.argument("testimony_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_settings
@friendly
def delete(settings: Settings, testimony_id: str, yes: bool) -> None:
    """Withdraw a testimony: remove its recording, passages, tags, reviews and vectors."""
    if not yes:
        click.confirm(f"Delete {testimony_id} and its recording for good?", abort=True)
    with services.build_archive(settings, models=False) as archive:
        removed = archive.delete(testimony_id, viewer_for(None))
    click.echo(f"deleted {testimony_id} ({removed} passages)")


@click.group()
def keys() -> None:
    """API keys: each with a role (researcher, archivist, admin), shown once, stored hashed."""


@keys.command(name="create")
@click.option("--role", type=click.Choice(KEY_ROLES), required=True)
@click.option("--name", required=True, help="Who holds the key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def keys_create(settings: Settings, role: str, name: str, as_json: bool) -> None:
    with services.build_archive(settings, models=False) as archive:
        record, key = archive.keys.create(role, name, viewer_for(None))
    if as_json:
        emit({**asdict(record), "key": key})
        return
    click.echo(key)
    click.echo(f"({role} key {record.id} for {name}: shown this once, keep it safe)", err=True)


@keys.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def keys_list(settings: Settings, as_json: bool) -> None:
    with services.build_archive(settings, models=False) as archive:
        found = archive.keys.list(viewer_for(None))
    if as_json:
        emit({"keys": [asdict(k) for k in found]})
        return
    for k in found:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        click.echo(f"{k.id}  {k.role:<10} {k.name}  ({state}; made {k.created_at})")


@keys.command(name="revoke")
@click.argument("key_id")
@pass_settings
@friendly
def keys_revoke(settings: Settings, key_id: str) -> None:
    with services.build_archive(settings, models=False) as archive:
        archive.keys.revoke(key_id, viewer_for(None))
    click.echo(f"revoked {key_id}")


@click.command()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10**6))
@click.option(
    "--since",
    default="",
    help="ISO 8601 date or time, e.g. 2026-01-01 or 2026-01-01T12:00:00Z (UTC if no offset).",
)
@click.option("--action", default="", help="add, delete, consent, review, read, search, ...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def audit(settings: Settings, limit: int, since: str, action: str, as_json: bool) -> None:
    """Writes, consent changes and reads of restricted or private material, newest first."""
    since = audit_since(since, "--since")  # before the archive is opened
    with services.build_archive(settings, models=False) as archive:
        entries = archive.read.audit_entries(viewer_for(None), limit, since, action)
    if as_json:
        emit({"entries": [asdict(e) for e in entries]})
        return
    for e in entries:
        click.echo(f"{e.at}  {e.actor} ({e.role})  {e.action} {e.target}  {e.detail}")


@click.command()
@click.option("--state", type=click.Choice(["", "queued", "running", "done", "failed"]), default="")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def jobs(settings: Settings, state: str, as_json: bool) -> None:
    """Uploads and where they stand, newest first."""
    with services.build_archive(settings, models=False) as archive:
        found = archive.jobs.list(viewer_for(None), state)
    if as_json:
        emit({"jobs": [job_json(j) for j in found]})
        return
    for j in found:
        detail = j.error or j.message
        click.echo(f"{j.id}  {j.state:<8} {j.progress:4.0%}  {j.source_name}  {detail}")


@click.command()
@pass_settings
@friendly
def worker(settings: Settings) -> None:
    """Store queued uploads (transcribe, tag, embed) until stopped with Ctrl+C or SIGTERM.
    Several workers may run at once, here or (with VOCES_QUEUE_URL) on other machines."""
    archive = services.build_archive(settings)
    archive.warm_up()
    runner = services.build_jobs(archive, settings)
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    click.echo(f"voces worker: taking jobs for {settings.home}", err=True)
    try:
        runner.run(stop)
    finally:
        archive.close()


@click.command()
@click.option("--repair", is_flag=True, help="Fix what can be fixed from SQLite.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def check(settings: Settings, repair: bool, as_json: bool) -> None:
    """Check that SQLite, the vectors, the index, the recordings and the redactions agree."""
    with services.build_archive(settings) as archive:
        report = check_archive(archive, repair=repair)
    if as_json:
        emit(report.to_dict())
    else:
        click.echo(
            f"{report.passages} passages, {report.vectors} vectors, {report.indexed} indexed"
        )
        for line in report.repaired:
            click.echo(f"repaired: {line}")
        for line in report.problems:
            click.echo(f"problem:  {line}")
        click.echo("ok" if report.ok else "problems found (try --repair)")
    if not report.ok:
        raise SystemExit(1)


@click.command()
@click.argument("destination", type=click.Path(path_type=Path))
@pass_settings
@friendly
def backup(settings: Settings, destination: Path) -> None:
    """Copy the archive into a new folder, consistently, even while the server runs."""
    with services.build_archive(settings, models=False) as archive:
        manifest = backup_archive(archive, destination)
    click.echo(f"backed up {len(manifest['files'])} files into {destination}")


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the archive already in VOCES_HOME.")
@pass_settings
@friendly
def restore(settings: Settings, source: Path, force: bool) -> None:
    """Put a backup in place as the archive in VOCES_HOME (stop the server first).

    The backup is checked whole (its manifest, every file's SHA-256, SQLite's integrity)
    on a copy beside the archive before the archive is replaced; a backup that fails any
    check leaves VOCES_HOME untouched. If a restore is interrupted (power cut), run the
    same command again: it finishes or undoes it."""
    manifest = restore_archive(source, settings.home, force=force)
    click.echo(f"restored {len(manifest['files'])} files into {settings.home}")


@click.command()
@click.option(
    "--to",
    "target",
    required=True,
    help="postgresql://user:pass@host/db (an empty database) or a new folder (a SQLite copy).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def migrate(settings: Settings, target: str, as_json: bool) -> None:
    """Copy the whole archive to PostgreSQL + pgvector, or back into a laptop folder,
    keeping every id, review, consent level and audit entry (stop the server first)."""
    with services.build_archive(settings, models=False) as archive:
        report = migrate_archive(archive, target, viewer_for(None))
    if as_json:
        emit(report)
        return
    rows = report["rows"]
    click.echo(
        f"copied {rows['testimonies']} testimonies, {rows['passages']} passages, "
        f"{rows['reviews']} reviews, {rows['audit']} audit entries into {report['target']}"
    )
    if not report["copied"] and str(report["media"]).startswith("s3://"):
        click.echo(
            f"recordings stay in {report['media']}: keep VOCES_MEDIA_URL on every machine",
            err=True,
        )
    elif not report["copied"]:
        click.echo(
            f"recordings stay in {report['media']}: set VOCES_SHARED_DIR to its parent "
            "folder on every machine (see docs/deploy.md)",
            err=True,
        )
