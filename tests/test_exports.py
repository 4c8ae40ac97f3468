"""Exports: every format read back by its own parser or checked against its schema, with
the times and text it was given; typed testimonies refused for captions; and an export
holds only what the caller may see (consent levels, names and numbers masked)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import srt
import webvtt
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.exports import ExportedSet
from api.settings import get_settings
from corpus import NotFoundError, Passage, PassageFilter, Testimony, ThemeTag, Viewer
from corpus.text import clock
from pipeline import Archive, InputError, Metadata
from pipeline import exports as ex

from .conftest import DATA, LOCAL, fake_cli, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

ANON = Viewer.anonymous()
RESEARCHER = Viewer("researcher", "key:test-researcher")
ARCHIVIST = Viewer("archivist", "key:test-archivist")

PHONE = "987 654 321"  # pattern redaction masks it for those who may not see names
#: What the fake recogniser "hears" in every recording (a phone number included).
SPOKEN = [
    (0.0, 3.2, f"Me llamo Rosa y mi celular es {PHONE}."),
    (3.2, 6.0, "El río está contaminado por la mina y los animales se mueren."),
    (6.5, 9.0, "Perdimos nuestras tierras cuando llegó la empresa."),
]
TYPED = [
    {
        "id": "exp-typed-public",
        "title": "Agua de Ilave",
        "text": f"Mi celular es {PHONE}. El río está contaminado por la mina. "
        "Los niños están enfermos.",
        "region": "Puno",
        "community": "Ilave",
        "date": "2020-01-02",
        "language": "es",
        "consent": "public",
    },
    {
        "id": "exp-typed-restricted",
        "title": "Restringido",
        "text": "La policía nos detuvo después de la huelga. Perdimos nuestras tierras.",
        "region": "Puno",
        "date": "2019-05-05",
        "language": "es",
        "consent": "restricted",
    },
    {
        "id": "exp-typed-private",
        "title": "Privado",
        "text": "Nadie debe saber lo que vi en la laguna. El agua cambió de color.",
        "region": "Puno",
        "date": "2018-07-07",
        "language": "es",
        "consent": "private",
    },
]


@dataclass
class World:
    archive: Archive
    client: TestClient
    keys: dict[str, dict[str, str]]  # role -> Authorization header
    public_audio: str  # es_rio: public, names allowed, illustrative (a synthesized voice)
    restricted_audio: str  # en_land: restricted, names masked for researchers


@pytest.fixture(scope="module")
def world(tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp("exports") / "home"
    whisper = FakeWhisper(SPOKEN)
    archive = Archive(
        home, embedder=HashEmbedder(), tagger=rule_tagger, whisper=lambda: whisper,
        redact=pattern_redact,
    )  # fmt: skip
    typed = home.parent / "typed.jsonl"
    typed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TYPED), "utf-8")
    archive.ingest_paths([typed], Metadata(), LOCAL)
    (public,) = archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(
            title="El río de Ilave", region="Puno", community="Ilave", date="2021-06",
            language="es", consent="public", allow_names=True, illustrative=True,
        ),
        LOCAL,
    )  # fmt: skip
    (restricted,) = archive.ingest_paths(
        [DATA / "en_land.ogg"],
        Metadata(title="Tierras", region="Puno", language="es", consent="restricted"),
        LOCAL,
    )
    keys: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ("researcher", "archivist", "admin"):
        _, key = archive.store.keys.create(role, f"exports {role}", LOCAL)
        keys[role] = {"Authorization": f"Bearer {key}"}
    settings = get_settings(home=home, cache_dir=home.parent / "cache")
    with TestClient(create_app(settings, archive=archive)) as client:
        yield World(archive, client, keys, public.id, restricted.id)
    archive.close()


def _item(
    world: World, testimony_id: str, viewer: Viewer = LOCAL
) -> tuple[Testimony, list[Passage]]:
    [item] = ex.collect(world.archive, [testimony_id], viewer)
    return item


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


# -- each format against its parser or schema ----------------------------------------------


def _cue_end(t, passages, p):
    """A passage's own end; a passage of no length (the fixture's fake decoder runs past
    the end of the recording, and its times are clamped there) is given one by cues()."""
    if p.end > p.start:
        return p.end
    [cue] = [c for c in ex.cues(t, passages) if c.passage == p]
    assert cue.end > cue.start
    return cue.end


def test_webvtt_parses_with_times_and_text(world):
    t, passages = _item(world, world.restricted_audio)
    assert len(passages) >= 2 and all(p.start is not None for p in passages)
    vtt = webvtt.from_string(ex.webvtt_captions(t, passages), strict=True)
    assert len(vtt.captions) == len(passages)
    for caption, p in zip(vtt.captions, passages, strict=True):
        assert caption.start_time.in_milliseconds() == _ms(p.start)
        assert caption.end_time.in_milliseconds() == _ms(_cue_end(t, passages, p))
        assert html.unescape(caption.text) == " ".join(p.text.split())
        assert caption.identifier == f"passage-{p.id}"
    assert vtt.metadata == ["Language: es"]
    assert vtt.header_comments and t.id in vtt.header_comments[0]
    assert "ILLUSTRATIVE" not in vtt.header_comments[0]
    # an illustrative recording says so in the header, before any cue
    demo = webvtt.from_string(ex.webvtt_captions(*_item(world, world.public_audio)), strict=True)
    assert "ILLUSTRATIVE" in demo.header_comments[0]


def test_webvtt_escapes_what_would_break_a_cue(world):
    t = Testimony("x", source_kind="audio", duration=5.0)
    tricky = "a --> b <i>c</i> & d\n\ne"
    content = ex.webvtt_captions(t, [Passage("x", 0, tricky, 0.0, 2.0, id=1)])
    [caption] = webvtt.from_string(content, strict=True).captions
    assert html.unescape(caption.text) == "a --> b <i>c</i> & d e"


def test_srt_parses_with_times_and_text(world):
    t, passages = _item(world, world.restricted_audio)
    subs = list(srt.parse(ex.srt_captions(t, passages)))
    assert [s.index for s in subs] == list(range(1, len(passages) + 1))
    for sub, p in zip(subs, passages, strict=True):
        assert sub.start == dt.timedelta(milliseconds=_ms(p.start))
        assert sub.end == dt.timedelta(milliseconds=_ms(_cue_end(t, passages, p)))
        assert sub.content == " ".join(p.text.split())
    # SRT has no comments: an illustrative recording opens with a subtitle saying so
    demo_t, demo_passages = _item(world, world.public_audio)
    first, *rest = srt.parse(ex.srt_captions(demo_t, demo_passages))
    assert first.start == dt.timedelta(0) and "ILLUSTRATIVE" in first.content
    assert [s.content for s in rest] == [" ".join(p.text.split()) for p in demo_passages]


def test_cues_fill_missing_ends_sensibly():
    t = Testimony("r", source_kind="audio", duration=20.0)
    passages = [
        Passage("r", 0, "uno", 1.0, None),  # ends when the next starts
        Passage("r", 1, "dos", 4.0, 4.0),  # zero length: until the next one
        Passage("r", 2, "tres", None, None),  # no start: follows, lasts to the end
    ]
    assert [(c.start, c.end) for c in ex.cues(t, passages)] == [
        (1.0, 4.0),
        (4.0, 20.0),
        (20.0, 23.0),
    ]
    no_duration = Testimony("r", source_kind="audio")
    assert ex.cues(no_duration, [Passage("r", 0, "uno", 2.0, None)])[0].end == 5.0


def test_text_and_json_transcripts(world):
    t, passages = _item(world, world.restricted_audio)
    txt = ex.text(t, passages)
    for p in passages:
        assert f"[{clock(p.start)}] {p.text}" in txt
    data = json.loads(ex.json_transcript(t, passages))
    assert data["id"] == t.id and data["consent"] == "restricted" and data["illustrative"] is False
    assert [(p["start"], p["end"], p["text"]) for p in data["passages"]] == [
        (p.start, p.end, p.text) for p in passages
    ]
    assert data["themes"] and all(
        g["theme"] in data["themes"] for q in data["passages"] for g in q["tags"]
    )
    typed_t, typed_passages = _item(world, "exp-typed-restricted")
    typed = json.loads(ex.json_transcript(typed_t, typed_passages))
    assert typed["source_kind"] == "text" and all(p["start"] is None for p in typed["passages"])
    assert "[" not in ex.text(typed_t, typed_passages).split("\n\n", 1)[1].split("]")[0][:1]


def test_csv_and_jsonl_of_a_set(world):
    items = ex.collect_filtered(world.archive, LOCAL, PassageFilter(region="Puno"))
    assert {t.id for t, _ in items} == {
        *(r["id"] for r in TYPED),
        world.public_audio,
        world.restricted_audio,
    }
    expected = [(t, p) for t, ps in items for p in ps]
    rows = list(csv.DictReader(io.StringIO(ex.passages_csv(items))))
    lines = [json.loads(line) for line in ex.passages_jsonl(items).splitlines()]
    assert len(rows) == len(lines) == len(expected)
    for row, line, (t, p) in zip(rows, lines, expected, strict=True):
        assert row["testimony_id"] == line["testimony_id"] == t.id
        assert row["text"] == line["text"] == p.text
        assert line["start"] == p.start and line["end"] == p.end
        assert row["start"] == ("" if p.start is None else str(p.start))
        assert row["themes"].split(";") if p.tags else row["themes"] == ""
        assert row["themes"] == ";".join(g.theme for g in p.tags)
        assert [g["theme"] for g in line["tags"]] == [g.theme for g in p.tags]
        assert row["illustrative"] == ("true" if t.illustrative else "false")
        assert line["illustrative"] is t.illustrative
    assert any(row["tags"] for row in rows), "the fixtures must carry theme tags"
    whole = json.loads(ex.json_set(items))
    assert whole["count"] == len(items) and [t["id"] for t in whole["testimonies"]] == [
        t.id for t, _ in items
    ]


#: OHMS 5.4 schema (ohms.xsd): the order of a record's children, and of an index point's.
OHMS_RECORD = (
    "version date date_nonpreferred_format cms_record_id title accession duration "
    "collection_id collection_name series_id series_name repository funding repository_url "
    "subject keyword interviewee interviewer format file_name sync sync_alt "
    "transcript_alt_lang translate media_id media_url mediafile kembed language user_notes "
    "index type description rel transcript transcript_alt rights fmt usage userestrict "
    "xmllocation xmlfilename collection_link series_link"
).split()
OHMS_POINT = (
    "time title title_alt partial_transcript partial_transcript_alt synopsis synopsis_alt "
    "keywords keywords_alt subjects subjects_alt gpspoints hyperlinks"
).split()
OHMS_REPEATED = {
    "subject",
    "keyword",
    "interviewee",
    "interviewer",
    "format",
    "gpspoints",
    "hyperlinks",
}


def _check_order(children: list[ET.Element], order: list[str], required: set[str]) -> list[str]:
    names = [c.tag.split("}")[1] for c in children]
    assert all(c.tag.startswith("{" + ex.OHMS_NAMESPACE + "}") for c in children)
    assert set(names) <= set(order), set(names) - set(order)
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), f"out of schema order: {names}"
    for name in set(names) - OHMS_REPEATED:
        assert names.count(name) == 1, name
    assert required <= set(names)
    return names


def test_ohms_follows_the_schema_and_round_trips(world):
    t, passages = _item(world, world.public_audio)
    labels = ex.theme_labels(world.archive.tagger.taxonomy, "es")
    xml = ex.ohms(t, passages, labels, "http://archive.example")
    root = ET.fromstring(xml.encode("utf-8"))
    ns = {"o": ex.OHMS_NAMESPACE}
    assert root.tag == f"{{{ex.OHMS_NAMESPACE}}}ROOT"
    [record] = root.findall("o:record", ns)
    int(record.get("id", "x"))  # xs:int
    dt.date.fromisoformat(record.get("dt", "x"))  # xs:date
    _check_order(list(record), OHMS_RECORD, {"version", "date", "title"})
    float(record.findtext("o:version", namespaces=ns) or "x")  # xs:decimal
    assert record.findtext("o:accession", namespaces=ns) == t.id
    assert record.findtext("o:title", namespaces=ns) == t.title
    date = record.find("o:date", ns)  # attributes only (a partial date goes in the next one)
    assert date.attrib == {"value": "", "format": "yyyy-mm-dd"} and not date.text
    assert record.findtext("o:date_nonpreferred_format", namespaces=ns) == "2021-06"
    assert record.findtext("o:media_url", namespaces=ns) == (
        f"http://archive.example/api/v1/testimonies/{t.id}/audio"
    )
    assert "ILLUSTRATIVE" in (record.findtext("o:description", namespaces=ns) or "")
    assert record.findtext("o:fmt", namespaces=ns) in ("audio", "video")  # the schema's enums
    assert record.findtext("o:mediafile/o:host", namespaces=ns) == "Other"
    assert record.findtext("o:mediafile/o:clip_format", namespaces=ns) == "audio"
    assert record.findtext("o:userestrict", namespaces=ns) == "0"
    # the transcript: a passage per paragraph; sync marks minute lines within it
    lines = (record.findtext("o:transcript", namespaces=ns) or "").split("\n")
    assert lines[::2] == [" ".join(p.text.split()) for p in passages]
    assert re.fullmatch(r"1:(\|\d+\(\d+\))*", record.findtext("o:sync", namespaces=ns) or "")
    # index points: times (whole seconds), titles and keywords survive
    points = record.findall("o:index/o:point", ns)
    assert points
    for point in points:
        _check_order(list(point), OHMS_POINT, {"time", "title"})
    times = [int(p.findtext("o:time", namespaces=ns) or "x") for p in points]
    starts = {int(p.start) for p in passages}
    assert times == sorted(times) and set(times) <= starts and times[0] == int(passages[0].start)
    synopses = " ".join(p.findtext("o:synopsis", namespaces=ns) or "" for p in points)
    assert synopses == " ".join(" ".join(p.text.split()) for p in passages)
    tagged = {g.theme for p in passages for g in p.tags}
    assert tagged, "the fixtures must carry theme tags"
    keywords = {
        k for p in points for k in (p.findtext("o:keywords", namespaces=ns) or "").split(";") if k
    }
    subjects = {
        k for p in points for k in (p.findtext("o:subjects", namespaces=ns) or "").split(";") if k
    }
    assert subjects == tagged and keywords == {labels[x] for x in tagged}
    titles = [p.findtext("o:title", namespaces=ns) for p in points]
    assert all(titles) and any(labels[x] in " ".join(titles) for x in tagged)
    record_keywords = {k.text for k in record.findall("o:keyword", ns)}
    assert record_keywords == {labels[x] for x in tagged}


def test_ohms_sync_points_at_the_passage_of_each_minute():
    t = Testimony("long", source_kind="audio", duration=150.0, date="2019-03-14")
    passages = [
        Passage("long", 0, "uno dos tres cuatro", 0.0, 50.0),
        Passage("long", 1, "cinco seis", 50.0, 100.0),
        Passage("long", 2, "siete ocho nueve diez", 100.0, 150.0),
    ]
    # minute 1 (60 s) falls 1/5 into passage 1 (line 2, word 0 of 2); minute 2 falls 2/5
    # into passage 2 (line 4, word 1 of 4)
    assert ex._sync(ex.cues(t, passages)) == "1:|2(0)|4(1)"
    root = ET.fromstring(ex.ohms(t, passages).encode())
    ns = {"o": ex.OHMS_NAMESPACE}
    assert root.findtext("o:record/o:duration", namespaces=ns) == "00:02:30"
    date = root.find("o:record/o:date", ns)
    assert date.attrib == {"value": "2019-03-14", "format": "yyyy-mm-dd"} and not date.text
    assert root.find("o:record/o:media_url", ns) is None  # no base URL: no link


def _iiif_schema_errors(data: dict[str, Any]) -> list[str]:
    """Errors against the JSON schema of iiif-prezi3's models (generated from the IIIF
    Presentation 3 schema), checked by jsonschema_rs when it is installed."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    from iiif_prezi3 import Manifest

    validator = jsonschema_rs.validator_for(Manifest.model_json_schema(by_alias=True))
    return [str(e) for e in validator.iter_errors(data)]


def _http(value: str) -> bool:
    return bool(re.match(r"^https?://[^\s#]+(#\S*)?$", value))


def test_iiif_manifest_loads_validates_and_keeps_the_transcript(world):
    from iiif_prezi3 import Manifest

    t, passages = _item(world, world.public_audio)
    base = "http://archive.example:8000"
    content = ex.iiif_manifest(
        t, passages, base, ex.theme_labels(world.archive.tagger.taxonomy, "es")
    )
    Manifest.model_validate_json(content)  # iiif-prezi3's pydantic models accept it
    data = json.loads(content)
    assert _iiif_schema_errors(data) == []
    # what the Presentation 3 specification requires beyond the models
    assert data["@context"] == "http://iiif.io/api/presentation/3/context.json"
    assert data["type"] == "Manifest"
    assert data["id"] == f"{base}/api/v1/testimonies/{t.id}/export?format=iiif"
    assert data["label"] == {"es": [t.title]}
    for entry in data["metadata"]:
        assert set(entry) == {"label", "value"}
        assert all(isinstance(v, list) for part in entry.values() for v in part.values())
    rows = {e["label"]["en"][0]: e["value"]["none"][0] for e in data["metadata"]}
    assert "ILLUSTRATIVE" in rows["Illustrative"] and rows["Region"] == "Puno"
    assert rows["Consent"] == "public"
    [canvas] = data["items"]
    assert canvas["type"] == "Canvas" and canvas["duration"] > 0
    assert "width" not in canvas and "height" not in canvas  # audio: time only
    [painting_page] = canvas["items"]
    [painting] = painting_page["items"]
    assert painting["motivation"] == "painting" and painting["target"] == canvas["id"]
    body = painting["body"]
    assert body["type"] == "Sound" and body["format"] == "audio/ogg"
    assert body["id"] == f"{base}/api/v1/testimonies/{t.id}/audio"
    [transcript_page] = canvas["annotations"]
    annotations = transcript_page["items"]
    assert len(annotations) == len(passages)
    ids = [data["id"], canvas["id"], painting_page["id"], painting["id"], transcript_page["id"]]
    ids += [a["id"] for a in annotations]
    assert all(_http(i) for i in ids) and len(set(ids)) == len(ids)
    for annotation, p in zip(annotations, passages, strict=True):
        assert annotation["type"] == "Annotation" and annotation["motivation"] == "supplementing"
        assert annotation["body"] == {
            "type": "TextualBody", "value": p.text, "format": "text/plain", "language": "es",
        }  # fmt: skip
        target, fragment = annotation["target"].split("#t=")
        assert target == canvas["id"]
        start, end = (float(x) for x in fragment.split(","))
        assert start == pytest.approx(p.start, abs=1e-3) and end == pytest.approx(p.end, abs=1e-3)
        assert 0 <= start < end <= canvas["duration"]
    formats = {r["format"] for r in data["rendering"]}
    assert formats == {"text/vtt", "text/plain"} and all(_http(r["id"]) for r in data["rendering"])


def test_iiif_schema_check_catches_a_broken_manifest(world):
    t, passages = _item(world, world.public_audio)
    data = json.loads(ex.iiif_manifest(t, passages, "http://a.example"))
    data["label"] = ["not a language map"]
    assert _iiif_schema_errors(data)


# -- typed testimonies have no times -------------------------------------------------------


@pytest.mark.parametrize("fmt", ["vtt", "srt", "ohms", "iiif"])
def test_typed_testimony_refuses_captions(world, fmt, monkeypatch):
    with pytest.raises(InputError, match="exp-typed-public is typed: it has no times"):
        ex.export_testimony(world.archive, "exp-typed-public", LOCAL, fmt, "http://a.example")
    r = world.client.get("/api/v1/testimonies/exp-typed-public/export", params={"format": fmt})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_input"
    assert "is typed: it has no times for captions" in r.json()["error"]["message"]
    run = _cli(monkeypatch, world)
    result = run("export", "exp-typed-public", "--format", fmt)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0] == "Error: testimony exp-typed-public is typed: it has no times for captions"


def test_typed_testimony_exports_as_text_json_and_csv(world):
    for fmt in ("txt", "json", "csv", "jsonl"):
        r = world.client.get("/api/v1/testimonies/exp-typed-public/export", params={"format": fmt})
        assert r.status_code == 200, r.text
        assert "el río está contaminado" in r.text.lower()


# -- the API -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type", "suffix"),
    [
        ("vtt", "text/vtt; charset=utf-8", ".vtt"),
        ("srt", "application/x-subrip", ".srt"),
        ("txt", "text/plain; charset=utf-8", ".txt"),
        ("json", "application/json", ".json"),
        ("csv", "text/csv; charset=utf-8", ".csv"),
        ("jsonl", "application/x-ndjson", ".jsonl"),
        ("ohms", "application/xml", ".ohms.xml"),
        (
            "iiif",
            'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
            ".iiif.json",
        ),
    ],
)
def test_api_downloads_each_format(world, fmt, media_type, suffix):
    audio = world.public_audio
    r = world.client.get(f"/api/v1/testimonies/{audio}/export", params={"format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media_type
    assert r.headers["content-disposition"] == f'attachment; filename="{audio}{suffix}"'
    assert (
        r.text == ex.export_testimony(world.archive, audio, ANON, fmt, "http://testserver").content
    )


def test_api_iiif_links_resolve(world):
    audio = world.public_audio
    data = world.client.get(f"/api/v1/testimonies/{audio}/export", params={"format": "iiif"}).json()
    assert world.client.get(data["id"]).json()["id"] == data["id"]  # the manifest is its id
    body = data["items"][0]["items"][0]["items"][0]["body"]
    sound = world.client.get(body["id"])
    assert sound.status_code == 200 and sound.content == (DATA / "es_rio.ogg").read_bytes()
    for rendering in data["rendering"]:
        linked = world.client.get(rendering["id"])
        assert linked.status_code == 200 and linked.headers["content-type"].startswith(
            rendering["format"]
        )


def test_api_refuses_unknown_formats_and_filters(world):
    r = world.client.get(
        f"/api/v1/testimonies/{world.public_audio}/export", params={"format": "docx"}
    )
    assert r.status_code == 422 and "format" in r.json()["error"]["message"]
    r = world.client.get("/api/v1/exports", params={"format": "vtt"})
    assert r.status_code == 422 and "format" in r.json()["error"]["message"]
    r = world.client.get("/api/v1/exports", params={"format": "csv", "theme": "no-such-theme"})
    assert r.status_code == 400 and "unknown theme" in r.json()["error"]["message"]
    r = world.client.get("/api/v1/exports", params={"format": "csv", "since": "2020-13"})
    assert r.status_code == 400 and "since" in r.json()["error"]["message"]


def test_api_filtered_set(world):
    r = world.client.get(
        "/api/v1/exports",
        params={"format": "jsonl", "region": "puno", "since": "2019", "until": "2020-12-31"},
        headers=world.keys["archivist"],
    )
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="voces-export.jsonl"'
    ids = {json.loads(line)["testimony_id"] for line in r.text.splitlines()}
    assert ids == {"exp-typed-public", "exp-typed-restricted"}  # dated 2019 and 2020
    theme = "pollution"
    r = world.client.get("/api/v1/exports", params={"format": "json", "theme": theme})
    testimonies = r.json()["testimonies"]
    assert testimonies and all(theme in t["themes"] for t in testimonies)
    r = world.client.get("/api/v1/exports", params={"format": "json", "region": "Nowhere"})
    assert r.json() == {"count": 0, "testimonies": []}


def test_openapi_documents_the_export_routes(world):
    spec = world.client.get("/openapi.json").json()
    one = spec["paths"]["/api/v1/testimonies/{testimony_id}/export"]["get"]
    many = spec["paths"]["/api/v1/exports"]["get"]
    assert "text/vtt; charset=utf-8" in one["responses"]["200"]["content"]
    assert set(many["responses"]["200"]["content"]) == {
        ex.FORMATS[name].media_type for name in ex.SET_FORMATS
    }
    assert {"400", "404", "422"} <= set(one["responses"])


def test_answers_match_the_openapi_schema(world):
    """Real answers (every format, a typed testimony refused, sets) checked by
    schemathesis against the served schema: status, media type, JSON body."""
    schemathesis = pytest.importorskip("schemathesis")
    config = schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"enabled": False}}}
    )
    schema = schemathesis.openapi.from_dict(world.client.get("/openapi.json").json(), config=config)
    one = schema["/api/v1/testimonies/{testimony_id}/export"]["GET"]
    for testimony in (world.public_audio, "exp-typed-public"):
        for fmt in ex.FORMATS:
            case = one.Case(path_parameters={"testimony_id": testimony}, query={"format": fmt})
            case.validate_response(
                world.client.get(f"/api/v1/testimonies/{testimony}/export", params={"format": fmt})
            )
    many = schema["/api/v1/exports"]["GET"]
    for fmt in ex.SET_FORMATS:
        case = many.Case(query={"format": fmt, "region": "Puno"})
        r = world.client.get("/api/v1/exports", params={"format": fmt, "region": "Puno"})
        case.validate_response(r)
    r = world.client.get("/api/v1/exports", params={"format": "json", "region": "Puno"})
    assert ExportedSet.model_validate_json(r.text).count == 2  # anonymous: the public two
    broken = httpx.Response(200, json={"count": "two"}, request=r.request)
    broken.elapsed = dt.timedelta(0)
    with pytest.raises(BaseExceptionGroup) as raised:  # a wrong body would be seen
        many.Case(query={"format": "json"}).validate_response(broken)
    assert any("violates schema" in str(e) for e in raised.value.exceptions)


# -- only what the caller may see ----------------------------------------------------------


def _ids_in_set(world, role: str, fmt: str = "csv") -> set[str]:
    r = world.client.get(
        "/api/v1/exports", params={"format": fmt, "region": "Puno"}, headers=world.keys[role]
    )
    assert r.status_code == 200, r.text
    if fmt == "csv":
        return {row["testimony_id"] for row in csv.DictReader(io.StringIO(r.text))}
    return {json.loads(line)["testimony_id"] for line in r.text.splitlines()}


def test_a_set_holds_only_what_the_caller_may_see(world):
    public = {"exp-typed-public", world.public_audio}
    restricted = {"exp-typed-restricted", world.restricted_audio}
    for fmt in ("csv", "jsonl"):
        assert _ids_in_set(world, "anonymous", fmt) == public
        assert _ids_in_set(world, "researcher", fmt) == public | restricted
        assert _ids_in_set(world, "archivist", fmt) == public | restricted | {"exp-typed-private"}
    assert {t.id for t, _ in ex.collect_filtered(world.archive, ANON)} == public
    for secret in ("detuvo", "laguna", "Restringido", "Privado"):
        assert secret not in world.client.get("/api/v1/exports", params={"format": "json"}).text


@pytest.mark.parametrize("fmt", ["vtt", "json", "csv", "iiif"])
def test_anonymous_cannot_export_what_it_may_not_see(world, fmt):
    for hidden in (world.restricted_audio, "exp-typed-restricted", "exp-typed-private"):
        r = world.client.get(f"/api/v1/testimonies/{hidden}/export", params={"format": fmt})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (hidden, r.text)
    researcher = world.keys["researcher"]
    r = world.client.get(
        f"/api/v1/testimonies/{world.restricted_audio}/export",
        params={"format": fmt},
        headers=researcher,
    )
    assert r.status_code == 200
    r = world.client.get(
        "/api/v1/testimonies/exp-typed-private/export", params={"format": fmt}, headers=researcher
    )
    assert r.status_code == 404
    with pytest.raises(NotFoundError):
        ex.export_testimony(world.archive, "exp-typed-private", ANON, fmt, "http://a.example")


def test_names_and_numbers_are_masked_where_the_archive_masks_them(world):
    params = {"format": "json"}
    anonymous = world.client.get("/api/v1/testimonies/exp-typed-public/export", params=params)
    archivist = world.client.get(
        "/api/v1/testimonies/exp-typed-public/export",
        params=params,
        headers=world.keys["archivist"],
    )
    assert PHONE not in anonymous.text and PHONE in archivist.text
    assert anonymous.json()["masked"] is True and archivist.json()["masked"] is False
    assert any(p["redacted"] for p in anonymous.json()["passages"])
    for fmt in ("txt", "csv", "jsonl"):
        r = world.client.get("/api/v1/testimonies/exp-typed-public/export", params={"format": fmt})
        assert PHONE not in r.text and "El río está contaminado" in r.text
    rows = csv.DictReader(
        io.StringIO(world.client.get("/api/v1/exports", params={"format": "csv"}).text)
    )
    assert all(
        PHONE not in row["text"] for row in rows if row["testimony_id"] == "exp-typed-public"
    )
    # a recording whose witness allowed names is heard and read as it is
    audio = world.public_audio
    assert (
        PHONE
        in world.client.get(f"/api/v1/testimonies/{audio}/export", params={"format": "vtt"}).text
    )
    # a restricted recording, for a researcher: text masked, and no recording to play
    researcher = world.keys["researcher"]
    url = f"/api/v1/testimonies/{world.restricted_audio}/export"
    for fmt in ("vtt", "srt", "txt", "ohms", "iiif"):
        r = world.client.get(url, params={"format": fmt}, headers=researcher)
        assert r.status_code == 200 and PHONE not in r.text, fmt
    vtt = world.client.get(url, params={"format": "vtt"}, headers=researcher).text
    assert ex.MASKED_NOTE in vtt
    manifest = world.client.get(url, params={"format": "iiif"}, headers=researcher).json()
    assert manifest["items"][0]["items"][0]["items"] == []  # nothing painted: no audio link
    assert "/audio" not in json.dumps(manifest)
    ohms_xml = world.client.get(url, params={"format": "ohms"}, headers=researcher).text
    assert "media_url" not in ohms_xml
    archivist_vtt = world.client.get(
        url, params={"format": "vtt"}, headers=world.keys["archivist"]
    ).text
    assert PHONE in archivist_vtt


# -- the CLI -------------------------------------------------------------------------------


def _cli(monkeypatch, world: World):
    monkeypatch.setenv("VOCES_HOME", str(world.archive.home))
    return fake_cli(monkeypatch, FakeWhisper(SPOKEN), HashEmbedder())


def test_cli_exports_one_testimony_to_stdout_and_a_file(world, monkeypatch, tmp_path):
    run = _cli(monkeypatch, world)
    audio = world.restricted_audio
    r = run("export", audio, "--format", "vtt")
    assert r.exit_code == 0, r.output
    t, passages = _item(world, audio)
    assert [c.text for c in webvtt.from_string(r.output, strict=True).captions] == [
        html.unescape(ex._vtt_text(p.text)) for p in passages
    ]
    target = tmp_path / "one.srt"
    r = run("export", audio, "--format", "srt", "-o", str(target))
    assert r.exit_code == 0 and target.read_text("utf-8") == ex.srt_captions(t, passages)
    r = run("export", "exp-typed-public", "--format", "json", "--as", "anonymous")
    assert r.output == ex.export_testimony(world.archive, "exp-typed-public", ANON, "json").content
    assert json.loads(r.output)["id"] == "exp-typed-public"  # one testimony, as the API gives it
    r = run("export", audio, "--format", "iiif", "--base-url", "https://voces.example/")
    assert (
        json.loads(r.output)["id"]
        == f"https://voces.example/api/v1/testimonies/{audio}/export?format=iiif"
    )


def test_cli_exports_a_filtered_set_and_several_files(world, monkeypatch, tmp_path):
    run = _cli(monkeypatch, world)
    out = tmp_path / "puno.csv"
    r = run("export", "--region", "Puno", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    ids = {row["testimony_id"] for row in csv.DictReader(io.StringIO(out.read_text("utf-8")))}
    assert "exp-typed-private" in ids  # the operator at the archive machine sees all
    r = run("export", "--region", "Puno", "--format", "csv", "--as", "anonymous")
    ids = {row["testimony_id"] for row in csv.DictReader(io.StringIO(r.output))}
    assert ids == {"exp-typed-public", world.public_audio}
    folder = tmp_path / "captions"
    r = run(
        "export",
        world.public_audio,
        world.restricted_audio,
        "--format",
        "vtt",
        "--out-dir",
        str(folder),
    )
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{i}.vtt" for i in (world.public_audio, world.restricted_audio)
    )
    r = run("export", "exp-typed-public", "exp-typed-restricted", "--format", "jsonl")
    assert {json.loads(line)["testimony_id"] for line in r.output.splitlines()} == {
        "exp-typed-public", "exp-typed-restricted",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "Puno", "--format", "vtt"], "vtt holds one testimony"),
        (["a", "b", "--format", "srt"], "give --out-dir for several"),
        (["a", "--region", "Puno", "--format", "csv"], "not both"),
        (["--format", "csv", "--theme", "nope"], "unknown theme"),
        (["--format", "csv", "--since", "2020-02-30"], "--since: date '2020-02-30' is not a real"),
        (["exp-typed-private", "--format", "json", "--as", "researcher"], "no testimony"),
    ],
)
def test_cli_errors_are_one_line(world, monkeypatch, args, message):
    r = _cli(monkeypatch, world)("export", *args)
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code != 0 and len(lines) == 1 and lines[0].startswith("Error:"), r.output
    assert message in lines[0]


def test_formats_table_is_complete():
    assert set(ex.FORMATS) == {"vtt", "srt", "txt", "json", "csv", "jsonl", "ohms", "iiif"}
    assert ex.SET_FORMATS == ("json", "csv", "jsonl")
    assert all(f.timed for f in ex.FORMATS.values() if f.name in ("vtt", "srt", "ohms", "iiif"))
    with pytest.raises(InputError, match="unknown export format"):
        ex.export_format("docx")
    tag = ThemeTag("pollution", 0.9, "rule")
    t = Testimony("x", source_kind="audio", duration=2.0)
    assert "pollution:0.9000:rule" in ex.passages_csv(
        [(t, [Passage("x", 0, "a", 0.0, 1.0, 1, (tag,))])]
    )
