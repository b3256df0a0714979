"""Related posts for a whole archive: ours against three peers, on the same articles, in one run.

    pip install -e '.[bench]'
    python bench/related.py                          # Reuters-21578, real (../shared/data; else corpus/'s subset)
    python bench/related.py --synthetic 200000       # scaled up from Reuters + BBC (synthetic)

(a) Tantivy's more_like_this_query, one query per article (its own term choice, 25 terms, top 10)
(b) bm25s batch retrieval with the same query terms as ours
(c) sparse-dot-topn: exact sparse product (binary query terms x BM25 weights) with top-n
(d) ours: newssearch's related_all (numba, term-at-a-time, branch-free accumulation, heap top-k)

Peers (a)-(c) run on a sample of articles when --sample is given (their per-article time is what is
compared); (d) always runs on every article. overlap@10 compares (d) with an exact dense BM25 ranking of the
same query terms (same exclusions: the article itself and copies scoring >= 90% of its self-score).
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import scipy.sparse as sp


from newssearch import Archive, build_index  # noqa: E402
from corpora import reuters_files, synthetic, workdir  # noqa: E402  (bench/corpora.py)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def weights_matrix(model) -> sp.csr_matrix:
    """The BM25 document x term weights of our model, as scipy CSR (for the peers)."""
    n_terms = len(model.post_ptr) - 1
    csc = sp.csc_matrix((model.post_weights, model.post_docs, model.post_ptr), shape=(model.n, n_terms))
    return csc.tocsr()


def query_matrix(model, rows: np.ndarray) -> sp.csr_matrix:
    n_terms = len(model.post_ptr) - 1
    lens = model.q_ptr[rows + 1] - model.q_ptr[rows]
    indptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lens, out=indptr[1:])
    indices = np.concatenate([model.q_terms[model.q_ptr[r]:model.q_ptr[r + 1]] for r in rows])
    return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(rows), n_terms))


def exact_top10(model, W: sp.csr_matrix, rows: np.ndarray) -> list[list[int]]:
    out = []
    WT = W.T.tocsr()
    for lo in range(0, len(rows), 256):
        block = rows[lo:lo + 256]
        S = (query_matrix(model, block).astype(np.float64) @ WT.astype(np.float64)).toarray()
        for i, r in enumerate(block):
            s = S[i]
            s[s >= model.params.dup_ratio * s[r]] = 0
            cand = np.flatnonzero(s > 0)
            order = np.lexsort((cand, -s[cand]))[:10]
            out.append(cand[order].tolist())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=0, help="scale up to N synthetic articles instead of Reuters")
    ap.add_argument("--sample", type=int, default=0, help="run peers (a)-(c) on this many articles (0 = all)")
    ap.add_argument("--overlap-sample", type=int, default=2000)
    ap.add_argument("--workdir", default=None, help="keep the index here (reused if present)")
    args = ap.parse_args()
    work = workdir(args.workdir, "newssearch-bench-")
    index = work / "index"
    if args.synthetic:
        label = f"SYNTHETIC: {args.synthetic:,} articles generated from word-bigram models of Reuters + BBC"
        src = work / "synthetic.jsonl"
        if not index.exists():
            if not src.exists():
                t = time.perf_counter()
                synthetic(args.synthetic, src)
                print(f"generated {args.synthetic:,} synthetic articles in {time.perf_counter() - t:.0f} s")
            build_index([src], index)
    else:
        files, label = reuters_files()
        if not index.exists():
            build_index(files, index)
    archive = Archive.open(index)
    n = len(archive)
    print(f"data: {label} ({n:,} articles); {os.cpu_count()} cores; k=10, 25 query terms")

    # (d) ours — first, so the process peak memory below is ours plus the index reader
    t = time.perf_counter()
    model = archive.related_model()
    t_model = time.perf_counter() - t
    model.related_all(10, rows=np.arange(min(n, 100)))  # compile (numba caches it on disk)
    t = time.perf_counter()
    ours_idx, _ = model.related_all(10)
    t_ours = time.perf_counter() - t
    peak_ours = rss_mib()
    print(f"(d) ours        {t_ours:8.2f} s  {t_ours / n * 1e3:.4f} ms/article  "
          f"(+ model build {t_model:.2f} s; process peak RSS {peak_ours:,.0f} MiB)")

    rng = np.random.default_rng(0)
    rows = np.arange(n) if not args.sample or args.sample >= n else np.sort(rng.choice(n, args.sample, replace=False))
    m = len(rows)
    results: dict[str, float] = {"ours": t_ours / n}

    # (a) Tantivy MoreLikeThis, one query per article
    import tantivy
    searcher = archive.searcher()
    addr_of = {}
    for _, addr in searcher.search(tantivy.Query.all_query(), limit=n).hits:
        addr_of[searcher.doc(addr)["id"][0]] = addr
    t = time.perf_counter()
    for r in rows:
        q = tantivy.Query.more_like_this_query(addr_of[model.ids[r]], min_doc_frequency=2, max_query_terms=25,
                                              min_term_frequency=1, min_word_length=None)
        searcher.search(q, limit=11)
    results["tantivy"] = (time.perf_counter() - t) / m
    print(f"(a) tantivy MLT {results['tantivy'] * m:8.2f} s  {results['tantivy'] * 1e3:.4f} ms/article  ({m:,} articles)")

    # (b) bm25s batch retrieval, same query terms
    import bm25s
    csr = weights_matrix(model)
    terms = np.asarray(model.vocab, dtype=object)
    corpus_tokens = [terms[csr.indices[csr.indptr[i]:csr.indptr[i + 1]]].tolist() for i in range(n)]
    retriever = bm25s.BM25()
    retriever.index(corpus_tokens, show_progress=False)
    queries = [[model.vocab[t] for t in model.q_terms[model.q_ptr[r]:model.q_ptr[r + 1]]] or ["the"] for r in rows]
    t = time.perf_counter()
    retriever.retrieve(queries, k=11, show_progress=False, n_threads=os.cpu_count())
    results["bm25s"] = (time.perf_counter() - t) / m
    print(f"(b) bm25s       {results['bm25s'] * m:8.2f} s  {results['bm25s'] * 1e3:.4f} ms/article  ({m:,} articles)")

    # (c) sparse-dot-topn, exact sparse product with top-n
    from sparse_dot_topn import sp_matmul_topn
    WT = csr.T.tocsr()
    Q = query_matrix(model, rows)
    t = time.perf_counter()
    sp_matmul_topn(Q, WT, top_n=11, n_threads=os.cpu_count(), sort=True)
    results["sdtn"] = (time.perf_counter() - t) / m
    print(f"(c) sparse-dot-topn {results['sdtn'] * m:4.2f} s  {results['sdtn'] * 1e3:.4f} ms/article  ({m:,} articles)")

    # quality: overlap@10 with the exact ranking of the same query terms
    check = np.sort(rng.choice(n, min(n, args.overlap_sample), replace=False))
    exact = exact_top10(model, csr, check)
    overlap = np.mean([len(set(e) & set(ours_idx[r][ours_idx[r] >= 0].tolist())) / max(1, len(e))
                       for r, e in zip(check, exact)])
    # a single related() call, against (a)'s per-article time
    t = time.perf_counter()
    for r in check[:500]:
        model.related_rows(int(r), 10)
    single = (time.perf_counter() - t) / min(500, len(check))

    print("\nratios (per article; > 1 means ours is faster):")
    print(f"  tantivy MLT / ours      {results['tantivy'] / results['ours']:7.1f}x")
    print(f"  bm25s / ours            {results['bm25s'] / results['ours']:7.1f}x")
    print(f"  sparse-dot-topn / ours  {results['sdtn'] / results['ours']:7.1f}x")
    print(f"  single related() call   {single * 1e3:.3f} ms vs tantivy MLT {results['tantivy'] * 1e3:.3f} ms "
          f"({results['tantivy'] / single:.1f}x)")
    print(f"  overlap@10 with exact BM25 ranking: {overlap:.4f} ({len(check):,} articles)")
    print(f"  peak RSS after ours: {peak_ours:,.0f} MiB")


if __name__ == "__main__":
    main()
