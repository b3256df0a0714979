"""Library latency of two builds of newssearch on the same requests, measured side by side.

    python bench/latency_ab.py --old /path/to/venv-old/bin/python:/path/to/old-index \\
                               --new python:/path/to/index [--requests 2000] [--rounds 3] \\
                               [--new-args '{"fold": false}']

Each side is a Python that imports its own newssearch (a virtualenv with an older commit installed, say)
and an index that build wrote. The request mix is `bench/serve.py`'s search-box mix (words from real
headlines, facets, filters, as-you-type, /suggest), drawn once from the new side's index and sent to both.
Two long-lived worker processes, one per side, take turns on chunks of 100 requests (which goes first
alternates chunk by chunk), so a machine whose load changes over the run slows both alike; each times
every request through `Archive.search`/`Archive.suggest`, one at a time, as serve.py's library line does.
Prints each side's p50/p90/p99/mean (ms) and new/old ratios. `--new-args` passes more keywords to the new
side's searches (`{"fold": false}`: what folding near-duplicates costs, a feature the old build lacks).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

CHUNK = 100

# Runs inside each side's Python: only the public API, so an older build answers the same calls.
WORKER = r"""
import json, sys, time
from newssearch import Archive
archive = Archive.open(sys.argv[1])
extra = json.loads(sys.argv[2])  # more search() keywords for this side (--new-args)
def run(mix):
    out = []
    for route, p in mix:
        t = time.perf_counter()
        if route == "/suggest":
            archive.suggest(p["q"])
        else:
            archive.search(p["q"], categories=[p["category"]] if "category" in p else [],
                           sort=p.get("sort", "relevance"), date_from=p.get("from"), page=p.get("page", 1),
                           prefix=p.get("prefix") == "true", **extra)
        out.append((time.perf_counter() - t) * 1000)
    return out
print("ready", flush=True)
for line in sys.stdin:
    print(json.dumps(run(json.loads(line))), flush=True)
"""


def side(spec: str) -> tuple[str, str]:
    python, _, index = spec.partition(":")
    if not index or not Path(index).is_dir():
        raise SystemExit(f"expected PYTHON:INDEX_DIR, got {spec!r}")
    return python, index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="PYTHON:INDEX_DIR of the build to compare against")
    ap.add_argument("--new", required=True, help="PYTHON:INDEX_DIR of the build measured")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm", type=int, default=300, help="requests each side runs first, untimed")
    ap.add_argument("--new-args", default="{}", metavar="JSON",
                    help='more Archive.search keywords for the new side: \'{"fold": false}\' times it without folding')
    args = ap.parse_args()
    sides = {"old": side(args.old), "new": side(args.new)}

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import serve  # bench/serve.py: the request mix
    from newssearch import Archive

    mix = serve.request_mix(Archive.open(sides["new"][1]), args.requests)
    try:
        new_args = json.loads(args.new_args)
    except ValueError as exc:
        raise SystemExit(f"--new-args: not JSON ({exc})")
    if not isinstance(new_args, dict):
        raise SystemExit("--new-args: expected a JSON object of Archive.search keywords")
    extra = {"old": "{}", "new": json.dumps(new_args)}
    procs = {k: subprocess.Popen([py, "-c", WORKER, index, extra[k]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True) for k, (py, index) in sides.items()}
    try:
        def ask(k: str, chunk: list) -> list[float]:
            procs[k].stdin.write(json.dumps(chunk) + "\n")
            procs[k].stdin.flush()
            return json.loads(procs[k].stdout.readline())

        for k, p in procs.items():
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"the {k} side did not start ({sides[k][0]} on {sides[k][1]})")
            ask(k, mix[:args.warm])
        times: dict[str, list[float]] = {k: [] for k in procs}
        for r in range(args.rounds):
            for c, lo in enumerate(range(0, len(mix), CHUNK)):
                order = ("old", "new") if (c + r) % 2 == 0 else ("new", "old")
                for k in order:
                    times[k] += ask(k, mix[lo:lo + CHUNK])
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    stats = {}
    for k in ("old", "new"):
        v = np.array(times[k])
        stats[k] = {"p50": np.percentile(v, 50), "p90": np.percentile(v, 90), "p99": np.percentile(v, 99),
                    "mean": v.mean()}
        print(f"{k}: {len(v)} requests  " + "  ".join(f"{m} {x:.3f}" for m, x in stats[k].items()) + " ms")
    print("new/old: " + "  ".join(f"{m} {stats['new'][m] / stats['old'][m]:.2f}x" for m in stats["new"]))


if __name__ == "__main__":
    main()
