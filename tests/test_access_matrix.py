"""The access matrix: every role x every consent level x every read path, 0 leaks.

One archive is built per module, through the HTTP upload route and the ingest worker:
a typed testimony and a recording at each consent level, plus typed testimonies whose
witness allowed names (public and restricted). Every text names a witness and a phone
number, so redaction is visible, and every testimony carries a marker word, so a leak of
a testimony anywhere in any answer is found by a substring search. Each testimony has a
review naming its reviewer, with a note.

Expectations come from a table written here (not from ``Viewer.consent``), and every
case is named ``role-subject-path``, so a failure says who saw what where.
"""

from __future__ import annotations

import json
import time
import wave
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api import cli as cli_module
from api.app import create_app
from api.settings import get_settings
from pipeline import Archive
from pipeline.audio import decode_audio

from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

ROLES = ("anonymous", "researcher", "archivist", "admin")
#: What each role may read, written out here on purpose (not taken from the product).
ALLOWED = {
    "anonymous": {"public"},
    "researcher": {"public", "restricted"},
    "archivist": {"public", "restricted", "private"},
    "admin": {"public", "restricted", "private"},
}
ORIGINALS = {"archivist", "admin"}  # unredacted text, reviewer names and notes

NAME, PHONE = "Quispe", "987 654 321"  # what redaction must hide
REVIEWER, NOTE = "Ximena Revisora", "nota-reservada"  # what only archivists may read
QUERY = "el río está contaminado por la mina"


def _timed(start: float, end: float, text: str) -> tuple[float, float, str, list[Any]]:
    """A segment with its words timed evenly (the name's word doubted: p 0.5)."""
    words = text.split()
    step = (end - start) / len(words)
    return (
        start,
        end,
        text,
        [
            (start + i * step, start + (i + 1) * step, " " + w, 0.5 if NAME in w else 0.95)
            for i, w in enumerate(words)
        ],
    )


#: What the recogniser "hears" in every recording: a name and a phone number, each word
#: timed (a word list spells out what redaction masks).
SPOKEN = [
    _timed(0.0, 3.0, f"Me llamo Rosa {NAME} y mi celular es {PHONE}."),
    _timed(3.0, 6.0, "El río está contaminado por la mina y los animales se mueren."),
    _timed(6.5, 9.0, "Perdimos nuestras tierras cuando llegó la empresa."),
]
#: The name an archivist gives each recording's voice: personal data like the text's.
SPEAKER_NAME = f"Rosa {NAME}"


@dataclass
class Subject:
    key: str  # e.g. "typed-public"
    kind: str  # "text" | "audio"
    consent: str
    allow_names: bool = False
    # filled in when the world is built
    id: str = ""
    job_id: str = ""
    audio: bytes = b""
    passage_ids: list[int] = field(default_factory=list)
    themes: set[str] = field(default_factory=set)

    @property
    def marker(self) -> str:
        """A word found only in this testimony (title, region, text)."""
        return "qq" + self.key.replace("-", "") + "qq"

    @property
    def region(self) -> str:
        return "Region " + self.marker

    def visible(self, role: str) -> bool:
        return self.consent in ALLOWED[role]

    def names_shown(self, role: str) -> bool:
        return role in ORIGINALS or self.allow_names

    def audible(self, role: str) -> bool:
        """A recording cannot be redacted: it is served only to those who may hear names."""
        return self.kind == "audio" and self.visible(role) and self.names_shown(role)


SUBJECTS = [
    Subject("typed-public", "text", "public"),
    Subject("typed-restricted", "text", "restricted"),
    Subject("typed-private", "text", "private"),
    Subject("audio-public", "audio", "public"),
    Subject("audio-restricted", "audio", "restricted"),
    Subject("audio-private", "audio", "private"),
    Subject("typed-public-named", "text", "public", allow_names=True),
    Subject("typed-restricted-named", "text", "restricted", allow_names=True),
    Subject("audio-public-named", "audio", "public", allow_names=True),
    Subject("audio-restricted-named", "audio", "restricted", allow_names=True),
]
BY_KEY = {s.key: s for s in SUBJECTS}


def _wav(samples: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _recordings() -> list[tuple[str, bytes]]:
    """Distinct recordings (the archive refuses the same bytes twice)."""
    rio, land = decode_audio(DATA / "es_rio.ogg"), decode_audio(DATA / "en_land.ogg")
    return [
        ("rio.ogg", (DATA / "es_rio.ogg").read_bytes()),
        ("tierra.ogg", (DATA / "en_land.ogg").read_bytes()),
        ("rio.wav", _wav(rio)),
        ("tierra.wav", _wav(land)),
        ("rio-suave.wav", _wav(rio * 0.5)),
    ]


class World:
    """The module's archive, served, with a key per role and cached answers."""

    def __init__(self, client: TestClient, archive: Archive, keys: dict[str, dict[str, str]]):
        self.client = client
        self.archive = archive
        self.keys = keys
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, role: str, url: str, **params: Any) -> Any:
        """GET as ``role`` (answers are cached: the world does not change once built)."""
        key = (role, url + "?" + json.dumps(params, sort_keys=True))
        if key not in self._cache:
            self._cache[key] = self.client.get(url, params=params, headers=self.keys[role])
        return self._cache[key]


def _wait_for(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in 60 s")


@pytest.fixture(scope="module")
def world(tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp("matrix") / "home"
    archive = Archive(
        home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper(SPOKEN),
        redact=pattern_redact,
    )
    keys: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES[1:]:
        _, key = archive.store.keys.create(role, f"matrix {role}", LOCAL)
        keys[role] = {"Authorization": f"Bearer {key}"}
    settings = get_settings(home=home, cache_dir=home.parent / "cache", api_token="")
    recordings = iter(_recordings())
    with TestClient(create_app(settings, archive=archive)) as client:
        admin = keys["admin"]
        for s in SUBJECTS:
            form = {
                "consent": s.consent,
                "title": f"Testimonio de Rosa {NAME} {s.marker}",
                "region": s.region,
                "community": "Comunidad",
                "date": "2023-05-01",
                "language": "es",
                "allow_names": str(s.allow_names).lower(),
            }
            if s.kind == "audio":
                name, s.audio = next(recordings)
            else:
                name = f"{s.key}.txt"
                s.audio = (
                    f"Me llamo Rosa {NAME} y mi teléfono es {PHONE}. {s.marker} "
                    f"es mi palabra. El río está contaminado por la mina, dice {s.marker}."
                ).encode()
            r = client.post(
                "/api/v1/testimonies", files={"file": (name, s.audio)}, data=form, headers=admin
            )
            assert r.status_code == 202, r.text
            s.job_id = r.json()["uploads"][0]["job"]["id"]
            job = _wait_for(client, s.job_id, admin)
            assert job["state"] == "done", job
            [result] = job["results"]
            assert result["status"] == "added", result
            s.id = result["id"]
            if s.kind == "text":
                s.audio = b""
            passages = archive.passages(s.id, LOCAL)
            s.passage_ids = [p.id for p in passages]
            review = {
                "theme": "displacement",
                "verdict": "add",
                "reviewer": REVIEWER,
                "note": f"{NOTE} {s.key}",
            }
            r = client.post(
                f"/api/v1/passages/{s.passage_ids[0]}/reviews", json=review, headers=admin
            )
            assert r.status_code == 201, r.text
            if s.kind == "audio":  # one voice (no encoder here): S1, named by an archivist
                r = client.put(
                    f"/api/v1/testimonies/{s.id}/speakers/S1",
                    json={"name": SPEAKER_NAME},
                    headers=admin,
                )
                assert r.status_code == 200, r.text
            # ground truth of themes, read directly as the operator (no role filtering)
            s.themes = {t.theme for p in archive.passages(s.id, LOCAL) for t in p.tags}
            assert "displacement" in s.themes and s.themes
        assert len({s.id for s in SUBJECTS}) == len(SUBJECTS)
        yield World(client, archive, keys)
    archive.close()


def _visible(role: str) -> list[Subject]:
    return [s for s in SUBJECTS if s.visible(role)]


def _assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body


GHOST = "t-0000000000000000"  # an id that was never stored


def _assert_hidden(w: World, role: str, s: Subject, url: str, **params: Any) -> None:
    """``url`` (with ``{id}``) answers for ``s`` exactly what it answers for an id that
    does not exist: 404, one error shape, nothing that tells the testimony exists."""
    r = w.get(role, url.format(id=s.id), **params)
    ghost = w.get(role, url.format(id=GHOST), **params)
    _assert_error(r, 404, "not_found")
    assert r.text.replace(s.id, GHOST) == ghost.text
    _assert_no_trace(role, s, r.text.replace(s.id, ""), url)


def _assert_no_trace(role: str, s: Subject, text: str, where: str) -> None:
    """Nothing of ``s`` in an answer to ``role``, if ``role`` may not see it; and reviewer
    names and notes only for archivists."""
    if not s.visible(role):
        for needle in (s.id, s.marker, s.region):
            assert needle not in text, f"{role} sees {needle!r} of {s.key} in {where}"
    if role not in ORIGINALS:
        assert REVIEWER not in text and NOTE not in text, f"{role} sees a reviewer in {where}"
        assert "Ximena" not in text


def _assert_text(role: str, s: Subject, text: str, redacted: bool | None, where: str) -> None:
    """Names and phones shown exactly when the role may see them for this testimony."""
    if s.names_shown(role):
        if redacted is not None:
            assert redacted is False, f"{where}: {role} gets a redacted copy of {s.key}"
    else:
        assert NAME not in text and PHONE not in text, f"{where}: {role} reads names of {s.key}"
        if redacted is not None:
            assert redacted is True, where


# -- the HTTP matrix ------------------------------------------------------------------------


def check_list(w: World, role: str, s: Subject) -> None:
    r = w.get(role, "/api/v1/testimonies", limit=500)
    assert r.status_code == 200, r.text
    body = r.json()
    ids = {t["id"] for t in body["items"]}
    assert ids == {v.id for v in _visible(role)}
    assert body["total"] == len(_visible(role))
    assert (s.id in ids) == s.visible(role)
    _assert_no_trace(role, s, r.text, "list")
    for t in body["items"]:
        if t["id"] == s.id:
            assert t["consent"] == s.consent
            if not s.names_shown(role):
                assert NAME not in t["title"]
    one = w.get(role, "/api/v1/testimonies", region=s.region)
    assert one.json()["total"] == int(s.visible(role))
    assert [t["id"] for t in one.json()["items"]] == ([s.id] if s.visible(role) else [])
    themed = w.get(role, "/api/v1/testimonies", theme="displacement", limit=500).json()
    assert (s.id in {t["id"] for t in themed["items"]}) == s.visible(role)
    assert themed["total"] == len(_visible(role))


def check_detail(w: World, role: str, s: Subject) -> None:
    r = w.get(role, f"/api/v1/testimonies/{s.id}")
    if not s.visible(role):
        _assert_hidden(w, role, s, "/api/v1/testimonies/{id}")
        return
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["id"] == s.id and d["consent"] == s.consent and d["region"] == s.region
    assert [p["id"] for p in d["passages"]] == s.passage_ids
    assert {t["theme"] for t in d["themes"]} <= s.themes
    assert (d["audio_url"] is not None) == s.audible(role)
    whole = " ".join(p["text"] for p in d["passages"])
    if s.names_shown(role):
        assert NAME in whole and PHONE in whole and NAME in d["title"]
    _assert_text(role, s, whole + d["title"], None, "detail")
    for p in d["passages"]:
        _assert_text(role, s, p["text"], p["redacted"], "detail passage")
    if s.kind == "text":
        assert s.marker in whole  # the redacted copy keeps the rest of the text
    _assert_no_trace(role, s, r.text, "detail")
    _assert_voices(role, s, d["speakers"], d["passages"], "detail")
    _assert_text(role, s, r.text, None, "detail (whole answer)")
    words = [w for p in d["passages"] for w in p["words"]]
    if s.kind == "audio" and s.names_shown(role):
        assert " ".join(w["text"] for w in words) == " ".join(x[2] for x in SPOKEN)
        assert d["doubtful_words"] == sum(w["doubtful"] for w in words) == 1
    else:  # typed text has none; a redacted reader gets none (they spell out the name)
        assert words == [] and d["doubtful_words"] == 0


def _assert_voices(
    role: str, s: Subject, speakers: list[dict[str, Any]], passages: list[Any], where: str
) -> None:
    """A recording's one voice, named for those who may see names, masked for others;
    typed testimonies have none."""
    if s.kind == "text":
        assert speakers == [] and all(p["speaker"] == "" for p in passages), where
        return
    name = SPEAKER_NAME if s.names_shown(role) else "[nombre]"
    assert speakers == [{"label": "S1", "name": name}], where
    for p in passages:
        assert p["speaker"] == "S1" and p.get("speaker_name", name) == name, where


def check_speakers(w: World, role: str, s: Subject) -> None:
    """The voices route, the writes on voices (archivists only: others are refused
    before anything is looked up), and the speaker filter of search, which answers to a
    voice's name only where the role may see names."""
    r = w.get(role, f"/api/v1/testimonies/{s.id}/speakers")
    if not s.visible(role):
        _assert_hidden(w, role, s, "/api/v1/testimonies/{id}/speakers")
    else:
        assert r.status_code == 200, r.text
        _assert_voices(role, s, r.json(), [], "speakers")
        _assert_text(role, s, r.text, None, "speakers")
    headers = w.keys[role]
    rename = w.client.put(
        f"/api/v1/testimonies/{s.id}/speakers/S1", json={"name": SPEAKER_NAME}, headers=headers
    )
    # a recording's passage keeps its voice; a typed one is left as it is (the world is
    # shared), its refusal for other roles tried all the same
    turn = None
    if s.kind == "audio" or role not in ORIGINALS:
        turn = w.client.put(
            f"/api/v1/passages/{s.passage_ids[0]}/speaker", json={"speaker": "S1"}, headers=headers
        )
    if role in ORIGINALS:  # the same name and voice again: the world does not change
        if s.kind == "audio":
            assert rename.status_code == 200 and rename.json()["name"] == SPEAKER_NAME
            assert turn is not None and turn.status_code == 200, turn
            assert turn.json()["speaker"] == "S1" and turn.json()["speaker_name"] == SPEAKER_NAME
        else:
            _assert_error(rename, 404, "not_found")  # a typed testimony has no voices
    else:
        assert turn is not None
        status, code = (401, "unauthorized") if role == "anonymous" else (403, "forbidden")
        _assert_error(rename, status, code)
        _assert_error(turn, status, code)
        _assert_no_trace(role, s, rename.text + turn.text, "speaker writes")
    by_name = w.get(role, "/api/v1/search", q=QUERY, k=200, speaker=SPEAKER_NAME, group="false")
    assert by_name.status_code == 200, by_name.text
    found = {h["testimony_id"] for h in by_name.json()["hits"]}
    named = s.kind == "audio" and s.visible(role) and s.names_shown(role)
    assert (s.id in found) == named, "a hidden name must not select a testimony"
    by_label = w.get(role, "/api/v1/search", q=QUERY, k=200, speaker="S1")
    found = {h["testimony_id"] for h in by_label.json()["hits"]}
    assert (s.id in found) == (s.kind == "audio" and s.visible(role))


def check_search(w: World, role: str, s: Subject) -> None:
    grouped = w.get(role, "/api/v1/search", q=QUERY, k=200)
    assert grouped.status_code == 200, grouped.text
    stories = grouped.json()["hits"]
    assert [h["testimony_id"] for h in stories] != [] or not _visible(role)
    assert sorted(h["testimony_id"] for h in stories) == sorted(v.id for v in _visible(role))
    _assert_no_trace(role, s, grouped.text, "grouped search")
    for h in stories:
        if h["testimony_id"] == s.id:
            around = h["context_before"] + h["text"] + h["context_after"]
            _assert_text(role, s, around + h["title"], None, "grouped hit")
    r = w.get(role, "/api/v1/search", q=QUERY, k=200, group="false")
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert {h["testimony_id"] for h in hits} == {v.id for v in _visible(role)}
    allowed_passages = {pid for v in _visible(role) for pid in v.passage_ids}
    assert {h["passage_id"] for h in hits} == allowed_passages
    _assert_no_trace(role, s, r.text, "search")
    for h in hits:
        if h["testimony_id"] == s.id:
            _assert_text(role, s, h["text"] + h["title"], None, "search hit")
            assert (h["audio_url"] is not None) == s.audible(role), "search hit audio_url"
    only = w.get(role, "/api/v1/search", q=QUERY, k=200, region=s.region).json()["hits"]
    assert {h["testimony_id"] for h in only} == ({s.id} if s.visible(role) else set())
    themed = w.get(role, "/api/v1/search", q=QUERY, k=200, theme="displacement").json()
    assert (s.id in {h["testimony_id"] for h in themed["hits"]}) == s.visible(role)


def check_similar(w: World, role: str, s: Subject) -> None:
    r = w.get(role, f"/api/v1/testimonies/{s.id}/similar", k=100)
    if not s.visible(role):
        _assert_hidden(w, role, s, "/api/v1/testimonies/{id}/similar", k=100)
    else:
        assert r.status_code == 200, r.text
        found = {x["testimony_id"] for x in r.json()["similar"]}
        assert found == {v.id for v in _visible(role)} - {s.id}
    # and the subject appears in others' similar lists exactly when it is visible
    for other in _visible(role):
        if other is s:
            continue
        answer = w.get(role, f"/api/v1/testimonies/{other.id}/similar", k=100)
        assert answer.status_code == 200, answer.text
        similar = {x["testimony_id"]: x for x in answer.json()["similar"]}
        assert (s.id in similar) == s.visible(role), f"similar to {other.key}"
        _assert_no_trace(role, s, answer.text, f"similar to {other.key}")
        if s.id in similar:
            x = similar[s.id]
            _assert_text(role, s, x["title"] + x["passage"]["text"], None, "similar")
            assert (x["passage"]["audio_url"] is not None) == s.audible(role)


def check_passages(w: World, role: str, s: Subject) -> None:
    for pid in s.passage_ids:
        r = w.get(role, f"/api/v1/passages/{pid}")
        if not s.visible(role):
            _assert_error(r, 404, "not_found")
        else:
            assert r.status_code == 200, r.text
            p = r.json()
            assert p["testimony_id"] == s.id
            _assert_text(role, s, p["text"], p["redacted"], "passage")
            _assert_text(role, s, r.text, None, "passage (whole answer)")
            assert bool(p["words"]) == (s.kind == "audio" and s.names_shown(role))
        _assert_no_trace(role, s, r.text, f"passage {pid}")


def check_reviews(w: World, role: str, s: Subject) -> None:
    r = w.get(role, f"/api/v1/passages/{s.passage_ids[0]}")
    if not s.visible(role):
        ghost = w.get(role, "/api/v1/passages/999999")
        _assert_error(r, 404, "not_found")
        assert r.text.replace(str(s.passage_ids[0]), "999999") == ghost.text
        _assert_no_trace(role, s, r.text, "reviews")
        return
    assert r.status_code == 200, r.text
    [review] = r.json()["reviews"]
    assert review["theme"] == "displacement" and review["verdict"] == "add"
    human = next(t for t in r.json()["tags"] if t["source"] == "human")
    if role in ORIGINALS:
        assert review["reviewer"] == REVIEWER and review["note"] == f"{NOTE} {s.key}"
        assert any(REVIEWER in e for e in human["evidence"])
    else:
        assert review["reviewer"] == "" and review["note"] == ""
        assert human["evidence"] == ["reviewed"]
    _assert_no_trace(role, s, r.text, "reviews")
    detail = w.get(role, f"/api/v1/testimonies/{s.id}")
    _assert_no_trace(role, s, detail.text, "detail tags")


def check_audio(w: World, role: str, s: Subject) -> None:
    r = w.get(role, f"/api/v1/testimonies/{s.id}/audio")
    if s.audible(role):
        assert r.status_code == 200 and r.content == s.audio
        ranged = w.client.get(
            f"/api/v1/testimonies/{s.id}/audio", headers={**w.keys[role], "Range": "bytes=0-9"}
        )
        assert ranged.status_code == 206 and ranged.content == s.audio[:10]
    elif s.visible(role):  # no recording, or one this role may not hear
        _assert_error(r, 404, "not_found")
        ranged = w.client.get(
            f"/api/v1/testimonies/{s.id}/audio", headers={**w.keys[role], "Range": "bytes=0-9"}
        )
        _assert_error(ranged, 404, "not_found")
    else:
        _assert_hidden(w, role, s, "/api/v1/testimonies/{id}/audio")


def _expected_counts(role: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in _visible(role):
        for theme in v.themes:
            out[theme] = out.get(theme, 0) + 1
    return out


def check_themes(w: World, role: str, s: Subject) -> None:
    r = w.get(role, "/api/v1/themes", by="region")
    assert r.status_code == 200, r.text
    rows = [c for c in r.json()["counts"] if c["group"] == s.region]
    if s.visible(role):
        assert {c["theme"] for c in rows} == s.themes
        assert all(c["testimonies"] == 1 for c in rows)
    else:
        assert rows == []
    assert {c["group"] for c in r.json()["counts"]} == {v.region for v in _visible(role)}
    _assert_no_trace(role, s, r.text, "themes by region")
    total = w.get(role, "/api/v1/themes", by="")
    assert total.status_code == 200, total.text
    counts = {c["theme"]: c["testimonies"] for c in total.json()["counts"]}
    assert counts == _expected_counts(role)
    passages = {c["theme"]: c["passages"] for c in total.json()["counts"]}
    assert passages["displacement"] == len(_visible(role))  # one reviewed passage each
    # the shares are taken over the passages the role may see, never over the archive
    seen = sum(len(v.passage_ids) for v in _visible(role))
    assert {c["passages_in_group"] for c in total.json()["counts"]} == {seen}
    for c in rows:
        assert c["passages_in_group"] == len(s.passage_ids)
    # quotes: only from what the role may read, names masked where it may not see them
    quoted = w.get(role, "/api/v1/themes", by="region", quotes=20)
    assert quoted.status_code == 200, quoted.text
    _assert_no_trace(role, s, quoted.text, "themes with quotes")
    mine = [q for c in quoted.json()["counts"] for q in c["quotes"] if q["testimony_id"] == s.id]
    assert bool(mine) == s.visible(role)
    for q in mine:
        _assert_text(role, s, q["text"], None, "theme quote")
        assert set(q) >= {"passage_id", "start", "end"} and q["passage_id"] in s.passage_ids


def check_health(w: World, role: str, s: Subject) -> None:
    r = w.get(role, "/api/v1/health")
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["role"] == role
    assert h["testimonies"] == len(_visible(role))
    assert h["passages"] == sum(len(v.passage_ids) for v in _visible(role))


def check_jobs(w: World, role: str, s: Subject) -> None:
    one = w.get(role, f"/api/v1/jobs/{s.job_id}")
    every = w.get(role, "/api/v1/jobs", limit=1000)
    if role == "anonymous":
        _assert_error(one, 401, "unauthorized")
        _assert_error(every, 401, "unauthorized")
    elif role == "researcher":
        _assert_error(one, 403, "forbidden")
        _assert_error(every, 403, "forbidden")
    else:
        assert one.status_code == 200 and one.json()["id"] == s.job_id
        assert one.json()["results"][0]["id"] == s.id
        assert s.job_id in {j["id"] for j in every.json()["jobs"]}
        return
    for r in (one, every):
        _assert_no_trace(role, s, r.text, "jobs")
        assert s.job_id not in r.text


HTTP_PATHS = {
    "list": check_list,
    "detail": check_detail,
    "search": check_search,
    "similar": check_similar,
    "passages": check_passages,
    "reviews": check_reviews,
    "audio": check_audio,
    "themes": check_themes,
    "health": check_health,
    "jobs": check_jobs,
    "speakers": check_speakers,
}


@pytest.mark.parametrize("path", list(HTTP_PATHS))
@pytest.mark.parametrize("subject", list(BY_KEY))
@pytest.mark.parametrize("role", ROLES)
def test_http(world, role, subject, path):
    HTTP_PATHS[path](world, role, BY_KEY[subject])


# -- the CLI with --as ROLE -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(world):
    """``voces ...`` in-process on the world's archive; answers cached by arguments."""
    cache: dict[tuple[str, ...], Any] = {}
    home = world.archive.home

    def run(*args: str):
        if args not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("VOCES_HOME", str(home))
                mp.setenv("VOCES_CACHE_DIR", str(home.parent / "cache"))
                fake_cli(mp, FakeWhisper(SPOKEN), HashEmbedder())
                result = CliRunner().invoke(cli_module.cli, list(args), catch_exceptions=True)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"voces {' '.join(args)} crashed: {result.exception!r}"
            )
            assert "Traceback" not in result.output
            cache[args] = result
        return cache[args]

    return run


def _assert_cli_not_found(result, s: Subject) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "no testimony" in lines[0]


def cli_search(run, role: str, s: Subject) -> None:
    r = run("search", QUERY, "--k", "200", "--json", "--as", role)
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)["hits"]
    assert {h["testimony_id"] for h in hits} == {v.id for v in _visible(role)}
    _assert_no_trace(role, s, r.output, "cli search")
    for h in hits:
        if h["testimony_id"] == s.id:
            around = h["context_before"] + h["text"] + h["context_after"]
            _assert_text(role, s, around + h["title"], None, "cli search")
    only = run("search", QUERY, "--region", s.region, "--json", "--as", role)
    assert {h["testimony_id"] for h in json.loads(only.output)["hits"]} == (
        {s.id} if s.visible(role) else set()
    )


def cli_show(run, role: str, s: Subject) -> None:
    r = run("show", s.id, "--json", "--as", role)
    if not s.visible(role):
        _assert_cli_not_found(r, s)
        _assert_no_trace(role, s, r.output.replace(s.id, ""), "cli show")
        return
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["testimony"]["id"] == s.id
    assert [p["id"] for p in out["passages"]] == s.passage_ids
    for p in out["passages"]:
        _assert_text(role, s, p["text"], p["redacted"], "cli show")
    _assert_text(role, s, out["testimony"]["title"], None, "cli show title")
    assert bool(out["testimony"]["media_path"]) == s.audible(role)
    if role not in ORIGINALS:
        assert out["testimony"]["source_hash"] == "" and out["testimony"]["source_name"] == ""
    _assert_no_trace(role, s, r.output, "cli show")
    plain = run("show", s.id, "--as", role)
    assert plain.exit_code == 0
    _assert_no_trace(role, s, plain.output, "cli show (text)")
    if not s.names_shown(role):
        assert NAME not in plain.output and PHONE not in plain.output


def cli_similar(run, role: str, s: Subject) -> None:
    r = run("similar", s.id, "--k", "100", "--json", "--as", role)
    if not s.visible(role):
        _assert_cli_not_found(r, s)
        return
    assert r.exit_code == 0, r.output
    found = {x["testimony_id"] for x in json.loads(r.output)["similar"]}
    assert found == {v.id for v in _visible(role)} - {s.id}


def cli_speakers(run, role: str, s: Subject) -> None:
    r = run("speakers", "list", s.id, "--json", "--as", role)
    if not s.visible(role):
        _assert_cli_not_found(r, s)
        _assert_no_trace(role, s, r.output.replace(s.id, ""), "cli speakers")
        return
    assert r.exit_code == 0, r.output
    voices = json.loads(r.output)["speakers"]
    _assert_voices(role, s, [{"label": v["label"], "name": v["name"]} for v in voices], [], "cli")
    _assert_text(role, s, r.output, None, "cli speakers")
    shown = run("show", s.id, "--json", "--as", role)
    _assert_text(role, s, shown.output, None, "cli show with voices and words")
    found = {
        h["testimony_id"]
        for h in json.loads(
            run(
                "search", QUERY, "--k", "200", "--speaker", SPEAKER_NAME, "--json", "--as", role
            ).output
        )["hits"]
    }
    assert (s.id in found) == (s.kind == "audio" and s.visible(role) and s.names_shown(role))


def cli_themes(run, role: str, s: Subject) -> None:
    r = run("themes", "--by", "region", "--json", "--as", role)
    assert r.exit_code == 0, r.output
    rows = [c for c in json.loads(r.output)["counts"] if c["region"] == s.region]
    assert {c["theme"] for c in rows} == (s.themes if s.visible(role) else set())
    assert all(c["testimonies"] == 1 for c in rows)
    _assert_no_trace(role, s, r.output, "cli themes")
    total = run("themes", "--json", "--as", role)
    counts = {c["theme"]: c["testimonies"] for c in json.loads(total.output)["counts"]}
    assert counts == _expected_counts(role)


CLI_PATHS = {
    "cli-search": cli_search,
    "cli-show": cli_show,
    "cli-similar": cli_similar,
    "cli-themes": cli_themes,
    "cli-speakers": cli_speakers,
}


@pytest.mark.parametrize("path", list(CLI_PATHS))
@pytest.mark.parametrize("subject", list(BY_KEY))
@pytest.mark.parametrize("role", ROLES)
def test_cli(cli, role, subject, path):
    CLI_PATHS[path](cli, role, BY_KEY[subject])


def test_the_world_holds_every_combination(world):
    """The matrix is only as good as its fixtures: each consent level has a typed
    testimony and a recording, names and phones are really masked in the stored copy."""
    kinds = {(s.kind, s.consent) for s in SUBJECTS}
    for consent in ("public", "restricted", "private"):
        assert {("text", consent), ("audio", consent)} <= kinds
    stored, _ = world.archive.store.list_testimonies(LOCAL, limit=500)
    assert {t.id for t in stored} == {s.id for s in SUBJECTS}
    for s in SUBJECTS:
        originals = " ".join(p.text for p in world.archive.passages(s.id, LOCAL))
        assert NAME in originals and PHONE in originals
