"""The ``voces`` command line. Data goes to stdout (``--json`` for machines), logs and
progress to stderr. A user mistake prints one clear line and exits non-zero.

Every verb reads and writes through :class:`~pipeline.Archive` with an explicit viewer:
the operator at this machine (``Viewer.local()``), or ``--as ROLE`` to see what a role
would see.
"""

from __future__ import annotations

from . import (
    cli_admin,
    cli_eval,
    cli_exports,
    cli_ingest,
    cli_review,
    cli_search,
    cli_serve,
    cli_speakers,
    cli_themes,
)
from .cli_base import cli

__all__ = ["cli", "main"]

# One module per group of verbs a user sees; each defines its commands and this root
# adds them, so `voces --help` (sorted by click) lists exactly what is registered here.
for _command in (
    # bring material in, or look at it without storing it
    cli_ingest.ingest,
    cli_ingest.transcribe_cmd,
    cli_ingest.tag,
    cli_ingest.reindex,
    # find and read testimonies
    cli_search.search,
    cli_search.similar,
    cli_search.show,
    # who speaks when: voices, their names, turns
    cli_speakers.speakers,
    # themes: the taxonomy, emergent themes, the classifier
    cli_themes.themes,
    cli_themes.retrain,
    cli_themes.retag,
    # people's decisions on tags, and measurement against labels
    cli_review.review,
    cli_eval.eval_group,
    # files out
    cli_exports.export,
    # keeping the archive safe
    cli_admin.consent,
    cli_admin.delete,
    cli_admin.keys,
    cli_admin.audit,
    cli_admin.jobs,
    cli_admin.worker,
    cli_admin.check,
    cli_admin.backup,
    cli_admin.restore,
    cli_admin.migrate,
    # the HTTP server
    cli_serve.serve,
    cli_serve.demo,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="voces")


if __name__ == "__main__":
    main()
