"""Search evaluation: measures from ir_measures, intervals, the cross-lingual split, and
the `voces eval search` verb."""

import json

import pytest

from pipeline import InputError
from pipeline.evaluate_search import SearchQuery, evaluate_search, read_queries

from .conftest import DATA, fake_cli
from .fakes import HashEmbedder

LANGS = {"a": "es", "b": "es", "c": "en", "d": "en"}
QUERIES = [
    SearchQuery("q1", "agua", {"a": 3, "c": 1}, "es"),  # same language
    SearchQuery("q2", "river", {"a": 3, "b": 2}, "en"),  # English -> Spanish documents
    SearchQuery("q3", "tierra", {"d": 3}, "es"),  # Spanish -> English documents
]


def test_perfect_and_reversed_rankings():
    ideal = {"agua": ["a", "c", "b", "d"], "river": ["a", "b", "c", "d"], "tierra": ["d", "a"]}
    report = evaluate_search(
        {"ideal": lambda q: ideal[q], "reversed": lambda q: ideal[q][::-1], "none": lambda q: []},
        QUERIES,
        LANGS,
    )
    ideal_all = report["systems"]["ideal"]["all"]
    assert ideal_all["ndcg"] == 1.0 and ideal_all["recall"] == 1.0 and ideal_all["mrr"] == 1.0
    assert report["systems"]["reversed"]["all"]["ndcg"] < 1.0
    assert report["systems"]["none"]["all"]["ndcg"] == 0.0
    assert report["cross_lingual"] == 2
    ideal_parts = report["systems"]["ideal"]
    assert ideal_parts["same_language"]["queries"] == 1
    assert ideal_parts["cross_lingual"]["queries"] == 2
    assert set(ideal_parts["directions"]) == {"en->es", "es->en"}


def test_a_direction_is_measured_on_target_language_documents_only():
    # q2 (en->es): "c" (English) ranked first does not count against or for it there
    report = evaluate_search({"s": lambda q: ["c", "a", "b"]}, [QUERIES[1]], LANGS)
    assert report["systems"]["s"]["directions"]["en->es"]["ndcg"] == 1.0
    assert report["systems"]["s"]["all"]["ndcg"] < 1.0


def test_queries_file_is_checked(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"qid": "x", "query": "agua", "graded": {"a": 7}}\n')
    with pytest.raises(InputError, match="grades 0..3"):
        read_queries(bad)
    good = tmp_path / "g.jsonl"
    good.write_text(
        '{"qid": "1", "query": "agua", "graded": {"a": 3}, "split": "dev"}\n'
        '{"qid": "2", "query": "land", "graded": {"d": 3}, "split": "test"}\n'
    )
    assert [q.qid for q in read_queries(good, "test")] == ["2"]
    with pytest.raises(InputError, match="no queries"):
        read_queries(good, "other")


def test_eval_search_verb(monkeypatch, fake_whisper, tmp_path):
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    assert run("ingest", str(DATA / "testimonies.jsonl")).exit_code == 0
    queries = tmp_path / "q.jsonl"
    rows = [
        {
            "qid": "1",
            "query": "the smelter smoke and lead in the blood",
            "graded": {"test-junin-01": 3},
        },
        {
            "qid": "2",
            "query": "agua para las chacras en el desierto",
            "graded": {"test-moquegua-01": 3},
        },
        {"qid": "3", "query": "la policía en la huelga", "graded": {"test-arequipa-01": 3}},
    ]
    queries.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = run("eval", "search", str(queries), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report["systems"]) == {
        "voces",
        "dense_best_passage",
        "keyword_bm25",
        "usem3_whole",
        "e5_whole",
        "rrf_usem3_e5",
    }
    for system in report["systems"].values():
        assert 0.0 <= system["all"]["ndcg"] <= 1.0 and system["all"]["queries"] == 3
    text = run("eval", "search", str(queries))
    assert text.exit_code == 0 and "nDCG" in text.output


def test_eval_search_names_set_counts_hits_at_k(monkeypatch, fake_whisper, tmp_path):
    """A names set (bench/names_set.py's form): hit@k of every system, and the names
    each one missed."""
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    assert run("ingest", str(DATA / "testimonies.jsonl")).exit_code == 0
    names = tmp_path / "names.json"
    names.write_text(
        json.dumps(
            {
                "names": [
                    {"word": "Ilo", "id": "test-moquegua-01"},
                    {"word": "Zzyzx", "id": "no-such-testimony"},
                ]
            }
        )
    )
    r = run("eval", "search", "--names", str(names), "--no-e5", "--json")
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)["names"]
    assert found["names"] == 2 and set(found["systems"]) == {
        "voces",
        "dense_best_passage",
        "keyword_bm25",
        "usem3_whole",
    }
    assert all("Zzyzx" in s["missed"] for s in found["systems"].values())  # never found
    assert run("eval", "search").exit_code == 2  # neither queries nor names
