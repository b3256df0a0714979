"""Related posts across the shards of a sharded archive, ranked as one index over the same articles would.

Every shard's term counts (indexer/terms.py, read as they are) are weighted with archive-wide statistics:
a global vocabulary maps each shard's term ids to one id space, document frequencies and the average
length are summed over shards, and each shard's RelatedModel is built with them, so every article's top
terms and every BM25 weight are the ones one index would have. An article's query terms are then scored
against each shard's postings (its own shard finds its copies by its self-score as one index does; the
others are given that self-score) and the shards' partial top-k lists are merged.

`related_all` runs one task per shard, each scoring every article's terms against that shard's postings:
in this process (the kernel uses every core) or, with a Ray runner (indexer/distributed.py), as Ray tasks
that load their shard from the shared directory.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import tantivy

from newssearch.indexer.terms import TermMatrix, indexed_fingerprints, load_terms

from .fold import MAX_RELATED_EXTRA, CopyFilter
from .parse import Filters, combine, date_bound
from .related import CorpusStats, RelatedModel, RelatedParams

if TYPE_CHECKING:
    from .archive import RelatedHit


@dataclass
class Queries:
    """Every article's query terms in global term ids: CSR (ptr, terms), plus each one's copy bar."""

    ptr: np.ndarray  # int64 [n+1]
    terms: np.ndarray  # int32 global term ids
    limits: np.ndarray  # float32: a doc scoring at least this is a copy of the article
    home: np.ndarray  # int32: the shard each article is in
    row: np.ndarray  # int64: its row in that shard


def global_stats(matrices: list[TermMatrix]) -> tuple[list[np.ndarray], np.ndarray, int, float]:
    """(local -> global term id per shard, global df per global term, articles, average length)."""
    vocab: dict[str, int] = {}
    l2g = []
    for m in matrices:
        l2g.append(np.array([vocab.setdefault(t, len(vocab)) for t in m.vocab], dtype=np.int64))
    df = np.zeros(max(len(vocab), 1), np.float64)
    total_len, n = 0.0, 0
    for m, ids in zip(matrices, l2g):
        if m.n:
            np.add.at(df, ids[m.indices], 1.0)
        total_len += float(m.data.sum())
        n += m.n
    return l2g, df.astype(np.float32), n, (total_len / n if n else 1.0)


def shard_model(terms: TermMatrix, l2g: np.ndarray, gdf: np.ndarray, n: int, avgdl: float,
                params: RelatedParams = RelatedParams()) -> RelatedModel:
    local_df = gdf[l2g] if len(l2g) else np.zeros(1, np.float32)
    return RelatedModel(terms, params, CorpusStats(local_df.astype(np.float32), n, avgdl))


def to_local(queries: Queries, g2l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The queries in one shard's term ids, terms that shard lacks dropped (they score nothing there)."""
    local = g2l[queries.terms] if len(queries.terms) else np.zeros(0, np.int64)
    keep = local >= 0
    kept = np.zeros(len(keep) + 1, np.int64)
    np.cumsum(keep, out=kept[1:])
    return kept[queries.ptr], local[keep].astype(np.int32)


def score_shard(model: RelatedModel, g2l: np.ndarray, queries: Queries, shard: int, k: int,
                rows: np.ndarray | None = None, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top k rows of this shard (its local rows) and scores for the queries (or those numbered `rows`)."""
    if rows is not None:
        queries = _subset(queries, rows)
    ptr, terms = to_local(queries, g2l)
    owns = np.where(queries.home == shard, queries.row, -1)
    return model.score_queries(ptr, terms, owns, queries.limits, k, allowed)


def _subset(q: Queries, rows: np.ndarray) -> Queries:
    parts = [q.terms[q.ptr[r]:q.ptr[r + 1]] for r in rows]
    ptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=ptr[1:])
    return Queries(ptr=ptr, terms=np.concatenate(parts) if parts else np.zeros(0, np.int32),
                   limits=q.limits[rows], home=q.home[rows], row=q.row[rows])


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-shard top-k lists (global rows, -1 pads) into one: best score first, ties to the lower
    row (as the kernel breaks them)."""
    idx = np.concatenate([p[0] for p in parts], axis=1)
    score = np.concatenate([p[1] for p in parts], axis=1)
    score = np.where(idx >= 0, score, -np.inf)
    order = np.lexsort((np.where(idx >= 0, idx, np.iinfo(np.int32).max), -score), axis=1)[:, :k]
    out_idx = np.take_along_axis(idx, order, axis=1)
    out_score = np.take_along_axis(score, order, axis=1)
    out_idx[~np.isfinite(out_score)] = -1
    out_score[~np.isfinite(out_score)] = 0.0
    return out_idx.astype(np.int32), out_score.astype(np.float32)


def remote_score_shard(shard_dir: str, l2g: np.ndarray, gdf: np.ndarray, n: int, avgdl: float, n_global_terms: int,
                       queries: Queries, shard: int, offset: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One shard's part of related_all, from its directory (a Ray task on any node of the cluster): rows
    returned as global rows (offset + local row)."""
    from newssearch.indexer.distributed import task_cpus
    from newssearch.indexer.schema import open_index

    cpus = task_cpus()
    if cpus:
        import numba

        numba.set_num_threads(min(cpus, numba.config.NUMBA_NUM_THREADS))
    terms = load_terms(shard_dir, indexed_fingerprints(open_index(shard_dir)))
    model = shard_model(terms, l2g, gdf, n, avgdl)
    g2l = np.full(n_global_terms, -1, np.int64)
    g2l[l2g] = np.arange(len(l2g))
    idx, score = score_shard(model, g2l, queries, shard, k)
    return np.where(idx >= 0, idx + offset, -1).astype(np.int32), score


def _allowed(archive: Any, filters: Filters, id_hash: np.ndarray) -> np.ndarray | None:
    """In one shard: the mask of its rows passing the filters (None: it holds none of the categories)."""
    held = {c.category for c in archive.categories()}
    f = Filters(categories=[c for c in filters.categories if c in held], date_from=filters.date_from)
    if filters.categories and not f.categories:
        return None
    searcher = archive.searcher()
    hits = searcher.search(combine(archive.schema, tantivy.Query.all_query(), f), limit=max(1, searcher.num_docs)).hits
    hashes = searcher.fast_field_values("id_hash", [a for _, a in hits])
    return np.isin(id_hash, np.asarray(hashes, dtype=np.int64))


def _groups(archive: Any) -> dict[int, int]:
    """id hash -> near-duplicate group of every article of a shard."""
    searcher = archive.searcher()
    if not searcher.num_docs:
        return {}
    addrs = [a for _, a in searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs).hits]
    return dict(zip(searcher.fast_field_values("id_hash", addrs), searcher.fast_field_values("group", addrs)))


class GroupFilter(CopyFilter):
    """fold.CopyFilter over the archive's rows: the groups are archive-wide (indexer/shard_groups.py), so
    an article's copies in other shards are dropped too, as one index drops them."""

    def __init__(self, groups: np.ndarray):
        self.groups = groups
        sizes = np.unique(groups, return_counts=True)[1] if len(groups) else np.ones(1, np.int64)
        self.extra = int(min(MAX_RELATED_EXTRA, sizes.max() - 1))


def _articles(archive: Any, ids: list[str]) -> dict[str, Any]:
    return {a: art for a in ids if (art := archive.article(a)) is not None}


class ShardedRelated:
    """The related-posts models of every shard, with archive-wide statistics, and the global queries."""

    def __init__(self, archive: Any, names: list[str], models: list[RelatedModel],
                 l2g: list[np.ndarray], gdf: np.ndarray, n: int, avgdl: float, copies: GroupFilter | None = None):
        self.archive, self.names, self.models = archive, names, models
        self.copies = copies or GroupFilter(np.concatenate([m.id_hash for m in models]) if models
                                            else np.zeros(0, np.int64))
        self.l2g, self.gdf, self.n, self.avgdl = l2g, gdf, n, avgdl
        self.n_terms = len(gdf)
        self.g2l = []
        for ids in l2g:
            m = np.full(self.n_terms, -1, np.int64)
            m[ids] = np.arange(len(ids))
            self.g2l.append(m)
        self.offsets = np.zeros(len(models) + 1, np.int64)
        np.cumsum([m.n for m in models], out=self.offsets[1:])
        self.ids = [a for m in models for a in m.ids]
        self.where = {a: (s, r) for s, m in enumerate(models) for r, a in enumerate(m.ids)}
        ptrs, terms, limits, home, row = [np.zeros(1, np.int64)], [], [], [], []
        base = 0
        for s, m in enumerate(models):
            ptrs.append(m.q_ptr[1:] + base)
            base += int(m.q_ptr[-1])
            terms.append(l2g[s][m.q_terms] if len(m.q_terms) else np.zeros(0, np.int64))
            limits.append(m.params.dup_ratio * m.self_score)
            home.append(np.full(m.n, s, np.int32))
            row.append(np.arange(m.n, dtype=np.int64))
        self.queries = Queries(ptr=np.concatenate(ptrs), terms=np.concatenate(terms).astype(np.int32),
                               limits=np.concatenate(limits).astype(np.float32), home=np.concatenate(home),
                               row=np.concatenate(row))

    @classmethod
    def build(cls, archive: Any) -> "ShardedRelated":
        names = archive.names
        loaded = archive.shards.call(names, lambda a: load_terms(a.path, indexed_fingerprints(a.index)))
        names = [n for n in names if not isinstance(loaded[n], BaseException)]
        matrices = [loaded[n] for n in names]
        l2g, gdf, n, avgdl = global_stats(matrices)
        models = [shard_model(m, ids, gdf, n, avgdl) for m, ids in zip(matrices, l2g)]
        tables = archive.shards.call(names, _groups)
        groups = [np.array([t.get(h, h) for h in m.id_hash.tolist()] if isinstance(t := tables[name], dict)
                           else m.id_hash, dtype=np.int64) for name, m in zip(names, models)]
        copies = GroupFilter(np.concatenate(groups) if groups else np.zeros(0, np.int64))
        return cls(archive, names, models, l2g, gdf, n, avgdl, copies)

    def related(self, article_id: str, k: int, same_category: bool = False,
                since: str | date | datetime | None = None) -> list["RelatedHit"]:
        where = self.where.get(article_id)
        if where is None:
            from newssearch.errors import ArticleNotFound

            raise ArticleNotFound(article_id)
        home, row = where
        q = int(self.offsets[home] + row)
        filters = Filters(date_from=date_bound(since, upper=False, name="since"))
        if same_category:
            article = self.archive.article(article_id)
            filters.categories = article.categories if article else []
        parts = []
        for s, (name, model) in enumerate(zip(self.names, self.models)):
            allowed = None
            if filters.categories or filters.date_from:
                got = self.archive.shards.call([name], _allowed, {name: (filters, model.id_hash)})[name]
                if got is None or isinstance(got, BaseException):
                    continue  # none of the categories there, or the shard did not answer
                allowed = got
            idx, score = score_shard(model, self.g2l[s], self.queries, s, k + self.copies.extra, rows=np.array([q]),
                                     allowed=allowed)
            parts.append((np.where(idx >= 0, idx + self.offsets[s], -1), score))
        if not parts:
            return []
        idx, score = merge_topk(parts, k + self.copies.extra)  # never its copies, in any shard
        found = self.copies.drop_one(q, [(int(g), float(sc)) for g, sc in zip(idx[0], score[0]) if g >= 0], k)
        wanted: dict[str, list[str]] = {}
        for g, _ in found:
            wanted.setdefault(self.names[self._shard_of(g)], []).append(self.ids[g])
        articles: dict[str, Any] = {}
        for name, got in self.archive.shards.call(list(wanted), _articles, {n: (ids,) for n, ids in wanted.items()}).items():
            if not isinstance(got, BaseException):
                articles.update(got)
        from .archive import RelatedHit, _iso

        return [RelatedHit(id=a.id, score=round(sc, 4), title=a.title, url=a.url, date=_iso(a.date),
                           categories=a.categories)
                for g, sc in found if (a := articles.get(self.ids[g])) is not None]

    def _shard_of(self, g: int) -> int:
        return int(np.searchsorted(self.offsets, g, side="right") - 1)

    def related_all(self, k: int, progress: Callable[[int], None] | None = None,
                    runner: Any = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every article's related posts: one task per shard scoring every article's terms against that
        shard, then the partial top-k lists merged."""
        want, k = k, k + self.copies.extra  # more candidates, to drop each article's copies from
        if runner is not None and getattr(runner, "via", "local") != "local":
            root = self.archive.path
            info = {s.name: s for s in self.archive.manifest.shards}
            args = [(str(self.archive.manifest.shard_dir(root, info[name])), self.l2g[s], self.gdf, self.n,
                     self.avgdl, self.n_terms, self.queries, s, int(self.offsets[s]), k)
                    for s, name in enumerate(self.names)]
            parts = runner.map(remote_score_shard, args, shared=(1, 2, 6))
        else:
            parts = []
            for s, model in enumerate(self.models):
                idx, score = score_shard(model, self.g2l[s], self.queries, s, k)
                parts.append((np.where(idx >= 0, idx + self.offsets[s], -1), score))
                if progress:
                    progress(int(self.n * (s + 1) / len(self.models)))
        if not parts:
            return [], np.zeros((0, want), np.int32), np.zeros((0, want), np.float32)
        idx, score = merge_topk(parts, k)
        idx, score = self.copies.drop(np.arange(len(self.ids)), idx, score, want)
        return self.ids, idx.astype(np.int32), score.astype(np.float32)
