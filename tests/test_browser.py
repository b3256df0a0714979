"""The search page end to end in headless Chromium (Debian's, driven by Playwright), as a reader uses it."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install -e '.[test]'")
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        # No background networking: this machine's network is closed and Chromium would keep trying.
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=server.base)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # The page runs under the server's Content-Security-Policy: anything it blocks is an error here.
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security Policy" in m.text
          else None)
    pg.goto("/")
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def search_for(pg, q: str) -> None:
    """Type a query, press Enter and wait until its results are on the page."""
    pg.fill("#q", q)
    pg.press("#q", "Enter")
    settled(pg, f"new URLSearchParams(location.search).get('q') === {q!r}")


def settled(pg, condition: str) -> None:
    pg.wait_for_function(f"({condition}) && document.getElementById('results').getAttribute('aria-busy') === 'false'")


def status_count(pg) -> int:
    text = pg.inner_text("#status")
    m = re.match(r"([\d,]+) results?", text)
    assert m, text
    return int(m.group(1).replace(",", ""))


def test_results_follow_typing_with_highlights(page):
    page.locator("#q").press_sequentially("oil pr", delay=40)
    page.wait_for_selector("#suggestions li[role=option]")
    options = page.locator("#suggestions li[role=option]").all_inner_texts()
    assert any(o.startswith("oil prices") for o in options)
    settled(page, "document.querySelectorAll('#hits li').length > 0")
    assert status_count(page) > 10
    assert page.locator("#hits .snippet b").count() > 0  # highlighted matches
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-as-you-type.png"))


def test_keyboard_picks_a_completion(page):
    page.locator("#q").press_sequentially("coff", delay=40)
    page.wait_for_selector("#suggestions li[role=option]")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#q", "aria-activedescendant")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('suggestions').hidden")
    assert page.input_value("#q").strip() == "coffee"
    settled(page, "new URLSearchParams(location.search).get('q') === 'coffee'")
    assert status_count(page) > 5


def test_facet_click_filters_and_counts_agree(page):
    search_for(page, "prices")
    first = page.locator("#category-facet li").first
    name, count = first.locator("label span").all_inner_texts()
    count = int(count.replace(",", ""))
    total_before = status_count(page)
    first.locator("label").click()
    settled(page, f"new URLSearchParams(location.search).getAll('category').includes({name!r})")
    assert status_count(page) == count <= total_before
    assert page.locator("#category-facet input:checked").count() == 1
    page.locator("#histogram button").first.click()  # a date bar narrows to its period
    settled(page, "new URLSearchParams(location.search).get('from') !== null")
    assert page.input_value("#from") == page.input_value("#to") != ""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "facets.png"), full_page=True)


def test_article_view_with_related_posts(page):
    search_for(page, "coffee export quotas")
    title = page.locator("#hits li h3 a").first.inner_text()
    page.locator("#hits li h3 a").first.click()
    page.wait_for_selector("#related li.related-item")
    assert page.inner_text("#article-title") == title
    assert len(page.inner_text("#article-body")) > 200
    related = page.locator("#related li.related-item a")
    assert 1 <= related.count() <= 8
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "article-related.png"), full_page=True)
    next_title = related.first.inner_text()
    related.first.click()
    page.wait_for_function(f"document.getElementById('article-title').textContent === {next_title!r}")
    page.go_back()
    page.wait_for_function(f"document.getElementById('article-title').textContent === {title!r}")
    page.click("#back")
    settled(page, "!document.getElementById('results').hidden")
    assert page.input_value("#q") == "coffee export quotas"


def test_usable_at_phone_width_and_labelled(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=server.base)
    pg = context.new_page()
    pg.goto("/?q=gold")
    settled(pg, "document.querySelectorAll('#hits li').length > 0")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375  # nothing runs off the side
    unlabelled = pg.evaluate("""[...document.querySelectorAll('input, select')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby')).map(e => e.id)""")
    assert unlabelled == []
    pg.keyboard.press("Tab")  # the skip link comes first, then the search box
    assert pg.evaluate("document.activeElement.className") == "skip"
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.id") == "q"
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=False)
    context.close()
