"""Facets computed by Tantivy's aggregations: counts per category and a calendar date histogram."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import tantivy

DAY_NS = 86_400 * 10**9
YEAR_SPAN_DAYS = 3 * 365  # wider than this, the histogram is per year, else per month


@dataclass
class CategoryCount:
    category: str  # a path: "World" or "World/Europe" (a parent counts its sub-categories' articles)
    count: int


@dataclass
class DateBucket:
    start: str  # "1987-03" (month) or "1987" (year)
    count: int


def category_counts(searcher: tantivy.Searcher, query: tantivy.Query, size: int = 1000) -> list[CategoryCount]:
    res = searcher.aggregate(query, {"c": {"terms": {"field": "category_path", "size": size}}})
    buckets = res["c"]["buckets"]
    return [CategoryCount(b["key"], int(b["doc_count"])) for b in sorted(buckets, key=lambda b: (-b["doc_count"], b["key"]))]


def date_span(searcher: tantivy.Searcher, query: tantivy.Query) -> tuple[datetime, datetime] | None:
    res = searcher.aggregate(query, {"lo": {"min": {"field": "date"}}, "hi": {"max": {"field": "date"}}})
    lo, hi = res["lo"].get("value"), res["hi"].get("value")
    if lo is None or hi is None:
        return None
    return _from_ns(lo), _from_ns(hi)


def choose_interval(span: tuple[datetime, datetime] | None) -> str:
    if span is None:
        return "month"
    return "year" if (span[1] - span[0]).days > YEAR_SPAN_DAYS else "month"


def date_histogram(searcher: tantivy.Searcher, query: tantivy.Query,
                   interval: str | None = None) -> tuple[str, list[DateBucket]]:
    """Counts per calendar month or year (UTC), empty periods included, the interval chosen from the span."""
    span = date_span(searcher, query)
    interval = interval or choose_interval(span)
    if interval not in ("month", "year"):
        raise ValueError(f"interval: {interval!r} is not 'month' or 'year'")
    if span is None:
        return interval, []
    counts: dict[str, int] = {}
    after = None
    while True:  # composite aggregations page with `after`
        spec: dict = {"size": 1000, "sources": [{"d": {"date_histogram": {"field": "date",
                                                                            "calendar_interval": interval}}}]}
        if after:
            spec["after"] = after
        res = searcher.aggregate(query, {"h": {"composite": spec}})["h"]
        for b in res["buckets"]:
            counts[_label(_from_ms(b["key"]["d"]), interval)] = int(b["doc_count"])
        after = res.get("after_key")
        if len(res["buckets"]) < 1000 or not after:
            break
    return interval, [DateBucket(label, counts.get(label, 0)) for label in _periods(span, interval)]


def _periods(span: tuple[datetime, datetime], interval: str) -> list[str]:
    (lo, hi) = span
    if interval == "year":
        return [str(y) for y in range(lo.year, hi.year + 1)]
    out, y, m = [], lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _label(dt: datetime, interval: str) -> str:
    return f"{dt.year:04d}" if interval == "year" else f"{dt.year:04d}-{dt.month:02d}"


def _from_ns(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1e9, tz=timezone.utc)


def _from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1e3, tz=timezone.utc)
