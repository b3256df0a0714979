"""Pages -> Article: HTML through trafilatura (main text + metadata), page dumps through pagedump."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .article import Article, Problem, make_article
from .dates import parse_date

MIN_WORDS = 10  # less than this is a navigation stub or an error page, not an article


def extract(content: bytes | str, url: str | None = None, kind: str | None = None,
            source: str = "<input>") -> Article:
    """Exactly the Article the indexer would store for one page.

    kind is "html" or "pagedump" (a page saved as text, like `w3m -dump`); by default it is guessed
    from the content. Raises ValueError when the page holds no article.
    """
    if isinstance(content, bytes):
        sniff = content[:2048].lstrip().lower()
    else:
        sniff = content[:2048].lstrip().lower().encode("utf-8", "replace")
    if kind is None:
        kind = "html" if sniff.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<meta",
                                           b"<!--")) else "pagedump"
    if kind == "html":
        return html_to_article(content, url=url, source=source)
    if kind == "pagedump":
        from .pagedump import pagedump_to_article

        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        return pagedump_to_article(text, url=url, source=source)
    raise ValueError(f"unknown kind {kind!r} (expected 'html' or 'pagedump')")


def html_to_article(content: bytes | str, url: str | None = None, source: str = "<input>") -> Article:
    from trafilatura import bare_extraction

    doc = bare_extraction(content, url=url, with_metadata=True, include_comments=False,
                          include_tables=False, deduplicate=False)
    if doc is None or len((doc.text or "").split()) < MIN_WORDS:
        raise ValueError("no article text found in the page")
    # trafilatura separates paragraphs by one newline; our records use blank lines.
    body = re.sub(r"\n+", "\n\n", doc.text)
    date = None
    if doc.date:
        try:
            date = parse_date(doc.date)
        except ValueError:
            date = None
    authors = _split_authors(doc.author)
    return make_article(title=doc.title, body=body, url=url or doc.url, date=date,
                        categories=list(doc.categories or []), authors=authors, site=doc.sitename,
                        source=source)


def _split_authors(value: str | None) -> list[str]:
    if not value:
        return []
    seen: dict[str, str] = {}
    for name in re.split(r"\s*;\s*", value):
        name = name.strip()
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def read_html(data: bytes, source: str) -> Iterator[Article | Problem]:
    try:
        yield extract(data, kind="html", source=source)
    except ValueError as exc:
        yield Problem(source, str(exc))
