"""CLI verbs that write where the user says (``voces backup DEST``, ``voces export -o`` and
``--out-dir``): a destination that cannot be written gets one ``Error:`` line naming it
and the reason (security review, issue 26), and a write that fails part-way leaves no
partial file or folder behind.

A full disk is real in two ways here: ``/dev/full`` (every write fails with ENOSPC), and a
``voces`` process run with a file-size limit (``RLIMIT_FSIZE``: writes past it fail with
EFBIG, as a full USB stick fails them part-way through).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import Archive, Metadata

from .backends import embedded_only
from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

WORDS = ["río", "mina", "agua", "tierra", "policía", "niños", "chacra", "canal", "plaza"]
#: Larger than SQLite's shared-memory file (32 KiB, which opening the archive writes),
#: smaller than the database and than the export of the fixture's testimonies.
FILE_SIZE_LIMIT = 48 * 1024


@pytest.fixture(scope="module")
def home(tmp_path_factory, rule_tagger) -> Path:
    """An archive with about 100 kB of public typed testimonies and a recording."""
    root = tmp_path_factory.mktemp("cli-outputs")
    whisper = FakeWhisper([(0.0, 3.0, "El río está contaminado por la mina.")])
    archive = Archive(
        root / "home", HashEmbedder(), rule_tagger, whisper=lambda: whisper, redact=pattern_redact
    )
    rows = [
        {
            "id": f"out-{n}",
            "title": f"Testimonio {n}",
            "text": " ".join(
                f"El {WORDS[(n + k) % 9]} y la {WORDS[(n * 5 + k) % 9]} del pueblo {k}."
                for k in range(160)
            ),
            "region": "Puno",
            "language": "es",
            "consent": "public",
        }
        for n in range(12)
    ]
    typed = root / "typed.jsonl"
    typed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    archive.ingest_paths([typed], Metadata(), LOCAL)
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(consent="public", language="es"), LOCAL)
    archive.close()
    return root / "home"


@pytest.fixture
def run(home, monkeypatch, fake_whisper):
    monkeypatch.setenv("VOCES_HOME", str(home))
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder())


def _one_error(result, *fragments: str) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "a bug in Voces" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _voces_limited(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``voces`` in a process that may write no file past FILE_SIZE_LIMIT."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))

    env = {**os.environ, "VOCES_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        env=env,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- voces backup ---------------------------------------------------------------------------


@embedded_only("voces backup copies the SQLite file")
def test_backup_into_an_existing_file(run, tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    _one_error(run("backup", str(existing)), str(existing), "exists and is not a folder")
    assert existing.read_text() == "keep me"


@embedded_only("voces backup copies the SQLite file")
def test_backup_below_a_file(run, tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    _one_error(run("backup", str(existing / "backup")), "cannot back up into", "Not a directory")
    assert existing.read_text() == "keep me"


@embedded_only("voces backup copies the SQLite file")
def test_backup_inside_what_it_copies(run, home):
    inside = home / "media" / "backup"
    _one_error(run("backup", str(inside)), "which the backup copies")
    assert not inside.exists()


@embedded_only("the voces process opens the SQLite archive")
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_backup_that_fails_part_way_leaves_nothing(home, tmp_path):
    dest = tmp_path / "usb" / "backup"
    done = _voces_limited(home, "backup", str(dest))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert lines[-1].startswith(f"Error: cannot back up into {dest}: "), done.stderr
    assert "a bug in Voces" not in done.stderr and "Traceback" not in done.stderr
    assert not dest.exists()  # half a backup is not kept under a backup's name

    given = tmp_path / "empty"  # an empty folder given: emptied again, kept
    given.mkdir()
    assert _voces_limited(home, "backup", str(given)).returncode == 1
    assert given.is_dir() and not any(given.iterdir())


# -- voces export ---------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_export_to_a_full_disk(run):
    _one_error(
        run("export", "--region", "Puno", "--format", "csv", "-o", "/dev/full"),
        "cannot write /dev/full: No space left on device",
    )


def test_export_into_a_missing_folder(run, tmp_path):
    target = tmp_path / "nonexistent" / "x.csv"
    _one_error(
        run("export", "--region", "Puno", "--format", "csv", "-o", str(target)),
        f"cannot write {target}: the folder {target.parent} does not exist",
    )
    assert not target.parent.exists()


def test_export_onto_a_folder(run, tmp_path):
    _one_error(
        run("export", "out-1", "--format", "txt", "-o", str(tmp_path)),
        f"cannot write {tmp_path}: it is a folder",
    )


def test_export_into_an_out_dir_that_cannot_be_one(run, tmp_path):
    existing = tmp_path / "notes.txt"  # (a regular file is refused by click itself)
    existing.write_text("keep me")
    _one_error(
        run("export", "out-1", "out-2", "--format", "txt", "--out-dir", str(existing / "sub")),
        f"cannot write into {existing / 'sub'}: Not a directory",
    )
    assert existing.read_text() == "keep me"
    _one_error(
        run("export", "out-1", "out-2", "--format", "txt", "--out-dir", os.devnull),
        f"cannot write into {os.devnull}: it is not a folder",
    )


def test_export_to_a_device_and_through_a_link(run, tmp_path):
    assert run("export", "out-1", "--format", "txt", "-o", os.devnull).exit_code == 0
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert run("export", "out-1", "--format", "txt", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and "Testimonio 1" in real.read_text()


@embedded_only("the voces process opens the SQLite archive")
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_failed_export_leaves_no_partial_file(home, tmp_path):
    target = tmp_path / "puno.csv"
    args = ("export", "--region", "Puno", "--format", "csv", "-o", str(target))
    done = _voces_limited(home, *args)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert lines == [f"Error: cannot write {target}: File too large"], done.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one

    target.write_text("an earlier export")  # a file already there is kept whole
    assert _voces_limited(home, *args).returncode == 1
    assert target.read_text() == "an earlier export"
    assert list(tmp_path.iterdir()) == [target]


def test_migrate_to_a_folder_that_cannot_be_made_is_one_error(run):
    _one_error(run("migrate", "--to", "/proc/voces-field-copy"), "/proc/voces-field-copy")


def test_a_trained_theme_model_written_to_a_full_disk_is_one_error(run):
    _one_error(run("retrain", "--output", "/dev/full"), "/dev/full")
