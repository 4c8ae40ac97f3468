"""The audit log's ``since``, over HTTP and on the command line: an ISO 8601 date or time,
compared as the instant it names; anything else is refused, never read as text that
happens to sort somewhere (``since=garbage`` used to list nothing, silently)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings

from .conftest import LOCAL, fake_cli
from .fakes import HashEmbedder

GARBAGE = ["garbage", "yesterday", "2026-02-30", "2026-13", "2026-01-01T25:00", "01/02/2026"]
PERU = timezone(timedelta(hours=-5))


@pytest.fixture
def api(archive):
    _, key = archive.store.keys.create("admin", "auditor", LOCAL)
    archive.store.keys.create("researcher", "Ana", LOCAL)  # one more entry
    with TestClient(create_app(get_settings(), archive=archive)) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def _entries(client, headers, since: str) -> list[dict]:
    r = client.get("/api/v1/audit", params={"since": since}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


@pytest.mark.parametrize("since", GARBAGE)
def test_a_since_that_is_not_a_date_or_time_is_400(api, since):
    client, headers = api
    r = client.get("/api/v1/audit", params={"since": since}, headers=headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == "bad_input", body
    assert "ISO 8601" in body["error"]["message"]


def test_since_is_compared_as_the_instant_it_names(api):
    client, headers = api
    newest = _entries(client, headers, "")[0]
    at = datetime.fromisoformat(newest["at"])
    for since in (
        (at - timedelta(seconds=2)).astimezone(PERU).isoformat(),  # an offset
        (at - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),  # Z
        (at - timedelta(seconds=2)).replace(tzinfo=None).isoformat(),  # no offset: UTC
        at.date().isoformat(),  # a date: from its start
        at.strftime("%Y-%m"),  # a month
        "2000",  # a year
    ):
        assert newest in _entries(client, headers, since), since
    for since in (
        (at + timedelta(seconds=2)).astimezone(PERU).isoformat(),
        (at + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        (at + timedelta(days=1)).date().isoformat(),
    ):
        assert newest not in _entries(client, headers, since), since


@pytest.fixture
def run(monkeypatch, fake_whisper):
    return fake_cli(monkeypatch, fake_whisper, HashEmbedder())


@pytest.mark.parametrize("since", GARBAGE)
def test_the_cli_refuses_a_bad_since_in_one_line(run, since):
    r = run("audit", "--since", since)
    assert r.exit_code == 1, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: --since:"), r.output
    assert "Traceback" not in r.output and "unexpected" not in r.output


def test_the_cli_compares_since_as_an_instant(run):
    assert run("keys", "create", "--role", "researcher", "--name", "Ana").exit_code == 0
    entries = json.loads(run("audit", "--json").output)["entries"]
    at = datetime.fromisoformat(entries[0]["at"])
    before = (at - timedelta(seconds=2)).astimezone(PERU).isoformat()
    after = (at + timedelta(seconds=2)).astimezone(PERU).isoformat()
    assert json.loads(run("audit", "--since", before, "--json").output)["entries"] == entries
    assert json.loads(run("audit", "--since", after, "--json").output)["entries"] == []
