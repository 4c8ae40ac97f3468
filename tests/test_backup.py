"""Backup, restore and the consistency check, with fake models.

A backup taken while another thread keeps ingesting is consistent (every testimony in it
whole: passages, vectors, recording) and restores to a working archive; a damaged backup
and a restore over an archive are refused; ``check --repair`` fixes what SQLite can
rebuild and reports what it cannot.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline import Archive, InputError, Metadata, PipelineError
from pipeline.maintenance import backup, check, restore

from .backends import embedded_only
from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import HashEmbedder

WORDS = ["río", "mina", "agua", "tierra", "policía", "niños", "chacra", "canal", "plaza"]


def _ingest(archive: Archive, path: Path, **meta: object) -> list:
    return archive.ingest_paths([path], Metadata(**meta), LOCAL)  # type: ignore[arg-type]


def _fill(archive: Archive) -> dict:
    """Typed and recorded testimonies, a review, an API key."""
    typed = _ingest(archive, DATA / "testimonies.jsonl")
    [audio] = _ingest(archive, DATA / "es_rio.ogg", consent="public", language="es")
    passage = archive.passages(audio.id, LOCAL)[0]
    review = archive.store.review(passage.id, "pollution", "accept", LOCAL, "rosa", "de oído")
    _, key = archive.store.keys.create("researcher", "Ana (tests)", LOCAL)
    return {
        "ids": [r.id for r in typed] + [audio.id],
        "audio": audio.id,
        "review": review,
        "key": key,
    }


def _open(home: Path, tagger, whisper=None) -> Archive:
    return Archive(home, HashEmbedder(), tagger, whisper=lambda: whisper, redact=pattern_redact)


def _readonly(path: Path) -> sqlite3.Connection:
    """Read a database without touching its folder (no -wal or -shm file is made)."""
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True)


def _typed(folder: Path, n: int) -> Path:
    path = folder / f"w{n}.jsonl"
    rows = [
        {
            "title": f"Escrito {n}-{k}",
            "text": f"Testimonio escrito {n}-{k}. Hablamos del {WORDS[(n + k) % 9]} y del "
            f"{WORDS[(n * 3 + k) % 9]}. Mi número es 987 654 {n:03d}, me llamo Rosa.",
            "language": "es",
            "consent": "public",
        }
        for k in range(2)
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def _recording(folder: Path, n: int) -> Path:
    """A copy of a test recording made distinct by bytes after its last page."""
    path = folder / f"w{n}.ogg"
    path.write_bytes((DATA / "es_rio.ogg").read_bytes() + f"copy {n}".encode())
    return path


def _assert_whole(folder: Path) -> set[str]:
    """Every testimony stored in ``folder`` has passages, each with a vector and a
    redacted copy, and its recording, byte for byte; returns the testimony ids."""
    db = _readonly(folder / "voces.sqlite3")
    try:
        rows = db.execute("SELECT id, source_hash, media_path FROM testimonies").fetchall()
        counts = dict(db.execute("SELECT testimony_id, count(*) FROM passages GROUP BY 1"))
        (no_vector,) = db.execute(
            "SELECT count(*) FROM passages WHERE id NOT IN (SELECT passage_id FROM vectors)"
        ).fetchone()
        (unredacted,) = db.execute(
            "SELECT count(*) FROM passages WHERE redacted IS NULL"
        ).fetchone()
        (head,) = db.execute("SELECT coalesce(max(seq), 0) FROM index_log").fetchone()
    finally:
        db.close()
    assert no_vector == 0 and unredacted == 0
    for tid, source_hash, media_path in rows:
        assert counts.get(tid, 0) >= 1, f"{tid} has no passages"
        if media_path:
            media = folder / media_path
            assert media.is_file(), f"{tid}: {media_path} is missing"
            assert hashlib.sha256(media.read_bytes()).hexdigest() == source_hash
    stamp = folder / "index" / "index.json"
    if stamp.exists():  # a snapshot never holds changes the database copy lacks
        assert json.loads(stamp.read_text("utf-8"))["log_seq"] <= head
    return {r[0] for r in rows}


@embedded_only("voces backup copies the SQLite file; PostgreSQL is backed up with pg_dump")
def test_backup_while_ingesting_then_restore(archive, voces_home, tmp_path, rule_tagger):
    filled = _fill(archive)
    archive.snapshot_every = 1  # the writer rewrites the index snapshot at every change
    before = {tid: [p.text for p in archive.passages(tid, LOCAL)] for tid in filled["ids"]}
    reviews = archive.store.reviews(LOCAL)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    added: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                path = _recording(inputs, n) if n % 3 == 0 else _typed(inputs, n)
                results = _ingest(archive, path, consent="public", language="es")
                added.extend(r.id for r in results if r.status == "added")
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(added) < count and not errors and time.monotonic() < deadline:
            time.sleep(0.01)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        wait_for(4)
        # as `voces backup` does it: another archive object, no models, while writes go on
        reader = Archive(voces_home, None, rule_tagger)
        try:
            dest = tmp_path / "backup"
            manifest = backup(reader, dest)
        finally:
            reader.close()
        at_backup = len(added)
        wait_for(at_backup + 4)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert len(added) >= at_backup + 4  # the writer went on during and after the backup

    assert manifest["format"] == "voces-backup/1"
    assert {"voces.sqlite3", "manifest.json"} <= {p.name for p in dest.iterdir()}
    assert all(not Path(name).name.startswith(".") for name in manifest["files"])
    in_backup = _assert_whole(dest)
    assert set(filled["ids"]) <= in_backup
    assert len(in_backup) >= len(filled["ids"]) + 4
    assert in_backup < {t.id for t in archive.store.list_testimonies(LOCAL, limit=10**6)[0]}

    home = tmp_path / "restored"
    restore(dest, home)
    restored = _open(home, rule_tagger)
    try:
        listed, total = restored.store.list_testimonies(LOCAL, limit=10**6)
        assert {t.id for t in listed} == in_backup and total == len(in_backup)
        for tid, texts in before.items():
            assert [p.text for p in restored.passages(tid, LOCAL)] == texts
        assert restored.store.reviews(LOCAL) == reviews
        viewer = restored.store.keys.viewer(filled["key"])
        assert viewer is not None and viewer.role == "researcher"
        assert restored.store.keys.viewer(filled["key"] + "x") is None
        assert restored.media_file(filled["audio"], LOCAL) is not None
        passages = restored.store.all_passage_ids()
        assert restored.index is not None and restored.index.ids() == passages
        hits = restored.search("river polluted by the mine", LOCAL, k=5)
        assert hits and {h.testimony_id for h in hits} <= in_backup
        report = check(restored)
        assert report.ok and report.passages == len(passages), report.to_dict()
    finally:
        restored.close()


@embedded_only("voces backup copies the SQLite file; PostgreSQL is backed up with pg_dump")
def test_restore_refuses_a_damaged_backup_and_an_existing_archive(archive, tmp_path, rule_tagger):
    filled = _fill(archive)
    dest = tmp_path / "backup"
    manifest = backup(archive, dest)
    media = [name for name in manifest["files"] if name.startswith("media/")]
    assert media == [f"media/{filled['audio']}.ogg"]

    tampered = tmp_path / "tampered"
    shutil.copytree(dest, tampered)
    data = bytearray((tampered / media[0]).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tampered / media[0]).write_bytes(bytes(data))
    target = tmp_path / "target"
    with pytest.raises(PipelineError, match=f"damaged: {media[0]}"):
        restore(tampered, target)
    assert not target.exists() or not any(target.iterdir())

    with pytest.raises(InputError, match="not a Voces backup"):
        restore(tmp_path / "nowhere", target)
    with pytest.raises(InputError, match="not empty"):
        backup(archive, dest)

    home = tmp_path / "restored"
    restore(dest, home)
    opened = _open(home, rule_tagger)
    review = filled["review"]
    opened.store.review(review.passage_id, "pollution", "reject", LOCAL, "juan")  # a later change
    opened.close()
    with pytest.raises(InputError, match="is not empty"):
        restore(dest, home)
    reopened = _open(home, rule_tagger)
    try:  # refused means untouched
        [review] = reopened.store.reviews(LOCAL)
        assert review.verdict == "reject"
    finally:
        reopened.close()
    restore(dest, home, force=True)
    forced = _open(home, rule_tagger)
    try:
        [review] = forced.store.reviews(LOCAL)
        assert review.verdict == "accept" and check(forced).ok
    finally:
        forced.close()


@embedded_only("voces backup copies the SQLite file; PostgreSQL is backed up with pg_dump")
def test_restore_refuses_a_home_with_files_but_no_database(archive, tmp_path):
    _fill(archive)
    dest = tmp_path / "backup"
    backup(archive, dest)
    home = tmp_path / "half"
    (home / "media").mkdir(parents=True)
    (home / "media" / "recording.ogg").write_bytes(b"the only copy")
    try:
        with pytest.raises(InputError):
            restore(dest, home)
    finally:
        assert (home / "media" / "recording.ogg").read_bytes() == b"the only copy"


@embedded_only("repairs of the FAISS index files")
def test_check_repairs_what_sqlite_can_rebuild(voces_home, rule_tagger, fake_whisper):
    archive = _open(voces_home, rule_tagger, fake_whisper)
    filled = _fill(archive)
    assert check(archive).ok
    archive.close()  # writes the index snapshot

    # a deleted index snapshot: rebuilt from SQLite's vectors and log on open
    snapshot = [voces_home / "index" / "index.faiss", voces_home / "index" / "index.json"]
    assert all(p.is_file() for p in snapshot)
    for path in snapshot:
        path.unlink()
    archive = _open(voces_home, rule_tagger, fake_whisper)
    try:
        passages = archive.store.all_passage_ids()
        report = check(archive, repair=True)
        assert report.ok and report.indexed == len(passages), report.to_dict()

        # an index that lost entries (a snapshot gone wrong): rebuilt by --repair
        assert archive.index is not None
        archive.index.remove(sorted(passages)[:3])
        report = check(archive)
        assert not report.ok and "vector index holds" in report.problems[0]
        report = check(archive, repair=True)
        assert report.ok and any("vector index holds" in r for r in report.repaired)
        assert archive.index.ids() == passages

        # an orphan media file, a vector row deleted by hand, a NULL redacted passage
        (voces_home / "media" / "stray.ogg").write_bytes(b"OggS not a testimony")
        audio_passage = archive.passages(filled["audio"], LOCAL)[0].id
        typed_passage = archive.passages(filled["ids"][0], LOCAL)[0].id
        _, [vector] = archive.store.vectors([audio_passage], archive.index.dim)
        db = archive.store.db
        [(redacted,)] = db.query("SELECT redacted FROM passages WHERE id = ?", (typed_passage,))
        assert redacted
        with db.transaction() as conn:
            conn.execute("DELETE FROM vectors WHERE passage_id = ?", (audio_passage,))
            conn.execute("UPDATE passages SET redacted = NULL WHERE id = ?", (typed_passage,))
        stored = db.query("SELECT redacted FROM passages WHERE id = ?", (typed_passage,))
        assert stored[0][0] is None
        report = check(archive)
        assert len(report.problems) == 3 and not report.repaired, report.problems
        report = check(archive, repair=True)
        assert report.ok, report.problems
        assert len(report.repaired) == 3, report.repaired
        assert not (voces_home / "media" / "stray.ogg").exists()
        _, [again] = archive.store.vectors([audio_passage], archive.index.dim)
        assert np.allclose(again, vector)
        assert audio_passage in archive.index.ids()
        [(text,)] = db.query("SELECT redacted FROM passages WHERE id = ?", (typed_passage,))
        assert text == redacted
        assert check(archive).ok

        # a missing recording is reported, not repaired: only a backup holds it
        (voces_home / "media" / f"{filled['audio']}.ogg").unlink()
        for repair in (False, True):
            report = check(archive, repair=repair)
            assert not report.ok and report.problems == [
                f"recording media/{filled['audio']}.ogg is missing (restore it from a backup)"
            ]
    finally:
        archive.close()


def test_check_removes_leftovers_of_interrupted_transcriptions(
    voces_home, rule_tagger, fake_whisper
):
    import os

    from pipeline.maintenance import STALE_PARTIAL_SECONDS

    archive = _open(voces_home, rule_tagger, fake_whisper)
    try:
        filled = _fill(archive)
        [(stored_hash,)] = archive.store.db.query(
            "SELECT source_hash FROM testimonies WHERE id = ?", (filled["audio"],)
        )
        partial = voces_home / "partial"
        partial.mkdir(exist_ok=True)  # ingests spool their audio there
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        dead = int(gone.stdout)  # a process that has ended
        done = partial / f"{stored_hash}.jsonl"  # killed after storing, before cleaning up
        old = partial / f"{'a' * 64}.jsonl"  # interrupted two days ago, never resumed
        spool = partial / f"{'a' * 64}.{dead}-456.pcm"  # its process is gone: now, any age
        running = partial / f"{'c' * 64}.{os.getpid()}-456.pcm"  # an ingest decoding now
        fresh = partial / f"{'b' * 64}.jsonl"  # interrupted now: may be resumed soon
        for path in (done, old, spool, running, fresh):
            path.write_text("{}\n")
        two_days_ago = time.time() - 2 * STALE_PARTIAL_SECONDS
        for path in (old, running):
            os.utime(path, (two_days_ago, two_days_ago))
        report = check(archive)
        assert sorted(report.problems) == sorted(
            [
                f"partial/{done.name}: its recording is stored",
                f"partial/{old.name}: left by an interrupted ingest a day or more ago",
                f"partial/{spool.name}: spooled audio of an ingest whose process is gone",
            ]
        )
        assert all(p.exists() for p in (done, old, spool))  # reported, not touched
        report = check(archive, repair=True)
        assert report.ok and len(report.repaired) == 3
        assert sorted(partial.iterdir()) == sorted([fresh, running])
    finally:
        archive.close()


@embedded_only("voces backup copies the SQLite file; PostgreSQL is backed up with pg_dump")
def test_backup_restore_and_check_through_the_cli(monkeypatch, fake_whisper, voces_home, tmp_path):
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    assert run("ingest", str(DATA / "testimonies.jsonl")).exit_code == 0
    assert run("ingest", str(DATA / "es_rio.ogg"), "--language", "es").exit_code == 0
    ok = run("check", "--json")
    assert ok.exit_code == 0, ok.output
    counts = json.loads(ok.output)
    assert counts["ok"] and counts["passages"] == counts["vectors"] == counts["indexed"] > 0

    dest = tmp_path / "backup"
    r = run("backup", str(dest))
    assert r.exit_code == 0 and "backed up" in r.output, r.output
    assert (dest / "manifest.json").is_file()
    again = run("backup", str(dest))
    assert again.exit_code == 1 and "not empty" in again.output

    other = tmp_path / "other-home"
    monkeypatch.setenv("VOCES_HOME", str(other))
    r = run("restore", str(dest))
    assert r.exit_code == 0 and str(other) in r.output, r.output
    restored = run("check", "--json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.output) == counts
    hits = json.loads(run("search", "river polluted by the mine", "--json").output)["hits"]
    assert hits
    refused = run("restore", str(dest))
    assert refused.exit_code == 1 and "--force" in refused.output
    assert run("restore", str(dest), "--force").exit_code == 0

    # exit codes: 1 while a problem remains, 0 once --repair fixed everything
    (other / "media" / "stray.wav").write_bytes(b"RIFF")
    found = run("check", "--json")
    assert found.exit_code == 1 and not json.loads(found.output)["ok"]
    fixed = run("check", "--repair", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.output)["repaired"] == [
        "media/stray.wav belongs to no testimony (left by an interrupted ingest)"
    ]
    [media] = (other / "media").iterdir()
    media.unlink()
    missing = run("check", "--repair", "--json")
    assert missing.exit_code == 1
    assert "is missing" in json.loads(missing.output)["problems"][0]
    text = run("check")
    assert text.exit_code == 1 and "problems found" in text.output
