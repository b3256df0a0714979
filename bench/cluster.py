"""Sharded archive and Ray: build throughput on 1 and 2 workers, search latency and related posts in 1 index
vs N shards, in the same run; prints ratios, the machine's load, and the 100M-article plan from the figures.

    python bench/cluster.py                      # Reuters-21578 (../shared/data), 8 shards
    python bench/cluster.py --source corpus/ --shards 8 --queries 200
    python bench/cluster.py --synthetic 200000 --shard-by none   # the synthetic set of bench/serve.py, 8 hash shards

Each build runs in its own process (`newssearch index … --json`), so each Ray gets its own worker count;
the build's own `seconds` (after Ray has started) are compared. On a shared, loaded machine scaling
figures mean little: the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REUTERS = ROOT.parent / "shared" / "data" / "reuters21578"
EXE = str(Path(sys.executable).with_name("newssearch"))


def index(src: str, dest: Path, *args: str) -> dict:
    shutil.rmtree(dest, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run([EXE, "index", src, "--index", str(dest), "--json", *args], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr[-2000:])
    report = json.loads(proc.stdout)
    report["wall"] = time.perf_counter() - started
    return report


def latencies(archive, queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        archive.search(q)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


CHECK_QUERIES = ["oil prices", "bank interest rates", "coffee", '"trade deficit"', "opec -saudi", "wheat OR corn",
                 "japan", "gold", "strike", "merger acquisition", "dollar yen", "title:grain", "",
                 "stock market crash", "crude oil output"]
CHECK_FILTERS = [{}, {"date_from": "1987-03-05", "date_to": "1987-04-10"}, {"categories": ["crude"]},
                 {"sort": "newest"}]


def check(single, sharded, rel_one, rel_sh) -> None:
    """One index vs the shards: totals and facets equal, top-10 overlap, related overlap@10."""
    equal, pairs, overlaps = 0, 0, []
    for q in CHECK_QUERIES:
        for f in CHECK_FILTERS:
            try:
                a, b = single.search(q, **f), sharded.search(q, **f)
            except ValueError:  # a category the archive lacks
                continue
            pairs += 1
            equal += (a.total == b.total and a.facets.categories == b.facets.categories
                      and a.facets.dates == b.facets.dates)
            if a.hits:
                ids = {h.id for h in a.hits}
                overlaps.append(len(ids & {h.id for h in b.hits}) / len(ids))
    ids_a, rows_a, _ = rel_one
    ids_b, rows_b, _ = rel_sh
    pos = {x: i for i, x in enumerate(ids_b)}
    rel, same = [], 0
    for i, x in enumerate(ids_a):
        la = [ids_a[j] for j in rows_a[i] if j >= 0]
        lb = [ids_b[j] for j in rows_b[pos[x]] if j >= 0]
        if la or lb:
            rel.append(len(set(la) & set(lb)) / max(len(la), len(lb)))
            same += la == lb
    print(f"\none index vs {len(sharded.names)} shards: totals and facets equal for {equal} of {pairs} query x "
          f"filter pairs; top-10 overlap {np.mean(overlaps):.3f} ({len(overlaps)} pairs with hits, ties "
          f"included); related overlap@10 {np.mean(rel):.4f} ({same:,} of {len(rel):,} lists identical)")


def _ready() -> bool:
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=str(REUTERS if REUTERS.exists() else ROOT / "corpus"))
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--shard-by", choices=["year", "month", "none"], default="month")
    ap.add_argument("--synthetic", type=int, default=0, help="generate this many synthetic articles instead")
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    from newssearch.query.archive import Archive

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    if args.synthetic:
        sys.path.insert(0, str(Path(__file__).parent))
        from corpora import synthetic  # bench/corpora.py

        args.source = str(work / "synthetic.jsonl")
        synthetic(args.synthetic, Path(args.source))
    print(f"source {args.source}; load average before {os.getloadavg()}; {os.cpu_count()} cores")
    rows = []
    one = index(args.source, work / "one")
    rows.append(("one index (build_index)", one))
    for w in (1, 2):
        rows.append((f"{args.shards} shards, local processes, {w} worker(s)",
                     index(args.source, work / f"local{w}", "--shards", str(args.shards), "--workers", str(w),
                           "--shard-by", args.shard_by)))
    if not args.skip_ray:
        for w in (1, 2):
            rows.append((f"{args.shards} shards, local Ray, {w} worker(s)",
                         index(args.source, work / f"ray{w}", "--shards", str(args.shards), "--workers", str(w),
                               "--shard-by", args.shard_by, "--cluster", "local")))
    n = one["total"]
    print(f"\nbuild ({n:,} articles)                         seconds   articles/s   vs 1 worker")
    base: dict[str, float] = {}
    for name, r in rows:
        kind = name.split(",")[1] if "," in name else name
        rate = r["articles"] / r["seconds"]
        ratio = f"{rate / base[kind]:.2f}x" if kind in base else ""
        base.setdefault(kind, rate)
        print(f"  {name:45s} {r['seconds']:7.1f}   {rate:9.0f}   {ratio}")

    single, sharded = Archive.open(work / "one"), Archive.open(work / "local2")
    vocab = [h.title.split()[i % 3] for i, h in enumerate(single.search("", limit=100, page=1).hits) if h.title.split()]
    random.seed(7)
    queries = [" ".join(random.sample(vocab, random.choice((1, 2)))).lower() for _ in range(args.queries)]
    for a in (single, sharded):
        latencies(a, queries[:20])  # warm
    p_one, p_sh = latencies(single, queries), latencies(sharded, queries)
    print(f"\nsearch with facets, {len(queries)} queries   p50 ms   p99 ms")
    print(f"  one index                               {p_one[0]:6.2f}   {p_one[1]:6.2f}")
    print(f"  {len(sharded.names)} shards (threads)                     {p_sh[0]:6.2f}   {p_sh[1]:6.2f}"
          f"   ({p_sh[0] / p_one[0]:.2f}x, {p_sh[1] / p_one[1]:.2f}x)")

    some = single.search("", limit=1, facets=False).hits[0].id
    single.related(some), sharded.related(some)  # the kernel compiled (after an upgrade) before timing
    t = time.perf_counter(); rel_one = single.related_all(10); t_one = time.perf_counter() - t
    t = time.perf_counter(); rel_sh = sharded.related_all(10); t_sh = time.perf_counter() - t
    check(single, sharded, rel_one, rel_sh)
    print(f"\nrelated --all, every article             seconds")
    print(f"  one index                               {t_one:6.2f}")
    print(f"  {len(sharded.names)} shards, in this process           {t_sh:6.2f}   ({t_sh / t_one:.2f}x)")
    if not args.skip_ray:
        from newssearch.indexer.distributed import RayRunner

        for w in (1, 2):
            runner = RayRunner("local", w)
            try:
                runner.map(_ready, [()] * w)  # the workers up before timing
                t = time.perf_counter(); sharded.related_all(10, runner=runner); t_r = time.perf_counter() - t
            finally:
                runner.close()
            print(f"  {len(sharded.names)} shards, Ray tasks, {w} worker(s)       {t_r:6.2f}")
    sizes = [s.articles for s in sharded.manifest.shards]
    print(f"\nshard sizes {sizes}; load average after {os.getloadavg()}")
    rate1 = rows[1][1]["articles"] / rows[1][1]["seconds"]
    print(f"\nplan arithmetic from this run: one worker builds {rate1:.0f} articles/s "
          f"-> 100M articles = {1e8 / rate1 / 3600:.0f} worker-hours; related --all {t_sh / n * 1e3:.3f} ms/article "
          f"at this size")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
