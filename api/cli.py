"""The ``voces`` command line. Data goes to stdout (``--json`` for machines), logs and
progress to stderr. A user mistake prints one clear line and exits non-zero.

Every verb reads and writes through :class:`~pipeline.Archive` with an explicit viewer:
the operator at this machine (``Viewer.local()``), or ``--as ROLE`` to see what a role
would see.
"""

from __future__ import annotations

from . import (  # noqa: F401  (their verbs register themselves, for now)
    cli_admin,
    cli_eval,
    cli_exports,
    cli_ingest,
    cli_review,
    cli_search,
    cli_serve,
    cli_themes,
)
from .cli_base import cli

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
    cli_themes.themes,
    cli_themes.retrain,
    cli_themes.retag,
    cli_review.review,
    cli_eval.eval_group,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="voces")


if __name__ == "__main__":
    main()
