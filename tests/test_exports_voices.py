"""Voices and word times in exports (issue 29): every format read back by its own parser
(webvtt-py, srt, ElementTree against OHMS 5.4's order, iiif-prezi3 and the IIIF JSON
schema, csv, json) with who speaks named as the reader may see it, word timestamps
inside their cue and increasing, and no word at all in a copy with names masked."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
import srt
import webvtt

from corpus import Passage, Speaker, Testimony, Word
from pipeline import exports as ex
from pipeline.export_voices import voice_names

from .conftest import ARCHIVIST
from .test_exports import OHMS_POINT, OHMS_RECORD, _check_order, _iiif_schema_errors

TID = "voces-entrevista"
T = Testimony(
    TID, title="Entrevista en Ilave", region="Puno", community="Ilave", date="2021-06-02",
    language="es", duration=12.0, consent="restricted", source_kind="audio",
    media_path="media/x.ogg",
)  # fmt: skip


def _words(start: float, text: str, step: float = 0.5, doubt: int = -1) -> tuple[Word, ...]:
    """``text``'s words, one every ``step`` seconds from ``start`` (the ``doubt``-th one
    with a low probability)."""
    return tuple(
        Word(start + i * step, start + (i + 1) * step - 0.05, w, 0.6 if i == doubt else 0.95)
        for i, w in enumerate(text.split())
    )


def _passage(seq: int, start: float, end: float, speaker: str, text: str, **kw) -> Passage:
    words = _words(start, text, doubt=kw.pop("doubt", -1))
    assert words[-1].end <= end
    return Passage(TID, seq, text, start, end, id=100 + seq, speaker=speaker, words=words, **kw)


#: An interview as an archivist reads it: two voices, words timed.
PASSAGES = [
    _passage(0, 0.0, 2.5, "S1", "¿Cómo se llama usted?"),
    _passage(1, 2.5, 5.0, "S2", "Me llamo Rosa Quispe.", doubt=2),
    _passage(2, 5.0, 8.0, "S2", "Vivo en Ilave, junto al río."),
    _passage(3, 8.2, 9.0, "S1", "Gracias."),
]
NAMES = voice_names([Speaker(TID, "S1", "Entrevistadora"), Speaker(TID, "S2", "Rosa Quispe")])
SHOWN = [NAMES[p.speaker] for p in PASSAGES]
BASE = "http://archive.example"


def _masked_copy(leak_words: bool) -> tuple[list[Passage], dict[str, str]]:
    """The interview as a viewer who may not see names reads it: redacted text, names
    masked ([nombre], as corpus.visibility masks them). ``leak_words``: the passages
    still carry their words, as if a read had let them through: the export must drop
    them itself."""
    passages = [
        replace(
            p,
            text=p.text.replace("Rosa Quispe", "[nombre]"),
            redacted=True,
            words=p.words if leak_words else (),
        )
        for p in PASSAGES
    ]
    names = voice_names([Speaker(TID, "S1", "[nombre]"), Speaker(TID, "S2", "[nombre]")])
    return passages, names


_STAMP = re.compile(r"<(\d\d:\d\d:\d\d\.\d\d\d)>")


def _seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


# -- WebVTT --------------------------------------------------------------------------------


def test_webvtt_voice_spans_name_each_cue():
    vtt = webvtt.from_string(ex.webvtt_captions(T, PASSAGES, NAMES), strict=True)
    assert [html.unescape(c.voice or "") for c in vtt.captions] == SHOWN
    assert [c.text for c in vtt.captions] == [p.text for p in PASSAGES]
    assert all(c.raw_text.endswith("</v>") for c in vtt.captions)
    assert not any(_STAMP.search(c.raw_text) for c in vtt.captions), "words only when asked"
    # without names the label is the voice
    labelled = webvtt.from_string(ex.webvtt_captions(T, PASSAGES), strict=True)
    assert [c.voice for c in labelled.captions] == [p.speaker for p in PASSAGES]


def test_webvtt_word_timestamps_lie_inside_their_cue_and_increase():
    content = ex.webvtt_captions(T, PASSAGES, NAMES, words=True)
    vtt = webvtt.from_string(content, strict=True)
    assert len(vtt.captions) == len(PASSAGES)
    tagged = 0
    for caption, p in zip(vtt.captions, PASSAGES, strict=True):
        stamps = [_seconds(s) for s in _STAMP.findall(caption.raw_text)]
        start, end = caption.start_time.in_seconds(), caption.end_time.in_seconds()
        start_ms, end_ms = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        assert all(start_ms < round(s * 1000) < end_ms for s in stamps), (start, end, stamps)
        assert stamps == sorted(set(stamps))
        # every word after the first gets its own start (the first shows with the cue)
        assert stamps == [round(w.start, 3) for w in p.words[1:]]
        assert caption.text == " ".join(w.text for w in p.words) == p.text
        assert html.unescape(caption.voice or "") == NAMES[p.speaker]
        tagged += len(stamps)
    assert tagged == sum(len(p.words) - 1 for p in PASSAGES)


def test_webvtt_word_tags_skip_what_the_spec_forbids():
    """A word starting at the cue's start, with the previous tag, or past the cue's end
    gets no tag (a timestamp must lie strictly inside the cue and after the one before)."""
    words = (
        Word(1.0, 1.2, "uno", 0.9),
        Word(1.2, 1.2, "dos", 0.9),
        Word(1.2004, 1.5, "tres", 0.9),  # rounds to the previous tag's millisecond
        Word(1.5, 2.0, "cuatro", 0.9),
    )
    p = Passage(TID, 0, "uno dos tres cuatro", 1.0, 2.0, id=1, speaker="S1", words=words)
    [caption] = webvtt.from_string(ex.webvtt_captions(T, [p], words=True), strict=True).captions
    assert _STAMP.findall(caption.raw_text) == ["00:00:01.200", "00:00:01.500"]
    assert caption.text == "uno dos tres cuatro"


def test_webvtt_escapes_voice_names_and_words():
    names = {"S1": "Ana <b>& co</b>", "S2": "Rosa Quispe"}
    tricky = replace(PASSAGES[0], words=(Word(0.0, 0.5, "a<b", 0.9), Word(0.5, 1.0, "&c", 0.9)))
    content = ex.webvtt_captions(T, [tricky, PASSAGES[1]], names, words=True)
    first, _ = webvtt.from_string(content, strict=True).captions
    assert html.unescape(first.voice or "") == "Ana <b>& co</b>"
    assert html.unescape(first.text) == "a<b &c"
    assert "<b>" not in first.raw_text


# -- SRT and text --------------------------------------------------------------------------


def test_srt_opens_each_subtitle_with_its_voice():
    subs = list(srt.parse(ex.srt_captions(T, PASSAGES, NAMES)))
    assert [s.content for s in subs] == [
        f"{name}: {p.text}" for name, p in zip(SHOWN, PASSAGES, strict=True)
    ]


def test_text_names_a_voice_where_its_turn_begins():
    body = ex.text(T, PASSAGES, NAMES).split("\n\n")
    paragraphs = [b.strip() for b in body if b.strip().startswith("[")]
    assert paragraphs == [
        "[00:00:00] Entrevistadora: ¿Cómo se llama usted?",
        "[00:00:02] Rosa Quispe: Me llamo Rosa Quispe.",
        "[00:00:05] Vivo en Ilave, junto al río.",  # the same voice goes on
        "[00:00:08] Entrevistadora: Gracias.",
    ]


def test_one_unnamed_voice_is_not_marked_but_a_named_one_is():
    """Every recording is at least "S1": a lone unnamed voice marks nothing (an "S1:"
    before every line tells a reader nothing), a named one is marked."""
    alone = [replace(p, speaker="S1") for p in PASSAGES]
    assert "S1" not in ex.text(T, alone) and "S1" not in ex.srt_captions(T, alone)
    vtt = webvtt.from_string(ex.webvtt_captions(T, alone), strict=True)
    assert all(c.voice is None for c in vtt.captions)
    named = ex.text(T, alone, {"S1": "Rosa Quispe"})
    assert named.count("Rosa Quispe: ") == 1  # one turn
    vtt = webvtt.from_string(ex.webvtt_captions(T, alone, {"S1": "Rosa Quispe"}), strict=True)
    assert {c.voice for c in vtt.captions} == {"Rosa Quispe"}


# -- OHMS ----------------------------------------------------------------------------------


def _ohms(passages, names, t=T) -> ET.Element:
    root = ET.fromstring(ex.ohms(t, passages, {}, BASE, names).encode("utf-8"))
    [record] = root.findall("o:record", {"o": ex.OHMS_NAMESPACE})
    _check_order(list(record), OHMS_RECORD, {"version", "date", "title"})
    for point in record.iterfind("o:index/o:point", {"o": ex.OHMS_NAMESPACE}):
        _check_order(list(point), OHMS_POINT, {"time", "title"})
    return record


def test_ohms_transcript_opens_each_turn_with_the_speakers_name():
    ns = {"o": ex.OHMS_NAMESPACE}
    record = _ohms(PASSAGES, NAMES)
    lines = (record.findtext("o:transcript", namespaces=ns) or "").split("\n")
    assert lines[::2] == [
        "ENTREVISTADORA: ¿Cómo se llama usted?",
        "ROSA QUISPE: Me llamo Rosa Quispe.",
        "Vivo en Ilave, junto al río.",
        "ENTREVISTADORA: Gracias.",
    ]
    points = record.findall("o:index/o:point", ns)
    assert points and all(
        (p.findtext("o:partial_transcript", namespaces=ns) or "").startswith("ENTREVISTADORA: ")
        for p in points[:1]
    )


def test_ohms_sync_counts_the_speakers_name_and_uses_word_times():
    """Minute 1 falls in the second passage, which opens a turn ("ROSA QUISPE:" is two
    words of its line) at its third word by the word times (the interpolation would say
    the first: the words are bunched at the passage's end)."""
    t = replace(T, duration=130.0)
    first = _passage(0, 0.0, 55.0, "S1", "uno dos tres")
    words = (
        Word(55.0, 58.0, "cuatro", 0.9),
        Word(58.0, 59.9, "cinco", 0.9),
        Word(60.5, 61.0, "seis", 0.9),
        Word(61.0, 62.0, "siete", 0.9),
    )
    second = Passage(TID, 1, "cuatro cinco seis siete", 55.0, 130.0, id=2, speaker="S2")
    record = _ohms([first, replace(second, words=words)], NAMES, t)
    assert record.findtext("o:sync", namespaces={"o": ex.OHMS_NAMESPACE}) == "1:|2(4)|2(6)"
    record = _ohms([first, second], NAMES, t)  # no words: interpolated, after the name
    assert record.findtext("o:sync", namespaces={"o": ex.OHMS_NAMESPACE}) == "1:|2(2)|2(5)"


# -- IIIF ----------------------------------------------------------------------------------


def _manifest(passages, names, words=False) -> dict:
    from iiif_prezi3 import Manifest

    content = ex.iiif_manifest(T, passages, BASE, {}, names, words)
    Manifest.model_validate_json(content)
    data = json.loads(content)
    assert _iiif_schema_errors(data) == []
    return data


def test_iiif_labels_each_passage_with_its_voice_and_lists_the_voices():
    data = _manifest(PASSAGES, NAMES)
    [canvas] = data["items"]
    [transcript] = canvas["annotations"]  # no words page unless asked
    assert [a["label"] for a in transcript["items"]] == [{"none": [name]} for name in SHOWN]
    rows = {e["label"]["en"][0]: e["value"]["none"][0] for e in data["metadata"]}
    assert rows["Voices"] == "Entrevistadora; Rosa Quispe"


def test_iiif_words_are_annotations_on_their_media_fragment():
    data = _manifest(PASSAGES, NAMES, words=True)
    [canvas] = data["items"]
    transcript, words = canvas["annotations"]
    assert words["label"] == {"en": ["Words"]}
    expected = [w for p in PASSAGES for w in p.words]
    assert len(words["items"]) == len(expected)
    previous = -1.0
    for annotation, w in zip(words["items"], expected, strict=True):
        assert annotation["motivation"] == "supplementing"
        assert annotation["body"]["value"] == w.text
        target, fragment = annotation["target"].split("#t=")
        assert target == canvas["id"]
        start, end = (float(x) for x in fragment.split(","))
        assert start == pytest.approx(w.start) and end == pytest.approx(w.end)
        assert previous <= start < end <= canvas["duration"]
        previous = start
    ids = [a["id"] for a in transcript["items"] + words["items"]]
    assert len(set(ids)) == len(ids)


# -- CSV, JSON lines, JSON -----------------------------------------------------------------


def test_csv_jsonl_and_json_carry_the_speaker_and_words_when_asked():
    items = [(T, PASSAGES)]
    voices = {TID: NAMES}
    rows = list(csv.DictReader(io.StringIO(ex.passages_csv(items, voices))))
    assert [(r["speaker"], r["speaker_name"]) for r in rows] == [
        (p.speaker, NAMES[p.speaker]) for p in PASSAGES
    ]
    plain = [json.loads(line) for line in ex.passages_jsonl(items, voices).splitlines()]
    assert [r["speaker_name"] for r in plain] == SHOWN and all("words" not in r for r in plain)
    lines = [json.loads(x) for x in ex.passages_jsonl(items, voices, words=True).splitlines()]
    for line, p in zip(lines, PASSAGES, strict=True):
        assert [(w["start"], w["end"], w["text"]) for w in line["words"]] == [
            (w.start, w.end, w.text) for w in p.words
        ]
        assert [w["probability"] for w in line["words"]] == [w.probability for w in p.words]
    data = json.loads(ex.json_transcript(T, PASSAGES, NAMES, words=True))
    assert data["speakers"] == [
        {"label": "S1", "name": "Entrevistadora"},
        {"label": "S2", "name": "Rosa Quispe"},
    ]
    assert [len(p["words"]) for p in data["passages"]] == [len(p.words) for p in PASSAGES]
    whole = json.loads(ex.json_set(items, voices))
    assert [p["speaker_name"] for p in whole["testimonies"][0]["passages"]] == SHOWN


# -- a viewer who may not see names ----------------------------------------------------------


@pytest.mark.parametrize("leak_words", [False, True])
def test_masked_copy_has_masked_voices_and_no_words_in_any_format(leak_words):
    passages, names = _masked_copy(leak_words)
    # two masked names stay two voices
    assert names == {"S1": "[nombre] (S1)", "S2": "[nombre] (S2)"}
    vtt_text = ex.webvtt_captions(T, passages, names, words=True)
    vtt = webvtt.from_string(vtt_text, strict=True)
    assert [c.voice for c in vtt.captions] == [names[p.speaker] for p in passages]
    assert not _STAMP.search(vtt_text)
    manifest = _manifest(passages, names, words=True)
    assert len(manifest["items"][0]["annotations"]) == 1, "no words page"
    lines = [
        json.loads(x)
        for x in ex.passages_jsonl([(T, passages)], {TID: names}, words=True).splitlines()
    ]
    assert [line["words"] for line in lines] == [[] for _ in passages]
    data = json.loads(ex.json_transcript(T, passages, names, words=True))
    assert all(p["words"] == [] for p in data["passages"])
    record = _ohms(passages, names)
    outputs = [
        vtt_text,
        ex.srt_captions(T, passages, names),
        ex.text(T, passages, names),
        ET.tostring(record, "unicode"),
        json.dumps(manifest, ensure_ascii=False),
        ex.passages_csv([(T, passages)], {TID: names}),
        json.dumps(lines, ensure_ascii=False),
        json.dumps(data, ensure_ascii=False),
    ]
    for out in outputs:
        assert "Rosa" not in out and "Quispe" not in out and "Entrevistadora" not in out


# -- through the archive: the viewer-checked reads, the API and the CLI ------------------------

#: What the fake recogniser hears in es_rio.ogg (7.5 s): three sentences, words timed.
HEARD = [
    (0.0, 2.4, "¿Cómo se llama usted?", 0.9),
    (2.6, 5.0, "Me llamo Rosa y vivo en Ilave.", 0.62),
    (5.2, 7.4, "Gracias por contarnos.", 0.9),
]


def _whisper_segments():
    out = []
    for start, end, sentence, low in HEARD:
        words = sentence.split()
        step = (end - start) / len(words)
        timed = [
            (start + i * step, start + (i + 1) * step, " " + w, low if i == 2 else 0.95)
            for i, w in enumerate(words)
        ]
        out.append((start, end, sentence, timed))
    return out


@pytest.fixture(scope="module")
def interview(tmp_path_factory, rule_tagger):
    """A restricted recording whose witness did not agree to be named, diarized into an
    interviewer (S1) and a narrator (S2) whom the archivist named."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import get_settings
    from pipeline import Archive, Metadata, PassageOptions

    from .conftest import DATA, LOCAL, pattern_redact
    from .fakes import FakeWhisper, HashEmbedder

    home = tmp_path_factory.mktemp("voices") / "home"
    whisper = FakeWhisper(_whisper_segments())
    archive = Archive(
        home, embedder=HashEmbedder(), tagger=rule_tagger, whisper=lambda: whisper,
        redact=pattern_redact, passage_options=PassageOptions(min_chars=10),
    )  # fmt: skip
    (found,) = archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(title="Entrevista", region="Puno", language="es", consent="restricted"),
        LOCAL,
    )
    passages = archive.passages(found.id, LOCAL)
    assert len(passages) == 3 and all(p.words for p in passages)
    archive.set_speaker(passages[1].id, "S2", LOCAL)
    archive.rename_speaker(found.id, "S1", "Entrevistadora", LOCAL)
    archive.rename_speaker(found.id, "S2", "Rosa Quispe", LOCAL)
    keys = {}
    for role in ("researcher", "archivist"):
        _, key = archive.store.keys.create(role, f"voices {role}", LOCAL)
        keys[role] = {"Authorization": f"Bearer {key}"}
    settings = get_settings(home=home, cache_dir=home.parent / "cache")
    with TestClient(create_app(settings, archive=archive)) as client:
        yield archive, client, keys, found.id
    archive.close()


def _get(client, tid, headers, **params):
    r = client.get(f"/api/v1/testimonies/{tid}/export", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.text


def test_api_exports_named_voices_and_word_times_to_an_archivist(interview):
    archive, client, keys, tid = interview
    content = _get(client, tid, keys["archivist"], format="vtt", words="1")
    vtt = webvtt.from_string(content, strict=True)
    assert [c.voice for c in vtt.captions] == ["Entrevistadora", "Rosa Quispe", "Entrevistadora"]
    stored = archive.passages(tid, ARCHIVIST)
    for caption, p in zip(vtt.captions, stored, strict=True):
        stamps = [round(_seconds(s) * 1000) for s in _STAMP.findall(caption.raw_text)]
        assert len(stamps) == len(p.words) - 1 > 0
        start, end = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        assert all(start < s < end for s in stamps) and stamps == sorted(set(stamps))
    assert not _STAMP.search(_get(client, tid, keys["archivist"], format="vtt"))
    data = json.loads(_get(client, tid, keys["archivist"], format="json", words="true"))
    assert [p["speaker_name"] for p in data["passages"]] == [
        "Entrevistadora", "Rosa Quispe", "Entrevistadora",
    ]  # fmt: skip
    assert [len(p["words"]) for p in data["passages"]] == [len(p.words) for p in stored]
    ohms_xml = _get(client, tid, keys["archivist"], format="ohms")
    assert "ROSA QUISPE: Me llamo" in ohms_xml
    sets = client.get(
        "/api/v1/exports", params={"format": "jsonl", "words": "1"}, headers=keys["archivist"]
    )
    lines = [json.loads(x) for x in sets.text.splitlines()]
    assert [line["speaker"] for line in lines] == ["S1", "S2", "S1"]
    assert all(line["words"] for line in lines)


def test_api_masks_voices_and_gives_no_words_to_a_viewer_who_may_not_see_names(interview):
    _, client, keys, tid = interview
    for fmt in ("vtt", "srt", "txt", "json", "csv", "jsonl", "ohms", "iiif"):
        content = _get(client, tid, keys["researcher"], format=fmt, words="1")
        assert "Entrevistadora" not in content and "Quispe" not in content, fmt
    vtt_text = _get(client, tid, keys["researcher"], format="vtt", words="1")
    vtt = webvtt.from_string(vtt_text, strict=True)
    assert [c.voice for c in vtt.captions] == ["[nombre] (S1)", "[nombre] (S2)", "[nombre] (S1)"]
    assert not _STAMP.search(vtt_text)
    data = json.loads(_get(client, tid, keys["researcher"], format="json", words="1"))
    assert data["masked"] and all(p["words"] == [] for p in data["passages"])
    manifest = json.loads(_get(client, tid, keys["researcher"], format="iiif", words="1"))
    assert len(manifest["items"][0]["annotations"]) == 1, "no words page"


def test_cli_words_flag(interview, monkeypatch, tmp_path):
    from .conftest import fake_cli
    from .fakes import FakeWhisper, HashEmbedder

    archive, _, _, tid = interview
    monkeypatch.setenv("VOCES_HOME", str(archive.home))
    run = fake_cli(monkeypatch, FakeWhisper([]), HashEmbedder())
    out = tmp_path / "x.vtt"
    result = run("export", tid, "--format", "vtt", "--words", "-o", str(out))
    assert result.exit_code == 0, result.output
    vtt = webvtt.read(str(out))
    assert vtt.captions[1].voice == "Rosa Quispe" and _STAMP.search(vtt.captions[1].raw_text)
    masked = run("export", tid, "--format", "vtt", "--words", "--as", "researcher")
    assert masked.exit_code == 0, masked.output
    assert "Quispe" not in masked.output and not _STAMP.search(masked.output)
