"""The data the benchmarks run on: the real sets in ../shared/data and synthetic sets scaled up from them."""
from __future__ import annotations

import csv
import json
import random
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newssearch.indexer.reuters import read_sgml
from newssearch.indexer.sources import read_bytes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def workdir(path: str | None, prefix: str) -> Path:
    """The folder a bench keeps its data and index in (a new temporary one unless given); exits without
    ../shared/data."""
    if not DATA.exists():
        sys.exit(f"needs {DATA}")
    work = Path(path or tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    return work


def real_texts() -> list[tuple[str, str, str]]:
    """(category, title, body) of the real Reuters articles with a body and of the BBC set."""
    out = []
    for f in sorted((DATA / "reuters21578").glob("reut2-*.sgm")):
        for a in read_sgml(read_bytes(f), f.name):
            if hasattr(a, "body"):
                out.append((a.categories[0] if a.categories else "reuters", a.title, a.body))
    for name in ("train", "val", "test"):
        with open(DATA / "bbc" / f"{name}.csv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                out.append((r["category"], "", r["text"]))
    return out


def synthetic(n: int, path: Path, seed: int = 7) -> None:
    """n articles from per-category word-bigram models fitted on the real texts, dates over 2000-2025."""
    rng = random.Random(seed)
    models: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    lengths: dict[str, list[int]] = defaultdict(list)
    for cat, _, body in real_texts():
        words = body.split()
        lengths[cat].append(len(words))
        m = models[cat]
        for a, b in zip(words, words[1:]):
            m[a].append(b)
    cats = [c for c in models if len(lengths[c]) >= 20]
    keys = {c: list(models[c].keys()) for c in cats}
    start = datetime(2000, 1, 1, tzinfo=timezone.utc)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            cat = rng.choice(cats)
            m = models[cat]
            words = [rng.choice(keys[cat])]
            for _ in range(max(20, min(600, rng.choice(lengths[cat])))):
                nxt = m.get(words[-1])
                words.append(rng.choice(nxt) if nxt else rng.choice(keys[cat]))
            date = start + timedelta(days=rng.randrange(26 * 365))
            fh.write(json.dumps({"id": f"syn-{i}", "title": " ".join(words[:8]), "body": " ".join(words[8:]),
                                 "category": cat, "date": date.isoformat()}) + "\n")


def reuters_jsonl(path: Path) -> int:
    """The Reuters-21578 articles with a body as one JSON Lines export (id, title, body, date, categories,
    author, site): what a CMS export of the archive looks like. Returns the number of records."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for f in sorted((DATA / "reuters21578").glob("reut2-*.sgm")):
            for a in read_sgml(read_bytes(f), f.name):
                if hasattr(a, "body"):
                    fh.write(json.dumps({"id": a.id, "title": a.title, "body": a.body,
                                         "date": a.date.isoformat() if a.date else None,
                                         "categories": a.categories, "author": a.authors, "site": a.site}) + "\n")
                    n += 1
    return n
