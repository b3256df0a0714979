"""Article extraction: ours against trafilatura on the same real pages, as HTML and as page dumps.

    pip install -e '.[bench]'          # and Debian's w3m for the dumps
    python bench/extraction.py         # ../shared/data/readability-pages (130 real pages)
    python bench/extraction.py --pages bbc-1 cnn --show   # a few pages, with their scores

For each page of Mozilla Readability's test set: body text scored by word 4-gram F1 against the text of
`expected.html` (precision, recall and F1 per page, then averaged over pages; a page with no text extracted
scores 0; CJK characters count as words), and title, byline and date compared with `expected-metadata.json`
on the pages that state them (a title is right with or without the site's name; a date on the stated day).

HTML: ours (`newssearch.indexer.extract`) beside trafilatura's plain `extract()` — the reference.
Page dumps (`w3m -dump` of the same HTML): ours beside the whole dump taken as the body (the floor); and ours
with the site template learnt as the indexer learns it from a folder of one site's dumps (pages named
site-1, site-2…, three or more of a site: nytimes, yahoo, wikipedia, medium, rtl, lazy-image, base-url).
Rates: pages per second for each extraction path, timed in this run on the same pages.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from corpora import DATA, workdir  # bench/corpora.py, beside this script

from newssearch.indexer import extract
from newssearch.indexer.pagedump import site_template
from newssearch.indexer.scoring import expected_text, ngram_prf, words

PAGES = DATA / "readability-pages"


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(str.maketrans("‘’“”–—", "''\"\"--"))
    return " ".join(text.split()).strip(" .")


_SEPARATED = re.compile(r"\s*[|\-·_:»/\[(•~]\s*\S.*|.*\S\s*[|\-·_:»/\])•~]\s*")


def title_ok(got: str | None, expected: str) -> bool:
    """Right when it is the stated title, with or without the site's name ("Mozilla" for "Mozilla -
    Wikipedia", "Title | Aktuálně.cz" for "Title"): what is left over must be set off by a separator and
    be at most six words long."""
    if not got:
        return False
    g, e = _norm(got), _norm(expected)
    if g == e:
        return True
    long, short = (g, e) if len(g) > len(e) else (e, g)
    if not short:
        return False
    rests = [long[len(short):]] if long.startswith(short) else []
    rests += [long[:-len(short)]] if long.endswith(short) else []
    return any(_SEPARATED.fullmatch(r) and len(words(r)) <= 6 for r in rests)


def byline_ok(got: list[str], expected: str) -> bool:
    """Right when a name we found is the stated byline, or stands in it ("By Ann Lee, Reporter")."""
    want = re.sub(r"^by\s+", "", _norm(expected))
    return any(_norm(a) and (_norm(a) in want or want in _norm(a)) for a in got)


def date_ok(got: datetime | None, expected: str) -> bool:
    """Right on the stated calendar day, read in the page's own time zone or in UTC."""
    if got is None:
        return False
    try:
        want = datetime.fromisoformat(expected.replace("Z", "+00:00"))
    except ValueError:
        return False
    days = {want.date()}
    if want.tzinfo is not None:
        days.add(want.astimezone(timezone.utc).date())
    return got.date() in days


@dataclass
class Score:
    prf: list[tuple[float, float, float]] = field(default_factory=list)
    meta: dict[str, list[bool]] = field(default_factory=lambda: {"title": [], "byline": [], "date": []})
    failed: int = 0
    seconds: float = 0.0

    def mean(self, i: int) -> float:
        return sum(x[i] for x in self.prf) / len(self.prf)

    def share(self, what: str) -> str:
        v = self.meta[what]
        return f"{sum(v) / len(v):6.1%} ({sum(v)}/{len(v)})" if v else "     -"


def w3m_dump(page: Path, cache: Path) -> str:
    out = cache / f"{page.name}.txt"
    if not out.exists():
        dump = subprocess.run(["w3m", "-dump", "-T", "text/html", "-O", "UTF-8", "-cols", "80",
                               str(page / "source.html")], capture_output=True, check=True).stdout
        out.write_bytes(dump)
    return out.read_text(encoding="utf-8", errors="replace")


def site_templates(dumps: dict[str, str]) -> dict[str, frozenset[str]]:
    """Each page's site template, learnt from the dumps of its site (site-1, site-2, …; site-a-b-c…)."""
    sites: dict[str, list[str]] = {}
    for name in dumps:
        sites.setdefault(re.sub(r"(?:-base-element(?:-relative)?|-\d+)$", "", name), []).append(name)
    out = {}
    for names in sites.values():
        if len(names) >= 3:
            template = site_template([dumps[n] for n in names])
            out.update((n, template) for n in names)
    return out


def run_ours(s: Score, content: bytes | str, kind: str, template: frozenset[str] = frozenset()):
    """Our extraction, timed into s; None when it finds no article."""
    t = time.perf_counter()
    try:
        a = extract(content, kind=kind, template=template)
    except ValueError:
        a = None
    s.seconds += time.perf_counter() - t
    return a


def score(s: Score, text: str | None, want: str, meta: dict, title: str | None = None,
          authors: list[str] = (), date: datetime | None = None) -> tuple[float, float, float]:
    """Body F1 of text into s, and the metadata found against what `meta` states (pass {} to skip it)."""
    prf = ngram_prf(text, want) if text else (0.0, 0.0, 0.0)
    s.prf.append(prf)
    s.failed += text is None
    if meta.get("title"):
        s.meta["title"].append(title_ok(title, meta["title"]))
    if meta.get("byline"):
        s.meta["byline"].append(byline_ok(list(authors), meta["byline"]))
    if meta.get("publishedTime"):
        s.meta["date"].append(date_ok(date, meta["publishedTime"]))
    return prf


def score_ours(s: Score, a, want: str, meta: dict) -> tuple[float, float, float]:
    if a is None:
        return score(s, None, want, meta)
    return score(s, a.body, want, meta, a.title, a.authors, a.date)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", nargs="*", help="only these page folders (default: all)")
    ap.add_argument("--work", help="folder for the w3m dumps (default: a new temporary one)")
    ap.add_argument("--show", action="store_true", help="print each page's scores")
    ap.add_argument("--json", help="also write per-page scores to this JSON file")
    args = ap.parse_args()
    if not PAGES.exists():  # a clone has no ../shared/data, and corpus/ has no expected texts to score against
        print(f"skipped: needs {PAGES} (Mozilla Readability's test pages with their expected text), which a "
              "clone of newssearch does not have", file=sys.stderr)
        return
    cache = workdir(args.work, "newssearch-extraction-")
    import trafilatura

    pages = sorted(p for p in PAGES.iterdir() if (p / "source.html").exists()
                   and (not args.pages or p.name in args.pages))
    systems = {name: Score() for name in ("html ours", "html trafilatura", "dump ours", "dump ours+site",
                                          "dump whole")}
    dumps = {page.name: w3m_dump(page, cache) for page in pages}
    templates = site_templates(dumps)
    rows = []
    html_bytes = dump_bytes = 0
    for page in pages:
        html = (page / "source.html").read_bytes()
        meta = json.loads((page / "expected-metadata.json").read_text(encoding="utf-8"))
        want = expected_text(page)
        dump = dumps[page.name]
        html_bytes += len(html)
        dump_bytes += len(dump.encode())
        row = {"page": page.name}

        a = run_ours(systems["html ours"], html, "html")
        row["html ours"] = score_ours(systems["html ours"], a, want, meta)

        t = time.perf_counter()
        text = trafilatura.extract(html)
        systems["html trafilatura"].seconds += time.perf_counter() - t
        m = trafilatura.extract_metadata(html)  # its metadata, outside the timing (extract() skips it)
        row["html trafilatura"] = score(systems["html trafilatura"], text, want, meta, m and m.title,
                                        [m.author] if m and m.author else [],
                                        datetime.fromisoformat(m.date) if m and m.date else None)

        a = run_ours(systems["dump ours"], dump, "pagedump")
        row["dump ours"] = score_ours(systems["dump ours"], a, want, meta)
        a = run_ours(systems["dump ours+site"], dump, "pagedump", templates.get(page.name, frozenset()))
        row["dump ours+site"] = score_ours(systems["dump ours+site"], a, want, meta)
        row["dump whole"] = score(systems["dump whole"], dump, want, {})
        rows.append(row)
        if args.show:
            cells = "  ".join(f"{k} {row[k][2]:.3f}" for k in systems)
            print(f"{page.name:40s} {cells}")

    n = len(pages)
    print(f"\n{n} pages from {PAGES} (HTML {html_bytes / 1e6:.1f} MB; w3m dumps {dump_bytes / 1e6:.1f} MB)")
    print(f"{'':18s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'failed':>6s}   "
          f"{'title':>14s} {'byline':>14s} {'date':>14s} {'pages/s':>8s}")
    for name, s in systems.items():
        rate = f"{n / s.seconds:8.1f}" if s.seconds else "       -"
        print(f"{name:18s} {s.mean(0):9.3f} {s.mean(1):7.3f} {s.mean(2):6.3f} {s.failed:6d}   "
              f"{s.share('title'):>14s} {s.share('byline'):>14s} {s.share('date'):>14s} {rate}")
    ours, ref = systems["html ours"], systems["html trafilatura"]
    dump = systems["dump ours"]
    print(f"\nHTML body F1 ours / trafilatura: {ours.mean(2) / ref.mean(2):.3f}")
    print(f"page dump body F1 ours / whole dump: {dump.mean(2) / systems['dump whole'].mean(2):.3f}")
    grouped = [r for r in rows if r["page"] in templates]
    if grouped:
        mean = {k: sum(r[k][2] for r in grouped) / len(grouped) for k in ("dump ours", "dump ours+site")}
        print(f"page dump body F1 on the {len(grouped)} pages of sites with 3+ pages: "
              f"{mean['dump ours']:.3f} alone, {mean['dump ours+site']:.3f} with the site template")
    print(f"page dump extraction is {(n / dump.seconds) / (n / ours.seconds):.1f}x the HTML rate "
          f"({n / dump.seconds:.0f} vs {n / ours.seconds:.0f} pages/s, one core)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
