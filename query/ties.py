"""The archive's order of hits that tie: one rule that one index and a sharded archive both follow.

Tantivy orders hits of equal score (or equal date, sorted by date) by their address in the index, which
depends on how the index was written: a re-built index, or the same articles spread over shards, would
list tied hits differently. Here ties go to the lowest id hash (the `id_hash` fast field) first — the rule
query/fold.py already uses for a story's copies that tie — so a page's hits are the same however the
archive is laid out. The empty query, where every article scores alike, lists the newest first
(Archive.search runs it sorted by date); articles of the same second, and the undated (last), by id hash.

Cheap: one more hit than the page is read, and the id hashes only of hits that tie. When the hits tied
at the page's cut go on past it: sorted by date, the articles of that date (or the undated) are asked for
their lowest id hashes (Tantivy's order by a fast field, exact however many tie); by score, the tied run
is read to its end (at most MAX_TIED more hits; past that, Tantivy's order stands).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import tantivy

from .recency import Reranked

MAX_TIED = 10_000  # hits read past a page to order the run of hits tied in score at its cut


def first_hits(searcher: tantivy.Searcher, run: Callable[[int], Any], n: int,
               same_key: Callable[[Any], tantivy.Query] | None = None) -> Reranked:
    """The first n hits of `run(m)` (the first m hits, (key, address), in Tantivy's order, and the match
    count), every run of equal keys ordered by id hash. `same_key(key)`, when given, is the query for every
    match with that key (sorted by date: those of one date)."""
    res = run(n + 1)
    hits = list(res.hits)
    if not any(hits[i][0] == hits[i + 1][0] for i in range(min(n, len(hits) - 1))):
        return Reranked(hits[:n], res.count)
    fill: list = []
    if len(hits) > n and hits[n][0] == hits[n - 1][0]:  # the run tied at the cut goes on past it
        cut = hits[n - 1][0]
        if same_key is not None:
            start = next(i for i in range(n) if hits[i][0] == cut)
            got = searcher.search(same_key(cut), limit=n - start, order_by_field="id_hash", order=tantivy.Order.Asc)
            hits, fill = hits[:start], [(cut, a) for _, a in got.hits]
        else:
            m = n + 1
            while len(hits) == m and hits[-1][0] == cut and m < n + MAX_TIED:
                m = min(max(4 * m, m + 64), n + MAX_TIED)
                hits = list(run(m).hits)
    tied = [i for i in range(len(hits)) if (i and hits[i][0] == hits[i - 1][0])
            or (i + 1 < len(hits) and hits[i][0] == hits[i + 1][0])]
    hashes = dict(zip(tied, searcher.fast_field_values("id_hash", [hits[i][1] for i in tied]) if tied else []))
    runs, r = [], 0
    for i in range(len(hits)):
        r += bool(i) and hits[i][0] != hits[i - 1][0]
        runs.append(r)
    order = sorted(range(len(hits)), key=lambda i: (runs[i], hashes.get(i, 0)))
    return Reranked(([hits[i] for i in order] + fill)[:n], res.count)


def same_date(schema: tantivy.Schema, query: tantivy.Query) -> Callable[[int | None], tantivy.Query]:
    """For a search sorted by date: key (the date fast field's nanoseconds, None when undated) -> the
    matches of `query` with that date."""
    def matching(key: int | None) -> tantivy.Query:
        if key is None:
            cond = (tantivy.Occur.MustNot, tantivy.Query.exists_query("date"))
        else:
            day = datetime.fromtimestamp(key // 1_000_000_000, timezone.utc)
            cond = (tantivy.Occur.Must, tantivy.Query.range_query(schema, "date", tantivy.FieldType.Date, day, day))
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query), cond])
    return matching
