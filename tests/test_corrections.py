"""Transcript corrections: the text changes, its times do not; the passage is embedded,
tagged and redacted again; every edit is kept; only archivists may correct or read the
history (it holds original, unredacted text)."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from corpus import CorpusError, ForbiddenError, NotFoundError, PassageFilter
from pipeline import InputError, Metadata

from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER


def _recorded(archive, consent="public"):
    archive.ingest_paths(
        [DATA / "es_rio.ogg"], Metadata(region="Puno", consent=consent, language="es"), LOCAL
    )
    [t] = archive.store.list_testimonies(LOCAL)[0]
    return t, archive.passages(t.id, LOCAL)


def test_correction_keeps_times_and_history_and_redoes_tags_and_vectors(archive):
    t, passages = _recorded(archive)
    p = passages[0]
    assert "pollution" in {g.theme for g in p.tags}
    old_vector = archive.store.vector_map([p.id], 64)[p.id]
    text = "Perdimos nuestras tierras, nos despojaron de la chacra. Llame a Juan al 987654321."
    after, edit = archive.correct_passage(p.id, text, ARCHIVIST, note="heard again")
    assert (after.start, after.end, after.seq) == (p.start, p.end, p.seq)
    assert after.text == text
    assert edit is not None and (edit.old_text, edit.new_text) == (p.text, text)
    assert edit.editor == ARCHIVIST.name and edit.note == "heard again"
    # re-tagged from the new words; re-embedded (the index finds it by them)
    assert "land_loss" in {g.theme for g in after.tags}
    assert "pollution" not in {g.theme for g in after.tags}
    assert not (archive.store.vector_map([p.id], 64)[p.id] == old_vector).all()
    assert (
        archive.search("Perdimos nuestras tierras chacra", LOCAL, 1, group=False)[0].passage_id
        == p.id
    )
    # re-redacted: the anonymous reader sees the number masked, the archivist the original
    assert "987654321" not in archive.store.passage(p.id, ANON).text
    assert "987654321" in archive.store.passage(p.id, ARCHIVIST).text
    # theme filters see the new tags at once (the cached allowed sets are invalidated)
    assert p.id in archive.store.passage_ids(LOCAL, PassageFilter(theme="land_loss"))
    # a second correction: the history holds both, oldest first
    archive.correct_passage(p.id, "Perdimos nuestras tierras.", ARCHIVIST, editor="rosa")
    history = archive.store.passage_edits(p.id, ARCHIVIST)
    assert [e.new_text for e in history] == [text, "Perdimos nuestras tierras."]
    assert history[1].old_text == text and history[1].editor == "rosa"
    # the same text again changes nothing and adds no edit
    _, none = archive.correct_passage(p.id, " Perdimos  nuestras tierras. ", ARCHIVIST)
    assert none is None and len(archive.store.passage_edits(p.id, LOCAL)) == 2
    assert [a.action for a in archive.store.audit_entries(LOCAL, action="correct")] == [
        "correct",
        "correct",
    ]


def test_a_human_review_survives_a_correction(archive):
    _, passages = _recorded(archive)
    p = passages[0]
    archive.store.review(p.id, "health", "add", ARCHIVIST, "rosa")
    after, _ = archive.correct_passage(p.id, "El agua del río.", ARCHIVIST)
    assert "health" in {g.theme for g in after.tags}


def test_only_archivists_correct_and_read_history(archive):
    t, passages = _recorded(archive, consent="restricted")
    p = passages[0]
    for viewer in (ANON, RESEARCHER):
        with pytest.raises((ForbiddenError, NotFoundError)):
            archive.correct_passage(p.id, "otra cosa", viewer)
        with pytest.raises((ForbiddenError, NotFoundError)):
            archive.store.passage_edits(p.id, viewer)
    assert archive.store.passage(p.id, LOCAL).text == p.text
    with pytest.raises(InputError):
        archive.correct_passage(p.id, "   ", ARCHIVIST)
    with pytest.raises(CorpusError):
        archive.store.correct_passage(
            p.id, "x", ARCHIVIST, redacted=None, vector=None, embedder="", tags=(), editor=" "
        )
    with pytest.raises(NotFoundError):
        archive.correct_passage(999_999, "otra cosa", ARCHIVIST)


@pytest.fixture
def client(archive):
    with TestClient(create_app(get_settings(), archive=archive)) as c:
        yield c


def _headers(archive, role):
    _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
    return {"Authorization": f"Bearer {key}"}


def test_correct_over_http(client, archive):
    _, passages = _recorded(archive)
    p = passages[1]
    archivist, researcher = _headers(archive, "archivist"), _headers(archive, "researcher")
    body = {"text": "Los animales se mueren por el agua sucia.", "note": "typo"}
    assert client.patch(f"/api/v1/passages/{p.id}", json=body).status_code == 401
    assert (
        client.patch(f"/api/v1/passages/{p.id}", json=body, headers=researcher).status_code == 403
    )
    r = client.patch(f"/api/v1/passages/{p.id}", json=body, headers=archivist)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["start"], out["end"], out["text"]) == (p.start, p.end, body["text"])
    assert [e["new_text"] for e in out["edits"]] == [body["text"]]
    # the history is withheld from those who may not read originals
    assert client.get(f"/api/v1/passages/{p.id}").json()["edits"] == []
    assert client.get(f"/api/v1/passages/{p.id}", headers=researcher).json()["edits"] == []
    bad = client.patch(f"/api/v1/passages/{p.id}", json={"text": ""}, headers=archivist)
    assert bad.status_code == 422 and "error" in bad.json()
    blank = client.patch(f"/api/v1/passages/{p.id}", json={"text": "  "}, headers=archivist)
    assert blank.status_code == 400 and blank.json()["error"]["message"]


def test_grouped_search_scores_a_corrected_story_by_its_new_mean_vector(archive, voces_home):
    """Grouped search keeps the testimonies' mean vectors in memory; a correction (a new
    passage vector) must reach the story's score at once, as an archive opened afresh
    scores it. Fails if the kept mean vectors outlive a change of the passage vectors."""
    from pipeline import Archive, TextItem

    from .fakes import HashEmbedder

    texts = {
        "a": " ".join(
            [
                "El río está contaminado por la mina.",
                "Los peces murieron en el río.",
                "Mi abuela tejía mantas de alpaca.",
                "En la fiesta del pueblo bailamos toda la noche.",
                "Los niños van a la escuela a pie.",
                "El mercado abre los domingos temprano.",
                "Mi hermano se fue a Lima a trabajar.",
                "Las lluvias llegan en diciembre.",
                "Criamos ovejas y vacas en la puna.",
                "El camino a la ciudad es largo.",
            ]
        ),
        "b": "La mina contaminó el río de la comunidad. Nadie bebe esa agua.",
        "c": "Perdimos nuestras tierras cuando llegó la empresa. Nos desalojaron.",
    }
    meta = Metadata(region="Puno", language="es")
    archive.ingest_texts([TextItem(t, text, meta, t) for t, text in texts.items()], LOCAL)
    query = "río contaminado por la mina"
    before = {h.testimony_id: h for h in archive.search(query, LOCAL, 3)}
    best = archive.store.passage(before["a"].passage_id, LOCAL)
    # a passage of story a that is neither its best passage nor a neighbour of it
    far = [p for p in archive.passages("a", LOCAL) if abs(p.seq - best.seq) >= 2]
    assert far, "story a needs a passage away from its best one"
    archive.correct_passage(far[-1].id, "Sembramos papa y maíz en la chacra.", ARCHIVIST)
    after = [(h.testimony_id, h.passage_id, h.score) for h in archive.search(query, LOCAL, 3)]
    fresh = Archive(voces_home, embedder=HashEmbedder(), tagger=archive.tagger)
    try:
        again = [(h.testimony_id, h.passage_id, h.score) for h in fresh.search(query, LOCAL, 3)]
    finally:
        fresh.close()
    assert after == again
    # only story a's mean vector moved: its score changed, the others' did not
    scores = {t: s for t, _, s in after}
    assert scores["a"] != before["a"].score
    assert scores["b"] == before["b"].score
