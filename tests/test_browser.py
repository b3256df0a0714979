"""The search page end to end in headless Chromium (Debian's, driven by Playwright), as a reader uses it."""
from __future__ import annotations

import re
import shutil
import time
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


DESKTOP = {"viewport": {"width": 1200, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}


@pytest.fixture
def open_page(browser, server, request):
    """open_page(url, DESKTOP or PHONE) -> a page; a test that fails leaves a screenshot of each of its pages in
    test-artifacts/ (git-ignored)."""
    opened = []
    failed_before = request.session.testsfailed

    def open_(url: str = "/", device: dict = DESKTOP):
        context = browser.new_context(**device, base_url=server.base)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        # The page runs under the server's Content-Security-Policy: anything it blocks is an error here.
        pg.on("console", lambda m: errors.append(m.text)
              if m.type == "error" and "Content Security Policy" in m.text else None)
        pg.goto(url)
        opened.append((context, pg, errors))
        return pg

    yield open_
    failed = request.session.testsfailed > failed_before  # the test's call phase is reported before teardown
    for i, (context, pg, errors) in enumerate(opened):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}-{i}.png"), full_page=True)
        context.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(open_page):
    return open_page("/")


def search_for(pg, q: str) -> None:
    """Type a query, press Enter and wait until its results are on the page."""
    pg.fill("#q", q)
    pg.press("#q", "Enter")
    settled(pg, f"new URLSearchParams(location.search).get('q') === {q!r}")


def wait_until(pg, condition: str, timeout: float = 30) -> None:
    """Poll a JavaScript condition from here: Playwright's wait_for_function compiles its predicate inside the
    page, which the page's Content-Security-Policy (no eval) refuses whenever the first check fails."""
    deadline = time.monotonic() + timeout
    while not pg.evaluate(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {condition}")
        pg.wait_for_timeout(50)


def settled(pg, condition: str) -> None:
    wait_until(pg, f"({condition}) && document.getElementById('results').getAttribute('aria-busy') === 'false'")


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
    wait_until(page, "document.getElementById('suggestions').hidden")
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
    period = page.locator("#histogram button.period").first
    label, count = period.locator(".label").inner_text(), int(period.locator(".count").inner_text().replace(",", ""))
    period.click()  # a period's row narrows to it
    settled(page, "new URLSearchParams(location.search).get('from') !== null")
    assert page.input_value("#from") == page.input_value("#to") == period.get_attribute("data-period")
    assert status_count(page) == count and page.locator("#histogram [aria-pressed=true] .label").inner_text() == label
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
    wait_until(page, f"document.getElementById('article-title').textContent === {next_title!r}")
    page.go_back()
    wait_until(page, f"document.getElementById('article-title').textContent === {title!r}")
    page.click("#back")
    settled(page, "!document.getElementById('results').hidden")
    assert page.input_value("#q") == "coffee export quotas"


def test_usable_at_phone_width_and_labelled(open_page):
    pg = open_page("/?q=gold", PHONE)
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


def api(server, path: str) -> dict:
    return server.get(path)[1]


def test_front_page_lists_the_newest_first(page, server):
    settled(page, "document.querySelectorAll('#hits li').length > 0")
    assert page.input_value("#sort") == "newest" and "newest first" in page.inner_text("#status")
    dates = [d.split(" · ")[0] for d in page.locator("#hits li .meta:not(.copies)").all_inner_texts()]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == api(server, "/search?sort=newest&limit=1")["hits"][0]["date"][:10]
    assert "sort" not in page.url  # nothing chosen: a query would rank by relevance
    search_for(page, "coffee")
    assert page.input_value("#sort") == "relevance" and "best match first" in page.inner_text("#status")


def test_histogram_is_labelled_counted_and_shows_the_undated(page, server):
    settled(page, "document.querySelectorAll('#histogram li').length > 0")
    facets = api(server, "/search?limit=1")["facets"]
    rows = page.locator("#histogram button.period")
    shown = {rows.nth(i).get_attribute("data-period"): int(rows.nth(i).locator(".count").inner_text().replace(",", ""))
             for i in range(rows.count())}
    assert shown == {b["start"]: b["count"] for b in facets["dates"] if b["count"]} and shown["1987"] == 1400
    assert all(rows.nth(i).locator(".label").inner_text() for i in range(rows.count()))
    assert page.locator("#histogram .gap").first.inner_text() == "1988 – 2014: none"  # empty years fold
    assert page.inner_text("#histogram .undated .count") == f"{facets['undated']:,}" == "392"
    assert f"{facets['uncategorised']:,}" in page.inner_text("#category-facet li.none")
    search_for(page, "oil")  # months, labelled for people
    assert page.locator("#histogram button.period .label").first.inner_text() == "Feb 1987"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "histogram.png"), full_page=True)


def test_phone_filters_by_a_month_and_a_category_in_three_taps(open_page, server):
    pg = open_page("/?q=oil", PHONE)
    settled(pg, "document.querySelectorAll('#hits li').length > 0")
    toggle = pg.locator("#filters-toggle")
    assert toggle.is_visible() and not pg.locator("#filters").is_visible()
    assert toggle.bounding_box()["y"] + toggle.bounding_box()["height"] <= 740  # above the fold, before the hits
    assert toggle.bounding_box()["y"] < pg.locator("#results").bounding_box()["y"]
    toggle.tap()  # 1
    assert pg.locator("#filters").is_visible()
    assert pg.locator("#filters").bounding_box()["y"] < pg.locator("#results").bounding_box()["y"]
    pg.locator("#histogram button.period[data-period='1987-03']").tap()  # 2
    settled(pg, "new URLSearchParams(location.search).get('from') === '1987-03'")
    pg.locator("#category-facet label", has_text="crude").tap()  # 3
    settled(pg, "new URLSearchParams(location.search).getAll('category').includes('crude')")
    want = api(server, "/search?q=oil&category=crude&from=1987-03&to=1987-03&limit=1")["total"]
    assert 0 < status_count(pg) == want
    assert pg.inner_text("#filters-toggle") == "Filters (2)" and pg.locator("#filters").is_visible()
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "phone-filters.png"), full_page=True)
    pg.locator("#filters-done").tap()
    assert not pg.locator("#filters").is_visible() and pg.locator("#hits li").first.is_visible()


def test_article_view_keeps_the_facets_without_a_focus_box(page):
    search_for(page, "coffee")
    page.locator("#hits li h3 a").first.click()
    page.wait_for_selector("#related li")
    assert page.locator("#filters").is_visible() and page.locator("#category-facet li").count() > 0
    assert page.evaluate("document.activeElement.id") == "article-title"
    for sel in ("#article", "#article-title"):
        assert page.evaluate(f"getComputedStyle(document.querySelector('{sel}')).outlineStyle") == "none"
    page.locator("#category-facet label").first.click()  # a facet from the article: filtered results
    settled(page, "new URLSearchParams(location.search).getAll('category').length === 1")
    assert not page.locator("#results").is_hidden() and page.locator("#article").is_hidden()


def test_the_page_works_under_its_content_security_policy(open_page):
    """Completions, results with highlights, the stylesheet's layout, a facet and an article with its related
    posts, and not one violation (open_page fails the test on any)."""
    pg = open_page("/")
    pg.locator("#q").press_sequentially("oil pr", delay=40)
    pg.locator("#suggestions li[role=option]").first.wait_for()
    pg.press("#q", "Enter")
    pg.locator("#hits .snippet b").first.wait_for()
    filters, results = pg.locator("#filters").bounding_box(), pg.locator("#results").bounding_box()
    assert filters["x"] + filters["width"] <= results["x"]  # the stylesheet's two columns
    pg.locator("#category-facet label").first.click()
    pg.locator("#category-facet input:checked").wait_for()
    pg.locator("#hits li h3 a").first.click()
    pg.locator("#related li.related-item a").first.wait_for()


def test_did_you_mean_corrects_a_misspelt_query(page):
    search_for(page, "goverment spending")
    assert page.is_visible("#did-you-mean")
    assert page.inner_text("#did-you-mean-link") == "government spending"
    assert page.locator("#hits .snippet b").count() > 0  # the corrected word is highlighted
    page.click("#did-you-mean-link")
    # Waited for from Playwright's side: a predicate evaluated in the page would be refused by its CSP.
    sync_api.expect(page).to_have_url(re.compile(r"q=government\+spending"))
    sync_api.expect(page.locator("#did-you-mean")).to_be_hidden()
    assert page.input_value("#q") == "government spending"
