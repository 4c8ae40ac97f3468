"""`voces migrate`: a laptop archive into PostgreSQL + pgvector and back, whole.

Runs on both test backends: the source is always a SQLite archive (the laptop), the
middle a real PostgreSQL with pgvector (tests/backends.py), the end a new folder."""

import json

import pytest

from corpus import CorpusError, ForbiddenError, PassageFilter, Store
from corpus.transfer import TABLES, table_rows
from pipeline import Archive, Metadata
from pipeline.maintenance import migrate

from . import backends
from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER, pattern_redact
from .fakes import HashEmbedder


def _archive(home, rule_tagger, fake_whisper, database="", shared=None):
    return Archive(
        home,
        HashEmbedder(),
        rule_tagger,
        whisper=lambda: fake_whisper,
        redact=pattern_redact,
        database=database or home / "voces.sqlite3",
        shared=shared,
    )


def _fill(archive):
    """An archive with everything migrating must keep: typed and recorded testimonies,
    a restricted one, a review, a correction, a consent change, a key, a job."""
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata(consent="public"), LOCAL)
    [audio] = archive.ingest_paths(
        [DATA / "es_rio.ogg"], Metadata(region="Puno", consent="restricted"), LOCAL
    )
    passages = archive.passages(audio.id, LOCAL)
    archive.store.review(passages[0].id, "water", "accept", LOCAL, note="heard it")
    archive.correct_passage(passages[1].id, "Los animales se mueren.", LOCAL, note="typo")
    some = archive.store.list_testimonies(LOCAL)[0][0]
    archive.set_consent(some.id, "private", LOCAL)
    archive.store.keys.create("researcher", "Rosa", LOCAL)
    archive.store.jobs.create("job-1", "x.ogg", "uploads/job-1/x.ogg", {"kind": "audio"}, ARCHIVIST)
    return audio.id


def _tables(store):
    return {table: table_rows(store, table, key, cols) for table, key, cols in TABLES}


def test_an_archive_goes_to_postgres_and_back_unchanged(tmp_path, rule_tagger, fake_whisper):
    laptop = _archive(tmp_path / "laptop", rule_tagger, fake_whisper)
    audio_id = _fill(laptop)
    before = _tables(laptop.store)
    assert all(before[t] for t in ("testimonies", "reviews", "passage_edits", "api_keys", "jobs"))
    url = backends.database_for(tmp_path / "server")

    report = migrate(laptop, url, LOCAL)
    assert report["rows"]["passages"] == len(before["passages"]) and report["copied"] == []

    # the server archive answers as the laptop did, recordings read from the shared folder
    # two machines of one archive: the database and the laptop's folder (media/) shared
    shared = tmp_path / "laptop"
    server = _archive(tmp_path / "node", rule_tagger, fake_whisper, database=url, shared=shared)
    reader = Archive(tmp_path / "node2", None, rule_tagger, database=url, shared=shared)
    try:
        assert server.store.searches_vectors
        for viewer in (ANON, RESEARCHER, LOCAL):
            for query in ("río contaminado", "los animales se mueren"):
                a = [(h.testimony_id, h.passage_id) for h in laptop.search(query, viewer, k=5)]
                b = [(h.testimony_id, h.passage_id) for h in server.search(query, viewer, k=5)]
                assert a == b and a
        flt = PassageFilter(region="Puno")
        assert [h.passage_id for h in server.search("río", LOCAL, flt=flt, group=False)] == [
            h.passage_id for h in laptop.search("río", LOCAL, flt=flt, group=False)
        ]
        assert reader.media_file(audio_id, LOCAL) == laptop.media_file(audio_id, LOCAL)
        # ids go on from where the copy ended: a new ingest takes the next ones
        top = max(r[0] for r in before["passages"])
        [new] = server.ingest_paths([DATA / "en_land.ogg"], Metadata(), LOCAL)
        assert min(p.id for p in server.passages(new.id, LOCAL)) == top + 1
        server.delete(new.id, LOCAL)

        # and back, into a folder: a laptop copy for the field
        field = tmp_path / "field"
        report = migrate(reader, str(field), LOCAL)
        assert set(report["copied"]) >= {"media"}
    finally:
        reader.close()
        server.close()
    after = _tables(Store(field / "voces.sqlite3"))
    for table, rows in before.items():
        if table == "audit":  # the copies add their own entries, after the old ones
            assert after[table][: len(rows)] == rows
            actions = [r[4] for r in after[table][len(rows) :]]
            assert actions.count("migrate") == 2
            assert set(actions) <= {"migrate", "add", "delete", "search", "read"}
        else:
            assert after[table] == rows, table
    copy = _archive(field, rule_tagger, fake_whisper)
    try:
        assert copy.media_file(audio_id, LOCAL).read_bytes() == (DATA / "es_rio.ogg").read_bytes()
        assert [h.passage_id for h in copy.search("río", ANON, k=3)] == [
            h.passage_id for h in laptop.search("río", ANON, k=3)
        ]
    finally:
        copy.close()
        laptop.close()


def test_migrating_refuses_a_full_target_an_outsider_and_itself(
    tmp_path, rule_tagger, fake_whisper
):
    laptop = _archive(tmp_path / "laptop", rule_tagger, fake_whisper)
    try:
        _fill(laptop)
        url = backends.database_for(tmp_path / "server")
        with pytest.raises(ForbiddenError):
            migrate(laptop, url, ARCHIVIST)
        migrate(laptop, url, LOCAL)
        counts = Store(url).counts(LOCAL)
        with pytest.raises(CorpusError, match="already holds an archive"):
            migrate(laptop, url, LOCAL)  # a second copy would double nothing: refused
        assert Store(url).counts(LOCAL) == counts
        full = tmp_path / "full"
        full.mkdir()
        (full / "notes.txt").write_text("mine")
        with pytest.raises(Exception, match="not an empty folder"):
            migrate(laptop, str(full), LOCAL)
        assert (full / "notes.txt").read_text() == "mine"
    finally:
        laptop.close()


def test_the_migrate_command(tmp_path, monkeypatch, rule_tagger, fake_whisper):
    from .conftest import fake_cli

    home = tmp_path / "home"
    monkeypatch.setenv("VOCES_HOME", str(home))
    if backends.POSTGRES:  # the command's archive is the laptop here too
        monkeypatch.setattr("pipeline.archive.default_database", lambda h: h / "voces.sqlite3")
    laptop = _archive(home, rule_tagger, fake_whisper)
    _fill(laptop)
    laptop.close()
    cli = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    url = backends.database_for(tmp_path / "server")
    out = cli("migrate", "--to", url, "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["rows"]["testimonies"] == 5 and "***" not in url
    again = cli("migrate", "--to", url)
    assert again.exit_code == 1
    assert again.output.startswith("Error:") and "already holds an archive" in again.output


def test_backup_of_a_postgres_archive_points_to_pg_dump(tmp_path, rule_tagger, fake_whisper):
    from pipeline import InputError
    from pipeline.maintenance import backup

    url = backends.database_for(tmp_path / "server")
    server = _archive(tmp_path / "node", rule_tagger, fake_whisper, database=url)
    try:
        with pytest.raises(InputError, match="pg_dump"):
            backup(server, tmp_path / "copy")
        assert not (tmp_path / "copy").exists()
    finally:
        server.close()
