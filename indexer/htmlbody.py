"""The main text of an HTML page: trafilatura's extraction, or the page's own main region where that keeps
far more of it.

trafilatura (balanced mode, its readability/justext comparison on) is right on articles, but on listings,
collections and service pages it often keeps only an intro paragraph and drops the grid of items that is the
page's content. A page that marks its main region (`<main>`, `role="main"`, or a single `<article>`) says
where that content is: when trafilatura's text is under a quarter of that region's, the region's text is
taken instead (bench/extraction.py: +0.011 body F1 over WCXB's 1,358 pages, the same on both halves of its
sites, none lost on Readability's articles). Measured and left out: `favor_recall` (0.800 against 0.821 on
WCXB, cuts some articles to their intro, 1.8x the time), `favor_precision` (0.758, 2.8x), `fast` (0.788),
JSON-LD `articleBody` and `itemprop="articleBody"` (on the few pages that have them, below trafilatura's
text: summaries, or text without its subheads).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from lxml.html import HtmlElement

REGION_SHARE = 0.25  # take the page's main region when trafilatura keeps less than this share of its text
# Not content even inside a main region: menus, asides, forms, embedded media, scripts.
_SKIP = frozenset({"script", "style", "noscript", "nav", "aside", "form", "button", "select", "option", "svg",
                   "iframe", "template", "footer", "header", "figure", "dialog", "input", "textarea", "label"})
_BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre", "ul",
                    "ol", "dl", "dd", "dt", "table", "section", "article", "main", "hr", "details",
                    "summary", "address"})
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def block_text(el: HtmlElement) -> str:
    """The visible text of an element, one line per block (paragraph, list item, heading, table row),
    without menus, asides, forms, scripts or hidden elements."""
    out: list[str] = []

    def walk(e) -> None:
        tag = e.tag if isinstance(e.tag, str) else ""
        if tag in _SKIP or not tag or e.get("hidden") is not None or e.get("aria-hidden") == "true" \
                or _HIDDEN.search(e.get("style") or ""):
            if e.tail:
                out.append(e.tail)
            return
        block = tag in _BLOCK
        if block:
            out.append("\n")
        elif tag in ("td", "th"):
            out.append(" ")
        if e.text:
            out.append(e.text)
        for child in e:
            walk(child)
        if block:
            out.append("\n")
        if e.tail:
            out.append(e.tail)

    walk(el)
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


def main_region(tree: HtmlElement) -> HtmlElement | None:
    """The region the page marks as its main content: `<main>` or `role="main"`, else its only `<article>`."""
    for el in tree.iter("main", "div", "section"):
        if el.tag == "main" or el.get("role") == "main":
            return el
    articles = list(tree.iter("article"))
    return articles[0] if len(articles) == 1 else None


def choose_body(tree: HtmlElement, extracted: str) -> str:
    """trafilatura's text, or the main region's when trafilatura kept under REGION_SHARE of it (a listing or
    a collection whose items it dropped as links). Paragraphs are separated by newlines."""
    region = main_region(tree)
    # The region's visible text is at most its whole text: where trafilatura's is long enough beside that,
    # the walk that reads only the visible text is not needed (most pages).
    if region is None or len(extracted) >= REGION_SHARE * len(region.text_content()):
        return extracted
    text = block_text(region)
    if len(extracted) < REGION_SHARE * len(text):
        return text
    return extracted


# trafilatura's cascade compares its own text with readability's (and justext's) on every page: a sixth
# of its time. Readability replaces the own text almost only where it is much longer (its rule: twice as
# long) or where the own text has no paragraphs. Measured on WCXB's site half a (719 pages; the comparison
# changed 50 of them, mean F1 0.8393 with it, 0.8403 without): it helps articles cut short, and on pages
# that do not declare themselves articles it replaced the own text as often for the worse. So it runs only
# on pages that declare an article (og:type, JSON-LD) and where the own text is shorter than the page's
# paragraphs together: 144 of 719 pages, all types 0.8396, articles 0.9451 (0.9456 always compared).
COMPARE_SHARE = 1.0
# Whether the page being extracted declares an article; None outside our calls: a plain trafilatura call
# (another thread's, while ours has the gate swapped in) compares as it always does.
_declared_article: ContextVar[bool | None] = ContextVar("declared_article", default=None)


def _paragraph_chars(tree: HtmlElement) -> int:
    return sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))


def _gated_extract_and_compare(cleaned_tree, cleaned_tree_backup, tree, options):
    """trafilatura.core._extract_and_compare, with the comparison gated as above (balanced focus only;
    recall retries compare as before)."""
    from copy import copy

    from trafilatura.core import compare_extraction
    from trafilatura.main_extractor import extract_content

    postbody, text = extract_content(cleaned_tree, options)
    if options.fast:
        return postbody, text
    article = _declared_article.get()
    if article is not None and options.focus == "balanced" and (
            not article or len(text) >= COMPARE_SHARE * _paragraph_chars(tree)):
        return postbody, text
    return compare_extraction(cleaned_tree_backup, copy(tree), postbody, text, options)


_GATED_STAGE = ["cleaned_tree", "cleaned_tree_backup", "tree", "options"]  # trafilatura 2.x's signature


@lru_cache(maxsize=1)
def _can_gate(core) -> bool:
    """Whether this trafilatura has the stage _gated_extract_and_compare stands in for, called as it expects
    (the dependency allows any 2.x: a release that changed the stage is left alone, not patched wrongly)."""
    import inspect

    stage = getattr(core, "_extract_and_compare", None)
    try:
        return stage is not None and list(inspect.signature(stage).parameters) == _GATED_STAGE
    except (TypeError, ValueError):
        return False


_swap_lock = threading.Lock()
_swap_depth = 0


@contextmanager
def _gated_comparison(article: bool):
    """trafilatura with the gated comparison for the calls made inside this block (other threads' calls
    meanwhile run the gate's code but compare as always: _declared_article is None for them)."""
    global _swap_depth
    import trafilatura.core as core

    if not _can_gate(core):  # another trafilatura, without this stage as we know it: run it as it is
        yield
        return
    token = _declared_article.set(article)
    with _swap_lock:
        if _swap_depth == 0:
            _gated_comparison.original = core._extract_and_compare
            core._extract_and_compare = _gated_extract_and_compare
        _swap_depth += 1
    try:
        yield
    finally:
        with _swap_lock:
            _swap_depth -= 1
            if _swap_depth == 0:
                core._extract_and_compare = _gated_comparison.original
        _declared_article.reset(token)


def trafilatura_text(tree: HtmlElement, url: str | None, article: bool = True) -> str:
    """trafilatura's balanced main text of the page (tables kept, comments not), its fallback comparison
    gated: run only where the page declares an article (`article`) and trafilatura's own text is shorter
    than its paragraphs. The tree is left as it was (trafilatura works on a copy)."""
    from trafilatura import bare_extraction

    with _gated_comparison(article):
        doc = bare_extraction(tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
                              deduplicate=False)
    return doc.text.strip() if doc is not None and doc.text else ""
