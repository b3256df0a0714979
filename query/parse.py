"""What a user types and picks -> Tantivy queries: lenient text parsing plus filters.

The text query and each filter are kept apart so facets can be disjunctive: the category counts are
computed with every filter but the category one, the date histogram with every filter but the dates.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import tantivy

from newssearch.errors import QueryError  # defined there with the other errors; still importable from here
from newssearch.indexer.schema import DEFAULT_FIELDS, TITLE_BOOST, text_analyzer

from .weighting import TermWeights, weighted_text

MAX_QUERY_CHARS = 4000  # a long question pasted whole still fits; a page of text does not
MAX_QUERY_TERMS = 512
MAX_SLOP = 10  # "a phrase"~N: more would make a phrase of common words scan every position of every article


@dataclass
class Filters:
    categories: list[str] = field(default_factory=list)  # any of them (OR)
    date_from: datetime | None = None  # inclusive
    date_to: datetime | None = None  # exclusive
    site: str | None = None
    author: str | None = None


_EXISTS = re.compile(r"\b\w+:\s*\*")
_FIELD_CATEGORY = re.compile(r'(?<![\w-])category:(?:"([^"]*)"|(\S+))', re.I)


def split_category_terms(text: str) -> tuple[str, list[str]]:
    """`category:World` in the query text is a filter, not a term (facets cannot be parsed as text)."""
    found = [m.group(1) if m.group(1) is not None else m.group(2) for m in _FIELD_CATEGORY.finditer(text)]
    return _FIELD_CATEGORY.sub(" ", text).strip(), found


def check_query_size(text: str) -> None:
    """Refuse query text over the length or term caps (a QueryError naming `q`)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("q", f"query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    if len(text.split()) > MAX_QUERY_TERMS:
        raise QueryError("q", f"query has {len(text.split())} terms; the limit is {MAX_QUERY_TERMS}")


_SLOP = re.compile(r'"\s*~\s*(\d+)')


def parse_text(index: tantivy.Index, text: str, title_boost: float = TITLE_BOOST,
               term_weights: TermWeights | None = None) -> tuple[tantivy.Query, list[str]]:
    """A boolean formula -> (query, warnings), by Tantivy's parser. Never raises on syntax: a lenient parse.

    Words are ANDed; "phrases", -exclude, OR, AND, (groups) and field:term (title, body, author, site)
    work as users expect. An empty text matches every article. Phrase slop is capped at MAX_SLOP.
    `term_weights` (a sharded archive's archive-wide statistics, query/weighting.py) multiplies each word's
    or phrase's clause by a factor.
    """
    text = text.strip()
    check_query_size(text)
    warnings = []
    if any(int(s) > MAX_SLOP for s in _SLOP.findall(text)):
        warnings.append(f"q: phrase slop reduced to ~{MAX_SLOP}")
        text = _SLOP.sub(lambda m: f'"~{min(int(m.group(1)), MAX_SLOP)}', text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    # `field:*` is the parser's "field exists" query, which needs a fast field: every article has a title
    # and body, so it adds nothing but an error.
    text = _EXISTS.sub(" ", text).strip()
    if not text:
        return tantivy.Query.all_query(), []
    query, errors = index.parse_query_lenient(text, DEFAULT_FIELDS, field_boosts={"title": title_boost},
                                              conjunction_by_default=True)
    if term_weights is not None and not errors:
        weighted, werrors = index.parse_query_lenient(weighted_text(text, term_weights, _analyse),
                                                      DEFAULT_FIELDS, field_boosts={"title": title_boost},
                                                      conjunction_by_default=True)
        if not werrors:  # else the rewrite met syntax it does not know: rank as the shard alone would
            query = weighted
    return query, warnings + [str(e) for e in errors]


def _analyse(text: str) -> list[str]:
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = text_analyzer()
    return _ANALYZER.analyze(text)


_ANALYZER: tantivy.TextAnalyzer | None = None


def date_bound(value: str | date | datetime | None, upper: bool, name: str) -> datetime | None:
    """A date filter bound. Upper bounds are exclusive and round up: --to 1987-03 means through March 1987."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc)
    if isinstance(value, date):
        d = datetime.combine(value, time(), tzinfo=timezone.utc)
        return d + timedelta(days=1) if upper else d
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    try:
        if m:
            y, mo, d = int(m.group(1)), m.group(2), m.group(3)
            if mo is None:
                return datetime(y + 1 if upper else y, 1, 1, tzinfo=timezone.utc)
            mo = int(mo)
            if d is None:
                start = datetime(y, mo, 1, tzinfo=timezone.utc)
                return start + timedelta(days=calendar.monthrange(y, mo)[1]) if upper else start
            start = datetime(y, mo, int(d), tzinfo=timezone.utc)
            return start + timedelta(days=1) if upper else start
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt.astimezone(timezone.utc) if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise QueryError(name, f"{text!r} is not a date (use YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601)") from None


def date_range_query(schema: tantivy.Schema, lower: datetime | None, upper: datetime | None) -> tantivy.Query:
    return tantivy.Query.range_query(schema, "date", tantivy.FieldType.Date, lower, upper,
                                     include_lower=True, include_upper=upper is None)


def category_query(schema: tantivy.Schema, paths: list[str]) -> tantivy.Query:
    """Articles in any of the category paths (a path includes its sub-categories)."""
    subs = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "category", tantivy.Facet.from_string("/" + p)))
            for p in paths]
    return subs[0][1] if len(subs) == 1 else tantivy.Query.boolean_query(subs)


def combine(schema: tantivy.Schema, text_query: tantivy.Query, filters: Filters,
            skip: str | None = None) -> tantivy.Query:
    """The text query AND every filter (but `skip`: "category" or "date", for disjunctive facets)."""
    musts = [text_query]
    if filters.categories and skip != "category":
        musts.append(category_query(schema, filters.categories))
    if (filters.date_from or filters.date_to) and skip != "date":
        musts.append(date_range_query(schema, filters.date_from, filters.date_to))
    if filters.site:
        musts.append(tantivy.Query.term_query(schema, "site", filters.site.strip().lower()))
    if filters.author:
        musts.append(tantivy.Query.term_query(schema, "author", filters.author.strip().lower()))
    if len(musts) == 1:
        return text_query
    # Filters must match but add nothing to the score: ranking stays the text query's BM25.
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, text_query)] + [
        (tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in musts[1:]])
