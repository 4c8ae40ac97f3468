"""Emergent themes: untagged passages clustered, described, and promoted to a theme."""

import json
import os

import numpy as np
import pytest

from corpus import ForbiddenError
from pipeline import InputError, Metadata, load_taxonomy
from pipeline.discover import cluster_passages, keywords_by_cluster, promote_theme
from pipeline.tagger import ThemeTagger
from pipeline.taxonomy import taxonomy_data
from pipeline.theme_model import bundled_model

from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER
from .fakes import HashEmbedder


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(16, dtype=np.float32)[:2]
    rows = [centres[0] + 0.05 * rng.standard_normal(16) for _ in range(8)]
    rows += [centres[1] + 0.05 * rng.standard_normal(16) for _ in range(6)]
    # scattered, far from both blobs and from each other: belong nowhere
    rows += [np.eye(16, dtype=np.float32)[4 + 3 * n] for n in range(3)]
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_clusters_are_found_largest_first_centre_first_noise_left_out():
    v = _blobs()
    clusters = cluster_passages(v, min_size=4)
    assert [sorted(c.tolist()) for c in clusters] == [list(range(8)), list(range(8, 14))]
    for rows in clusters:  # most central first
        centre = v[rows].mean(axis=0)
        sims = v[rows] @ centre
        assert np.all(np.diff(sims) <= 1e-6)
    assert cluster_passages(v[:3], min_size=4) == []


def test_keywords_set_each_cluster_apart_per_language():
    texts = [
        "La policía detuvo a los dirigentes en la comisaría.",
        "Los policías detuvieron a los comuneros.",
        "The police arrested the leaders.",
        "El río quedó contaminado con relaves.",
        "Los relaves contaminaron el río y la laguna.",
    ]
    languages = ["es", "es", "en", "es", "es"]
    clusters = [np.array([0, 1, 2]), np.array([3, 4])]
    first, second = keywords_by_cluster(texts, languages, clusters, top=3)
    assert set(first) == {"es", "en"} and set(second) == {"es"}
    assert "police" in first["en"] and "relaves" in second["es"]
    assert not {"los", "la", "the", "el"} & {w for ws in first.values() for w in ws}
    assert not set(first["es"]) & set(second["es"])  # c-TF-IDF: what sets it apart


def test_promoting_grows_the_taxonomy_and_keeps_the_base_model():
    taxonomy = load_taxonomy()
    data = promote_theme(
        taxonomy,
        taxonomy_data(),
        "police_force",
        {"en": "Police force", "es": ""},
        {"es": ["La policía detuvo a los dirigentes."], "en": []},
        {"es": ("policia", "detuvo")},
    )
    assert data["version"] == f"{taxonomy.version}+police_force"
    theme = data["themes"]["police_force"]
    assert theme["label"] == {"en": "Police force"} and theme["examples"] == {
        "es": ["La policía detuvo a los dirigentes."]
    }
    assert "police_force" not in taxonomy_data()["themes"]  # the bundled data is untouched
    from pipeline.taxonomy import parse_taxonomy

    grown = parse_taxonomy(data, "test")
    model = bundled_model()
    assert model is not None and model.taxonomy_version == taxonomy.version
    embedder = HashEmbedder()
    model.embedder = embedder.name
    tagger = ThemeTagger(grown, lambda lang: None, embedder, model=model)
    assert tagger.model is model  # a grown taxonomy keeps its base's classifier
    other = parse_taxonomy({**data, "version": "99"}, "test")
    assert ThemeTagger(other, lambda lang: None, embedder, model=model).model is None
    for bad_id, message in (("Police", "lower-case"), ("land_loss", "already has")):
        with pytest.raises(InputError, match=message):
            promote_theme(taxonomy, taxonomy_data(), bad_id, {}, {"es": ["x"]}, {})
    with pytest.raises(InputError, match="example"):
        promote_theme(taxonomy, taxonomy_data(), "new_theme", {}, {"es": []}, {})


def test_discovery_reads_only_what_the_viewer_may_see_and_promotion_needs_an_archivist(
    archive,
):
    archive.ingest_paths([DATA / "emergent.jsonl"], Metadata(consent="private"), LOCAL)
    assert archive.discover_themes(ANON, min_size=2) == []  # nothing public to cluster
    found = archive.discover_themes(ARCHIVIST, min_size=2)
    assert found and all(e.size >= 2 for e in found)
    record = json.loads((archive.home / "emergent.json").read_text())
    assert [c["number"] for c in record["clusters"]] == [e.number for e in found]
    assert "text" not in json.dumps(record)  # ids and keywords only
    for viewer in (ANON, RESEARCHER):
        with pytest.raises(ForbiddenError):
            archive.promote_emergent(viewer, 1, "new_theme", {})
    with pytest.raises(InputError, match="no emergent cluster 99"):
        archive.promote_emergent(ARCHIVIST, 99, "new_theme", {})
    # every passage is private: none may become an example shown to anyone as evidence
    with pytest.raises(InputError, match="no passage the public may read"):
        archive.promote_emergent(ARCHIVIST, 1, "new_theme", {})
    with pytest.raises(InputError, match="at least 2"):
        archive.discover_themes(ARCHIVIST, min_size=1)


def test_a_promoted_theme_takes_its_examples_and_words_from_public_text_only(archive, tmp_path):
    """Examples become tag evidence for everyone, the description is in the taxonomy:
    neither may carry a private testimony's words or a witness's name."""
    rows = [json.loads(line) for line in (DATA / "emergent.jsonl").read_text().splitlines()]
    police = [r for r in rows if r["id"].startswith("em-rep")]
    public = {**police[0], "text": police[0]["text"] + " Lo dijo Rosa Quispe Mamani."}
    items = _items(tmp_path / "a.jsonl", [public], "public")
    archive.ingest_texts(items + _items(tmp_path / "b.jsonl", police[1:], "private"), LOCAL)
    ids = [p.id for r in police for p in archive.store.passages(r["id"], LOCAL)]
    record = {
        "taxonomy_version": archive.tagger.taxonomy.version,
        "clusters": [{"number": 1, "passage_ids": ids, "keywords": {"es": ["secreto"]}}],
    }
    (archive.home / "emergent.json").write_text(json.dumps(record))
    archive.promote_emergent(ARCHIVIST, 1, "police_force", {"en": "Police"})
    written = (archive.home / "taxonomy.json").read_text("utf-8")
    theme = json.loads(written)["themes"]["police_force"]
    examples = [t for texts in theme["examples"].values() for t in texts]
    assert examples and all(t in police[0]["text"] or "[" in t for t in examples)
    for private in police[1:]:
        for sentence in private["text"].split(". "):
            assert sentence.strip(".") not in written
    assert "Quispe" not in written and "secreto" not in written


def _items(source, rows, consent):
    from pipeline import read_text_items

    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    return read_text_items(source, Metadata(consent=consent))


@pytest.mark.slow
def test_a_theme_left_out_of_the_taxonomy_is_rediscovered_and_promoted(
    tmp_path, monkeypatch, voces_home
):
    """The real models on an illustrative fixture; the taxonomy lacks repression."""
    from click.testing import CliRunner

    from api import cli as cli_module

    data = taxonomy_data()
    del data["themes"]["repression"]
    data["version"] = "test-without-repression"
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data), "utf-8")
    monkeypatch.setenv("VOCES_TAXONOMY", str(path))
    runner = CliRunner()

    def run(*args):
        out = runner.invoke(cli_module.cli, list(args), catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return out.output

    run("ingest", str(DATA / "emergent.jsonl"), "--consent", "public")
    found = [
        json.loads(line)
        for line in run("themes", "discover", "--min-size", "3", "--json").splitlines()
    ]
    rows = [json.loads(line) for line in (DATA / "emergent.jsonl").read_text().splitlines()]
    shown = run("show", "em-rep-01", "--json")
    assert "em-rep-01" in shown
    # which stored passages tell of police force (the left-out theme): its testimonies'
    from api import services
    from api.settings import get_settings

    archive = services.build_archive(get_settings(), models=False)
    police = {
        p.id
        for row in rows
        if row["id"].startswith("em-rep")
        for p in archive.store.passages(row["id"], LOCAL)
    }
    archive.close()
    best = max(found, key=lambda e: len(police & set(e["passage_ids"])))
    members = set(best["passage_ids"])
    assert len(police & members) / len(members) >= 0.8  # the cluster is about it
    assert len(police & members) >= len(police) / 2  # and holds most of it
    words = {w for ws in best["keywords"].values() for w in ws}
    assert {"police", "policia"} & words, best["keywords"]
    assert best["quotes"] and best["regions"]
    out = run("themes", "promote", str(best["number"]), "police_force", "--label-en", "Police")
    tagged = int(out.split(",")[-1].split()[0])  # "... N now tagged police_force"
    assert tagged >= len(police) / 2, out
    assert "police_force" in run("themes", "--json")
    assert os.path.isfile(voces_home / "taxonomy.json")


def test_emergent_themes_over_http_are_for_archivists(archive):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import get_settings

    archive.ingest_paths([DATA / "emergent.jsonl"], Metadata(consent="restricted"), LOCAL)
    headers = {}
    for role in ("researcher", "archivist"):
        _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
        headers[role] = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(get_settings(), archive=archive)) as client:
        url = "/api/v1/themes/emergent?min_size=2&quotes=2"
        assert client.post(url).status_code == 401
        assert client.post(url, headers=headers["researcher"]).status_code == 403
        r = client.post(url, headers=headers["archivist"])
        assert r.status_code == 200, r.text
        found = r.json()
        assert found and found[0]["number"] == 1 and found[0]["size"] >= 2
        assert all(len(e["quotes"]) <= 2 and e["keywords"] for e in found)
        quoted = found[0]["quotes"][0]
        assert archive.store.passage(quoted["passage_id"], LOCAL).text == quoted["text"]
        # reading restricted quotes is audited like any other read
        assert any(a.action == "read" for a in archive.store.audit_entries(LOCAL, limit=500))
