"""Ranking quality on judged queries: ours against bm25s and plain Tantivy, in one run, on the same articles.

The four classic IR test collections in ../shared/data/relevance (CACM, CISI, MED, Cranfield: natural-language
queries, judged documents) are indexed by each system; every judged query is run as typed, and again with
typos planted the way people make them (one edit in some words of 5+ letters, seeded). Prints nDCG@10, P@10,
MAP@100, Recall@100 and the number of queries with no hit, and the typo'd/clean nDCG ratio.

    python bench/relevance.py [--collections cacm,cisi,med,cran] [--typo-rate 0.3] [--json]
    python bench/relevance.py --ablation     # ours with each ranking choice undone in turn

Baselines, as the collections' README describes them: bm25s (k1 0.9, b 0.4, English stopwords, Snowball
stemmer) and Tantivy 0.27 on its own (`en_stem` body of title + text, `parse_query`, OR).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "relevance"
ALL = ("cacm", "cisi", "med", "cran")
DEPTH = 100


@dataclass
class Collection:
    name: str
    docs: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]  # judged queries only: id -> text as typed
    qrels: dict[str, set[str]] = field(default_factory=dict)


def _smart_records(path: Path) -> list[tuple[str, dict[str, str]]]:
    """SMART records: `.I n`, then fields `.T`, `.W`, … each running to the next line starting with '.'."""
    records: list[tuple[str, dict[str, str]]] = []
    current: dict[str, list[str]] | None = None
    key = None
    for line in path.read_text(encoding="latin-1").splitlines():
        m = re.match(r"^\.I\s+(\d+)", line)
        if m:
            current = {}
            records.append((m.group(1).lstrip("0") or "0", current))  # type: ignore[arg-type]
            key = None
        elif re.match(r"^\.[A-Z]\s*$", line) and current is not None:
            key = line[1]
            current.setdefault(key, [])
        elif key is not None and current is not None:
            current[key].append(line)
    return [(rid, {k: " ".join(" ".join(v).split()) for k, v in rec.items()}) for rid, rec in records]


def load(name: str, root: Path = DATA) -> Collection:
    files = {"cacm": ("cacm/cacm.all", "cacm/query.text", "cacm/qrels.text"),
             "cisi": ("cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL"),
             "med": ("med/MED.ALL", "med/MED.QRY", "med/MED.REL"),
             "cran": ("cran/cran.all", "cran/cran.qry", "cran/cran.rel")}[name]
    docs = {rid: (rec.get("T", ""), rec.get("W", "")) for rid, rec in _smart_records(root / files[0])}
    raw_queries = _smart_records(root / files[1])
    if name == "cran":  # judgments number the queries 1..225 in file order, not by their .I
        raw_queries = [(str(i), rec) for i, (_, rec) in enumerate(raw_queries, 1)]
    qrels: dict[str, set[str]] = {}
    for line in (root / files[2]).read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if name == "med":
            qid, did = parts[0], parts[2]
        else:
            qid, did = parts[0], parts[1]
        if name == "cran" and int(parts[2]) not in (1, 2, 3, 4):
            continue
        qrels.setdefault(qid.lstrip("0"), set()).add(did.lstrip("0"))
    queries = {qid: rec.get("W", "") for qid, rec in raw_queries if qid in qrels}
    return Collection(name, docs, queries, qrels)


# --- typos ----------------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(word: str, rng: random.Random) -> str:
    """One edit, as fingers make it: a letter dropped, doubled or replaced, or two letters swapped."""
    i = rng.randrange(1, len(word) - 1)  # people rarely get the first or last letter wrong
    kind = rng.choice(("drop", "insert", "replace", "swap"))
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "insert":
        return word[:i] + rng.choice(_LETTERS) + word[i:]
    if kind == "replace":
        return word[:i] + rng.choice(_LETTERS.replace(word[i].lower(), "")) + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if word[i] != word[i + 1] else word[:i] + word[i + 2:] + word[i:i + 2]


def typo_query(text: str, rate: float, rng: random.Random) -> str:
    """Plant typos in the words of 5+ letters, each with probability `rate`, at least one per query."""
    words = list(re.finditer(r"[A-Za-z]{5,}", text))
    if not words:
        return text
    chosen = {m.start() for m in words if rng.random() < rate} or {rng.choice(words).start()}
    out, last = [], 0
    for m in words:
        if m.start() in chosen:
            out.append(text[last:m.start()] + typo(m.group(), rng))
            last = m.end()
    return "".join(out) + text[last:]


# --- systems: each takes a collection, returns search(query) -> ranked doc ids ----------------------------
Searcher = Callable[[str], list[str]]


def ours(col: Collection, workdir: Path) -> Searcher:
    from newssearch import Archive, build_index

    src = workdir / f"{col.name}.jsonl"
    with src.open("w") as f:
        for did, (title, text) in col.docs.items():
            # A record with no abstract is its title alone (CACM has many): that is its text, and it has no title.
            f.write(json.dumps({"id": did, "title": title if text else "", "body": text or title}) + "\n")
    build_index([src], workdir / f"{col.name}-index", workers=1)
    archive = Archive.open(workdir / f"{col.name}-index")

    def search(q: str) -> list[str]:
        try:
            return [h.id for h in archive.search(q, limit=DEPTH, facets=False, snippet_chars=0).hits]
        except ValueError:  # a query refused (QueryError) is a query with no hit
            return []
    return search


def tantivy_plain(col: Collection, workdir: Path) -> Searcher:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("body", stored=False, tokenizer_name="en_stem")
    index = tantivy.Index(sb.build())
    writer = index.writer(50_000_000, 1)
    for did, (title, text) in col.docs.items():
        writer.add_document(tantivy.Document(id=did, body=f"{title} {text}"))
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def search(q: str) -> list[str]:
        query, _ = index.parse_query_lenient(q, ["body"])
        return [searcher.doc(a)["id"][0] for _, a in searcher.search(query, limit=DEPTH).hits]
    return search


def bm25s_system(col: Collection, workdir: Path) -> Searcher:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = list(col.docs)
    corpus = [f"{t} {w}" for t, w in col.docs.values()]
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    retriever.index(bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)

    def search(q: str) -> list[str]:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = retriever.retrieve(tokens, k=min(DEPTH, len(ids)), show_progress=False)
        return [ids[int(d)] for d, s in zip(docs[0], scores[0]) if s > 0]
    return search


SYSTEMS: dict[str, Callable[[Collection, Path], Searcher]] = {
    "newssearch": ours, "bm25s": bm25s_system, "tantivy": tantivy_plain}


# --- metrics -----------------------------------------------------------------------------------------------
def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    hits, ap = 0, 0.0
    for i, d in enumerate(ranked[:DEPTH]):
        if d in relevant:
            hits += 1
            ap += hits / (i + 1)
    return {"ndcg@10": dcg / ideal if ideal else 0.0,
            "p@10": sum(d in relevant for d in ranked[:10]) / 10,
            "map@100": ap / len(relevant) if relevant else 0.0,
            "recall@100": hits / len(relevant) if relevant else 0.0,
            "zero_hit": float(not ranked)}


def evaluate(search: Searcher, queries: dict[str, str], qrels: dict[str, set[str]]) -> dict[str, float]:
    rows = [metrics(search(text), qrels[qid]) for qid, text in queries.items()]
    out = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k != "zero_hit"}
    out["zero_hit"] = int(sum(r["zero_hit"] for r in rows))
    return out


# --- ablation: each ranking choice of query/textquery.py undone in turn, on the same index ------------------
def _ablations() -> dict[str, Callable[[], Callable[[], None]]]:
    """name -> a function that undoes one choice and returns how to restore it."""
    import newssearch.query.textquery as tq
    from newssearch.query.typos import Speller

    def patch(obj, name, value):
        def apply():
            old = getattr(obj, name)
            setattr(obj, name, value)
            return lambda: setattr(obj, name, old)
        return apply

    def title(weight):
        def apply():
            old = tq.QueryBuilder.__init__.__defaults__
            tq.QueryBuilder.__init__.__defaults__ = (weight,)
            return lambda: setattr(tq.QueryBuilder.__init__, "__defaults__", old)
        return apply

    return {"as shipped": lambda: (lambda: None),
            "title weight 2.0 (was the boost)": title(2.0),
            "title weight 1.0": title(1.0),
            "no proximity bonus": patch(tq, "PROXIMITY_BOOST", 0.0),
            "no coordination bonus": patch(tq, "enough_words", lambda n: 1),
            "repeated words counted once": patch(tq.QueryBuilder, "_word", _once(tq.QueryBuilder._word)),
            "no stopwords removed": patch(tq, "STOPWORDS", frozenset()),
            "no typo tolerance": patch(Speller, "corrections", lambda self, searcher, word: [])}


def _once(word):
    def counted_once(self, w):
        count, w.count = w.count, 1
        try:
            return word(self, w)
        finally:
            w.count = count
    return counted_once


def ablation(names: list[str], typo_rate: float, seed: int) -> None:
    """nDCG@10 of ours with each choice undone (a fresh QueryBuilder per setting, the same index)."""
    from newssearch import Archive

    settings = _ablations()
    table: dict[str, list[str]] = {k: [] for k in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            col = load(name)
            rng = random.Random(f"{seed}:{name}")
            typod = {qid: typo_query(text, typo_rate, rng) for qid, text in col.queries.items()}
            ours(col, Path(tmp))
            for label, undo in settings.items():
                restore = undo()
                try:
                    archive = Archive.open(Path(tmp) / f"{col.name}-index")  # builds its QueryBuilder anew

                    def search(q: str) -> list[str]:
                        try:
                            return [h.id for h in archive.search(q, limit=DEPTH, facets=False).hits]
                        except ValueError:
                            return []
                    clean = evaluate(search, col.queries, col.qrels)["ndcg@10"]
                    typo_kept = evaluate(search, typod, col.qrels)["ndcg@10"] / clean if clean else 0.0
                    table[label].append(f"{clean:.3f} ({typo_kept:.0%})")
                finally:
                    restore()
    print("nDCG@10 (typo'd queries' share of it) with one choice undone:\n")
    print("| setting | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, cells in table.items():
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", default=",".join(ALL))
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--typo-rate", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ablation", action="store_true", help="ours only, with each ranking choice undone in turn")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"bench/relevance.py needs the test collections in {DATA} (the project's ../shared/data); "
                 "they are not in the repository.")
    if args.ablation:
        ablation(args.collections.split(","), args.typo_rate, args.seed)
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.collections.split(","):
            col = load(name)
            rng = random.Random(f"{args.seed}:{name}")
            typod = {qid: typo_query(text, args.typo_rate, rng) for qid, text in col.queries.items()}
            for system in args.systems.split(","):
                workdir = Path(tmp) / system
                workdir.mkdir(exist_ok=True)
                search = SYSTEMS[system](col, workdir)
                started = time.perf_counter()
                clean = evaluate(search, col.queries, col.qrels)
                ms = (time.perf_counter() - started) * 1000 / len(col.queries)
                typo_res = evaluate(search, typod, col.qrels)
                results.append({"collection": name, "system": system, "queries": len(col.queries),
                                "clean": clean, "typos": typo_res, "ms_per_query": round(ms, 2)})
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print("| collection | system | nDCG@10 | P@10 | MAP@100 | R@100 | zero-hit | typo'd nDCG@10 (kept) | typo'd zero-hit | ms/query |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        c, t = r["clean"], r["typos"]
        kept = t["ndcg@10"] / c["ndcg@10"] if c["ndcg@10"] else 0.0
        print(f"| {r['collection']} ({r['queries']} q) | {r['system']} | {c['ndcg@10']:.3f} | {c['p@10']:.3f} | "
              f"{c['map@100']:.3f} | {c['recall@100']:.3f} | {c['zero_hit']} | {t['ndcg@10']:.3f} ({kept:.0%}) | "
              f"{t['zero_hit']} | {r['ms_per_query']} |")


if __name__ == "__main__":
    main()
