"""Sharded archive and Ray: build throughput on 1 and 2 workers, search latency and related posts in 1 index
vs N shards, in the same run; prints ratios, the machine's load, and the 100M-article plan from the figures.

    python bench/cluster.py                                   # Reuters-21578 SGML (../shared/data), 8 shards by month
    python bench/cluster.py --inputs jsonl,html --repeat 3    # build scaling only: Reuters as JSON Lines, wcxb pages
    python bench/cluster.py --synthetic 200000 --search-only  # search p50/p99, 1 index vs 8 hash shards
    python bench/cluster.py --quick                           # 2-3 min: build, related --all on 1 vs 2 Ray workers
    python bench/cluster.py --nodes                           # the same on a Ray cluster of 1, then 2 `ray start` nodes

Each build runs in its own process (`newssearch index … --json`), so each Ray gets its own worker count;
builds of one input alternate 1 and 2 workers (`--repeat` rounds) so that a change in the machine's load
hits both alike. For each build: its seconds, its steps (the build report's `steps`: parse, plan, group,
write, ...), and the load average before and after. Ray runs its workers at niceness 15 by default (they
yield to everything else on a shared machine); the Ray builds here set RAY_worker_niceness=0, as the local
processes run. From the 1-worker steps it also prints what the serial steps allow (Amdahl): 2 workers can
at best bring the parallel steps (parse, write) down by half, the others stay. On a shared, loaded machine
the measured ratios mean little: the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from newssearch.indexer.distributed import RayRunner

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
REUTERS = DATA / "reuters21578"
EXE = str(Path(sys.executable).with_name("newssearch"))
RAY_ENV = {"RAY_worker_niceness": "0"}
PARALLEL_STEPS = ("parse", "write")  # one task per part / per shard; the other steps run once


def load() -> float:
    return round(os.getloadavg()[0], 1)


def index(src: str, dest: Path, *args: str, env: dict | None = None, cores: int | None = None) -> dict:
    """`newssearch index` in its own process: its report, wall time, the load before/after, and the CPU
    seconds of its process tree (Ray's workers included: sampled every 0.1 s, each process's last figure).
    `cores`: the process and all it starts (Ray's own processes too) run on the first `cores` CPUs only."""
    import psutil

    shutil.rmtree(dest, ignore_errors=True)
    before = load()
    started = time.perf_counter()
    pin = (lambda: os.sched_setaffinity(0, set(range(cores)))) if cores else None
    proc = subprocess.Popen([EXE, "index", src, "--index", str(dest), "--json", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, preexec_fn=pin)
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
            while not done.is_set():
                for p in [root, *root.children(recursive=True)]:
                    try:
                        t = p.cpu_times()
                        cpu[p.pid] = t.user + t.system
                    except psutil.Error:
                        pass
                done.wait(0.1)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(err[-2000:])
    report = json.loads(out)
    report["wall"] = time.perf_counter() - started
    report["load"] = (before, load())
    report["cpu"] = sum(cpu.values())
    return report


def sources(work: Path, inputs: list[str], pages: int) -> dict[str, tuple[str, list[str]]]:
    """input name -> (path, shard arguments)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from corpora import reuters_jsonl  # bench/corpora.py

    out = {}
    for name in inputs:
        if name == "sgml":
            out[name] = (str(REUTERS), ["--shards", "8", "--shard-by", "month"])
        elif name == "jsonl":
            path = work / "reuters.jsonl"
            reuters_jsonl(path)
            out[name] = (str(path), ["--shards", "8", "--shard-by", "month"])
        elif name == "html":
            folder = work / "pages"
            folder.mkdir()
            for f in sorted((DATA / "wcxb-dev" / "html").glob("*.html.gz"))[:pages]:
                shutil.copy(f, folder / f.name)
            out[name] = (str(folder), ["--shards", "8", "--shard-by", "none"])  # pages of many years: hash shards
    return out


def build_scaling(work: Path, srcs: dict[str, tuple[str, list[str]]], repeat: int, ray: bool,
                  local: bool = True, pin: bool = False) -> dict:
    """Each input built on 1 and 2 workers (local processes, and local Ray), alternating, `repeat` rounds.
    The last build is left in work/b. `pin`: each build on as many cores as it has workers (1 worker on one
    core, 2 on two), the way a cluster gives a worker its CPU; unpinned, a 1-worker build also gets the
    second core for the engine's writer threads, which its 2-worker run cannot have again."""
    runners = ([("local processes", [])] if local else []) + ([("local Ray", ["--cluster", "local"])] if ray else [])
    results: dict[tuple[str, str, int], list[dict]] = {}
    for name, (src, shard_args) in srcs.items():
        for _ in range(repeat):
            for via, extra in runners:
                for w in (1, 2):
                    r = index(src, work / "b", *shard_args, "--workers", str(w), *extra,
                              env=RAY_ENV if extra else None, cores=w if pin else None)
                    results.setdefault((name, via, w), []).append(r)
    print(f"\nbuild scaling, {repeat} round(s) alternating 1 and 2 workers"
          + (" (each build pinned to as many cores as workers)" if pin else "") + "; median (min-max) seconds; "
          "load = 1-min load average before/after each build on this 2-core machine")
    for name in srcs:
        for via, _ in runners:
            one, two = results[(name, via, 1)], results[(name, via, 2)]
            n = one[0]["articles"]
            t1 = [r["seconds"] for r in one]
            t2 = [r["seconds"] for r in two]
            ratios = [a / b for a, b in zip(t1, t2)]
            steps = {k: statistics.median(r["steps"].get(k, 0.0) for r in one) for k in one[0]["steps"]}
            par = sum(v for k, v in steps.items() if k in PARALLEL_STEPS)
            serial = statistics.median(t1) - par  # everything else: start-up, plan, group, finish, Ray's own
            best = statistics.median(t1) / (serial + par / 2)
            print(f"  {name:5s} {via:15s} {n:,} articles: 1 worker {_spread(t1)} s, 2 workers {_spread(t2)} s -> "
                  f"{statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)}); loads "
                  f"{[r['load'] for r in one]} / {[r['load'] for r in two]}")
            busy1 = statistics.median(r["cpu"] / r["wall"] for r in one)
            busy2 = statistics.median(r["cpu"] / r["wall"] for r in two)
            print(f"        cores the build got (CPU s of its processes / wall s): 1 worker {busy1:.2f}, "
                  f"2 workers {busy2:.2f}; CPU s {statistics.median(r['cpu'] for r in one):.0f} / "
                  f"{statistics.median(r['cpu'] for r in two):.0f}")
            print(f"        1-worker steps (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
                  + f"; serial part {serial:.1f} s of {statistics.median(t1):.1f} -> at best {best:.2f}x on 2")
            steps2 = {k: statistics.median(r["steps"].get(k, 0.0) for r in two) for k in two[0]["steps"]}
            print(f"        2-worker steps (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps2.items()))
    return results


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"


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
    """One index vs the shards, folding copies (the default) and not: totals, stories and facets equal,
    top-10 overlap, related overlap@10."""
    for fold in (True, False):
        equal, pairs, overlaps, tied = 0, 0, [], []
        for q in CHECK_QUERIES:
            for f in CHECK_FILTERS:
                try:
                    a, b = single.search(q, fold=fold, **f), sharded.search(q, fold=fold, **f)
                except ValueError:  # a category the archive lacks
                    continue
                pairs += 1
                equal += (a.total == b.total and a.stories == b.stories and a.facets.categories == b.facets.categories
                          and a.facets.dates == b.facets.dates)
                if a.hits:
                    ids = {h.id for h in a.hits}
                    overlaps.append(len(ids & {h.id for h in b.hits}) / len(ids))
                    tied.append(overlap_with_ties(a.hits, b.hits))
        print(f"\none index vs {len(sharded.names)} shards, copies {'folded' if fold else 'listed'}: totals, stories "
              f"and facets equal for {equal} of {pairs} query x filter pairs; top-10 overlap {np.mean(overlaps):.3f} "
              f"({len(overlaps)} pairs with hits, the same ids), {np.mean(tied):.3f} counting a hit tied at the cut "
              f"(in score or date) with a missing one as a match")
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
    print(f"related overlap@10 {np.mean(rel):.4f} ({same:,} of {len(rel):,} lists identical)")


def overlap_with_ties(a: list, b: list) -> float:
    """Top-k overlap where a hit of `a` tied with a's last hit (same score, or same date when sorted by
    date) may be stood for by any hit of `b` tied with it: either is a right answer."""
    def key(h):
        return round(h.score, 3) if h.score is not None else h.date

    cut = key(a[-1])
    common = {h.id for h in a} & {h.id for h in b}
    missing = sum(1 for h in a if h.id not in common and key(h) == cut)
    stand_ins = sum(1 for h in b if h.id not in common and key(h) == cut)
    return (len(common) + min(missing, stand_ins)) / len(a)


def _ready() -> bool:
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", default="sgml", help="build inputs, of sgml (Reuters SGML), jsonl (Reuters as "
                    "one JSON Lines export), html (wcxb-dev pages); '' for none")
    ap.add_argument("--pages", type=int, default=600, help="wcxb-dev pages for the html input")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--synthetic", type=int, default=0, help="search only, on this many synthetic articles; with "
                    "--quick or --nodes, build and relate them instead of Reuters")
    ap.add_argument("--search-only", action="store_true", help="no build scaling, no related posts")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--quick", action="store_true", help="only the scaling on Ray, in a few minutes: Reuters as JSON "
                    "Lines built on a local Ray of 1 and 2 workers, then related --all as Ray tasks over the 8 "
                    "shards it wrote, 1 and 2 workers (--repeat rounds, at least 2)")
    ap.add_argument("--nodes", action="store_true", help="as --quick, on a Ray cluster joined by address: one "
                    "node started with `ray start --head` (1 CPU), then a second node joined with `ray start "
                    "--address` on this host (1 CPU)")
    ap.add_argument("--pin", action="store_true", help="build scaling with each build confined to as many cores as "
                    "it has workers (os.sched_setaffinity, inherited by every process it starts)")
    args = ap.parse_args()
    if args.quick:
        return quick(args.repeat, args.synthetic, args.pin)
    if args.nodes:
        return two_nodes(args.repeat, args.synthetic)
    from newssearch.query.archive import Archive

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    print(f"load average before {os.getloadavg()}; {os.cpu_count()} cores")
    try:
        if not args.search_only and args.inputs:
            build_scaling(work, sources(work, args.inputs.split(","), args.pages), args.repeat, not args.skip_ray,
                          pin=args.pin)
        if args.synthetic:
            sys.path.insert(0, str(Path(__file__).parent))
            from corpora import synthetic  # bench/corpora.py

            src, shard_args = str(work / "synthetic.jsonl"), ["--shard-by", "none"]
            synthetic(args.synthetic, Path(src))
            print(f"\n{args.synthetic:,} synthetic articles (bench/corpora.py), {args.shards} hash shards")
        else:
            src, shard_args = str(REUTERS), ["--shard-by", "month"]
            print(f"\nReuters-21578 SGML, {args.shards} shards by month")
        one = index(src, work / "one")
        sh = index(src, work / "sharded", "--shards", str(args.shards), *shard_args)
        print(f"built: one index {one['seconds']:.1f} s, {args.shards} shards {sh['seconds']:.1f} s (2 workers; "
              f"load {one['load']}, {sh['load']})")
        search_and_related(work, args, one["total"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scaling_input(work: Path, synthetic: int) -> dict[str, tuple[str, list[str]]]:
    """Reuters as JSON Lines (8 shards by month), or that many synthetic articles (8 hash shards)."""
    if not synthetic:
        return sources(work, ["jsonl"], 0)
    sys.path.insert(0, str(Path(__file__).parent))
    from corpora import synthetic as make  # bench/corpora.py

    make(synthetic, work / "synthetic.jsonl")
    return {"synthetic": (str(work / "synthetic.jsonl"), ["--shards", "8", "--shard-by", "none"])}


def quick(rounds: int, synthetic: int = 0, pin: bool = False) -> None:
    """Build and related --all on 1 vs 2 Ray workers, nothing else."""
    from newssearch.query.archive import Archive

    rounds = max(rounds, 2)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    print(f"load average before {os.getloadavg()}; {os.cpu_count()} cores")
    try:
        started = time.perf_counter()
        srcs = scaling_input(work, synthetic)
        builds = build_scaling(work, srcs, rounds, ray=True, local=False, pin=pin)
        sharded = Archive.open(work / "b")  # the last build: 2 workers
        print(f"\nrelated --all, every article, {len(sharded):,} articles in {len(sharded.names)} shards (seconds)")
        related = ray_related(sharded, rounds)
        name = next(iter(srcs))
        build = [a["seconds"] / b["seconds"] for a, b in zip(builds[(name, "local Ray", 1)],
                                                             builds[(name, "local Ray", 2)])]
        print(f"\n2 workers over 1 on local Ray (median of {rounds}): build {statistics.median(build):.2f}x, "
              f"related --all (warm) {statistics.median(related):.2f}x; load average after {os.getloadavg()}; "
              f"{time.perf_counter() - started:.0f} s in all")
    finally:
        shutil.rmtree(work, ignore_errors=True)


RAY = str(Path(sys.executable).with_name("ray"))
NODE_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_worker_niceness": "0"}  # nodes on 127.0.0.1 only


def two_nodes(rounds: int, synthetic: int = 0) -> None:
    """Build and related --all on a cluster of one node, then of two (each `ray start` on this host with
    1 CPU, bound to 127.0.0.1), every build and run joining it by address as a remote cluster would be."""
    from newssearch.query.archive import Archive

    rounds = max(rounds, 2)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    temp, port = work / "ray", 6390 + os.getpid() % 500
    address = f"127.0.0.1:{port}"
    os.environ.update(NODE_ENV)
    print(f"load average before {os.getloadavg()}; {os.cpu_count()} cores; cluster at {address}")
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", f"--temp-dir={temp}", "--disable-usage-stats"]
    try:
        src, shard_args = next(iter(scaling_input(work, synthetic).values()))
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
                       check=True, capture_output=True)
        builds: dict[int, list[float]] = {1: [], 2: []}
        related: dict[int, list[float]] = {1: [], 2: []}
        for nodes in (1, 2):
            if nodes == 2:
                subprocess.run([RAY, "start", f"--address={address}", *common], check=True, capture_output=True)
            for _ in range(rounds):
                r = index(src, work / "b", *shard_args, "--cluster", address)
                builds[nodes].append(r["seconds"])
                print(f"  {nodes} node(s): build {r['seconds']:.1f} s (load {r['load']}); steps {r['steps']}")
                related[nodes] += ray_related(Archive.open(work / "b"), 1, address)
        b, rel = statistics.median(builds[1]), statistics.median(related[1])
        print(f"\n2 nodes over 1 (median of {rounds}): build {b / statistics.median(builds[2]):.2f}x, related --all "
              f"(warm) {rel / statistics.median(related[2]):.2f}x; load average after {os.getloadavg()}")
    finally:
        stop_nodes(temp)
        shutil.rmtree(work, ignore_errors=True)


def stop_nodes(temp: Path) -> None:
    """End the Ray processes this bench started (those of its temp dir, and their children), by pid:
    not `ray stop`, which would end every Ray on the machine."""
    import psutil

    mine = [p for p in psutil.process_iter(["cmdline"]) if str(temp) in " ".join(p.info["cmdline"] or [])]
    procs = {p.pid: p for q in mine for p in [q, *_children(q)]}
    for p in procs.values():
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(procs.values()), timeout=5)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


def _children(p) -> list:
    import psutil

    try:
        return p.children(recursive=True)
    except psutil.Error:
        return []


def search_and_related(work: Path, args, n: int) -> None:
    from newssearch.query.archive import Archive

    single, sharded = Archive.open(work / "one"), Archive.open(work / "sharded")
    vocab = [h.title.split()[i % 3] for i, h in enumerate(single.search("", limit=100, page=1).hits) if h.title.split()]
    random.seed(7)
    queries = [" ".join(random.sample(vocab, random.choice((1, 2)))).lower() for _ in range(args.queries)]
    for a in (single, sharded):
        latencies(a, queries[:20])  # warm
    p_one, p_sh = latencies(single, queries), latencies(sharded, queries)
    print(f"\nsearch with facets, copies folded, {len(queries)} queries (load {load()})   p50 ms   p99 ms")
    print(f"  one index                               {p_one[0]:6.2f}   {p_one[1]:6.2f}")
    print(f"  {len(sharded.names)} shards (threads)                     {p_sh[0]:6.2f}   {p_sh[1]:6.2f}"
          f"   ({p_sh[0] / p_one[0]:.2f}x, {p_sh[1] / p_one[1]:.2f}x)")
    if args.search_only:
        return
    some = single.search("", limit=1, facets=False).hits[0].id
    single.related(some), sharded.related(some)  # the kernel compiled (after an upgrade) before timing
    t = time.perf_counter(); rel_one = single.related_all(10); t_one = time.perf_counter() - t
    t = time.perf_counter(); rel_sh = sharded.related_all(10); t_sh = time.perf_counter() - t
    check(single, sharded, rel_one, rel_sh)
    print(f"\nrelated --all, every article (load {load()})   seconds")
    print(f"  one index                               {t_one:6.2f}")
    print(f"  {len(sharded.names)} shards, in this process           {t_sh:6.2f}   ({t_sh / t_one:.2f}x)")
    if not args.skip_ray:
        ray_related(sharded, max(args.repeat, 2))
    sizes = [s.articles for s in sharded.manifest.shards]
    print(f"\nshard sizes {sizes}; load average after {os.getloadavg()}")
    print(f"related --all {t_sh / n * 1e3:.3f} ms/article at this size (in this process)")


def ray_related(sharded, rounds: int, address: str = "local") -> list[float]:
    """`related --all` as Ray tasks (a task per shard) on 1 and 2 workers of a local Ray, alternating
    (`address`: on the cluster there, once); prints each time and the ratios of the warm runs, returns them.
    Each runner's first run (cold: its workers import numpy, numba and the kernel) is timed apart from its
    second (warm), which is what a long job's tasks cost."""
    os.environ.update(RAY_ENV)
    sharded.related_model()  # the global statistics (built in this process, once) before timing
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for w in ((1, 2) if address == "local" else (None,)):
            runner = RayRunner(address, w)
            try:
                runner.map(_ready, [()] * (w or 1))  # the workers up before timing
                before = load()
                t = time.perf_counter(); sharded.related_all(10, runner=runner); cold = time.perf_counter() - t
                t = time.perf_counter(); sharded.related_all(10, runner=runner); warm = time.perf_counter() - t
                alive = [n for n in runner.ray.nodes() if n["Alive"]]
                cpus = sum(n["Resources"].get("CPU", 0) for n in alive)
                on = f"{w} worker(s)" if w else f"{len(alive)} node(s), {cpus:.0f} CPUs"
            finally:
                runner.close()
            times[w or 1].append(warm)
            print(f"  {len(sharded.names)} shards, Ray tasks, {on}  warm {warm:6.2f}, cold {cold:6.2f}   "
                  f"(load {before} -> {load()})")
    if address != "local":
        return times[1]
    ratios = [a / b for a, b in zip(times[1], times[2])]
    print(f"  Ray 2 workers over 1 (warm runs): {statistics.median(ratios):.2f}x "
          f"({', '.join(f'{x:.2f}' for x in ratios)})")
    return ratios


if __name__ == "__main__":
    main()
