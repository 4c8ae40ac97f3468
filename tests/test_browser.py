"""The pages in a real browser: Playwright driving Debian's chromium (headless) against
a live server (uvicorn in a thread) over an archive of the illustrative demo corpus, a
restricted testimony, and fast stand-in models (hash embedder, rule tagger, a scripted
Whisper); the browser, HTTP, SQLite, FAISS and the job worker are all real.

Where no chromium is installed these tests are skipped, unless VOCES_BROWSER_TESTS=
required (CI sets it), where they fail instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.demo import ingest_demo
from api.settings import get_settings
from corpus import Viewer
from pipeline import Archive, Metadata, read_text_items

from .conftest import DATA, pattern_redact
from .fakes import FakeWhisper, HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = os.environ.get("VOCES_SCREENSHOTS", "")  # a folder: save each page there

SECRET_TITLE = "Testimonio reservado de Chumbivilcas"
SECRET_WORDS = "quemaron la casa comunal de Uchucarcco"


def _chromium() -> str | None:
    for name in (os.environ.get("VOCES_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


CHROMIUM = _chromium()
if CHROMIUM is None and os.environ.get("VOCES_BROWSER_TESTS") == "required":
    raise RuntimeError("VOCES_BROWSER_TESTS=required but no chromium is installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")

# segments long enough to be one passage each, so passages start at 0, 7 and 14 s
WHISPER = FakeWhisper(
    [
        (
            0.0,
            7.0,
            "El agua del río bajaba turbia y con olor a metal desde que abrieron la mina "
            "arriba, en el cerro.",
        ),
        (
            7.0,
            14.0,
            "Las ovejas tomaban esa agua y se morían, una tras otra, en toda la quebrada "
            "donde vivimos.",
        ),
        (
            14.0,
            18.0,
            "Nos quitaron las tierras de pastoreo y nadie nos pagó lo que valían, ni un "
            "sol por hectárea.",
        ),
    ]
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp("browser-home")
    settings = get_settings(home=home, cache_dir=home / "cache", worker=True)
    archive = Archive(
        home, HashEmbedder(), rule_tagger, whisper=lambda: WHISPER, redact=pattern_redact
    )
    local = Viewer.local("browser-test")
    ingest_demo(archive, ROOT / "demo", local)
    restricted = tmp_path_factory.mktemp("restricted") / "restricted.jsonl"
    record = {
        "id": "restricted-chumbivilcas",
        "title": SECRET_TITLE,
        "region": "Cusco",
        "community": "Uchucarcco",
        "date": "2021-03-02",
        "language": "es",
        "consent": "restricted",
        "text": f"En la noche {SECRET_WORDS} y nos acusaron a nosotros. "
        "La mina quiere el cerro y el agua de la laguna.",
    }
    restricted.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")
    archive.ingest_texts(read_text_items(restricted, Metadata()), local)
    keys = {
        role: archive.store.keys.create(role, f"browser {role}", local)[1]
        for role in ("researcher", "archivist")
    }
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, archive=archive), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "archive": archive, "keys": keys}
    server.should_exit = True
    thread.join(timeout=30)
    archive.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="es-PE")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"script errors in the page: {errors}"


def _sign_in(page, site, role):
    if not page.url.startswith(site["base"]):
        page.goto(site["base"] + "/")
    page.wait_for_selector("#signin-button:not(:empty)")
    page.click("#signin-button")
    page.fill("#signin-key", site["keys"][role])
    page.click("#signin-ok")
    page.wait_for_selector(
        f"#who:has-text('{'archivista' if role == 'archivist' else 'investigador'}')"
    )


def _shot(page, name):
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _audio_testimony(site) -> str:
    items, _ = site["archive"].store.list_testimonies(Viewer.system(), limit=500)
    return next(t.id for t in items if t.source_kind == "audio" and t.region == "Puno")


def test_search_plays_the_recording_at_the_passage(page, site):
    page.goto(site["base"] + "/search?q=ovejas+se+mor%C3%ADan+en+la+quebrada&region=Puno")
    button = page.locator("#hits [data-play]").first
    button.wait_for()
    start = float(button.get_attribute("data-start"))
    assert start == 7.0, "the best passage is the second one, which starts at 7 s"
    # highlights of the query's words, theme chips, a shareable URL with the filters
    assert page.locator("#hits mark").count() >= 1
    assert "region=Puno" in page.url and "q=ovejas" in page.url
    button.click()
    page.wait_for_function(
        "() => { const a = document.querySelector('#player');"
        " return a.readyState >= 1 && Math.abs(a.currentTime - 7) < 1.5 }"
    )
    assert abs(page.evaluate("document.querySelector('#player').currentTime") - start) < 1.5
    _shot(page, "search")


def test_same_story_in_other_regions(page, site):
    page.goto(site["base"] + "/search?q=the+river+turned+orange")
    page.locator("#hits [data-similar]").first.click()
    box = page.locator("#hits .similar").first
    box.wait_for(state="visible")
    first_region = page.locator("#hits > li .meta").first.inner_text().split(",")[0].split(" · ")[0]
    regions = [m.split(",")[0].split(" · ")[0] for m in box.locator(".meta").all_inner_texts()]
    assert regions and first_region not in regions


def test_testimony_page_seeks_highlights_and_shows_evidence(page, site):
    tid = _audio_testimony(site)
    page.goto(f"{site['base']}/testimonies/{tid}")
    page.locator("#transcript > li").first.wait_for()
    assert page.locator("h1 .badge.public").count() == 1
    assert page.locator("h1 .badge.illustrative").count() == 1
    # clicking a passage seeks the player there and the passage being heard is marked
    second = page.locator("#transcript > li").nth(1)
    start = float(second.get_attribute("data-start"))
    second.locator(".seek").click()
    page.wait_for_function(
        f"() => Math.abs(document.querySelector('#testimony-audio').currentTime - {start}) < 1.5"
    )
    page.wait_for_selector("#transcript > li.current")
    current = float(page.locator("#transcript > li.current").first.get_attribute("data-start"))
    assert current == start
    # evidence of the tags is on the page
    assert page.locator("#transcript details").count() >= 1
    # captions download from the page, and a WebVTT parser reads them
    import webvtt

    with page.expect_download() as vtt:
        page.click("#exports [data-export=vtt]")
    captions = webvtt.read(vtt.value.path())
    assert [c.start for c in captions][:2] == ["00:00:00.000", "00:00:07.000"]
    _shot(page, "testimony")


def test_restricted_testimony_is_invisible_signed_out(page, site):
    base = site["base"]
    page.goto(base + "/testimonies/restricted-chumbivilcas")
    page.wait_for_selector("main .note")
    page.goto(base + "/search?q=" + SECRET_WORDS.replace(" ", "+"))
    page.wait_for_selector("#status:not(:empty)")
    page.wait_for_function("() => !document.querySelector('#status').textContent.includes('…')")
    page.goto(base + "/themes?by=community")
    page.wait_for_selector("#heatmap svg")
    for path in (
        "/testimonies/restricted-chumbivilcas",
        "/search?q=casa+comunal+quemaron",
        "/themes?by=community",
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        html = page.content()
        assert SECRET_TITLE not in html and SECRET_WORDS not in html and "Uchucarcco" not in html
    # the researcher, signed in, sees it (so the check above looks at a real difference)
    _sign_in(page, site, "researcher")
    page.goto(base + "/testimonies/restricted-chumbivilcas")
    page.wait_for_selector("h1 .badge.restricted")
    assert SECRET_TITLE in page.content()


def test_review_a_tag_and_see_the_count_change(page, site):
    _sign_in(page, site, "archivist")
    page.goto(site["base"] + "/review")
    page.wait_for_selector("#card .question")
    total = page.locator("#review-total")
    page.wait_for_function(
        "() => /^\\d+$/.test(document.querySelector('#review-total').textContent)"
    )
    before = int(total.inner_text())
    question = page.locator("#card .question").inner_text()
    page.keyboard.press("y")  # one keystroke per verdict
    page.wait_for_function(
        f"() => document.querySelector('#review-total').textContent === '{before + 1}'"
    )
    page.keyboard.press("n")
    page.wait_for_function(
        f"() => document.querySelector('#review-total').textContent === '{before + 2}'"
    )
    assert (
        site["archive"].store.review_totals()
        and sum(site["archive"].store.review_totals().values()) == before + 2
    )
    assert question
    _shot(page, "review")


def test_correct_a_transcript_line_keeps_its_times(page, site):
    tid = _audio_testimony(site)
    archive = site["archive"]
    before = archive.passages(tid, Viewer.system())[0]
    _sign_in(page, site, "archivist")
    page.goto(f"{site['base']}/testimonies/{tid}")
    first = page.locator(f"#p{before.id}")
    first.locator("[data-edit]").click()
    page.fill(
        f"#edit-{before.id}",
        "El agua del río bajaba turbia y olía a metal desde que abrió la mina.",
    )
    page.fill(f"#note-{before.id}", "escuchado otra vez")
    page.click(f"#p{before.id} form button.primary")
    page.wait_for_selector(f"#p{before.id} .history details")
    after = archive.passages(tid, Viewer.system())[0]
    assert after.text.startswith("El agua del río bajaba turbia y olía")
    assert (after.start, after.end) == (before.start, before.end)
    assert page.locator(f"#p{before.id} .seek").inner_text() == "0:00"
    assert float(page.locator(f"#p{before.id}").get_attribute("data-start")) == before.start


def test_upload_shows_progress_then_search_finds_it(page, site, tmp_path):
    _sign_in(page, site, "archivist")
    page.goto(site["base"] + "/upload")
    page.set_input_files("#files", [str(DATA / "es_rio.ogg")])
    page.fill("#u-title", "Subida desde el navegador")
    page.fill("#u-region", "Huancavelica")
    page.check("#c-public")
    page.click("#upload button.primary")
    row = page.locator("#uploads li").first
    row.wait_for()
    page.wait_for_function(
        "() => { const li = document.querySelector('#uploads li');"
        " return li && li.querySelector('.detail a'); }",
        timeout=60_000,
    )
    assert row.locator("progress").get_attribute("value") == "100"
    _shot(page, "upload")
    # a file that is not audio is refused with its own message, the others unaffected
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8)
    page.set_input_files("#files", [str(bad)])
    page.check("#c-public")
    page.click("#upload button.primary")
    page.wait_for_selector("#uploads li .detail.error")
    assert "notes.pdf" in page.locator("#uploads li").nth(1).inner_text()
    page.goto(site["base"] + "/search?q=ovejas+quebrada&region=Huancavelica")
    page.wait_for_selector("#hits li")
    assert "Subida desde el navegador" in page.locator("#hits").inner_text()


def test_heatmap_renders_on_the_demo_and_downloads(page, site):
    page.goto(site["base"] + "/themes")
    page.wait_for_selector("#heatmap svg .cell")
    themes = len(site["archive"].tagger.taxonomy.themes)
    regions = len(
        {t.region for t in site["archive"].store.list_testimonies(Viewer.anonymous(), limit=500)[0]}
    )
    assert page.locator("#heatmap .cell").count() == themes * regions
    assert re.search(r"\d+%", page.locator("#heatmap svg").inner_html())
    page.locator("#heatmap .cell").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#quotes h2")
    with page.expect_download() as svg:
        page.click("#dl-svg")
    assert svg.value.suggested_filename.endswith(".svg")
    assert "<svg" in Path(svg.value.path()).read_text("utf-8")
    with page.expect_download() as png:
        page.click("#dl-png")
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as csv:
        page.click("#dl-csv")
    assert Path(csv.value.path()).read_text("utf-8").splitlines()[0].startswith("theme")
    _shot(page, "themes")


def test_interface_language_switch(page, site):
    page.goto(site["base"] + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Buscar testimonios"
    page.click("#lang-button")
    assert page.locator("html").get_attribute("lang") == "en"
    page.wait_for_selector("h1:has-text('Search testimonies')")
    # both languages hold every text, and every text the script asks for exists
    es, en = page.evaluate(
        """() => {
          const flat = (o, p = "") => Object.entries(o).flatMap(([k, v]) =>
            typeof v === "object" ? flat(v, p + k + ".") : [p + k]);
          return [flat(TEXT.es), flat(TEXT.en)];
        }"""
    )
    assert set(es) ^ set(en) == set(), "texts missing from one language"
    script = (ROOT / "api" / "static" / "app.js").read_text("utf-8")
    asked = set(re.findall(r"""\bt\(["']([\w.]+)["']""", script))
    assert len(asked) > 50 and asked - set(es) == set(), asked - set(es)


@pytest.mark.parametrize(
    "path,role",
    [
        ("/search?q=agua+contaminada", None),
        ("/themes", None),
        ("/testimonies/{audio}", "archivist"),
        ("/upload", "archivist"),
        ("/review", "archivist"),
    ],
)
def test_no_serious_accessibility_violations(page, site, path, role):
    if role:
        _sign_in(page, site, role)
    page.goto(site["base"] + path.format(audio=_audio_testimony(site)))
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("main h1")
    assert _axe_serious(page) == []


def test_keyboard_reaches_search_and_results(page, site):
    page.goto(site["base"] + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.locator("#q").focus()
    page.keyboard.type("relaves en el río")
    page.keyboard.press("Enter")
    page.wait_for_selector("#hits li")
    assert "q=relaves" in page.url


def test_no_request_leaves_the_server(page, site):
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(site["base"]) and not r.url.startswith(("blob:", "data:"))
            else None
        ),
    )
    for path in ("/", "/themes", "/search?q=agua"):
        page.goto(site["base"] + path)
        page.wait_for_load_state("networkidle")
    assert outside == []
