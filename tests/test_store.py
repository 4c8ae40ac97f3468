import sqlite3

import pytest

from corpus import (
    CorpusError,
    DuplicateError,
    NotFoundError,
    Passage,
    PassageFilter,
    Store,
    Testimony,
    ThemeTag,
)


def _testimony(tid="t1", **kw):
    base = dict(
        id=tid,
        title="T",
        region="Puno",
        language="es",
        consent="public",
        source_hash="h-" + tid,
        date="2020-01-02",
    )
    base.update(kw)
    return Testimony(**base)


def _passages(tid="t1"):
    return [
        Passage(
            tid,
            0,
            "uno",
            0.0,
            1.0,
            tags=(ThemeTag("pollution", 0.8, "rule", ("contaminado",), "v1"),),
        ),
        Passage(tid, 1, "dos", 1.0, 2.0),
    ]


def test_migrations_are_recorded_and_idempotent(tmp_path):
    store = Store(tmp_path / "a.db")
    assert store.schema_version() == max(v for v, _ in Store.migrations())
    store.close()
    again = Store(tmp_path / "a.db")  # re-opening applies nothing twice
    assert again.schema_version() == max(v for v, _ in Store.migrations())


def test_round_trip(tmp_path):
    store = Store(tmp_path / "a.db")
    ids = store.add_testimony(_testimony(extra={"basis": "x"}), _passages())
    assert len(ids) == 2
    t = store.get_testimony("t1")
    assert (t.region, t.consent, t.extra) == ("Puno", "public", {"basis": "x"})
    ps = store.passages("t1")
    assert [p.text for p in ps] == ["uno", "dos"]
    assert ps[0].tags[0].evidence == ("contaminado",) and ps[1].tags == ()
    assert store.find_by_hash("h-t1") == "t1"


def test_a_failed_write_leaves_nothing(tmp_path):
    store = Store(tmp_path / "a.db")
    bad = [Passage("t1", 0, "uno"), Passage("t1", 0, "same seq twice")]
    with pytest.raises(sqlite3.IntegrityError):
        store.add_testimony(_testimony(), bad)
    assert store.counts() == {"testimonies": 0, "passages": 0, "tags": 0}


def test_duplicate_id_is_refused_without_damage(tmp_path):
    store = Store(tmp_path / "a.db")
    store.add_testimony(_testimony(), _passages())
    with pytest.raises(DuplicateError):
        store.add_testimony(_testimony(source_hash="other"), _passages())
    assert store.counts()["passages"] == 2


def test_filters_and_consent(tmp_path):
    store = Store(tmp_path / "a.db")
    store.add_testimony(_testimony("a"), _passages("a"))
    store.add_testimony(
        _testimony("b", region="Cusco", consent="restricted", language="en"), _passages("b")
    )
    store.add_testimony(_testimony("c", consent="private"), _passages("c"))
    pub = store.passage_ids(PassageFilter(consent=("public",)))
    assert {store.passage_rows(pub)[i]["testimony_id"] for i in pub} == {"a"}
    cusco = store.passage_ids(PassageFilter(region="cusco"))
    assert len(cusco) == 2
    themed = store.passage_ids(PassageFilter(theme="pollution"))
    assert len(themed) == 3  # the first passage of each
    items, total = store.list_testimonies(
        PassageFilter(theme="pollution", consent=("public", "restricted"))
    )
    assert total == 2 and {t.id for t in items} == {"a", "b"}
    assert store.passage_ids(PassageFilter(date_from="2021")) == []


def test_theme_counts_by_region_respect_consent(tmp_path):
    store = Store(tmp_path / "a.db")
    store.add_testimony(_testimony("a"), _passages("a"))
    store.add_testimony(_testimony("b", region="Cusco", consent="private"), _passages("b"))
    rows = store.theme_counts("region", consent=("public",))
    assert rows == [{"theme": "pollution", "grp": "Puno", "testimonies": 1, "passages": 1}]
    with pytest.raises(CorpusError, match="cannot group"):
        store.theme_counts("colour")


def test_delete_and_not_found(tmp_path):
    store = Store(tmp_path / "a.db")
    store.add_testimony(_testimony(), _passages())
    assert len(store.delete_testimony("t1")) == 2
    assert store.counts() == {"testimonies": 0, "passages": 0, "tags": 0}
    with pytest.raises(NotFoundError):
        store.get_testimony("t1")


def test_not_a_database(tmp_path):
    path = tmp_path / "a.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(CorpusError):
        Store(path)
