"""Signed links to recordings (for a browser's <audio>, which cannot send a key): one
testimony, one key, until expiry, revocation or a consent change."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from pipeline import Metadata

from .conftest import DATA, LOCAL


@pytest.fixture
def client(archive):
    for name, consent in (("es_rio.ogg", "restricted"), ("en_land.ogg", "restricted")):
        meta = Metadata(region="Puno", consent=consent, allow_names=True)
        archive.ingest_paths([DATA / name], meta, LOCAL)
    with TestClient(create_app(get_settings(), archive=archive)) as c:
        yield c


def _key(archive, role):
    record, key = archive.store.keys.create(role, f"test {role}", LOCAL)
    return record, {"Authorization": f"Bearer {key}"}


def _ids(archive):
    return sorted(t.id for t in archive.store.list_testimonies(LOCAL)[0])


def test_a_link_plays_one_recording_for_its_key_only(client, archive):
    first, second = _ids(archive)
    record, researcher = _key(archive, "researcher")
    # without a key or a link, a restricted recording does not exist
    assert client.get(f"/api/v1/testimonies/{first}/audio").status_code == 404
    assert client.get(f"/api/v1/testimonies/{first}/audio-link").status_code == 404
    r = client.get(f"/api/v1/testimonies/{first}/audio-link", headers=researcher)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    played = client.get(url, headers={"Range": "bytes=0-99"})
    assert played.status_code == 206 and len(played.content) == 100
    # the same token does not open another testimony, nor survive tampering
    token = url.split("link=")[1]
    assert client.get(f"/api/v1/testimonies/{second}/audio?link={token}").status_code == 401
    subject, expires, signature = token.split(".")
    forged = f"{subject}.{int(expires) + 10**6}.{signature}"
    assert client.get(f"/api/v1/testimonies/{first}/audio?link={forged}").status_code == 401
    assert client.get(f"/api/v1/testimonies/{first}/audio?link=x.1.y").status_code == 401
    # a consent change that hides the recording from the key ends the link's use
    archive.set_consent(first, "private", LOCAL)
    assert client.get(url).status_code == 404
    archive.set_consent(first, "restricted", LOCAL)
    assert client.get(url).status_code == 200
    # revoking the key ends it too
    archive.store.keys.revoke(record.id, LOCAL)
    assert client.get(url).status_code == 401


def test_links_expire(client, archive):
    first, _ = _ids(archive)
    _, archivist = _key(archive, "archivist")
    links = client.app.state.media_links
    record = archive.store.keys.viewer(archivist["Authorization"].split()[1])
    token, _ = links.issue(first, record, now=0)
    r = client.get(f"/api/v1/testimonies/{first}/audio?link={token}")
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    fresh, _ = links.issue(first, record)
    assert client.get(f"/api/v1/testimonies/{first}/audio?link={fresh}").status_code == 200
