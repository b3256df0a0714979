"""What a page states about itself: JSON-LD, <meta> tags (Dublin Core, OpenGraph, Twitter, Parse.ly) and <title>.

A publisher's own metadata beats guessing from the layout, so it is read first and in the order Mozilla's
Readability reads it; trafilatura's guesses (htmldate for dates, its title and author heuristics) fill in only
what the page does not state.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from itertools import chain, islice
from urllib.parse import urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement

from .dates import DATE_IN_TEXT

MAX_JSON_LD_OBJECTS = 2000  # objects read per JSON-LD block: a bound on hostile pages
_CDATA = re.compile(r"^\s*<!\[CDATA\[|\]\]>\s*$")
_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|NewsArticle|WebPage|CreativeWork|Blog", re.I)
# <title> separators between a headline and the site's name.
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\-–—·•»/\\_]|::)\s+|\s+(?=\[[^\]]+\]$)")


@dataclass
class PageMeta:
    title: str | None = None
    published: str | None = None  # as the page writes it: ISO 8601 mostly
    shown_date: str | None = None  # the date the page shows by its headline (visible_date)
    shown_label: int = 1  # what labels it: 0 published, 1 nothing, 2 updated
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    site: str | None = None
    url: str | None = None
    article: bool = False  # the page declares itself an article (og:type, a JSON-LD Article/BlogPosting…)


def _clean(value) -> str | None:
    """Whitespace tidied, entities a CMS escaped twice ("&amp;#8217;" read as "&#8217;") decoded."""
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = html.unescape(value)
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


def _json_ld(tree: HtmlElement) -> tuple[dict, dict[str, dict]]:
    """The first schema.org article-like object among the page's JSON-LD blocks ({} if none), and every
    object that has an @id by that id (WordPress's Yoast names the author as {"@id": …} of a Person
    elsewhere in its @graph)."""
    found: dict = {}
    ids: dict[str, dict] = {}
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(_CDATA.sub("", script.text))
        except (ValueError, RecursionError):  # broken or absurdly nested: the page's other metadata still counts
            continue
        stack = data if isinstance(data, list) else [data]
        seen = 0
        while stack and seen < MAX_JSON_LD_OBJECTS:
            item = stack.pop(0)
            seen += 1
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("@graph"), list):
                stack.extend(item["@graph"])
            if isinstance(item.get("@id"), str) and len(item) > 1:
                ids.setdefault(item["@id"], item)
            types = item.get("@type")
            types = " ".join(t for t in types if isinstance(t, str)) if isinstance(types, list) else types
            if isinstance(types, str) and _ARTICLE_TYPES.search(types):
                if not found and (item.get("headline") or item.get("name")):
                    found = item
                elif found and not _PAGE_TYPES.fullmatch(types) and _PAGE_TYPES.fullmatch(_type(found)):
                    # The page's article beats the WebPage that holds it: fields found lacks come from it.
                    found = {**found, **item} if item.get("headline") or item.get("name") else {**item, **found}
                elif found and "author" not in found and "author" in item:
                    found = {**found, "author": item["author"]}
    return found, ids


_DECLARED_ARTICLE = re.compile(r"Article|Posting|Report|Blog", re.I)  # not a WebPage, a CreativeWork
_PAGE_TYPES = re.compile(r"(?:WebPage|CreativeWork|ItemPage|CollectionPage)", re.I)


def _type(item: dict) -> str:
    types = item.get("@type")
    return " ".join(t for t in types if isinstance(t, str)) if isinstance(types, list) else str(types or "")


def _first(value) -> str | None:
    """A JSON-LD text that may also come as a list of texts (an empty list is none)."""
    return _clean(value[0] if value else None) if isinstance(value, list) else _clean(value)


def _twitter_label(meta: dict[str, str], label: str) -> str | None:
    """The value of a Twitter card's labelled field ("twitter:label1" "Written by" -> "twitter:data1")."""
    for i in range(1, 5):
        if (meta.get(f"twitter:label{i}") or "").casefold() == label:
            return meta.get(f"twitter:data{i}")
    return None


def _names(value, ids: dict[str, dict] | None = None) -> list[str]:
    """Author names from JSON-LD: a string, a Person (or a reference to one by @id), or a list of them."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict) and "name" not in item and ids and isinstance(item.get("@id"), str):
            item = ids.get(item["@id"], item)
        name = _clean(item.get("name")) if isinstance(item, dict) else _clean(item)
        name = author_name(name, stated=True) if name else None
        if name:
            out.append(name)
    return out


_LETTER = re.compile(r"[^\W\d_]")
_BYLINE_PREFIX = re.compile(
    r"^(?:(?:view|see|read) (?:all|more) (?:posts|articles|stories)(?: by)?|more (?:posts|articles|stories) by|"
    r"(?:written|posted|published|reviewed|edited|reported|text|words|story|article|recipe|post|photos?|"
    r"interview|review|guide)(?: and \w+)? by|author(?:ed by)?|by|von|par|por|di|door)(?:\b|(?<=\)))(?:\(s\))?[\s:|]*", re.I)
_NOT_A_NAME = re.compile(r"^(?:https?:|www\.)|@\S+\.|^\W*$|^\w+(?:\.\w+){2,}$|^(?:admin|administrator|name|author|"
                         r"authors|by|staff writer|unknown|guest|editor|sponsored|guide|advertisement|partner content|about|"
                         r"more|share|follow)$", re.I)  # (a.b.c: a template's key)
# What a byline says about the person after the name ("Ann Lee, Tech Reporter", "Ann Lee Writer"): a job,
# not a name. Credentials ("MD", "PhD") stay: the name stands in them as the page writes it.
_ROLE = re.compile(r"\b(?:writer|editor|reporter|author|contributor|correspondent|columnist|expert|founder|"
                   r"co-founder|director|manager|specialist|analyst|journalist|producer|winemaker|strategist|"
                   r"consultant|president|officer|engineer|designer|marketer|ceo|cto|cmo)s?\b",
                   re.I)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
# What bylines run on into after the name: a date or its label, a reading time.
_AFTER_NAME = re.compile(rf"\s*(?:[|•·⋅]|\s[-–—]\s|\b(?:(?:last )?updated|(?:originally )?published|posted|on|reviewed|fact[- ]checked|edited)\b|\b{_MONTH}\s+\d"
                         rf"|\bat\s+(?:\d|{_MONTH}\s)"
                         r"|\b(?:january|february|march|july|september|october|november|december)$"
                         r"|\d{1,4}[/.-]\d|\d+ min).*$", re.I)
_NAME_ENDS_ON = re.compile(r"^[^|•·\d]*\bon$", re.I)  # "… On" and nothing after it: no date follows
MAX_NAME_WORDS = 8
_NAME_PARTICLES = {"and", "de", "van", "von", "der", "da", "di", "la", "le", "du", "del", "bin", "al", "&"}


def author_name(text: str, stated: bool = False) -> str | None:
    """A name as a byline writes it, without "By", "Written by", "View all posts by", a trailing "|" or the
    person's job ("Ann Lee, Tech Reporter"); None for what is not a person's or a desk's name (a URL, an
    e-mail, "admin", a sentence, a job title). stated: the page's metadata declares it a name, so one
    written in lower case ("kirstin boatto") stands."""
    text = _BYLINE_PREFIX.sub("", _BYLINE_PREFIX.sub("", " ".join(text.split())))  # "Written by by Ann"
    if not (stated and _NAME_ENDS_ON.search(text)):  # a desk the metadata names "Audiophile On" keeps its "On"
        text = _AFTER_NAME.sub("", text)
    text = text.strip(" |,:;-–—·•⋅\"“”")
    if "," in text:  # "Ann Lee, Tech Reporter": the job goes; "Ann Lee, MD" and "Ann Lee, Bo Li" stay
        parts = [p.strip() for p in text.split(",")]
        kept = [p for p in parts if p and not _ROLE.search(p) and not p.startswith("The ")]  # nor "The Times"
        text = ", ".join(kept) if kept and len(kept) < len(parts) else text
    elif len(text.split()) >= 3 and _ROLE.fullmatch(text.split()[-1]) and not stated:
        text = " ".join(text.split()[:-1])  # "Irene Okpanachi Author"; a desk the metadata names stays whole
    text = re.sub(r"\s+\d+$", "", text)  # a count of their posts ("Andrew Gerrand 4")
    text = re.sub(r"^(.+?)(?:\s*\1)+$", r"\1", text)  # a name shown twice or more ("Ann LeeAnn Lee")
    text = _PICTURE_AFTER.sub("", text)  # an image's alt text the name runs into ("Ann Lee WABC logo")
    if not text or _NOT_A_NAME.search(text) or len(text.split()) > MAX_NAME_WORDS or not _LETTER.search(text):
        return None  # (no letter at all: a profile's number, "262588213843476", even where metadata states it)
    if _ROLE.fullmatch(text.split()[-1]) and not (stated and len(text.split()) >= 2):
        return None  # a job, not a name ("Tech Reporter"); a desk the metadata names stands ("Our Editors")
    if not stated and (re.search(r"\d", text) or not re.match(r"\w", text)):
        return None  # "10", "(s)", "Kan Chu Sen, 1721.": a byline's neighbours, not a name
    words = [w for w in text.split() if w.lower() not in _NAME_PARTICLES]
    if not stated and sum(w[:1].islower() for w in words) * 2 >= len(words):
        return None  # a phrase in a sentence ("by humans, not robots", "focusing"), not a name
    return text


# What a page's <h1> may say before its headline: a screen reader's label ("Title:"), a date ("Dec 18 2025").
_LABEL_BEFORE_TITLE = re.compile(rf"^(?:(?:title|headline)\s*:\s*|(?:{DATE_IN_TEXT.pattern})\s+(?=(?:\S+\s+){{2}}\S))",
                                 re.I)


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


SITE_NAME_WORDS = 4  # a title's last part after a separator this short is the site's (or a section's) name


def _strip_site(title: str, names: SiteNames, short_tail: bool = True) -> str:
    """A title without the site's name it often carries ("Headline | Site", "Site | Headline"): the parts
    that name the site (SiteNames), else (short_tail) a short last part after the headline."""
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) < 2:  # "example.com Headline": a host name never belongs to a headline's words
        words = title.split()
        for end in (0, -1):
            if len(words) >= 3 and "." in words[end] and names.matches(words[end]):
                return " ".join(words[1:] if end == 0 else words[:-1])
        return title
    kept = [p for p in parts if not names.matches(p.strip("[] "), part=True)]
    if kept and len(kept) < len(parts):
        return " - ".join(kept)
    head = title[:title.rfind(parts[-1])].rstrip(" |-–—·•»/\\:[")
    if short_tail and len(parts[-1].split()) <= SITE_NAME_WORDS and len(head.split()) >= 3:
        # "Headline | Section | Site": the section's name goes too
        return _strip_site(head, names, short_tail) if len(parts) > 2 and " | " in head else head
    return title


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


class SiteNames:
    """What a site calls itself: og:site_name, the publisher, the application name (and each part of
    those, "Site - Tagline"), and its domain ("newegg" of promotions.newegg.com, "Newegg.com")."""

    def __init__(self, names: list[str], url: str | None):
        self.keys = {_key(p) for n in names for p in [n, *_TITLE_SEPARATOR.split(n)] if _key(p)}
        host = (urlsplit(url).hostname or "") if url and url.startswith("http") else ""
        labels = host.removeprefix("www.").split(".")
        if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3:
            labels = labels[:-1]  # example.co.uk
        self.domain = _key(labels[-2]) if len(labels) >= 2 else ""
        if self.domain:
            self.keys.update({self.domain, self.domain + _key(labels[-1])})

    def matches(self, text: str, part: bool = False) -> bool:
        """text is one of the site's names; part: a title's part may also be a short phrase with the
        domain's name as one of its words ("Shopify App Store")."""
        if _key(text) in self.keys:
            return True
        words = text.split()
        return part and bool(self.domain) and len(self.domain) >= 4 and len(words) <= SITE_NAME_WORDS and \
            any(_key(w) == self.domain for w in words)


def _ld_title(ld: dict, title_tag: str | None, sites: list[str], others: list[str | None] = ()) -> str | None:
    """JSON-LD headline, or its name when the two differ and only the name is what <title> says; never
    the site's own name (some sites put it there). A headline cut short (schema.org tools cut it at 110
    characters) gives way to the page's other title that it begins."""
    headline, name = (v if v and not any(s.casefold().startswith(v.casefold()) for s in sites) else None
                      for v in (_clean(ld.get("headline")), _clean(ld.get("name"))))
    if headline and name and headline != name and title_tag:
        if name.casefold() in title_tag.casefold() and headline.casefold() not in title_tag.casefold():
            return name
    title = headline or name
    for other in others:
        # What the other title says past the headline: more of it, not " | Site".
        if title and other and len(other) > len(title) and other.startswith(title) and \
                not _TITLE_SEPARATOR.match(other[len(title):]):
            return other
    return title


def byline_authors(tree: HtmlElement, names: SiteNames | None = None) -> list[str]:
    """Authors from the page's visible byline where its metadata names none: elements marked as the
    author (rel="author", itemprop="author", an author-name or byline class), else the first element of an
    "author" class whose text is a name; their itemprop="name" part if they mark one."""
    marked, named_like = [], []
    for el in _byline_elements(tree):
        if _outside_article(el) or _taxonomy(el):
            continue
        cls = el.get("class") or ""
        if ("author" in (el.get("rel") or "").split() or "author" in (el.get("itemprop") or "").split()
                or el.get("id") == "author" or cls == "author" or _AUTHOR_CLASS.search(cls)):
            marked.append(el)
        else:
            named_like.append(el)
    for found in (marked, named_like):
        out: list[str] = []
        for el in found:
            named = el.xpath('.//*[@itemprop="name"]')
            for name in _byline_names(named[0] if named else el):
                if names is not None and names.matches(name):
                    continue  # the site's own name: a person may stand beside it
                if len(name.split()) <= MAX_BYLINE_WORDS and name.casefold() not in (n.casefold() for n in out):
                    out.append(name)
            if len(out) >= MAX_AUTHORS or out and el.tag != "a":
                break
        if out:
            return out[:MAX_AUTHORS]
    return []


_TAXONOMY_LINK = re.compile(r"/(?:tags?|categor(?:y|ies)|topics?|sections?)/", re.I)


def _taxonomy(el: HtmlElement) -> bool:
    """A link to a tag's or a category's page, or an element whose links all go to such pages: a byline
    bar's "Lifestyle" tag, not a writer."""
    links = [el] if el.tag == "a" else list(el.iter("a"))
    return bool(links) and all(_TAXONOMY_LINK.search(a.get("href") or "") for a in links)


_CONNECTOR = re.compile(r"^(?:and|&|,|und|et|y|e|en)$", re.I)


def _byline_names(el: HtmlElement) -> list[str]:
    """The names in a byline element, read piece by piece (its text nodes), not as one glued string: its
    parts ("By", "Ann Lee", "Tech Reporter", "June 2, 2025") often stand in elements with no space
    between them. Names joined by "and" or "," are all kept; the first other piece after a name ends it."""
    names: list[str] = []
    joined = True  # the next name may join the list: the first one, or one after "and"
    for piece in _BYLINE_TEXTS(el):
        if not piece.is_tail and piece.getparent().tag in _HEADINGS and _BOX_HEADING.match(piece):
            continue  # an author box's heading ("Author Spotlight", "About the author"), not a name
        piece = _clean(piece)
        if not piece:
            continue
        if names and _CONNECTOR.match(piece):
            joined = True
            continue
        if not names and _INITIALS.match(piece):
            continue  # an avatar's letters ("CM" for Craig McCarthy)
        name = author_name(piece)
        if name and joined:
            names.append(name)
            joined = False
        elif names:
            break
    return names


_BYLINE_TEXTS = XPath(".//text()")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BOX_HEADING = re.compile(r"\s*(?:about (?:the )?)?authors?\b", re.I)
_INITIALS = re.compile(r"^[A-Z]{1,3}$")
_PICTURE_AFTER = re.compile(r"\s+(?:\S+\s+)?(?:logo|icon|image|photo|avatar|headshot)$", re.I)


def text_byline(tree: HtmlElement, headline: str | None = None) -> list[str]:
    """A "By Ann Lee" line among the first texts after the headline's <h1> (the first <h1> when none is
    the headline: a logo often takes the first), else a "Written by Ann Lee" or "Posted by Ann Lee", or
    an "Author" label over the name, anywhere (an author box, a blog's footer line): for pages that mark
    no byline. A label that stands alone takes the text that follows it in the page."""
    h1 = _headline_h1(tree, headline)
    after = [] if h1 is None else [t for t in (_clean(x) for x in _AFTER_H1(h1)) if t]
    for i, t in enumerate(after):
        m = _TEXT_BYLINE.match(t)
        if m:
            name = author_name(m.group(1) or next((t for t in after[i + 1:i + 3] if not _INITIALS.match(t)), ""))
            if name:
                return [name]
    for label in _LABELLED_BYLINE(tree):
        m = _TEXT_BYLINE.match(_clean(label) or "")
        if m:
            name = author_name(m.group(1) or _next_text(label))
            if name:
                return [name]
    return []


_AUTHOR_PAGE = re.compile(r"/(?:author|authors)/[^/?#]+/?(?:[?#]|$)", re.I)


def author_link(tree: HtmlElement, names: SiteNames | None = None) -> list[str]:
    """The first link to an author's page ("/author/ann-lee") whose text is a name, outside asides, menus
    and comments: for pages that name their writer nowhere else."""
    for a in tree.iter("a"):
        if _AUTHOR_PAGE.search(a.get("href") or "") and not _outside_article(a):
            name = author_name(a.text_content())
            if name and len(name.split()) >= 2 and not (names and names.matches(name)):
                return [name]
    return []


MAX_OWNER_TEXTS = 3000  # texts of a page searched for its owner's name


def owner_by_domain(tree: HtmlElement, names: SiteNames) -> list[str]:
    """A personal site's owner, who writes its pages: a person's name on the page (or its logo's alt text)
    that spells its domain ("Toby Hede" on tobyhede.com), for pages that name their writer nowhere else."""
    if len(names.domain) < 6:
        return []
    alts = (img.get("alt") or "" for img in tree.iter("img"))
    for text in islice(chain(tree.itertext(), alts), MAX_OWNER_TEXTS):
        words = text.split()
        if 2 <= len(words) <= 3 and _key(text) == names.domain and (name := author_name(text)):
            return [name]
    return []


def _next_text(text) -> str:
    """The first non-blank text after a text node of the tree (one an XPath returned), in page order,
    past an avatar's initials ("CP" over "Chengcheng Pei")."""
    el = text.getparent()
    if el is None:
        return ""
    following = [t for t in (_clean(x) for x in (_TEXT_AND_NEXT if text.is_text else _TAIL_AND_NEXT)(el)[1:]) if t]
    return next((t for t in following if not _INITIALS.match(t)), "")


TEXTS_AFTER_HEADLINE = 20
_AFTER_H1 = XPath(f"following::text()[normalize-space()][position() <= {TEXTS_AFTER_HEADLINE}]")
# A byline's label anywhere in the page (its first three): "Written by …", "Posted by …", "Author".
_LABELLED_BYLINE = XPath(
    "(//text()[contains(., 'Written ') or contains(., 'Posted ') or contains(., 'Author') or contains(., 'Article ')]"
    "[starts-with(normalize-space(), 'Written by') or starts-with(normalize-space(), 'Written By') or "
    "starts-with(normalize-space(), 'Posted by') or starts-with(normalize-space(), 'Posted By') or "
    "starts-with(normalize-space(), 'Article by') or starts-with(normalize-space(), 'Article By') or "
    "normalize-space() = 'Author' or normalize-space() = 'Author:'])[position() <= 3]")
# An element's own first text and the next one after it; the text after an element and the next one.
_TEXT_AND_NEXT = XPath("(descendant::text() | following::text())[normalize-space()][position() <= 3]")
_TAIL_AND_NEXT = XPath("following::text()[normalize-space()][position() <= 3]")
_TEXT_BYLINE = re.compile(r"^(?:(?:written|posted|published|article) by|by|author)\b[\s:]*(.*)$", re.I)


def _outside_article(el: HtmlElement) -> bool:
    """In an aside, a menu or the comments, or in the page's footer (an article's own <footer> often holds
    its byline)."""
    ancestors = list(el.iterancestors())
    for i, a in enumerate(ancestors):
        if a.tag == "main":
            return False  # an aside around the page's <main>: a banner left unclosed, not a sidebar
        if a.tag in ("aside", "nav") or "comment" in (a.get("class") or ""):
            return True
        if a.tag == "footer" and not any(b.tag in ("article", "main") for b in ancestors[i + 1:]):
            return True
    return False


MAX_AUTHORS = 5
MAX_BYLINE_WORDS = 5
_BYLINE_TAGS = frozenset({"a", "span", "div", "p", "address", "strong"})
_AUTHOR_CLASS = re.compile(r"author-?name|author__name|authorname|byline", re.I)
_BYLINE_CLASS = re.compile(r"author|Author|byline|posted-by|submitted-by|writer")


def _byline_elements(tree: HtmlElement) -> list[HtmlElement]:
    """The elements that may hold a byline: rel="author", itemprop "author", id "author", or a class with
    "author", "byline", "posted-by", "submitted-by" or "writer" in it, in page order. (One pass over the
    few tags a byline stands in: a third of the time of the XPath that says the same.)"""
    out = []
    for el in tree.iter(*_BYLINE_TAGS):
        attrib = el.attrib
        if not attrib:
            continue
        cls = attrib.get("class")
        if cls and _BYLINE_CLASS.search(cls) or attrib.get("rel") == "author" or attrib.get("id") == "author" \
                or "author" in (attrib.get("itemprop") or ""):
            out.append(el)
    return out


_TOKEN = re.compile(r"\w+")
MAX_HEADLINE_WORDS = 40


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.casefold()))


def _headings(tree: HtmlElement) -> list[str]:
    """The texts of the page's <h1>s, in page order (hidden screen-reader or logo ones included: the
    caller matches them against the page's metadata)."""
    out = []
    for h in tree.iter("h1"):
        text = _clean(_heading_text(h))
        if text and len(text.split()) <= MAX_HEADLINE_WORDS and text not in out:
            out.append(text)
    return out


_BLOCKS = frozenset({"div", "p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "figure", "table", "section", "header"})


def _heading_text(h: HtmlElement) -> str:
    """A heading's text up to the first block inside it (a page that puts its date and byline in an <h3>
    within its <h1> has them out of the headline)."""
    parts = [h.text or ""]
    for child in h:
        if child.tag in _BLOCKS:
            break
        if isinstance(child.tag, str):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return "".join(parts)


def visible_headline(headings: list[str], stated: list[str], sites: list[str],
                     names: SiteNames | None = None) -> str | None:
    """The headline the page shows: the <h1> that the page's metadata titles (JSON-LD, OpenGraph, <title>)
    agree with, in its visible wording (metadata often rewords it for search engines or adds the site's
    name); None when none agrees (then the metadata's title, without the site's name, stands)."""
    # The site's name: what the page calls itself, and the parts after the first of a separated title
    # ("Headline | Site"): a logo in an <h1> matches those words, not the headline's.
    site_keys = {s.casefold() for s in sites}
    site_keys.update(p.strip(" :[]").casefold() for t in stated if t for p in _TITLE_SEPARATOR.split(t)[1:])
    headings = [h for h in headings if h.casefold() not in site_keys and not (names and names.matches(h))]
    if not headings:
        return None
    stated_tokens = [_tokens(t) for t in stated if t]
    best, best_score = None, 0.0
    for h in headings:
        ht = _tokens(h)
        if not ht:
            continue
        # Share of the heading's words the best-matching metadata title has, and of that title's words
        # the heading has: a logo or a section name shares few of them.
        score = max((len(ht & st) / len(ht) * min(1.0, 2 * len(ht & st) / len(st)) for st in stated_tokens
                     if st), default=0.0)
        if score > best_score:
            best, best_score = h, score
    # A heading no metadata title agrees with is as often a section's or a logo's as the headline (the
    # sole <h1> taken then: 619 against 622 right on WCXB's articles).
    return _without_label(best, stated) if best_score >= 0.5 else None


_SECTION_LABEL = re.compile(r"([^\W\d][\w'’-]*(?:\s+[\w'’-]+)?)\s*:\s*(\S.*)")


def _without_label(heading: str, stated: list[str]) -> str:
    """The heading without a section label the page prints before it ("Blog: Headline"), when its metadata
    titles all leave the label out and one of them is the rest ("Headline | Site")."""
    m = _SECTION_LABEL.fullmatch(heading)
    if not m:
        return heading
    label, rest = m.group(1).casefold(), " ".join(m.group(2).split()).casefold()
    titles = [" ".join(t.split()).casefold() for t in stated if t]
    if any(label in t for t in titles):
        return heading
    parts = {p.strip() for t in titles for p in (t, _TITLE_SEPARATOR.split(t)[0])}
    return m.group(2).strip() if rest in parts else heading


# The label before a date by the headline: published (0), none (1), updated (2).
_DATE_LABEL = re.compile(r"(?:(published|posted|written|released|created|first published)|"
                         r"((?:last )?(?:updated|modified|reviewed|edited|revised)))\W*(?:on|at|in)?\W*$", re.I)
TEXTS_BEFORE_HEADLINE = 8
DATE_LINE_WORDS = 12  # a text holding a date and more words than this is a sentence, not a date line


def visible_date(tree: HtmlElement, headline: str | None) -> tuple[str | None, int]:
    """The date a reader sees by the headline: among the texts just after its <h1> (then just before it),
    a <time datetime=…> or a written date ("Dec 12, 2025", "12.12.2025"); one labelled "Published" or
    "Posted" first, then an unlabelled one, an "Updated" one last. Returns the date as written (the
    <time>'s datetime where it has one) and its label's rank (0 published, 1 none, 2 updated)."""
    h1 = _headline_h1(tree, headline)
    if h1 is None:
        return None, 1
    after = [(x, x.getparent()) for x in _AFTER_H1(h1)]
    before = [(x, x.getparent()) for x in _BEFORE_H1(h1)]
    best: tuple[int, str] | None = None
    previous = ""
    for text, parent in after + before:
        if parent is not None and parent.tag in ("script", "style"):
            continue
        clean = _clean(text) or ""
        m = DATE_IN_TEXT.search(clean)
        if m and len(clean.split()) > DATE_LINE_WORDS:  # a date in a sentence is what the text is about
            m = None
        stamp = parent.get("datetime") if parent is not None and parent.tag == "time" else None
        if m or stamp and DATE_IN_TEXT.match(stamp):
            label = _DATE_LABEL.search((previous + " " + clean[:m.start() if m else 0])[-40:])
            rank = 0 if label and label.group(1) else 2 if label else 1
            value = stamp or m.group(0)
            if best is None or rank < best[0]:
                best = (rank, value)
            if rank == 0:
                break
        previous = clean
    return (best[1], best[0]) if best else (None, 1)


_BEFORE_H1 = XPath(f"preceding::text()[normalize-space()][position() <= {TEXTS_BEFORE_HEADLINE}]")


def _headline_h1(tree: HtmlElement, headline: str | None) -> HtmlElement | None:
    """The <h1> that shows the headline (a logo often takes the first), else the first one."""
    h1s = list(tree.iter("h1"))
    key = (headline or "").casefold()
    return next((h for h in h1s if key and key in (h.text_content() or "").casefold()), h1s[0] if h1s else None)


def _marked_published(tree: HtmlElement) -> str | None:
    """A date the page's markup marks as the publication date: itemprop="datePublished" on any element
    (its content= or datetime=, else its text), or a <time pubdate>. Never a modified date."""
    for el in tree.xpath('//*[@itemprop="datePublished"]|//time[@pubdate]'):
        value = _clean(el.get("content") or el.get("datetime") or el.text_content())
        if value:
            return value
    return None


def page_meta(tree: HtmlElement, url: str | None = None) -> PageMeta:
    """What the page states about itself; url: where it was fetched from (its domain names the site too)."""
    meta = _meta_tags(tree)
    ld, ids = _json_ld(tree)
    publisher = _clean(ld["publisher"].get("name")) if isinstance(ld.get("publisher"), dict) else None
    site = meta.get("og:site_name") or publisher
    title_tag = _clean(tree.findtext(".//title"))
    sites = [s for s in (site, publisher, meta.get("application-name")) if s]
    canonical = meta.get("og:url") or _clean(ld.get("url"))
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href", "").startswith("http"):
            canonical = link.get("href").strip()
            break
    names = SiteNames(sites, url or canonical)
    title = (_ld_title(ld, title_tag, sites, [meta.get("og:title"), title_tag]) or meta.get("dc:title")
             or meta.get("dcterm:title") or meta.get("og:title") or meta.get("weibo:article:title")
             or meta.get("weibo:webpage:title") or meta.get("title") or meta.get("twitter:title")
             or meta.get("parsely-title") or (title_tag and _title_from_title_tag(title_tag, site)))
    shown = visible_headline(_headings(tree), [_clean(ld.get("headline")), meta.get("og:title"), title_tag, title],
                             sites, names)
    # A headline that shows the site's name ("Headline – Site") loses it too, but not a short last part
    # of its own ("Part one: the start").
    title = _strip_site(shown, names, short_tail=" | " in shown) if shown else (title and _strip_site(title, names))
    title = title and _LABEL_BEFORE_TITLE.sub("", title)
    published = (_clean(ld.get("datePublished")) or meta.get("article:published_time")
                 or meta.get("og:published_time") or meta.get("og:article:published_time")
                 or meta.get("parsely-pub-date") or meta.get("datepublished") or meta.get("publish-date")
                 or meta.get("publishdate") or meta.get("pubdate") or meta.get("sailthru:date")
                 or meta.get("dc:date:issued") or meta.get("dcterms:created") or meta.get("dc:date")
                 or meta.get("published") or _marked_published(tree) or _clean(ld.get("dateCreated"))
                 or meta.get("date"))
    authors = (_names(ld.get("author"), ids) or _names(ld.get("creator"), ids) or _names([a for a in (
        meta.get("author"), meta.get("article:author"), meta.get("parsely-author"), meta.get("dc:creator"),
        _twitter_label(meta, "written by")) if a][:1]))
    # A site's own name as author stays where the page names nobody else: that is how many company blogs
    # sign. Where its byline names a person, that person wrote it.
    if not authors or all(names.matches(a) for a in authors):
        bylined = [a for a in byline_authors(tree, names) or text_byline(tree, title) if not names.matches(a)]
        authors = bylined or authors or author_link(tree, names) or owner_by_domain(tree, names)
    shown_date, shown_label = visible_date(tree, title)
    section = _first(ld.get("articleSection")) or meta.get("article:section") or meta.get("parsely-section")
    article = meta.get("og:type", "").lower() == "article" or bool(_DECLARED_ARTICLE.search(_type(ld)))
    return PageMeta(title=title, published=published, shown_date=shown_date, shown_label=shown_label,
                    authors=authors, section=section, site=site, url=canonical, article=article)
