"""Facets computed by Tantivy's aggregations: counts per category and a calendar date histogram."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
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


def _terms_spec(size: int) -> dict:
    return {"terms": {"field": "category_path", "size": size}}


def _month_spec(after: dict | None = None) -> dict:
    spec: dict = {"size": 1000, "sources": [{"d": {"date_histogram": {"field": "date", "calendar_interval": "month"}}}]}
    if after:
        spec["after"] = after
    return {"composite": spec}


def _date_spec() -> dict:
    """The date span and the first page of month buckets, for `_histogram`."""
    return {"lo": {"min": {"field": "date"}}, "hi": {"max": {"field": "date"}}, "h": _month_spec()}


def _categories(res: dict) -> list[CategoryCount]:
    buckets = sorted(res["buckets"], key=lambda b: (-b["doc_count"], b["key"]))
    return [CategoryCount(b["key"], int(b["doc_count"])) for b in buckets]


def category_counts(searcher: tantivy.Searcher, query: tantivy.Query, size: int = 1000) -> list[CategoryCount]:
    return _categories(searcher.aggregate(query, {"c": _terms_spec(size)})["c"])


def facets(searcher: tantivy.Searcher, by_category: tantivy.Query, by_date: tantivy.Query,
           interval: str | None = None) -> tuple[list[CategoryCount], str, list[DateBucket]]:
    """Category counts over `by_category` and the calendar histogram over `by_date`, in one aggregation
    request when the two queries are the same (no filter on either), else two."""
    spec = _date_spec()
    if by_category is by_date:
        res = searcher.aggregate(by_date, {**spec, "c": _terms_spec(1000)})
        categories = _categories(res["c"])
    else:
        categories = category_counts(searcher, by_category)
        res = searcher.aggregate(by_date, spec)
    chosen, buckets = _histogram(searcher, by_date, res, interval)
    return categories, chosen, buckets


def date_histogram(searcher: tantivy.Searcher, query: tantivy.Query,
                   interval: str | None = None) -> tuple[str, list[DateBucket]]:
    """Counts per calendar month or year (UTC), empty periods included, the interval chosen from the span."""
    return _histogram(searcher, query, searcher.aggregate(query, _date_spec()), interval)


def _histogram(searcher: tantivy.Searcher, query: tantivy.Query, res: dict,
               interval: str | None) -> tuple[str, list[DateBucket]]:
    # Months from one composite aggregation (paged with `after`), rolled up to years in Python: cheaper than a
    # second aggregation once the span is known.
    lo, hi = res["lo"].get("value"), res["hi"].get("value")
    span = None if lo is None or hi is None else (_from_ns(lo), _from_ns(hi))
    interval = interval or choose_interval(span)
    if interval not in ("month", "year"):
        raise ValueError(f"interval: {interval!r} is not 'month' or 'year'")
    if span is None:
        return interval, []
    counts: dict[str, int] = {}
    page = res["h"]
    while True:
        for b in page["buckets"]:
            label = _bucket_label(b["key"]["d"], interval)
            counts[label] = counts.get(label, 0) + int(b["doc_count"])
        after = page.get("after_key")
        if len(page["buckets"]) < 1000 or not after:
            break
        page = searcher.aggregate(query, {"h": _month_spec(after)})["h"]
    return interval, [DateBucket(label, counts.get(label, 0))
                      for label in _periods((span[0].year, span[0].month), (span[1].year, span[1].month), interval)]


def choose_interval(span: tuple[datetime, datetime] | None) -> str:
    if span is None:
        return "month"
    return "year" if (span[1] - span[0]).days > YEAR_SPAN_DAYS else "month"


@lru_cache(maxsize=4096)
def _bucket_label(key_ms: float, interval: str) -> str:
    # A few hundred distinct month keys recur in every request: convert each once.
    return _label(_from_ms(key_ms), interval)


@lru_cache(maxsize=1024)
def _periods(lo: tuple[int, int], hi: tuple[int, int], interval: str) -> tuple[str, ...]:
    """Every period label from `lo` to `hi` (year, month), inclusive."""
    if interval == "year":
        return tuple(str(y) for y in range(lo[0], hi[0] + 1))
    out, (y, m) = [], lo
    while (y, m) <= hi:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def _label(dt: datetime, interval: str) -> str:
    return f"{dt.year:04d}" if interval == "year" else f"{dt.year:04d}-{dt.month:02d}"


def _from_ns(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1e9, tz=timezone.utc)


def _from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1e3, tz=timezone.utc)
