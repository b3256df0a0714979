"""Rebuild corpus/ from ../shared/data (run from the project root). Records exactly what the sample is.

    python corpus/make_corpus.py

Needs `w3m` (Debian package) for the page dumps. Output is deterministic.
"""
from __future__ import annotations

import csv
import email.utils
import gzip
import html
import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from newssearch.indexer.reuters import read_sgml  # the project's own reader: `pip install -e .` first

SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
OUT = ROOT / "corpus"
HTML_PAGES = ["bbc-1", "cnn", "nytimes-1", "wapo-1", "herald-sun-1", "telegraph", "seattletimes-1", "aclu"]
DUMP_PAGES = ["bbc-1", "cnn", "herald-sun-1"]


def reuters(file: str, limit: int):
    arts = [a for a in read_sgml((DATA / "reuters21578" / file).read_bytes(), file) if hasattr(a, "body")]
    return arts[:limit]


def gz_write(path: Path, data: bytes) -> None:
    # mtime=0: the same bytes on every rebuild
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)


def main() -> None:
    for sub in ("reuters", "cms", "bbc", "pages/html", "pages/dumps"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)

    # 1. Reuters as JSON Lines (one plain, one gzipped), with the field names of a typical newswire export.
    def jsonl(arts) -> bytes:
        rows = [{"id": a.id, "headline": a.title, "published": a.date.isoformat(), "topics": a.categories,
                 "byline": ", ".join(a.authors) or None, "body": a.body} for a in arts]
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()

    (OUT / "reuters" / "reuters-1987-02.jsonl").write_bytes(jsonl(reuters("reut2-000.sgm", 700)))
    gz_write(OUT / "reuters" / "reuters-1987-03.jsonl.gz", jsonl(reuters("reut2-005.sgm", 500)))

    # 2. Reuters as a CMS JSON export: HTML-fragment bodies, RFC 822 dates, WordPress-like names.
    posts = [{"guid": a.id, "title": {"rendered": a.title}, "pubDate": email.utils.format_datetime(a.date),
              "section": a.categories, "content": {"rendered": "".join(f"<p>{html.escape(p)}</p>"
                                                                      for p in a.body.split("\n\n"))}}
             for a in reuters("reut2-010.sgm", 200)]
    (OUT / "cms" / "reuters-1987-04-export.json").write_text(json.dumps({"posts": posts}, ensure_ascii=False,
                                                                       indent=1))

    # 3. BBC as distributed (text,category; headline run into the body; no dates): 80 per category.
    rows = list(csv.DictReader(open(DATA / "bbc" / "train.csv", encoding="utf-8", newline="")))
    picked, per = [], {}
    for r in rows:
        if per.get(r["category"], 0) < 80:
            per[r["category"]] = per.get(r["category"], 0) + 1
            picked.append(r)
    with open(OUT / "bbc" / "bbc-news-2004-2005.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(picked)

    # 4. Real news pages (Mozilla Readability test pages), gzipped HTML, and w3m text dumps of three.
    pages = DATA / "readability-pages"
    for name in HTML_PAGES:
        gz_write(OUT / "pages" / "html" / f"{name}.html.gz", (pages / name / "source.html").read_bytes())
    for name in DUMP_PAGES:
        dump = subprocess.run(["w3m", "-dump", "-T", "text/html", "-O", "UTF-8", "-cols", "80",
                               str(pages / name / "source.html")], capture_output=True, check=True).stdout
        (OUT / "pages" / "dumps" / f"{name}.txt").write_bytes(dump)
    shutil.copy(pages / "LICENSE.md", OUT / "pages" / "LICENSE-readability.md")
    shutil.copy(SHARED / "seeds" / "blms-peace-talks.txt", OUT / "pages" / "dumps" / "blms-peace-talks.txt")


if __name__ == "__main__":
    main()
