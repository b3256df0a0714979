"""Archive: the read side of an index — search with filters, facets and snippets; fetch articles."""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import tantivy

from newssearch.errors import ArticleNotFound, QueryError
from newssearch.indexer.article import Article
from newssearch.indexer.schema import open_index
from newssearch.limits import MAX_LIMIT, SORTS

from .facets import CategoryCount, DateBucket, DateFacet, category_counts, date_histogram, missing_counts
from .facets import facets as facet_counts
from .fold import PARTIAL_WARNING as FOLD_PARTIAL_WARNING
from .fold import CopyFilter, CopyIndex, FoldedPage
from .fold import fold as fold_hits
from .parse import Filters, combine, date_bound, parse_text, split_category_terms
from .recency import Reranked, half_life_seconds, rerank_by_recency
from .ties import first_hits, same_date
from .textquery import STRICT_ENOUGH, QueryBuilder
from .plain import plain
from .snippets import QueryTerms
from .weighting import TermWeights
from .suggest import Suggestions, TitleSuggestion, check_suggest_limits, complete, expand_prefix

if TYPE_CHECKING:  # numba (related.py) and numpy (terms.py) are imported only when related posts are asked for
    import numpy as np

    from .related import RelatedModel

MAX_OFFSET = 10_000
RELAXED_WARNING = "nothing matches the required words or phrases; showing articles with some of the words"
SNIPPET_CHARS = 240
PREFIX_EXPANSIONS = 8  # search-as-you-type: the word being typed stands for its 8 commonest completions


@dataclass
class Hit:
    id: str
    score: float | None  # BM25 score; None when sorted by date
    title: str
    url: str | None
    date: str | None
    categories: list[str]
    authors: list[str]
    site: str | None
    snippet: str  # HTML: escaped text with matches in <b>…</b>
    source: str
    copies: int = 0  # folded search: other matching articles of the same story (near-duplicates)
    copy_ids: list[str] = field(default_factory=list)  # their ids, best first (at most fold.MAX_COPY_IDS)


@dataclass
class RelatedHit:
    id: str
    score: float  # BM25 of the article's top terms against this one
    title: str
    url: str | None
    date: str | None
    categories: list[str]


@dataclass
class Facets:
    categories: list[CategoryCount] = field(default_factory=list)
    date_interval: str = "month"
    dates: list[DateBucket] = field(default_factory=list)
    counts: str = "articles"  # facet counts count articles, every copy included, folded or not
    undated: int = 0  # matches with no date: in no bucket of `dates`
    uncategorised: int = 0  # matches with no category


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    limit: int
    sort: str  # the order of the hits: "newest" for the empty query asked by relevance (nothing to rank)
    hits: list[Hit]
    facets: Facets | None
    took_ms: float
    warnings: list[str] = field(default_factory=list)
    folded: bool = False  # copies folded: one hit per story (group of near-duplicates)
    stories: int | None = None  # matching stories when folded (what the pages count), else None
    did_you_mean: str | None = None  # the query with words the archive does not hold corrected

    @property
    def pages(self) -> int:
        return max(1, -(-(self.stories if self.folded else self.total) // self.limit))

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)
        d["pages"] = self.pages
        return d


def check_paging(sort: str, limit: int, page: int) -> int:
    """Refuse a bad sort, limit or page (QueryError naming it); the offset of the page's first hit."""
    if sort not in SORTS:
        raise QueryError("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"{limit!r} is out of range (1 to {MAX_LIMIT})")
    if not isinstance(page, int) or page < 1:
        raise QueryError("page", f"{page!r} must be 1 or more")
    offset = (page - 1) * limit
    if offset + limit > MAX_OFFSET:
        raise QueryError("page", f"results beyond the first {MAX_OFFSET} are not served; narrow the query")
    return offset


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


class Archive:
    """An opened index. Cheap to search from many threads; call `reload()` to see new commits."""

    def __init__(self, index: tantivy.Index, path: Path):
        # The view moves to new commits only on reload(): what is cached per view (the copies) stays true.
        index.config_reader("manual")
        self.index = index
        self._copy_index: CopyIndex | None = None
        self.path = path
        self.schema = index.schema
        self._categories: dict[str, list[str]] | None = None
        self._dates = DateFacet()
        self._related: tuple[tuple, RelatedModel, CopyFilter] | None = None
        self.queries = QueryBuilder(index)

    @classmethod
    def open(cls, path: str | Path) -> "Archive":
        """Open an index directory written by `newssearch index` (raises IndexNotFound if there is none).
        A sharded archive's directory opens as a ShardedArchive, which has the same methods."""
        if (Path(path) / "shards.json").is_file():  # indexer/shards.py's manifest
            from . import ShardedArchive  # the package's lazy name: query/sharded.py builds on this module

            return ShardedArchive.open(path)  # type: ignore[return-value]
        return cls(open_index(path), Path(path))

    def reload(self) -> None:
        self.index.reload()
        self._copy_index = None
        self._categories = None
        self._dates.forget()

    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def __len__(self) -> int:
        return self.searcher().num_docs

    # --- categories -------------------------------------------------------------------------------
    def categories(self) -> list[CategoryCount]:
        """Every category path in the archive with its article count."""
        return category_counts(self.searcher(), tantivy.Query.all_query(), size=100_000)

    def resolve_category(self, name: str) -> list[str]:
        """A user's category -> the indexed paths it means: a path, case-blind, or a leaf name ("europe")."""
        if self._categories is None:
            table: dict[str, list[str]] = {}
            for c in self.categories():
                table.setdefault(c.category.casefold(), []).append(c.category)
                leaf = c.category.rsplit("/", 1)[-1].casefold()
                if leaf != c.category.casefold():
                    table.setdefault("leaf:" + leaf, []).append(c.category)
            self._categories = table
        key = name.strip().strip("/").casefold()
        found = self._categories.get(key) or self._categories.get("leaf:" + key)
        if not found:
            raise QueryError("category", f"no category {name!r} in this archive "
                             "(`newssearch stats` lists them)")
        return found

    # --- search -----------------------------------------------------------------------------------
    def search(self, q: str = "", *, categories: list[str] | tuple[str, ...] = (),
               date_from: str | date | datetime | None = None, date_to: str | date | datetime | None = None,
               site: str | None = None, author: str | None = None, sort: str = "relevance",
               limit: int = 10, page: int = 1, facets: bool = True, interval: str | None = None,
               snippet_chars: int = SNIPPET_CHARS, prefix: bool = False,
               recency: str | float | None = None, term_weights: TermWeights | None = None,
               relaxed: bool | None = None, fold: bool = True, strict: bool | None = None) -> SearchResult:
        """Ranked (BM25, title boosted) or date-sorted hits for `q`, with facets for the same query.

        `q` is read as a search box reads it (query/textquery.py): plain words rank articles by how many of
        them they hold, how rare and how close together (stopwords aside; one or two words must all match);
        misspelt words find their corrections; +word, "phrases", -exclusions, AND/OR/NOT formulas and
        title:/body:/author:/site:/category: constrain.
        `recency` ("30d", "2w", "6m", "1y", or days) ranks relevant-and-recent: scores decay by half per
        half-life of age (among the best RECENCY_WINDOW matches).
        `date_to` is inclusive of the period given ("1987-03" is through the end of March).
        `prefix=True` (search-as-you-type) reads the last word as a prefix: "oil pr" finds "oil prices".
        `term_weights` multiplies each query word's (phrase's) score by a factor: a sharded archive's
        archive-wide statistics (query/weighting.py, query/sharded.py). `relaxed` (a sharded archive's
        decision for all its shards): True runs the any-word query, False never falls back to it. `strict`
        (likewise): True lists only the articles holding both words of a two-word query, False any word.
        `fold=True` shows each group of near-duplicates (syndicated copies) as its best hit, with `copies`
        and `copy_ids`; `total` counts matching articles, `stories` the groups (what the pages count).
        Facet counts count articles.
        Raises QueryError (a ValueError) for bad parameters, naming the parameter.
        """
        started = time.perf_counter()
        offset = check_paging(sort, limit, page)
        searcher = self.searcher()  # one view of the index for the whole request
        text, inline_categories = split_category_terms(q or "")
        if prefix:
            text = expand_prefix(text, complete(self.index, searcher, text, PREFIX_EXPANSIONS))
        filters = Filters(
            categories=[p for name in [*categories, *inline_categories] for p in self.resolve_category(name)],
            date_from=date_bound(date_from, upper=False, name="from"),
            date_to=date_bound(date_to, upper=True, name="to"),
            site=site or None, author=author or None,
        )
        if filters.date_from and filters.date_to and filters.date_from >= filters.date_to:
            raise QueryError("from", "the start date is after the end date (to)")
        half_life = half_life_seconds(recency) if recency not in (None, "") else None
        parsed = self.queries.build(text, searcher, term_weights)
        # (ranked query, the same matches unscored: what the counts and facets run)
        ranked, warnings = (parsed.query, parsed.matches), parsed.warnings
        if relaxed and parsed.relaxed is not None:  # a sharded archive found nothing in any shard as asked
            ranked = (parsed.relaxed, parsed.relaxed_matches)
            warnings = warnings + [RELAXED_WARNING]
        if parsed.strict is not None and (strict or strict is None and parsed.strict_df >= STRICT_ENOUGH):
            # A keyword query whose words meet in a page's worth of articles lists only those, as an AND
            # would (counted first, when each word is in that many); a sharded archive decides it for all shards.
            if strict or searcher.search(combine(self.schema, parsed.strict_matches, filters),
                                         limit=1).count >= STRICT_ENOUGH:
                ranked = (parsed.strict, parsed.strict_matches)
        order = "newest" if sort == "relevance" and not text.strip() else sort  # nothing to rank: newest first
        res_hits, total, folded = self._page(searcher, combine(self.schema, ranked[0], filters), order, limit, offset,
                                             half_life, fold, unscored=self._unscored(ranked, filters))
        if total == 0 and parsed.relaxed is not None and relaxed is None:
            # Nothing holds the required phrases or +words: any of the words will do (a query never comes
            # back empty while articles hold some of its words).
            ranked = (parsed.relaxed, parsed.relaxed_matches)
            res_hits, total, folded = self._page(searcher, combine(self.schema, ranked[0], filters), order, limit,
                                                 offset, half_life, fold, unscored=self._unscored(ranked, filters))
            warnings = warnings + [RELAXED_WARNING]
        if folded is not None and folded.partial:
            warnings = warnings + [FOLD_PARTIAL_WARNING]
        terms = QueryTerms.of(parsed.highlight)
        hits = [self._hit(searcher, addr, score if order == "relevance" else None, terms, snippet_chars)
                for score, addr in res_hits]
        if fold:
            for hit, n, addrs in zip(hits, folded.copies, folded.copy_addresses):
                hit.copies, hit.copy_ids = n, [searcher.doc(a).to_dict()["id"][0] for a in addrs]

        facet_result = None
        if facets:
            # Disjunctive: category counts ignore the category filter, the histogram the date filter.
            counted_query = ranked[1] if ranked[1] is not None else ranked[0]
            by_category = combine(self.schema, counted_query, filters, skip="category")
            by_date = combine(self.schema, counted_query, filters, skip="date")
            if not filters.categories and not (filters.date_from or filters.date_to):
                by_category = by_date
            # by_date matches what the page's query matches unless a date filter narrowed that one
            counted = total if not (filters.date_from or filters.date_to) else None
            got = facet_counts(searcher, self._dates, by_category, by_date, interval, counted)
            facet_result = Facets(categories=got.categories, date_interval=got.interval, dates=got.dates,
                                  undated=got.undated, uncategorised=got.uncategorised)
        return SearchResult(query=q or "", total=total, page=page, limit=limit, sort=order, hits=hits,
                            facets=facet_result, took_ms=round((time.perf_counter() - started) * 1000, 2),
                            warnings=warnings, did_you_mean=parsed.did_you_mean, folded=fold,
                            stories=folded.total if folded else None)

    def _page(self, searcher: tantivy.Searcher, query: tantivy.Query, sort: str, limit: int, offset: int,
              half_life: float | None, fold: bool, unscored: tantivy.Query | None = None
              ) -> tuple[list, int, FoldedPage | None]:
        """The page's (score, address) hits, the matching articles, and the folded page when folding.
        `unscored`: the same matches as `query` without its scoring clauses, listed when sorted by date."""
        listed = unscored if unscored is not None and sort != "relevance" else query
        if not fold:
            res = self._run(searcher, listed, sort, limit, offset, half_life)
            return res.hits, res.count, None
        copies = self._copy_index
        if copies is None or copies.view != (searcher.num_docs, searcher.num_segments):  # a reload raced us
            copies = self._copy_index = CopyIndex.read(searcher, self.schema)
        folded = fold_hits(searcher, self.schema, copies, query,  # its copies are ranked by score
                           lambda n: self._run(searcher, listed, sort, n, 0, half_life), offset, limit,
                           matches=unscored, by_score=sort == "relevance" and half_life is None)
        return folded.hits, folded.articles, folded

    def _unscored(self, ranked: tuple[tantivy.Query, tantivy.Query | None], filters: Filters) -> tantivy.Query | None:
        return combine(self.schema, ranked[1], filters) if ranked[1] is not None else None

    def _run(self, searcher: tantivy.Searcher, query: tantivy.Query, sort: str, limit: int, offset: int,
             half_life: float | None) -> tantivy.SearchResult:
        try:
            if sort != "relevance":
                order = tantivy.Order.Desc if sort == "newest" else tantivy.Order.Asc
                got = first_hits(searcher, lambda n: searcher.search(query, limit=n, order_by_field="date",
                                                                     order=order), offset + limit,
                                 same_date(self.schema, query))
            elif half_life is not None:
                return rerank_by_recency(searcher, query, limit, offset, half_life)
            else:
                got = first_hits(searcher, lambda n: searcher.search(query, limit=n), offset + limit)
            return Reranked(got.hits[offset:], got.count)  # ties in the archive's order (query/ties.py)
        except ValueError as exc:  # a query the parser accepted but Tantivy cannot run
            raise QueryError("q", f"this query cannot be run ({exc})") from None

    def _hit(self, searcher: tantivy.Searcher, addr: tantivy.DocAddress, score: float | None,
             terms: QueryTerms, chars: int) -> Hit:
        a = Article.from_stored(searcher.doc(addr).to_dict())
        snippet = terms.snippet(a.body, chars)
        if not snippet.strip():  # no body match (title-only hit, or browsing): the article's opening
            opening = a.body[:chars]
            snippet = html.escape(opening[: opening.rfind(" ")] + " …" if len(a.body) > chars else opening)
        return Hit(id=a.id, score=round(score, 4) if score is not None else None, title=a.title, url=a.url,
                   date=_iso(a.date), categories=a.categories, authors=a.authors, site=a.site,
                   snippet=snippet.replace("\n", " "), source=a.source)

    # --- search-as-you-type ------------------------------------------------------------------------
    def suggest(self, q: str, limit: int = 8, titles: int = 5) -> Suggestions:
        """Completions of the word being typed (in the context of the words before it) and the best
        headlines for it; cheap enough to call on every keystroke."""
        started = time.perf_counter()
        check_suggest_limits(limit, titles)
        out = Suggestions(query=q)
        if q.strip():
            searcher = self.searcher()
            out.completions = complete(self.index, searcher, q, limit) if limit else []
            if titles:
                query, _ = parse_text(self.index, expand_prefix(q, out.completions))
                hits = searcher.search(query, limit=titles).hits
                for _, addr in hits:
                    a = Article.from_stored(searcher.doc(addr).to_dict())
                    out.titles.append(TitleSuggestion(id=a.id, title=a.title, url=a.url, date=_iso(a.date)))
        out.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return out

    # --- articles ---------------------------------------------------------------------------------
    def _address(self, searcher: tantivy.Searcher, article_id: str) -> tantivy.DocAddress | None:
        res = searcher.search(tantivy.Query.term_query(self.schema, "id", article_id), limit=1)
        return res.hits[0][1] if res.hits else None

    def article(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        searcher = self.searcher()
        addr = self._address(searcher, article_id)
        return Article.from_stored(searcher.doc(addr).to_dict()) if addr is not None else None

    # --- related posts ------------------------------------------------------------------------------
    def related_model(self) -> RelatedModel:
        """The related-posts model for the index as it is now (rebuilt after the index changes)."""
        from newssearch.indexer.terms import chunk_files, indexed_fingerprints, load_terms

        searcher = self.searcher()
        key = (searcher.num_docs, tuple(p.name for p in chunk_files(self.path)),
               (self.path / "tantivy" / "meta.json").stat().st_mtime_ns)
        if self._related is None or self._related[0] != key:
            from .related import RelatedModel, RelatedParams

            live = indexed_fingerprints(self.index)
            model = RelatedModel(load_terms(self.path, live), RelatedParams())
            self._related = (key, model, CopyFilter(searcher, model.id_hash))
        return self._related[1]

    def _copies(self) -> CopyFilter:
        self.related_model()
        return self._related[2]

    def _allowed_rows(self, model: RelatedModel, query: tantivy.Query) -> np.ndarray:
        import numpy as np

        searcher = self.searcher()
        hits = searcher.search(query, limit=max(1, searcher.num_docs)).hits
        hashes = searcher.fast_field_values("id_hash", [a for _, a in hits])
        return np.isin(model.id_hash, np.asarray(hashes, dtype=np.int64))

    def related(self, article_id: str, k: int = 10, same_category: bool = False,
                since: str | date | datetime | None = None) -> list[RelatedHit]:
        """The k articles most like this one by BM25 (its top terms), best first.

        Never the article itself nor its near-duplicates. `same_category` keeps articles sharing one of its
        categories; `since` keeps articles published on or after that date. Raises ArticleNotFound (a KeyError)
        for an unknown id, QueryError for a bad parameter.
        """
        if not 1 <= k <= MAX_LIMIT:
            raise QueryError("k", f"{k!r} is out of range (1 to {MAX_LIMIT})")
        model = self.related_model()
        row = model.row_of.get(article_id)
        if row is None:
            raise ArticleNotFound(article_id)
        filters = Filters(date_from=date_bound(since, upper=False, name="since"))
        if same_category:
            article = self.article(article_id)
            filters.categories = article.categories if article else []
        allowed = None
        if filters.categories or filters.date_from:
            allowed = self._allowed_rows(model, combine(self.schema, tantivy.Query.all_query(), filters))
        copies = self._copies()  # never its copies: fetch more, drop those in its group
        return self._related_hits(model, copies.drop_one(row, model.related_rows(row, k + copies.extra, allowed), k))

    def _related_hits(self, model: RelatedModel, rows: list[tuple[int, float]]) -> list[RelatedHit]:
        searcher = self.searcher()
        out = []
        for r, score in rows:
            addr = self._address(searcher, model.ids[r])
            if addr is None:
                continue
            a = Article.from_stored(searcher.doc(addr).to_dict())
            out.append(RelatedHit(id=a.id, score=round(score, 4), title=a.title, url=a.url, date=_iso(a.date),
                                  categories=a.categories))
        return out

    def related_all(self, k: int = 10, progress: Callable[[int], None] | None = None
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Related posts of every article at once: (ids, rows int32 [n,k], scores [n,k]).

        rows[i] are indexes into ids, best first, -1 where fewer than k exist. `progress(done)` is called
        as blocks of articles finish.
        """
        model = self.related_model()
        import numpy as np

        copies = self._copies()
        idx, scores = model.related_all(k + copies.extra, progress=progress)
        idx, scores = copies.drop(np.arange(model.n), idx, scores, k)
        return model.ids, idx.astype(np.int32), scores.astype(np.float32)

    def stats(self) -> dict[str, Any]:
        searcher = self.searcher()
        _, years = date_histogram(searcher, self._dates, tantivy.Query.all_query(), "year")
        undated, uncategorised = missing_counts(searcher, tantivy.Query.all_query())
        return {"index": str(self.path), "articles": searcher.num_docs, "segments": searcher.num_segments,
                "categories": plain(self.categories()), "uncategorised": uncategorised, "years": plain(years),
                "undated": undated}
