"""Relevant and recent: BM25 scores decayed by age, as Elasticsearch's `function_score` exponential decay does.

score × 0.5^(age / half-life), age counted from the newest article among the candidates. Only ratios matter
to the order (a decay is multiplicative), so the origin does not change it. The best RECENCY_WINDOW matches
by relevance are re-ranked (Elasticsearch's rescore window): an article outside them is too weak a match
for its date to save it. Undated articles count as old as the oldest candidate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import tantivy

from newssearch.errors import QueryError

RECENCY_WINDOW = 500
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30.44 * 86400, "y": 365.25 * 86400}


def half_life_seconds(value: str | float | int) -> float:
    """'30d', '2w', '6m', '1y', '12h' or a number of days -> seconds (QueryError naming `recency`)."""
    text = str(value).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([hdwmy]?)", text)
    seconds = float(m.group(1)) * _UNITS[m.group(2) or "d"] if m else 0.0
    if not seconds or seconds > 100 * _UNITS["y"]:
        raise QueryError("recency", f"{value!r} is not a half-life (use e.g. 30d, 2w, 6m, 1y, or a number of days)")
    return seconds


@dataclass
class Reranked:
    """Quacks like tantivy.SearchResult: hits as (score, address) and the match count."""

    hits: list[tuple[float, tantivy.DocAddress]]
    count: int


def rerank_by_recency(searcher: tantivy.Searcher, query: tantivy.Query, limit: int, offset: int,
                      half_life: float) -> Reranked:
    window = max(RECENCY_WINDOW, offset + limit)
    res = searcher.search(query, limit=window)
    if not res.hits:
        return Reranked([], res.count)
    published = searcher.fast_field_values("published", [a for _, a in res.hits])
    dated = [p for p in published if p]
    newest, oldest = (max(dated), min(dated)) if dated else (0, 0)
    scored = [(score * 0.5 ** ((newest - (p or oldest)) / half_life), addr)
              for (score, addr), p in zip(res.hits, published)]
    scored.sort(key=lambda h: -h[0])
    return Reranked(scored[offset:offset + limit], res.count)
