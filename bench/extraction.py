"""Article extraction: ours against trafilatura on the same real pages, as HTML and as page dumps.

    pip install -e '.[bench]'          # and Debian's w3m for the dumps
    python bench/extraction.py         # both sets below
    python bench/extraction.py --set readability --pages bbc-1 cnn --show   # a few pages, with their scores
    python bench/extraction.py --set wcxb --half a     # half of WCXB's sites (b: the other half)
    python bench/extraction.py --set wcxb --half a --split file   # halves by a hash of the file name

WCXB (../shared/data/wcxb-dev: 1,358 reviewed pages of seven types): body text scored by the benchmark's own
`word_f1` (evaluate.py: bag-of-words F1 on its tokenizer), per page type; on the pages that state them, the
title (the visible headline, equal after normalising case, quotes and spaces: a site name left in is wrong),
the publication date (the same calendar day as the page states it: ours is the day in the page's own time
zone, `Article.local_date`) and the authors (every name we give stands in the stated byline, and its first
name is among them). trafilatura: `extract(include_comments=False)` as WCXB's README measures
it, its metadata from `extract_metadata()` (untimed); both are given the page's URL, as a crawl would, and
so are our page dumps (Readability's pages come without theirs).
The w3m dumps' title, date and author are scored alike. Rates: pages per second of each, in the same run, on one
core: CPU seconds of this process (`time.process_time`), so other work on the machine does not count; which
of the two runs first alternates from page to page (the second finds the page warm in the caches).

Mozilla Readability's test set (../shared/data/readability-pages, 130 pages), for each page: body text scored by word 4-gram F1 against the text of
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
import gzip
import json
import re
import shutil
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
    """`w3m -dump` of a readability page folder or a WCXB NNNN.html.gz, kept in cache."""
    out = cache / f"{page.name.removesuffix('.html.gz')}.txt"
    if not out.exists():
        html = gzip.decompress(page.read_bytes()) if page.suffix == ".gz" else (page / "source.html").read_bytes()
        dump = subprocess.run(["w3m", "-dump", "-T", "text/html", "-O", "UTF-8", "-cols", "80"], input=html,
                              capture_output=True, check=True).stdout
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
    t = time.process_time()
    try:
        a = extract(content, kind=kind, template=template)
    except ValueError:
        a = None
    s.seconds += time.process_time() - t
    return a


def timed_pair(seconds: dict[str, float], i: int, first: tuple, second: tuple) -> tuple:
    """Run two extractors on one page, each timed (CPU seconds) into seconds[name]; which runs first
    alternates from page to page: the second one finds the page's bytes warm in the CPU's caches (about
    2% on WCXB), so a fixed order would favour one of them. Returns their results in the order given."""
    out = {}
    for name, run in (first, second) if i % 2 == 0 else (second, first):
        t = time.process_time()
        out[name] = run()
        seconds[name] += time.process_time() - t
    return out[first[0]], out[second[0]]


def run_html_pair(systems: dict[str, Score], html: bytes, i: int):
    """Ours and trafilatura's extract() on one page, timed in alternating order (timed_pair)."""
    import trafilatura

    def ours():
        try:
            return extract(html, kind="html")
        except ValueError:
            return None

    seconds = {"html ours": 0.0, "html trafilatura": 0.0}
    a, text = timed_pair(seconds, i, ("html ours", ours), ("html trafilatura", lambda: trafilatura.extract(
        html, include_comments=False)))
    for name, spent in seconds.items():
        systems[name].seconds += spent
    return a, text


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


WCXB = DATA / "wcxb-dev"
WCXB_TYPES = ("article", "forum", "product", "collection", "listing", "documentation", "service")


def warm_up() -> None:
    """Imports and first-call set-up out of the timings: one page through each, untimed."""
    import trafilatura
    html = (PAGES / "bbc-1" / "source.html").read_bytes()
    extract(html, kind="html")
    trafilatura.extract(html, include_comments=False)
    # htmldate's free-text search (pages that state no date) loads dateparser's locales on its first use:
    # ~2 s once per process, which one page of either extractor may or may not trigger.
    try:
        from htmldate.extractors import get_external_parser  # htmldate 1.x's own lazy loader
        get_external_parser().get_date_data("Posted 12 Dec 2025 by the desk")
    except ImportError:
        pass


def wcxb_word_f1():
    """The benchmark's own scorer (its evaluate.py), so figures compare with the published ones."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("wcxb_evaluate", WCXB / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.word_f1


def site_half(url: str | None) -> str:
    """"a" or "b": a fixed split of sites (not pages), to tune on one half and check on the other."""
    import hashlib
    from urllib.parse import urlsplit
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    return "ab"[hashlib.sha1(host.encode()).digest()[0] & 1]


def half_of(url: str | None, file_id: str, split: str) -> str:
    """The half a page falls in: by its site (default: no site on both sides, the stricter check) or by
    a hash of its file name."""
    import hashlib
    if split == "file":
        return "ab"[hashlib.sha1(file_id.encode()).digest()[0] & 1]
    return site_half(url)


def wcxb_title_ok(got: str | None, expected: str) -> bool:
    return bool(got) and _norm(got) == _norm(expected)


def wcxb_author_ok(got: list[str], expected: str) -> bool:
    """Every name we give stands in the stated byline, and the first name it states is among them ("Ann
    Lee" for "Ann Lee, MD" or "Ann Lee and Bo Li" is right; "View all posts by Ann Lee" or the site's name
    is not)."""
    want = _norm(expected)
    names = [_norm(a) for a in got if _norm(a)]
    if not names or not all(n in want for n in names):
        return False
    first = re.split(r",|;|&|\band\b", want)[0].strip()
    return any(first in n for n in names)


def wcxb_date_ok(got: str | None, expected: str) -> bool:
    return bool(got) and got[:len(expected)] == expected


def run_wcxb(args, cache: Path) -> None:
    import trafilatura
    word_f1 = wcxb_word_f1()
    systems = ["html ours", "html trafilatura"] + (["dump ours", "dump whole"] if args.dumps else [])
    f1s = {s: {} for s in systems}  # system -> type -> [F1]
    splits = ("site", "file")
    by_half = {(sp, s): {"a": [], "b": []} for sp in splits for s in systems}  # -> half -> [F1], all types
    meta_half = {(sp, s): {w: {"a": [], "b": []} for w in ("title", "date", "author")}
                 for sp in splits for s in systems}  # article pages only
    scored = systems[:3] if args.dumps else systems[:2]  # the systems whose metadata is scored
    meta = {s: {k: {} for k in ("title", "date", "author")} for s in scored}  # -> type -> [bool]
    seconds = dict.fromkeys(systems[:2], 0.0)
    n = 0
    files = sorted((WCXB / "ground-truth").glob("*.json"))
    warm_up()
    for gt_file in files:
        data = json.loads(gt_file.read_text(encoding="utf-8"))
        gt = data.get("ground_truth") or {}
        kind = ((data.get("_internal") or {}).get("page_type") or {}).get("primary", "article")
        if args.half and half_of(data.get("url"), gt_file.stem, args.split) != args.half or \
                args.types and kind not in args.types:
            continue
        if args.limit and n >= args.limit:
            break
        n += 1
        html = gzip.decompress((WCXB / "html" / f"{gt_file.stem}.html.gz").read_bytes())
        want = gt.get("main_content") or ""

        url = data.get("url")  # both are told where the page came from, as a crawl tells them

        def ours():
            try:
                return extract(html, url=url, kind="html")
            except ValueError:
                return None

        a, text = timed_pair(seconds, n, ("html ours", ours), ("html trafilatura", lambda: trafilatura.extract(
            html, url=url, include_comments=False)))
        m = trafilatura.extract_metadata(html, default_url=url)
        found = {"html ours": (a.body if a else "", a and a.title, a.authors if a else [], a and a.local_date),
                 "html trafilatura": (text or "", m and m.title, [m.author] if m and m.author else [],
                                      m and m.date)}
        if args.dumps:
            dump = w3m_dump(WCXB / "html" / f"{gt_file.stem}.html.gz", cache)
            try:
                d = extract(dump, url=url, kind="pagedump")
            except ValueError:
                d = None
            found["dump ours"] = (d.body if d else "", d and d.title, d.authors if d else [], d and d.local_date)
            found["dump whole"] = (dump, None, [], None)
        row = [gt_file.stem, kind]
        halves = {sp: half_of(url, gt_file.stem, sp) for sp in splits}
        for name in systems:
            body, title, authors, day = found[name]
            f1 = word_f1(body, want)[2]
            f1s[name].setdefault(kind, []).append(f1)
            for sp in splits:
                by_half[sp, name][halves[sp]].append(f1)
            row.append(f"{name} {f1:.3f}")
            if name in meta:
                for what, ok in (("title", gt.get("title") and wcxb_title_ok(title, gt["title"])),
                                 ("date", gt.get("publish_date") and wcxb_date_ok(day, gt["publish_date"])),
                                 ("author", gt.get("author") and wcxb_author_ok(authors, gt["author"]))):
                    if gt.get({"date": "publish_date"}.get(what, what)):
                        meta[name][what].setdefault(kind, []).append(bool(ok))
                        for sp in splits:
                            if kind == "article":
                                meta_half[sp, name][what][halves[sp]].append(bool(ok))
        if args.show:
            print("  ".join(row))

    def mean(values: list[float]) -> str:
        return f"{sum(values) / len(values):.3f}" if values else "    -"

    half = f", half {args.half} (split by {args.split})" if args.half else ""
    print(f"\nWCXB dev: {n} pages{half}. Body F1 (WCXB's word_f1), per page type:")
    print(f"{'type':14s} {'pages':>5s} " + " ".join(f"{s:>16s}" for s in systems))
    kinds = [k for k in WCXB_TYPES if k in f1s["html ours"]]
    for kind in kinds + ["all types"]:
        cells = [sum(f1s[s].values(), []) if kind == "all types" else f1s[s][kind] for s in systems]
        print(f"{kind:14s} {len(cells[0]):5d} " + " ".join(f"{mean(c):>16s}" for c in cells))
    print(f"\nMetadata right, on the pages that state it ({', '.join(scored)}):")
    for kind in ("article", "all types"):
        for what in ("title", "date", "author"):
            cells = []
            for s in scored:
                v = sum(meta[s][what].values(), []) if kind == "all types" else meta[s][what].get(kind, [])
                cells.append(f"{sum(v) / len(v):6.1%} ({sum(v)}/{len(v)})" if v else "-")
            print(f"  {kind:10s} {what:7s} " + "  ".join(f"{c:>18s}" for c in cells))
    for sp in splits if not args.half else ():
        how = "sites: tuned on a, b held out" if sp == "site" else "a hash of the file name"
        print(f"\nBy half (split by {how}): all types body F1, then article metadata")
        for half in "ab":
            cells = "  ".join(f"{s} {mean(by_half[sp, s][half])}" for s in systems)
            print(f"  half {half}: {len(by_half[sp, systems[0]][half])} pages  {cells}")
            for what in ("title", "date", "author"):
                cells = "  ".join(f"{s} {sum(v) / len(v):6.1%} ({sum(v)}/{len(v)})" for s in scored
                                  if (v := meta_half[sp, s][what][half]))
                print(f"    {what:7s} {cells}")
    ours, ref = seconds["html ours"], seconds["html trafilatura"]
    print(f"\npages/s, one core: ours {n / ours:.1f}, trafilatura {n / ref:.1f} (ours/trafilatura "
          f"{ref / ours:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=["readability", "wcxb", "all"], default="all", help="which page set")
    ap.add_argument("--pages", nargs="*", help="readability: only these page folders (default: all)")
    ap.add_argument("--half", choices=["a", "b"], help="wcxb: only the pages of this half")
    ap.add_argument("--split", choices=["site", "file"], default="site",
                    help="wcxb: halves by site (default) or by a hash of the file name")
    ap.add_argument("--types", nargs="*", choices=WCXB_TYPES, help="wcxb: only these page types")
    ap.add_argument("--limit", type=int, help="wcxb: at most this many pages")
    ap.add_argument("--no-dumps", dest="dumps", action="store_false", help="wcxb: skip the w3m dumps")
    ap.add_argument("--work", help="folder for the w3m dumps (default: a new temporary one)")
    ap.add_argument("--show", action="store_true", help="print each page's scores")
    ap.add_argument("--json", help="readability: also write per-page scores to this JSON file")
    args = ap.parse_args()
    if not PAGES.exists():  # a clone has no ../shared/data, and corpus/ has no expected texts to score against
        print(f"skipped: needs {PAGES} (Mozilla Readability's test pages with their expected text), which a "
              "clone of newssearch does not have", file=sys.stderr)
        return
    cache = workdir(args.work, "newssearch-extraction-")
    if args.dumps and not shutil.which("w3m"):
        print("w3m is not installed: no page dumps (apt-get install w3m)", file=sys.stderr)
        args.dumps = False
    if args.set in ("readability", "all"):
        run_readability(args, cache)
    if args.set in ("wcxb", "all"):
        run_wcxb(args, cache)


def run_readability(args, cache: Path) -> None:
    import trafilatura
    warm_up()

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

        a, text = run_html_pair(systems, html, len(rows))
        row["html ours"] = score_ours(systems["html ours"], a, want, meta)
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
    print(f"\nReadability's pages: {n} pages from {PAGES} (HTML {html_bytes / 1e6:.1f} MB; w3m dumps {dump_bytes / 1e6:.1f} MB)")
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
