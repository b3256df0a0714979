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
        _break_ties(searcher, res.hits, groups, first)
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


def _break_ties(searcher: tantivy.Searcher, hits: list, groups: list[int], first: dict[int, int]) -> None:
    """A group's best hit, when copies tie for it (the same text scores the same), is the one with the
    lowest id hash, not whichever the index's layout put first: a re-built index folds alike."""
    by_value: dict[tuple, list[int]] = {}
    for i, g in enumerate(groups):
        by_value.setdefault((g, hits[i][0]), []).append(i)
    tied = {g: by_value[(g, hits[i][0])] for g, i in first.items() if len(by_value[(g, hits[i][0])]) > 1}
    if tied:
        for g, idx in tied.items():
            hashes = searcher.fast_field_values("id_hash", [hits[i][1] for i in idx])
            first[g] = min(zip(hashes, idx))[1]


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


MAX_RELATED_EXTRA = 32  # related posts: at most this many more candidates fetched to stand in for copies


class CopyFilter:
    """Related posts never list the article's own copies: each row's group, and how many extra
    candidates to fetch so that k remain after the copies are dropped (the largest group's size - 1,
    at most MAX_RELATED_EXTRA; a bigger group can leave a list short)."""

    def __init__(self, searcher: tantivy.Searcher, id_hash):
        import numpy as np

        n = searcher.num_docs
        table: dict[int, int] = {}
        if n:
            addrs = [a for _, a in searcher.search(tantivy.Query.all_query(), limit=n).hits]
            table = dict(zip(searcher.fast_field_values("id_hash", addrs), searcher.fast_field_values("group", addrs)))
        self.groups = np.array([table.get(h, h) for h in id_hash.tolist()], dtype=np.int64)
        sizes = np.unique(self.groups, return_counts=True)[1] if len(self.groups) else np.ones(1, np.int64)
        self.extra = int(min(MAX_RELATED_EXTRA, sizes.max() - 1))

    def drop(self, rows, idx, scores, k: int):
        """The top k of each row's candidates (numpy idx, scores [m, k+extra]) that are not in its group."""
        import numpy as np

        same = (idx >= 0) & (self.groups[np.maximum(idx, 0)] == self.groups[rows][:, None])
        order = np.argsort(same, axis=1, kind="stable")  # the others first, in their order
        idx = np.take_along_axis(np.where(same, -1, idx), order, 1)[:, :k]
        scores = np.take_along_axis(np.where(same, 0, scores), order, 1)[:, :k]
        return idx, scores

    def drop_one(self, row: int, ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """The top k of one row's (row, score) candidates that are not in its group."""
        group = self.groups[row]
        return [(r, v) for r, v in ranked if self.groups[r] != group][:k]
