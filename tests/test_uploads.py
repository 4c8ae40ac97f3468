"""Uploads over HTTP: checked, staged durably, queued, stored by the in-process worker;
consent changes and deletion; keys and the audit log."""

import io
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from corpus import Viewer
from pipeline import InputError, Metadata

from .conftest import DATA, LOCAL


@pytest.fixture
def app_client(archive, voces_home):
    settings = get_settings(stale_job_seconds=5)
    with TestClient(create_app(settings, archive=archive)) as c:
        yield c


@pytest.fixture
def headers(archive):
    out = {}
    for role in ("researcher", "archivist", "admin"):
        _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
        out[role] = {"Authorization": f"Bearer {key}"}
    return out


def _wait(client, job_id, headers, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _upload(client, headers, name, content, **form):
    files = {"file": (name, io.BytesIO(content))}
    return client.post("/api/v1/testimonies", files=files, data=form, headers=headers)


def test_a_recording_upload_is_queued_stored_and_found(app_client, archive, headers):
    r = _upload(
        app_client,
        headers["archivist"],
        "entrevista rio.ogg",
        (DATA / "es_rio.ogg").read_bytes(),
        consent="public",
        region="Puno",
        date="2024-05-01",
    )
    assert r.status_code == 202, r.text
    [accepted] = r.json()["uploads"]
    assert accepted["accepted"] and accepted["job"]["state"] in ("queued", "running", "done")
    job = _wait(app_client, accepted["job"]["id"], headers["archivist"])
    assert job["state"] == "done" and job["progress"] == 1.0, job
    [stored] = job["results"]
    assert stored["status"] == "added" and stored["passages"] > 0
    hits = app_client.get("/api/v1/search", params={"q": "río contaminado"}).json()["hits"]
    assert any(h["testimony_id"] == stored["id"] for h in hits)
    detail = app_client.get(f"/api/v1/testimonies/{stored['id']}").json()
    assert detail["region"] == "Puno" and detail["date"] == "2024-05-01"
    assert not list((archive.home / "uploads").iterdir())  # the staged copy is gone
    listed = app_client.get("/api/v1/jobs", headers=headers["admin"]).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_typed_testimonies_upload_and_a_reused_id_is_a_conflict(app_client, archive, headers):
    body = (DATA / "testimonies.jsonl").read_bytes()
    r = _upload(app_client, headers["archivist"], "coleccion.jsonl", body, consent="restricted")
    job = _wait(app_client, r.json()["uploads"][0]["job"]["id"], headers["archivist"])
    assert job["state"] == "done" and len(job["results"]) == 4
    first = json.loads(body.decode().splitlines()[0])
    changed = json.dumps({**first, "text": first["text"] + " Otra cosa."}) + "\n"
    r = _upload(app_client, headers["archivist"], "otra.jsonl", changed.encode(), consent="public")
    assert r.status_code == 409 and "already used" in r.json()["error"]["message"]
    assert not list((archive.home / "uploads").iterdir())


def test_uploads_need_an_archivist(app_client, headers):
    content = (DATA / "es_rio.ogg").read_bytes()
    assert _upload(app_client, {}, "a.ogg", content, consent="public").status_code == 401
    r = _upload(app_client, headers["researcher"], "a.ogg", content, consent="public")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_bulk_upload_reports_every_file(app_client, archive, headers):
    manifest = (
        "file,consent,region,title\n"
        "rio.ogg,public,Puno,El río\n"
        "tierra.ogg,restricted,Cusco,La tierra\n"
        "falta.ogg,public,Junín,Nunca subido\n"
    )
    files = [
        ("files", ("rio.ogg", io.BytesIO((DATA / "es_rio.ogg").read_bytes()))),
        ("files", ("tierra.ogg", io.BytesIO((DATA / "en_land.ogg").read_bytes()))),
        ("files", ("roto.ogg", io.BytesIO(b"not audio at all"))),
        ("manifest", ("manifest.csv", io.BytesIO(manifest.encode()))),
    ]
    r = app_client.post("/api/v1/testimonies/bulk", files=files, headers=headers["archivist"])
    assert r.status_code == 202, r.text
    by_file = {u["file"]: u for u in r.json()["uploads"]}
    assert set(by_file) == {"rio.ogg", "tierra.ogg", "roto.ogg", "falta.ogg"}
    assert by_file["rio.ogg"]["accepted"] and by_file["tierra.ogg"]["accepted"]
    assert not by_file["roto.ogg"]["accepted"] and by_file["roto.ogg"]["error"]["message"]
    assert by_file["falta.ogg"]["error"]["code"] == "missing"
    for name in ("rio.ogg", "tierra.ogg"):
        job = _wait(app_client, by_file[name]["job"]["id"], headers["archivist"])
        assert job["state"] == "done", job
    regions = {t.region: t.consent for t in archive.store.list_testimonies(LOCAL)[0]}
    assert regions == {"Puno": "public", "Cusco": "restricted"}


@pytest.mark.parametrize(
    "form, field",
    [
        ({"consent": "everyone"}, "consent"),
        ({"consent": "public", "date": "2024-02-31"}, "date"),
        ({"consent": "public", "language": "spanish"}, "language"),
        ({}, "consent"),
    ],
)
def test_bad_metadata_is_a_422_that_names_the_field(app_client, archive, headers, form, field):
    r = _upload(
        app_client, headers["archivist"], "a.ogg", (DATA / "es_rio.ogg").read_bytes(), **form
    )
    assert r.status_code == 422 and field in r.json()["error"]["message"]
    assert archive.store.jobs.list(LOCAL) == []


def test_consent_change_and_withdrawal(app_client, archive, headers):
    archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(region="Puno", consent="public"), LOCAL)
    tid = archive.store.list_testimonies(LOCAL)[0][0].id
    assert app_client.get(f"/api/v1/testimonies/{tid}").status_code == 200
    r = app_client.patch(
        f"/api/v1/testimonies/{tid}", json={"consent": "private"}, headers=headers["archivist"]
    )
    assert r.status_code == 200 and r.json()["consent"] == "private"
    assert app_client.get(f"/api/v1/testimonies/{tid}").status_code == 404
    assert (
        app_client.get(f"/api/v1/testimonies/{tid}", headers=headers["researcher"]).status_code
        == 404
    )
    assert (
        app_client.delete(f"/api/v1/testimonies/{tid}", headers=headers["researcher"]).status_code
        == 403
    )
    r = app_client.delete(f"/api/v1/testimonies/{tid}", headers=headers["archivist"])
    assert r.status_code == 200 and r.json()["passages"] > 0
    assert app_client.get(f"/api/v1/testimonies/{tid}", headers=headers["admin"]).status_code == 404
    assert archive.store.counts(LOCAL) == {"testimonies": 0, "passages": 0}
    assert not list((archive.home / "media").iterdir())
    audit = app_client.get("/api/v1/audit", headers=headers["admin"]).json()["entries"]
    assert [e["action"] for e in audit][:2] == ["delete", "consent"]
    assert audit[0]["actor"].startswith("key:") and "archivist" in audit[0]["actor"]


def test_keys_over_http_are_shown_once_and_revocable(app_client, headers):
    r = app_client.post(
        "/api/v1/keys", json={"role": "researcher", "name": "Ana"}, headers=headers["admin"]
    )
    assert r.status_code == 201
    key = r.json()["key"]
    listed = app_client.get("/api/v1/keys", headers=headers["admin"]).json()["keys"]
    assert key not in json.dumps(listed)
    mine = {"Authorization": f"Bearer {key}"}
    assert app_client.get("/api/v1/health", headers=mine).json()["role"] == "researcher"
    assert app_client.get("/api/v1/keys", headers=headers["archivist"]).status_code == 403
    assert (
        app_client.delete(f"/api/v1/keys/{r.json()['id']}", headers=headers["admin"]).status_code
        == 204
    )
    assert app_client.get("/api/v1/health", headers=mine).status_code == 401


def test_similar_never_fails_while_an_ingest_runs(app_client, archive, headers):
    """Searches and similar stories while testimonies are being stored: no 500."""
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata(consent="public"), LOCAL)
    tid = archive.store.list_testimonies(LOCAL)[0][0].id
    statuses = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            statuses.append(app_client.get(f"/api/v1/testimonies/{tid}/similar").status_code)
            statuses.append(app_client.get("/api/v1/search", params={"q": "agua"}).status_code)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(15):
            line = json.dumps(
                {"id": f"x-{n}", "text": f"El agua del río {n} está sucia.", "consent": "public"}
            )
            r = _upload(
                app_client, headers["archivist"], f"x{n}.jsonl", line.encode(), consent="public"
            )
            _wait(app_client, r.json()["uploads"][0]["job"]["id"], headers["archivist"])
    finally:
        stop.set()
        reader.join()
    assert statuses and set(statuses) == {200}


def test_a_job_whose_worker_died_is_taken_over(archive, voces_home):
    """A job left 'running' by a killed worker is claimed again once its heartbeat is stale."""
    from huey import MemoryHuey

    from pipeline.jobs import JobRunner, new_job_id
    from pipeline.uploads import check_upload

    runner = JobRunner(archive, MemoryHuey("t"), stale_after=0.5)
    job_id = new_job_id()
    staged = runner.staging_path(job_id, "t.jsonl")
    staged.write_bytes((DATA / "testimonies.jsonl").read_bytes())
    meta = Metadata(consent="public")
    runner.submit(job_id, staged, check_upload(staged, "t.jsonl", meta), meta, LOCAL)
    assert runner.huey.dequeue() is not None  # a worker took the message,
    assert archive.store.jobs.claim(job_id, 0.5) is not None  # claimed the job, then died
    assert archive.store.jobs.claim(job_id, 0.5) is None  # not stale yet: nobody else may
    time.sleep(1.1)
    assert runner.recover() == 1
    runner.process(job_id)
    job = archive.store.jobs.get(job_id, Viewer.system())
    assert job.state == "done" and job.attempts == 2 and len(job.results) == 4


@pytest.mark.parametrize(
    "form, field",
    [
        ({"consent": "public", "date": "٢٠٢٤-٠٥-٠١"}, "date"),
        ({"consent": "public", "language": "xx"}, "language 'xx' is not one Voces knows"),
    ],
    ids=["arabic-indic-date", "unknown-language"],
)
def test_a_form_date_in_other_digits_or_an_unknown_language_is_a_422(
    app_client, archive, headers, form, field
):
    r = _upload(app_client, headers["archivist"], "t.txt", "El agua del río.".encode(), **form)
    assert r.status_code == 422 and field in r.json()["error"]["message"], r.text
    assert archive.store.jobs.list(LOCAL) == []


@pytest.mark.parametrize(
    "row, message",
    [
        ({"id": "d", "text": "El agua.", "date": "٢٠٢٤"}, "x.jsonl:1: date '٢٠٢٤' is not YYYY"),
        ({"id": "e", "text": "🙏 … 🙏"}, "x.jsonl:1: the text holds no letter or digit"),
        ({"id": "l", "text": "El agua.", "language": "xx"}, "language 'xx' is not one Voces"),
    ],
    ids=["date", "emoji", "language"],
)
def test_a_typed_upload_with_a_bad_row_is_a_400_naming_it(
    app_client, archive, headers, row, message
):
    body = (json.dumps(row, ensure_ascii=False) + "\n").encode()
    r = _upload(app_client, headers["archivist"], "x.jsonl", body, consent="public")
    assert r.status_code == 400 and message in r.json()["error"]["message"], r.text
    assert archive.store.jobs.list(LOCAL) == []
    assert not list((archive.home / "uploads").iterdir())


def test_a_typed_upload_keeps_a_u2028_inside_its_text(app_client, archive, headers):
    text = "El río bajaba negro.\u2028Ya no hay peces."
    body = "\n".join(
        json.dumps({"id": i, "text": t}, ensure_ascii=False)
        for i, t in (("u1", text), ("u2", "Otra línea."))
    ).encode()
    r = _upload(app_client, headers["archivist"], "sep.jsonl", body, consent="public")
    assert r.status_code == 202, r.text
    job = _wait(app_client, r.json()["uploads"][0]["job"]["id"], headers["archivist"])
    assert job["state"] == "done" and [x["id"] for x in job["results"]] == ["u1", "u2"], job
    detail = app_client.get("/api/v1/testimonies/u1").json()
    # both sides of the separator are one testimony (passages fold it into a space)
    assert " ".join(p["text"] for p in detail["passages"]) == text.replace("\u2028", " ")


def test_a_recording_declared_in_quechua_is_refused_before_it_is_queued(
    app_client, archive, headers
):
    """Whisper cannot transcribe Quechua or Aymara: such a recording is refused when it
    is uploaded (a typed transcription is the way in), not left to fail in the worker."""
    audio = (DATA / "es_rio.ogg").read_bytes()
    r = _upload(
        app_client, headers["archivist"], "rimay.ogg", audio, consent="public", language="qu"
    )
    assert r.status_code == 400, r.text
    assert "cannot transcribe Quechua" in r.json()["error"]["message"]
    assert archive.store.jobs.list(LOCAL) == []
    with pytest.raises(InputError, match="cannot transcribe Aymara"):
        archive.ingest_paths([DATA / "es_rio.ogg"], Metadata(language="ay"), LOCAL)
