"""One Archive over the shards of a sharded archive (indexer/shards.py): same methods, fanned out.

Each request goes to the shards that can hold its answer (a date filter skips the shards whose period is
outside it), in parallel (threads here; Ray actors holding the shards with query/ray_shards.py), and the
answers are merged exactly: each shard returns its first offset+limit hits and the merge keeps the best
offset+limit of them (query then fetch, as Elasticsearch does); totals and facet counts are sums.

Ranking uses archive-wide statistics (as Elasticsearch's DFS phase): the document frequency of each query
term is summed over every shard first, and each shard's query weights each term by global idf / shard idf
(query/weighting.py), so a sharded archive ranks like one index over the same articles.

A shard that fails to answer (its actor died, its files are gone) does not fail the request: the answer
says which shards are missing (`shards["missing"]` and a warning), and is otherwise complete.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from newssearch.indexer.article import Article
from newssearch.indexer.schema import id_hash, text_analyzer
from newssearch.indexer.shards import Manifest, ShardInfo, load_manifest, shards_in_range

from .archive import MAX_LIMIT, SNIPPET_CHARS, Archive, Facets, Hit, SearchResult, check_paging
from .facets import MONTHLY_YEARS, CategoryCount, DateBucket
from .parse import QueryError, date_bound, split_category_terms
from .plain import plain
from .sharded_fold import ShardArchive, ids_of, merge_folded
from .textquery import STRICT_ENOUGH
from .suggest import MAX_SUGGESTIONS, Completion, Suggestions, TitleSuggestion, check_suggest_limits, expand_prefix
from .weighting import idf

CLUSTER_ENV = "NEWSSEARCH_CLUSTER"
FACET_CATEGORIES = 1000
DF_CACHE = 100_000  # (field, term) document frequencies kept between searches  # as many category counts as one index returns


@dataclass
class ShardedSearchResult(SearchResult):
    # searched: shards asked for hits; facets_only: asked only for facet counts (the disjunctive date
    # histogram counts outside the date filter); skipped: outside the filters; missing: did not answer.
    shards: dict[str, list[str]] = field(default_factory=dict)


class TableWeights:
    """A shard's term weights (global idf / shard idf) for the leaves of one query: picklable, so it can
    travel to a shard actor."""

    def __init__(self, table: dict[tuple[str, tuple[str, ...]], float]):
        self.table = table

    def __call__(self, field: str, terms: Sequence[str]) -> float:
        return self.table.get((field, tuple(terms)), 1.0)


def doc_freqs(archive: Archive, pairs: list[tuple[str, str]]) -> tuple[int, list[int]]:
    """(articles, document frequency of each (field, term)) in one shard: its part of the DFS phase."""
    searcher = archive.searcher()
    return searcher.num_docs, [searcher.doc_freq(f, t) for f, t in pairs]


class LocalShards:
    """The shards opened in this process, asked from a pool of threads (Tantivy releases the GIL)."""

    def __init__(self, root: Path, manifest: Manifest, threads: int = 8):
        self.archives: dict[str, Archive] = {}
        self.errors: dict[str, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(threads, len(manifest.shards))))
        self.open(root, manifest)

    def open(self, root: Path, manifest: Manifest) -> None:
        for s in manifest.shards:
            if s.name not in self.archives:
                try:
                    self.archives[s.name] = a = ShardArchive.open(manifest.shard_dir(root, s))
                    a.queries.speller.known = self._known  # a word any shard holds is not a typo in any
                except Exception as exc:  # a missing or damaged shard: answered as missing
                    self.errors[s.name] = str(exc)

    def _known(self, searcher: Any, word: str) -> bool:
        from .typos import MAX_WORD

        return len(word) > MAX_WORD or any(a.searcher().doc_freq("words", word) > 0 for a in self.archives.values())

    def reload(self, root: Path, manifest: Manifest) -> None:
        self.open(root, manifest)
        for a in self.archives.values():
            a.reload()

    def call(self, names: list[str], fn: Callable[..., Any], args: dict[str, tuple] | None = None,
             **kwargs: Any) -> dict[str, Any]:
        """fn(shard_archive, *args[name], **kwargs) on each named shard; an exception stands for its answer."""
        futures = {}
        for n in names:
            if n in self.archives:
                futures[n] = self.pool.submit(fn, self.archives[n], *((args or {}).get(n, ())), **kwargs)
        out: dict[str, Any] = {n: RuntimeError(self.errors.get(n, "shard not open")) for n in names
                               if n not in futures}
        for n, fut in futures.items():
            try:
                out[n] = fut.result()
            except QueryError:
                raise
            except Exception as exc:
                out[n] = exc
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=False)


def _record_leaves(archive: Archive, text: str) -> list[tuple[str, tuple[str, ...]]]:
    leaves: list[tuple[str, tuple[str, ...]]] = []
    archive.queries.build(text, archive.searcher(), lambda f, t: leaves.append((f, tuple(t))) or 1.0)
    return leaves


def _method(name: str) -> Callable[..., Any]:
    return lambda archive, *a, **kw: getattr(archive, name)(*a, **kw)


class ShardedArchive:
    """A sharded archive directory, opened: the methods of Archive, over every shard."""

    def __init__(self, path: str | Path, shards: Any = None):
        self.path = Path(path)
        self.manifest = load_manifest(self.path)
        self.shards = shards or LocalShards(self.path, self.manifest)
        self._categories: dict[str, list[str]] | None = None
        self._held: dict[str, set[str]] | None = None
        self._dfs: dict[tuple[str, str], dict[str, int]] = {}  # (field, term) -> shard -> document frequency
        self._docs: dict[str, int] = {}
        self._related = None
        self._lock = threading.Lock()
        self._analyzer = text_analyzer()
        self.last_shards: dict[str, list[str]] = {}  # which shards the last search asked (for tests, logs)

    @classmethod
    def open(cls, path: str | Path, cluster: str | None = None) -> "ShardedArchive":
        """Open with the shards in this process, or held by Ray actors on the cluster at `cluster` ('local',
        'auto', ray://HOST:PORT; default $NEWSSEARCH_CLUSTER, which `serve --cluster` sets)."""
        cluster = cluster or os.environ.get(CLUSTER_ENV)
        if not cluster:
            return cls(path)
        from .ray_shards import RayShards

        return cls(path, RayShards(Path(path), load_manifest(path), cluster))

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.manifest.shards]

    def reload(self) -> None:
        self.manifest = load_manifest(self.path)
        self.shards.reload(self.path, self.manifest)
        self._categories = self._held = None
        self._dfs, self._docs = {}, {}

    def close(self) -> None:
        self.shards.close()

    def __len__(self) -> int:
        return sum(n for n in self._answers(self.shards.call(self.names, lambda a: len(a)))[0].values())

    def _answers(self, results: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        ok = {n: r for n, r in results.items() if not isinstance(r, BaseException)}
        return ok, sorted(n for n in results if n not in ok)

    # --- categories -------------------------------------------------------------------------------
    def categories(self) -> list[CategoryCount]:
        ok, _ = self._answers(self.shards.call(self.names, _method("categories")))
        return merge_categories(ok.values(), limit=None)

    resolve_category = Archive.resolve_category

    # --- global statistics ------------------------------------------------------------------------
    def term_weights(self, text: str) -> dict[str, TableWeights]:
        """Each shard's weights for the leaves of `text`: the DFS phase (document frequencies from every
        shard, summed) then global idf / shard idf per leaf."""
        leaves = self._leaves(text)
        pairs = sorted({(f, t) for f, terms in leaves for t in terms})
        if not pairs:
            return {}
        with self._lock:
            dfs, docs = self._dfs, self._docs
        missing = [p for p in pairs if p not in dfs]
        if missing:  # the DFS phase, for the terms not asked since the archive's articles last changed
            dfs, counts, lost = self._doc_freqs(missing)
            if counts != docs and len(missing) < len(pairs):  # first time, or the shards changed: all again
                dfs, counts, lost = self._doc_freqs(pairs)
            with self._lock:
                if lost:  # nothing kept from an answer missing shards
                    self._dfs, self._docs = {}, {}
                elif counts != self._docs or len(self._dfs) > DF_CACHE:
                    self._dfs, self._docs = dict(dfs), counts
                else:
                    self._dfs.update(dfs)
                dfs = {**self._dfs, **dfs} if not lost else dfs
            docs = counts
        total_docs = sum(docs.values())
        g_idf = {p: idf(sum(dfs[p].values()), total_docs) for p in pairs}
        out = {}
        for name, n in docs.items():
            s_idf = {p: idf(dfs[p].get(name, 0), n) for p in pairs}
            table = {}
            for f, terms in set(leaves):
                shard_sum = sum(s_idf[(f, t)] for t in terms)
                if shard_sum > 0 and n:
                    table[(f, terms)] = sum(g_idf[(f, t)] for t in terms) / shard_sum
            out[name] = TableWeights(table)
        return out

    def _leaves(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """The scored leaves (field, terms) of the query `text` builds: recorded from building it on a shard
        (the query builder asks term_weights about each leaf it makes)."""
        for name in self.names:
            got = self.shards.call([name], _record_leaves, {name: (text,)})[name]
            if not isinstance(got, BaseException):
                return got
        return []

    def _doc_freqs(self, pairs: list[tuple[str, str]]) -> tuple[dict, dict[str, int], list[str]]:
        """(pair -> shard -> document frequency, shard -> articles, shards that did not answer)."""
        ok, lost = self._answers(self.shards.call(self.names, doc_freqs, {n: (pairs,) for n in self.names}))
        return ({p: {n: got[i] for n, (_, got) in ok.items()} for i, p in enumerate(pairs)},
                {n: d for n, (d, _) in ok.items()}, lost)

    # --- search -----------------------------------------------------------------------------------
    def search(self, q: str = "", *, categories: list[str] | tuple[str, ...] = (),
               date_from: str | date | datetime | None = None, date_to: str | date | datetime | None = None,
               site: str | None = None, author: str | None = None, sort: str = "relevance",
               limit: int = 10, page: int = 1, facets: bool = True, interval: str | None = None,
               snippet_chars: int = SNIPPET_CHARS, prefix: bool = False,
               recency: str | float | None = None, fold: bool = True) -> ShardedSearchResult:
        """Archive.search over every shard in the date range; hits, totals and facets merged exactly.

        `fold` folds copies as one index does, across shards (query/sharded_fold.py): the groups are
        archive-wide, and a story whose copies are in several shards is one hit and counted once.

        The any-word fallback is decided for the archive (when no shard holds all the words), not per shard;
        recency reranks within each shard's best matches, as one index does within its own."""
        started = time.perf_counter()
        offset = check_paging(sort, limit, page)
        if interval not in (None, "month", "year"):
            raise QueryError("interval", f"{interval!r} is not 'month' or 'year'")
        lo = date_bound(date_from, upper=False, name="from")
        hi = date_bound(date_to, upper=True, name="to")
        if lo and hi and lo >= hi:
            raise QueryError("from", "the start date is after the end date (to)")
        text, inline = split_category_terms(q or "")
        paths = [p for name in [*categories, *inline] for p in self.resolve_category(name)]
        if prefix:
            text = expand_prefix(text, self._completions(text, 8))
        weights = self.term_weights(text)

        in_range = {s.name for s in shards_in_range(self.manifest, lo, hi)}
        has_cat = self._shards_with(paths)
        hit_shards = [n for n in self.names if n in in_range and n in has_cat]
        common = dict(site=site, author=author, sort=sort, snippet_chars=snippet_chars, recency=recency,
                      relaxed=False, fold=fold, strict=True)
        window = offset + limit
        calls: dict[str, tuple] = {}  # shard -> (role, kwargs)
        for n in hit_shards:
            calls[n] = ("hits", dict(categories=[p for p in paths if p in has_cat[n]], date_from=lo, date_to=hi,
                                     limit=min(window, MAX_LIMIT), facets=facets))
        if facets:  # the disjunctive facets also count where the hits cannot be
            for n in self.names:
                if n in calls:
                    continue
                if n in in_range:  # lacks the categories: its category counts (which ignore them)
                    calls[n] = ("categories", dict(categories=[], date_from=lo, date_to=hi, limit=1, facets=True))
                elif n in has_cat:  # outside the dates: its date histogram (which ignores them)
                    calls[n] = ("dates", dict(categories=[p for p in paths if p in has_cat[n]], date_from=None,
                                              date_to=None, limit=1, facets=True))
        chosen_interval = interval or "month"
        order_by = "newest" if sort == "relevance" and not text.strip() else sort  # as Archive.search orders it
        args = {n: (text,) for n in calls}
        results = self._fanout_search(calls, args, weights, chosen_interval, window, common)
        ok, missing = self._answers(results)
        found = sum(rs[0].total for role, rs, _ in ok.values() if role == "hits")
        if text.strip() and found < STRICT_ENOUGH:
            # Decided for the archive, as one index decides it: fewer than a page's worth hold enough of the
            # words, so any of them match (and when nothing at all matched, the relaxed query, in every shard).
            common["strict"] = False
            common["relaxed"] = not found
            ok, missing = self._answers(self._fanout_search(calls, args, weights, chosen_interval, window, common))

        # merge
        hits: list[tuple[Any, int, int, Hit]] = []
        total, warnings, did_you_mean, undated, uncategorised = 0, [], None, 0, 0
        cats: list[list[CategoryCount]] = []
        dates: list[list[DateBucket]] = []
        order = {n: i for i, n in enumerate(self.names)}
        folded = []  # (shard, [(sort key, hit)], FoldInfo, stories) when folding
        for n in sorted(ok, key=order.get):
            role, rs, infos = ok[n]
            first = rs[0]
            for w in first.warnings:
                if w not in warnings:
                    warnings.append(w)
            if role == "hits":
                total += first.total
                did_you_mean = did_you_mean or first.did_you_mean
                for r in rs:
                    for h in r.hits:
                        hits.append((_sort_key(h, order_by), id_hash(h.id), h))
                if fold:
                    info = infos[0]
                    for more in infos[1:]:
                        info.groups, info.hashes = info.groups + more.groups, info.hashes + more.hashes
                    folded.append((n, [(_sort_key(h, order_by), h) for r in rs for h in r.hits], info,
                                   first.stories or 0))
            if first.facets is not None:
                if role in ("hits", "categories"):
                    cats.append(first.facets.categories)
                    uncategorised += first.facets.uncategorised
                if role in ("hits", "dates"):
                    dates.append(first.facets.dates)
                    undated += first.facets.undated
        hits.sort(key=lambda x: (x[0], x[1]))  # ties by id hash, as in one index (query/ties.py)
        stories = None
        if fold:
            page_hits, stories = merge_folded(folded, offset, limit, self._ids_of)
        else:
            page_hits = [h for *_, h in hits[offset:offset + limit]]
        facet_result = None
        if facets:
            got_interval, buckets = merge_dates(dates, interval)
            facet_result = Facets(categories=merge_categories(cats, FACET_CATEGORIES),
                                  date_interval=got_interval, dates=buckets, undated=undated,
                                  uncategorised=uncategorised)
        if missing:
            warnings.append(f"shards {', '.join(missing)} did not answer: their articles are missing from "
                            "this result")
        info = {"searched": sorted(n for n, c in calls.items() if c[0] == "hits"),
                "facets_only": sorted(n for n, c in calls.items() if c[0] != "hits"),
                "skipped": sorted(n for n in self.names if n not in calls), "missing": missing}
        self.last_shards = info
        return ShardedSearchResult(query=q or "", total=total, page=page, limit=limit, sort=order_by, hits=page_hits,
                                   facets=facet_result, took_ms=round((time.perf_counter() - started) * 1000, 2),
                                   warnings=warnings, did_you_mean=did_you_mean, folded=fold, stories=stories,
                                   shards=info)

    def _ids_of(self, wanted: dict[str, list[int]]) -> dict[int, str]:
        ok, _ = self._answers(self.shards.call(list(wanted), ids_of, {n: (hs,) for n, hs in wanted.items()}))
        return {h: i for got in ok.values() for h, i in got.items()}

    def _fanout_search(self, calls: dict[str, tuple], args: dict[str, tuple], weights: dict[str, TableWeights],
                       interval: str, window: int, common: dict[str, Any]) -> dict[str, Any]:
        """Each shard's search, as (role, [SearchResult per page of 100], [FoldInfo per page when folding]) —
        one page unless paging deep."""
        def one(archive: ShardArchive, text: str, role: str, kwargs: dict, tw: TableWeights | None) -> tuple:
            pages, infos = [], []
            fold = kwargs.pop("fold") and role == "hits"
            for p in range(1, (-(-window // MAX_LIMIT) if role == "hits" else 1) + 1):
                kw = dict(kwargs, page=p, interval=interval if kwargs["facets"] else None, term_weights=tw)
                if fold:
                    res, info = archive.search_folded(text, **kw)
                    infos.append(info)
                else:
                    res = archive.search(text, **kw, fold=False)
                pages.append(res)
                kwargs = {**kwargs, "facets": False}
                if (res.stories if fold else res.total) <= p * MAX_LIMIT:
                    break
            return role, pages, infos

        a = {n: (*args[n], role, {**common, **kw}, weights.get(n)) for n, (role, kw) in calls.items()}
        return self.shards.call(list(calls), one, a)

    def _shards_with(self, paths: list[str]) -> dict[str, set[str]]:
        """Shard -> the category paths (of `paths`) it holds; every shard (with an empty set) when none asked."""
        if not paths:
            return {n: set() for n in self.names}
        if self._held is None:  # each shard's categories, read once per state of the archive
            ok, _ = self._answers(self.shards.call(self.names, _method("categories")))
            self._held = {n: {c.category for c in cs} for n, cs in ok.items()}
        wanted = set(paths)
        return {n: held & wanted for n, held in self._held.items() if held & wanted}

    # --- search-as-you-type ------------------------------------------------------------------------
    def _completions(self, q: str, limit: int) -> list[Completion]:
        from .suggest import complete

        def one(archive: Archive) -> list[Completion]:
            return complete(archive.index, archive.searcher(), q, MAX_SUGGESTIONS)

        ok, _ = self._answers(self.shards.call(self.names, one))
        counts: dict[str, int] = {}
        for cs in ok.values():
            for c in cs:
                counts[c.text] = counts.get(c.text, 0) + c.count
        return [Completion(t, c) for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]

    def suggest(self, q: str, limit: int = 8, titles: int = 5) -> Suggestions:
        """Completions counted over every shard (each shard's best MAX_SUGGESTIONS, summed) and the best
        headlines of the completed query."""
        started = time.perf_counter()
        check_suggest_limits(limit, titles)
        out = Suggestions(query=q)
        if q.strip():
            out.completions = self._completions(q, limit) if limit else []
            if titles:
                res = self.search(expand_prefix(q, out.completions), limit=titles, facets=False)
                out.titles = [TitleSuggestion(id=h.id, title=h.title, url=h.url, date=h.date) for h in res.hits]
        out.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return out

    # --- articles ---------------------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        ok, _ = self._answers(self.shards.call(self.names, _method("article"), {n: (article_id,) for n in self.names}))
        found = [ok[n] for n in self.names if ok.get(n) is not None]
        return found[0] if found else None

    def shard_of(self, article_id: str) -> str | None:
        ok, _ = self._answers(self.shards.call(self.names, _method("article"), {n: (article_id,) for n in self.names}))
        return next((n for n in self.names if ok.get(n) is not None), None)

    # --- related posts ------------------------------------------------------------------------------
    def related_model(self):
        from .sharded_related import ShardedRelated

        with self._lock:
            key = tuple((s.name, s.articles, s.writer.get("at")) for s in self.manifest.shards)
            if self._related is None or self._related[0] != key:
                self._related = (key, ShardedRelated.build(self))
            return self._related[1]

    def related(self, article_id: str, k: int = 10, same_category: bool = False,
                since: str | date | datetime | None = None):
        """Archive.related over every shard, with archive-wide document frequencies."""
        if not 1 <= k <= MAX_LIMIT:
            raise QueryError("k", f"{k!r} is out of range (1 to {MAX_LIMIT})")
        return self.related_model().related(article_id, k, same_category, since)

    def related_all(self, k: int = 10, progress: Callable[[int], None] | None = None, runner: Any = None):
        """Related posts of every article: (ids, rows [n,k], scores [n,k]) as Archive.related_all; each
        shard's postings scored against every article's terms (a Ray task per shard with `runner`)."""
        return self.related_model().related_all(k, progress=progress, runner=runner)

    def stats(self) -> dict[str, Any]:
        ok, missing = self._answers(self.shards.call(self.names, _method("stats")))
        years: dict[str, int] = {}
        for st in ok.values():
            for y in st["years"]:
                years[y["start"]] = years.get(y["start"], 0) + y["count"]
        _, year_buckets = merge_dates([[DateBucket(y, c) for y, c in years.items()]], "year")
        return {"index": str(self.path), "articles": sum(st["articles"] for st in ok.values()),
                "segments": sum(st["segments"] for st in ok.values()),
                "categories": plain(self.categories()),
                "uncategorised": sum(st.get("uncategorised", 0) for st in ok.values()), "years": plain(year_buckets),
                "undated": sum(st.get("undated", 0) for st in ok.values()),
                "shard_by": self.manifest.shard_by, "shard_size": self.manifest.shard_size,
                "shards": [{"name": s.name, "period": s.period, "articles": s.articles, "date_min": s.date_min,
                            "date_max": s.date_max} for s in self.manifest.shards], "missing": missing}


def _sort_key(h: Hit, sort: str) -> Any:
    if sort == "relevance":
        return -(h.score or 0.0)
    # whole seconds, truncated toward zero: the date as Tantivy's fast field orders it
    ts = int(datetime.fromisoformat(h.date.replace("Z", "+00:00")).timestamp()) if h.date else None
    if sort == "newest":
        return (ts is None, -(ts or 0.0))
    return (ts is None, ts or 0.0)


def merge_categories(lists, limit: int | None) -> list[CategoryCount]:
    counts: dict[str, int] = {}
    for cs in lists:
        for c in cs:
            counts[c.category] = counts.get(c.category, 0) + c.count
    merged = [CategoryCount(k, v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return merged[:limit] if limit else merged


def merge_dates(lists, interval: str | None) -> tuple[str, list[DateBucket]]:
    """Sum the shards' histograms (monthly unless a year interval was asked) and lay them out as one
    index does: from the first period with a count to the last, empty periods in between, per month when
    that spans under MONTHLY_YEARS calendar years (unless an interval was asked)."""
    counts: dict[str, int] = {}
    for bs in lists:
        for b in bs:
            counts[b.start] = counts.get(b.start, 0) + b.count
    labels = sorted(k for k, v in counts.items() if v)
    if not labels:
        return interval or "month", []
    first, last = int(labels[0][:4]), int(labels[-1][:4])
    monthly = len(labels[0]) > 4
    chosen = interval or ("month" if last - first < MONTHLY_YEARS and monthly else "year")
    if chosen == "year" and monthly:
        years: dict[str, int] = {}
        for k, v in counts.items():
            years[k[:4]] = years.get(k[:4], 0) + v
        counts, labels = years, sorted(k for k, v in years.items() if v)
    if chosen == "year":
        seq = [str(y) for y in range(int(labels[0]), int(labels[-1]) + 1)]
    else:
        (y0, m0), (y1, m1) = (map(int, labels[0].split("-")), map(int, labels[-1].split("-")))
        seq = [f"{y:04d}-{m:02d}" for y in range(y0, y1 + 1) for m in range(1, 13)
               if (y, m) >= (y0, m0) and (y, m) <= (y1, m1)]
    return chosen, [DateBucket(label, counts.get(label, 0)) for label in seq]


def open_archive(path: str | Path) -> "ShardedArchive":
    return ShardedArchive(path)
