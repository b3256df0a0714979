"""Articles out of pages and exports: the seed page dump field by field, real HTML, field-name mapping."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import CORPUS, needs_shared, newssearch
from newssearch.indexer import extract
from newssearch.indexer.records import read_csv, read_json, read_jsonl
from newssearch.indexer.reuters import read_sgml
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
