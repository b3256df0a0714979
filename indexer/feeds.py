"""RSS 2.0 and Atom feeds: each item an article, parsed by feedparser (RSS 0.9x/1.0/2.0, Atom 0.3/1.0).

An item with full content (`content:encoded`, Atom `<content>`) is indexed with that text; an item that
carries only a summary (`<description>`, `<summary>`) is indexed with what it carries, and the file's
notice says how many did. Title, link (url), guid/id (the id), published (else updated) date, authors,
categories/tags and the feed's title (site) are kept.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime, timezone

from .article import Article, Notice, Problem, make_article

def skip_xml(data: bytes, source: str) -> Iterator[Notice]:
    """XML that is neither a WordPress export nor a feed (a sitemap, a config): said, not failed."""
    yield Notice(source, "XML that is neither a WordPress export nor an RSS/Atom feed: skipped")


def read_feed(data: bytes, source: str) -> Iterator[Article | Problem | Notice]:
    import feedparser

    # feedparser reads a str as a URL or a path: it is given bytes only, so nothing is fetched or opened.
    parsed = feedparser.parse(bytes(data), resolve_relative_uris=False, sanitize_html=True)
    if not parsed.entries:
        reason = f" ({parsed.bozo_exception})" if parsed.get("bozo") else ""
        yield Problem(source, f"no items in this feed{reason}")
        return
    site = (parsed.feed.get("title") or "").strip() or None
    summary_only = 0
    for i, entry in enumerate(parsed.entries, start=1):
        where = f"{source}:item {i}"
        try:
            article, full = _entry(entry, where, site)
        except ValueError as exc:
            yield Problem(where, str(exc))
            continue
        summary_only += not full
        yield article
    if summary_only:
        yield Notice(source, f"{summary_only} of {len(parsed.entries)} items carry only a summary: "
                             "indexed with what they carry")


def _text_of(value: str, kind: str) -> str:
    from .records import _html_fragment_text

    if not value.strip():
        return ""
    return _html_fragment_text(value) if "html" in kind else value


def _entry(entry, where: str, site: str | None) -> tuple[Article, bool]:
    contents = [c for c in entry.get("content") or [] if (c.get("value") or "").strip()]
    full = bool(contents)
    if full:
        c = max(contents, key=lambda c: "html" in (c.get("type") or ""))  # the HTML version when both
        body = _text_of(c["value"], c.get("type") or "text/html")
    else:
        detail = entry.get("summary_detail") or {}
        body = _text_of(entry.get("summary") or "", detail.get("type") or "text/html")
    date = None
    for key in ("published_parsed", "updated_parsed"):
        t = entry.get(key)
        if t:
            date = datetime.fromtimestamp(calendar.timegm(t), tz=timezone.utc)
            break
    authors = [a.get("name", "") for a in entry.get("authors") or [] if a.get("name")]
    if not authors and entry.get("author"):
        authors = [entry["author"]]
    categories = [t.get("term", "") for t in entry.get("tags") or [] if t.get("term")]
    article = make_article(id=entry.get("id") or None, title=entry.get("title"), body=body,
                           url=entry.get("link") or None, date=date, categories=categories, authors=authors,
                           site=site, source=where)
    return article, full
