"""Folding near-duplicates in a hit list: each group of copies (indexer/copies.py) shows as its best hit.

The best hit is the group's first in the requested order (highest score, or newest/oldest). A folded
page is cut from the folded list of the whole result, always read from the top, so pages never repeat
or skip a group however the copies are spread. The folded total counts groups exactly: the matching
articles that founded their group, plus the groups whose only matching members are copies.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import tantivy

MAX_COPY_IDS = 20  # ids listed per folded hit; `copies` counts them all
MAX_MEMBERS = 10_000  # members of a page's groups read to count copies


@dataclass
class FoldedPage:
    hits: list[tuple[float, tuple]]  # (score, DocAddress): one per group, this page
    copies: list[int] = field(default_factory=list)  # per hit: other matching articles of its group
    copy_addresses: list[list] = field(default_factory=list)  # per hit: up to MAX_COPY_IDS of them, best first
    total: int = 0  # matching groups
    articles: int = 0  # matching articles


def _and(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def fold(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query,
         run: Callable[[int], tantivy.SearchResult], offset: int, limit: int) -> FoldedPage:
    """The page [offset, offset+limit) of the folded result of `query`.

    `run(n)` returns the first n hits of `query` in the requested order (offset 0). It is called with
    a window that doubles until it holds offset+limit distinct groups or the whole result.
    """
    need = offset + limit
    n = need * 2 + 10
    while True:
        res = run(n)
        addrs = [a for _, a in res.hits]
        groups = searcher.fast_field_values("group", addrs) if addrs else []
        first: dict[int, int] = {}
        for i, g in enumerate(groups):
            first.setdefault(g, i)
        if len(first) >= need or len(addrs) >= res.count:
            break
        n *= 2
    picked = list(first.items())[offset:need]
    page = FoldedPage(hits=[res.hits[i] for _, i in picked], articles=res.count)
    page.total = _group_count(searcher, schema, query, res.count)
    if picked:
        shown = {g: res.hits[i][1] for g, i in picked}
        members = searcher.search(_and(query, tantivy.Query.term_set_query(schema, "group", list(shown))),
                                  limit=MAX_MEMBERS)
        maddrs = [a for _, a in members.hits]
        others: dict[int, list] = {g: [] for g in shown}
        for g, a in zip(searcher.fast_field_values("group", maddrs) if maddrs else [], maddrs):
            if a != shown[g]:
                others[g].append(a)
        page.copies = [len(others[g]) for g, _ in picked]
        page.copy_addresses = [others[g][:MAX_COPY_IDS] for g, _ in picked]
    return page


def _group_count(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, articles: int) -> int:
    copy = tantivy.Query.term_query(schema, "copy", True)
    copies = searcher.search(_and(query, copy), limit=1).count
    if not copies:
        return articles
    hits = searcher.search(_and(query, copy), limit=copies).hits
    groups = set(searcher.fast_field_values("group", [a for _, a in hits]))
    founders = searcher.search(_and(query, tantivy.Query.term_query(schema, "copy", False),
                                    tantivy.Query.term_set_query(schema, "group", list(groups))),
                               limit=len(groups)).hits
    founded = set(searcher.fast_field_values("group", [a for _, a in founders])) if founders else set()
    return articles - copies + len(groups - founded)
