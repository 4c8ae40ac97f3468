"""Bad input, through the HTTP upload route and through ``voces ingest`` (both waiting and
``--no-wait``): each kind gets a clear refusal, and NOTHING is stored.

A refusal is, over HTTP, a 4xx in the one error shape ``{"error": {"code", "message"}}``;
on the command line, one ``Error:`` line, exit status 1 (or 2 for a bad option) and no
traceback. "Nothing stored" is checked by comparing, before and after: the testimonies and
passages counted by the operator, the media folder, the jobs table, the staged uploads
under ``VOCES_HOME/uploads``, the audit log, and the folder the inputs live in.

Channels: ``http`` (POST /api/v1/testimonies), ``cli`` (``voces ingest``, stores at once),
``queue`` (``voces ingest --no-wait``, checks and stages like an upload).

Decisions recorded here:

- a symlink is refused (a careful archive does not follow a link in a folder of files
  brought on a stick to whatever it points at);
- an upload's file name is reduced to a safe base name: ``../../x.txt`` is stored as
  ``x.txt`` inside the job's staging folder (accepted, never a path outside VOCES_HOME);
- the upload size limit (``max_upload_bytes``) is about uploads: it applies to the HTTP
  route and to ``--no-wait`` staging, not to the operator's own ``voces ingest``;
- directories, symlinks and named pipes exist only on the command line; a named pipe
  must be refused without being opened (each CLI run has a timeout);
- on the ``queue`` channel the staged-file check lives in its own test.
"""

from __future__ import annotations

import io
import json
import os
import random
import threading
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api import cli as cli_module
from api.app import create_app
from api.settings import get_settings
from corpus import Viewer
from pipeline import Archive, Metadata

from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

SPOKEN = [(0.0, 3.0, "El río está contaminado por la mina.")]
DUPLICATE = {"id": "dup-1", "text": "Texto original del testimonio duplicado, del río."}
SMALL_LIMIT = 4000  # bytes: es_rio.ogg (21 kB) is over it


# -- inputs -----------------------------------------------------------------------------------


def _wav(frames: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(np.zeros(frames, dtype="<i2").tobytes())
    return out.getvalue()


def _tone(hz: float, seconds: float = 1.0) -> bytes:
    """A WAV of a sine tone: a valid recording (distinct bytes per frequency)."""
    t = np.arange(int(16_000 * seconds)) / 16_000
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes((np.sin(2 * np.pi * hz * t) * 8000).astype("<i2").tobytes())
    return out.getvalue()


def _pyav_ogg(samples: int) -> bytes:
    """An Ogg/Opus file written by PyAV holding ``samples`` samples (0: no audio packets)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        if samples:
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, samples), dtype=np.float32), format="flt", layout="mono"
            )
            frame.sample_rate = 48_000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _jsonl(*rows: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()


def _row(n: int, **over: Any) -> dict[str, Any]:
    return {"id": f"row-{n}", "text": f"Testimonio número {n}: el agua del río.", **over}


def _deep(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # the input's file name (and the upload's)
    data: bytes | Callable[[], bytes] = b""
    http: tuple[int, str] | None = (400, "bad_input")  # expected status and code
    form: Mapping[str, str] = field(default_factory=dict)  # upload form fields (over consent)
    cli: tuple[str, ...] = ()  # extra `voces ingest` options
    cli_status: int = 1
    channels: tuple[str, ...] = ("http", "cli", "queue")
    make: Callable[[Path, Path], Path] | None = None  # builds a special input in a folder
    small_limit: bool = False
    xfail: Mapping[str, str] = field(default_factory=dict)  # channel -> reason

    def bytes(self) -> bytes:
        return self.data() if callable(self.data) else self.data


def _directory(folder: Path, outside: Path) -> Path:
    target = folder / "a-folder.txt"
    target.mkdir()
    (target / "inside.txt").write_text("El río está contaminado en la carpeta.")
    return target


def _symlink(folder: Path, outside: Path) -> Path:
    secret = outside / "secret.txt"
    secret.write_text("Texto fuera de la carpeta de entrada, del río y la mina.")
    link = folder / "link.txt"
    link.symlink_to(secret)
    return link


def _fifo(folder: Path, outside: Path) -> Path:
    pipe = folder / "pipe.txt"
    os.mkfifo(pipe)
    return pipe


CASES = [
    Case("empty-text", "empty.txt", b""),
    Case("empty-recording", "empty.ogg", b""),
    Case("whitespace-only-text", "blank.txt", b"  \n\t\n "),
    Case(
        "truncated-recording",
        "half.ogg",
        lambda: (DATA / "es_rio.ogg").read_bytes()[: (DATA / "es_rio.ogg").stat().st_size // 2],
    ),
    Case(
        "text-renamed-mp3",
        "voz.mp3",
        "Hola, esto es un texto y no una grabación.".encode(),
        http=(415, "unsupported_type"),
    ),
    Case("zero-samples-wav", "silence.wav", _wav(0)),
    Case("no-packets-ogg", "nothing.ogg", lambda: _pyav_ogg(0)),
    Case(
        "ten-ms-wav",
        "click.wav",
        _wav(160),
    ),
    Case(
        "over-size-limit",
        "rio.ogg",
        lambda: (DATA / "es_rio.ogg").read_bytes(),
        http=(413, "too_large"),
        channels=("http", "queue"),
        small_limit=True,
    ),
    Case(
        "body-over-request-limit",
        "big.txt",
        b"a" * (SMALL_LIMIT * 8 + 1024**2 + 10),
        http=(413, "too_large"),
        channels=("http",),
        small_limit=True,
    ),
    Case(
        "random-binary",
        "noise.bin",
        random.Random(1).randbytes(4096),
        http=(415, "unsupported_type"),
    ),
    Case(
        "random-binary-named-ogg",
        "noise.ogg",
        random.Random(2).randbytes(4096),
        http=(415, "unsupported_type"),
    ),
    Case(
        "nul-bytes-in-text",
        "nul.txt",
        b"Hola\x00mundo del r\xc3\xado",
        http=(415, "unsupported_type"),
    ),
    Case(
        "invalid-utf8",
        "latin1.txt",
        "Había una vez el río".encode("latin-1"),
        http=(415, "unsupported_type"),
    ),
    Case("dotdot-id", "ids.jsonl", _jsonl(_row(1, id="../x"))),
    Case("absolute-path-id", "ids2.jsonl", _jsonl(_row(2, id="/etc/passwd"))),
    Case(
        "csv-unterminated-quote",
        "broken.csv",
        b'id,text,consent\ncsv-1,"El r\xc3\xado sin cerrar comillas,public\ncsv-2,otro,public\n',
    ),
    Case("csv-without-text-column", "cols.csv", b"id,title\ncsv-3,Sin texto\n"),
    Case("one-bad-row-among-good", "mixed.jsonl", _jsonl(_row(3), _row(4, text=""), _row(5))),
    Case("jsonl-line-not-json", "half.jsonl", _jsonl(_row(6), '{"id": "row-7", "text": ')),
    Case("jsonl-line-not-object", "array.jsonl", _jsonl(_row(8), "[1, 2, 3]")),
    Case(
        "unknown-consent-field",
        "ok1.txt",
        "El río de la consulta.".encode(),
        http=(422, "invalid_request"),
        form={"consent": "everyone"},
        cli=("--consent", "everyone"),
        cli_status=2,
    ),
    Case("unknown-consent-row", "consent.jsonl", _jsonl(_row(9, consent="todos"))),
    Case(
        "impossible-date-field",
        "ok2.txt",
        "El río en febrero.".encode(),
        http=(422, "invalid_request"),
        form={"date": "2024-02-31"},
        cli=("--date", "2024-02-31"),
    ),
    Case("impossible-date-row", "date.jsonl", _jsonl(_row(10, date="2024-02-31"))),
    Case(
        "megabyte-title-field",
        "ok3.txt",
        "El río con un título enorme.".encode(),
        http=(422, "invalid_request"),
        form={"title": "t" * 1_000_000},
        cli=("--title", "t" * 1_000_000),
    ),
    Case(
        "megabyte-title-field-recording",
        "rio.ogg",
        lambda: (DATA / "es_rio.ogg").read_bytes(),
        http=(422, "invalid_request"),
        form={"title": "t" * 1_000_000},
        cli=("--title", "t" * 1_000_000),
    ),
    Case("megabyte-title-row", "title.jsonl", _jsonl(_row(11, title="t" * 1_000_000))),
    Case(
        "long-language-field",
        "ok4.txt",
        "El río en otra lengua.".encode(),
        http=(422, "invalid_request"),
        form={"language": "x" * 1000},
        cli=("--language", "x" * 1000),
        cli_status=2,
    ),
    Case("long-language-row", "lang.jsonl", _jsonl(_row(12, language="x" * 1000))),
    Case(
        "lone-surrogate-text-row", "sur1.jsonl", b'{"id": "s-1", "text": "Hola \\ud800 r\\u00edo"}'
    ),
    Case(
        "lone-surrogate-title-row",
        "sur2.jsonl",
        b'{"id": "s-2", "title": "T\\udfff", "text": "Hola del r\\u00edo"}',
    ),
    Case(
        "lone-surrogate-title-field-recording",
        "tono.wav",
        _tone(440.0),
        http=None,  # an HTTP form cannot carry a lone surrogate (see test_form_bytes_*)
        cli=("--title", "T\udcff"),
        channels=("cli", "queue"),
    ),
    Case(
        "control-characters-title-field-recording",
        "tono2.wav",
        _tone(523.0),
        http=(422, "invalid_request"),
        form={"title": "T\x1b[2J\x07"},
        cli=("--title", "T\x1b[2J\x07"),
    ),
    Case("deeply-nested-json-line", "deep.jsonl", _deep().encode()),
    Case("deeply-nested-json-value", "deep2.jsonl", ('{"text": ' + _deep() + "}").encode()),
    Case("list-where-text-belongs", "list.jsonl", _jsonl({"id": "l-1", "text": ["El", "río"]})),
    Case("object-where-title-belongs", "obj.jsonl", _jsonl(_row(13, title={"a": 1}))),
    Case(
        "too-many-extra-fields",
        "extra.jsonl",
        _jsonl(_row(14, **{f"x{n}": "v" for n in range(60)})),
    ),
    Case(
        "duplicate-id-other-content",
        "dup.jsonl",
        _jsonl({"id": DUPLICATE["id"], "text": "Otro texto, distinto del guardado."}),
        http=(409, "conflict"),
    ),
    Case(
        "same-recording-other-consent",
        "tierra.ogg",
        lambda: (DATA / "en_land.ogg").read_bytes(),
        http=(409, "conflict"),
        form={"consent": "public"},  # it is stored as private
    ),
    Case("directory", "a-folder.txt", make=_directory, channels=("cli", "queue")),
    Case(
        "symlink-to-outside",
        "link.txt",
        make=_symlink,
        channels=("cli", "queue"),
    ),
    Case("named-pipe", "pipe.txt", make=_fifo, channels=("cli", "queue")),
]


def _params() -> list[Any]:
    out = []
    for case in CASES:
        for channel in case.channels:
            marks = []
            if channel in case.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=case.xfail[channel]))
            out.append(pytest.param(case, channel, id=f"{case.id}-{channel}", marks=marks))
    return out


# -- the archive, and what "nothing stored" means ------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("bad-input") / "home"


@pytest.fixture(scope="module")
def shared(home, rule_tagger):
    """One archive for the module, holding the testimonies that conflicts are about, and
    served with no worker: an accepted upload stays queued, so it shows as a job."""
    archive = Archive(
        home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: FakeWhisper(SPOKEN),
        redact=pattern_redact,
    )
    seed = home.parent / "seed.jsonl"
    seed.write_bytes(_jsonl(DUPLICATE))
    archive.ingest_paths([seed], Metadata(consent="public"), LOCAL)
    archive.ingest_paths([DATA / "en_land.ogg"], Metadata(consent="private"), LOCAL)
    _, key = archive.store.keys.create("admin", "bad input", LOCAL)
    headers = {"Authorization": f"Bearer {key}"}
    clients = {}
    for small in (False, True):
        settings = get_settings(
            home=home,
            cache_dir=home.parent / "cache",
            worker=False,
            max_upload_bytes=SMALL_LIMIT if small else 2 * 1024**3,
        )
        clients[small] = TestClient(create_app(settings, archive=archive))
        clients[small].__enter__()
    yield archive, clients, headers
    for client in clients.values():
        client.__exit__(None, None, None)
    archive.close()


def _tree(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def snapshot(archive: Archive, inputs: Path) -> dict[str, Any]:
    """What is stored, read as Voces itself (reads the operator would make are audited)."""
    store, system = archive.store, Viewer.system()
    return {
        "counts": store.counts(system),
        "testimonies": sorted(t.id for t in store.list_testimonies(system, limit=1000)[0]),
        "media": _tree(archive.home / "media"),
        "uploads": _tree(archive.home / "uploads"),
        "jobs": sorted((j.id, j.state) for j in store.jobs.list(system, limit=1000)),
        "audit": [(e.action, e.target) for e in store.audit_entries(system, limit=100_000)],
        "inputs": _tree(inputs),
    }


def assert_http_refused(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text[:500]
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert message and len(message) <= 500, message[:600]
    assert "Traceback" not in message


def assert_cli_refused(result, status: int = 1) -> None:
    output = result.output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed: {result.exception!r}"
    )
    assert result.exit_code == status, output[-1000:]
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output[-1000:]
    if status == 1:
        assert [line for line in output.splitlines() if line.strip()] == errors


def invoke(args: list[str], timeout: float = 60.0, unblock: Path | None = None):
    """Run ``voces`` in-process in a thread: a command that hangs fails the test."""
    box: dict[str, Any] = {}

    def target() -> None:
        box["result"] = CliRunner().invoke(cli_module.cli, args, catch_exceptions=True)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        if unblock is not None:  # let a reader blocked on a named pipe go
            fd = os.open(unblock, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
            thread.join(10)
        raise AssertionError(f"voces {' '.join(args)[:200]} hung for {timeout:.0f} s")
    return box["result"]


@pytest.fixture
def cli_env(shared, home, monkeypatch):
    monkeypatch.setenv("VOCES_HOME", str(home))
    monkeypatch.setenv("VOCES_CACHE_DIR", str(home.parent / "cache"))
    fake_cli(monkeypatch, FakeWhisper(SPOKEN), HashEmbedder())
    return monkeypatch


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case, channel", _params())
def test_bad_upload_is_refused_and_nothing_is_stored(case, channel, shared, cli_env, tmp_path):
    archive, clients, headers = shared
    inputs, outside = tmp_path / "inputs", tmp_path / "outside"
    inputs.mkdir()
    outside.mkdir()
    if case.make is not None:
        path = case.make(inputs, outside)
    else:
        path = inputs / case.name
        path.write_bytes(case.bytes())
    before = snapshot(archive, inputs)
    if channel == "http":
        assert case.http is not None
        form = {"consent": "restricted", **case.form}
        r = clients[case.small_limit].post(
            "/api/v1/testimonies",
            files={"file": (case.name, path.read_bytes())},
            data=form,
            headers=headers,
        )
        assert_http_refused(r, *case.http)
    else:
        if case.small_limit:
            cli_env.setenv("VOCES_MAX_UPLOAD_BYTES", str(SMALL_LIMIT))
        wait = ["--no-wait"] if channel == "queue" else []
        args = ["ingest", *wait, str(path), "--consent", "restricted", *case.cli]
        result = invoke(args, unblock=path if case.make is _fifo else None)
        assert_cli_refused(result, case.cli_status)
    after = snapshot(archive, inputs)
    if channel == "queue":  # staged leftovers: test_queue_refusal_leaves_no_staged_file
        before.pop("uploads"), after.pop("uploads")
    assert after == before


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id)
        for c in CASES
        if c.id in ("empty-text", "random-binary", "dotdot-id")
    ],
)
def test_queue_refusal_leaves_no_staged_file(case, shared, cli_env, tmp_path):
    archive, _, _ = shared
    path = tmp_path / case.name
    path.write_bytes(case.bytes())
    before = _tree(archive.home / "uploads")
    assert_cli_refused(invoke(["ingest", "--no-wait", str(path), "--consent", "restricted"]))
    assert _tree(archive.home / "uploads") == before


def test_upload_name_cannot_escape_the_staging_folder(shared, tmp_path):
    """``../`` in an upload's file name: accepted under its safe base name, staged inside
    VOCES_HOME/uploads/<job>/, and nothing is written anywhere else."""
    archive, clients, headers = shared
    outside_before = _tree(archive.home.parent)
    r = clients[False].post(
        "/api/v1/testimonies",
        files={"file": ("../../../escape.txt", "El río que quiso salir.".encode())},
        data={"consent": "restricted"},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    job = r.json()["uploads"][0]["job"]
    assert job["source_name"] == "escape.txt"
    stored = archive.store.jobs.get(job["id"], LOCAL)
    assert stored.upload_path == f"uploads/{job['id']}/escape.txt"
    created = set(_tree(archive.home.parent)) - set(outside_before)
    assert all(p.startswith("home/uploads/") or p.startswith("home/queue") for p in created), (
        created
    )
    assert not (archive.home.parent.parent / "escape.txt").exists()


def test_form_bytes_that_are_not_utf8_are_refused(shared):
    """A form field carrying invalid UTF-8 (a lone surrogate as CESU bytes, or Latin-1) in
    the title: 4xx and nothing stored."""
    archive, clients, headers = shared
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="consent"\r\n\r\nrestricted\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="title"\r\n\r\nT\xed\xa0\x80\xff\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="t.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nEl r\xc3\xado con un t\xc3\xadtulo roto.\r\n--XX--\r\n"
    )
    before = snapshot(archive, archive.home / "none")
    r = clients[False].post(
        "/api/v1/testimonies",
        content=body,
        headers={**headers, "Content-Type": "multipart/form-data; boundary=XX"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"error"}
    assert snapshot(archive, archive.home / "none") == before


HUGE = str(2**63)

HTTP_PARAMS = [
    ("passage-2^63", "GET", f"/api/v1/passages/{HUGE}", 422, "invalid_request"),
    ("passage-2^64", "GET", f"/api/v1/passages/{2**64}", 422, "invalid_request"),
    ("passage-negative", "GET", f"/api/v1/passages/-{HUGE}", 422, "invalid_request"),
    ("review-passage-2^63", "POST", f"/api/v1/passages/{HUGE}/reviews", 422, "invalid_request"),
    ("list-offset-2^63", "GET", f"/api/v1/testimonies?offset={HUGE}", 422, "invalid_request"),
    ("list-limit-2^63", "GET", f"/api/v1/testimonies?limit={HUGE}", 422, "invalid_request"),
    ("search-k-2^63", "GET", f"/api/v1/search?q=agua&k={HUGE}", 422, "invalid_request"),
    (
        "similar-k-2^63",
        "GET",
        f"/api/v1/testimonies/dup-1/similar?k={HUGE}",
        422,
        "invalid_request",
    ),
    ("jobs-limit-2^63", "GET", f"/api/v1/jobs?limit={HUGE}", 422, "invalid_request"),
    ("audit-limit-2^63", "GET", f"/api/v1/audit?limit={HUGE}", 422, "invalid_request"),
    ("search-since-huge", "GET", f"/api/v1/search?q=agua&since={HUGE}", 422, "invalid_request"),
    ("testimony-id-huge", "GET", f"/api/v1/testimonies/{HUGE}{HUGE}", 404, "not_found"),
    ("testimony-id-dotdot", "GET", "/api/v1/testimonies/..%2F..%2Fvoces.sqlite3", 404, "not_found"),
    ("audio-id-dotdot", "GET", "/api/v1/testimonies/..%2Fvoces.sqlite3/audio", 404, "not_found"),
    ("delete-id-dotdot", "DELETE", "/api/v1/testimonies/..%2F..%2Fvoces.sqlite3", 404, "not_found"),
    ("patch-id-dotdot", "PATCH", "/api/v1/testimonies/..%2Fdup-1", 404, "not_found"),
    ("job-id-dotdot", "GET", "/api/v1/jobs/..%2F..%2Fvoces.sqlite3", 404, "not_found"),
    ("testimony-id-too-long", "GET", "/api/v1/testimonies/" + "x" * 5000, 422, "invalid_request"),
]


@pytest.mark.parametrize(
    "method, url, status, code", [pytest.param(*p[1:], id=p[0]) for p in HTTP_PARAMS]
)
def test_bad_query_and_path_params(shared, method, url, status, code):
    archive, clients, headers = shared
    before = snapshot(archive, archive.home / "none")
    body = {"theme": "water", "verdict": "add"} if method == "POST" else None
    if method == "PATCH":
        body = {"consent": "private"}
    r = clients[False].request(method, url, headers=headers, json=body)
    assert_http_refused(r, status, code)
    assert snapshot(archive, archive.home / "none") == before
    assert archive.store.path is None or archive.store.path.is_file()  # not traversed to


CLI_PARAMS = [
    pytest.param(["search", "agua", "--k", HUGE], 2, id="search-k-2^63"),
    pytest.param(["similar", "dup-1", "--k", HUGE], 2, id="similar-k-2^63"),
    pytest.param(["audit", "--limit", HUGE], 2, id="audit-limit-2^63"),
    pytest.param(["review", "accept", HUGE, "water"], 2, id="review-passage-2^63"),
    pytest.param(["review", "add", "--", f"-{HUGE}0", "water"], 2, id="review-passage-minus-2^63"),
    pytest.param(["review", "reject", "0", "water"], 2, id="review-passage-0"),
    pytest.param(["show", "../../voces.sqlite3"], 1, id="show-id-dotdot"),
    pytest.param(["consent", "../dup-1", "private"], 1, id="consent-id-dotdot"),
    pytest.param(["delete", "../../voces.sqlite3", "--yes"], 1, id="delete-id-dotdot"),
    pytest.param(["similar", f"{HUGE}{HUGE}"], 1, id="similar-id-huge"),
]


@pytest.mark.parametrize("args, status", CLI_PARAMS)
def test_bad_cli_ids_and_numbers(shared, cli_env, args, status):
    archive, _, _ = shared
    before = snapshot(archive, archive.home / "none")
    assert_cli_refused(invoke(args), status)
    assert snapshot(archive, archive.home / "none") == before
    assert archive.store.path is None or archive.store.path.is_file()  # not traversed to
