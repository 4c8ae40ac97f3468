"""The HTTP API with fake models: routes, roles, uploads and jobs, the one error shape,
OpenAPI."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from pipeline import Metadata

from .conftest import DATA, LOCAL

TOKEN = "s3cret-token"


@pytest.fixture
def client(archive):
    archive.ingest_paths([DATA / "testimonies.jsonl"], Metadata(), LOCAL)
    archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(region="Puno", consent="public", language="es", allow_names=True),
        LOCAL,
    )
    archive.ingest_paths([DATA / "en_land.ogg"], Metadata(region="Cusco", consent="private"), LOCAL)
    settings = get_settings(api_token=TOKEN)
    with TestClient(create_app(settings, archive=archive)) as c:
        yield c


@pytest.fixture
def keys(archive):
    """A bearer header per role."""
    out = {"anonymous": {}}
    for role in ("researcher", "archivist", "admin"):
        _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
        out[role] = {"Authorization": f"Bearer {key}"}
    return out


AUTH = {"Authorization": f"Bearer {TOKEN}"}  # the legacy token: an admin


def _assert_error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def _public(archive, **where):
    return next(
        t
        for t in archive.store.list_testimonies(LOCAL, limit=100)[0]
        if all(getattr(t, k) == v for k, v in where.items())
    )


def test_health_counts_what_the_caller_may_see(client, archive, keys):
    anon = client.get("/api/v1/health").json()
    admin = client.get("/api/v1/health", headers=keys["admin"]).json()
    researcher = client.get("/api/v1/health", headers=keys["researcher"]).json()
    assert anon["status"] == "ok" and anon["role"] == "anonymous"
    assert anon["testimonies"] < researcher["testimonies"] < admin["testimonies"] == 6
    _assert_error(
        client.get("/api/v1/health", headers={"Authorization": "Bearer wrong"}),
        401,
        "unauthorized",
    )


def test_openapi_says_keys_are_optional_and_lists_errors(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/search",
        "/api/v1/testimonies",
        "/api/v1/testimonies/{testimony_id}",
        "/api/v1/testimonies/{testimony_id}/similar",
        "/api/v1/themes",
        "/api/v1/health",
        "/api/v1/jobs/{job_id}",
        "/api/v1/keys",
        "/api/v1/audit",
    ):
        assert path in spec["paths"]
    search = spec["paths"]["/api/v1/search"]["get"]
    assert {} in search["security"]  # anonymous is allowed
    assert {"400", "401", "404", "422"} <= set(search["responses"])
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert client.get("/").status_code == 200 and "Voces" in client.get("/").text


def test_docs_are_served_without_a_cdn(client):
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "https://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = next(part for part in page.split('"') if part.endswith(asset))
        assert client.get(url).status_code == 200


def test_search_returns_times_and_audio_links(client):
    r = client.get("/api/v1/search", params={"q": "the river is polluted", "k": 5})
    assert r.status_code == 200
    hits = r.json()["hits"]
    audio_hits = [h for h in hits if h["audio_url"]]
    assert audio_hits and audio_hits[0]["audio_url"].endswith(f"#t={audio_hits[0]['start']:.2f}")
    audio = client.get(audio_hits[0]["audio_url"].split("#")[0])
    assert audio.status_code == 200 and audio.content == (DATA / "es_rio.ogg").read_bytes()
    ranged = client.get(audio_hits[0]["audio_url"].split("#")[0], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100


def test_consent_levels(client, archive, keys):
    AUTH = keys["researcher"]
    restricted = [t for t in archive.store.list_testimonies(LOCAL)[0] if t.consent == "restricted"]
    private = [t for t in archive.store.list_testimonies(LOCAL)[0] if t.consent == "private"]
    assert restricted and private, "fixtures must hold restricted and private testimonies"
    anon = client.get("/api/v1/testimonies", params={"limit": 100}).json()
    assert {t["consent"] for t in anon["items"]} == {"public"}
    with_token = client.get("/api/v1/testimonies", params={"limit": 100}, headers=AUTH).json()
    assert {t["consent"] for t in with_token["items"]} == {"public", "restricted"}
    _assert_error(client.get(f"/api/v1/testimonies/{restricted[0].id}"), 404, "not_found")
    assert client.get(f"/api/v1/testimonies/{restricted[0].id}", headers=AUTH).status_code == 200
    _assert_error(
        client.get(f"/api/v1/testimonies/{private[0].id}", headers=AUTH), 404, "not_found"
    )
    for q in ("agua", "land", "river"):
        hits = client.get("/api/v1/search", params={"q": q, "k": 200}).json()["hits"]
        assert all(h["testimony_id"] not in {restricted[0].id, private[0].id} for h in hits)
    _assert_error(
        client.get("/api/v1/testimonies", headers={"Authorization": "Bearer wrong"}),
        401,
        "unauthorized",
    )


def test_testimony_detail(client, archive):
    tid = next(t.id for t in archive.store.list_testimonies(LOCAL)[0] if t.source_kind == "audio")
    d = client.get(f"/api/v1/testimonies/{tid}").json()
    assert d["language"] == "es" and d["duration"] > 0 and d["audio_url"]
    assert d["passages"][0]["start"] == 0.0
    pollution = next(t for t in d["themes"] if t["theme"] == "pollution")
    passage_ids = {p["id"] for p in d["passages"]}
    assert pollution["passages"] and set(pollution["passages"]) <= passage_ids
    assert pollution["score"] >= 0.5 and pollution["reviewed"] is False
    tag = d["passages"][0]["tags"][0]
    assert set(tag) == {"theme", "score", "source", "evidence"} and tag["evidence"]
    assert d["passages"][0]["redacted"] is False  # allow_names: the original text


def test_similar_and_themes(client, archive):
    tid = next(t.id for t in archive.store.list_testimonies(LOCAL)[0] if t.consent == "public")
    s = client.get(f"/api/v1/testimonies/{tid}/similar", params={"other_regions": True}).json()
    region = archive.testimony(tid, LOCAL).region
    assert all(x["region"] != region for x in s["similar"])
    t = client.get("/api/v1/themes", params={"by": "region"}).json()
    assert t["version"] and len(t["themes"]) == 8 and t["counts"]
    assert {c["group"] for c in t["counts"]} <= {
        x.region for x in archive.store.list_testimonies(LOCAL)[0]
    }
    # counts come with corrected shares, over the passages the caller may see
    for c in t["counts"]:
        assert c["passages"] <= c["passages_in_group"] and c["basis"]
        if c["estimated_share"] is not None:
            assert c["interval90"][0] <= c["estimated_share"] <= c["interval90"][1]
    anon = client.get("/api/v1/themes", params={"by": "region", "quotes": 3}).json()
    shown = {q["testimony_id"] for c in anon["counts"] for q in c["quotes"]}
    assert shown and all(archive.testimony(x, LOCAL).consent == "public" for x in shown)
    csv_text = client.get("/api/v1/themes.csv", params={"by": "region"})
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.splitlines()
    assert lines[0].split(",")[:3] == ["theme", "group", "testimonies"]
    assert len(lines) == len(anon["counts"]) + 1  # the same rows the caller sees as JSON
    public = sum({c["group"]: c["passages_in_group"] for c in t["counts"]}.values())
    assert public <= archive.store.counts(LOCAL)["passages"]


@pytest.mark.parametrize(
    "url, status, code",
    [
        ("/api/v1/search?q=", 422, "invalid_request"),
        ("/api/v1/search", 422, "invalid_request"),
        ("/api/v1/search?q=agua&k=0", 422, "invalid_request"),
        ("/api/v1/search?q=agua&theme=mining", 400, "bad_input"),
        ("/api/v1/search?q=agua&since=ayer", 400, "bad_input"),
        ("/api/v1/testimonies/nope", 404, "not_found"),
        ("/api/v1/testimonies/nope/similar", 404, "not_found"),
        ("/api/v1/testimonies/nope/audio", 404, "not_found"),
        ("/api/v1/themes?by=colour", 422, "invalid_request"),
        ("/api/v1/nothing-here", 404, "not_found"),
        ("/api/v1/passages/9223372036854775808", 422, "invalid_request"),
        ("/api/v1/testimonies?offset=9223372036854775808", 422, "invalid_request"),
        ("/api/v1/jobs", 401, "unauthorized"),
        ("/api/v1/keys", 401, "unauthorized"),
        ("/api/v1/audit", 401, "unauthorized"),
    ],
)
def test_one_error_shape(client, url, status, code):
    _assert_error(client.get(url), status, code)


def test_text_testimony_has_no_audio(client, archive):
    tid = next(
        t.id
        for t in archive.store.list_testimonies(LOCAL)[0]
        if t.source_kind == "text" and t.consent == "public"
    )
    _assert_error(client.get(f"/api/v1/testimonies/{tid}/audio"), 404, "not_found")


def test_reviews_over_http_need_an_archivist_and_win(client, archive, keys):
    AUTH = keys["archivist"]
    tid = next(
        t.id
        for t in archive.store.list_testimonies(LOCAL)[0]
        if t.source_kind == "audio" and t.consent == "public"
    )
    passage = client.get(f"/api/v1/testimonies/{tid}").json()["passages"][0]
    assert "pollution" in {t["theme"] for t in passage["tags"]}
    body = {
        "theme": "pollution",
        "verdict": "reject",
        "reviewer": "rosa",
        "note": "no contaminant named",
    }
    _assert_error(
        client.post(f"/api/v1/passages/{passage['id']}/reviews", json=body), 401, "unauthorized"
    )
    _assert_error(
        client.post(
            f"/api/v1/passages/{passage['id']}/reviews", json=body, headers=keys["researcher"]
        ),
        403,
        "forbidden",
    )
    r = client.post(f"/api/v1/passages/{passage['id']}/reviews", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    assert "pollution" not in {t["theme"] for t in r.json()["tags"]}
    assert r.json()["reviews"][0]["reviewer"] == "rosa"
    add = {"theme": "displacement", "verdict": "add", "reviewer": "rosa"}
    r = client.post(f"/api/v1/passages/{passage['id']}/reviews", json=add, headers=AUTH).json()
    human = next(t for t in r["tags"] if t["theme"] == "displacement")
    assert human["source"] == "human" and human["score"] == 1.0 and "rosa" in human["evidence"][0]
    detail = client.get(f"/api/v1/testimonies/{tid}").json()
    assert any(t["theme"] == "displacement" and t["reviewed"] for t in detail["themes"])
    public_passage = client.get(f"/api/v1/passages/{passage['id']}").json()
    assert all(r["reviewer"] == "" and r["note"] == "" for r in public_passage["reviews"])
    assert "rosa" not in str(public_passage)
    bad = {"theme": "mining", "verdict": "add", "reviewer": "rosa"}
    _assert_error(
        client.post(f"/api/v1/passages/{passage['id']}/reviews", json=bad, headers=AUTH),
        400,
        "bad_input",
    )
    odd = {"theme": "water", "verdict": "maybe", "reviewer": "rosa"}
    _assert_error(
        client.post(f"/api/v1/passages/{passage['id']}/reviews", json=odd, headers=AUTH),
        422,
        "invalid_request",
    )
    _assert_error(
        client.post("/api/v1/passages/999999/reviews", json=add, headers=AUTH), 404, "not_found"
    )


def test_private_passages_are_for_archivists(client, archive, keys):
    private = next(t for t in archive.store.list_testimonies(LOCAL)[0] if t.consent == "private")
    pid = archive.passages(private.id, LOCAL)[0].id
    _assert_error(
        client.get(f"/api/v1/passages/{pid}", headers=keys["researcher"]), 404, "not_found"
    )
    assert client.get(f"/api/v1/passages/{pid}", headers=keys["archivist"]).status_code == 200


def test_a_recording_without_leave_to_name_is_for_archivists(client, archive, keys):
    """A recording cannot be redacted: without allow_names only archivists hear it."""
    private = next(t for t in archive.store.list_testimonies(LOCAL)[0] if t.consent == "private")
    archive.set_consent(private.id, "public", LOCAL)  # the fixture's en_land.ogg
    url = f"/api/v1/testimonies/{private.id}/audio"
    _assert_error(client.get(url), 404, "not_found")
    _assert_error(client.get(url, headers=keys["researcher"]), 404, "not_found")
    assert client.get(url, headers=keys["archivist"]).status_code == 200
    detail = client.get(f"/api/v1/testimonies/{private.id}").json()
    assert detail["audio_url"] is None
