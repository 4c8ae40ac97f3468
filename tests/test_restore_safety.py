"""``voces restore`` treats a backup as untrusted input (security review, issue 26).

Every damaged or doctored backup is refused with one ``Error:`` line, through the real CLI,
and the archive it was to replace is left exactly as it was, byte for byte, even with
``--force``. A crash during the swap leaves a state the same command finishes; a rename
that fails is undone.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import Archive, Metadata, PipelineError
from pipeline import restoring as restoring_module
from pipeline.maintenance import backup, check
from pipeline.restoring import DATABASES, FOLDERS

from .backends import embedded_only
from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

pytestmark = embedded_only("voces backup and restore copy SQLite files")

SPOKEN = [(0.0, 3.0, "El río está contaminado por la mina.")]


def _archive(home: Path, rule_tagger) -> Archive:
    whisper = FakeWhisper(SPOKEN)
    return Archive(
        home, HashEmbedder(), rule_tagger, whisper=lambda: whisper, redact=pattern_redact
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory, rule_tagger) -> dict[str, Path]:
    """A backup of one archive (typed testimonies and a recording), and another archive,
    with testimonies and a recording of its own, for the backup to be restored over."""
    root = tmp_path_factory.mktemp("restore-safety")
    source = _archive(root / "source", rule_tagger)
    source.ingest_paths([DATA / "testimonies.jsonl"], Metadata(), LOCAL)
    source.ingest_paths([DATA / "es_rio.ogg"], Metadata(consent="public", language="es"), LOCAL)
    backup(source, root / "backup")
    source.close()
    target = _archive(root / "target", rule_tagger)
    typed = root / "other.jsonl"
    typed.write_text(
        json.dumps({"id": "only-here", "text": "Solo en este archivo: el canal se secó."}) + "\n"
    )
    target.ingest_paths([typed], Metadata(), LOCAL)
    target.ingest_paths([DATA / "en_land.ogg"], Metadata(language="en"), LOCAL)
    target.close()
    (root / "target" / "taxonomy.json").write_text("{}")  # not a part a backup holds
    return {"backup": root / "backup", "target": root / "target"}


def _tree(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's SHA-256, or what else it is."""
    out = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode):
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[path.relative_to(folder).as_posix()] = "folder" if stat.S_ISDIR(mode) else "other"
    return out


def _parts(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``home``'s tree split: the archive's pieces (what a restore replaces), the rest."""
    pieces = [d + side for d in DATABASES for side in ("", "-wal", "-shm", "-journal")]
    parts: dict[str, str] = {}
    rest: dict[str, str] = {}
    for name, what in _tree(home).items():
        (parts if name.split("/")[0] in (*pieces, *FOLDERS) else rest)[name] = what
    return parts, rest


@pytest.fixture
def copies(made, tmp_path, monkeypatch, fake_whisper):
    """A copy of the backup to doctor, a copy of the archive to restore over, and the CLI
    pointed at that archive."""
    bk, home = tmp_path / "backup", tmp_path / "home"
    shutil.copytree(made["backup"], bk)
    shutil.copytree(made["target"], home)
    monkeypatch.setenv("VOCES_HOME", str(home))
    cli = fake_cli(monkeypatch, fake_whisper, HashEmbedder())

    def run(*args: str, home: Path = home):
        monkeypatch.setenv("VOCES_HOME", str(home))
        return cli(*args)

    return bk, home, run


def _manifest(bk: Path) -> dict:
    return json.loads((bk / "manifest.json").read_text("utf-8"))


def _save(bk: Path, manifest: dict) -> None:
    (bk / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def _media(bk: Path) -> str:
    [name] = [n for n in _manifest(bk)["files"] if n.startswith("media/")]
    return name


def _edit_files(change: Callable[[dict, Path], object]) -> Callable[[Path], None]:
    def doctor(bk: Path) -> None:
        manifest = _manifest(bk)
        change(manifest["files"], bk)  # changes the mapping in place
        _save(bk, manifest)

    return doctor


def _set_files(value: object) -> Callable[[Path], None]:
    def doctor(bk: Path) -> None:
        manifest = _manifest(bk)
        if value == "missing":
            del manifest["files"]
        else:
            manifest["files"] = value
        _save(bk, manifest)

    return doctor


def _rename_entry(new_name: Callable[[str, Path], str]) -> Callable[[Path], None]:
    def doctor(bk: Path) -> None:
        manifest = _manifest(bk)
        name = _media(bk)
        manifest["files"][new_name(name, bk)] = manifest["files"].pop(name)
        _save(bk, manifest)

    return doctor


def _extra_file(bk: Path) -> None:
    (bk / "media" / "extra.ogg").write_bytes(b"OggS not listed anywhere")


def _symlink_out(bk: Path) -> None:
    """The recording replaced by a link to a file outside the backup with the same bytes
    (the manifest's digest matches what the link points at)."""
    name = _media(bk)
    outside = bk.parent / "outside.ogg"
    shutil.copyfile(bk / name, outside)
    (bk / name).unlink()
    (bk / name).symlink_to(outside)


def _fifo(bk: Path) -> None:
    name = _media(bk)
    (bk / name).unlink()
    os.mkfifo(bk / name)


def _folder(bk: Path) -> None:
    name = _media(bk)
    (bk / name).unlink()
    (bk / name).mkdir()
    (bk / name / "inside.ogg").write_bytes(b"")


def _altered(bk: Path) -> None:
    path = bk / _media(bk)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _relist(bk: Path, name: str) -> None:
    manifest = _manifest(bk)
    manifest["files"][name] = hashlib.sha256((bk / name).read_bytes()).hexdigest()
    _save(bk, manifest)


def _broken_database(bk: Path) -> None:
    """A database SQLite opens but whose integrity check fails (an index that disagrees
    with its table), listed with its true digest: only the integrity check can catch it."""
    db = sqlite3.connect(bk / "voces.sqlite3")
    db.execute("CREATE TABLE probe(a, b)")
    db.execute("CREATE INDEX probe_a ON probe(a)")
    db.executemany("INSERT INTO probe VALUES (?, ?)", [(i, -i) for i in range(50)])
    db.commit()
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX probe_a ON probe(b)' "
               "WHERE name = 'probe_a'")  # fmt: skip
    db.commit()
    db.close()
    _relist(bk, "voces.sqlite3")


def _not_a_database(bk: Path) -> None:
    (bk / "voces.sqlite3").write_bytes(b"these are not the testimonies you are looking for")
    _relist(bk, "voces.sqlite3")


def _listed_dotfile(bk: Path) -> None:
    (bk / ".write.lock").write_bytes(b"")
    _relist(bk, ".write.lock")


CASES = {
    "files empty": (_set_files({}), "does not list the database"),
    "database entry missing": (
        _edit_files(lambda files, bk: files.pop("voces.sqlite3")),
        "does not list the database",
    ),
    "database missing": (
        _edit_files(
            lambda files, bk: (files.pop("voces.sqlite3"), os.remove(bk / "voces.sqlite3"))
        ),
        "does not list the database",
    ),
    "unlisted extra file": (_extra_file, "media/extra.ogg is in the backup folder but not"),
    "absolute path": (
        _rename_entry(lambda name, bk: str((bk / name).resolve())),
        "an absolute path",
    ),
    "dot-dot path": (_rename_entry(lambda name, bk: "media/../" + name), "not a plain path"),
    "dot-dot escaping": (_rename_entry(lambda name, bk: "../backup/" + name), "not a plain path"),
    "backslash": (_rename_entry(lambda name, bk: name.replace("/", "\\")), "backslash"),
    "empty name": (_rename_entry(lambda name, bk: ""), "an empty name"),
    "empty part": (_rename_entry(lambda name, bk: name.replace("/", "//")), "not a plain path"),
    "not an archive part": (_listed_dotfile, "not a part of an archive"),
    "files a list": (_set_files(["voces.sqlite3"]), "'files' must map each file's path"),
    "files missing": (_set_files("missing"), "'files' must map each file's path"),
    "files null": (_set_files(None), "'files' must map each file's path"),
    "digest not hex": (
        _edit_files(lambda files, bk: files.update({"voces.sqlite3": "z" * 64})),
        "not a SHA-256",
    ),
    "digest short": (
        _edit_files(lambda files, bk: files.update({"voces.sqlite3": "ab"})),
        "not a SHA-256",
    ),
    "symlink to a file outside": (_symlink_out, "is a symbolic link, not a regular file"),
    "named pipe where a file is listed": (_fifo, "is a named pipe, not a regular file"),
    "folder where a file is listed": (_folder, "is a folder, not a regular file"),
    "altered bytes": (_altered, "is missing or altered"),
    "database fails integrity check": (_broken_database, "fails SQLite's integrity check"),
    "not a database": (_not_a_database, "fails SQLite's integrity check"),
    "manifest not json": (
        lambda bk: (bk / "manifest.json").write_text("{files"),
        "not a Voces backup",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_doctored_backup_is_refused_and_the_archive_is_untouched(copies, case):
    bk, home, run = copies
    doctor, message = CASES[case]
    doctor(bk)
    before = _tree(home)
    result = run("restore", str(bk), "--force")
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0] and "a bug in Voces" not in lines[0]
    assert _tree(home) == before
    # and into an empty folder: nothing is made
    fresh = home.parent / "fresh"
    result = run("restore", str(bk), home=fresh)
    assert result.exit_code == 1 and not fresh.exists(), result.output


def _restored(bk: Path, tmp_path: Path, run) -> dict[str, str]:
    """The archive's pieces as a restore of ``bk`` into a new folder gives them."""
    clean = tmp_path / "clean"
    assert run("restore", str(bk), home=clean).exit_code == 0
    return _parts(clean)[0]


def test_force_replaces_the_whole_archive_and_nothing_else(copies, tmp_path, rule_tagger):
    bk, home, run = copies
    others = _parts(home)[1]
    assert "taxonomy.json" in others  # not a part of the archive a restore replaces
    result = run("restore", str(bk), "--force")
    assert result.exit_code == 0, result.output
    assert not (home / ".restore").exists()
    assert _parts(home) == (_restored(bk, tmp_path, run), others)
    archive = _archive(home, rule_tagger)
    try:
        ids = {t.id for t in archive.store.list_testimonies(LOCAL, limit=100)[0]}
        assert "only-here" not in ids and "test-puno-01" in ids
        assert check(archive).ok
    finally:
        archive.close()


class Crash(BaseException):
    """A kill -9 at this line: nothing after it runs (no except or finally of the restore's
    own catches a BaseException that is not an OSError)."""


def _swap_renames(home: Path, monkeypatch, fail: Callable[[], BaseException], at: int) -> None:
    """Make the ``at``-th rename of the swap (after ready.json is written) fail."""
    real = os.replace
    count = [0]

    def replace(src, dst):
        if (home / ".restore" / "ready.json").exists():
            count[0] += 1
            if count[0] == at:
                raise fail()
        return real(src, dst)

    monkeypatch.setattr(restoring_module.os, "replace", replace)


#: The swap's renames over the fixture's archive: its voces.sqlite3, media and index
#: aside (no -wal or -shm: it was closed), the backup's three in.
RENAMES = range(1, 7)


@pytest.mark.parametrize("at", RENAMES)
def test_a_crash_during_the_swap_is_finished_by_the_same_command(
    copies, tmp_path, monkeypatch, rule_tagger, at
):
    bk, home, run = copies
    others = _parts(home)[1]
    with monkeypatch.context() as patch:
        _swap_renames(home, patch, Crash, at)
        with pytest.raises(Crash):
            run("restore", str(bk), "--force")
    assert (home / ".restore" / "ready.json").is_file()
    with pytest.raises(PipelineError, match="interrupted half-way"):  # not opened half-swapped
        Archive(home, embedder=None, tagger=rule_tagger)
    if not (home / "voces.sqlite3").exists():  # someone opened the archive meanwhile
        (home / "voces.sqlite3").write_bytes(b"an empty archive made after the crash")
    result = run("restore", str(bk))  # the same command, even without --force
    assert result.exit_code == 0, result.output
    assert not (home / ".restore").exists()
    assert _parts(home) == (_restored(bk, tmp_path, run), others)


def test_a_crash_while_copying_leaves_the_archive_and_is_cleaned_up(copies):
    bk, home, run = copies
    before = _tree(home)
    staged = home / ".restore" / "new"  # as a crash while copying leaves it
    (staged / "media").mkdir(parents=True)
    (staged / "voces.sqlite3").write_bytes(b"half a copy")
    result = run("restore", str(bk))
    assert result.exit_code == 1 and "is not empty" in result.output
    assert _tree(home) == before


@pytest.mark.parametrize("at", RENAMES)
def test_a_failed_rename_during_the_swap_is_undone(copies, monkeypatch, at):
    bk, home, run = copies
    before = _tree(home)

    def fail() -> OSError:
        return OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    with monkeypatch.context() as patch:
        _swap_renames(home, patch, fail, at)
        result = run("restore", str(bk), "--force")
    assert result.exit_code == 1 and result.output.startswith("Error: cannot restore")
    assert "unchanged" in result.output, result.output
    assert _tree(home) == before


def test_a_backup_inside_the_archive_it_replaces_is_refused(copies):
    bk, home, run = copies
    inside = home / "media" / "old-backup"
    shutil.copytree(bk, inside)
    before = _tree(home)
    result = run("restore", str(inside), "--force")
    assert result.exit_code == 1 and "move the backup out" in result.output
    assert _tree(home) == before


def test_too_little_room_is_refused_before_copying(copies, monkeypatch):
    bk, home, run = copies
    before = _tree(home)
    room = shutil.disk_usage(home)._replace(free=1000)
    monkeypatch.setattr(restoring_module.shutil, "disk_usage", lambda path: room)
    result = run("restore", str(bk), "--force")
    assert result.exit_code == 1 and "MB free and the backup needs" in result.output
    assert _tree(home) == before


def test_a_restore_waits_for_no_writer(copies, monkeypatch):
    from filelock import FileLock

    bk, home, run = copies
    before = _tree(home)
    monkeypatch.setattr(restoring_module, "_LOCK_WAIT_SECONDS", 0.2)
    with FileLock(str(home / ".write.lock")):  # as an archive holds it while it writes
        result = run("restore", str(bk), "--force")
    assert result.exit_code == 1 and "another process is writing" in result.output
    assert _tree(home) == before
