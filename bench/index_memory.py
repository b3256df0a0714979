"""Peak memory of `newssearch index` as the archive grows: does an index run stream?

    python bench/index_memory.py                       # 50k, 100k, 200k synthetic articles (one JSON Lines file)

Samples the indexing process's /proc status every 0.2 s: RssAnon (its own heap: parsed articles in flight,
the writer's buffers, the id map) and RssFile (pages of the memory-mapped index files, which the kernel can
drop at will). Streaming means RssAnon stays about flat while the input doubles. The reference is the
input itself: a run that loaded its input would grow by the input's size. Linux only.
"""
from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import time
from pathlib import Path

from corpora import synthetic, workdir


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(src: Path, index: Path) -> tuple[float, int, int]:
    exe = Path(sys.executable).with_name("newssearch")
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), "index", "-q", str(src), "--index", str(index)], stdout=subprocess.DEVNULL)
    anon = file = 0
    while proc.poll() is None:
        anon = max(anon, status_kb(proc.pid, "RssAnon"))
        file = max(file, status_kb(proc.pid, "RssFile"))
        time.sleep(0.2)
    if proc.returncode:
        sys.exit(f"index run failed ({proc.returncode})")
    return time.perf_counter() - started, anon, file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50000,100000,200000")
    ap.add_argument("--workdir", default=None, help="keep the data here (reused if present)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = workdir(args.workdir, "newssearch-memory-")
    full = work / "synthetic.jsonl"
    if not full.exists():
        synthetic(max(sizes), full)
    print("SYNTHETIC articles (word-bigram models of Reuters + BBC), one JSON Lines file each run")
    print(f"{'articles':>9} {'input MiB':>10} {'seconds':>8} {'RssAnon MiB':>12} {'RssFile MiB':>12}")
    for n in sizes:
        src = work / f"first-{n}.jsonl"
        if not src.exists():
            with open(full, "rb") as fh, open(src, "wb") as out:
                out.writelines(itertools.islice(fh, n))
        index = work / f"index-{n}"
        subprocess.run(["rm", "-rf", str(index)], check=True)
        seconds, anon, file = measure(src, index)
        print(f"{n:>9,} {src.stat().st_size / 2**20:>10,.0f} {seconds:>8.1f} {anon / 1024:>12,.0f} {file / 1024:>12,.0f}",
              flush=True)


if __name__ == "__main__":
    main()
