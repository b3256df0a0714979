"""Related posts: BM25 "more like this" for one article and, vectorised, for the whole archive.

Each article is represented, as Lucene's MoreLikeThis does, by its top terms by tf·idf (at most
`max_query_terms`, leaving out terms too rare to link two articles or too common to discriminate). Those
terms are then scored against every article with BM25 (k1=1.2, b=0.75, the idf Tantivy uses) over the
term counts the indexer stored beside the index (indexer/terms.py), title terms weighted as the title
boost. That is the ranking a BM25 query of those terms would give; here it is computed term-at-a-time over
an inverted index held in numpy arrays, by a numba kernel that runs the articles in parallel with one
score accumulator per thread (a cache-sized slice of the archive at a time) and keeps a running top-k —
no Python loop per article, no dense matrix.

The article itself and its (near-)duplicates — articles scoring at least `dup_ratio` of the article's
score against itself, e.g. syndicated copies of the same story — are never returned as related.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numba
import numpy as np
from numba.core import event

from newssearch.indexer.terms import TermMatrix

from .prefetch import prefetch

K1, B = 1.2, 0.75
BLOCK = 16_384  # rows per kernel call in related_all: progress without slowing the batch
PART = 65_536  # docs per accumulator pass: 256 KiB of float32 stays in a core's L2 cache; offsets fit 16 bits
# The accumulator is scanned in blocks: a vectorised test skips blocks with no doc at the heap's bar. Loops
# index slices from 0 because numba treats an index that may be negative as "from the end", and the select
# that costs in every lane made LLVM fall back to gathers: the scan then took as long as the postings.
SCAN_BLOCK = 128
PREFETCH = 256  # postings ahead: slices are too short for the hardware prefetcher to find them in time


@dataclass(frozen=True)
class RelatedParams:
    max_query_terms: int = 25
    min_doc_freq: int = 2  # a term in one article links it to nothing
    max_doc_freq_ratio: float = 0.1  # terms in more than 10% of articles do not discriminate (MLT's max_doc_freq)
    dup_ratio: float = 0.9  # scoring >= 90% of the article's self-score: a copy, not a related post


@numba.njit(cache=True, nogil=True)
def _csr_transpose(indptr, indices, data, n_terms):
    """Counting-sort transpose: postings (docs, weights) per term, docs ascending."""
    counts = np.zeros(n_terms + 1, np.int64)
    for j in range(len(indices)):
        counts[indices[j] + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    docs = np.empty(len(indices), np.int32)
    weights = np.empty(len(indices), np.float32)
    for r in range(len(indptr) - 1):
        for j in range(indptr[r], indptr[r + 1]):
            t = indices[j]
            docs[fill[t]] = r
            weights[fill[t]] = data[j]
            fill[t] += 1
    return ptr, docs, weights


@numba.njit(cache=True, parallel=True)
def _select_query_terms(indptr, indices, tfidf, max_terms):
    """Per article, the term ids of its top `max_terms` by tf·idf (tf·idf 0 = not eligible)."""
    n = len(indptr) - 1
    sizes = np.zeros(n + 1, np.int64)
    for r in numba.prange(n):
        c = 0
        for j in range(indptr[r], indptr[r + 1]):
            if tfidf[j] > 0:
                c += 1
        sizes[r + 1] = min(c, max_terms)
    qptr = np.cumsum(sizes)
    qterms = np.empty(qptr[-1], np.int32)
    for r in numba.prange(n):
        a, b = indptr[r], indptr[r + 1]
        m = qptr[r + 1] - qptr[r]
        if m == 0:
            continue
        order = np.argsort(-tfidf[a:b], kind="mergesort")
        for x in range(m):
            qterms[qptr[r] + x] = indices[a + order[x]]
    return qptr, qterms


@numba.njit(cache=True, inline="always")
def _worse(s1, d1, s2, d2):
    """Is (score s1, row d1) ranked below (s2, d2)? Ties go to the lower row, for determinism."""
    return s1 < s2 or (s1 == s2 and d1 > d2)


@numba.njit(cache=True)
def _sift_down(hs, hd, size, i):
    """Restore the min-heap (worst result at the root) below position i."""
    while True:
        c = 2 * i + 1
        if c >= size:
            return
        if c + 1 < size and _worse(hs[c + 1], hd[c + 1], hs[c], hd[c]):
            c += 1
        if not _worse(hs[c], hd[c], hs[i], hd[i]):
            return
        hs[c], hs[i] = hs[i], hs[c]
        hd[c], hd[i] = hd[i], hd[c]
        i = c


@numba.njit(cache=True, parallel=True)
def _partition_ptr(pptr, pdocs, part_size, n_parts):
    """For each term, where its postings (docs ascending) enter each partition of `part_size` docs."""
    n_terms = len(pptr) - 1
    out = np.empty((n_terms, n_parts + 1), np.int64)
    for t in numba.prange(n_terms):
        p = pptr[t]
        for q in range(n_parts):
            out[t, q] = p
            while p < pptr[t + 1] and pdocs[p] < (q + 1) * part_size:
                p += 1
        out[t, n_parts] = pptr[t + 1]
    return out


@numba.njit(cache=True, parallel=True)
def _batch_topk(rows, owns, limits, qptr, qterms, part_ptr, plocal, pweights, allowed, n, part_size, k, dup_ratio,
                n_chunks, out_idx, out_score):
    """For each query in `rows`: accumulate BM25 over its query terms' postings, keep the top k.

    Query `rows[i]` is the article at row `owns[i]` of these postings, or, where `owns[i]` is -1, an article
    of another shard (query/sharded_related.py), whose copies are those scoring at least `limits[i]`.

    Docs are taken a partition of `part_size` at a time, so the accumulator stays in the core's L2 cache
    on any size of archive, and postings hold a doc's 16-bit offset in its partition (less memory to
    stream than 32-bit ids). The inner loop is a bare scatter-add; candidates are then read by scanning
    the partition's accumulator, which is cheaper than tracking the docs each posting touches (twice as
    fast in bench/related.py, same lists); a vectorised test per block of SCAN_BLOCK docs skips the blocks
    with no doc at the heap's bar. The article's own partition goes first, so its self-score
    (the bar for copies) is known before any candidate is kept. The top k are kept in a min-heap: once it
    is full, a doc scoring below its root costs one comparison.
    """
    nq = len(rows)
    n_parts = part_ptr.shape[1] - 1
    for c in numba.prange(n_chunks):
        acc = np.zeros(part_size, np.float32)  # one accumulator per chunk, zeroed after each partition
        hs = np.empty(k, np.float32)
        hd = np.empty(k, np.int32)
        for qi in range(c * nq // n_chunks, (c + 1) * nq // n_chunks):
            r = rows[qi]
            own_row = owns[qi]
            own = own_row // part_size if own_row >= 0 else 0
            limit = np.float32(limits[qi])
            size = 0
            bar = np.float32(0.0)  # the heap's root once it is full: what a candidate must reach
            for step in range(n_parts):
                part = (own + step) % n_parts
                base = part * part_size
                width = min(part_size, n - base)
                for j in range(qptr[r], qptr[r + 1]):
                    t = qterms[j]
                    lo, hi = part_ptr[t, part], part_ptr[t, part + 1]
                    docs, ws = plocal[lo:hi], pweights[lo:hi]  # slices, so indices start at 0: see SCAN_BLOCK
                    for p in range(len(docs)):
                        if p % 16 == 0:  # a cache line of weights: ask for the one PREFETCH ahead
                            prefetch(ws, p + PREFETCH)
                            prefetch(docs, p + PREFETCH)
                        acc[docs[p]] += ws[p]
                if step == 0 and own_row >= 0:
                    limit = dup_ratio * acc[own_row - base]  # the article's score against itself
                for g in range(0, width, SCAN_BLOCK):
                    end = min(g + SCAN_BLOCK, width)
                    block = acc[g:end]
                    floor = bar if bar > 0 else np.float32(1e-30)  # zero: not touched
                    hit = False
                    for x in range(len(block)):  # vectorised: any candidate in the block?
                        hit |= block[x] >= floor
                    if not hit:
                        continue
                    for x in range(g, end):
                        s = acc[x]
                        if s < bar or s == 0.0:
                            continue
                        d = base + x
                        if s >= limit or allowed[d] == 0:  # itself, its copies, filtered out
                            continue
                        if size < k:
                            hs[size] = s
                            hd[size] = d
                            size += 1
                            if size == k:
                                for i in range(k // 2 - 1, -1, -1):
                                    _sift_down(hs, hd, k, i)
                                bar = hs[0]
                        elif _worse(hs[0], hd[0], s, d):
                            hs[0] = s
                            hd[0] = d
                            _sift_down(hs, hd, k, 0)
                            bar = hs[0]
                acc[:width] = 0.0
            if size < k:  # fewer than k: heapify what there is
                for i in range(size // 2 - 1, -1, -1):
                    _sift_down(hs, hd, size, i)
            for x in range(size, k):  # fewer than k related: -1 pads
                out_idx[qi, x] = -1
                out_score[qi, x] = 0.0
            for x in range(size - 1, -1, -1):  # pop worst first: fills best-first from the end
                out_idx[qi, x] = hd[0]
                out_score[qi, x] = hs[0]
                hs[0] = hs[x]
                hd[0] = hd[x]
                _sift_down(hs, hd, x, 0)


@dataclass(frozen=True)
class CorpusStats:
    """The statistics BM25 weights come from: document frequency per term id, articles, average length."""

    df: np.ndarray  # float32 [n_terms]
    n: int
    avgdl: float


def _self_scores(rows, indices, weights, q_ptr, q_terms, n_terms) -> np.ndarray:
    """Each article's BM25 against its own query terms (its copies score close to it): the weights of its
    query terms, found in its CSR row (term ids ascending within a row)."""
    n = len(q_ptr) - 1
    rows_q = np.repeat(np.arange(n, dtype=np.int64), np.diff(q_ptr))
    keys = rows.astype(np.int64) * n_terms + indices
    pos = np.searchsorted(keys, rows_q * n_terms + q_terms)
    return np.bincount(rows_q, weights=weights[pos], minlength=n).astype(np.float32)


class RelatedModel:
    """BM25 weights, the inverted index and every article's query terms, built once per index state."""

    def __init__(self, terms: TermMatrix, params: RelatedParams = RelatedParams(), stats: CorpusStats | None = None):
        self.params = params
        self.ids = terms.ids
        self.id_hash = terms.id_hash
        self.row_of = {a: i for i, a in enumerate(terms.ids)}
        self.vocab = terms.vocab
        n, n_terms = terms.n, max(len(terms.vocab), 1)
        self.n = n
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(terms.indptr))
        tf = terms.data.astype(np.float32)
        dl = np.bincount(rows, weights=tf, minlength=n)
        given = stats is not None
        if stats is None:  # this index's own statistics; a shard of a sharded archive is given the archive's
            stats = CorpusStats(np.bincount(terms.indices, minlength=n_terms).astype(np.float32), n,
                                float(dl.mean()) if n else 1.0)
        df, n_all, avgdl = stats.df, stats.n, stats.avgdl
        self.idf = np.log1p((n_all - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = (K1 * (1 - B + B * dl / max(avgdl, 1e-9))).astype(np.float32)
        weights = self.idf[terms.indices] * tf * (K1 + 1) / (tf + norm[rows])
        self.post_ptr, self.post_docs, self.post_weights = _csr_transpose(
            terms.indptr, terms.indices, weights.astype(np.float32), n_terms)
        max_df = max(params.min_doc_freq + 1, params.max_doc_freq_ratio * n_all)
        term_df = df[terms.indices]
        eligible = (term_df >= params.min_doc_freq) & (term_df <= max_df)
        tfidf = np.where(eligible, tf * self.idf[terms.indices], 0).astype(np.float32)
        self.q_ptr, self.q_terms = _select_query_terms(terms.indptr, terms.indices, tfidf, params.max_query_terms)
        self._everyone = np.ones(n, np.uint8)
        # A shard's articles are queried against the other shards too, which need their self-scores.
        self.self_score = _self_scores(rows, terms.indices, weights, self.q_ptr, self.q_terms, n_terms) if given else None
        self.part_size = min(PART, max(n, 1), 1 << 16)  # offsets are 16-bit
        n_parts = -(-max(n, 1) // self.part_size)
        self.part_ptr = _partition_ptr(self.post_ptr, self.post_docs, self.part_size, n_parts)
        self.post_local = (self.post_docs % self.part_size).astype(np.uint16)  # offset in its partition

    def query_terms(self, row: int) -> list[str]:
        return [self.vocab[t] for t in self.q_terms[self.q_ptr[row]:self.q_ptr[row + 1]]]

    def related_rows(self, row: int, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top k (row, score) for one article; `allowed` is an optional boolean mask of candidate rows.

        The batch kernel run on one row, so a single call and the batch always agree.
        """
        mask = self._everyone if allowed is None else allowed.astype(np.uint8)
        idx, score = np.empty((1, k), np.int32), np.empty((1, k), np.float32)
        self._topk(np.array([row], dtype=np.int64), mask, idx, score)
        return [(int(r), float(v)) for r, v in zip(idx[0], score[0]) if r >= 0]

    def related_all(self, k: int, rows: np.ndarray | None = None,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top k related rows and scores for every article (or `rows`): int32 [n,k] (-1 pads), float32 [n,k].

        Computed in blocks of BLOCK rows; `progress(done)` is called after each.
        """
        rows = np.arange(self.n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        out_idx = np.empty((len(rows), k), np.int32)
        out_score = np.empty((len(rows), k), np.float32)
        for lo in range(0, len(rows), BLOCK):
            hi = min(len(rows), lo + BLOCK)
            self._topk(rows[lo:hi], self._everyone, out_idx[lo:hi], out_score[lo:hi])
            if progress:
                progress(hi)
        return out_idx, out_score

    def _topk(self, rows: np.ndarray, allowed: np.ndarray, out_idx: np.ndarray, out_score: np.ndarray) -> None:
        """Fill out_idx/out_score [len(rows), k] (contiguous row blocks) with each row's top k."""
        k = out_idx.shape[1]
        if len(rows) and k > 0:
            chunks = min(len(rows), numba.get_num_threads() * 8)  # small chunks: articles differ in cost
            _batch_topk(rows, rows, np.zeros(len(rows), np.float32), self.q_ptr, self.q_terms, self.part_ptr,
                        self.post_local, self.post_weights, allowed, self.n, self.part_size, k,
                        float(self.params.dup_ratio), chunks, out_idx, out_score)

    def score_queries(self, q_ptr: np.ndarray, q_terms: np.ndarray, owns: np.ndarray, limits: np.ndarray, k: int,
                      allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top k rows of these postings for other articles' query terms (term ids of this model): query i's
        terms are q_terms[q_ptr[i]:q_ptr[i+1]]; owns[i] is its own row here or -1; limits[i] the score from
        which a doc is a copy of it (when it is not here). The step of related posts across shards."""
        nq = len(q_ptr) - 1
        out_idx = np.empty((nq, k), np.int32)
        out_score = np.empty((nq, k), np.float32)
        if nq and k > 0:
            mask = self._everyone if allowed is None else allowed.astype(np.uint8)
            _batch_topk(np.arange(nq, dtype=np.int64), owns.astype(np.int64), limits.astype(np.float32),
                        q_ptr.astype(np.int64), q_terms.astype(np.int32), self.part_ptr, self.post_local,
                        self.post_weights, mask, self.n, self.part_size, k, float(self.params.dup_ratio),
                        min(nq, numba.get_num_threads() * 8), out_idx, out_score)
        return out_idx, out_score


@contextmanager
def compile_notice(notify: Callable[[], None]) -> Iterator[None]:
    """Call `notify()` once if numba compiles a kernel inside the block: the first related-posts call after
    installing (or upgrading) compiles for several seconds; later runs load numba's on-disk cache, which
    fires no compile event."""
    said = False

    class _Once(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            nonlocal said
            if not said:
                said = True
                notify()

        def on_end(self, ev: event.Event) -> None:
            pass

    with event.install_listener("numba:compile", _Once()):
        yield
