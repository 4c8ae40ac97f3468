"""The testimony page with voices and words (issue 29), in a real browser: Playwright
driving Debian's chromium against a live server over an archive holding a diarized,
word-timed recording (the browser, HTTP, SQLite and the real audio are real; Whisper and
the embedder are the usual fast stand-ins).

Checked: turns open with the voice's name, words are spans that seek the player to their
start, the word being heard is marked, doubtful words are marked and counted and the
"next" control walks through them from the keyboard, and a viewer who may not see names
gets masked voices and no word at all. Skipped where no chromium is installed (unless
VOCES_BROWSER_TESTS=required), as tests/test_browser.py."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn

from api.app import create_app
from api.settings import get_settings
from pipeline import Archive, Metadata, PassageOptions
from pipeline.transcribe import DOUBT_BELOW

from .conftest import DATA, LOCAL, pattern_redact
from .fakes import FakeWhisper, HashEmbedder
from .test_browser import CHROMIUM, _axe_serious, _free_port, _shot, _sign_in

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed")

#: What the fake recogniser hears in es_rio.ogg (7.5 s): three sentences, one passage
#: each; the word at index ``doubt`` of a sentence gets probability ``p``.
HEARD = [
    (0.0, 2.4, "¿Cómo se llama usted y de dónde viene?", 2, 0.55),
    (2.6, 5.0, "Me llamo Rosa y vivo en Ilave desde niña.", 4, 0.62),
    (5.2, 7.4, "Gracias por contarnos su historia.", -1, 1.0),
]
NAMES = ["Entrevistadora", "Rosa Quispe", "Entrevistadora"]


def _segments():
    out = []
    for start, end, sentence, doubt, p in HEARD:
        words = sentence.split()
        step = (end - start) / len(words)
        timed = [
            (
                round(start + i * step, 3),
                round(start + (i + 1) * step - 0.04, 3),
                " " + w,
                p if i == doubt else 0.96,
            )
            for i, w in enumerate(words)
        ]
        out.append((start, end, sentence, timed))
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory, rule_tagger):
    home = tmp_path_factory.mktemp("page-words")
    settings = get_settings(home=home, cache_dir=home / "cache")
    whisper = FakeWhisper(_segments())
    archive = Archive(
        home, HashEmbedder(), rule_tagger, whisper=lambda: whisper, redact=pattern_redact,
        passage_options=PassageOptions(min_chars=10),
    )  # fmt: skip
    (found,) = archive.ingest_paths(
        [DATA / "es_rio.ogg"],
        Metadata(title="Entrevista en Ilave", region="Puno", language="es", consent="restricted"),
        LOCAL,
    )
    passages = archive.passages(found.id, LOCAL)
    assert len(passages) == 3 and all(p.words for p in passages)
    archive.set_speaker(passages[1].id, "S2", LOCAL)
    archive.rename_speaker(found.id, "S1", "Entrevistadora", LOCAL)
    archive.rename_speaker(found.id, "S2", "Rosa Quispe", LOCAL)
    keys = {
        role: archive.store.keys.create(role, f"words {role}", LOCAL)[1]
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
    yield {
        "base": f"http://127.0.0.1:{port}",
        "archive": archive,
        "keys": keys,
        "id": found.id,
        "passages": archive.passages(found.id, LOCAL),
    }
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


def _open(page, site, role):
    _sign_in(page, site, role)
    page.goto(f"{site['base']}/testimonies/{site['id']}")
    page.locator("#transcript > li").first.wait_for()


def test_archivist_sees_turns_and_words_and_a_word_seeks_the_player(page, site):
    _open(page, site, "archivist")
    passages = site["passages"]
    words = [w for p in passages for w in p.words]
    spans = page.locator("#transcript .w")
    assert spans.count() == len(words)
    assert spans.all_text_contents() == [w.text for w in words]
    # each turn opens with its voice (the third passage is the interviewer again)
    assert page.locator("#transcript .turn").all_text_contents() == NAMES
    assert page.locator(".voices .voice-name").all_text_contents() == NAMES[:2]
    # clicking a word puts the player at its start (not the passage's)
    second = passages[1]
    word = second.words[4]
    assert word.start - second.start > 1.0
    page.locator(f"#p{second.id} .w").nth(4).click()
    page.wait_for_function(
        "(at) => { const a = document.querySelector('#testimony-audio');"
        " return a.readyState >= 1 && Math.abs(a.currentTime - at) < 0.25 }",
        arg=word.start,
    )
    # while it plays the word being heard is marked, inside the passage being heard
    page.wait_for_selector(f"#p{second.id}.current .w.now")
    page.evaluate("document.querySelector('#testimony-audio').pause()")
    _shot(page, "testimony-words")


def test_doubtful_words_are_marked_counted_and_reached_from_the_keyboard(page, site):
    _open(page, site, "archivist")
    doubtful = [
        w for p in site["passages"] for w in p.words if w.probability < DOUBT_BELOW and not w.edited
    ]
    assert len(doubtful) == 2
    assert page.locator("#doubt-count").inner_text() == "2 palabras por revisar"
    marked = page.locator("#transcript .w.doubt")
    assert marked.all_text_contents() == [w.text for w in doubtful]
    assert marked.first.get_attribute("title") == (
        f"Whisper no estaba seguro de esta palabra (p={doubtful[0].probability:.2f})"
    )
    # the control walks through them in order, from the keyboard
    page.locator("#next-doubt").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == doubtful[0].text
    page.locator("#next-doubt").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == doubtful[1].text
    # a focused word plays from its start with Enter
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(at) => Math.abs(document.querySelector('#testimony-audio').currentTime - at) < 0.25",
        arg=doubtful[1].start,
    )
    page.evaluate("document.querySelector('#testimony-audio').pause()")
    page.click("#lang-button")
    page.wait_for_selector("#doubt-count:has-text('2 words to check')")
    assert _axe_serious(page) == []


def test_a_viewer_who_may_not_see_names_gets_no_words(page, site):
    _open(page, site, "researcher")
    assert page.locator("#transcript > li").count() == 3
    assert page.locator("#transcript .w").count() == 0
    assert page.locator("#doubt-count").count() == 0
    # two voices masked alike stay two voices
    assert page.locator("#transcript .turn").all_text_contents() == [
        "[nombre] (S1)",
        "[nombre] (S2)",
        "[nombre] (S1)",
    ]
    html = page.content()
    assert "Entrevistadora" not in html and "Quispe" not in html
    _shot(page, "testimony-words-masked")
