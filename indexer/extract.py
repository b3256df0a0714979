"""Pages -> Article: HTML through trafilatura (main text + metadata), page dumps through pagedump."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from .article import Article, Problem, make_article, repair_mojibake
from .dates import local_day, parse_date
from .formats import SNIFF_BYTES, decide_format
from .htmlmeta import PageMeta

MIN_WORDS = 10  # fewer words than this made only of link text: a navigation stub, not an article


def guess_kind(content: bytes | str) -> str:
    """"html" when the content starts like markup, else "pagedump" (a page saved as text): the page rule
    of formats.decide_format, for content with no file name."""
    head = content[:SNIFF_BYTES] if isinstance(content, bytes) else content[:SNIFF_BYTES].encode("utf-8", "replace")
    return decide_format(None, head).name


def extract(content: bytes | str, url: str | None = None, kind: str | None = None,
            source: str = "<input>", template: frozenset[str] = frozenset()) -> Article:
    """Exactly the Article the indexer would store for one page.

    kind is "html" or "pagedump" (a page saved as text, like `w3m -dump`); by default it is guessed
    from the content. template: for a page dump, the blocks its site repeats on many pages
    (pagedump.site_template / folder_template). Raises ValueError when the page holds no article.
    """
    kind = kind or guess_kind(content)
    if kind == "html":
        return html_to_article(content, url=url, source=source)
    if kind == "pagedump":
        from .pagedump import pagedump_to_article

        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        article = pagedump_to_article(text, url=url, source=source, template=template)
        if article.date and not article.local_date:  # a dump states a day ("June 2, 2025"), taken as UTC
            article.local_date = article.date.date().isoformat()
        return article
    raise ValueError(f"unknown kind {kind!r} (expected 'html' or 'pagedump')")


def html_to_article(content: bytes | str, url: str | None = None, source: str = "<input>") -> Article:
    """Main text by trafilatura or the page's main region (htmlbody.choose_body); title, date, author,
    section and site as the page states them (htmlmeta), trafilatura's guesses only where it states none
    (so the costly ones, htmldate's date search and the byline search, run only on those pages)."""
    from trafilatura.utils import load_html

    from .htmlbody import choose_body, trafilatura_text
    from .htmlmeta import page_meta
    from .repeats import drop_repeated_runs

    tree = load_html(content)
    if tree is None:
        raise ValueError("no article text found in the page (not HTML)")
    # First: the metadata passes and htmldate (which copies the tree) read the smaller tree too.
    _shrink(tree, keep_data=True)
    if _looks_double_encoded(content):
        _repair_texts(tree)
    stated = page_meta(tree, url)
    date, local_date = _date(stated, tree, url or stated.url)  # the canonical URL may hold the day
    _shrink(tree)  # the JSON data too, now
    # Tables hold article content (data, infoboxes). Balanced mode: favor_recall scored lower on
    # bench/extraction.py and took 1.8x the time (htmlbody's docstring has the figures).
    text = choose_body(tree, trafilatura_text(tree, url, article=stated.article))
    words = text.split()
    if not words or len(words) < MIN_WORDS and _only_link_text(tree, words):
        raise ValueError("no article text found in the page")
    # trafilatura separates paragraphs by one newline; our records use blank lines.
    body = "\n\n".join(drop_repeated_runs(re.split(r"\n+", text)))
    # trafilatura's byline search (extract_author) found a few more, at 15% of the page's time: htmlmeta's
    # own byline search (byline_authors) stands in for it.
    authors = stated.authors
    title = stated.title
    if not title:
        from trafilatura.metadata import extract_title
        title = extract_title(tree)
    article = make_article(title=title, body=body, url=url or stated.url, date=date,
                           categories=[stated.section] if stated.section else [], authors=authors,
                           site=stated.site, source=source)
    article.local_date = local_date
    return article


# UTF-8 bytes of text that was decoded with the wrong charset and encoded again: "â", "Ã" or "Â" then a
# C1 control or a Latin-1 sign ("â\x80\x99" for "’", "Ã©" for "é", "Â®" for "®"), or then "€" ("â€™").
# A search of the page's bytes (0.1 ms for WCXB's 300 kB pages); the repair runs only where it matches (33
# of WCXB's 1,358 pages).
_DOUBLE_ENCODED = re.compile(rb"\xc3[\xa2\x83\x82](?:\xc2[\x80-\xbf]|\xe2\x82\xac)")


def _looks_double_encoded(content: bytes | str) -> bool:
    data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
    return _DOUBLE_ENCODED.search(data) is not None


def _repair_texts(tree) -> None:
    """Every text and <meta content> of the page decoded as it was written, before trafilatura drops the
    C1 controls that mojibake holds ("donâ\x80\x99t" would become "donât", past repair). Not the JSON
    data in scripts (megabytes on some pages, and ftfy's time grows with a text's length): the strings
    taken from it are repaired with the article's fields (make_article)."""
    for el in tree.iter():
        if el.text and el.tag != "script":
            el.text = repair_mojibake(el.text)
        if el.tail:
            el.tail = repair_mojibake(el.tail)
        if el.tag == "meta" and el.get("content"):
            el.set("content", repair_mojibake(el.get("content")))


# (Also dropping nav, footer, aside, form controls or media, which trafilatura's own cleaning removes,
# changes what its readability and justext fallbacks see: 0.819 and 0.828 against 0.834 body F1 on a
# quarter of WCXB, and no faster.)
# (<meta> and <link> stay: the page's metadata and htmldate read them.)
_NEVER_TEXT = ("style", "svg", "template", "noscript", "iframe", "canvas", "math")


def _shrink(tree, keep_data: bool = False) -> None:
    """Drop what trafilatura would drop anyway (styles, inline SVG, scripts other than JSON-LD, comments)
    before it copies and walks the tree many times over, and before the metadata passes search its
    texts and htmldate copies it: a smaller tree, the same text, less time. keep_data: keep what the
    metadata passes still read: the scripts that hold the page's data as JSON (a Next.js page's dates are
    there, and htmldate finds them), <noscript> and <template> (a forum's server-rendered posts, with their
    authors, stand in a <noscript>)."""
    from lxml import etree

    kept = ("application/ld+json", "application/json") if keep_data else ("application/ld+json",)
    tags = [t for t in _NEVER_TEXT if t not in ("noscript", "template")] if keep_data else _NEVER_TEXT
    for el in list(tree.iter("script", *tags, etree.Comment)):
        if el.tag == "script" and (el.get("type") or "").lower() in kept:
            continue  # trafilatura's last resort reads articleBody in JSON-LD
        parent = el.getparent()
        if parent is not None:
            if el.tail and el.tail.strip():
                previous = el.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + el.tail
                else:
                    parent.text = (parent.text or "") + el.tail
            parent.remove(el)


def _date(stated: PageMeta, tree, url: str | None) -> tuple[datetime | None, str | None]:
    """The publication instant (UTC) and its calendar day as the page states it: its metadata's published
    date first (on the day the page shows beside its headline when that is the same date within a day: a
    CMS that wrote the instant in UTC moved it; the date it shows there, not labelled as an update, when
    that is earlier: the metadata was stamped again when the article was republished — WCXB's article
    pages, 8 more right, 1 fewer), then the date it shows by the headline, and htmldate's
    search of the page (original date, not the last update) only when it shows none: its markup and URL
    rules, not its free-text search, whose guesses on pages that state no date were mostly a copyright
    line's year read as 1 January (WCXB site half a: 1 of 19 right dates lost, 40 such guesses gone, a
    fifth of the time)."""
    value, when = _first_date(stated.published, _plausible(stated.shown_date))
    if when is None:
        from htmldate import find_date
        try:
            found = find_date(tree, url=url, original_date=True, extensive_search=False)
        except Exception:  # htmldate on a hostile page: the article stands without a date
            found = None
        value, when = _first_date(found)
    if when is None:
        return None, None
    day = _calendar_day(value, when)
    if value == stated.published and stated.shown_date and stated.shown_label < 2:
        shown_value, shown_when = _first_date(_plausible(stated.shown_date))
        shown = shown_when and _calendar_day(shown_value, shown_when)
        if shown and shown != day and abs(datetime.fromisoformat(shown).date() - when.date()) <= timedelta(days=1):
            day = shown
        elif shown and shown != day and shown_when < when:  # metadata re-stamped (republished): the page shows the original
            return shown_when, shown
    return when, day


def _calendar_day(value: str, when: datetime) -> str:
    """The day a date as written falls on where it was written (its own offset), else its UTC day."""
    return local_day(value) or when.date().isoformat()


def _first_date(*values: str | None) -> tuple[str | None, datetime | None]:
    """The first of the values that reads as a date, and that date (a CMS's garbled published date,
    "2025-12-17UTC07:30:00+00:00", gives way to the date the page shows)."""
    for value in values:
        try:
            when = parse_date(value) if value else None
        except ValueError:
            continue
        if when is not None:
            return value, when
    return None, None


FIRST_WEB_YEAR = 1995  # a date shown by a headline before this is one the text is about, not its own


def _plausible(shown: str | None) -> str | None:
    """A date shown by the headline, if it reads as one a web page could have been published on."""
    try:
        when = parse_date(shown) if shown else None
    except ValueError:
        return None
    return shown if when is not None and when.year >= FIRST_WEB_YEAR else None


def _only_link_text(tree, words: list[str]) -> bool:
    """Every word also stands in a link, menu or button: what is left of a page with no article."""
    links = set(" ".join(el.text_content() for el in tree.iter("a", "nav", "button", "header", "footer")).split())
    return all(w in links for w in words)


def read_html(data: bytes, source: str) -> Iterator[Article | Problem]:
    try:
        yield extract(data, kind="html", source=source)
    except ValueError as exc:
        yield Problem(source, str(exc))
