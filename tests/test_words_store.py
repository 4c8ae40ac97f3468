"""Words stored with their passages (issue 29): Whisper's words go into the ``words``
table at ingest, come back in order, timed monotonically and inside their passage, only
to viewers who may see names; a correction realigns them (unchanged words keep their
times, edited ones are interpolated and marked) in the same transaction; a withdrawal
takes them away."""

from __future__ import annotations

import pytest

from corpus import ForbiddenError, NotFoundError, Word
from pipeline import Archive, Metadata

from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER, pattern_redact
from .fakes import FakeWhisper, HashEmbedder


def _timed(start: float, end: float, text: str, doubt: str = "") -> tuple:
    """A Whisper segment with its words spread evenly (``doubt``: the word heard with
    probability 0.4)."""
    words = text.split()
    step = (end - start) / len(words)
    return (
        start,
        end,
        text,
        [
            (start + i * step, start + (i + 1) * step, " " + w, 0.4 if w == doubt else 0.9)
            for i, w in enumerate(words)
        ],
    )


SPOKEN = [
    _timed(0.0, 3.2, "Me llamo Rosa Quispe y soy de Puno.", doubt="Quispe"),
    _timed(3.2, 6.0, "El río está contaminado por la mina."),
    _timed(6.5, 9.0, "Los animales se mueren y los niños están enfermos."),
]


@pytest.fixture
def worded(voces_home, rule_tagger):
    a = Archive(
        voces_home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper(SPOKEN),
        redact=pattern_redact,
    )
    yield a
    a.close()


def _ingest(archive, consent="public", allow_names=False):
    archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(consent=consent, language="es", allow_names=allow_names),
        LOCAL,
    )
    [t] = archive.store.list_testimonies(LOCAL)[0]
    return t, archive.passages(t.id, LOCAL)


def test_words_are_stored_in_order_timed_inside_their_passage(worded):
    t, passages = _ingest(worded)
    assert passages
    spoken = " ".join(seg[2] for seg in SPOKEN).split()
    assert [w.text for p in passages for w in p.words] == spoken
    for p in passages:
        assert p.words, p
        assert " ".join(w.text for w in p.words) == p.text
        previous_end = p.start
        for w in p.words:
            assert p.start <= w.start <= w.end <= p.end, (p, w)
            assert w.start >= previous_end - 1e-9, "words overlap or go back in time"
            previous_end = w.end
            assert not w.edited
    quispe = next(w for p in passages for w in p.words if w.text == "Quispe")
    assert quispe.probability == pytest.approx(0.4, abs=1e-6)
    # the rows themselves: one per word, numbered from 0 within each passage
    rows = worded.store.db.tuples(
        "SELECT passage_id, position FROM words ORDER BY passage_id, position"
    )
    assert len(rows) == len(spoken)
    for p in passages:
        assert [r[1] for r in rows if r[0] == p.id] == list(range(len(p.words)))


def test_words_go_only_to_those_who_may_see_names(worded):
    t, passages = _ingest(worded, consent="public")
    assert passages[0].words  # there are words to withhold
    for viewer in (ANON, RESEARCHER):
        seen = worded.passages(t.id, viewer)
        assert all(p.redacted and p.words == () for p in seen)
        assert worded.read.passage(passages[0].id, viewer).words == ()
        assert all(p.words == () for p in worded.read.passages_by_id([passages[0].id], viewer))
        assert "Quispe" not in " ".join(p.text for p in seen)
    assert worded.passages(t.id, ARCHIVIST)[0].words == passages[0].words


def test_words_go_to_everyone_where_the_witness_allowed_names(worded):
    t, passages = _ingest(worded, consent="public", allow_names=True)
    assert worded.passages(t.id, ANON)[0].words == passages[0].words != ()


def test_a_correction_keeps_the_times_of_unchanged_words(worded):
    t, passages = _ingest(worded)
    p = next(p for p in passages if "contaminado" in p.text)
    text = p.text.replace("contaminado", "envenenado").replace("mina.", "minera, dicen.")
    after, edit = worded.correct_passage(p.id, text, ARCHIVIST)
    assert edit is not None
    assert [w.text for w in after.words] == text.split()
    for w in after.words:
        assert p.start <= w.start <= w.end <= p.end
    # every word the correction left alone is the word Whisper heard, times and all
    unchanged = [w for w in p.words if w.text not in ("contaminado", "mina.")]
    assert [w for w in after.words if not w.edited] == unchanged
    edited = [w for w in after.words if w.edited]
    assert [w.text for w in edited] == ["envenenado", "minera,", "dicen."]
    assert all(w.probability == 1.0 for w in edited)
    # the replaced word's stretch is where "contaminado" was heard
    heard = next(w for w in p.words if w.text == "contaminado")
    assert (edited[0].start, edited[0].end) == pytest.approx((heard.start, heard.end))
    # stored, not just returned: a fresh read gives the same words
    assert worded.passages(t.id, LOCAL)[p.seq].words == after.words
    # a second correction keeps the first one's edited marks on words it leaves alone
    again, _ = worded.correct_passage(p.id, text.replace("El río", "Ese río"), ARCHIVIST)
    assert [w for w in again.words if w.text != "Ese"] == [w for w in after.words if w.text != "El"]


def test_a_correction_by_a_researcher_touches_no_word(worded):
    t, passages = _ingest(worded, consent="restricted")
    with pytest.raises(ForbiddenError):
        worded.correct_passage(passages[0].id, "Otra cosa.", RESEARCHER)
    with pytest.raises(ForbiddenError):
        worded.store.stored_words(passages[0].id, RESEARCHER)
    assert worded.passages(t.id, LOCAL)[0].words == passages[0].words


def test_typed_testimonies_have_no_words_and_corrections_keep_it_so(worded, tmp_path):
    from pipeline.texts import read_text_items

    path = tmp_path / "t.txt"
    path.write_text("El agua del río se volvió amarilla. Nadie nos escuchó.", "utf-8")
    worded.ingest_texts(read_text_items(path, Metadata(consent="public")), LOCAL)
    [t] = worded.store.list_testimonies(LOCAL)[0]
    [p] = worded.passages(t.id, LOCAL)
    assert p.words == () and p.speaker == ""
    after, _ = worded.correct_passage(p.id, "El agua del río se volvió roja.", ARCHIVIST)
    assert after.words == ()


def test_withdrawal_takes_the_words_with_it(worded):
    t, passages = _ingest(worded)
    assert worded.store.db.tuples("SELECT count(*) FROM words")[0][0] > 0
    worded.delete(t.id, LOCAL)
    assert worded.store.db.tuples("SELECT count(*) FROM words")[0][0] == 0
    assert worded.store.db.tuples("SELECT count(*) FROM speakers")[0][0] == 0
    with pytest.raises(NotFoundError):
        worded.store.stored_words(passages[0].id, LOCAL)


def test_words_round_trip_exactly(worded):
    """Times, probabilities and edited marks come back as written (both engines)."""
    t, passages = _ingest(worded)
    p = passages[0]
    words = (Word(0.125, 0.5, "Me", 0.987654, False), Word(0.5, 1.0, "llamaron", 1.0, True))
    worded.store.correct_passage(
        p.id,
        "Me llamaron.",
        LOCAL,
        redacted="Me llamaron.",
        vector=worded.store.vector_map([p.id], 64)[p.id],
        embedder=worded.embedder.name,
        tags=(),
        words=words,
    )
    assert worded.passages(t.id, LOCAL)[0].words == words


def test_a_migrated_archive_keeps_its_words_and_voices(worded, tmp_path):
    """``voces migrate`` copies the words and the named voices, row for row."""
    from corpus.store import Store
    from corpus.transfer import TABLES, copy_store, table_rows

    t, passages = _ingest(worded)
    worded.rename_speaker(t.id, "S1", "Rosa Quispe", ARCHIVIST)
    copy = Store(tmp_path / "copy" / "voces.sqlite3")
    try:
        copy_store(worded.store, copy, LOCAL)
        for table, key, columns in TABLES:
            if table in ("passages", "speakers", "words"):
                rows = table_rows(worded.store, table, key, columns)
                assert rows and table_rows(copy, table, key, columns) == rows, table
        assert copy.speakers(t.id, LOCAL)[0].name == "Rosa Quispe"
        assert copy.passages(t.id, LOCAL)[0].words == passages[0].words
    finally:
        copy.close()
