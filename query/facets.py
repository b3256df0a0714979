"""Facets computed by Tantivy's aggregations: counts per category and a calendar date histogram.

Calendar periods are counted with a `range` aggregation over periods set out in advance from the archive's
span, not with a composite `date_histogram` (the only calendar-aware one in Tantivy), which cost several
times as much on queries matching most of a large archive (bench/serve.py's library line shows the whole
search).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone

import tantivy

MONTHLY_YEARS = 3  # matches within 3 calendar years get a monthly histogram, wider ones a yearly one


@dataclass
class CategoryCount:
    category: str  # a path: "World" or "World/Europe" (a parent counts its sub-categories' articles)
    count: int


@dataclass
class DateBucket:
    start: str  # "1987-03" (month) or "1987" (year)
    count: int


NO_CATEGORY = "\x1f"  # the key the category counts give articles with no category (no path holds it)
# Matches (every article has an id_hash) and dated matches, counted with the facets: the difference is undated.
_COUNTS = {"n": {"value_count": {"field": "id_hash"}}, "dated": {"value_count": {"field": "date"}}}


@dataclass
class FacetCounts:
    categories: list[CategoryCount]
    uncategorised: int  # matches with no category
    interval: str
    dates: list[DateBucket]
    undated: int  # matches with no date: in no bucket of `dates`


def _terms_spec(size: int) -> dict:
    return {"terms": {"field": "category_path", "size": size, "missing": NO_CATEGORY}}


def _categories(res: dict) -> list[CategoryCount]:
    buckets = sorted((b for b in res["buckets"] if b["key"] != NO_CATEGORY), key=lambda b: (-b["doc_count"], b["key"]))
    return [CategoryCount(b["key"], int(b["doc_count"])) for b in buckets]


def _uncategorised(res: dict) -> int:
    return next((int(b["doc_count"]) for b in res["buckets"] if b["key"] == NO_CATEGORY), 0)


def missing_counts(searcher: tantivy.Searcher, query: tantivy.Query) -> tuple[int, int]:
    """(undated, uncategorised): the matches of `query` with no date, and with no category."""
    res = searcher.aggregate(query, {**_COUNTS, "c": _terms_spec(1)})
    return _undated(res), _uncategorised(res["c"])


def _undated(res: dict) -> int:
    return int(res["n"].get("value") or 0) - int(res["dated"].get("value") or 0)


def category_counts(searcher: tantivy.Searcher, query: tantivy.Query, size: int = 1000) -> list[CategoryCount]:
    return _categories(searcher.aggregate(query, {"c": _terms_spec(size)})["c"])


def _ns(year: int, month: int = 1) -> int:
    return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) * 10**9


@lru_cache(maxsize=256)
def _periods(first: int, last: int, interval: str) -> tuple[tuple[str, int, int], ...]:
    """(label, start ns, end ns) for each calendar period of years first..last: the same few spans come in
    every request, so each is worked out once."""
    if interval == "year":
        return tuple((str(y), _ns(y), _ns(y + 1)) for y in range(first, last + 1))
    return tuple((f"{y:04d}-{m:02d}", _ns(y, m), _ns(y + (m == 12), m % 12 + 1))
                 for y in range(first, last + 1) for m in range(1, 13))


def _range_spec(periods: tuple[tuple[str, int, int], ...]) -> dict:
    # Tantivy adds the open ranges before the first period and after the last: dates outside the known
    # span are counted there, not lost.
    return {"range": {"field": "date", "keyed": False,
                      "ranges": [{"key": label, "from": lo, "to": hi} for label, lo, hi in periods]}}


class DateFacet:
    """The date histogram of a query: counts per calendar month or year (UTC) from its first dated match to
    its last, empty periods included, the interval chosen from that span unless one is asked for.

    Holds the archive's years (read once, refreshed when a count falls outside them) so the periods to count
    are known before the query runs and one aggregation request can carry them with the category counts.
    """

    def __init__(self) -> None:
        self._years: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        """The index changed: read its years again on next use."""
        self._years = None

    def _archive_years(self, searcher: tantivy.Searcher) -> tuple[int, int] | None:
        if self._years is None:
            with self._lock:
                if self._years is None:
                    self._years = _years_of(searcher, tantivy.Query.all_query())
        return self._years

    def spec(self, searcher: tantivy.Searcher, interval: str | None) -> dict | None:
        """The aggregation to send with the query (None: the archive has no dates)."""
        years = self._archive_years(searcher)
        if years is None:
            return None
        return _range_spec(_periods(*years, self._first_interval(years, interval)))

    @staticmethod
    def _first_interval(years: tuple[int, int], interval: str | None) -> str:
        return "month" if _natural_interval(*years) == "month" and interval != "year" else "year"

    def histogram(self, searcher: tantivy.Searcher, query: tantivy.Query, res: dict | None,
                  interval: str | None) -> tuple[str, list[DateBucket]]:
        """The histogram from `res`, the answer to `spec()` for `query`; counts again where it must."""
        if interval not in (None, "month", "year"):
            raise ValueError(f"interval: {interval!r} is not 'month' or 'year'")
        years = self._years
        if res is None or years is None:
            return interval or "month", []
        buckets = res["buckets"]
        if buckets[0]["doc_count"] or buckets[-1]["doc_count"]:  # dates outside the archive's years as read
            self.forget()  # the index has changed since: count again over its new span
            spec = self.spec(searcher, interval)
            if spec is None:
                return interval or "month", []
            return self.histogram(searcher, query, searcher.aggregate(query, {"d": spec})["d"], interval)
        counted = self._first_interval(years, interval)
        counts = _period_counts(buckets)
        if not counts:
            return interval or "month", []
        first, last = int(counts[0][0][:4]), int(counts[-1][0][:4])
        chosen = interval or _natural_interval(first, last)
        if chosen == "month" and counted == "year":  # narrow matches in a wide archive: count their months
            counts = _period_counts(searcher.aggregate(
                query, {"d": _range_spec(_periods(first, last, "month"))})["d"]["buckets"])
        elif chosen == "year" and counted == "month":
            by_year: dict[str, int] = {}
            for label, n in counts:
                by_year[label[:4]] = by_year.get(label[:4], 0) + n
            counts = list(by_year.items())
        return chosen, [DateBucket(label, n) for label, n in counts]


def _natural_interval(first_year: int, last_year: int) -> str:
    return "month" if last_year - first_year < MONTHLY_YEARS else "year"


def _period_counts(buckets: list[dict]) -> list[tuple[str, int]]:
    """(label, count) of a range aggregation's periods, less its open ends, from the first period with a
    count to the last."""
    counts = [(b["key"], int(b["doc_count"])) for b in buckets[1:-1]]
    found = [i for i, (_, n) in enumerate(counts) if n]
    return counts[found[0]:found[-1] + 1] if found else []


def _years_of(searcher: tantivy.Searcher, query: tantivy.Query) -> tuple[int, int] | None:
    res = searcher.aggregate(query, {"lo": {"min": {"field": "date"}}, "hi": {"max": {"field": "date"}}})
    lo, hi = res["lo"].get("value"), res["hi"].get("value")
    if lo is None or hi is None:
        return None
    return _from_ns(lo).year, _from_ns(hi).year


def facets(searcher: tantivy.Searcher, dates: DateFacet, by_category: tantivy.Query, by_date: tantivy.Query,
           interval: str | None = None, matches: int | None = None) -> FacetCounts:
    """Category counts over `by_category` and the date histogram over `by_date`, in one aggregation
    request when the two queries are the same (no filter on either), else two. `matches`: how many articles
    `by_date` matches, when the caller's search has counted them; then the undated are those less the dated
    ones the histogram's periods (which run from before the first to after the last) count, and the two
    value counts that would say it, a third of the aggregation's time, are not asked for."""
    spec = dates.spec(searcher, interval)
    counts = {} if matches is not None and spec else _COUNTS
    date_spec = {"d": spec, **counts} if spec else dict(counts)
    if by_category is by_date:
        res = searcher.aggregate(by_date, {**date_spec, "c": _terms_spec(1000)})
        by_cat = res["c"]
    else:
        by_cat = searcher.aggregate(by_category, {"c": _terms_spec(1000)})["c"]
        res = searcher.aggregate(by_date, date_spec)
    undated = matches - sum(int(b["doc_count"]) for b in res["d"]["buckets"]) if not counts else _undated(res)
    chosen, buckets = dates.histogram(searcher, by_date, res.get("d"), interval)
    return FacetCounts(_categories(by_cat), _uncategorised(by_cat), chosen, buckets, undated)


def date_histogram(searcher: tantivy.Searcher, dates: DateFacet, query: tantivy.Query,
                   interval: str | None = None) -> tuple[str, list[DateBucket]]:
    """The date histogram alone."""
    spec = dates.spec(searcher, interval)
    return dates.histogram(searcher, query, searcher.aggregate(query, {"d": spec})["d"] if spec else None, interval)


def _from_ns(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1e9, tz=timezone.utc)
