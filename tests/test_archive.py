"""The archive orchestrator with fake models: ingest, idempotence, atomicity, search."""

import shutil

import pytest

from corpus import IndexMismatchError, PassageFilter
from pipeline import Archive, InputError, Metadata

from .conftest import DATA
from .fakes import HashEmbedder


def test_text_collection_ingest_is_idempotent(archive):
    first = archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    assert [r.status for r in first] == ["added"] * 4
    ids = [r.id for r in first]
    counts = archive.store.counts()
    second = archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    assert [r.status for r in second] == ["present"] * 4 and [r.id for r in second] == ids
    assert archive.store.counts() == counts
    assert len(archive.index) == counts["passages"]


def test_jsonl_ids_are_kept(archive):
    results = archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    import json

    expected = [
        json.loads(line)["id"]
        for line in (DATA / "testimonies.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert [r.id for r in results] == expected


def test_audio_ingest_stores_segments_times_tags_and_media(archive, voces_home, fake_whisper):
    [r] = archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(region="Puno", consent="public"))
    assert r.status == "added" and r.id.startswith("a-")
    t = archive.store.get_testimony(r.id)
    # FakeWhisper guesses "ja" first; detection is restricted to the archive's languages
    assert t.language == "es" and 0 < t.language_probability <= 1
    assert t.duration and t.duration > 1
    assert (voces_home / t.media_path).read_bytes() == (DATA / "es_rio.ogg").read_bytes()
    passages = archive.store.passages(r.id)
    assert passages[0].start == 0.0 and passages[-1].end == 9.0
    themes = {tag.theme for p in passages for tag in p.tags}
    assert {"pollution", "land_loss"} <= themes
    again = archive.ingest_paths([DATA / "es_rio.ogg"], Metadata())
    assert again[0].status == "present" and len(fake_whisper.calls) == 1


def test_forced_language_is_passed_to_whisper(archive, fake_whisper):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(language="es"))
    assert fake_whisper.calls[0]["language"] == "es"


def test_undecodable_audio_stores_nothing(archive, voces_home):
    with pytest.raises(InputError, match="cannot decode audio in not_audio.ogg"):
        archive.ingest_paths([DATA / "not_audio.ogg"], Metadata())
    assert archive.store.counts()["testimonies"] == 0
    assert list((voces_home / "media").iterdir()) == []


def test_bad_paths_are_refused_before_anything_is_read(archive, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        archive.ingest_paths([DATA / "testimonies.jsonl", tmp_path / "missing.wav"], Metadata())
    assert archive.store.counts()["testimonies"] == 0
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported file type .docx"):
        archive.ingest_paths([odd], Metadata())


def test_failure_while_storing_leaves_no_half_testimony(archive, voces_home, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(archive.store, "add_testimony", boom)
    with pytest.raises(RuntimeError):
        archive.ingest_paths([DATA / "es_rio.ogg"], Metadata())
    assert list((voces_home / "media").iterdir()) == []
    assert len(archive.index) == 0


def test_index_is_repaired_from_sqlite(voces_home, rule_tagger, fake_whisper):
    a = Archive(voces_home, HashEmbedder(), rule_tagger)
    a.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    n = a.store.counts()["passages"]
    a.store.close()
    shutil.rmtree(voces_home / "index")  # lost or never saved
    b = Archive(voces_home, HashEmbedder(), rule_tagger)
    assert b.rebuilt == n and len(b.index) == n


def test_opening_with_another_embedder_is_refused(voces_home, rule_tagger):
    a = Archive(voces_home, HashEmbedder(dim=64), rule_tagger)
    a.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    a.store.close()
    with pytest.raises(IndexMismatchError, match="voces reindex"):
        Archive(voces_home, HashEmbedder(dim=32), rule_tagger)
    c = Archive(voces_home, HashEmbedder(dim=32), rule_tagger, fresh_index=True)
    assert len(c.index) == c.store.counts()["passages"]
    assert c.index.embedder_name == "fake-hash-32"


def test_search_filters_and_consent(archive):
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(region="Puno", consent="private"))
    hits = archive.search("río contaminado", k=50)
    assert hits and hits[0].score >= hits[-1].score
    public = archive.search("río contaminado", k=50, flt=PassageFilter(consent=("public",)))
    assert all(h.consent == "public" for h in public)
    assert not any(h.testimony_id.startswith("a-") for h in public)
    puno = archive.search("agua", k=50, flt=PassageFilter(region="Puno"))
    assert puno and all(h.region == "Puno" for h in puno)
    with pytest.raises(InputError, match="empty"):
        archive.search("   ")
    with pytest.raises(InputError, match="unknown theme"):
        archive.search("agua", flt=PassageFilter(theme="nope"))


def test_search_crosses_languages_through_the_embedder(archive):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(region="Puno"))
    # FakeWhisper speaks Spanish; the fake embedder maps river/polluted onto río/contaminado
    hits = archive.search("the river is polluted", k=1)
    assert hits[0].text.startswith("El río está contaminado")
    assert hits[0].start == 0.0


def test_similar_other_regions(archive):
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    first = archive.store.list_testimonies()[0][0]
    found = archive.similar(first.id, k=10, other_regions=True)
    assert found and all(s.region != first.region and s.testimony_id != first.id for s in found)
    assert len({s.testimony_id for s in found}) == len(found)


def test_delete_removes_rows_vectors_and_media(archive, voces_home):
    [r] = archive.ingest_paths([DATA / "es_rio.ogg"], Metadata())
    archive.delete(r.id)
    assert archive.store.counts()["testimonies"] == 0 and len(archive.index) == 0
    assert list((voces_home / "media").iterdir()) == []


def test_a_second_process_sees_new_vectors(voces_home, rule_tagger):
    reader = Archive(voces_home, HashEmbedder(), rule_tagger)
    writer = Archive(voces_home, HashEmbedder(), rule_tagger)
    writer.ingest_paths([DATA / "testimonies.jsonl"], Metadata())
    assert reader.search("water", k=3)  # reloads the index saved by the writer
