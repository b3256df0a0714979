"""Near-duplicate grouping (indexer/copies.py): precision and recall on planted syndicated copies and on
Reuters' own repeated stories, and what grouping costs at index time.

Planted: 1,000 real articles (Reuters-21578 and BBC, at least 50 words, one of each repeated text) each
get 1-3 copies made the way syndication makes them (bench/syndicate.py). Recall: copies in their original's
group. Precision: of the articles a copy is grouped with, the share that are its story (its original, the
other copies, or what the original was already grouped with before planting: Reuters' own repeats).

Reuters' own repeats: truth is pairs with the same headline (after "(RPT)", "CORRECTED", "UPDATE n-"
tags), dated within 3 days, sharing at least half of the smaller one's word 5-shingles (exact sets, no
MinHash), plus pairs with the same text. A headline that was rewritten is not in this truth, so precision
against it is a lower bound; the pairs grouped outside it are counted and a few printed.

Cost: the same JSON Lines indexed with grouping and with grouping stubbed out, alternating, `--repeat`
times each, in this process and on one core (no parse workers: the stubs hold for every step, and the
process's CPU time is all the work).

    python bench/dedup.py [--originals 1000] [--repeat 3] [--pages] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
import resource
import shutil
import statistics
import time
from datetime import datetime
from itertools import combinations
from pathlib import Path

import tantivy

from corpora import DATA, workdir
from syndicate import boilerplate_lines, syndicate

from newssearch import Archive, build_index
from newssearch.indexer import build as build_module
from newssearch.indexer.reuters import read_sgml
from newssearch.indexer.sources import read_bytes

SITES = ["wire-a.example", "wire-b.example", "wire-c.example"]
_PUNCT = re.compile(r"[^\w\s]|_")


def shingles(title: str, body: str) -> list[str]:
    """Exact word 5-shingles for the truth (case-folded, punctuation as space), as strings: no hashing."""
    words = _PUNCT.sub(" ", f"{title}\n{body}".casefold()).split()
    return [" ".join(words[i:i + 5]) for i in range(max(1, len(words) - 4))] if words else []


_TAGS = re.compile(r"^\s*(?:\(?(?:RPT|REPEAT|CORRECTED|CORRECTION)\)?\s*-?|UPDATE\s*\d*\s*-)\s*", re.I)


def base_articles() -> list[dict]:
    out = []
    for f in sorted((DATA / "reuters21578").glob("reut2-*.sgm")):
        for a in read_sgml(read_bytes(f), f.name):
            if hasattr(a, "body"):
                out.append({"id": a.id, "title": a.title, "body": a.body,
                            "date": a.date.isoformat() if a.date else None})
    for name in ("train", "val", "test"):
        with open(DATA / "bbc" / f"{name}.csv", encoding="utf-8", newline="") as fh:
            for i, r in enumerate(csv.DictReader(fh)):
                out.append({"id": f"bbc-{name}-{i}", "title": "", "body": r["text"], "date": None})
    return out


def plant(base: list[dict], n: int, seed: int = 18) -> tuple[list[dict], dict[str, list[str]]]:
    rng, furniture = random.Random(seed), boilerplate_lines()
    seen: set[str] = set()
    pool = [a for a in base if len(a["body"].split()) >= 50 and a["body"][:300] not in seen
            and not seen.add(a["body"][:300])]
    copies, family = [], {}
    for a in rng.sample(pool, n):
        family[a["id"]] = []
        title = a["title"] or a["body"].split(".")[0][:120]
        for k in range(rng.randint(1, 3)):
            t, b = syndicate(title, a["body"], rng, furniture)
            cid = f"https://{SITES[k]}/{a['id']}"
            family[a["id"]].append(cid)
            copies.append({"id": cid, "title": t, "body": b, "date": a["date"], "site": SITES[k]})
    return copies, family


def groups(index: Path) -> dict[str, int]:
    archive = Archive.open(index)
    s = archive.searcher()
    addrs = [a for _, a in s.search(tantivy.Query.all_query(), limit=s.num_docs).hits]
    return {s.doc(a).to_dict()["id"][0]: g for a, g in zip(addrs, s.fast_field_values("group", addrs))}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


def _cpu() -> float:
    """CPU seconds of this process (all its threads: Tantivy's too) and its reaped children: on a shared,
    loaded machine a steadier measure of what indexing costs than wall time."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_index(data: Path, index: Path, grouping: bool) -> tuple[float, float]:
    shutil.rmtree(index, ignore_errors=True)
    saved = (build_module.sketches, build_module.CopyGroups.place, build_module.CopyGroups.flush)
    if not grouping:
        build_module.sketches = lambda tokens, dates: [None] * len(dates)
        build_module.CopyGroups.place = lambda self, article_id, h, fp, s: (None, False)
        build_module.CopyGroups.flush = lambda self: None
    try:
        started, cpu = time.perf_counter(), _cpu()
        build_index([data], index, workers=1)  # one process: the stubs hold everywhere, its CPU is all of it
        return time.perf_counter() - started, _cpu() - cpu
    finally:
        build_module.sketches, build_module.CopyGroups.place, build_module.CopyGroups.flush = saved


def planted_scores(g: dict[str, int], base_g: dict[str, int], family: dict[str, list[str]]) -> tuple[float, float]:
    members: dict[int, list[str]] = {}
    for i, x in g.items():
        members.setdefault(x, []).append(i)
    found = total = good = paired = 0
    for orig, copies in family.items():
        story = {orig, *copies} | {i for i, x in base_g.items() if x == base_g[orig]}
        for c in copies:
            total += 1
            found += g[c] == g[orig]
            others = [m for m in members[g[c]] if m != c]
            paired += len(others)
            good += sum(m in story for m in others)
    return good / max(1, paired), found / total


def reuters_truth(base: list[dict]) -> set[tuple[str, str]]:
    reuters = [a for a in base if a["id"].startswith("reuters")]
    by_title: dict[str, list[dict]] = {}
    by_text: dict[str, list[str]] = {}
    for a in reuters:
        by_title.setdefault(_TAGS.sub("", a["title"]).strip().upper(), []).append(a)
        by_text.setdefault(" ".join(a["body"].split()), []).append(a["id"])
    truth = {tuple(sorted(p)) for ids in by_text.values() for p in combinations(ids, 2)}
    for title, items in by_title.items():
        if len(items) < 2 or len(items) > 50 or not title:
            continue
        sh = {a["id"]: set(shingles(a["title"], a["body"])) for a in items}
        for a, b in combinations(items, 2):
            if a["date"] and b["date"] and abs((datetime.fromisoformat(a["date"])
                                                 - datetime.fromisoformat(b["date"])).days) <= 3:
                x, y = sh[a["id"]], sh[b["id"]]
                if len(x & y) >= 0.5 * min(len(x), len(y)):
                    truth.add(tuple(sorted((a["id"], b["id"]))))
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--originals", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir")
    ap.add_argument("--pages", action="store_true", help="also time the Readability pages (HTML extraction)")
    args = ap.parse_args()
    work = workdir(args.workdir, "dedup-bench-")
    base = base_articles()
    copies, family = plant(base, args.originals)
    (work / "base").mkdir(exist_ok=True)
    (work / "planted").mkdir(exist_ok=True)
    write_jsonl(work / "base" / "articles.jsonl", base)
    write_jsonl(work / "planted" / "articles.jsonl", base)
    write_jsonl(work / "planted" / "copies.jsonl", copies)
    print(f"{len(base):,} real articles (Reuters-21578 with a body, BBC); {len(copies):,} planted copies of "
          f"{len(family):,} of them")

    with_g, without = [], []
    for _ in range(args.repeat):
        without.append(timed_index(work / "planted", work / "index-off", grouping=False))
        with_g.append(timed_index(work / "planted", work / "index", grouping=True))
    timed_index(work / "base", work / "index-base", grouping=True)
    g, base_g = groups(work / "index"), groups(work / "index-base")

    precision, recall = planted_scores(g, base_g, family)
    print(f"planted copies: precision {precision:.3f}, recall {recall:.3f}")

    ids, rows, _ = Archive.open(work / "index").related_all(k=10)
    row_of = {i: r for r, i in enumerate(ids)}
    leaked = sum(ids[j] in copies_of for o, copies_of in ((o, set(c)) for o, c in family.items())
                 for j in rows[row_of[o]] if j >= 0)
    print(f"related posts (related --all, k=10) of the {len(family):,} originals: {leaked} of their "
          f"{len(copies):,} copies listed")

    truth = reuters_truth(base)
    members: dict[int, list[str]] = {}
    for i, x in base_g.items():
        if i.startswith("reuters"):
            members.setdefault(x, []).append(i)
    predicted = {tuple(sorted(p)) for ids in members.values() for p in combinations(ids, 2)}
    hit = predicted & truth
    print(f"Reuters' own repeats: {len(truth):,} true pairs, {len(predicted):,} grouped pairs: "
          f"precision {len(hit) / max(1, len(predicted)):.3f} (a lower bound), "
          f"recall {len(hit) / max(1, len(truth)):.3f}")
    titles = {a["id"]: a["title"] for a in base}
    for a, b in sorted(predicted - truth)[:5]:
        print(f"  grouped, not in the headline truth: {titles[a]!r} / {titles[b]!r}")
    for i, what in ((0, "wall time"), (1, "CPU time (all processes)")):
        cost = [w[i] / o[i] - 1 for w, o in zip(with_g, without)]
        print(f"index {what}, {len(base) + len(copies):,} articles (JSON Lines): with grouping "
              f"{statistics.median(w[i] for w in with_g):.1f} s, without {statistics.median(o[i] for o in without):.1f} s;"
              f" cost {statistics.median(cost):+.1%} (runs: {', '.join(f'{c:+.1%}' for c in cost)})")
    if args.pages:
        pages = work / "pages"
        pages.mkdir(exist_ok=True)
        for d in sorted((DATA / "readability-pages").iterdir()):
            if (d / "source.html").exists():
                shutil.copy(d / "source.html", pages / f"{d.name}.html")
        runs = [(timed_index(pages, work / "index-pages-off", False), timed_index(pages, work / "index-pages", True))
                for _ in range(args.repeat)]
        cost = [w[1] / o[1] - 1 for o, w in runs]
        print(f"index CPU time, the 130 Readability pages (HTML): cost {statistics.median(cost):+.1%} "
              f"(runs: {', '.join(f'{c:+.1%}' for c in cost)})")


if __name__ == "__main__":
    main()
