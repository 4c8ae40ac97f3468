"""The voces CLI in-process, with fake models: JSON contracts and one-line errors."""

import json

import pytest

from api import services

from .conftest import DATA, fake_cli
from .fakes import HashEmbedder


@pytest.fixture
def run(monkeypatch, fake_whisper):
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder())


def _one_line_error(result, contains):
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert contains in lines[0]
    assert "Traceback" not in result.output


def test_ingest_json_then_present(run):
    r = run("ingest", str(DATA / "testimonies.jsonl"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert len(out["added"]) == 4 and out["present"] == []
    again = json.loads(run("ingest", str(DATA / "testimonies.jsonl"), "--json").output)
    assert again["added"] == [] and sorted(again["present"]) == sorted(out["added"])


def test_ingest_audio_with_metadata(run):
    r = run(
        "ingest",
        str(DATA / "es_rio.ogg"),
        "--region",
        "Puno",
        "--date",
        "2024-05-01",
        "--consent",
        "public",
        "--language",
        "es",
        "--json",
    )
    out = json.loads(r.output)
    [res] = out["results"]
    assert res["status"] == "added" and res["language"] == "es" and res["passages"] >= 1


def test_search_json_shape(run):
    run("ingest", str(DATA / "testimonies.jsonl"))
    r = run("search", "river polluted by the mine", "--k", "3", "--json")
    hits = json.loads(r.output)["hits"]
    assert 1 <= len(hits) <= 3
    for key in (
        "testimony_id",
        "passage_id",
        "start",
        "end",
        "text",
        "score",
        "region",
        "language",
        "themes",
    ):
        assert key in hits[0]


def test_search_theme_filter(run):
    run("ingest", str(DATA / "testimonies.jsonl"))
    hits = json.loads(run("search", "agua", "--theme", "pollution", "--json").output)["hits"]
    assert hits and all("pollution" in h["themes"] for h in hits)


def test_similar_and_themes(run):
    added = json.loads(run("ingest", str(DATA / "testimonies.jsonl"), "--json").output)["added"]
    sim = json.loads(run("similar", added[0], "--other-regions", "--json").output)
    assert sim["testimony_id"] == added[0]
    assert all(s["testimony_id"] != added[0] for s in sim["similar"])
    themes = json.loads(run("themes", "--by", "region", "--json").output)
    assert [t["id"] for t in themes["themes"]][:4] == [
        "land_loss",
        "pollution",
        "displacement",
        "poverty",
    ]
    assert themes["counts"] and all(
        {"theme", "region", "testimonies"} <= set(c) for c in themes["counts"]
    )
    table = run("themes", "--by", "region", "--csv").output.splitlines()
    assert table[0].startswith("theme,group,testimonies,passages,passages_in_group")
    assert len(table) == len(themes["counts"]) + 1
    quoted = json.loads(run("themes", "--by", "region", "--quotes", "2", "--json").output)
    assert any(c["quotes"] for c in quoted["counts"])
    assert all(len(c["quotes"]) <= 2 for c in quoted["counts"])
    # each count comes with the share a corrected estimate gives it, and its basis
    for c in themes["counts"]:
        assert c["passages"] <= c["passages_in_group"] and 0 <= c["tagged_share"] <= 1
        if c["estimated_share"] is not None:
            low, high = c["interval90"]
            assert 0 <= low <= c["estimated_share"] <= high <= 1
            assert c["basis"].startswith("bundled evaluation")


def test_tag_jsonl_and_stdin(run, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(
        '{"id": "p1", "text": "El río está contaminado."}\n{"id": "p2", "text": "We danced."}\n'
    )
    lines = [json.loads(x) for x in run("tag", str(f), "--json").output.splitlines()]
    assert [x["id"] for x in lines] == ["p1", "p2"]
    assert "pollution" in {t["theme"] for t in lines[0]["themes"]}
    assert all({"theme", "score", "evidence"} <= set(t) for t in lines[0]["themes"])
    assert lines[1]["themes"] == []
    out = json.loads(run("tag", "--json", input="The police shot at the protesters.\n").output)
    repression = next(t for t in out["themes"] if t["theme"] == "repression")
    assert "police" in repression["evidence"] and "rule" in repression["source"]


def test_tag_a_whole_document_names_the_passages_that_hold_each_theme(run):
    text = (
        "Cada febrero bailo en la fiesta de la Candelaria con mi familia. "
        "Mi madre cose los trajes durante todo el año y cocina para los vecinos. "
        "Pero el río está contaminado desde que llegó la mina y los peces murieron. "
        "Ahora mi madre dice que ya no podemos lavar la ropa en el río."
    )
    out = json.loads(
        run("tag", "--json", input=json.dumps({"id": "d", "text": text}) + "\n").output
    )
    assert out["passages"] >= 2
    pollution = next(t for t in out["themes"] if t["theme"] == "pollution")
    held = pollution["passages"]
    # the river passage holds it (its rule words); the test embedder's similarity is noise
    river = next(p for p in held if p["n"] == 1)
    assert "contaminado" in river["text"] and "fiesta" not in river["text"]
    assert pollution["score"] == held[0]["score"] == max(p["score"] for p in held)
    plain = run("tag", input=json.dumps({"id": "d", "text": text}) + "\n").output
    assert f"of {out['passages']})" in plain and "pollution" in plain


def test_transcribe_json_stores_nothing(run, voces_home):
    out = json.loads(run("transcribe", str(DATA / "es_rio.ogg"), "--json").output)
    assert out["language"] == "es" and out["duration"] > 0
    assert out["segments"][0] == {
        "start": 0.0,
        "end": 3.2,
        "text": "El río está contaminado por la mina.",
        "speaker": "S1",  # one voice: no encoder in fast tests (see tests/test_speakers.py)
        "words": [],  # the fake Whisper gives no word times
    }
    assert not (voces_home / "voces.sqlite3").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["ingest", "/nonexistent/file.wav"], "no such file"),
        (["ingest", str(DATA / "not_audio.ogg")], "cannot decode audio"),
        (["ingest", str(DATA / "testimonies.jsonl"), "--date", "yesterday"], "is not YYYY"),
        (["search", "   "], "query is empty"),
        (["search", "agua", "--theme", "mining"], "unknown theme 'mining'"),
        (["similar", "no-such-id"], "no testimony 'no-such-id'"),
        (["transcribe", "/nonexistent.ogg"], "no such file"),
        (["transcribe", str(DATA / "not_audio.ogg")], "cannot decode audio"),
        (["tag", "/nonexistent.jsonl"], "cannot read"),
    ],
)
def test_user_mistakes_are_one_clear_line(run, args, message):
    _one_line_error(run(*args), message)


def test_bad_option_value_is_usage_error(run):
    r = run("ingest", str(DATA / "es_rio.ogg"), "--consent", "everyone")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_reindex_after_changing_embedder(run, monkeypatch):
    run("ingest", str(DATA / "testimonies.jsonl"))
    other = HashEmbedder(dim=32)
    monkeypatch.setattr(services, "load_embedder", lambda name, threads=2: other)
    _one_line_error(run("search", "agua"), "voces reindex")
    r = run("reindex")
    assert r.exit_code == 0 and "fake-hash-32" in r.output
    assert json.loads(run("search", "agua", "--json").output)["hits"]


def test_demo_without_serving(run, tmp_path, monkeypatch):
    monkeypatch.setenv("VOCES_DEMO_DIR", str(tmp_path / "demo"))
    (tmp_path / "demo" / "audio").mkdir(parents=True)
    (tmp_path / "demo" / "testimonies.jsonl").write_text((DATA / "testimonies.jsonl").read_text())
    r = run("demo", "--no-serve")
    assert r.exit_code == 0 and "4 testimonies added" in r.output
    r = run("demo", "--no-serve")
    assert "0 testimonies added, 4 already present" in r.output


def test_a_bug_is_one_error_line_and_a_traceback_on_request(run, monkeypatch):
    from pipeline import Archive

    def broken(self, *args, **kwargs):
        raise ValueError("cannot reshape array")

    monkeypatch.setattr(Archive, "search", broken)
    _one_line_error(run("search", "agua"), "unexpected ValueError: cannot reshape array")
    monkeypatch.setenv("VOCES_DEBUG", "1")
    with pytest.raises(ValueError, match="reshape"):
        run("search", "agua")
