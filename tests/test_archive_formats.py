"""WARC crawls, WordPress exports (WXR) and RSS/Atom feeds, built here from real pages and indexed through
the real `newssearch index` command. Nothing downloads: the WARCs are written with warcio's own writer."""
from __future__ import annotations

import gzip
import html
import io
import json
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import CORPUS, needs_shared, newssearch
# the package's lazy `extract` first: loading the module `newssearch.indexer.extract` before it would leave the
# package attribute of that name the module, for every test after this one (as test_extraction imports it)
from newssearch.indexer import extract  # isort: skip
from newssearch import Archive
from newssearch.indexer.warc import read_warc, warc_parts

CRAWLED = "2024-05-01T10:00:00Z"


def _response(w: WARCWriter, url: str, body: bytes, status: str = "200 OK", ctype: str = "text/html; charset=utf-8"):
    http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
    return w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                warc_headers_dict={"WARC-Date": CRAWLED})


def write_warc(path: Path, pages: dict[str, bytes], broken: bool = False) -> None:
    """A crawl as a crawler writes it: warcinfo, then for each page its request and response; plus a
    revisit, an image, a 404 page and a metadata record (none of them articles), and optionally one
    truncated record in the middle."""
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=str(path).endswith(".gz"))
        w.write_record(w.create_warcinfo_record(str(path.name), {"software": "newssearch tests"}))
        for i, (url, body) in enumerate(pages.items()):
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
            w.write_record(_response(w, url, body))
            if broken and i == len(pages) // 2:  # a gzip member whose data is corrupt: at most one problem
                fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 50)
        first = next(iter(pages))
        w.write_record(w.create_revisit_record(first, digest="sha1:AAAA", refers_to_uri=first,
                                               refers_to_date=CRAWLED))
        w.write_record(_response(w, "https://example.org/logo.png", b"\x89PNG\r\n", ctype="image/png"))
        w.write_record(_response(w, "https://example.org/missing", b"<html><body><p>Not found</p></body></html>",
                                 status="404 Not Found"))
        w.write_record(w.create_warc_record(first, "metadata", payload=io.BytesIO(b"outlinks: none"),
                                            warc_content_type="application/warc-fields"))


def corpus_pages() -> dict[str, bytes]:
    return {f"https://news.example/{p.name.split('.')[0]}": gzip.decompress(p.read_bytes())
            for p in sorted((CORPUS / "pages" / "html").glob("*.html.gz"))}


def stored(index: Path) -> dict[str, object]:
    archive = Archive.open(index)
    searcher = archive.searcher()
    out = {}
    for _, addr in searcher.search(__import__("tantivy").Query.all_query(), limit=10_000).hits:
        a = archive.article(searcher.doc(addr).to_dict()["id"][0])
        out[a.id] = a
    return out


def index_json(*args) -> dict:
    proc = newssearch("index", *args, "--json", check=False)
    return json.loads(proc.stdout)


def test_warc_pages_indexed_with_target_uri_and_crawl_date(tmp_path):
    pages = corpus_pages()
    post = cms_posts(1)[0]  # a page that states no date: the crawl date stands in
    pages["https://news.example/undated"] = (f"<html><head><title>{html.escape(post['title'])}</title></head>"
                                             f"<body><article>{post['html']}</article></body></html>").encode()
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, pages, broken=True)
    report = index_json(warc, "--index", tmp_path / "index")
    assert report["added"] == len(pages) == 9
    # the corrupt record is one problem, nothing else is; warcio itself sometimes reads past such a record
    # (depending on where its read blocks fall), and then there is none
    assert report["failed"] <= 1, report["problems"]
    assert all("@" in p["source"] and "WARC" in p["message"] for p in report["problems"])
    articles = stored(tmp_path / "index")
    assert set(articles) == set(pages)  # url (the target URI) is the id; revisit, image, 404: not articles
    crawled = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    for url, body in pages.items():
        a, own = articles[url], extract(body, url=url)
        assert a.url == url and a.title == own.title and a.body == own.body
        assert a.date == (own.date or crawled)  # the page's own date wins over the crawl date
    assert articles["https://news.example/undated"].date == crawled


def test_warc_ranges_cover_every_record_once(tmp_path):
    """Record-aligned ranges (what the worker processes read in parallel) give exactly what one pass gives,
    for gzipped and plain WARCs, and a truncated record is one problem in either."""
    pages = corpus_pages()
    for name in ("crawl.warc.gz", "crawl.warc"):
        warc = tmp_path / name
        write_warc(warc, pages, broken=name.endswith(".gz"))
        whole = [str(x) if not hasattr(x, "body") else x.id for x in read_warc(warc)]
        ranges = warc_parts(warc, part_bytes=64 * 1024)
        assert len(ranges) >= 4
        assert all(b is None or a < b for a, b in ranges) and ranges[0][0] == 0 and ranges[-1][1] is None
        assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
        parts = [str(x) if not hasattr(x, "body") else x.id for a, b in ranges for x in read_warc(warc, a, b)]
        ids = [x for x in parts if x.startswith("https://")]
        assert sorted(ids) == sorted(x for x in whole if x.startswith("https://")) == sorted(pages)
        assert len(parts) - len(ids) <= (1 if name.endswith(".gz") else 0)
        assert len(whole) - len(ids) <= (1 if name.endswith(".gz") else 0)


def _records(gz: bool) -> tuple[bytes, list[int]]:
    """Five HTML responses from the corpus pages, and where each starts (and the file ends)."""
    buf, starts = io.BytesIO(), []
    w = WARCWriter(buf, gzip=gz)
    for url, body in list(corpus_pages().items())[:5]:
        starts.append(buf.tell())
        w.write_record(_response(w, url, body))
    return buf.getvalue(), starts + [buf.tell()]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("damage", ["flipped bytes", "cut at the end", "cut record"])
def test_warc_damage_warcio_reads_past_is_one_problem(tmp_path, gz, damage):
    """Damage warcio reads without an error (bytes changed under a digest, a file cut mid-record, a record
    shorter than its Content-Length) is one problem naming the record's offset; every whole record is read."""
    data, at = _records(gz)
    urls = list(corpus_pages())[:5]
    if damage == "flipped bytes":
        mid = (at[2] + at[3]) // 2
        data = data[:mid] + bytes(b ^ 0x55 for b in data[mid:mid + 16]) + data[mid + 16:]
        lost = 2
    elif damage == "cut at the end":
        data = data[:(at[4] + at[5]) // 2]
        lost = 4
    else:  # the record loses 100 bytes from its middle; the records after it start on a new line
        mid = (at[2] + at[3]) // 2
        data = data[:mid] + data[mid + 100:]
        lost = 2
    warc = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    warc.write_bytes(data)
    got = list(read_warc(warc))
    problems = [x for x in got if not hasattr(x, "body")]
    assert [x.id for x in got if hasattr(x, "body")] == [u for i, u in enumerate(urls) if i != lost]
    assert len(problems) == 1, [str(p) for p in problems]
    assert "WARC" in problems[0].message and problems[0].source.endswith(f"@{at[lost]}"), str(problems[0])


def test_warc_of_the_readability_pages(tmp_path):
    root = needs_shared("readability-pages")
    pages = {f"https://example.org/{d.name}": (d / "source.html").read_bytes() for d in sorted(root.iterdir())
             if (d / "source.html").exists()}
    warc = tmp_path / "readability.warc.gz"
    write_warc(warc, pages)
    report = index_json(warc, "--index", tmp_path / "index")
    assert report["files"] == 1 and report["articles"] + report["failed"] == len(pages) == 130
    assert all(p["message"].endswith("no article text found in the page") for p in report["problems"])
    assert report["failed"] <= 2
    archive = Archive.open(tmp_path / "index")
    for name in ("cnn", "nytimes-1", "lemonde-1"):
        a = archive.article(f"https://example.org/{name}")
        meta = json.loads((root / name / "expected-metadata.json").read_text())
        assert a.url == f"https://example.org/{name}" and a.title == meta["title"]


# --- WordPress exports ------------------------------------------------------------------------------

def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def write_wxr(path: Path, posts: list[dict]) -> None:
    """A WordPress 1.2 export of real articles: categories World > Europe and Business, two authors, tags,
    and the items a real export also holds (a draft, a revision, an attachment, a page)."""
    items = []
    for i, p in enumerate(posts):
        kind, status = p.get("kind", "post"), p.get("status", "publish")
        cats = "".join(f'<category domain="category" nicename="{c}">{_cdata(c.title())}</category>'
                       for c in p.get("cats", []))
        tags = "".join(f'<category domain="post_tag" nicename="t{j}">{_cdata(t)}</category>'
                       for j, t in enumerate(p.get("tags", [])))
        gmt = p["date"].strftime("%Y-%m-%d %H:%M:%S") if status == "publish" else "0000-00-00 00:00:00"
        items.append(f"""
  <item>
    <title>{html.escape(p["title"])}</title>
    <link>https://wire.example/{i}/</link>
    <pubDate>{format_datetime(p["date"])}</pubDate>
    <dc:creator>{_cdata(p.get("login", "jdoe"))}</dc:creator>
    <guid isPermaLink="false">https://wire.example/?p={100 + i}</guid>
    <description></description>
    <content:encoded>{_cdata(p["html"])}</content:encoded>
    <excerpt:encoded>{_cdata("")}</excerpt:encoded>
    <wp:post_id>{100 + i}</wp:post_id>
    <wp:post_date>{_cdata(p["date"].strftime("%Y-%m-%d %H:%M:%S"))}</wp:post_date>
    <wp:post_date_gmt>{_cdata(gmt)}</wp:post_date_gmt>
    <wp:status>{_cdata(status)}</wp:status>
    <wp:post_type>{_cdata(kind)}</wp:post_type>
    {cats}{tags}
  </item>""")
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>Wire Example</title>
  <link>https://wire.example</link>
  <wp:wxr_version>1.2</wp:wxr_version>
  <wp:author><wp:author_id>1</wp:author_id><wp:author_login>{_cdata("jdoe")}</wp:author_login>
    <wp:author_display_name>{_cdata("Jane Doe")}</wp:author_display_name></wp:author>
  <wp:author><wp:author_id>2</wp:author_id><wp:author_login>{_cdata("rroe")}</wp:author_login>
    <wp:author_display_name>{_cdata("Richard Roe")}</wp:author_display_name></wp:author>
  <wp:category><wp:term_id>1</wp:term_id><wp:category_nicename>{_cdata("world")}</wp:category_nicename>
    <wp:category_parent>{_cdata("")}</wp:category_parent><wp:cat_name>{_cdata("World")}</wp:cat_name></wp:category>
  <wp:category><wp:term_id>2</wp:term_id><wp:category_nicename>{_cdata("europe")}</wp:category_nicename>
    <wp:category_parent>{_cdata("world")}</wp:category_parent><wp:cat_name>{_cdata("Europe")}</wp:cat_name></wp:category>
  <wp:category><wp:term_id>3</wp:term_id><wp:category_nicename>{_cdata("business")}</wp:category_nicename>
    <wp:category_parent>{_cdata("")}</wp:category_parent><wp:cat_name>{_cdata("Business")}</wp:cat_name></wp:category>
  {"".join(items)}
</channel>
</rss>
""", encoding="utf-8")


def cms_posts(n: int) -> list[dict]:
    """Real Reuters articles from the corpus's CMS export (HTML bodies, RFC 822 dates)."""
    from email.utils import parsedate_to_datetime

    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text())["posts"][:n]
    return [{"title": html.unescape(p["title"]["rendered"]), "html": p["content"]["rendered"],
             "date": parsedate_to_datetime(p["pubDate"])} for p in posts]


def test_wordpress_export(tmp_path):
    posts = cms_posts(14)
    for i, p in enumerate(posts[:10]):
        p.update(cats=["europe"] if i % 2 else ["business", "world"], tags=["Debt", "Wire/Feed"] if i < 3 else [],
                 login="rroe" if i == 4 else "jdoe")
    posts[10].update(status="draft")
    posts[11].update(kind="revision", status="inherit")
    posts[12].update(kind="attachment", status="inherit")
    posts[13].update(kind="page")
    wxr = tmp_path / "wordpress.2024-05-01.xml"
    write_wxr(wxr, posts)
    report = index_json(wxr, "--index", tmp_path / "index")
    assert (report["added"], report["failed"]) == (10, 0), report
    assert report["notices"] == [{"source": str(wxr), "message":
                                  "not published posts, skipped: 1 attachment, 1 draft, 1 page, 1 revision"}]
    articles = stored(tmp_path / "index")
    assert set(articles) == {f"https://wire.example/?p={100 + i}" for i in range(10)}
    for i, p in enumerate(posts[:10]):
        a = articles[f"https://wire.example/?p={100 + i}"]
        assert a.title == p["title"] and a.url == f"https://wire.example/{i}/" and a.site == "Wire Example"
        assert a.date == p["date"] and a.authors == ["Richard Roe" if i == 4 else "Jane Doe"]
        assert a.body.split("\n\n")[0] in html.unescape(p["html"]) and "<p>" not in a.body
        cats = ["World/Europe"] if i % 2 else ["Business", "World"]
        assert a.categories == cats + (["Tags/Debt", "Tags/Wire Feed"] if i < 3 else [])
    hits = json.loads(newssearch("query", "", "-c", "europe", "--index", tmp_path / "index", "--json").stdout)
    assert hits["total"] == 5


# --- feeds ------------------------------------------------------------------------------------------

def test_atom_feed_with_full_content(tmp_path):
    posts = cms_posts(6)
    entries = "".join(f"""
  <entry>
    <title>{html.escape(p["title"])}</title>
    <link rel="alternate" href="https://wire.example/atom/{i}"/>
    <id>tag:wire.example,1987:{i}</id>
    <published>{p["date"].isoformat()}</published>
    <updated>2024-01-01T00:00:00Z</updated>
    <author><name>Jane Doe</name></author>
    <category term="Markets"/>
    <summary>{html.escape(p["title"].title())}</summary>
    <content type="html">{html.escape(p["html"])}</content>
  </entry>""" for i, p in enumerate(posts))
    feed = tmp_path / "wire.atom"
    feed.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire Example</title><id>tag:wire.example,1987:feed</id>
<updated>2024-01-01T00:00:00Z</updated>{entries}
</feed>""", encoding="utf-8")
    report = index_json(feed, "--index", tmp_path / "index")
    assert (report["added"], report["failed"], report["notices"]) == (6, 0, [])
    articles = stored(tmp_path / "index")
    for i, p in enumerate(posts):
        a = articles[f"tag:wire.example,1987:{i}"]
        assert a.title == p["title"] and a.url == f"https://wire.example/atom/{i}" and a.date == p["date"]
        assert a.authors == ["Jane Doe"] and a.categories == ["Markets"] and a.site == "Wire Example"
        paragraphs = [html.unescape(x) for x in p["html"].replace("</p>", "").split("<p>") if x]
        assert a.body == "\n\n".join(" ".join(x.split()) for x in paragraphs)


def test_rss_feed_full_and_summary_only_items(tmp_path):
    posts = cms_posts(5)
    items = []
    for i, p in enumerate(posts):
        content = f"<content:encoded>{_cdata(p['html'])}</content:encoded>" if i < 3 else ""
        first = p["html"].split("</p>")[0] + "</p>"
        items.append(f"""<item><title>{html.escape(p["title"])}</title><link>https://wire.example/rss/{i}</link>
<guid>https://wire.example/rss/{i}</guid><pubDate>{format_datetime(p["date"])}</pubDate>
<category>Energy</category><description>{html.escape(first)}</description>{content}</item>""")
    feed = tmp_path / "wire.rss"
    feed.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wire RSS</title>
<link>https://wire.example</link><description>d</description>{"".join(items)}</channel></rss>""", encoding="utf-8")
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url><loc>x</loc></url></urlset>')
    report = index_json(tmp_path, "--index", tmp_path / "index")
    assert (report["added"], report["failed"]) == (5, 0), report
    assert sorted(n["message"] for n in report["notices"]) == [
        "2 of 5 items carry only a summary: indexed with what they carry",
        "XML that is neither a WordPress export nor an RSS/Atom feed: skipped"]
    articles = stored(tmp_path / "index")
    for i, p in enumerate(posts):
        a = articles[f"https://wire.example/rss/{i}"]
        assert a.date == p["date"] and a.categories == ["Energy"] and a.site == "Wire RSS"
        assert len(a.body.split("\n\n")) == (p["html"].count("<p>") if i < 3 else 1)
