"""Articles out of pages and exports: the seed page dump field by field, real HTML, field-name mapping."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import CORPUS, needs_shared, newssearch
from newssearch.indexer import extract
from newssearch.indexer.records import read_csv, read_json, read_jsonl
from newssearch.indexer.reuters import read_sgml
from newssearch.indexer.scoring import expected_text, ngram_prf  # bench/extraction.py scores alike
from newssearch.indexer.sources import read_bytes

SEED = CORPUS / "pages" / "dumps" / "blms-peace-talks.txt"
MENU_AND_WIDGETS = ["Related Posts", "Top Posts", "Subscribe", "Facebook", "Don't Miss", "Previous Article",
                    "Source link", "Leave A Reply", "Privacy Policy", "Breaking News", "Our Picks"]


def test_seed_page_dump_field_by_field():
    proc = newssearch("extract", SEED, "--json")
    (article,) = json.loads(proc.stdout)
    assert article["title"] == "Second round of Russia-Ukraine peace talks end swiftly with no major breakthrough"
    assert article["date"] == "2025-06-02T00:00:00Z"
    assert article["categories"] == ["World"]
    assert article["authors"] == ["BLMS MEDIA"]
    assert article["site"] == "BLMS Media"
    body = article["body"]
    assert body.startswith("Russian and Ukrainian delegates met in Istanbul on Monday")
    assert body.endswith("strong new sanctions are urgently, urgently needed.”")
    assert "codenamed “Spiderweb,”" in body
    for junk in MENU_AND_WIDGETS:
        assert junk not in body, junk
    assert len(body.split()) > 800


def test_extract_human_output():
    out = newssearch("extract", SEED).stdout
    assert "title: Second round of Russia-Ukraine" in out and "date: 2025-06-02" in out


def test_real_html_page_with_metadata():
    a = extract(read_bytes(CORPUS / "pages" / "html" / "nytimes-1.html.gz"))
    assert a.title == "United States to Lift Sudan Sanctions"
    assert a.date == datetime(2017, 1, 13, 5, 0, 4, tzinfo=timezone.utc)  # stated to the second
    assert a.authors == ["Jeffrey Gettleman"]
    assert a.categories == ["Africa"]
    assert a.url == a.id == "https://www.nytimes.com/2017/01/13/world/africa/sudan-sanctions.html"  # canonical
    assert "lift trade sanctions" in a.body


def test_real_page_dump_made_with_w3m():
    a = extract(read_bytes(CORPUS / "pages" / "dumps" / "herald-sun-1.txt"), kind="pagedump")
    assert a.title == "Angry media won’t buckle over new surveillance laws"
    assert a.date == datetime(2015, 3, 13, tzinfo=timezone.utc)
    assert "metadata" in a.body


@pytest.mark.parametrize("json_ld", [
    '{"@type": "NewsArticle", "headline": "Bridge vote", "articleSection": []}',
    '{"@type": "NewsArticle", "headline": "Bridge vote", "articleSection": ["Local", "Transport"]}',
    "[" * 100_000 + "]" * 100_000,  # nested past the JSON parser's recursion limit
    '{"@type": "NewsArticle", "headline": ',  # truncated
])
def test_odd_json_ld_never_loses_the_page(json_ld):
    story = "The council voted on Tuesday to rebuild the old bridge over the river after years of debate. " * 5
    html = (f'<html><head><title>Bridge vote</title><script type="application/ld+json">{json_ld}</script>'
            f"</head><body><article><p>{story}</p></article></body></html>")
    a = extract(html)
    assert a.title == "Bridge vote" and "rebuild the old bridge" in a.body
    assert a.categories == (["Local"] if "Local" in json_ld else [])


def test_page_with_no_article_is_an_error():
    with pytest.raises(ValueError, match="no article text"):
        extract("Home\nAbout\nContact\n", kind="pagedump")
    with pytest.raises(ValueError, match="no article text"):
        extract("<html><body><nav>Home</nav></body></html>")


def test_field_names_of_common_exports():
    line = json.dumps({"link": "https://ex.com/a", "headline": "A", "content": "<p>One.</p><p>Two.</p>",
                       "pubDate": "Mon, 02 Jun 2025 10:00:00 +0200", "topics": "World > Europe; Politics",
                       "Authors": ["Ann Lee", "Bo Chen"], "publisher": "Example News"}).encode()
    (a,) = read_jsonl(line, "f.jsonl")
    assert a.id == a.url == "https://ex.com/a"
    assert a.title == "A" and a.body == "One.\n\nTwo."
    assert a.date == datetime(2025, 6, 2, 8, 0, tzinfo=timezone.utc)
    assert a.categories == ["World/Europe", "Politics"]
    assert a.authors == ["Ann Lee", "Bo Chen"] and a.site == "Example News"
    (b,) = read_json(b'{"items": [{"title": {"rendered": "T"}, "body": "Text.", "byline": "X and Y"}]}', "f.json")
    assert b.title == "T" and b.authors == ["X", "Y"] and b.id.startswith("sha1:")
    (c,) = read_csv(b"Title\tArticle\tdate\nT\tSome text.\t1717322400\n", "f.tsv")
    assert c.date == datetime(2024, 6, 2, 10, 0, tzinfo=timezone.utc)


def test_content_hash_id_is_stable_and_title_derived():
    (a,) = read_csv(b"text,category\nMarkets rally on rate hopes Shares rose.,business\n", "x.csv")
    (b,) = read_csv(b"text,category\nMarkets rally on rate hopes Shares rose.,business\n", "y.csv")
    assert a.id == b.id and a.id.startswith("sha1:")
    assert a.title.startswith("Markets rally on rate hopes")


def test_reuters_sgml_including_the_latin1_file():
    a = list(read_sgml(read_bytes(needs_shared("reuters21578", "reut2-000.sgm")), "reut2-000.sgm"))
    assert len(a) == 925 and a[0].id == "reuters-21578:1" and a[0].title == "BAHIA COCOA REVIEW"
    assert a[0].date == datetime(1987, 2, 26, 15, 1, 1, tzinfo=timezone.utc)
    assert a[0].body.startswith("Showers continued throughout the week in the Bahia cocoa zone")
    assert a[0].authors == [] and a[0].categories == ["cocoa"]
    latin = list(read_sgml(read_bytes(needs_shared("reuters21578", "reut2-017.sgm")), "reut2-017.sgm"))
    assert len(latin) > 900 and all(hasattr(x, "body") for x in latin)


# --- Real pages against Readability's expected article (../shared/data/readability-pages) ---------------------
@pytest.mark.parametrize("page,title,day,author,section,min_f1", [
    ("theverge", "Apple’s Vision Pro is the Retina display moment for headsets", "2023-06-07",
     "Alex Heath", "front-page", 0.9),  # the headline the page shows (its <h1>), not the reworded JSON-LD one
    ("telegraph", "Zimbabwe coup: Robert Mugabe and wife Grace 'insisting he finishes his term', as priest "
     "steps in to mediate", "2017-11-16", "Our Foreign Staff", "News", 0.95),
    ("wikipedia-4", "List of films featuring time loops", "2014-03-27", None, None, 0.95),  # tables kept
    ("aktualne", "West Ham hrozí gigantům, okouzlil i Linekera. Součka je snadné přehlédnout", "2021-11-01",
     "Aleš Vávra", "Zahraniční ligy", 0.9),  # JSON-LD "name" is the site's: the <title> says the headline
    ("003-metadata-preferred", "Dublin Core property title", None, None, None, 0.6),
])
def test_real_html_pages(page, title, day, author, section, min_f1):
    folder = needs_shared("readability-pages", page)
    a = extract((folder / "source.html").read_bytes())
    assert a.title == title
    assert (a.date.date().isoformat() if a.date else None) == day
    if author:
        assert a.authors == [author]
    if section:
        assert a.categories == [section]
    assert ngram_prf(a.body, expected_text(folder))[2] >= min_f1


@pytest.mark.parametrize("dump,title,day,min_f1", [
    ("cnn", "The 'birth lottery' and economic mobility", "2016-02-01", 0.9),
    ("herald-sun-1", "Angry media won’t buckle over new surveillance laws", "2015-03-13", 0.85),
    ("bbc-1", "Obama admits US gun laws are his 'biggest frustration'", "2015-07-24", 0.85),
])
def test_real_page_dumps_against_the_expected_article(dump, title, day, min_f1):
    """w3m dumps shipped in corpus/, scored against the article Readability extracts from the same page."""
    folder = needs_shared("readability-pages", dump)
    a = extract(read_bytes(CORPUS / "pages" / "dumps" / f"{dump}.txt"), kind="pagedump")
    assert a.title == title and a.date.date().isoformat() == day
    precision, recall, f1 = ngram_prf(a.body, expected_text(folder))
    whole = ngram_prf((CORPUS / "pages" / "dumps" / f"{dump}.txt").read_text(encoding="utf-8"),
                      expected_text(folder))
    assert f1 >= min_f1 and precision > whole[0]  # cleaner than the page, most of the article kept


def test_dump_byline_without_handles():
    a = extract(read_bytes(CORPUS / "pages" / "dumps" / "cnn.txt"), kind="pagedump")
    assert a.authors == ["Ahiza Garcia"]


# --- Crafted dumps: what one page cannot tell, the site's other pages can -------------------------------------
NEWSLETTER = ("Get the Morning Briefing in your inbox every day. We will never share your address with anyone,\n"
              "and you can unsubscribe at any time.")


def _dump(title: str, story: str) -> str:
    menu = "  • Home\n  • World\n  • Business\n  • Sport\n"
    return f"Daily Example\n\n{menu}\n{title}\n\nBy Ann Lee | March 3, 2024\n\n{story}\n\n{NEWSLETTER}\n\n" \
           f"{story.replace('.', ' again.')}\n\nCopyright 2024 Daily Example. All rights reserved.\n"


STORIES = [f"The council of town number {i} voted on Tuesday to rebuild the old bridge over the river, after "
           f"years of debate about its cost and about who should pay for the work that engineers say is urgent."
           for i in range(4)]


def test_site_template_learnt_from_a_folder_of_dumps(tmp_path):
    site = tmp_path / "daily-example"
    site.mkdir()
    for i, story in enumerate(STORIES):
        (site / f"page-{i}.txt").write_text(_dump(f"Town {i} will rebuild its bridge", story), encoding="utf-8")
    alone = extract((site / "page-0.txt").read_text(encoding="utf-8"), kind="pagedump")
    assert "Morning Briefing" in alone.body  # prose in the middle of the article: one page cannot tell
    proc = newssearch("extract", site / "page-0.txt", "--json")
    (a,) = json.loads(proc.stdout)
    assert "Morning Briefing" not in a["body"] and "Copyright" not in a["body"]
    assert a["title"] == "Town 0 will rebuild its bridge" and a["authors"] == ["Ann Lee"]
    assert a["body"].startswith("The council of town number 0") and a["date"].startswith("2024-03-03")
    index = tmp_path / "index"
    newssearch("index", site, "--index", index)
    hits = json.loads(newssearch("query", "briefing", "--index", index, "--json").stdout)
    assert hits["total"] == 0  # the indexer learns the same template


def test_copies_of_one_story_are_not_a_template(tmp_path):
    from newssearch.indexer.pagedump import site_template

    pages = [_dump("Same story", STORIES[0])] * 4
    assert not site_template(pages)


def test_cjk_lines_rejoined_without_spaces_and_lists_kept():
    text = ("首页\n\n新闻标题在这里\n\n" + "在采访中，我们了解到不少学子在出国前就每年守在电脑前观看两会直播。但是，随\n"
            "着年龄和阅历的增长，学子对两会的关注点在出国前后发生了很大的变化。\n")
    a = extract(text, kind="pagedump")
    assert "随着年龄" in a.body and " " not in a.body
    ol = extract("  1. The first finding of the study is about the sea level.\n"
                 "  2. The second finding of the study concerns the coastline.\n", kind="pagedump")
    assert "second finding" in ol.body


def test_bulleted_sentences_stay_in_the_article_menus_and_headlines_do_not():
    intro = ("The city council met on Tuesday to settle the budget for the coming year, and the session ran late "
             "into the evening as members argued over every line of the plan.")
    points = ("  • Bus fares will rise by ten cents in March, the first increase in six years, to pay for the\n"
              "    new electric fleet.\n"
              "  • The library on Elm Street will open on Sundays again, which readers had asked for since the\n"
              "    cuts of 2020.\n"
              "  • Road repairs get twice last year's money, most of it for the bridges on the east side.\n")
    outro = ("The mayor said she would sign the budget on Friday. Opponents said they would keep arguing for a "
             "smaller rise in fares, and that the fight was far from over.")
    headlines = ("Most read\n\n  • Why are fares going up again this year in our city?\n"
                 "  • Ten things to do this weekend in the old town and the park\n"
                 "  • Council election: who is standing in your ward and why?\n")
    page = (f"City News\n\n  • Home\n  • Politics\n  • Sport\n\nCouncil passes budget\n\n{intro}\n\n{points}\n"
            f"{outro}\n\n{headlines}")
    a = extract(page, kind="pagedump")
    assert "library on Elm Street will open on Sundays" in a.body and "fight was far from over" in a.body
    assert "Politics" not in a.body and "Ten things to do" not in a.body


_P1 = ("The harbour authority said on Monday that the old pier would close for repairs until the spring, after "
       "divers found cracks in three of the supporting columns during a routine inspection last week.")
_P2 = ("Fishing boats that moor at the pier will move to the new marina, where the town has set aside forty "
       "berths, and the ferry to the islands will leave from the north quay while the work goes on.")
_P3 = ("The repairs are expected to cost about two million euros, which the regional government has agreed "
       "to pay in full, the mayor told reporters at the town hall on Monday afternoon.")
_P4 = ("Local traders said they were worried about losing visitors over the Easter holidays, when the pier "
       "usually draws the largest crowds of the year, and asked the council for help with advertising.")
_P5 = ("The pier was built in 1891 and last repaired in the 1970s, when a storm tore away part of its deck; it "
       "is one of the few Victorian piers left on this stretch of the coast, the heritage society said.")


def test_a_box_inside_the_article_does_not_end_it():
    """'Most Read' over a list, or 'Related Coverage' over a few links with dates, shown between two
    paragraphs: the article goes on after the box."""
    box = ("Related Coverage\n\n[thumb-1]\n\nStorm damages sea wall in the east of the town MARCH 2, 2024\n\n"
           "[thumb-2]\n\nCouncil approves harbour budget for the new year FEB. 20, 2024\n")
    most_read = "Most Read\n\n  • Ten walks along the coast\n  • Where to eat fish this week\n  • Tide times\n"
    for inset in (box, most_read):
        a = extract(f"Harbour News\n\nOld pier to close for repairs\n\n{_P1}\n\n{_P2}\n\n{inset}\n{_P3}\n\n"
                    f"{_P4}\n\n{_P5}\n\nThe council meets again on Friday.\n", kind="pagedump")
        assert "north quay" in a.body and "two million euros" in a.body and "Easter holidays" in a.body
        assert "Storm damages" not in a.body and "Ten walks" not in a.body


def test_teasers_ads_and_cookie_notices_are_left_out():
    teasers = "".join(f"{h}\n\n{h}: {s}\n\n" for h, s in [
        ("Bridge reopens after two years of work", "The bridge over the river reopened to traffic today."),
        ("School wins national robotics prize", "Pupils from the town beat forty other schools."),
        ("New bakery opens in the market square", "The owners say they will bake bread every night.")])
    page = ("We use cookies and similar technologies to improve your experience on our site and to show you "
            f"relevant advertising.\n\nOld pier to close for repairs\n\n{_P1}\n\n{_P2}\n\n{_P3}\n\n"
            f"Sponsored Links Promoted Stories by Taboola: you will not believe these ten tricks\n\n{teasers}")
    a = extract(page, kind="pagedump")
    assert a.body.startswith("The harbour authority") and a.body.endswith("town hall on Monday afternoon.")


def test_chinese_paragraphs_without_punctuation_between_image_names():
    lines = ["一波波接續性低溫寒流報到已將新竹尖石鄉後山一帶層層山巒披上嫣紅的彩衣",
             "玉峰道路一路上雲氣山嵐滯留山頭順路下切蜿蜒道路後不久即抵達來到玉峰國小",
             "美樹美如其名偌大楓香樹早已呈現金黃泛紅色彩也是愛攝人仕所喜愛造訪之地"]
    links = "".join(f"  • 行程攻略\n      □\n        [200x200]\n        新竹一日遊第{i}天行程滿滿\n" for i in range(4))
    page = f"部落格\n\n{links}\n" + "\n\n30-IMG_4228.jpg\n\n".join(lines) + "\n\n上一篇文章與下一篇文章\n\n留言\n"
    a = extract(page, kind="pagedump")
    assert all(line in a.body for line in lines) and "行程" not in a.body


def test_a_page_of_a_few_words_is_its_own_body():
    assert extract("abc\n\ndef\n\nghi\n", kind="pagedump").body == "abc\n\ndef\n\nghi"


def _wcxb(file_id: str) -> tuple[bytes, dict]:
    import gzip

    folder = needs_shared("wcxb-dev")
    data = json.loads((folder / "ground-truth" / f"{file_id}.json").read_text(encoding="utf-8"))
    return gzip.decompress((folder / "html" / f"{file_id}.html.gz").read_bytes()), data["ground_truth"]


def test_a_listing_trafilatura_cuts_to_its_intro_is_read_from_its_main_region():
    from newssearch.indexer.scoring import ngram_prf

    html, truth = _wcxb("3010")  # a Wikipedia category page: the list of languages is the content
    a = extract(html, kind="html")
    assert "Zig (programming language)" in a.body and "TypeScript" in a.body
    assert ngram_prf(a.body, truth["main_content"], 1)[2] >= 0.9  # trafilatura alone: 0.15


def test_an_article_the_page_shows_twice_is_indexed_once():
    from newssearch.indexer.scoring import ngram_prf

    html, truth = _wcxb("0151")  # the article, a newsletter box, then the whole article again
    a = extract(html, kind="html")
    opening = "When it comes to yoga classes"
    assert a.body.count(opening) == 1 and "Join Our Genius Newsletter" in a.body
    assert ngram_prf(a.body, truth["main_content"], 1)[2] >= 0.9  # with the second copy: 0.65


def test_repeated_runs_dropped_repeated_lines_kept():
    from newssearch.indexer.repeats import drop_repeated_runs

    story = [f"Paragraph {i} of the story, " + "with words that carry it along " * 6 for i in range(4)]
    page = ["Free shipping on every order today", *story, "Sign up for our newsletter", *story,
            "Free shipping on every order today", "The end."]
    assert drop_repeated_runs(page) == ["Free shipping on every order today", *story, "Sign up for our newsletter",
                                        "Free shipping on every order today", "The end."]
    short = ["Yes.", "No.", "Maybe.", "Yes.", "No.", "Maybe."]  # under REPEAT_WORDS: a list, not a copy
    assert drop_repeated_runs(short) == short
    assert drop_repeated_runs(["same words " * 40] * 20_000) == ["same words " * 40] * 20_000  # linear, kept


def test_article_metadata_as_the_page_shows_it():
    html, truth = _wcxb("0002")
    a = extract(html, kind="html")
    assert a.title == truth["title"]  # the <h1>, not "Health And Nutrition Trends For 2026 - Tastewise"
    assert a.authors == [truth["author"]]
    assert a.local_date == truth["publish_date"]


def test_published_date_keeps_its_own_day_and_beats_the_modified_one():
    page = """<!doctype html><html><head><title>Storm closes the harbour | Coast Daily</title>
    <meta property="og:site_name" content="Coast Daily">
    <meta property="article:modified_time" content="2024-03-09T08:00:00+00:00"></head><body>
    <article><h1>Storm closes the harbour</h1>
    <div itemprop="datePublished" content="2024-03-02T23:30:00-05:00"></div>
    <p class="byline"><a rel="author" href="/authors/ann-lee">View all posts by Ann Lee</a></p>
    <p>The harbour stayed shut on Saturday as the storm pushed waves over the sea wall, the port authority said,
    and ferries to the islands were cancelled until further notice while crews checked the moorings.</p>
    <p>Fishing boats that left before the warning came back to shelter in the river mouth by the evening.</p>
    </article></body></html>"""
    a = extract(page, kind="html")
    assert a.title == "Storm closes the harbour"
    assert a.authors == ["Ann Lee"]
    assert a.local_date == "2024-03-02"  # the page's own calendar day...
    assert a.date == datetime(2024, 3, 3, 4, 30, tzinfo=timezone.utc)  # ...and the instant, in UTC


def test_dump_author_and_date_beside_the_headline():
    dump = """Home  News  Health

Ten habits that help you sleep

Kelia Losa Reinoso photo
Kelia Losa Reinoso
August 25, 2025
15 min

Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed, and that
light in the evening delays the body's clock by as much as an hour on the nights it is switched on late.

Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies found, while
caffeine after lunch shortens deep sleep even for those who say it does not affect them at all.
"""
    a = extract(dump, kind="pagedump")
    assert a.title == "Ten habits that help you sleep"
    assert a.authors == ["Kelia Losa Reinoso"]
    assert a.local_date == "2025-08-25"
    assert a.body.startswith("Sleep researchers agree")


def test_dump_byline_apart_from_its_date_by_blank_lines_or_a_category():
    body = """
Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed, and that
light in the evening delays the body's clock by as much as an hour on the nights it is switched on late.

Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies found, while
caffeine after lunch shortens deep sleep even for those who say it does not affect them at all.
"""
    spaced = "Home  News  Health\n\nTen habits that help you sleep\n\nKelia Losa Reinoso\n\n  • August 25, 2025\n" + body
    assert extract(spaced, kind="pagedump").authors == ["Kelia Losa Reinoso"]
    filed = ("Home  News  Health\n\nTen habits that help you sleep\n\n  • Kelia Losa Reinoso\n  • inHealthSleep\n"
             "  • Aug 25, 2025\n" + body)
    a = extract(filed, kind="pagedump")
    assert a.authors == ["Kelia Losa Reinoso"] and a.local_date == "2025-08-25"


def test_dump_date_line_found_below_the_headline_when_no_byline_stands_by_it():
    paragraphs = "\n\n".join(
        f"Paragraph {i}: sleep researchers agree that a regular bedtime matters more than the hours spent in bed,"
        f"\nand that light in the evening delays the body's clock by as much as an hour." for i in range(8))
    dump = f"Home  News  Health\n\nTen habits that help you sleep\n\n{paragraphs}\n\nUpdated: March 9, 2025\n\n" \
           f"Published: March 2, 2025\n\nComments\n\nAnn on June 1, 2025 said something.\n"
    assert extract(dump, kind="pagedump").local_date == "2025-03-02"  # the published one, not the update


def _tram_story(paragraphs: int = 8) -> str:
    """A page dump's article body: paragraphs of two wrapped lines, blank lines between."""
    return "\n\n".join(
        f"Paragraph {i}: the city's new tram line opened on Monday, two years late and over budget, and the first"
        f"\nriders said the trip downtown now takes twelve minutes instead of forty." for i in range(paragraphs))


def test_dump_by_line_under_a_long_summary_names_the_writer():
    paragraphs = _tram_story()
    summary = "\n".join(f"Summary line {i} of the story, as the site sets it out under the headline." for i in range(14))
    dump = f"The tram line opens at last\n\n{summary}\n\nBy Ann Lee\n\n{paragraphs}\n"
    assert extract(dump, kind="pagedump").authors == ["Ann Lee"]


def test_dump_name_and_date_on_one_line_behind_an_image_placeholder():
    paragraphs = _tram_story()
    for byline in ("[ann_lee] Ann Lee December 9, 2024", "Ann Lee | December 9, 2024"):
        a = extract(f"The tram line opens at last\n\n{byline}\n\n{paragraphs}\n", kind="pagedump")
        assert a.authors == ["Ann Lee"] and a.local_date == "2024-12-09"
    a = extract(f"The tram line opens at last\n\nMonday December 9, 2024\n\n{paragraphs}\n", kind="pagedump")
    assert a.authors == [] and a.local_date == "2024-12-09"  # a weekday is no name


def test_dotted_dates_are_day_first_in_html_dumps_and_records():
    from newssearch.indexer.dates import parse_date

    assert parse_date("05.03.2024").date().isoformat() == "2024-03-05"  # 5 March, not May 3
    assert parse_date("6/2/2025").date().isoformat() == "2025-06-02"  # slashes stay month first
    paragraphs = _tram_story()
    dump = f"The tram line opens at last\n\n05.03.2024 · 6 min read\n\n{paragraphs}\n"
    assert extract(dump, kind="pagedump").local_date == "2024-03-05"
    page = (f"<html><body><main><h1>The tram line opens at last</h1><p>05.03.2024</p>"
            + "".join(f"<p>{p}</p>" for p in paragraphs.split("\n\n")) + "</main></body></html>")
    assert extract(page, kind="html").local_date == "2024-03-05"


def test_dump_by_line_just_over_the_headline_and_a_dot_operator_after_the_name():
    paragraphs = _tram_story()
    for byline in ("• Written by Ann Lee", "By Ann Lee ⋅ Senior Review Analyst"):
        a = extract(f"Transport\n\n{byline}\n\nThe tram line opens at last\n\n{paragraphs}\n", kind="pagedump")
        assert a.title == "The tram line opens at last" and a.authors == ["Ann Lee"]


def test_dump_date_labelled_published_far_below_the_headline():
    paragraphs = _tram_story(120)  # 360 lines: the label stands at the end of a long article
    for label in ("Published: Nov. 19, 2025", "Posted on November 19, 2025"):
        dump = f"The tram line opens at last\n\n{paragraphs}\n\n{label}\n\nMore stories\n"
        assert extract(dump, kind="pagedump").local_date == "2025-11-19"
    dump = f"The tram line opens at last\n\n{paragraphs}\n\nThe line was planned on March 2, 2019 and more.\n"
    assert extract(dump, kind="pagedump").date is None  # a date in the text, not labelled: not the page's


def test_dump_cookie_banner_in_any_wording_is_no_article_text():
    paragraphs = _tram_story()
    banner = ("Example and 3rd parties use essential and non-essential cookies to provide, secure, analyze and\n"
              "improve our Services, and to show you relevant ads. Learn more in our Cookie Policy. Select Accept\n"
              "to consent or Reject to decline non-essential cookies for this use.")
    a = extract(f"{banner}\n\nThe tram line opens at last\n\n{paragraphs}\n", kind="pagedump")
    assert "cookies" not in a.body and a.title == "The tram line opens at last"
    recipe = "\n\n".join(f"Step {i}: bake the cookies for twelve minutes, then let them cool on the tray before\n"
                           f"you accept any compliments on how they taste." for i in range(8))
    assert "bake the cookies" in extract(f"Cookies for a crowd\n\n{recipe}\n", kind="pagedump").body


def test_dump_breadcrumb_trail_is_no_headline_but_names_the_category():
    paragraphs = "\n\n".join(
        f"Paragraph {i}: a plumber who trains as a substitute teacher fills a gap the district could not fill,"
        f"\nand the pupils learn how the pipes under their school were laid a century ago." for i in range(8))
    url = "https://example.com/marketing/plumbers-train-as-substitute-teachers"
    for trail in ("Home >Marketing >Plumbers train as substitute teachers", "Blog / Marketing / Plumbers train"):
        dump = f"{trail}\n\nPlumbers train as substitute teachers\n\n{paragraphs}\n"
        a = extract(dump, kind="pagedump", url=url)
        assert a.title == "Plumbers train as substitute teachers"  # not the trail the slug also names
    only_trail = extract(f"Menu\n\nHome » Marketing » Plumbers train as substitute teachers\n\n{paragraphs}\n",
                         kind="pagedump", url=url)
    assert "»" not in only_trail.title  # the made-up title stands in, as where no headline is found
    assert a.categories == [] and extract(
        f"Home >Marketing >Plumbers train as substitute teachers\n\nPlumbers train as substitute teachers\n\n"
        f"{paragraphs}\n", kind="pagedump").categories == ["Marketing"]


def test_dump_headline_the_url_names_below_a_teaser_taken_for_the_body():
    teaser = ("Our newsletter brings the week's best health stories to your inbox every Friday morning, with tips\n"
              "from our editors, the latest research explained and a weekly recipe that is easy to cook at home.")
    story = ("Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed,\n"
             "and that light in the evening delays the body's clock by as much as an hour on late nights.\n\n"
             "Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies\n"
             "found, while caffeine after lunch shortens deep sleep even for those who say it does not.")
    dump = f"Home  News  Health\n\n{teaser}\n\nTen habits that help you sleep better\n\n{story}\n"
    url = "https://example.com/health/ten-habits-that-help-you-sleep"
    assert extract(dump, url=url, kind="pagedump").title == "Ten habits that help you sleep better"
    # A long promotion taken for the body's start (60 lines): the headline the URL names is looked for below it.
    promo = "\n\n".join([teaser] * 20)
    dump = f"Home  News  Health\n\n{promo}\n\nTen habits that help you sleep better\n\n{story}\n"
    assert extract(dump, url=url, kind="pagedump").title == "Ten habits that help you sleep better"


def test_dump_headline_wrapped_onto_a_second_line():
    story = ("Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed,\n"
             "and that light in the evening delays the body's clock by as much as an hour on late nights.\n\n"
             "Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies\n"
             "found, while caffeine after lunch shortens deep sleep even for those who say it does not.")
    dump = ("Home  News  Health\n\nTop Sleep Trends for Fall 2025: What Sleep Researchers Are Doing (and How\n"
            "Everyone Can Do It Too)\n\nBy Ann Lee\n\n" + story + "\n")
    a = extract(dump, kind="pagedump")
    assert a.title == "Top Sleep Trends for Fall 2025: What Sleep Researchers Are Doing (and How Everyone Can Do It Too)"
    assert a.authors == ["Ann Lee"]
    # w3m's 80 columns hold 79 characters: a 78-character line and a 1-letter word did not fit.
    first = "Plumbers are training as substitute teachers so full time teachers can protest"
    assert len(first) == 78
    a = extract(f"{first}\na bill\n\nBy Ann Lee\n\n{story}\n", kind="pagedump")
    assert a.title == first + " a bill"


def test_dump_byline_reviewer_repeats_and_jobs():
    story = ("Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed,\n"
             "and that light in the evening delays the body's clock by as much as an hour on late nights.\n\n"
             "Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies\n"
             "found, while caffeine after lunch shortens deep sleep even for those who say it does not.\n")
    head = "Home  News  Health\n\nTen habits that help you sleep\n\n"
    reviewed = head + "Reviewed by: Bo Chen, Sleep Editor\nWritten by Kelia Losa Reinoso\n\n" + story
    assert extract(reviewed, kind="pagedump").authors == ["Kelia Losa Reinoso"]  # not the reviewer
    glued = head + "  • Kelia Losa ReinosoKelia Losa Reinoso\n  • Last Updated Nov 6, 2025\n\n" + story
    assert extract(glued, kind="pagedump").authors == ["Kelia Losa Reinoso"]
    pictured = head + "  • Picture of Kelia Losa Reinoso Kelia Losa Reinoso\n  • August 13, 2024\n\n" + story
    assert extract(pictured, kind="pagedump").authors == ["Kelia Losa Reinoso"]
    job = head + "Kelia Losa Reinoso, Health Editor\nMay 31, 2024\n\n" + story
    assert extract(job, kind="pagedump").authors == ["Kelia Losa Reinoso"]


# --- Metadata rules (htmlmeta): crafted pages, then real ones from WCXB --------------------------------------
STORY = ("<p>The harbour stayed shut on Saturday as the storm pushed waves over the sea wall, the port authority "
         "said, and ferries to the islands were cancelled until further notice while crews checked the moorings."
         "</p><p>Fishing boats that left before the warning came back to shelter in the river mouth.</p>")


def _page(head: str, top: str, title: str = "Storm closes the harbour") -> str:
    return (f"<!doctype html><html><head><title>{title}</title>{head}</head><body><article>"
            f"<h1>Storm closes the harbour</h1>{top}{STORY}</article></body></html>")


def test_byline_read_piece_by_piece_without_jobs_or_glue():
    a = extract(_page("", '<div class="author-name"><span>By</span><a href="/a">Summer Swann</a>'
                          '<span>Tech Reporter</span><span>June 2, 2025</span></div>'))
    assert a.authors == ["Summer Swann"]  # not "BySummer SwannTech Reporter"
    two = extract(_page("", '<p class="byline">By <a rel="author">Ann Lee</a> and <a rel="author">Bo Chen</a>'
                            '<span>Staff</span></p>'))
    assert two.authors == ["Ann Lee", "Bo Chen"]
    from newssearch.indexer.htmlmeta import author_name
    assert author_name("Ann Lee, Tech Reporter") == "Ann Lee" and author_name("Ann Lee, MD") == "Ann Lee, MD"
    assert author_name("Author(s): John Smith") == "John Smith" and author_name("Andrew Gerrand 4") == "Andrew Gerrand"
    assert author_name("Senior Reporter") is None and author_name("focusing") is None
    assert author_name("David Jackson - FullStack Editorial Team") == "David Jackson"  # a desk after a dash
    assert author_name('"David Kim"', stated=True) == "David Kim" and author_name("Jean-Luc Picard") == "Jean-Luc Picard"


def test_a_link_to_the_authors_page_names_the_writer_when_nothing_else_does():
    linked = _page("", '<p><a href="/authors/ann-lee/">Ann Lee</a></p>')
    assert extract(linked).authors == ["Ann Lee"]
    labelled = _page("", "").replace("</article>", "</article><div><p>Article by</p><p>Ann Lee</p></div>")
    assert extract(labelled).authors == ["Ann Lee"]  # an author box under the article
    owner = _page("", "").replace("<body>", "<body><header><a href='/'>Toby Hede</a></header>")
    assert extract(owner, url="https://tobyhede.com/blog/storm").authors == ["Toby Hede"]  # a personal site
    assert extract(owner, url="https://coastdaily.com/blog/storm").authors == []
    logo = _page("", "").replace("<body>", "<body><header><img src='/logo.png' alt='Toby Hede'></header>")
    assert extract(logo, url="https://tobyhede.com/blog/storm").authors == ["Toby Hede"]
    menu = _page("", "").replace("<article>", '<nav><a href="/authors/">Our Authors</a></nav><article>')
    assert extract(menu).authors == []  # the list of authors, in a menu: nobody's byline


def test_site_name_as_author_gives_way_to_the_person_the_byline_names():
    org = ('<meta property="og:site_name" content="Coast Daily"><script type="application/ld+json">'
           '{"@type": "NewsArticle", "headline": "Storm closes the harbour", '
           '"author": {"@type": "Organization", "name": "Coast Daily"}}</script>')
    assert extract(_page(org, "<p>By Ann Lee</p>")).authors == ["Ann Lee"]  # a text byline after the <h1>
    assert extract(_page(org, "")).authors == ["Coast Daily"]  # nobody else named: the site signs
    lower = '<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="kirstin boatto">'
    assert extract(_page(lower, "")).authors == ["kirstin boatto"]  # declared a name, in lower case


def test_bylines_labelled_anywhere_and_desks_the_metadata_names():
    # "Written by" alone, the name in the next element; "Posted by … at <date>"; an "Author" heading over it
    written = _page("", "").replace("</article>", '<p>Written by <a href="/a">Ann Lee and Bo Chen</a></p></article>')
    assert extract(written).authors == ["Ann Lee and Bo Chen"]
    posted = _page("", "").replace("</article>", '<span class="posted">Posted by David at December 16, 2025 11:15 AM'
                                                 "</span></article>")
    assert extract(posted).authors == ["David"]
    labelled = _page("", "").replace("</article>", "<div><h3>Author</h3><p> Lisa D. Ellis</p></div></article>")
    assert extract(labelled).authors == ["Lisa D. Ellis"]
    avatar = _page("", "").replace("</article>", "<h3>Author</h3><span>CP</span><span>Chengcheng Pei</span></article>")
    assert extract(avatar).authors == ["Chengcheng Pei"]  # not the avatar's initials
    # a forum's server-rendered post in a <noscript>: its author is still read
    rendered = _page("", '<noscript><span class="creator" itemprop="author"><span itemprop="name">DaleJack'
                         "</span></span></noscript>")
    assert extract(rendered).authors == ["DaleJack"]
    # a desk's name the metadata declares stands; the same words as a visible byline's piece are a job
    desk = '<meta name="author" content="Our Editors">'
    assert extract(_page(desk, "")).authors == ["Our Editors"]
    assert extract(_page('<meta name="author" content="Luxury Travel Expert">', "")).authors == ["Luxury Travel Expert"]
    assert extract(_page("", '<p class="byline">Tech Reporter</p>')).authors == []
    # a banner's <aside> left unclosed around the page's <main>: its byline is still the article's
    unclosed = ('<html><head><title>Storm closes the harbour</title></head><body><aside class="banner"><main>'
                '<article><h1>Storm closes the harbour</h1><span class="blog-meta-author"> Tim Enwall </span>'
                f"{STORY}</article></main></body></html>")
    assert extract(unclosed).authors == ["Tim Enwall"]
    sidebar = _page("", "").replace("</article>", '</article><aside><span class="author">Bo Chen</span></aside>')
    assert extract(sidebar).authors == []


def test_site_name_left_out_of_titles_learnt_from_the_domain():
    story = f"<html><head><title>GAME CHANGER | Newegg.com</title></head><body>{STORY}</body></html>"
    assert extract(story, url="https://promotions.newegg.com/zotac/1.html").title == "GAME CHANGER"
    prefix = f"<html><head><title>Leadfeeder | State of SEO in 2026</title></head><body>{STORY}</body></html>"
    assert extract(prefix, url="https://www.leadfeeder.com/blog/seo/").title == "State of SEO in 2026"
    shown = _page('<meta property="og:site_name" content="Artlyst">', "").replace(
        "<h1>Storm closes the harbour</h1>", "<h1>Storm closes the harbour – Artlyst</h1>")
    assert extract(shown).title == "Storm closes the harbour"  # the site's name in the <h1> too


def test_titles_without_a_logo_h1_a_section_or_a_byline_inside_the_h1():
    logo = (f"<html><head><title>coastdaily.com Storm closes the harbour</title></head><body><h1><a href='/'>"
            f"coastdaily.com</a></h1>{STORY}</body></html>")
    assert extract(logo, url="https://coastdaily.com/2025/storm").title == "Storm closes the harbour"
    section = (f"<html><head><title>Storm closes the harbour | Weather | Coast Daily News</title></head>"
               f"<body>{STORY}</body></html>")
    assert extract(section).title == "Storm closes the harbour"
    byline = _page("", "").replace("<h1>Storm closes the harbour</h1>", '<h1>Storm closes the harbour<h3>Posted on '
                                   '<time datetime="2024-07-01">July 1, 2024</time> by Ann Lee</h3></h1>')
    assert extract(byline).title == "Storm closes the harbour"


def test_a_date_or_a_label_before_the_headline_is_not_part_of_it():
    dated = _page("", "").replace("<h1>Storm closes the harbour</h1>",
                                  "<h1><span>Dec 18 2025</span> Storm closes the harbour</h1>")
    assert extract(dated).title == "Storm closes the harbour"
    labelled = _page("", "").replace("<h1>Storm closes the harbour</h1>",
                                     '<h1><span class="descriptor">Title:</span>Storm closes the harbour</h1>')
    assert extract(labelled).title == "Storm closes the harbour"


def test_a_json_ld_headline_cut_short_gives_way_to_the_whole_title():
    whole = "Fix It Friday: We Help 4 Readers Find Solutions (Including One Trick That 9/10 Works)"
    head = (f'<meta property="og:title" content="{whole} - Emily Henderson">'
            '<meta property="og:site_name" content="Emily Henderson"><script type="application/ld+json">'
            '{"@type": "BlogPosting", "headline": "Fix It Friday: We Help 4 Readers Find Solutions (Including"}'
            "</script>")
    page = f"<html><head>{head}</head><body>{STORY}</body></html>"
    assert extract(page).title == whole


def test_the_date_shown_by_the_headline():
    shown = _page("", '<p>Updated Dec 20, 2025</p><p>Published on <time datetime="2025-12-19">Dec 19</time></p>')
    assert extract(shown).local_date == "2025-12-19"  # no metadata date: the published one it shows
    moved = _page('<meta property="article:published_time" content="2025-12-19T03:05:00+00:00">',
                  '<time datetime="2025-12-18T19:05:00-08:00">December 18, 2025</time>')
    a = extract(moved)
    assert a.local_date == "2025-12-18"  # the page's own day, which its CMS wrote in UTC
    assert a.date == datetime(2025, 12, 19, 3, 5, tzinfo=timezone.utc)
    old = _page("", "<p>Aug 12, 1898</p>")  # a date the text is about
    assert extract(old).local_date != "1898-08-12"


def test_the_original_date_by_the_headline_beats_a_restamped_one_and_a_sentence_is_no_date_line():
    restamped = _page('<meta property="article:published_time" content="2025-06-01T09:00:00+00:00">',
                      '<p class="date">March 3, 2021</p>')
    a = extract(restamped)  # republished: the CMS re-stamped its metadata, the page shows the original
    assert a.local_date == "2021-03-03" and a.date.date().isoformat() == "2021-03-03"
    updated = _page('<meta property="article:published_time" content="2025-06-01T09:00:00+00:00">',
                    '<p>Updated March 3, 2026</p>')
    assert extract(updated).local_date == "2025-06-01"  # a later date, or one labelled as an update, is not
    sentence = _page('<meta property="article:published_time" content="2025-06-01T09:00:00+00:00">',
                     "<p>Sign-ups to the ferry alerts have quadrupled since March 1, 2020, when the council first "
                     "put the harbour's closures online for the islands.</p>")
    assert extract(sentence).local_date == "2025-06-01"  # a date the text is about
    named = _page('<meta name="published" content="July 17, 2025">', "")
    assert extract(named).local_date == "2025-07-17"


def test_a_garbled_metadata_date_gives_way_and_a_copyright_year_is_no_date():
    garbled = _page('<meta property="article:published_time" content="2025-12-17UTC07:30:00+00:00">',
                    "<p>December 17th 2025</p>")
    assert extract(garbled).local_date == "2025-12-17"  # the date the page shows, not none
    undated = _page("", "").replace("</article>", "</article><footer>© 2024 Coast Daily. All rights reserved."
                                                  "</footer>")
    a = extract(undated)
    assert a.date is None and a.local_date is None  # not 2024-01-01
    app = _page("", "").replace("</body>", '<script id="__NEXT_DATA__" type="application/json">'
                                           '{"post": {"date": "2024-04-08T10:00:00Z"}}</script></body>')
    assert extract(app).local_date == "2024-04-08"  # a Next.js page's data, read before it is dropped


def test_plain_trafilatura_is_left_as_it_was():
    """Our extraction gates trafilatura's fallback comparison for its own calls only: a plain trafilatura
    call afterwards (bench/ times one beside ours) runs its own cascade."""
    import trafilatura.core

    original = trafilatura.core._extract_and_compare
    extract(_page("", ""))
    assert trafilatura.core._extract_and_compare is original


def test_a_trafilatura_whose_stage_changed_is_run_unpatched(monkeypatch):
    """The gate stands in for a trafilatura 2.x internal; a release whose stage takes other arguments is
    run as it is, never handed our stand-in."""
    import trafilatura.core

    from newssearch.indexer import htmlbody

    def changed(tree, options):  # a future signature
        return original(tree, tree, tree, options)

    original = trafilatura.core._extract_and_compare
    monkeypatch.setattr(trafilatura.core, "_extract_and_compare", changed)
    htmlbody._can_gate.cache_clear()
    try:
        assert not htmlbody._can_gate(trafilatura.core)
        with htmlbody._gated_comparison(True):
            assert trafilatura.core._extract_and_compare is changed  # not swapped for our stand-in
    finally:
        monkeypatch.undo()
        htmlbody._can_gate.cache_clear()
    assert htmlbody._can_gate(trafilatura.core)  # the installed one is gated


def _wcxb_page(file_id: str):
    html, truth = _wcxb(file_id)
    url = json.loads((needs_shared("wcxb-dev") / "ground-truth" / f"{file_id}.json").read_text())["url"]
    return extract(html, url=url, kind="html"), truth


@pytest.mark.parametrize("file_id,what", [
    ("0140", "author"),  # "By <a>Sofia Gonzalez</a>" after the headline; the first <h1> is the logo
    ("0386", "author"),  # the byline lists the company first, then the person
    ("0197", "author"),  # only Twitter's "Written by" field names her
    ("4420", "title"),  # "GAME CHANGER | Newegg.com"
    ("0171", "title"),  # "Leadfeeder | State of SEO …"
    ("0481", "date"),  # published_time in UTC (the 19th); the page shows December 18
    ("0440", "date"),  # no metadata date; "Published on 2025-12-19" under the headline
])
def test_real_metadata_misses_now_right(file_id, what):
    a, truth = _wcxb_page(file_id)
    if what == "author":
        assert a.authors == [truth["author"]]
    elif what == "title":
        assert a.title == truth["title"]
    else:
        assert a.local_date == truth["publish_date"]


_DUMP_STORY = ("Sleep researchers agree that a regular bedtime matters more than the number of hours spent in bed, and\n"
               "that light in the evening delays the body's clock by as much as an hour on the nights it is on late.\n\n"
               "Cooling the bedroom to about eighteen degrees helps most people fall asleep sooner, the studies found,\n"
               "while caffeine after lunch shortens deep sleep even for those who say it does not affect them.\n")


@pytest.mark.parametrize("top,author,day", [
    ("Ten habits that help you sleep\n\nBy\nAnn Lee\n-\nMarch 3, 2024\n", "Ann Lee", "2024-03-03"),  # "By" alone
    ("Ten habits that help you sleep\n\nByAnn Lee WABC logo\nFriday, March 3, 2024\n", "Ann Lee", "2024-03-03"),
    ("Ten habits that help you sleep\n\nAnn Lee\n9 min read\n", "Ann Lee", None),  # a name over the reading time
    # the date line above the headline, and a photo's caption between the byline and the story
    ("March 3, 2024 / Health / Sleep\n\nTen habits that help you sleep\n\nBy Ann Lee\n\nA bed by a window\n",
     "Ann Lee", "2024-03-03"),
    # a row of cells side by side; a hidden label's copy glued on ("byby"); a name over its job
    ("Ten habits that help you sleep\n\nMarch 3, 2024    Photo of Ann Lee    Ann Lee\n", "Ann Lee", "2024-03-03"),
    ("Ten habits that help you sleep\n\nWritten byby Ann Lee\n\nPublished on March 3, 2024\n", "Ann Lee",
     "2024-03-03"),
    ("Ten habits that help you sleep\n\n[ann-lee]\n\nAnn Lee\n\nTrending Editor\n", "Ann Lee", None),
])
def test_dump_byline_layouts(top, author, day):
    a = extract(f"Home  News  Health\n\n{top}\n{_DUMP_STORY}", kind="pagedump")
    assert a.title == "Ten habits that help you sleep"
    assert a.authors == [author] and a.local_date == day
    assert a.body.startswith("Sleep researchers agree")


def test_dump_headline_that_the_url_slug_names():
    """A dump's headline is the line its URL's slug says, over a caption and a subhead nearer the story."""
    dump = ("Home  Blog  Guides\n\nTen habits that help you sleep\n\nA quiet bedroom with the curtains drawn\n\n"
            "What the studies of the last ten years found\n\n" + _DUMP_STORY)
    assert extract(dump, kind="pagedump").title == "What the studies of the last ten years found"  # no URL
    a = extract(dump, url="https://example.org/blog/ten-habits-that-help-you-sleep/", kind="pagedump")
    assert a.title == "Ten habits that help you sleep"
    from newssearch.indexer.pagedump import slug_words
    assert slug_words("https://example.org/2025/06/ten-habits.html?x=1") == set()  # under three words: no slug
    assert slug_words("https://example.org/news/1234-storm-closes-harbour.html") == {"storm", "closes", "harbour"}


# Mojibake: UTF-8 text decoded as Windows-1252 or Latin-1 and stored again, as a CMS or a page serves it.
def _mojibake(text: str, codec: str) -> str:
    return text.encode("utf-8").decode(codec)


def test_export_with_mojibake_is_indexed_as_written():
    record = {"title": _mojibake("A DIY Investor’s Guide", "cp1252"), "author": _mojibake("José Núñez", "cp1252"),
              "body": _mojibake("It’s simple: the café’s crème brûlée — and nothing else.", "cp1252")}
    (a,) = read_jsonl(json.dumps(record).encode(), "f.jsonl")
    assert a.title == "A DIY Investor’s Guide"
    assert a.authors == ["José Núñez"]
    assert a.body == "It’s simple: the café’s crème brûlée — and nothing else."


def test_double_encoded_page_is_read_as_written():
    story = "Don’t buy a retirement calculator — build one. " * 4 + "The café’s owner, Zoë, said “never”."
    page = f"""<html><head><meta charset="utf-8"><title>{_mojibake("Investor’s guide", "latin-1")}</title>
        <meta property="og:title" content="{_mojibake("Investor’s guide", "latin-1")}"></head>
        <body><article><h1>{_mojibake("Investor’s guide", "latin-1")}</h1>
        <p>{_mojibake(story, "latin-1")}</p><p>{_mojibake(story, "latin-1")} Again.</p></article></body></html>"""
    a = extract(page.encode("utf-8"), kind="html")
    assert a.title == "Investor’s guide"
    assert "Don’t buy a retirement calculator — build one." in a.body and "Zoë" in a.body
    assert "â" not in a.body


def test_text_in_other_scripts_and_signs_is_left_alone():
    text = "Ärger – à la “mode”, naïve café, Ça va? À bientôt. Größe 5 °C ± 1, Ø 3 mm, Москва, 東京."
    (a,) = read_jsonl(json.dumps({"title": "Ça va", "body": text}).encode(), "f.jsonl")
    assert a.body == text and a.title == "Ça va"


def _labelled_page(h1: str, og_title: str) -> bytes:
    body = "<p>" + "The agencies were ranked on reach, cost and the results their clients reported. " * 6 + "</p>"
    return (f'<html><head><title>{og_title} | Silverback</title><meta property="og:title" content="{og_title}">'
            f'<meta property="og:site_name" content="Silverback"></head><body><header><a>Home</a></header>'
            f'<article><h1>{h1}</h1>{body}{body}</article></body></html>').encode()


def test_section_label_before_the_headline_is_not_part_of_it():
    headline = "Best Social Media Advertising Agencies in 2025 (Ranked & Reviewed)"
    assert extract(_labelled_page(f"Blog: {headline}", headline), kind="html").title == headline
    assert extract(_labelled_page(f"Thread: {headline}", headline), kind="html").title == headline
    # The metadata says the words before the colon belong to the headline: they stay.
    titled = "Review: The Best Agencies of 2025"
    assert extract(_labelled_page(titled, titled), kind="html").title == titled
    assert extract(_labelled_page("Sydney: A City of Light", "Sydney: A City of Light"), kind="html").title \
        == "Sydney: A City of Light"


def test_dump_headline_printed_twice_wins_over_the_summary_under_it():
    # The breadcrumb trail ends with the headline, which stands again under it; then a one-line summary
    # right over the byline.
    dump = ("Subscribe\n\n  • Health\n  • Fitness\n  • About Us\n\n 1. News\n 2. Transport\n"
            " 3. The tram line opens at last, two years late and over budget\n\n"
            "The tram line opens at last, two years late and over budget\n\nRiders are happy.\n\n\n"
            "By Ann LeePublished: Jan 29, 2025\nbookmarks\n\n" + _tram_story() + "\n")
    assert extract(dump, kind="pagedump").title == "The tram line opens at last, two years late and over budget"


def test_dump_author_box_far_below_names_the_writer_but_a_menu_of_by_lines_does_not():
    story = _tram_story(30)  # 60 lines of text and 30 blank ones: the box stands far below the headline
    box = "\n\nAbout the author\n\nWritten by Ann Lee\n\nAnn covers transport for the paper.\n"
    dump = f"The tram line opens at last\n\nJune 2, 2025\n\n{story}{box}"
    assert extract(dump, kind="pagedump").authors == ["Ann Lee"]
    menu = "\n\nSolutions\n\nBy Industry\n  • Transport\nBy Company Size\n  • Small business\n"
    assert extract(f"The tram line opens at last\n\nJune 2, 2025\n\n{story}{menu}", kind="pagedump").authors == []


def test_dump_author_box_dates_an_undated_page():
    dump = f"The tram line opens at last\n\n{_tram_story(30)}\n\nBy Ann Lee on March 1, 2026 | Comments\n"
    a = extract(dump, kind="pagedump")
    assert a.authors == ["Ann Lee"] and a.local_date == "2026-03-01"
    # A date by the headline stays the page's date.
    a = extract(f"The tram line opens at last\n\nJune 2, 2025\n\n{_tram_story(30)}\n\nBy Ann Lee on March 1, 2026\n",
                kind="pagedump")
    assert a.authors == ["Ann Lee"] and a.local_date == "2025-06-02"


def test_dump_by_line_below_the_headline_dates_the_page_too():
    summary = "\n".join(f"Summary line {i} of the story, as the site sets it out under the headline." for i in range(14))
    dump = f"The tram line opens at last\n\n{summary}\n\nBy Ann Lee Jan. 31, 2026 7:47 am EST\n\n{_tram_story()}\n"
    a = extract(dump, kind="pagedump")
    assert a.authors == ["Ann Lee"] and a.local_date == "2026-01-31"


def test_dump_headline_far_above_the_body_beats_a_subheading_by_it():
    # A long menu between the headline and where the body starts; a subheading that repeats the URL's
    # words stands right over the body.
    menu = "\n".join(f"  • Menu item {i}" for i in range(60))
    dump = ("Top 15 Data Analytics Tools You Should Be Using in 2025, for Teams of Every Size\n\nKey Takeaways\n\n" + menu +
            "\n\nData analytics tools we tested\n\n" + _tram_story() + "\n")
    a = extract(dump, kind="pagedump", url="https://example.edu/data-analytics-tools/")
    assert a.title == "Top 15 Data Analytics Tools You Should Be Using in 2025, for Teams of Every Size"


def test_dump_checklist_of_short_sentences_is_article_text_but_headlines_and_share_buttons_are_not():
    intro = _tram_story(3)
    checklist = "\n".join(f"  • {s}" for s in (
        "Visit and book your reception venue and the ceremony location",
        "Research potential wedding services and suppliers in your area",
        "Choose your wedding party and ask them in person",
        "Draft a tentative guest list and a budget for each part"))
    closing = _tram_story(3).replace("Paragraph", "Closing paragraph")
    dump = f"Your wedding checklist, month by month\n\n{intro}\n\nTwelve months before\n\n{checklist}\n\n{closing}\n"
    body = extract(dump, kind="pagedump").body
    assert "Research potential wedding services" in body and "Closing paragraph 2" in body
    for junk in ("\n".join(f"  • Click to share on {s} (Opens in new window)" for s in ("X", "Facebook", "LinkedIn", "Email")),
                 "\n".join(f"  • {s}" for s in ("How Many Watts Does a Laptop Use Compared to a Desktop?",
                                                 "The Best Budget Laptops for Students Tested by Our Editors",
                                                 "Why Your Phone Battery Drains Faster in the Cold Weather"))):
        body = extract(f"Your wedding checklist, month by month\n\n{intro}\n\n{junk}\n", kind="pagedump").body
        assert "Opens in new window" not in body and "Budget Laptops" not in body


def test_byline_bar_tags_box_headings_and_publication_notes_name_no_writer():
    tag = extract(_page("", '<div class="byline"><span class="byline__tag"><a href="/tag/lifestyle">Lifestyle</a>'
                            '</span></div>'))
    assert tag.authors == []
    box = extract(_page("", '<div class="author-wrapper"><h2>Author Spotlight</h2><div class="author-card">'
                            '<a href="/team">The Upwork Team</a></div></div>'))
    assert box.authors == ["The Upwork Team"]
    note = extract(_page("", '<div class="byline-dateline"><span class="author">Originally published '
                             '<span>November 9, 2022</span></span></div>'))
    assert note.authors == []
    # A writer's name that stands in a heading of the byline stays a name.
    named = extract(_page("", '<div class="author-bio"><h3>Liz Kenny</h3><p>Former McKinsey consultant.</p></div>'))
    assert named.authors == ["Liz Kenny"]


def test_a_profile_number_stated_as_author_is_no_name():
    a = extract(_page('<meta property="article:author" content="262588213843476">', ""))
    assert a.authors == []
