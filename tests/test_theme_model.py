"""Retraining, rollback and evaluation of theme tagging, with fake models."""

import json
import random

import numpy as np
import pytest

from pipeline import InputError
from pipeline.evaluate import LabelledItem, bootstrap_macro_f1, cv_folds, read_labelled, roc_auc
from pipeline.theme_model import ThemeModelStore, best_threshold, rescale

from .conftest import DATA, fake_cli
from .fakes import HashEmbedder

THEMES = [
    "land_loss",
    "pollution",
    "displacement",
    "poverty",
    "health",
    "water",
    "repression",
    "consultation",
]
FILLER = "la casa el camino una tarde los vecinos del pueblo hablaron mucho sobre la fiesta".split()


def _toy_labels(path, n=36, seed=1):
    """Sentences with the word 'zorzal' are labelled water; nothing in the taxonomy says so."""
    rng = random.Random(seed)
    rows = []
    for i in range(2 * n):
        words = rng.sample(FILLER, 6)
        positive = i % 2 == 0
        if positive:
            words.insert(rng.randrange(6), "zorzal")
        rows.append(
            {
                "id": f"t{i}",
                "language": "es",
                "text": " ".join(words).capitalize() + ".",
                "themes": ["water"] if positive else [],
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def run(monkeypatch, fake_whisper):
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder(dim=128))


def _tag(run, text):
    out = run("tag", "--json", input=text + "\n").output
    return {t["theme"] for t in json.loads(out)["themes"]}


def test_retrain_changes_predictions_and_rollback_restores(run, tmp_path, voces_home):
    labels = _toy_labels(tmp_path / "toy.jsonl")
    probe = "La casa del zorzal en el camino."  # drawn like the toy sentences
    assert "water" not in _tag(run, probe)
    run("ingest", str(DATA / "testimonies.jsonl"))
    # toy labels only the embedding can separate: opt in to reading it
    r = run("retrain", "--labels", str(labels), "--embedding")
    assert r.exit_code == 0 and "theme model v1 active" in r.output, r.output
    assert "water" in _tag(run, probe)
    assert "water" not in _tag(run, "Los vecinos hablaron de la fiesta en la casa.")
    manifest = ThemeModelStore(voces_home / "theme-models").manifest()
    assert manifest["active"] == "v1" and "water" in manifest["versions"][0]["classifiers"]
    model = json.loads((voces_home / "theme-models" / "v1.json").read_text())
    assert model["weights"]["water"]["uses_embedding"] is True
    # stored passages were re-tagged with the new model version
    tags = json.loads(run("search", "agua", "--json").output)["hits"]
    assert tags
    r = run("retrain", "--rollback", "none")
    assert "active theme model: bundled" in r.output
    assert "water" not in _tag(run, probe)
    assert ThemeModelStore(voces_home / "theme-models").activate("v1") == "v1"
    assert "water" in _tag(run, probe)
    r = run("retrain", "--rollback", "v7")
    assert r.exit_code == 1 and "no theme model 'v7'" in r.output
    listed = run("retrain", "--list").output
    assert "* v1" in listed


def test_retrain_output_writes_a_model_file(run, tmp_path):
    labels = _toy_labels(tmp_path / "toy.jsonl")
    out = tmp_path / "model.json"
    r = run(
        "retrain", "--labels", str(labels), "--no-reviews", "--no-examples", "--output", str(out)
    )
    assert r.exit_code == 0
    default = json.loads(out.read_text())
    assert default["weights"]["water"]["uses_embedding"] is False  # features only by default
    r = run(
        "retrain",
        "--labels",
        str(labels),
        "--no-reviews",
        "--no-examples",
        "--embedding",
        "--output",
        str(out),
    )
    assert r.exit_code == 0
    model = json.loads(out.read_text())
    assert model["version"] == "bundled" and "water" in model["weights"]
    assert "fewer" not in json.dumps(model["skipped"])  # reasons are explicit
    assert set(model["skipped"]) == set(THEMES) - {"water"}
    assert model["weights"]["water"]["uses_embedding"] is True  # 36 labels of each class
    r = run(
        "retrain", "--labels", str(labels), "--no-reviews", "--no-embedding", "--output", str(out)
    )
    assert r.exit_code == 0
    assert json.loads(out.read_text())["weights"]["water"]["uses_embedding"] is False


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json\n", "x.jsonl:1: not valid JSON"),
        ('{"id": "a", "themes": []}\n', "x.jsonl:1: 'text' must be a non-empty string"),
        ('{"id": "a", "text": "t", "themes": "water"}\n', "'themes' must be a list"),
        ('{"id": "a", "text": "t", "themes": ["mining"]}\n', "unknown theme\\(s\\) mining"),
        ('{"id": "a", "text": "t", "themes": [], "unknown": ["x"]}\n', "unknown theme\\(s\\) x"),
        (
            '{"id": "a", "text": "t", "themes": []}\n{"id": "a", "text": "u", "themes": []}\n',
            "appears twice",
        ),
        ("\n", "holds no labelled items"),
        ("[]\n", "x.jsonl:1: each line must be a JSON object"),
        ('{"id": "a", "text": "t", "themes": [], "group": 3}\n', "x.jsonl:1: 'group' must be"),
    ],
)
def test_malformed_label_files(tmp_path, content, message):
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_labelled(path, THEMES)


def test_malformed_labels_through_the_cli(run, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "x", "themes": ["nope"]}\n')
    for args in (["eval", "themes", str(path)], ["retrain", "--labels", str(path)]):
        r = run(*args)
        assert r.exit_code == 1 and "bad.jsonl:1: unknown theme(s) nope" in r.output
        assert "Traceback" not in r.output


def test_eval_reports_metrics_and_baselines(run, tmp_path):
    rows = [
        {"id": "p", "text": "El relave contaminó el río.", "themes": ["pollution", "water"]},
        {"id": "q", "text": "La policía detuvo a los dirigentes.", "themes": ["repression"]},
        {"id": "r", "text": "Bailamos en la fiesta.", "themes": []},
        {"id": "s", "text": "The company took our land.", "themes": ["land_loss"]},
    ]
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    report = json.loads(run("eval", "themes", str(path), "--json").output)
    assert report["items"] == 4
    pol = report["voces"]["themes"]["pollution"]
    assert pol["support"] == 1 and pol["recall"] == 1.0
    for key in ("precision", "recall", "f1", "roc_auc", "support"):
        assert key in report["voces"]["themes"]["land_loss"]
    everything = report["baseline_all"]["themes"]["pollution"]
    assert everything["recall"] == 1.0 and everything["precision"] == 0.25
    assert everything["roc_auc"] == 0.5
    assert report["baseline_description"]["note"].startswith("thresholds chosen")
    assert set(report["voces"]["macro_core"]) >= {"precision", "recall", "f1", "roc_auc"}
    assert report["voces"]["themes"]["displacement"]["roc_auc"] is None  # no positives
    lo, hi = report["voces"]["ci95"]["macro_all_f1"]
    assert 0 <= lo <= report["voces"]["macro_all"]["f1"] <= hi <= 1
    assert "95% interval" in run("eval", "themes", str(path)).output
    only_repression = tmp_path / "r.jsonl"
    only_repression.write_text("\n".join(json.dumps(r) for r in rows[1:3]))
    last = run("eval", "themes", str(only_repression)).output.splitlines()[-1]
    assert "interval" in last and "all [" in last and "core" not in last  # no core positives


def test_bootstrap_interval_of_macro_f1():
    themes = ["pollution", "water"]
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 10)
    perfect = bootstrap_macro_f1(labels.astype(float), labels, themes, 0.5, rounds=200)
    assert perfect == {"macro_core_f1": [1.0, 1.0], "macro_all_f1": [1.0, 1.0]}
    rng = np.random.default_rng(0)
    noisy = np.where(rng.random(labels.shape) < 0.3, 1 - labels, labels).astype(float)
    lo, hi = bootstrap_macro_f1(noisy, labels, themes, 0.5, rounds=200)["macro_all_f1"]
    assert 0.4 < lo < hi < 1.0
    unknown = labels.copy()
    unknown[:, 1] = -1  # water unlabelled: only pollution counts
    core = bootstrap_macro_f1(noisy, unknown, themes, 0.5, rounds=200)
    assert core["macro_core_f1"] == core["macro_all_f1"]


def test_roc_auc_and_thresholds():
    assert roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([1, 1, 0, 0])) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.9, 0.8]), np.array([1, 1, 0, 0])) == 0.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([1, 0, 1, 0])) == 0.5
    assert roc_auc(np.array([0.5, 0.4]), np.array([1, 1])) is None
    t, f1 = best_threshold(np.array([0.9, 0.7, 0.4, 0.1]), np.array([1, 1, 0, 0]))
    assert 0.4 < t <= 0.7 and f1 == 1.0
    r = rescale(np.array([0.0, 0.3, 0.6, 1.0]), np.array(0.3))
    assert r.tolist() == pytest.approx([0.0, 0.5, 0.5 + 0.5 * 0.3 / 0.7, 1.0])


def test_cv_folds_keep_groups_together():
    items = [
        LabelledItem(f"c{c}:{p}", "t", frozenset(), "es", group=f"c{c}")
        for c in range(7)
        for p in range(c + 1)  # groups of unequal size
    ] + [LabelledItem(f"loose{n}", "t", frozenset(), "es") for n in range(5)]
    folds = cv_folds(items, 3, seed=4)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(items)))  # a partition
    fold_of = {n: k for k, fold in enumerate(folds) for n in fold.tolist()}
    for c in range(7):
        members = [n for n, item in enumerate(items) if item.group == f"c{c}"]
        assert len({fold_of[n] for n in members}) == 1
    loose = [fold_of[n] for n, item in enumerate(items) if not item.group]
    assert len(set(loose)) > 1  # ungrouped items are spread, not lumped together
    ungrouped = [LabelledItem(str(n), "t", frozenset(), "es") for n in range(10)]
    sizes = sorted(len(f) for f in cv_folds(ungrouped, 5))
    assert sizes == [2, 2, 2, 2, 2]
