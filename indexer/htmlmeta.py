"""What a page states about itself: JSON-LD, <meta> tags (Dublin Core, OpenGraph, Twitter, Parse.ly) and <title>.

A publisher's own metadata beats guessing from the layout, so it is read first and in the order Mozilla's
Readability reads it; trafilatura's guesses (htmldate for dates, its title and author heuristics) fill in only
what the page does not state.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lxml.html import HtmlElement

_CDATA = re.compile(r"^\s*<!\[CDATA\[|\]\]>\s*$")
_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|NewsArticle|WebPage|CreativeWork|Blog", re.I)
# <title> separators between a headline and the site's name.
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\-–—·»/\\]|::)\s+|\s+(?=\[[^\]]+\]$)")


@dataclass
class PageMeta:
    title: str | None = None
    published: str | None = None  # as the page writes it: ISO 8601 mostly
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    site: str | None = None
    url: str | None = None


def _clean(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _meta_tags(tree: HtmlElement) -> dict[str, str]:
    """<meta> content by lower-cased property/name/itemprop (a property wins over a name of the same key);
    a space-separated property names several."""
    out: dict[str, str] = {}
    metas = [(m, content) for m in tree.iter("meta") if (content := _clean(m.get("content")))]
    for attr in ("property", "name", "itemprop"):
        for m, content in metas:
            for key in (m.get(attr) or "").lower().split():
                out.setdefault(key.replace(".", ":"), content)  # "dc.title" is "dc:title"
    return out


def _json_ld(tree: HtmlElement) -> dict:
    """The first schema.org article-like object among the page's JSON-LD blocks ({} if none)."""
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(_CDATA.sub("", script.text))
        except (ValueError, RecursionError):  # broken or absurdly nested: the page's other metadata still counts
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("@graph"), list):
                stack.extend(item["@graph"])
            types = item.get("@type")
            types = " ".join(t for t in types if isinstance(t, str)) if isinstance(types, list) else types
            if isinstance(types, str) and _ARTICLE_TYPES.search(types) and (
                    item.get("headline") or item.get("name")):
                return item
    return {}


def _first(value) -> str | None:
    """A JSON-LD text that may also come as a list of texts (an empty list is none)."""
    return _clean(value[0] if value else None) if isinstance(value, list) else _clean(value)


def _names(value) -> list[str]:
    """Author names from JSON-LD: a string, a Person, or a list of either."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        name = _clean(item.get("name")) if isinstance(item, dict) else _clean(item)
        if name and not name.startswith("http"):
            out.append(name)
    return out


def _title_from_title_tag(title: str, site: str | None) -> str:
    """<title> without the site's name: "Headline | Site" -> "Headline", unless that leaves under 3 words."""
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    if site:
        kept = [p for p in parts if p.strip("[] ").casefold() != site.casefold()]
        if kept and len(kept) < len(parts):
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    head = title[:title.rfind(parts[-1])].rstrip(" |-–—·»/\\:[")
    return head if len(head.split()) >= 3 else title


def _ld_title(ld: dict, title_tag: str | None, sites: list[str]) -> str | None:
    """JSON-LD headline, or its name when the two differ and only the name is what <title> says; never
    the site's own name (some sites put it there)."""
    headline, name = (v if v and not any(s.casefold().startswith(v.casefold()) for s in sites) else None
                      for v in (_clean(ld.get("headline")), _clean(ld.get("name"))))
    if headline and name and headline != name and title_tag:
        if name.casefold() in title_tag.casefold() and headline.casefold() not in title_tag.casefold():
            return name
    return headline or name


def page_meta(tree: HtmlElement) -> PageMeta:
    meta = _meta_tags(tree)
    ld = _json_ld(tree)
    publisher = _clean(ld["publisher"].get("name")) if isinstance(ld.get("publisher"), dict) else None
    site = meta.get("og:site_name") or publisher
    title_tag = _clean(tree.findtext(".//title"))
    title = (_ld_title(ld, title_tag, [s for s in (site, publisher) if s]) or meta.get("dc:title")
             or meta.get("dcterm:title") or meta.get("og:title") or meta.get("weibo:article:title")
             or meta.get("weibo:webpage:title") or meta.get("title") or meta.get("twitter:title")
             or meta.get("parsely-title") or (title_tag and _title_from_title_tag(title_tag, site)))
    published = (_clean(ld.get("datePublished")) or meta.get("article:published_time")
                 or meta.get("og:published_time") or meta.get("parsely-pub-date") or meta.get("datepublished")
                 or meta.get("dc:date:issued") or meta.get("dcterms:created") or meta.get("dc:date"))
    if not published:
        for t in tree.iter("time"):
            if t.get("itemprop") == "datePublished" or t.get("pubdate") is not None:
                published = _clean(t.get("datetime"))
                break
    authors = _names(ld.get("author")) or [a for a in (meta.get("author"), meta.get("article:author"),
                                                        meta.get("parsely-author"), meta.get("dc:creator"))
                                            if a and not a.startswith("http")][:1]
    section = _first(ld.get("articleSection")) or meta.get("article:section") or meta.get("parsely-section")
    url = meta.get("og:url") or _clean(ld.get("url"))
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href", "").startswith("http"):
            url = link.get("href").strip()
            break
    return PageMeta(title=title, published=published, authors=authors, section=section, site=site, url=url)
