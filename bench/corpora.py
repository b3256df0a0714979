"""The data the benchmarks run on: the real sets in ../shared/data and synthetic sets scaled up from them.

A clone of newssearch has no ../shared/data: then the benchmarks say so and run on the bundled sample,
corpus/ (a Reuters-21578 and BBC subset), whose figures are not comparable with the README's.
"""
from __future__ import annotations

import csv
import json
import random
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from newssearch.indexer.dispatch import read_file
from newssearch.indexer.reuters import read_sgml
from newssearch.indexer.sources import read_bytes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CORPUS = ROOT / "corpus"
SAMPLE_REUTERS = sorted((CORPUS / "reuters").glob("*.jsonl*"))
SAMPLE_BBC = sorted((CORPUS / "bbc").glob("*.csv"))
_said = False


def have_data() -> bool:
    """Whether ../shared/data is here; the first time it is not, say so on stderr."""
    global _said
    if DATA.exists():
        return True
    if not _said:
        _said = True
        print(f"note: {DATA} is not here (a clone has none): running on the bundled corpus/ instead; its "
              "figures are not comparable with the README's", file=sys.stderr)
    return False


def workdir(path: str | None, prefix: str) -> Path:
    """The folder a bench keeps its data and index in (a new temporary one unless given)."""
    work = Path(path or tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    return work


def reuters_files() -> tuple[list[Path], str]:
    """The Reuters-21578 files to index and what they are."""
    if have_data():
        return sorted((DATA / "reuters21578").glob("reut2-*.sgm")), "REAL: Reuters-21578, every article with a body"
    return SAMPLE_REUTERS, "REAL (sample): corpus/reuters, the Reuters-21578 subset that ships with newssearch"


def reuters_and_bbc_files() -> tuple[list[Path], str]:
    """Reuters-21578 and the BBC set, as files to index, and what they are."""
    if have_data():
        return (sorted((DATA / "reuters21578").glob("reut2-*.sgm")) + sorted((DATA / "bbc").glob("*.csv")),
                "REAL: Reuters-21578 (.sgm) + BBC (CSV)")
    return SAMPLE_REUTERS + SAMPLE_BBC, "REAL (sample): corpus/ Reuters + BBC subsets that ship with newssearch"


def real_texts() -> list[tuple[str, str, str]]:
    """(category, title, body) of the real Reuters articles with a body and of the BBC set (their subsets
    in corpus/ when ../shared/data is not here)."""
    if not have_data():
        files, _ = reuters_and_bbc_files()
        return [(a.categories[0] if a.categories else "reuters", a.title, a.body)
                for f in files for a in read_file(f) if hasattr(a, "body")]
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
