"""Pages -> Article: HTML through trafilatura (main text + metadata), page dumps through pagedump."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .article import Article, Problem, make_article
from .dates import parse_date
from .formats import SNIFF_BYTES, decide_format

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
        return pagedump_to_article(text, url=url, source=source, template=template)
    raise ValueError(f"unknown kind {kind!r} (expected 'html' or 'pagedump')")


def html_to_article(content: bytes | str, url: str | None = None, source: str = "<input>") -> Article:
    """Main text by trafilatura; title, date, author, section and site as the page states them
    (htmlmeta), trafilatura's guesses where it states none."""
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    from .htmlmeta import page_meta

    tree = load_html(content)
    if tree is None:
        raise ValueError("no article text found in the page (not HTML)")
    stated = page_meta(tree)
    # Tables hold article content (data, infoboxes); favor_recall keeps short paragraphs trafilatura's
    # default drops. Both score higher on bench/extraction.py.
    doc = bare_extraction(tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
                          favor_recall=True, deduplicate=False)
    words = (doc.text or "").split() if doc is not None else []
    if not words or len(words) < MIN_WORDS and _only_link_text(tree, words):
        raise ValueError("no article text found in the page")
    # trafilatura separates paragraphs by one newline; our records use blank lines.
    body = re.sub(r"\n+", "\n\n", doc.text.strip())
    date = None
    for value in (stated.published, doc.date):
        try:
            date = parse_date(value) if value else None
        except ValueError:
            date = None
        if date:
            break
    authors = stated.authors or _split_authors(doc.author)
    categories = [stated.section] if stated.section else list(doc.categories or [])
    return make_article(title=stated.title or doc.title, body=body, url=url or stated.url or doc.url,
                        date=date, categories=categories, authors=authors, site=stated.site or doc.sitename,
                        source=source)


def _only_link_text(tree, words: list[str]) -> bool:
    """Every word also stands in a link, menu or button: what is left of a page with no article."""
    links = set(" ".join(el.text_content() for el in tree.iter("a", "nav", "button", "header", "footer")).split())
    return all(w in links for w in words)


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
