"""Folding near-duplicates in a hit list: each group of copies (indexer/copies.py) shows as its best hit.

The best hit is the group's first in the requested order (highest score, or newest/oldest). A folded
page is cut from the folded list of the whole result, always read from the top, so pages never repeat
or skip a group however the copies are spread. The folded total counts groups exactly: the matching
articles less the matching copies hidden behind another member of their group. An archive with no copies
folds at no cost; with copies, one small search reads the matching members of groups with copies, and a
second the founders that are not flagged (indexer/build.py flags a founder when its first copy comes in
the same batch; an index written before the flag has none flagged).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import tantivy

from newssearch.indexer.schema import has_grouped

MAX_COPY_IDS = 20  # ids listed per folded hit; `copies` counts them all
MAX_MEMBERS = 10_000  # matching members of groups with copies read per query (the best by score)
PARTIAL_WARNING = (f"more than {MAX_MEMBERS:,} articles in stories with copies match: the best {MAX_MEMBERS:,} "
                   "were counted, so `stories` may count some stories more than once and `copies` miss some")


@dataclass
class FoldedPage:
    hits: list[tuple[float, tuple]]  # (score, DocAddress): one per group, this page
    copies: list[int] = field(default_factory=list)  # per hit: other matching articles of its group
    copy_addresses: list[list] = field(default_factory=list)  # per hit: up to MAX_COPY_IDS of them, best first
    total: int = 0  # matching groups
    articles: int = 0  # matching articles
    partial: bool = False  # more members matched than MAX_MEMBERS: those past it were taken as stories alone


def _and(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _key(addr: tantivy.DocAddress) -> tuple[int, int]:
    return addr.segment_ord, addr.doc


def _filter(query: tantivy.Query) -> tantivy.Query:
    """A condition that adds nothing to the score: copies' scores stay comparable with their founders'."""
    return tantivy.Query.const_score_query(query, 0.0)


@dataclass
class CopyIndex:
    """The members of groups with copies in one view of the index, read once per view: the Archive keeps
    one per reader generation. They are few (Tantivy's document frequency says at once when there are
    none), so this is one small search: of the `grouped` flag (the copies, and the founders flagged with
    them), or, in an index written without it (schema version 4), of the copies alone."""

    view: tuple[int, int] = (0, 0)  # the view's (documents, segments): a cheap check that it is still the one
    count: int = 0  # flagged members in this view
    group_of: dict[tuple[int, int], int] = field(default_factory=dict)  # member address -> its group
    flag: str = "grouped"  # the field that flags them
    # groups with a copy but no flagged founder here (founded in an earlier batch than its first copy, in
    # another shard, or gone): a query's matching copies in these look for their founder with a second search
    unfounded: frozenset[int] = frozenset()

    @classmethod
    def read(cls, searcher: tantivy.Searcher, schema: tantivy.Schema) -> "CopyIndex":
        view = (searcher.num_docs, searcher.num_segments)
        flag = "grouped" if has_grouped(schema) else "copy"
        flagged = searcher.doc_freq(flag, True)  # counts deleted members too: an upper bound
        if not flagged:
            return cls(view, flag=flag)
        hits = searcher.search(tantivy.Query.term_query(schema, flag, True), limit=flagged).hits
        addrs = [a for _, a in hits]
        groups = searcher.fast_field_values("group", addrs) if addrs else []
        is_copy = searcher.fast_field_values("copy", addrs) if addrs and flag == "grouped" else [True] * len(addrs)
        founded = {g for g, c in zip(groups, is_copy) if not c}
        unfounded = frozenset(g for g, c in zip(groups, is_copy) if c and g not in founded)
        return cls(view, len(addrs), {_key(a): g for a, g in zip(addrs, groups)}, flag, unfounded)


def _matching_members(searcher: tantivy.Searcher, schema: tantivy.Schema, copies: CopyIndex, query: tantivy.Query
                      ) -> tuple[dict[int, list[tuple[float, tantivy.DocAddress]]], int, dict[tuple[int, int], int], bool]:
    """Per group with a matching flagged member, its matching members, in no set order (fold() orders
    those it shows): one search, and a second for the founders of the unfounded groups among them. (A group
    whose founder alone matches folds to itself either way.) Also how many members were read, the group of
    each founder the second search found (the flagged ones' are in `copies.group_of`), and whether more
    than MAX_MEMBERS matched (then the best MAX_MEMBERS by score were read)."""
    ranked: dict[int, list] = {}
    found: dict[tuple[int, int], int] = {}
    if not copies.count:
        return ranked, 0, found, False
    got = searcher.search(_and(query, _filter(tantivy.Query.term_query(schema, copies.flag, True))),
                          limit=min(copies.count, MAX_MEMBERS))
    group_of = copies.group_of
    hits = got.hits
    for score, a in hits:
        ranked.setdefault(group_of[a.segment_ord, a.doc], []).append((score, a))
    matching = len(hits)
    unfounded = [g for g in ranked if g in copies.unfounded]
    if unfounded:
        groups = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, "group", g))
                                              for g in unfounded])  # a few terms: cheaper than a term set's scan
        founders = searcher.search(_and(query, _filter(groups), _filter(tantivy.Query.term_query(schema, "copy", False))),
                                   limit=len(unfounded)).hits
        faddrs = [a for _, a in founders]
        for (score, a), g in zip(founders, searcher.fast_field_values("group", faddrs) if faddrs else []):
            ranked[g].append((score, a))
            found[_key(a)] = g
        matching += len(founders)
    return ranked, matching, found, got.count > len(hits)


def _best_first(searcher: tantivy.Searcher, members: list[tuple[float, tantivy.DocAddress]]) -> list:
    """A group's members, best score first, equals by id hash (as a sharded archive lists them,
    query/sharded_fold.py; not in the order a search happened to return them: a re-built index lists them alike)."""
    hashes = searcher.fast_field_values("id_hash", [a for _, a in members])
    return [m for _, m in sorted(zip(hashes, members), key=lambda hm: (-hm[1][0], hm[0]))]


def fold(searcher: tantivy.Searcher, schema: tantivy.Schema, copies: CopyIndex, query: tantivy.Query,
         run: Callable[[int], tantivy.SearchResult], offset: int, limit: int) -> FoldedPage:
    """The page [offset, offset+limit) of the folded result of `query`.

    `run(n)` returns the first n hits of `query` in the requested order (offset 0). The matching
    members of groups with matching copies are read first; every other article is its own group, so
    the folded total is the matches less the members hidden behind their group's best hit, and the
    first offset+limit groups lie within the first offset+limit+hidden hits.
    """
    need = offset + limit
    ranked, matching, found, partial = _matching_members(searcher, schema, copies, query)
    if not ranked:  # no group with copies matches: every hit is a story of its own
        res = run(need)
        return FoldedPage(hits=res.hits[offset:], copies=[0] * len(res.hits[offset:]),
                          copy_addresses=[[] for _ in res.hits[offset:]], total=res.count, articles=res.count)
    hidden = matching - len(ranked)
    group_of = copies.group_of  # the matching hits among its members are matching members
    n = min(need + hidden, 2 * need + 10)  # enough unless many copies rank near the top
    while True:
        res = run(n)
        groups = []
        for i, (_, a) in enumerate(res.hits):
            key = (a.segment_ord, a.doc)
            g = group_of.get(key)
            groups.append(g if g is not None else found.get(key, -1 - i))  # a negative: alone
        first: dict[int, int] = {}
        for i, g in enumerate(groups):
            first.setdefault(g, i)
        if len(first) >= need or len(res.hits) >= res.count or (n >= need + hidden and not partial):
            break
        n = need + hidden if n < need + hidden else 2 * n  # partial: the members not read may hide more
    _break_ties(searcher, res.hits, groups, first)
    picked = list(first.items())[offset:need]
    page = FoldedPage(hits=[res.hits[i] for _, i in picked], articles=res.count, total=res.count - hidden,
                      partial=partial)
    for g, i in picked:
        shown = _key(res.hits[i][1])
        members = ranked.get(g, [])
        others = [a for _, a in (_best_first(searcher, members) if len(members) > 2 else members) if _key(a) != shown]
        page.copies.append(len(others))
        page.copy_addresses.append(others[:MAX_COPY_IDS])
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
