"""HTTP Range requests on a recording: every header, well formed or not, gets an answer
RFC 9110 allows, in the API's shape, and the same one wherever the recording is kept.

Decided per case (see api/media_stream.py): a header in another unit, one that does not
parse, or several ranges are ignored (200, the whole recording); one range inside the
recording gets 206; one that selects nothing of it (past the end, a zero-byte suffix, an
end before its start) gets 416 with ``Content-Range: bytes */size`` and a JSON error.
Never the text/plain 400 Starlette's FileResponse gives a header it cannot parse.

Both ways a recording is sent are checked: from a folder (FileResponse) and streamed
through the API as one in an S3 bucket is (the folder store with no local path: the S3
client itself is tested in test_media.py).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from corpus.media import FolderMedia
from pipeline import Archive, Metadata

from .conftest import DATA, LOCAL, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

AUDIO = (DATA / "es_rio.ogg").read_bytes()
SIZE = len(AUDIO)


class StreamedMedia(FolderMedia):
    """A folder that says it has no local path: recordings are streamed through the API,
    range and all, exactly as from a bucket."""

    def local_path(self, name: str) -> None:
        return None


@pytest.fixture(scope="module", params=["folder", "streamed"])
def audio(request, tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp(f"range-{request.param}") / "home"
    archive = Archive(
        home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper([(0.0, 3.0, "El río está contaminado por la mina.")]),
        redact=pattern_redact,
    )
    [result] = archive.ingest_paths(
        [DATA / "es_rio.ogg"], Metadata(consent="public", allow_names=True), LOCAL
    )
    if request.param == "streamed":
        archive.media = StreamedMedia(archive.media.root)
    with TestClient(create_app(get_settings(home=home, worker=False), archive=archive)) as c:
        yield c, f"/api/v1/testimonies/{result.id}/audio"
    archive.close()


@pytest.mark.parametrize(
    "header",
    [
        "items=0-5",  # another unit: MUST be ignored
        "bytes=abc",  # does not parse
        "bytes=",
        "bytes=-",
        "bytes=1-2-3",
        "bytes=0-1,5-6",  # several ranges: the whole recording, as RFC 9110 allows
    ],
)
def test_a_header_that_is_not_one_byte_range_is_ignored(audio, header):
    client, url = audio
    r = client.get(url, headers={"Range": header})
    assert r.status_code == 200, r.text[:200]
    assert r.content == AUDIO
    assert "content-range" not in r.headers
    assert r.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=5-1",  # ends before it starts: asks for nothing
        "bytes=-0",  # a suffix of no bytes (RFC 9110 section 14.1.2)
        f"bytes={SIZE}-",  # starts at the end
        f"bytes={SIZE + 100}-{SIZE + 200}",
    ],
)
def test_a_range_that_selects_nothing_is_416_with_the_size(audio, header):
    client, url = audio
    r = client.get(url, headers={"Range": header})
    assert r.status_code == 416, r.text[:200]
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == "range_not_satisfiable", body
    assert body["error"]["message"]


@pytest.mark.parametrize(
    "header, first, last",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-64", SIZE - 64, SIZE - 1),
        ("bytes=10-999999999", 10, SIZE - 1),  # an end past the recording: to its end
        ("bytes = 0-9", 0, 9),  # spaces a client may add
    ],
)
def test_one_range_inside_the_recording_is_206(audio, header, first, last):
    client, url = audio
    r = client.get(url, headers={"Range": header})
    assert r.status_code == 206, r.text[:200]
    assert r.content == AUDIO[first : last + 1]
    assert r.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
