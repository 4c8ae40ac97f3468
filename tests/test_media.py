"""Recordings and staged uploads in a folder or an S3-compatible bucket.

The bucket is a real S3 HTTP API on loopback (moto's server, from PyPI), reached through
boto3 exactly as AWS S3, MinIO or Ceph would be. The same contract is checked on both
stores; then an archive whose media are in the bucket takes an upload through the queue,
serves the recording with HTTP ranges to the viewers who may hear it, checks, repairs,
backs up and deletes, with nothing left on the local disk.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.media_stream import byte_range
from api.settings import get_settings
from corpus import CorpusError
from corpus.media import FolderMedia, S3Media, open_media
from pipeline.maintenance import backup, check, migrate

from .conftest import DATA, LOCAL
from .test_uploads import _wait

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.moto_server.threaded_moto_server")


@pytest.fixture(scope="module")
def s3_endpoint():
    import os

    keys = {
        "AWS_ACCESS_KEY_ID": "voces",
        "AWS_SECRET_ACCESS_KEY": "voces-test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def bucket(s3_endpoint):
    """A new, empty bucket and a client for it."""
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    name = f"voces-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name, client


def _objects(client, bucket_name: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket_name).get("Contents", []))


@pytest.fixture(params=["folder", "s3"])
def media(request, tmp_path):
    if request.param == "folder":
        return FolderMedia(tmp_path / "shared")
    name, client = request.getfixturevalue("bucket")
    return S3Media(name, "archive-a", client=client)


def test_both_stores_keep_the_same_contract(media, tmp_path):
    source = DATA / "es_rio.ogg"
    data = source.read_bytes()
    assert not media.exists("media/t1.ogg") and media.names("media/") == []
    media.put("media/t1.ogg", source)
    media.put("uploads/job-1/entrevista.ogg", source)
    assert media.exists("media/t1.ogg") and media.size("media/t1.ogg") == len(data)
    assert b"".join(media.read("media/t1.ogg")) == data
    assert b"".join(media.read("media/t1.ogg", 10, 109)) == data[10:110]
    assert b"".join(media.read("media/t1.ogg", len(data) - 5)) == data[-5:]
    assert media.names("media/") == ["media/t1.ogg"]
    assert media.names("uploads/") == ["uploads/job-1/entrevista.ogg"]
    with media.local_copy("uploads/job-1/entrevista.ogg") as path:
        assert path.read_bytes() == data
    media.fetch("media/t1.ogg", tmp_path / "copy.ogg")
    assert (tmp_path / "copy.ogg").read_bytes() == data
    media.delete_under("uploads/job-1/")
    assert media.names("uploads/") == [] and media.exists("media/t1.ogg")
    media.delete("media/t1.ogg")
    media.delete("media/t1.ogg")  # deleting what is gone is not an error
    assert not media.exists("media/t1.ogg")
    with pytest.raises(CorpusError, match="missing"):
        media.size("media/t1.ogg")
    for bad in ("../etc/passwd", "/media/x.ogg", "media/../../x", "index/vectors.npy", ""):
        with pytest.raises(CorpusError, match="not a media name"):
            media.put(bad, source)


def test_the_bucket_is_named_by_a_url(s3_endpoint, tmp_path):
    store = open_media("s3://voces-archive/cusco/", tmp_path, s3_endpoint)
    assert isinstance(store, S3Media) and store.location == "s3://voces-archive/cusco/"
    assert isinstance(open_media("", tmp_path), FolderMedia)
    with pytest.raises(CorpusError, match="unknown media store"):
        open_media("ftp://host/x", tmp_path)
    with pytest.raises(CorpusError, match="needs a bucket"):
        open_media("s3://", tmp_path)


@pytest.mark.parametrize(
    "header, span",
    [
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file, as RFC 9110 allows
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header, span):
    assert byte_range(header, 1000) == span


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2"])
def test_a_range_outside_the_file_cannot_be_satisfied(header):
    with pytest.raises(ValueError):
        byte_range(header, 1000)


@pytest.fixture
def s3_archive(archive, bucket):
    """The test archive with its recordings and uploads in a new bucket."""
    name, client = bucket
    archive.media = S3Media(name, "peru", client=client)
    return archive, name, client


def _local_files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for sub in ("media", "uploads")
        if (folder / sub).is_dir()
        for p in (folder / sub).rglob("*")
        if p.is_file()
    )


def test_an_archive_on_s3_keeps_and_serves_its_recordings_from_the_bucket(s3_archive, tmp_path):
    archive, bucket_name, client = s3_archive
    data = (DATA / "es_rio.ogg").read_bytes()
    keys = {}
    for role in ("researcher", "archivist", "admin"):
        _, key = archive.store.keys.create(role, f"test {role}", LOCAL)
        keys[role] = {"Authorization": f"Bearer {key}"}
    ids = {}
    with TestClient(create_app(get_settings(stale_job_seconds=5), archive=archive)) as api:
        for consent, name in (("public", "rio.ogg"), ("private", "land.ogg")):
            source = DATA / ("es_rio.ogg" if consent == "public" else "en_land.ogg")
            r = api.post(
                "/api/v1/testimonies",
                files={"file": (name, io.BytesIO(source.read_bytes()))},
                data={"consent": consent, "region": "Puno", "allow_names": "true"},
                headers=keys["archivist"],
            )
            assert r.status_code == 202, r.text
            job = _wait(api, r.json()["uploads"][0]["job"]["id"], keys["archivist"])
            assert job["state"] == "done", job
            ids[consent] = job["results"][0]["id"]
        # the recordings are in the bucket, the staged uploads gone (the worker removes
        # them just after it marks the job done), the local disk empty
        deadline = time.monotonic() + 10
        while any("/uploads/" in o for o in _objects(client, bucket_name)):
            assert time.monotonic() < deadline, _objects(client, bucket_name)
            time.sleep(0.05)
        assert _objects(client, bucket_name) == sorted(
            f"peru/media/{ids[c]}.ogg" for c in ("public", "private")
        )
        assert _local_files(archive.home) == []

        url = f"/api/v1/testimonies/{ids['public']}/audio"
        whole = api.get(url)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "audio/ogg"
        assert whole.headers["accept-ranges"] == "bytes"
        part = api.get(url, headers={"Range": "bytes=100-1123"})
        assert part.status_code == 206 and part.content == data[100:1124]
        assert part.headers["content-range"] == f"bytes 100-1123/{len(data)}"
        tail = api.get(url, headers={"Range": "bytes=-64"})
        assert tail.status_code == 206 and tail.content == data[-64:]
        outside = api.get(url, headers={"Range": f"bytes={len(data)}-"})
        assert outside.status_code == 416
        assert outside.json()["error"]["code"] == "range_not_satisfiable"
        assert outside.headers["content-range"] == f"bytes */{len(data)}"

        # a private recording: not to the public nor a researcher, to an archivist
        private = f"/api/v1/testimonies/{ids['private']}/audio"
        assert api.get(private).status_code == 404
        assert api.get(private, headers={"Range": "bytes=0-9"}).status_code == 404
        assert api.get(private, headers=keys["researcher"]).status_code == 404
        assert api.get(f"{private}-link", headers=keys["researcher"]).status_code == 404
        heard = api.get(private, headers=keys["archivist"])
        assert heard.status_code == 200
        assert heard.content == (DATA / "en_land.ogg").read_bytes()

    assert check(archive).ok
    client.put_object(Bucket=bucket_name, Key="peru/media/stray.ogg", Body=b"x")
    client.put_object(Bucket=bucket_name, Key="peru/uploads/job-gone/a.ogg", Body=b"x")
    report = check(archive)
    assert sorted(report.problems) == [
        "media/stray.ogg belongs to no testimony (left by an interrupted ingest)",
        f"uploads/job-gone in s3://{bucket_name}/peru/ belongs to no unfinished job",
    ]
    assert check(archive, repair=True).repaired and check(archive).ok
    assert "peru/media/stray.ogg" not in _objects(client, bucket_name)

    copy = tmp_path / "copy"  # a backup (SQLite) or a field copy (PostgreSQL)
    if archive.store.path is not None:
        manifest = backup(archive, copy)
        assert f"media/{ids['public']}.ogg" in manifest["files"]
    else:
        assert "media" in migrate(archive, str(copy), LOCAL)["copied"]
    assert (copy / f"media/{ids['public']}.ogg").read_bytes() == data

    archive.delete(ids["public"], LOCAL)
    assert _objects(client, bucket_name) == [f"peru/media/{ids['private']}.ogg"]
    client.delete_object(Bucket=bucket_name, Key=f"peru/media/{ids['private']}.ogg")
    assert check(archive).problems == [
        f"recording media/{ids['private']}.ogg is missing (restore it from a backup)"
    ]


def test_an_upload_that_cannot_reach_the_bucket_is_refused_and_nothing_is_left(
    s3_archive, s3_endpoint
):
    archive, bucket_name, client = s3_archive
    archive.media = S3Media(f"{bucket_name}-absent", "peru", client=client)  # no such bucket
    _, key = archive.store.keys.create("archivist", "test", LOCAL)
    with TestClient(
        create_app(get_settings(stale_job_seconds=5), archive=archive),
        raise_server_exceptions=False,
    ) as api:
        r = api.post(
            "/api/v1/testimonies",
            files={"file": ("rio.ogg", io.BytesIO((DATA / "es_rio.ogg").read_bytes()))},
            data={"consent": "public"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code >= 400
        jobs = api.get("/api/v1/jobs", headers={"Authorization": f"Bearer {key}"}).json()
    assert json.dumps(jobs).count("job-") == 0  # no job points at an upload that is not there
    assert _local_files(archive.home) == []
