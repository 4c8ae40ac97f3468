"""Speaker turns (issue 29): diarization at ingest, voices stored and named, turns fixed,
search filtered by voice, names masked like any name.

Fast tests diarize made-up recordings whose samples say who speaks (tests/test_diarize.py's
``CodeEncoder`` stands in for the voice encoder); the slow test ingests the committed
two-voice interview (tests/data/two_speakers.ogg) with the real Whisper and GE2E.
"""

from __future__ import annotations

import io
import json
import time
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from corpus import (
    ForbiddenError,
    NotFoundError,
    Passage,
    PassageFilter,
    Segment,
    Testimony,
    Viewer,
)
from corpus.visibility import NAME_MASKS
from pipeline import Archive, InputError, Metadata, PipelineError
from pipeline.passages import group_segments
from pipeline.redact import MASKS

from .conftest import ANON, ARCHIVIST, DATA, LOCAL, RESEARCHER, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder
from .test_diarize import CodeEncoder, conversation

#: An interview: who speaks (1, 2) from when to when, and what Whisper "hears" then.
TURNS = [
    (0.5, 6.0, 1, "Buenos días, señora. ¿Cómo era el río antes de la mina?"),
    (6.5, 12.0, 2, "El río era limpio, tomábamos su agua y pescábamos truchas."),
    (12.5, 15.0, 1, "¿Y después, qué pasó con el agua?"),
    (15.5, 22.0, 2, "Después el agua bajó amarilla y los animales se murieron."),
    (22.5, 27.0, 1, "Gracias por contarnos su historia, señora."),
]


def _wav(samples: np.ndarray) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _interview(folder: Path, name: str = "entrevista.wav", total: float = 28.0) -> Path:
    """The interview as a WAV file (``total`` seconds long: another length, other bytes)."""
    path = folder / name
    path.write_bytes(_wav(conversation([(a, b, who) for a, b, who, _ in TURNS], total)))
    return path


def _whisper() -> FakeWhisper:
    return FakeWhisper([(a, b, text) for a, b, _, text in TURNS])


@pytest.fixture
def voiced(voces_home, rule_tagger):
    """An archive that tells voices apart (the stand-in encoder, loaded on first use)."""
    loads: list[int] = []

    def encoder() -> CodeEncoder:
        loads.append(1)
        return CodeEncoder()

    a = Archive(
        voces_home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=_whisper,
        redact=pattern_redact,
        speaker_encoder=encoder,
    )
    a.loads = loads  # type: ignore[attr-defined]
    yield a
    a.close()


def _ingest(archive, path, speakers=None, consent="restricted", allow_names=False):
    [r] = archive.ingest_paths(
        [path],
        Metadata(consent=consent, language="es", allow_names=allow_names),
        LOCAL,
        speakers=speakers,
    )
    assert r.status == "added", r
    return r.id


# -- ingest ----------------------------------------------------------------------------------


@pytest.mark.parametrize("speakers", [2, None])
def test_each_passage_is_one_voice_of_the_interview(voiced, tmp_path, speakers):
    tid = _ingest(voiced, _interview(tmp_path), speakers)
    passages = voiced.passages(tid, LOCAL)
    # five turns, five passages: a question never shares a passage with its answer
    assert [p.speaker for p in passages] == ["S1", "S2", "S1", "S2", "S1"]
    assert [(p.start, p.end) for p in passages] == [(a, b) for a, b, _, _ in TURNS]
    assert [s.label for s in voiced.speakers(tid, LOCAL)] == ["S1", "S2"]
    assert all(s.name == "" for s in voiced.speakers(tid, LOCAL))
    assert voiced.loads == [1]  # type: ignore[attr-defined]
    # the encoder is loaded once per archive, not once per recording
    _ingest(voiced, _interview(tmp_path, "otra.wav", total=28.5), speakers)
    assert voiced.loads == [1]  # type: ignore[attr-defined]


def test_one_voice_declared_is_s1_throughout_without_the_encoder(voiced, tmp_path):
    tid = _ingest(voiced, _interview(tmp_path), speakers=1)
    assert {p.speaker for p in voiced.passages(tid, LOCAL)} == {"S1"}
    assert voiced.loads == []  # type: ignore[attr-defined]
    assert [s.label for s in voiced.speakers(tid, LOCAL)] == ["S1"]


def test_an_archive_without_an_encoder_hears_one_voice_and_refuses_a_number(archive, tmp_path):
    path = _interview(tmp_path)
    with pytest.raises(PipelineError, match="without a speaker encoder"):
        archive.ingest_paths([path], Metadata(language="es"), LOCAL, speakers=2)
    assert archive.store.counts(LOCAL)["testimonies"] == 0
    tid = _ingest(archive, path)
    assert {p.speaker for p in archive.passages(tid, LOCAL)} == {"S1"}


@pytest.mark.parametrize("bad", [0, 9, -1, "dos", "2.5", True])
def test_a_number_of_speakers_out_of_range_is_refused_before_anything_runs(voiced, tmp_path, bad):
    with pytest.raises(InputError, match="speakers must be a whole number from 1 to 8"):
        voiced.ingest_paths([_interview(tmp_path)], Metadata(language="es"), LOCAL, speakers=bad)
    assert voiced.store.counts(LOCAL)["testimonies"] == 0


def test_segments_of_two_voices_never_share_a_passage():
    segments = [
        Segment(0.0, 1.0, "Sí.", speaker="S1"),
        Segment(1.0, 2.0, "Claro.", speaker="S2"),
        Segment(2.0, 3.0, "Y el agua", speaker="S2"),
        Segment(3.0, 4.0, "se volvió amarilla.", speaker="S2"),
    ]
    grouped = list(group_segments(segments))
    assert [(g.text, g.speaker) for g in grouped] == [
        ("Sí.", "S1"),
        ("Claro. Y el agua se volvió amarilla.", "S2"),
    ]
    # one voice: grouped as before (short sentences join)
    same = [replace(s, speaker="S1") for s in segments]
    assert [g.text for g in group_segments(same)] == ["Sí. Claro. Y el agua se volvió amarilla."]


# -- the store: voices, names, turns ---------------------------------------------------------


def _stored(archive, consent="restricted", allow_names=False, language="es", tid="t-voces"):
    """A testimony stored directly: two voices, three passages."""
    t = Testimony(
        id=tid,
        title="Entrevista",
        consent=consent,
        language=language,
        allow_names=allow_names,
        source_kind="audio",
        source_hash=tid,
    )
    texts = ["¿Qué pasó con el río?", "El río se secó cuando llegó la mina.", "¿Y los animales?"]
    passages = [
        Passage(tid, n, text, start=n * 2.0, end=n * 2.0 + 1.5, speaker=label)
        for n, (text, label) in enumerate(zip(texts, ["S1", "S2", "S1"], strict=True))
    ]
    vectors = archive.embedder.embed(texts)
    archive.store.add_testimony(t, passages, vectors, archive.embedder.name, LOCAL, texts, "E")
    archive.refresh()
    return t.id


def test_voices_round_trip_and_are_renamed_by_archivists(archive):
    tid = _stored(archive)
    assert [p.speaker for p in archive.passages(tid, LOCAL)] == ["S1", "S2", "S1"]
    assert [(s.label, s.name) for s in archive.speakers(tid, LOCAL)] == [("S1", ""), ("S2", "")]
    named = archive.rename_speaker(tid, "S1", "  Entrevistadora  ", ARCHIVIST)
    assert named.name == "Entrevistadora"
    archive.rename_speaker(tid, "S2", "Rosa Quispe", ARCHIVIST)
    assert [(s.label, s.name) for s in archive.speakers(tid, ARCHIVIST)] == [
        ("S1", "Entrevistadora"),
        ("S2", "Rosa Quispe"),
    ]
    archive.rename_speaker(tid, "S1", "", ARCHIVIST)  # a name taken away
    assert archive.speakers(tid, ARCHIVIST)[0].name == ""


def test_renaming_is_refused_to_others_and_checked(archive):
    tid = _stored(archive)
    for viewer in (ANON, RESEARCHER):
        with pytest.raises(ForbiddenError):
            archive.rename_speaker(tid, "S1", "Rosa", viewer)
        with pytest.raises(ForbiddenError):
            archive.store.rename_speaker(tid, "S1", "Rosa", viewer)
    with pytest.raises(NotFoundError, match="no speaker 'S7'"):
        archive.rename_speaker(tid, "S7", "Rosa", ARCHIVIST)
    with pytest.raises(NotFoundError):
        archive.rename_speaker("t-nadie", "S1", "Rosa", ARCHIVIST)
    for label in ("X1", "S0", "s1", "S1000", ""):
        with pytest.raises(InputError, match="S1, S2"):
            archive.rename_speaker(tid, label, "Rosa", ARCHIVIST)
    for name in ("R" * 201, "Rosa\x00Quispe"):
        with pytest.raises(InputError, match="at most 200 characters"):
            archive.rename_speaker(tid, "S1", name, ARCHIVIST)
    assert all(s.name == "" for s in archive.speakers(tid, LOCAL))


def test_the_audit_log_names_the_voice_renamed_never_its_name(archive):
    tid = _stored(archive)
    archive.rename_speaker(tid, "S2", "Zqnombreunicozq", ARCHIVIST)
    archive.set_speaker(archive.passages(tid, LOCAL)[0].id, "S2", ARCHIVIST)
    entries = archive.store.audit_entries(LOCAL, limit=100)
    renamed = [e for e in entries if e.action == "rename speaker"]
    assert [(e.target, e.detail, e.actor) for e in renamed] == [(tid, "S2", ARCHIVIST.name)]
    assert [e.detail for e in entries if e.action == "set speaker"] == ["S1 -> S2"]
    assert not [e for e in entries if "Zqnombreunicozq" in repr(e)]


def test_a_turn_is_fixed_to_a_voice_of_the_testimony_or_a_new_one(archive):
    tid = _stored(archive)
    first, second, third = archive.passages(tid, LOCAL)
    moved = archive.set_speaker(third.id, "S2", ARCHIVIST)
    assert moved.speaker == "S2" and moved.text == third.text
    assert [p.speaker for p in archive.passages(tid, LOCAL)] == ["S1", "S2", "S2"]
    archive.set_speaker(first.id, "S3", ARCHIVIST)  # a voice diarization missed
    assert [s.label for s in archive.speakers(tid, LOCAL)] == ["S1", "S2", "S3"]
    assert archive.passages(tid, LOCAL)[0].speaker == "S3"
    for viewer in (ANON, RESEARCHER):
        with pytest.raises(ForbiddenError):
            archive.set_speaker(second.id, "S1", viewer)
    with pytest.raises(InputError):
        archive.set_speaker(second.id, "narrador", ARCHIVIST)
    with pytest.raises(NotFoundError):
        archive.set_speaker(10**9, "S1", ARCHIVIST)
    assert archive.passages(tid, LOCAL)[1].speaker == "S2"


def test_names_are_masked_for_those_who_may_not_see_names(archive):
    hidden = _stored(archive, consent="public", tid="t-oculto")
    english = _stored(archive, consent="public", language="en", tid="t-english")
    named = _stored(archive, consent="public", allow_names=True, tid="t-nombrado")
    for tid in (hidden, english, named):
        archive.rename_speaker(tid, "S2", "Rosa Quispe", ARCHIVIST)
    for viewer in (ANON, RESEARCHER):
        assert [(s.label, s.name) for s in archive.speakers(hidden, viewer)] == [
            ("S1", ""),  # nothing to hide in an unnamed voice
            ("S2", "[nombre]"),
        ]
        assert archive.speakers(english, viewer)[1].name == "[name]"
        assert archive.speakers(named, viewer)[1].name == "Rosa Quispe"
        assert [p.speaker for p in archive.passages(hidden, viewer)] == ["S1", "S2", "S1"]
    assert archive.speakers(hidden, ARCHIVIST)[1].name == "Rosa Quispe"
    # the redactor's own masks, which corpus may not import
    assert {k: v["name"] for k, v in MASKS.items()} == NAME_MASKS


def test_a_private_testimonys_voices_are_not_found(archive):
    tid = _stored(archive, consent="private")
    archive.rename_speaker(tid, "S2", "Rosa Quispe", ARCHIVIST)
    for viewer in (ANON, RESEARCHER):
        with pytest.raises(NotFoundError) as hidden:
            archive.speakers(tid, viewer)
        with pytest.raises(NotFoundError) as ghost:
            archive.speakers("t-never", viewer)
        assert str(hidden.value).replace(tid, "t-never") == str(ghost.value)


# -- search by voice ---------------------------------------------------------------------------


def _hits(archive, viewer, speaker, group):
    flt = PassageFilter(speaker=speaker)
    return {(h.testimony_id, h.passage_id) for h in archive.search("río", viewer, 50, flt, group)}


@pytest.mark.parametrize("group", [True, False])
def test_search_filters_by_label_and_by_name_only_where_names_show(archive, group):
    hidden = _stored(archive, consent="public", tid="t-oculto")
    named = _stored(archive, consent="public", allow_names=True, tid="t-nombrado")
    for tid in (hidden, named):
        archive.rename_speaker(tid, "S2", "Rosa Quispe", ARCHIVIST)
    answer = {
        p.testimony_id: p.id for tid in (hidden, named) for p in archive.passages(tid, LOCAL)[1:2]
    }

    def found(viewer, speaker):
        return {tid for tid, _ in _hits(archive, viewer, speaker, group)}

    for viewer in (ARCHIVIST, RESEARCHER, ANON):
        assert found(viewer, "S2") == {hidden, named}
        assert found(viewer, "s2") == {hidden, named}  # labels in any case
        assert found(viewer, "S9") == set()
    assert found(ARCHIVIST, "Rosa Quispe") == {hidden, named}
    assert found(ARCHIVIST, "rosa quispe") == {hidden, named}
    for viewer in (RESEARCHER, ANON):
        # a name would tell who speaks in a testimony whose names are hidden
        assert found(viewer, "Rosa Quispe") == {named}
        assert found(viewer, "[nombre]") == set()
    if not group:  # the passages found are the voice's own
        hits = _hits(archive, ARCHIVIST, "Rosa Quispe", group)
        assert {pid for _, pid in hits} == set(answer.values())
    # a renamed voice and a fixed turn change what the filter selects at once
    archive.rename_speaker(hidden, "S2", "Otra Persona", ARCHIVIST)
    assert found(ARCHIVIST, "Rosa Quispe") == {named}
    first = archive.passages(named, LOCAL)[0]
    archive.set_speaker(first.id, "S2", ARCHIVIST)
    if not group:
        assert (named, first.id) in _hits(archive, ARCHIVIST, "Rosa Quispe", group)


def test_listing_testimonies_by_voice(archive):
    hidden = _stored(archive, consent="public", tid="t-oculto")
    archive.rename_speaker(hidden, "S2", "Rosa Quispe", ARCHIVIST)
    typed = Testimony(id="t-typed", consent="public", source_hash="typed")
    archive.store.add_testimony(
        typed,
        [Passage("t-typed", 0, "El río.")],
        archive.embedder.embed(["El río."]),
        archive.embedder.name,
        LOCAL,
        ["El río."],
    )

    def listed(viewer, speaker):
        items, total = archive.store.list_testimonies(viewer, PassageFilter(speaker=speaker))
        assert total == len(items)
        return {t.id for t in items}

    assert listed(LOCAL, "Rosa Quispe") == {hidden}
    assert listed(ANON, "Rosa Quispe") == set()
    assert listed(ANON, "S2") == {hidden}


# -- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def served(voiced, tmp_path):
    _, key = voiced.store.keys.create("archivist", "speakers", LOCAL)
    _, researcher = voiced.store.keys.create("researcher", "speakers", LOCAL)
    settings = get_settings(home=voiced.home, cache_dir=tmp_path / "cache", api_token="")
    with TestClient(create_app(settings, archive=voiced)) as client:
        yield (
            client,
            {"Authorization": f"Bearer {key}"},
            {"Authorization": f"Bearer {researcher}"},
        )


def _wait(client, job_id, headers):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_with_a_number_of_speakers_through_the_job(served, voiced, tmp_path):
    client, archivist, researcher = served
    data = _interview(tmp_path).read_bytes()
    form = {"consent": "restricted", "language": "es", "speakers": "2"}
    r = client.post(
        "/api/v1/testimonies", files={"file": ("e.wav", data)}, data=form, headers=archivist
    )
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["uploads"][0]["job"]["id"], archivist)
    assert job["state"] == "done", job
    tid = job["results"][0]["id"]
    # the number travelled with the job (k-means for 2 voices, not an estimate)
    assert voiced.store.jobs.get(job["id"], LOCAL).metadata["speakers"] == 2
    d = client.get(f"/api/v1/testimonies/{tid}", headers=archivist).json()
    assert [p["speaker"] for p in d["passages"]] == ["S1", "S2", "S1", "S2", "S1"]
    assert d["speakers"] == [{"label": "S1", "name": ""}, {"label": "S2", "name": ""}]
    assert d["doubtful_words"] == 0 and all(p["words"] == [] for p in d["passages"])

    r = client.put(
        f"/api/v1/testimonies/{tid}/speakers/S2", json={"name": "Rosa Quispe"}, headers=archivist
    )
    assert r.status_code == 200 and r.json() == {"label": "S2", "name": "Rosa Quispe"}
    d = client.get(f"/api/v1/testimonies/{tid}", headers=archivist).json()
    assert [p["speaker_name"] for p in d["passages"]][:2] == ["", "Rosa Quispe"]
    seen = client.get(f"/api/v1/testimonies/{tid}", headers=researcher).json()
    assert seen["speakers"][1] == {"label": "S2", "name": "[nombre]"}
    assert "Rosa" not in json.dumps(seen)

    first = d["passages"][0]["id"]
    r = client.put(f"/api/v1/passages/{first}/speaker", json={"speaker": "S2"}, headers=archivist)
    assert r.status_code == 200, r.text
    assert r.json()["speaker"] == "S2" and r.json()["speaker_name"] == "Rosa Quispe"
    r = client.put(f"/api/v1/passages/{first}/speaker", json={"speaker": "S2"}, headers=researcher)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = client.put(f"/api/v1/passages/{first}/speaker", json={"speaker": "X"}, headers=archivist)
    assert r.status_code in (400, 422) and set(r.json()) == {"error"}
    r = client.put(
        f"/api/v1/testimonies/{tid}/speakers/S9", json={"name": "Nadie"}, headers=archivist
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    hits = client.get(
        "/api/v1/search",
        params={"q": "agua", "speaker": "Rosa Quispe", "group": "false"},
        headers=archivist,
    ).json()["hits"]
    assert hits and {h["passage_id"] for h in hits} <= {p["id"] for p in d["passages"][1::2]} | {
        first
    }
    assert (
        client.get(
            "/api/v1/search", params={"q": "agua", "speaker": "Rosa Quispe"}, headers=researcher
        ).json()["hits"]
        == []
    )


@pytest.mark.parametrize("bad", ["0", "9", "dos", "1.5", "-2"])
def test_a_bad_speakers_field_is_a_clear_4xx_and_stores_nothing(served, voiced, tmp_path, bad):
    client, archivist, _ = served
    data = _interview(tmp_path).read_bytes()
    form = {"consent": "restricted", "language": "es", "speakers": bad}
    r = client.post(
        "/api/v1/testimonies", files={"file": ("e.wav", data)}, data=form, headers=archivist
    )
    assert r.status_code == 422, r.text
    assert set(r.json()) == {"error"} and "speakers" in r.json()["error"]["message"]
    assert voiced.store.counts(LOCAL)["testimonies"] == 0
    assert not list((voiced.home / "uploads").glob("*/*"))


def test_an_empty_speakers_field_means_estimate(served, voiced, tmp_path):
    client, archivist, _ = served
    data = _interview(tmp_path).read_bytes()
    form = {"consent": "restricted", "language": "es", "speakers": ""}
    r = client.post(
        "/api/v1/testimonies", files={"file": ("e.wav", data)}, data=form, headers=archivist
    )
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["uploads"][0]["job"]["id"], archivist)
    assert job["state"] == "done", job
    labels = [p.speaker for p in voiced.passages(job["results"][0]["id"], LOCAL)]
    assert labels == ["S1", "S2", "S1", "S2", "S1"]


# -- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def run(monkeypatch):
    from api import services

    invoke = fake_cli(monkeypatch, _whisper(), HashEmbedder())
    monkeypatch.setattr(services, "speaker_loader", lambda settings: CodeEncoder)
    return invoke


def test_cli_ingest_speakers_list_rename_set(run, tmp_path):
    path = _interview(tmp_path)
    r = run("ingest", str(path), "--speakers", "2", "--language", "es", "--json")
    assert r.exit_code == 0, r.output
    [tid] = json.loads(r.output)["added"]
    out = json.loads(run("speakers", "list", tid, "--json").output)
    assert out["speakers"] == [
        {"label": "S1", "name": "", "passages": 3},
        {"label": "S2", "name": "", "passages": 2},
    ]
    r = run("speakers", "rename", tid, "S1", "Entrevistadora")
    assert r.exit_code == 0 and "Entrevistadora" in r.output
    shown = json.loads(run("show", tid, "--json").output)
    assert shown["speakers"][0] == {"label": "S1", "name": "Entrevistadora"}
    first = shown["passages"][0]
    assert first["speaker"] == "S1" and first["speaker_name"] == "Entrevistadora"
    r = run("speakers", "set", str(shown["passages"][1]["id"]), "S1", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["speaker"] == "S1"
    out = json.loads(run("speakers", "list", tid, "--json").output)
    assert [s["passages"] for s in out["speakers"]] == [4, 1]
    masked = json.loads(run("speakers", "list", tid, "--json", "--as", "researcher").output)
    assert masked["speakers"][0]["name"] == "[nombre]"
    plain = run("show", tid).output
    assert "Entrevistadora: Buenos días" in plain
    searched = run("search", "río", "--speaker", "Entrevistadora", "--passages", "--json")
    hits = json.loads(searched.output)["hits"]
    assert hits and {h["passage_id"] for h in hits} <= {
        p["id"] for p in shown["passages"][:3] + shown["passages"][4:]
    }


def test_cli_queues_a_recording_with_its_number_of_speakers(run, tmp_path, voces_home):
    r = run("ingest", str(_interview(tmp_path)), "--no-wait", "--speakers", "2", "--json")
    assert r.exit_code == 0, r.output
    [job] = json.loads(r.output)["jobs"]
    with Archive(voces_home, embedder=None, tagger=None) as archive:  # type: ignore[arg-type]
        assert archive.store.jobs.get(job["id"], LOCAL).metadata["speakers"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["speakers", "rename", "a-nadie", "S1", "Rosa"], "no testimony"),
        (["speakers", "set", "99999", "S1"], "no passage"),
        (["speakers", "set", "1", "narrador"], "S1, S2"),
        (["speakers", "list", "a-nadie"], "no testimony"),
    ],
)
def test_cli_speakers_errors_are_one_line(run, args, message):
    r = run(*args)
    assert r.exit_code == 1
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], r.output


@pytest.mark.parametrize("bad", ["0", "9", "dos"])
def test_cli_refuses_a_bad_number_of_speakers(run, tmp_path, bad):
    r = run("ingest", str(_interview(tmp_path)), "--speakers", bad)
    assert r.exit_code == 2 and "--speakers" in r.output and "Traceback" not in r.output


def test_transcribe_json_gives_each_segment_its_speaker(run, tmp_path):
    r = run("transcribe", str(_interview(tmp_path)), "--json")
    assert r.exit_code == 0, r.output
    segments = json.loads(r.output)["segments"]
    assert [s["speaker"] for s in segments] == ["S1", "S2", "S1", "S2", "S1"]
    one = json.loads(
        run("transcribe", str(_interview(tmp_path)), "--json", "--speakers", "1").output
    )
    assert {s["speaker"] for s in one["segments"]} == {"S1"}


# -- real models -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_two_voice_interview_is_ingested_as_two_speakers(voces_home, rule_tagger, tmp_path):
    from models import WhisperSpec, load_whisper
    from models.speakers import load_speaker_encoder

    truth = json.loads((DATA / "two_speakers.json").read_text("utf-8"))["turns"]
    cache = tmp_path / "cache"

    def scripted(p: Passage) -> str:
        """The voice of the script that speaks most of the passage's time."""
        held: dict[str, float] = {}
        for t in truth:
            overlap = min(p.end or 0.0, t["end"]) - max(p.start or 0.0, t["start"])
            if overlap > 0:
                held[t["speaker"]] = held.get(t["speaker"], 0.0) + overlap
        return max(held, key=lambda k: held[k]) if held else ""

    archive = Archive(
        voces_home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: load_whisper(WhisperSpec(), cache),
        speaker_encoder=lambda: load_speaker_encoder("ge2e"),
    )
    try:
        [r] = archive.ingest_paths(
            [DATA / "two_speakers.ogg"], Metadata(language="es", consent="public"), LOCAL
        )
        passages = archive.passages(r.id, Viewer.system())
        assert {p.speaker for p in passages} == {"S1", "S2"}, passages
        assert [s.label for s in archive.speakers(r.id, LOCAL)] == ["S1", "S2"]
        # S1 and S2 are the script's two voices, one to one, passage by passage
        pairs = {(p.speaker, scripted(p)) for p in passages if scripted(p)}
        assert len(pairs) == 2 == len({a for a, _ in pairs}) == len({b for _, b in pairs}), pairs
        words = [w for p in passages for w in p.words]
        assert words and all(
            p.start <= w.start <= w.end <= p.end for p in passages for w in p.words
        )
    finally:
        archive.close()
