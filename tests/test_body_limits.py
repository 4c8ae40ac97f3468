"""Request bodies are limited before authentication, on the bytes actually received.

A real uvicorn server in a thread, and httpx sending bodies from a generator that counts
what it has handed over: "the server stopped reading early" is that count staying far
below the body's size (the rest never left the client; what was sent past the limit is
what the sockets' buffers held). Each refusal is checked for its status and JSON error
shape, and for leaving nothing behind: no file in the folder Starlette spools form files
to (``tempfile.tempdir``, pointed at a folder of this module's), no file descriptor of
this process open on one there (a spooled file is unlinked while open), and nothing new
under ``VOCES_HOME/uploads``.

Limits of this server: ``VOCES_MAX_UPLOAD_BYTES`` of 8 MiB, so one upload's request may
carry 9 MiB (the file and its form); the old limit was 8 x that + 1 MiB, for every
caller, declared lengths only.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import get_settings
from pipeline import Archive

from .conftest import DATA, LOCAL, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

MAX_UPLOAD = 8 * 1024**2
BODY = 64 * 1024**2  # what each refused request would send
STOPPED_EARLY = 32 * 1024**2  # consumed below this: the server did not read on
BOUNDARY = "voces-test-boundary"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp("body-limits") / "home"
    spool = tmp_path_factory.mktemp("spool")
    archive = Archive(
        home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper([(0.0, 2.0, "El agua del río.")]),
        redact=pattern_redact,
    )
    keys = {
        role: {"Authorization": f"Bearer {archive.store.keys.create(role, role, LOCAL)[1]}"}
        for role in ("researcher", "archivist")
    }
    settings = get_settings(
        home=home, cache_dir=home.parent / "cache", worker=False, max_upload_bytes=MAX_UPLOAD
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, archive=archive), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(spool))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the test server stopped while starting"
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "keys": keys,
            "spool": spool,
            "uploads": home / "uploads",
        }
        server.should_exit = True
        thread.join(timeout=30)
    archive.close()


# -- bodies that count how much of them was consumed ---------------------------------------------


class Counted:
    """A multipart upload of ``size`` zero bytes, as an iterator that counts what it gave."""

    def __init__(self, size: int) -> None:
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="consent"\r\n\r\npublic\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.ogg"'
            "\r\nContent-Type: audio/ogg\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.consumed = 0

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        block = bytes(64 * 1024)
        left = self.size
        for part in (self.head, None, self.tail):
            while part is None and left > 0:
                chunk = block[: min(left, len(block))]
                left -= len(chunk)
                self.consumed += len(chunk)
                yield chunk
            if part is not None:
                self.consumed += len(part)
                yield part


def _post(server, path: str, body: Counted, headers: dict[str, str], chunked: bool):
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers}
    if not chunked:
        headers["Content-Length"] = str(len(body))  # httpx then sends no Transfer-Encoding
    with httpx.Client(timeout=60) as client:
        return client.post(server["url"] + path, content=iter(body), headers=headers)


# -- what a refusal must leave behind: nothing ---------------------------------------------------


def _left(server) -> set[str]:
    """Files in the spool folder and under uploads/, and descriptors open on the spool."""
    found = {str(p) for p in server["spool"].rglob("*")}
    if server["uploads"].exists():
        found |= {str(p) for p in server["uploads"].rglob("*")}
    fds = Path("/proc/self/fd")
    for fd in fds.iterdir() if fds.is_dir() else ():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while listed
            continue
        if target.startswith(str(server["spool"])):
            found.add(f"open: {target}")
    return found


def _assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body


# -- the tests -----------------------------------------------------------------------------------

CALLERS = {
    "anonymous": ({}, 401, "unauthorized"),
    "invalid key": ({"Authorization": "Bearer voces_0123456789ab_not-a-real-secret"}, 401,
                    "unauthorized"),
    "not a bearer key": ({"Authorization": "Basic dm9jZXM6dm9jZXM="}, 401, "unauthorized"),
    "researcher": ("researcher", 403, "forbidden"),  # a valid key that may not upload
    "archivist over the limit": ("archivist", 413, "too_large"),
}  # fmt: skip


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
@pytest.mark.parametrize("caller", list(CALLERS))
def test_an_upload_over_the_callers_limit_is_refused_without_reading_it(server, caller, chunked):
    headers, status, code = CALLERS[caller]
    if isinstance(headers, str):
        headers = server["keys"][headers]
    before = _left(server)
    body = Counted(BODY)
    response = _post(server, "/api/v1/testimonies", body, headers, chunked)
    _assert_refused(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    # the server stopped reading where the limit was crossed (or, with a declared length
    # over it, before reading at all): what was consumed is what the sockets buffered
    assert body.consumed < STOPPED_EARLY, f"{body.consumed} of {len(body)} bytes read"
    assert _left(server) == before


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_bulk_upload_is_cut_at_its_own_limit(server, chunked):
    """A bulk upload may carry several files: 8 x VOCES_MAX_UPLOAD_BYTES and the form
    (65 MiB here). An archivist's 128 MiB is cut there, not read to its end."""
    before = _left(server)
    body = Counted(2 * BODY)
    response = _post(server, "/api/v1/testimonies/bulk", body, server["keys"]["archivist"], chunked)
    _assert_refused(response, 413, "too_large")
    assert body.consumed < BODY + STOPPED_EARLY, f"{body.consumed} of {len(body)} bytes read"
    assert _left(server) == before


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_json_body_is_capped_small_even_with_a_key(server, chunked):
    body = json.dumps({"consent": "public", "padding": "x" * 2 * 1024**2}).encode()
    headers = {**server["keys"]["archivist"], "Content-Type": "application/json"}
    with httpx.Client(timeout=60) as client:
        content = iter([body]) if chunked else body
        r = client.patch(
            server["url"] + "/api/v1/testimonies/some-id", content=content, headers=headers
        )
    _assert_refused(r, 413, "too_large")


def test_an_upload_within_the_limit_is_accepted_chunked(server):
    """The counting does not get in the way: a real recording, sent chunked, is staged
    and queued."""
    audio = (DATA / "es_rio.ogg").read_bytes()
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="consent"\r\n\r\npublic\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="rio.ogg"'
        "\r\nContent-Type: audio/ogg\r\n\r\n".encode(),
        audio,
        f"\r\n--{BOUNDARY}--\r\n".encode(),
    ]
    headers = {
        **server["keys"]["archivist"],
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    with httpx.Client(timeout=60) as client:
        r = client.post(server["url"] + "/api/v1/testimonies", content=iter(parts), headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["uploads"][0]["accepted"] is True


def test_a_small_anonymous_body_reaches_its_route(server):
    """Under the anonymous limit, the route answers for itself (here: it needs a key)."""
    body = Counted(1000)
    r = _post(server, "/api/v1/testimonies", body, {}, chunked=True)
    _assert_refused(r, 401, "unauthorized")
    assert "archivist" in r.json()["error"]["message"]
    assert body.consumed == len(body)
