"""Folding near-duplicates in a hit list: each group of copies (indexer/copies.py) shows as its best hit.

The best hit is the group's first in the requested order (highest score, or newest/oldest). A folded
page is cut from the folded list of the whole result, always read from the top, so pages never repeat
or skip a group however the copies are spread. The folded total counts groups exactly: the matching
articles less the matching copies hidden behind another member of their group. An archive with no copies
folds at no cost; with copies, one aggregation counts the matching members of each group with copies
(indexer/build.py flags them `grouped`; a founder whose first copy came in a later batch is not flagged,
and a small search finds those that match), and only the groups a page shows have their members read:
from the page's own hits when they hold them all, else with one search.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import tantivy

from newssearch.indexer.schema import has_grouped

MAX_COPY_IDS = 20  # ids listed per folded hit; `copies` counts them all
MAX_GROUPS = 10_000  # stories with copies whose matching members are counted per query (the most matched)
MAX_GROUP_SIZE = 1_000  # members read for a shown story left uncounted (past MAX_GROUPS)
PARTIAL_WARNING = (f"more than {MAX_GROUPS:,} stories with copies match: the {MAX_GROUPS:,} with the most "
                   "matching articles were counted, so `stories` may count some stories more than once")


@dataclass
class FoldedPage:
    hits: list[tuple[float, tuple]]  # (score, DocAddress): one per group, this page
    copies: list[int] = field(default_factory=list)  # per hit: other matching articles of its group
    copy_addresses: list[list] = field(default_factory=list)  # per hit: up to MAX_COPY_IDS of them, best first
    total: int = 0  # matching groups
    articles: int = 0  # matching articles
    partial: bool = False  # more groups with copies matched than MAX_GROUPS: those past it were counted alone


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


def _member_counts(searcher: tantivy.Searcher, copies: CopyIndex, matches: tantivy.Query
                   ) -> tuple[dict[int, int], bool]:
    """Per group with copies whose flagged members match, how many match: one aggregation over the
    matches (no hit list, no scores: a third of a search's time), groups with one such member left out
    unless some groups are unfounded (their unflagged founder may match too). Also whether groups were
    left uncounted (more than MAX_GROUPS, the most matched first)."""
    if not copies.count:
        return {}, False
    terms = {"field": "group", "size": MAX_GROUPS, "segment_size": MAX_GROUPS,
             "min_doc_count": 1 if copies.unfounded else 2}
    got = searcher.aggregate(matches, {"m": {"filter": f"{copies.flag}:true", "aggs": {"g": {"terms": terms}}}})
    res = got["m"]["g"]
    return {int(b["key"]): int(b["doc_count"]) for b in res["buckets"]}, bool(res.get("sum_other_doc_count"))


def _any_group(schema: tantivy.Schema, groups) -> tantivy.Query:
    """Members of any of a few groups (a few terms: cheaper than a term set's scan)."""
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, "group", g))
                                        for g in groups])


def _founders(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, groups: list[int]
              ) -> dict[tuple[int, int], int]:
    """The matching founders of unfounded groups (not flagged: written before their first copy), by
    address -> group. `query` need not score (their members are scored when a page shows them)."""
    hits = searcher.search(_and(query, _filter(_any_group(schema, groups)),
                                _filter(tantivy.Query.term_query(schema, "copy", False))), limit=len(groups)).hits
    addrs = [a for _, a in hits]
    return dict(zip(map(_key, addrs), searcher.fast_field_values("group", addrs))) if addrs else {}


def _members(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, sizes: dict[int, int]
             ) -> dict[int, list[tuple[float, tantivy.DocAddress]]]:
    """The matching members of a few groups (those a page shows), scored: one search."""
    hits = searcher.search(_and(query, _filter(_any_group(schema, sizes))), limit=max(1, sum(sizes.values()))).hits
    out: dict[int, list] = {}
    for hit, g in zip(hits, searcher.fast_field_values("group", [a for _, a in hits]) if hits else []):
        out.setdefault(g, []).append(hit)
    return out


def _best_first(searcher: tantivy.Searcher, members: list[tuple[float, tantivy.DocAddress]]) -> list:
    """A group's members, best score first, equals by id hash (as a sharded archive lists them,
    query/sharded_fold.py; not in the order a search happened to return them: a re-built index lists them alike)."""
    hashes = searcher.fast_field_values("id_hash", [a for _, a in members])
    return [m for _, m in sorted(zip(hashes, members), key=lambda hm: (-hm[1][0], hm[0]))]


def fold(searcher: tantivy.Searcher, schema: tantivy.Schema, copies: CopyIndex, query: tantivy.Query,
         run: Callable[[int], tantivy.SearchResult], offset: int, limit: int,
         matches: tantivy.Query | None = None, by_score: bool = False) -> FoldedPage:
    """The page [offset, offset+limit) of the folded result of `query`.

    `run(n)` returns the first n hits of `query` in the requested order (offset 0); `by_score`: that order
    is `query`'s score (ties by id hash, query/ties.py). `matches`: the same matches as `query`, unscored
    (cheaper to count). How many members of each group with copies match is counted first; every other
    article is its own group, so the folded total is the matches less the members hidden behind their
    group's best hit, and the first offset+limit groups lie within the first offset+limit+hidden hits.
    Only the groups the page shows have their members read, from the hits when they are all among them.
    """
    need = offset + limit
    matches = matches if matches is not None else query
    counts, partial = _member_counts(searcher, copies, matches)
    found: dict[tuple[int, int], int] = {}
    unfounded = [g for g in counts if g in copies.unfounded]
    if unfounded:
        found = _founders(searcher, schema, matches, unfounded)
        for g in found.values():
            counts[g] += 1
    hidden = sum(counts.values()) - len(counts)
    if not hidden and not partial:  # no story has two matching members: every hit is a story of its own
        res = run(need)
        return FoldedPage(hits=res.hits[offset:], copies=[0] * len(res.hits[offset:]),
                          copy_addresses=[[] for _ in res.hits[offset:]], total=res.count, articles=res.count)
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
        n = need + hidden if n < need + hidden else 2 * n  # partial: the groups not counted may hide more
    _break_ties(searcher, res.hits, groups, first)
    picked = list(first.items())[offset:need]
    page = FoldedPage(hits=[res.hits[i] for _, i in picked], articles=res.count, total=res.count - hidden,
                      partial=partial)
    members = _shown_members(searcher, schema, query, res.hits, groups, [g for g, _ in picked],
                             counts, partial, by_score)
    for g, i in picked:
        shown = _key(res.hits[i][1])
        others = [a for _, a in members.get(g, ()) if _key(a) != shown]
        page.copies.append(len(others))
        page.copy_addresses.append(others[:MAX_COPY_IDS])
    return page


def _shown_members(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, hits: list,
                   groups: list[int], shown: list[int], counts: dict[int, int], partial: bool, by_score: bool
                   ) -> dict[int, list]:
    """The matching members of the shown groups with copies, best first. Taken from the hits when the
    hits are in score order and hold every one (they hold all that outrank the last hit); read with one
    search otherwise, and for a group left uncounted (partial)."""
    wanted = {g: counts.get(g, 0) for g in shown if counts.get(g, 0) > 1 or (partial and g >= 0 and g not in counts)}
    if not wanted:
        return {}
    listed: dict[int, list] = {}
    if by_score:
        for hit, g in zip(hits, groups):
            if g in wanted:
                listed.setdefault(g, []).append(hit)
    read = {g: n if n else MAX_GROUP_SIZE for g, n in wanted.items() if len(listed.get(g, ())) != n}
    if read:
        for g, members in _members(searcher, schema, query, read).items():
            listed[g] = _best_first(searcher, members) if len(members) > 2 else members
    return listed


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
