"""Load on `newssearch serve` over loopback: throughput and latency of search with facets.

    python bench/serve.py                              # 200,000 articles scaled up from Reuters + BBC (synthetic)
    python bench/serve.py --real                       # Reuters-21578 + BBC, real (21,268 articles)
    (without ../shared/data, as in a clone, they say so and use corpus/'s subsets)
    python bench/serve.py --clients 16 --seconds 30
    python bench/serve.py --threads 40                 # the server working on 40 requests per worker at once
    python bench/serve.py --only questions             # only the row of 8-15-word questions

A bounded closed-loop run: CLIENTS keep-alive connections each send the next request as soon as the last one
answers, for SECONDS, from wrk (`apt install wrk`; C, an event loop on 2 threads) or, where wrk is missing,
from Python threads, which share the GIL and the cores with the server and so add their own waits. The mix is what a site's search box sends: searches with facets (words
drawn from real headlines; a quarter with a category filter, a quarter sorted by date, some with a date
range, some as-you-type with prefix=true, some on page 2) and /suggest calls. The reference in the same run is
the library itself: the same searches through `Archive.search` in this process, one at a time, so the
figures show what HTTP, JSON and concurrency add. The server runs twice on the same requests: without its
answer cache, then with it (the share of answers it served is printed: it depends on how often the mix
repeats a request: by default 20,000 distinct requests whose popularity follows Zipf's law, s=1, as query
logs do; --zipf 0 draws them uniformly). A third run, without the cache, sends questions of 8-15 words
("why did the central bank ..."): a question word or two and a run of words from a real sentence, function
words included, a quarter with a category filter; they match far more articles than the search-box words.
Targets: p99 <= 20 ms for the search-box mix and <= 40 ms for the questions, no cache, 0 errors. Either generator shares the machine's cores with the
server, as a site's own front end would not: the figures are a floor.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from corpora import real_texts, reuters_and_bbc_files, synthetic, workdir  # bench/corpora.py
from newssearch import Archive, build_index

ROOT = Path(__file__).resolve().parent.parent


def build(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    index = work / "index"
    if args.real:
        sources, label = reuters_and_bbc_files()
    else:
        label = f"SYNTHETIC: {args.synthetic:,} articles generated from word-bigram models of Reuters + BBC"
        sources = [work / "synthetic.jsonl"]
        if not sources[0].exists() and not index.exists():
            t = time.perf_counter()
            synthetic(args.synthetic, sources[0])
            print(f"generated the synthetic set in {time.perf_counter() - t:.0f} s", flush=True)
    if not index.exists():
        t = time.perf_counter()
        report = build_index(sources, index)
        print(f"indexed: {report.summary()} in {time.perf_counter() - t:.0f} s", flush=True)
    return index, label


def request_mix(archive: Archive, n: int, seed: int = 11) -> list[tuple[str, dict]]:
    """(route, params) pairs: what a search box sends, words taken from real headlines."""
    rng = random.Random(seed)
    words = [w for _, title, body in real_texts()[:5000]
             for w in re.findall(r"[a-z]{4,}", (title or body[:80]).lower())]
    categories = [c.category for c in archive.categories() if c.count >= 50]
    years = [b["start"] for b in archive.stats()["years"] if b["count"]]
    mix = []
    for _ in range(n):
        q = " ".join(rng.sample(words, rng.choice((1, 1, 2, 2, 3))))
        roll = rng.random()
        if roll < 0.15:
            mix.append(("/suggest", {"q": q[: rng.randint(2, len(q))]}))
            continue
        params: dict = {"q": q}
        if rng.random() < 0.25 and categories:
            params["category"] = rng.choice(categories)
        if rng.random() < 0.25:
            params["sort"] = "newest"
        if rng.random() < 0.15 and years:
            params["from"] = rng.choice(years)
        if rng.random() < 0.15:
            params.update(q=q[:-2], prefix="true")
        if rng.random() < 0.10:
            params["page"] = 2
        mix.append(("/search", params))
    return mix


QUESTION_OPENINGS = ("what", "why did", "how did", "when did", "who said", "what happened when", "is it true that",
                     "how much did", "where did", "why is")


def question_mix(archive: Archive, n: int, seed: int = 13) -> list[tuple[str, dict]]:
    """(route, params) pairs: questions of 8-15 words as people type them into a search box, a question word
    or two and then a run of words from a real article's sentence (function words and all); a quarter with a
    category filter. All /search with facets."""
    rng = random.Random(seed)
    sentences = [re.findall(r"[A-Za-z][A-Za-z'-]*", s) for _, title, body in real_texts()[:5000]
                 for s in re.split(r"(?<=[.!?])\s+", body[:600])]
    sentences = [w for w in sentences if len(w) >= 14]
    categories = [c.category for c in archive.categories() if c.count >= 50]
    mix = []
    for _ in range(n):
        opening = rng.choice(QUESTION_OPENINGS).split()
        length = rng.randint(8, 15)
        words = rng.choice(sentences)
        take = length - len(opening)
        start = rng.randrange(len(words) - take + 1)
        params: dict = {"q": " ".join(opening + [w.lower() for w in words[start:start + take]]) + "?"}
        if rng.random() < 0.25 and categories:
            params["category"] = rng.choice(categories)
        mix.append(("/search", params))
    return mix


class _EngineClock:
    """A searcher whose calls into Tantivy are timed (the share of a request that is the engine's own work)."""

    def __init__(self, searcher, clock: list[float]):
        self._searcher, self._clock = searcher, clock

    def __getattr__(self, name: str):
        value = getattr(self._searcher, name)
        if not callable(value):
            return value

        def timed(*args, **kw):
            t = time.perf_counter()
            try:
                return value(*args, **kw)
            finally:
                self._clock[0] += time.perf_counter() - t
        return timed


def engine_share(archive: Archive, mix: list[tuple[str, dict]]) -> tuple[np.ndarray, np.ndarray]:
    """Per request of `mix` through the library, one at a time: its time, and the part of it spent inside
    Tantivy's calls (searches, aggregations, stored documents, term lookups), in ms."""
    clock, whole, inside = [0.0], [], []
    searcher = type(archive).searcher
    archive.searcher = lambda: _EngineClock(searcher(archive), clock)  # this instance only
    try:
        for request in mix:
            clock[0] = 0.0
            whole.append(library_reference(archive, [request])[0])
            inside.append(clock[0] * 1000)
    finally:
        del archive.searcher
    return np.array(whole), np.array(inside)


def library_reference(archive: Archive, mix: list[tuple[str, dict]]) -> np.ndarray:
    times = []
    for route, p in mix:
        t = time.perf_counter()
        if route == "/suggest":
            archive.suggest(p["q"])
        else:
            archive.search(p["q"], categories=[p["category"]] if "category" in p else [], sort=p.get("sort", "relevance"),
                           date_from=p.get("from"), page=p.get("page", 1), prefix=p.get("prefix") == "true")
        times.append(time.perf_counter() - t)
    return np.array(times) * 1000


@dataclass
class LoadRun:
    p50: float  # ms
    p90: float
    p99: float
    max: float
    requests: int
    errors: int
    seconds: float
    cached: int  # answers the server took from its cache

    def line(self) -> str:
        return (f"{latencies(self.p50, self.p90, self.p99, self.max)}  "
                f"({self.requests / self.seconds:,.0f} req/s, {self.requests:,} requests, {self.errors} errors, "
                f"{self.cached / max(1, self.requests):.0%} from the cache)")


def latencies(p50: float, p90: float, p99: float, most: float) -> str:
    return f"p50 {p50:6.2f} ms  p90 {p90:6.2f} ms  p99 {p99:6.2f} ms  max {most:7.2f} ms"


WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local threads = {}
cached = 0  -- a global: done() reads it from each thread
function setup(thread) table.insert(threads, thread); thread:set("id", #threads) end
function init(args) math.randomseed(id) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body)
  if string.find(body, '"cached":true', 1, true) then cached = cached + 1 end
end
function done(summary, latency, requests)
  local c = 0
  for _, t in ipairs(threads) do c = c + t:get("cached") end
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%%d,"us":%%d,"errors":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d,"cached":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, c))
end
"""


def load_wrk(port: int, paths: list[str], clients: int, seconds: float, work: Path) -> LoadRun:
    """wrk (C, event loop): the generator takes little of the cores the server needs."""
    script, listing = work / "mix.lua", work / "mix.txt"
    listing.write_text("".join(p + "\n" for p in paths), encoding="utf-8")
    script.write_text(WRK_SCRIPT % listing, encoding="utf-8")
    out = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds:.0f}s", "--timeout", "30s",
                          "-s", str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.split("RESULT ", 1)[1])
    return LoadRun(p50=r["p50"] / 1000, p90=r["p90"] / 1000, p99=r["p99"] / 1000, max=r["max"] / 1000,
                   requests=r["requests"], errors=r["errors"], seconds=r["us"] / 1e6, cached=r["cached"])


def load_python(port: int, paths: list[str], clients: int, seconds: float) -> LoadRun:
    """Threads of http.client with keep-alive: what is there when wrk is not; they share the GIL and the
    cores with the server, so latencies include the generator's own waits."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    cached = [0] * clients
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop_at:
            path = rng.choice(paths)
            t = time.perf_counter()
            try:
                conn.request("GET", path)
                res = conn.getresponse()
                body = res.read()
                ok = res.status == 200
                cached[i] += b'"cached":true' in body
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[i].append(time.perf_counter() - t)
            errors[i] += not ok
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ms = np.array([x for lat in latencies for x in lat]) * 1000
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return LoadRun(p50=float(p50), p90=float(p90), p99=float(p99), max=float(ms.max()), requests=len(ms),
                   errors=sum(errors), seconds=elapsed, cached=sum(cached))


def start_server(index: Path, port: int, cache_size: int, extra: list[str] = ()) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("newssearch")
    proc = subprocess.Popen([str(exe), "serve", "--index", str(index), "--port", str(port),
                             "--cache-size", str(cache_size), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the server did not start")


def percentiles(ms: np.ndarray) -> str:
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return latencies(p50, p90, p99, ms.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=200_000, help="articles in the synthetic set")
    ap.add_argument("--real", action="store_true", help="the real Reuters + BBC sets instead")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--distinct", type=int, default=20_000, help="distinct requests in the mix")
    ap.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of their popularity (0 = uniform)")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--port", type=int, default=8917)
    ap.add_argument("--workdir", default=None, help="keep the data and index here (reused if present)")
    ap.add_argument("--python-client", action="store_true", help="load with Python threads even if wrk is installed")
    ap.add_argument("--only", choices=("keywords", "questions"), default=None,
                    help="run only the search-box mix (both cache rows) or only the questions row")
    ap.add_argument("--threads", type=int, default=None, help="requests each server worker works on at once "
                    "(newssearch serve --threads; default: its own)")
    args = ap.parse_args()
    work = workdir(args.workdir, "newssearch-serve-")
    index, label = build(args, work)
    archive = Archive.open(index)
    distinct = request_mix(archive, args.distinct)
    # How often each request comes: Zipf's law over the distinct ones, as in search logs (a few popular
    # queries, a long tail seen once). The generators draw uniformly from this sequence.
    weights = 1.0 / np.arange(1, len(distinct) + 1) ** args.zipf
    picks = random.Random(5).choices(range(len(distinct)), weights=weights.tolist(), k=100_000)
    paths = [route + "?" + urlencode(params, doseq=True) for route, params in distinct]
    mix = [paths[i] for i in picks]
    print(f"data: {label} ({len(archive):,} articles); {os.cpu_count()} cores; "
          f"{args.clients} clients for {args.seconds:.0f} s; {len(distinct):,} distinct requests, popularity "
          f"Zipf s={args.zipf} ({len(set(picks)):,} of them among the 100,000 drawn); "
          f"{sum(r == '/suggest' for r, _ in distinct) / len(distinct):.0%} /suggest, the rest /search with facets")

    questions = question_mix(archive, args.distinct)
    q_picks = random.Random(6).choices(range(len(questions)), weights=weights[:len(questions)].tolist(), k=100_000)
    q_paths = [route + "?" + urlencode(params, doseq=True) for route, params in questions]
    q_mix = [q_paths[i] for i in q_picks]

    library_reference(archive, distinct[:200])  # warm the page cache and the searcher
    lib = library_reference(archive, distinct[:2000])
    print(f"library, 1 at a time      {percentiles(lib)}  ({1000 / lib.mean():,.0f} req/s)")
    q_lib = library_reference(archive, questions[:1000])
    print(f"  questions (8-15 words)  {percentiles(q_lib)}  ({1000 / q_lib.mean():,.0f} req/s)")
    cores = os.cpu_count() or 1
    for name, sample in (("search box", distinct[:2000]), ("questions", questions[:1000])):
        whole, inside = engine_share(archive, sample)
        # The engine's part alone bounds throughput: on `cores` cores, at most cores / its mean per second,
        # and with CLIENTS requests in flight a request then waits at least CLIENTS / that on average.
        bound = cores * 1000 / inside.mean()
        print(f"  inside Tantivy, {name:10s} {percentiles(inside)}, mean {inside.mean():.2f} ms of "
              f"{whole.mean():.2f} ({inside.sum() / whole.sum():.0%}): the engine alone allows at most "
              f"{bound:,.0f} req/s on {cores} cores, so {args.clients} clients wait >= "
              f"{args.clients * 1000 / bound:.1f} ms on average")

    use_wrk = shutil.which("wrk") is not None and not args.python_client
    generator = "wrk" if use_wrk else "Python threads (install wrk for a generator that leaves the cores to the server)"
    print(f"load generator: {generator}; load average before: {os.getloadavg()[0]:.1f} "
          f"(other work on the machine inflates every figure)")
    runs = {}
    # (label, requests, answer cache, p99 target in ms): the search-box mix without the cache, with it, and
    # the questions without it
    rows = [("no cache", mix, lib, 0, 20), ("cache 4096", mix, lib, 4096, None),
            ("questions, no cache", q_mix, q_lib, 0, 40)]
    if args.only:
        rows = [r for r in rows if (r[0].startswith("questions")) == (args.only == "questions")]
    for label, requests, reference, cache_size, target in rows:
        proc = start_server(index, args.port, cache_size, ["--threads", str(args.threads)] if args.threads else [])
        try:
            if use_wrk:
                load_wrk(args.port, requests, args.clients, 3, work)  # warm-up
                run = load_wrk(args.port, requests, args.clients, args.seconds, work)
            else:
                load_python(args.port, requests, args.clients, 3)
                run = load_python(args.port, requests, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait()
        print(f"HTTP, {args.clients} concurrent, {label:19s} {run.line()}")
        verdict = ""
        if target is not None:
            verdict = (f"; target p99 <= {target} ms: {'met' if run.p99 <= target and run.errors == 0 else 'NOT met'} "
                       f"({run.p99:.1f} ms, {run.errors} errors)")
        print(f"  HTTP p50 / library p50 = {run.p50 / np.percentile(reference, 50):.1f}x{verdict}")
        runs[label] = {"requests": run.requests, "errors": run.errors,
                       "throughput_rps": round(run.requests / run.seconds, 1), "p50_ms": round(run.p50, 2),
                       "p99_ms": round(run.p99, 2), "from_cache": round(run.cached / max(1, run.requests), 3)}
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(json.dumps({"articles": len(archive), "synthetic": not args.real, "clients": args.clients,
                      "seconds": args.seconds, "generator": "wrk" if use_wrk else "python", "http": runs,
                      "library_p50_ms": round(float(np.percentile(lib, 50)), 2),
                      "library_p99_ms": round(float(np.percentile(lib, 99)), 2),
                      "library_questions_p50_ms": round(float(np.percentile(q_lib, 50)), 2),
                      "library_questions_p99_ms": round(float(np.percentile(q_lib, 99)), 2)}))


if __name__ == "__main__":
    main()
