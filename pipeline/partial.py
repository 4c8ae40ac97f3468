"""What an ingest keeps under ``VOCES_HOME/partial`` while it works, and who owns it.

A recording being ingested leaves two kinds of file there, both named by the SHA-256 of
the recording's bytes:

- ``<sha>.<pid>-<thread>.pcm``: the decoded audio, spooled to disk (16-bit, 115 MB an
  hour) and read back a chunk at a time. It belongs to one process; the ingest removes it
  when it is done, so one whose process is gone (killed, crashed) is a leftover at once,
  whatever its age: it holds the whole recording.
- ``<sha>.jsonl``: the transcription checkpoint, the finished chunks of a long recording,
  so that an interrupted ingest resumes after its last one. It is kept until the recording
  is stored (then it is a leftover) or withdrawn.

Withdrawing a testimony removes both (:func:`remove_recording`); ``voces check`` reports
leftovers and ``--repair`` removes them.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

__all__ = [
    "checkpoint_path",
    "owner_alive",
    "remove_dead_spools",
    "remove_recording",
    "spool_path",
]

#: ``<sha>.<pid>-<thread>.pcm``
_SPOOL = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<pid>\d+)-(?P<thread>\d+)\.pcm$")


def spool_path(home: Path, source_hash: str) -> Path:
    """Where this process spools a recording's decoded audio."""
    return home / "partial" / f"{source_hash}.{os.getpid()}-{threading.get_ident()}.pcm"


def checkpoint_path(home: Path, source_hash: str) -> Path:
    return home / "partial" / f"{source_hash}.jsonl"


def owner_alive(path: Path) -> bool | None:
    """Whether the process that spooled ``path`` still runs (None: not a spool file).

    A process id can be reused; then a leftover waits until that process ends, which is
    the safe side: a spool of a running ingest is never removed."""
    match = _SPOOL.match(path.name)
    if match is None:
        return None
    pid = int(match["pid"])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_dead_spools(home: Path, source_hash: str) -> int:
    """Remove the spooled audio of this recording left by processes that are gone (an
    ingest killed mid-way, which this one resumes). Returns how many."""
    removed = 0
    for path in (home / "partial").glob(f"{source_hash}.*.pcm"):
        if owner_alive(path) is False:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_recording(home: Path, source_hash: str) -> int:
    """Remove everything kept under ``partial/`` for a recording (it was withdrawn):
    checkpoints and spooled audio, whoever made them. Returns how many files."""
    removed = 0
    if not re.fullmatch(r"[0-9a-f]{64}", source_hash):
        return 0  # not a SHA-256: nothing of ours is named by it
    for path in (home / "partial").glob(f"{source_hash}.*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed
