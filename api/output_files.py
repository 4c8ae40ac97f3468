"""Writing the files a user names on the command line (``voces export -o``/``--out-dir``;
``voces retrain --output`` should use it too).

A failed write says which file and why in one ``Error:`` line ("cannot write
/media/usb/puno.csv: No space left on device"), and leaves no half-written file behind: a
regular file is written under a temporary name beside it and renamed into place (see
:func:`corpus.media.replace_durably`), so the target is the old file or the whole new one.
A device or named pipe (``-o /dev/stdout``) is written in place: there is nothing to
rename over it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import click

from corpus.media import replace_durably

__all__ = ["output_folder", "write_output"]


def write_output(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``target``, whole or not at all."""
    data = text.encode("utf-8")
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _cannot(target, exc) from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise click.ClickException(f"cannot write {target}: it is a folder")
    if info is not None and not stat.S_ISREG(info.st_mode):
        try:
            with target.open("wb") as out:
                out.write(data)
        except OSError as exc:
            raise _cannot(target, exc) from exc
        return
    real = target.resolve() if target.is_symlink() else target  # write where a link points
    if not real.parent.is_dir():
        raise click.ClickException(
            f"cannot write {target}: the folder {real.parent} does not exist"
        )
    mode = stat.S_IMODE(info.st_mode) if info is not None else None

    def write(out: BinaryIO) -> None:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(out.fileno(), mode)  # a replaced file keeps its permissions
        out.write(data)

    try:
        replace_durably(real, write)
    except OSError as exc:
        raise _cannot(target, exc) from exc


def output_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents) for files to be written into."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise click.ClickException(f"cannot write into {folder}: it is not a folder") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write into {folder}: {exc.strerror or exc}") from exc


def _cannot(target: Path, exc: OSError) -> click.ClickException:
    return click.ClickException(f"cannot write {target}: {exc.strerror or exc}")
