"""CLI verbs that keep the archive safe: keys, consent, delete, audit, jobs, check,
``--as`` and ``--no-wait``."""

import json

import pytest

from .conftest import DATA, fake_cli
from .fakes import HashEmbedder


@pytest.fixture
def run(monkeypatch, fake_whisper):
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder())


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_keys_create_list_revoke(run):
    made = _json(run("keys", "create", "--role", "researcher", "--name", "Ana", "--json"))
    assert made["key"].startswith("voces_") and made["role"] == "researcher"
    listed = _json(run("keys", "list", "--json"))["keys"]
    assert [k["id"] for k in listed] == [made["id"]] and made["key"] not in json.dumps(listed)
    assert run("keys", "revoke", made["id"]).exit_code == 0
    assert _json(run("keys", "list", "--json"))["keys"][0]["revoked_at"]
    r = run("keys", "revoke", "nope")
    assert r.exit_code == 1 and r.output.startswith("Error:")


def test_consent_delete_and_audit(run, voces_home):
    added = _json(run("ingest", str(DATA / "es_rio.ogg"), "--consent", "public", "--json"))
    tid = added["added"][0]
    assert _json(run("search", "río", "--as", "anonymous", "--json"))["hits"]
    assert _json(run("consent", tid, "private", "--json"))["consent"] == "private"
    assert _json(run("search", "río", "--as", "researcher", "--json"))["hits"] == []
    assert _json(run("search", "río", "--json"))["hits"]  # the operator sees everything
    r = run("show", tid, "--as", "anonymous")
    assert r.exit_code == 1 and "no testimony" in r.output
    assert run("delete", tid, "--yes").exit_code == 0
    assert not list((voces_home / "media").iterdir())
    entries = _json(run("audit", "--json"))["entries"]
    assert [e["action"] for e in entries][:3] == [
        "delete",
        "search",
        "consent",
    ]  # the operator read private material
    assert all(e["actor"].startswith("local:") for e in entries)


def test_show_as_anonymous_is_redacted(run, tmp_path):
    typed = tmp_path / "t.jsonl"
    typed.write_text(
        json.dumps(
            {"id": "r1", "text": "Me llamo Rosa Quispe y vivo en Celendín.", "consent": "public"}
        )
        + "\n"
    )
    run("ingest", str(typed))
    original = _json(run("show", "r1", "--json"))["passages"][0]
    public = _json(run("show", "r1", "--as", "anonymous", "--json"))["passages"][0]
    assert "Rosa" in original["text"] and not original["redacted"]
    assert "Rosa" not in public["text"] and public["redacted"] and "Celendín" in public["text"]


def test_no_wait_queues_and_the_worker_stores(run, voces_home, monkeypatch):
    queued = _json(run("ingest", "--no-wait", str(DATA / "testimonies.jsonl"), "--json"))
    [job] = queued["jobs"]
    assert job["state"] == "queued"
    assert _json(run("jobs", "--json"))["jobs"][0]["id"] == job["id"]
    # the worker (as `voces worker` runs it), one pass over the queue
    from api import services
    from api.settings import get_settings

    settings = get_settings()
    archive = services.build_archive(settings)
    runner = services.build_jobs(archive, settings)
    task = runner.huey.dequeue()
    runner.huey.execute(task)
    archive.close()
    done = _json(run("jobs", "--json"))["jobs"][0]
    assert done["state"] == "done" and len(done["results"]) == 4
    assert len(_json(run("search", "agua", "--k", "50", "--json"))["hits"]) > 0


def test_no_wait_refuses_bad_files_before_queueing(run, tmp_path):
    bad = tmp_path / "fake.mp3"
    bad.write_text("not audio")
    r = run("ingest", "--no-wait", str(DATA / "testimonies.jsonl"), str(bad))
    assert r.exit_code == 1 and r.output.startswith("Error:") and "not audio" in r.output
    assert _json(run("jobs", "--json"))["jobs"] == []


def test_check_reports_and_repairs(run, voces_home):
    run("ingest", str(DATA / "testimonies.jsonl"))
    assert _json(run("check", "--json"))["ok"]
    (voces_home / "media" / "orphan.ogg").write_bytes(b"x")
    r = run("check", "--json")
    assert r.exit_code == 1 and not json.loads(r.output)["ok"]
    assert _json(run("check", "--repair", "--json"))["repaired"]
    assert _json(run("check", "--json"))["ok"]
