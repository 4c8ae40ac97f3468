"""The archive orchestrator with fake models: ingest, idempotence, atomicity, search."""

import json
import shutil
import threading

import pytest

from corpus import ConflictError, IndexMismatchError, PassageFilter
from pipeline import Archive, InputError, Metadata

from .backends import embedded_only
from .conftest import ANON, DATA, LOCAL, RESEARCHER, pattern_redact
from .fakes import HashEmbedder

DEMO = DATA.parent.parent / "demo" / "testimonies.jsonl"


def _ingest(archive, path, **meta):
    return archive.ingest_paths([path], Metadata(**meta), LOCAL)


def test_text_collection_ingest_is_idempotent(archive):
    first = _ingest(archive, DATA / "testimonies.jsonl")
    assert [r.status for r in first] == ["added"] * 4
    ids = [r.id for r in first]
    counts = archive.store.counts(LOCAL)
    second = _ingest(archive, DATA / "testimonies.jsonl")
    assert [r.status for r in second] == ["present"] * 4 and [r.id for r in second] == ids
    assert archive.store.counts(LOCAL) == counts
    assert archive.indexed() == counts["passages"]


def test_jsonl_ids_are_kept(archive):
    results = _ingest(archive, DATA / "testimonies.jsonl")
    expected = [
        json.loads(line)["id"]
        for line in (DATA / "testimonies.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert [r.id for r in results] == expected


def test_a_reused_id_with_other_text_or_consent_is_a_conflict(archive, tmp_path):
    _ingest(archive, DATA / "testimonies.jsonl")
    row = json.loads((DATA / "testimonies.jsonl").read_text().splitlines()[0])
    before = archive.store.counts(LOCAL)
    other_text = tmp_path / "other.jsonl"
    other_text.write_text(json.dumps({**row, "text": row["text"] + " Y más."}) + "\n")
    with pytest.raises(ConflictError, match="already used"):
        _ingest(archive, other_text)
    other_consent = tmp_path / "consent.jsonl"
    level = "private" if row.get("consent") != "private" else "public"
    other_consent.write_text(json.dumps({**row, "consent": level}) + "\n")
    with pytest.raises(ConflictError, match="voces consent"):
        _ingest(archive, other_consent)
    assert archive.store.counts(LOCAL) == before


def test_audio_ingest_stores_segments_times_tags_and_media(archive, voces_home, fake_whisper):
    [r] = _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="public")
    assert r.status == "added" and r.id.startswith("a-")
    t = archive.testimony(r.id, LOCAL)
    # FakeWhisper guesses "ja" first; detection is restricted to the archive's languages
    assert t.language == "es" and 0 < t.language_probability <= 1
    assert t.duration and t.duration > 1
    assert (voces_home / t.media_path).read_bytes() == (DATA / "es_rio.ogg").read_bytes()
    passages = archive.passages(r.id, LOCAL)
    # the fake decoder says its last segment ends at 9.0 s; the recording ends sooner,
    # and stored times stay inside the recording
    assert passages[0].start == 0.0 and passages[-1].end == t.duration < 9.0
    themes = {tag.theme for p in passages for tag in p.tags}
    assert {"pollution", "land_loss"} <= themes
    again = _ingest(archive, DATA / "es_rio.ogg", consent="public")
    assert again[0].status == "present" and len(fake_whisper.calls) == 1


def test_forced_language_is_passed_to_whisper(archive, fake_whisper):
    _ingest(archive, DATA / "es_rio.ogg", language="es")
    assert fake_whisper.calls[0]["language"] == "es"


def test_undecodable_audio_stores_nothing(archive, voces_home):
    with pytest.raises(InputError, match="cannot decode audio in not_audio.ogg"):
        _ingest(archive, DATA / "not_audio.ogg")
    assert archive.store.counts(LOCAL)["testimonies"] == 0
    assert list((voces_home / "media").iterdir()) == []


def test_bad_paths_are_refused_before_anything_is_read(archive, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        archive.ingest_paths(
            [DATA / "testimonies.jsonl", tmp_path / "missing.wav"], Metadata(), LOCAL
        )
    assert archive.store.counts(LOCAL)["testimonies"] == 0
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported file type .docx"):
        _ingest(archive, odd)


def test_failure_while_storing_leaves_no_half_testimony(archive, voces_home, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(archive.store, "add_testimony", boom)
    with pytest.raises(RuntimeError):
        _ingest(archive, DATA / "es_rio.ogg")
    assert list((voces_home / "media").iterdir()) == []
    assert archive.indexed() == 0


def test_concurrent_ingests_of_one_recording_keep_its_media(voces_home, rule_tagger, fake_whisper):
    """Two ingests of the same bytes race: one stores it, the other ends 'present', and the
    stored recording is never unlinked by the loser."""
    archives = [
        Archive(voces_home, HashEmbedder(), rule_tagger, whisper=lambda: fake_whisper)
        for _ in range(2)
    ]
    results = []
    barrier = threading.Barrier(2)

    def run(a):
        barrier.wait()
        results.extend(_ingest(a, DATA / "es_rio.ogg", consent="public"))

    threads = [threading.Thread(target=run, args=(a,)) for a in archives]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["added", "present"]
    t = archives[0].testimony(results[0].id, LOCAL)
    assert (voces_home / t.media_path).read_bytes() == (DATA / "es_rio.ogg").read_bytes()
    assert archives[0].store.counts(LOCAL)["testimonies"] == 1


@embedded_only("the FAISS index files")
def test_index_is_rebuilt_from_sqlite_vectors(voces_home, rule_tagger):
    a = Archive(voces_home, HashEmbedder(), rule_tagger)
    _ingest(a, DATA / "testimonies.jsonl")
    n = a.store.counts(LOCAL)["passages"]
    a.close()
    shutil.rmtree(voces_home / "index")  # lost or never saved
    embedder = HashEmbedder()
    b = Archive(voces_home, embedder, rule_tagger)
    assert b.indexed() == n and embedder.calls == 0  # nothing re-embedded


@embedded_only("the FAISS index files")
def test_writes_do_not_rewrite_the_index(voces_home, rule_tagger):
    a = Archive(voces_home, HashEmbedder(), rule_tagger, snapshot_every=10_000)
    _ingest(a, DATA / "testimonies.jsonl")
    assert not (voces_home / "index" / "index.faiss").exists()
    other = Archive(voces_home, HashEmbedder(), rule_tagger)  # replays SQLite's log
    assert other.indexed() == a.indexed() > 0
    a.close()  # a snapshot on close
    assert (voces_home / "index" / "index.faiss").exists()


def test_opening_with_another_embedder_is_refused(voces_home, rule_tagger):
    a = Archive(voces_home, HashEmbedder(dim=64), rule_tagger)
    _ingest(a, DATA / "testimonies.jsonl")
    a.close()
    with pytest.raises(IndexMismatchError, match="voces reindex"):
        Archive(voces_home, HashEmbedder(dim=32), rule_tagger)
    c = Archive(voces_home, HashEmbedder(dim=32), rule_tagger, fresh_index=True)
    assert c.indexed() == c.store.counts(LOCAL)["passages"]
    assert c.index is None or c.index.embedder_name == "fake-hash-32"
    assert c.store.vector_embedders() == {"fake-hash-32"}


def test_search_filters_and_consent(archive):
    _ingest(archive, DATA / "testimonies.jsonl")
    _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="private")
    hits = archive.search("río contaminado", LOCAL, k=50)
    assert hits and hits[0].score >= hits[-1].score
    assert any(h.testimony_id.startswith("a-") for h in hits)
    public = archive.search("río contaminado", ANON, k=50)
    assert public and all(h.consent == "public" for h in public)
    researcher = archive.search("río contaminado", RESEARCHER, k=50)
    assert not any(h.testimony_id.startswith("a-") for h in researcher)
    puno = archive.search("agua", LOCAL, k=50, flt=PassageFilter(region="Puno"), group=False)
    assert puno and all(h.region == "Puno" for h in puno)
    with pytest.raises(InputError, match="empty"):
        archive.search("   ", LOCAL)
    with pytest.raises(InputError, match="unknown theme"):
        archive.search("agua", LOCAL, flt=PassageFilter(theme="nope"))


def test_the_vector_search_itself_keeps_to_the_viewer_and_the_filter(archive):
    """Consent and filters act inside the vector search (FAISS given the allowed ids;
    pgvector in the same SQL), not only when hits are read afterwards: a search that
    found hidden passages would fill its k with them and answer with fewer."""
    _ingest(archive, DATA / "testimonies.jsonl")
    _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="private")
    vector = archive.embedder.embed(["río contaminado"], kind="query")[0]
    everything = {pid for pid, _ in archive._nearest(vector, 100, PassageFilter(), LOCAL)}
    assert everything == set(archive.store.passage_ids(LOCAL).tolist())
    for viewer, flt in ((ANON, PassageFilter()), (LOCAL, PassageFilter(region="Puno"))):
        allowed = set(archive.store.passage_ids(viewer, flt).tolist())
        found = {pid for pid, _ in archive._nearest(vector, 100, flt, viewer)}
        assert found == allowed and allowed < everything


def test_a_narrow_filter_gets_k_answers_every_time(archive):
    """A filter that the approximate search's candidates miss (pgvector's HNSW list is
    made small here, the query is a passage outside the filter) still gets its k allowed
    passages, search after search (past psycopg's prepare threshold of five).

    At bench scale (bench/scale.py, 20k passages) the re-run once came back short from
    the sixth search on: a prepared plan kept the HNSW scan although index scans were
    disabled for the re-run. At this fixture's size PostgreSQL plans the filtered query
    without the HNSW index, so this test does not reproduce that bug; the bench's
    ``short_answers`` column is what caught it and shows it fixed."""
    _ingest(archive, DATA / "testimonies.jsonl")
    _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="public")
    archive.store.ef_search = 1
    if archive.store.searches_vectors:  # a table this small would be read whole instead
        with archive.store.db.transaction() as db:
            db.execute("SET enable_seqscan = off")  # this session only
    flt = PassageFilter(region="Puno")
    allowed = set(archive.store.passage_ids(LOCAL, flt).tolist())
    assert 0 < len(allowed) <= len(archive.store.passage_ids(LOCAL)) / 3
    elsewhere = min(set(archive.store.passage_ids(LOCAL).tolist()) - allowed)
    vector = archive.store.vector_map([elsewhere], archive.embedder.dim)[elsewhere]
    for _ in range(10):
        found = {pid for pid, _ in archive._nearest(vector, len(allowed), flt, LOCAL)}
        assert found == allowed


def test_search_crosses_languages_through_the_embedder(archive):
    _ingest(archive, DATA / "es_rio.ogg", region="Puno")
    # FakeWhisper speaks Spanish; the fake embedder maps river/polluted onto río/contaminado
    hits = archive.search("the river is polluted", LOCAL, k=1)
    assert hits[0].text.startswith("El río está contaminado")
    assert hits[0].start == 0.0


def test_similar_other_regions(archive):
    _ingest(archive, DATA / "testimonies.jsonl")
    first = archive.store.list_testimonies(LOCAL)[0][0]
    found = archive.similar(first.id, LOCAL, k=10, other_regions=True)
    assert found and all(s.region != first.region and s.testimony_id != first.id for s in found)
    assert len({s.region for s in found}) == len(found)  # the best one per other region
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)


def test_similar_never_shows_what_the_viewer_may_not_see(archive):
    _ingest(archive, DATA / "testimonies.jsonl")
    [r] = _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="public")
    assert all(s.passage.consent == "public" for s in archive.similar(r.id, ANON, k=10))


def test_delete_removes_rows_vectors_and_media(archive, voces_home):
    [r] = _ingest(archive, DATA / "es_rio.ogg")
    archive.delete(r.id, LOCAL)
    assert archive.store.counts(LOCAL)["testimonies"] == 0 and archive.indexed() == 0
    assert archive.store.vector_ids() == set()
    assert list((voces_home / "media").iterdir()) == []


def test_a_second_process_sees_new_vectors(voces_home, rule_tagger):
    reader = Archive(voces_home, HashEmbedder(), rule_tagger)
    writer = Archive(voces_home, HashEmbedder(), rule_tagger)
    _ingest(writer, DATA / "testimonies.jsonl")
    assert reader.search("water", LOCAL, k=3)  # replays the log the writer appended to
    gone = writer.store.list_testimonies(LOCAL)[0][0].id
    writer.delete(gone, LOCAL)
    hits = reader.search("water", LOCAL, k=100, group=False)
    assert len(hits) == len(reader.store.passage_ids(LOCAL))
    assert all(h.testimony_id != gone for h in hits)


def test_redaction_is_stored_and_backfilled(voces_home, rule_tagger, tmp_path):
    typed = tmp_path / "t.jsonl"
    typed.write_text(
        json.dumps(
            {
                "id": "r1",
                "text": "Me llamo Rosa Quispe, mi celular es 987 654 321.",
                "consent": "public",
            }
        )
        + "\n"
    )
    plain = Archive(voces_home, HashEmbedder(), rule_tagger)  # an archive without redaction
    _ingest(plain, typed)
    assert "Rosa" not in plain.passages("r1", ANON)[0].text  # withheld, not leaked
    plain.close()
    redacting = Archive(voces_home, HashEmbedder(), rule_tagger, redact=pattern_redact)
    text = redacting.passages("r1", ANON)[0].text
    assert "Rosa" not in text and "987" not in text and "[" in text
    assert "Rosa Quispe" in redacting.passages("r1", LOCAL)[0].text


def test_search_groups_passages_into_stories(archive):
    _ingest(archive, DATA / "testimonies.jsonl")
    _ingest(archive, DATA / "es_rio.ogg", region="Puno", consent="public")
    stories = archive.search("río contaminado", LOCAL, k=3)
    ids = [h.testimony_id for h in stories]
    assert len(ids) == len(set(ids)) == 3  # k distinct testimonies
    passages = archive.search("río contaminado", LOCAL, k=50, group=False)
    assert len({h.testimony_id for h in passages}) < len(passages)  # several per story
    audio = next(h for h in archive.search("río contaminado", LOCAL, k=10) if h.start is not None)
    assert audio.context_after or audio.context_before  # its neighbours come with it
    assert any(
        audio.text[a:b].lower().startswith(("río", "contaminad")) for a, b in audio.highlights
    )


def _filler(count: int) -> list[dict]:
    """Enough one-passage testimonies for rarity to mean something (RARE_MIN_PASSAGES)."""
    return [
        {
            "id": f"x{n}",
            "text": f"El agua del río está sucia y los animales mueren, año {n}.",
            "consent": "public",
        }
        for n in range(count)
    ]


def test_a_rare_name_is_found_even_among_many_words(archive, tmp_path):
    rows = _filler(520)
    rows.append(
        {"id": "target", "text": "En Quellaveco nos quitaron el agua.", "consent": "public"}
    )
    typed = tmp_path / "many.jsonl"
    typed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _ingest(archive, typed)
    query = "el agua del río sucia y los animales, en quellaveco"
    from pipeline.search import ContextWeights

    lifted = archive.search(query, LOCAL, k=3, weights=ContextWeights(0.2, 0.2, 0.6, 1.0))
    assert lifted[0].testimony_id == "target" and "Quellaveco" in lifted[0].text
    dense_only = archive.search(query, LOCAL, k=3, weights=ContextWeights(0.2, 0.2, 0.6, 0.0))
    assert [h.testimony_id for h in dense_only][0] != "target"  # what the keyword adds


def test_the_passage_shown_holds_the_name_searched_for(archive, tmp_path):
    text = (
        "El agua del río está sucia y los animales mueren. Nadie nos escucha. "
        "Vinieron los ingenieros. Todo empezó en Antapaccay, cuando llegaron."
    )
    rows = [{"id": "story", "text": text, "consent": "public"}] + _filler(520)
    typed = tmp_path / "s.jsonl"
    typed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _ingest(archive, typed)
    from pipeline.search import ContextWeights

    weights = ContextWeights(0.2, 0.2, 0.6, 1.0)
    [hit] = archive.search("el agua del río sucia, antapaccay", LOCAL, k=1, weights=weights)
    assert hit.testimony_id == "story" and "Antapaccay" in hit.text
    assert hit.context_before  # its neighbour comes with it


def test_in_a_small_archive_no_word_counts_as_rare(archive, tmp_path):
    from pipeline.search import rare_terms

    assert rare_terms({"river": 1}, 20) == []
    assert rare_terms({"quellaveco": 1, "agua": 400}, 5000) == ["quellaveco"]


def test_filters_see_changes_made_by_another_process(voces_home, rule_tagger):
    """The allowed ids of a filter are cached between searches; a consent change, a
    review or a deletion made through another connection must show at once."""
    reader = Archive(voces_home, HashEmbedder(), rule_tagger, redact=pattern_redact)
    writer = Archive(voces_home, HashEmbedder(), rule_tagger, redact=pattern_redact)
    _ingest(writer, DEMO, consent="public")
    where = PassageFilter(language="es")
    first = reader.search("agua río", ANON, k=10, flt=where)
    assert len({h.testimony_id for h in first}) > 1
    assert reader.search("agua río", ANON, k=10, flt=where) == first  # cached
    gone = first[0].testimony_id
    writer.set_consent(gone, "private", LOCAL)
    after = reader.search("agua río", ANON, k=10, flt=where)
    assert after and gone not in {h.testimony_id for h in after}
    # a reviewed tag changes what a theme filter selects
    pid = after[0].passage_id
    theme = PassageFilter(theme="water")
    before = {h.passage_id for h in reader.search("agua", LOCAL, k=50, flt=theme, group=False)}
    verdict = "reject" if pid in before else "accept"
    writer.store.review(pid, "water", verdict, LOCAL)
    now = {h.passage_id for h in reader.search("agua", LOCAL, k=50, flt=theme, group=False)}
    assert (pid in now) == (verdict == "accept")
    # testimonies added after the filter was cached are found (added incrementally)
    assert reader.search("plomo en la sangre", ANON, k=3, flt=where)[0].testimony_id != (
        "test-junin-01"
    )
    _ingest(writer, DATA / "testimonies.jsonl", consent="public")
    plomo = reader.search("plomo en la sangre", ANON, k=3, flt=where)
    assert plomo[0].testimony_id == "test-junin-01"
    writer.close()
    reader.close()


@embedded_only("FAISS chooses flat or IVF by size (pgvector: HNSW, measured in bench/scale.py)")
@pytest.mark.parametrize("exact_below", [50, 10**9])
def test_the_size_chosen_index_finds_what_exact_search_finds(
    voces_home, rule_tagger, fake_whisper, tmp_path, exact_below
):
    """An archive past the exact-search threshold is searched through an IVF index; its
    top results on a fixture match those of exact search (the same vectors, flat)."""
    exact_home = tmp_path / "exact"
    whisper = lambda: fake_whisper  # noqa: E731
    exact = Archive(exact_home, HashEmbedder(), rule_tagger, whisper, exact_below=10**9)
    sized = Archive(voces_home, HashEmbedder(), rule_tagger, whisper, exact_below=exact_below)
    for a in (exact, sized):
        _ingest(a, DEMO, region="Cusco")
        _ingest(a, DATA / "es_rio.ogg", region="Puno")
        a.refresh()
    n = len(sized.index)
    assert n > 50
    assert sized.index.plan.kind == ("ivf" if exact_below < n else "flat")
    for query in ("río contaminado", "agua", "they took our land", "Puno"):
        for flt in (PassageFilter(), PassageFilter(region="Puno")):
            every = exact.search(query, LOCAL, k=1000, flt=flt, group=False)
            truth = {h.passage_id: h.score for h in every}
            got = sized.search(query, LOCAL, k=5, flt=flt, group=False)
            # the same top 5, up to ties within half precision's rounding
            assert len(got) == 5 and all(truth[h.passage_id] >= every[4].score - 0.005 for h in got)
            assert all(abs(h.score - truth[h.passage_id]) < 0.005 for h in got)
            grouped = sized.search(query, ANON, k=3, flt=flt)
            assert [h.testimony_id for h in grouped] == [
                h.testimony_id for h in exact.search(query, ANON, k=3, flt=flt)
            ]
    # and a rebuild from SQLite gives the same index again
    top = [h.passage_id for h in sized.search("agua", LOCAL, k=5, group=False)]
    sized.rebuild_index()
    assert [h.passage_id for h in sized.search("agua", LOCAL, k=5, group=False)] == top
    exact.close()
    sized.close()


def _typed(archive, tmp_path, rows):
    typed = tmp_path / "rows.jsonl"
    typed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _ingest(archive, typed)


def test_a_place_named_in_the_query_lifts_the_stories_told_there(archive, tmp_path):
    from pipeline.search import ContextWeights

    rows = _filler(520)  # enough passages for a word's share to mean something
    rows.append(
        {
            "id": "there",
            "text": "El agua del río está sucia y los animales mueren, año 9999.",
            "region": "Cajamarca",
            "consent": "public",
        }
    )
    _typed(archive, tmp_path, rows)
    query = "el agua del río sucia en cajamarca"
    # k=30 searches 600 passages deep: every story is a candidate (the label lifts
    # candidates, it does not find stories)
    lifted = archive.search(query, ANON, k=30, weights=ContextWeights(0.2, 0.2, 0.6, label=0.5))
    assert lifted[0].testimony_id == "there"
    plain = archive.search(query, ANON, k=30, weights=ContextWeights(0.2, 0.2, 0.6))
    assert plain[0].testimony_id != "there"  # what the label adds


def test_word_stems_find_a_story_told_in_the_other_language(archive, tmp_path):
    from pipeline.search import ContextWeights

    rows = _filler(520)  # enough passages for a stem's share to mean something
    rows.append({"id": "uranio", "text": "Encontraron uranio en el cerro.", "consent": "public"})
    _typed(archive, tmp_path, rows)
    query = "the water of the river, uranium"
    weights = ContextWeights(0.2, 0.2, 0.6, keyword=0.3)
    [hit] = archive.search(query, ANON, k=1, weights=weights)
    assert hit.testimony_id == "uranio"
    [plain] = archive.search(query, ANON, k=1, weights=ContextWeights(0.2, 0.2, 0.6))
    assert plain.testimony_id != "uranio"  # what the stems add


def test_the_archive_size_behind_the_lifts_follows_what_is_ingested(archive, tmp_path):
    """The passage count that switches the stem search on is cached between searches (on
    PostgreSQL a count(*)); it must follow an ingest that grows the archive past it."""
    from pipeline.search import ContextWeights

    weights = ContextWeights(0.2, 0.2, 0.6, keyword=0.3)
    _typed(archive, tmp_path, [{"id": "first", "text": "El río.", "consent": "public"}])
    archive.search("the water of the river, uranium", ANON, k=1, weights=weights)
    rows = _filler(520)
    rows.append({"id": "uranio", "text": "Encontraron uranio en el cerro.", "consent": "public"})
    _typed(archive, tmp_path, rows)
    [hit] = archive.search("the water of the river, uranium", ANON, k=1, weights=weights)
    assert hit.testimony_id == "uranio"


def test_in_a_small_archive_common_words_do_not_lift_stories(archive, tmp_path):
    """Below RARE_MIN_PASSAGES every stem is in a large share of the passages; a Spanish
    story must not be lifted above others for sharing "nuestra" with the query."""
    from dataclasses import replace

    from pipeline.search import DEFAULT_WEIGHTS

    rows = [
        {"id": "es", "text": "Nuestra fiesta es en febrero."},
        {"id": "en", "text": "Our land was taken."},
    ]
    _typed(archive, tmp_path, [dict(r, consent="public") for r in rows])
    with_stems = archive.search("nuestra tierra", ANON, k=2)
    lexical_off = replace(DEFAULT_WEIGHTS, rare=0.0, keyword=0.0, label=0.0)
    without = archive.search("nuestra tierra", ANON, k=2, weights=lexical_off)
    assert [h.score for h in with_stems] == [h.score for h in without]


def test_a_masked_name_in_a_title_does_not_lift_a_story(archive, tmp_path):
    """A title that names the witness is read in its masked form by whoever may not see
    names; a query for that name must not rank by it (removing the masking in
    ``corpus.store.testimony_label``, which the search reads through ``PassagePlaces``,
    fails this test)."""
    from dataclasses import replace

    from pipeline.search import DEFAULT_WEIGHTS, ContextWeights

    rows = _filler(520)
    rows.append(
        {
            "id": "named",
            "title": "Me llamo Rosa Quispe",
            "text": "El agua del río está sucia y los animales mueren, año 9999.",
            "consent": "public",
        }
    )
    _typed(archive, tmp_path, rows)
    assert "Quispe" not in archive.store.get_testimony("named", ANON).title
    weights = ContextWeights(0.2, 0.2, 0.6, label=0.5)
    admin = archive.search("el agua del río sucia, quispe", LOCAL, k=30, weights=weights)
    assert admin[0].testimony_id == "named"  # the archive's staff see and match the name
    public = {
        h.testimony_id: h.score
        for h in archive.search("el agua del río sucia, quispe", ANON, k=600)
    }
    no_label = replace(DEFAULT_WEIGHTS, label=0.0)
    unlifted = archive.search("el agua del río sucia, quispe", ANON, k=600, weights=no_label)
    assert public["named"] == {h.testimony_id: h.score for h in unlifted}["named"]
