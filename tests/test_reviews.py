"""Human review: decisions win over machine tags and survive re-tagging and re-indexing."""

import json

import pytest

from corpus import CorpusError, NotFoundError, PassageFilter
from pipeline import Archive, Metadata, load_taxonomy

from .conftest import DATA, LOCAL, fake_cli
from .fakes import HashEmbedder


def _passage_with(archive, theme):
    for t in archive.store.list_testimonies(LOCAL)[0]:
        for p in archive.store.passages(t.id, LOCAL):
            if theme in {g.theme for g in p.tags}:
                return p
    raise AssertionError(f"no passage tagged {theme}")


def test_reviews_win_and_survive_retag_and_reindex(archive, voces_home, rule_tagger):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(region="Puno"), LOCAL)
    p = _passage_with(archive, "pollution")
    archive.store.review(p.id, "pollution", "reject", LOCAL, "rosa", "test")
    archive.store.review(p.id, "repression", "add", LOCAL, "rosa")
    archive.store.review(p.id, "land_loss", "accept", LOCAL, "juan")

    def effective():
        return {t.theme: t for t in archive.store.passage(p.id, LOCAL).tags}

    before = effective()
    assert "pollution" not in before
    assert before["repression"].source == "human" and before["repression"].score == 1.0
    assert before["land_loss"].source == "human"
    assert "juan" in before["land_loss"].evidence[0]
    # the machine still thinks pollution; re-tagging rewrites machine tags only
    assert archive.retag() >= 1
    assert "pollution" in {t.theme for t in archive.store.machine_tags([p.id])[p.id]}
    assert effective().keys() == before.keys()
    archive.close()
    # re-indexing (a new embedder, fresh index) keeps reviews too
    rebuilt = Archive(voces_home, HashEmbedder(dim=32), rule_tagger, fresh_index=True)
    assert {t.theme for t in rebuilt.store.passage(p.id, LOCAL).tags} == set(before)
    # theme filters and counts see the reviewed tags
    ids = rebuilt.store.passage_ids(LOCAL, PassageFilter(theme="repression"))
    assert p.id in ids and p.id not in rebuilt.store.passage_ids(
        LOCAL, PassageFilter(theme="pollution")
    )
    rebuilt.store.close()


def test_latest_review_wins_and_all_are_logged(archive):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(), LOCAL)
    p = _passage_with(archive, "pollution")
    archive.store.review(p.id, "pollution", "reject", LOCAL, "a")
    archive.store.review(p.id, "pollution", "accept", LOCAL, "b")
    [r] = archive.store.reviews(LOCAL, [p.id])
    assert (r.verdict, r.reviewer) == ("accept", "b")
    log = archive.store._query("SELECT verdict FROM review_log ORDER BY id")
    assert [row[0] for row in log] == ["reject", "accept"]


def test_review_errors(archive):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(), LOCAL)
    p = _passage_with(archive, "pollution")
    with pytest.raises(NotFoundError):
        archive.store.review(999_999, "pollution", "accept", LOCAL, "a")
    with pytest.raises(CorpusError, match="verdict"):
        archive.store.review(p.id, "pollution", "maybe", LOCAL, "a")
    with pytest.raises(CorpusError, match="reviewer"):
        archive.store.review(p.id, "pollution", "accept", LOCAL, "  ")


@pytest.fixture
def run(monkeypatch, fake_whisper):
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder())


def test_review_cli_round_trip_and_export(run):
    run("ingest", str(DATA / "es_rio.ogg"), "--region", "Puno")
    tid = json.loads(run("ingest", str(DATA / "es_rio.ogg"), "--json").output)["present"][0]
    shown = json.loads(run("show", tid, "--json").output)
    pid = shown["passages"][0]["id"]
    assert "pollution" in {t["theme"] for t in shown["themes"]}
    r = run("review", "reject", str(pid), "pollution", "--by", "rosa", "--note", "unclear")
    assert r.exit_code == 0 and "rejected pollution on passage" in r.output
    run("review", "add", str(pid), "health", "--by", "rosa")
    shown = json.loads(run("show", tid, "--json").output)
    themes = {t["theme"]: t for t in shown["themes"]}
    assert "pollution" not in themes and themes["health"]["reviewed"]
    lines = [json.loads(x) for x in run("review", "export").output.splitlines()]
    assert lines == [
        {
            "id": f"passage-{pid}",
            "testimony_id": tid,
            "language": "es",
            "text": shown["passages"][0]["text"],
            "themes": ["health"],
            "unknown": sorted(set(load_taxonomy().ids) - {"health", "pollution"}),
        }
    ]
    listed = [json.loads(x) for x in run("review", "list", "--json").output.splitlines()]
    assert {(x["theme"], x["verdict"]) for x in listed} == {
        ("pollution", "reject"),
        ("health", "add"),
    }
    r = run("review", "accept", str(pid), "mining", "--by", "rosa")
    assert r.exit_code == 1 and "unknown theme 'mining'" in r.output
    r = run("review", "accept", "999999", "water", "--by", "rosa")
    assert r.exit_code == 1 and "no passage 999999" in r.output
