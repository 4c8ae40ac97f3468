"""The review queue offers what would teach the tagger most, to archivists only."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from corpus import ForbiddenError
from pipeline import Metadata
from pipeline.review_queue import pick_for_review
from pipeline.tagger import ThemeScores

from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER, fake_cli
from .fakes import HashEmbedder

THEMES = ["water", "land_loss"]


def _scores(final, rule=None, similarity=None, classifier=None):
    final = np.asarray(final, dtype=np.float32)
    nan = np.full_like(final, np.nan)
    return ThemeScores(
        themes=THEMES,
        final=final,
        rule=np.asarray(rule, dtype=np.float32) if rule is not None else np.zeros_like(final),
        similarity=np.asarray(similarity, dtype=np.float32) if similarity is not None else None,
        classifier=np.asarray(classifier, dtype=np.float32) if classifier is not None else nan,
        evidence=[{} for _ in range(len(final))],
        vectors=None,
    )


def test_uncertain_before_sure_and_one_theme_per_passage():
    # rows: sure yes, sure no, near the threshold on water, near it on both themes
    scores = _scores([[0.98, 0.02], [0.01, 0.03], [0.52, 0.1], [0.45, 0.55]])
    picks = pick_for_review(scores, {}, limit=10)
    assert [p.row for p in picks][:2] == [2, 3]
    assert len({p.row for p in picks}) == len(picks)  # each passage once
    assert picks[1].theme in THEMES and "near the threshold" in picks[0].reason
    assert pick_for_review(scores, {}, limit=1)[0].row == 2
    assert {p.theme for p in pick_for_review(scores, {}, 10, ["land_loss"])} == {"land_loss"}


def test_disagreement_outranks_mere_uncertainty():
    # row 0: everything agrees at 0.40; row 1: rules say yes, the classifier says no, 0.30
    scores = _scores(
        [[0.40, 0.0], [0.30, 0.0]],
        rule=[[0.3, 0.0], [0.75, 0.0]],
        classifier=[[0.40, np.nan], [0.30, np.nan]],
    )
    picks = pick_for_review(scores, {}, limit=2, themes=["water"])
    assert picks[0].row == 1
    assert picks[0].reason == "the rules say yes, the classifier says no"
    assert picks[0].priority > picks[1].priority


def test_themes_with_fewer_reviews_come_first():
    scores = _scores([[0.5, 0.0], [0.0, 0.5]])
    assert pick_for_review(scores, {"water": 50}, 1)[0].theme == "land_loss"
    assert pick_for_review(scores, {"land_loss": 50}, 1)[0].theme == "water"


def test_archive_queue_skips_reviewed_and_needs_an_archivist(archive):
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata(consent="private"), LOCAL)
    queue = archive.review_queue(ARCHIVIST, limit=50)
    assert queue, "the fixture has passages the rules are unsure of"
    assert len({c.passage_id for c in queue}) == len(queue)
    assert all(0.0 < c.score < 1.0 and c.reason for c in queue)
    # private testimonies are an archivist's to review: originals, not redacted copies
    first = queue[0]
    assert first.text == archive.store.passage(first.passage_id, LOCAL).text
    archive.store.review(first.passage_id, first.theme, "reject", ARCHIVIST)
    assert first.passage_id not in {c.passage_id for c in archive.review_queue(ARCHIVIST, 50)}
    # asking about one theme only skips passages reviewed for that theme
    one = archive.review_queue(ARCHIVIST, 50, theme=first.theme)
    assert {c.theme for c in one} <= {first.theme}
    for viewer in (ANON, RESEARCHER):
        with pytest.raises(ForbiddenError):
            archive.review_queue(viewer)


def test_review_queue_over_http_and_cli(archive, monkeypatch, fake_whisper):
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata(consent="restricted"), LOCAL)
    keys = {}
    for role in ("researcher", "archivist"):
        _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
        keys[role] = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(get_settings(), archive=archive)) as client:
        r = client.get("/api/v1/passages/review-queue?limit=3", headers=keys["archivist"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert 1 <= len(body) <= 3 and {"passage_id", "theme", "reason"} <= set(body[0])
        assert (
            client.get("/api/v1/passages/review-queue", headers=keys["researcher"]).status_code
            == 403
        )
        assert client.get("/api/v1/passages/review-queue").status_code == 401
        bad = client.get("/api/v1/passages/review-queue?theme=nope", headers=keys["archivist"])
        assert bad.status_code in (400, 422) and "nope" in bad.text
    archive.close()
    invoke = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    out = invoke("review", "next", "--limit", "2", "--json")
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert 1 <= len(rows) <= 2 and all(row["reason"] and row["theme"] for row in rows)


def test_a_batch_takes_the_themes_in_turns():
    # water's rows are all a little more uncertain than land_loss's
    scores = _scores([[0.50, 0.0], [0.51, 0.0], [0.52, 0.0], [0.0, 0.47], [0.0, 0.46]])
    spread = pick_for_review(scores, {}, limit=4)
    assert [p.theme for p in spread] == ["water", "land_loss", "water", "land_loss"]
    by_priority = pick_for_review(scores, {}, limit=4, spread=False)
    assert [p.theme for p in by_priority][:3] == ["water"] * 3
