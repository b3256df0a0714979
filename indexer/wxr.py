"""WordPress export (WXR: the XML that Tools → Export writes): published posts -> Article.

WXR is RSS 2.0 with WordPress's `wp:` elements. A post gives its title, HTML content (its text kept,
one paragraph per block), `wp:post_date_gmt` (the local `wp:post_date` or `pubDate` when the GMT date
is unset, as on drafts), author (the display name the export lists for the `dc:creator` login),
categories as paths through their parents (`wp:category_parent`: World/Europe), tags (as categories
under `Tags/`), permalink (`link`) and guid (the id). Only published posts are articles: drafts,
revisions, attachments, pages and menu items are counted and said so in one notice per file.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from .article import Article, Notice, Problem, make_article

MAX_CATEGORY_DEPTH = 32  # a parent chain longer than this (or a cycle) is cut


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el) -> dict[str, list]:
    out: dict[str, list] = {}
    for child in el:
        out.setdefault(_local(child.tag), []).append(child)
    return out


def _text(kids: dict[str, list], name: str) -> str:
    els = kids.get(name)
    return (els[0].text or "").strip() if els else ""


def read_wxr(data: bytes, source: str) -> Iterator[Article | Problem | Notice]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        yield Problem(f"{source}:{exc.lineno}" if exc.lineno else source, f"not well-formed XML ({exc.msg})")
        return
    channel = next((c for c in root if _local(c.tag) == "channel"), None)
    if channel is None:
        yield Problem(source, "no <channel> in this WordPress export")
        return
    site = ""
    authors: dict[str, str] = {}
    categories: dict[str, tuple[str, str]] = {}  # nicename -> (name, parent nicename)
    items = []
    for el in channel:
        name = _local(el.tag)
        if name == "title":
            site = (el.text or "").strip()
        elif name == "author":
            kids = _children(el)
            login = _text(kids, "author_login")
            if login:
                authors[login] = _text(kids, "author_display_name") or login
        elif name == "category":
            kids = _children(el)
            nice = _text(kids, "category_nicename")
            if nice:
                categories[nice] = (_text(kids, "cat_name") or nice, _text(kids, "category_parent"))
        elif name == "item":
            items.append(el)
    skipped: Counter[str] = Counter()
    for item in items:
        where = f"{source}:{item.sourceline}"
        kids = _children(item)
        kind, status = _text(kids, "post_type") or "post", _text(kids, "status") or "publish"
        if kind != "post":
            skipped[kind] += 1
            continue
        if status != "publish":
            skipped[status if status != "auto-draft" else "draft"] += 1
            continue
        try:
            yield _post(kids, where, site, authors, categories)
        except ValueError as exc:
            yield Problem(where, str(exc))
    if skipped:
        yield Notice(source, "not published posts, skipped: "
                     + ", ".join(f"{n} {_plural(k, n)}" for k, n in sorted(skipped.items())))


_PLURALS = {"draft": "drafts", "revision": "revisions", "attachment": "attachments", "page": "pages",
            "nav_menu_item": "menu items", "private": "private posts", "pending": "pending posts",
            "future": "scheduled posts", "trash": "trashed posts"}


def _plural(kind: str, n: int) -> str:
    return _PLURALS.get(kind, kind) if n != 1 else _PLURALS.get(kind, kind).removesuffix("s")


def _post(kids: dict[str, list], where: str, site: str, authors: dict[str, str],
          categories: dict[str, tuple[str, str]]) -> Article:
    from .dates import parse_date
    from .records import _html_fragment_text

    html = ""
    for el in kids.get("encoded", []):  # content:encoded, not excerpt:encoded
        if "content" in (el.tag or ""):
            html = el.text or ""
            break
    body = _html_fragment_text(html) if html.strip() else ""
    date = None
    for name in ("post_date_gmt", "post_date", "pubDate"):
        value = _text(kids, name)
        if value and not value.startswith("0000-00-00"):
            date = parse_date(value)
            break
    cats, tags = [], []
    for el in kids.get("category", []):
        label = (el.text or "").strip()
        nice = el.get("nicename") or ""
        if el.get("domain") == "post_tag":
            if label:
                tags.append("Tags/" + label.replace("/", " "))
        elif el.get("domain", "category") == "category":
            cats.append(_category_path(nice, categories) if nice in categories else label)
    login = _text(kids, "creator")
    return make_article(id=_text(kids, "guid") or None, title=_text(kids, "title"), body=body,
                        url=_text(kids, "link") or None, date=date, categories=[c for c in cats + tags if c],
                        authors=[authors.get(login, login)] if login else [], site=site or None, source=where)


def _category_path(nice: str, categories: dict[str, tuple[str, str]]) -> str:
    """World/Europe for a category whose parent is World; a cycle or a missing parent ends the path."""
    names, seen = [], set()
    while nice in categories and nice not in seen and len(names) < MAX_CATEGORY_DEPTH:
        seen.add(nice)
        name, nice = categories[nice]
        names.append(name.replace("/", " "))
    return "/".join(reversed(names))
