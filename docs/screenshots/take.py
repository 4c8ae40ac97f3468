"""Screenshots of each page for the README, from a running `voces demo` (or serve).

    VOCES_HOME=... voces keys create --role archivist --name screenshots   # prints a key
    python docs/screenshots/take.py http://127.0.0.1:8000 voces_...      # writes PNGs here

Uses Debian's chromium through Playwright (VOCES_CHROMIUM to point elsewhere)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).parent


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(base + "/")
    page.wait_for_selector("#signin-button:not(:empty)")
    page.click("#signin-button")
    page.fill("#signin-key", key)
    page.click("#signin-ok")
    page.wait_for_selector("#who:has-text('archivista')")


def main(base: str, key: str) -> None:
    chromium = os.environ.get("VOCES_CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(base + "/search?q=el+r%C3%ADo+se+volvi%C3%B3+naranja")
        page.wait_for_selector("#hits li")
        page.locator("#hits [data-similar]").first.click()
        page.wait_for_selector("#hits .similar:not([hidden])")
        page.screenshot(path=HERE / "search.png")
        page.goto(base + "/themes")
        page.wait_for_selector("#heatmap svg")
        page.locator("#heatmap .cell").nth(1).click()
        page.screenshot(path=HERE / "themes.png", full_page=True)
        sign_in(page, base, key)
        items = page.evaluate(
            "fetch('/api/v1/testimonies?limit=100', {headers: {Authorization: 'Bearer ' + "
            "sessionStorage.getItem('voces.key')}}).then(r => r.json())"
        )
        for t in items["items"]:
            if t["source_kind"] != "audio":
                continue
            page.goto(f"{base}/testimonies/{t['id']}")
            page.wait_for_selector("#transcript > li")
            if page.locator("#transcript .seek").count() >= 2:
                break
        page.locator("#transcript > li").nth(1).locator(".seek").click()
        page.wait_for_selector("#transcript > li.current")
        page.evaluate("document.querySelector('#testimony-audio').pause()")
        page.locator("#transcript details").first.evaluate("d => d.open = true")
        page.screenshot(path=HERE / "testimony.png")
        page.goto(base + "/upload")
        page.wait_for_selector("#upload")
        page.set_input_files("#files", [str(HERE.parent.parent / "tests/data/es_rio.ogg")])
        page.fill("#u-region", "Puno")
        page.check("#c-restricted")
        page.click("#upload button.primary")
        page.wait_for_selector("#uploads li .detail a", timeout=120_000)
        page.screenshot(path=HERE / "upload.png")
        page.goto(base + "/review")
        page.wait_for_selector("#card .question")
        page.screenshot(path=HERE / "review.png")
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(base + "/search?q=they+took+our+land")
        phone.wait_for_selector("#hits li")
        phone.screenshot(path=HERE / "phone-search.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2])
