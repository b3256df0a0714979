"""The `newssearch` command: each subcommand is a thin call into the library."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

# Only what every command needs: the index machinery (tantivy, numpy), numba (related posts), trafilatura
# (extract) and the server are imported by the commands that use them, so `--help` starts at once.
from newssearch.errors import ArticleNotFound, IndexUnusable, QueryError
from newssearch.limits import BATCH_SIZE, MAX_LIMIT, SORTS
from newssearch.query.plain import plain

if TYPE_CHECKING:
    from newssearch.query.archive import Archive

DEFAULT_INDEX = "newssearch-index"
MAX_PROBLEM_LINES = 50

index_option = click.option("--index", "index_dir", default=lambda: os.environ.get("NEWSSEARCH_INDEX", DEFAULT_INDEX),
                            show_default=f"$NEWSSEARCH_INDEX, else {DEFAULT_INDEX}", metavar="DIR",
                            type=click.Path(file_okay=False), help="Index directory.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


# Control characters (a newline, ESC starting a terminal escape) and bidi overrides in file names or in
# indexed text are shown escaped: printed raw, they forge lines ("error: ...") or clear the screen.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: Any) -> str:
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _open(index_dir: str) -> Archive:
    from newssearch.query.archive import Archive

    try:
        return Archive.open(index_dir)
    except IndexUnusable as exc:
        raise click.ClickException(str(exc)) from None


# A QueryError names the library's parameter; on the command line it is this option or argument.
CLI_NAMES = {"q": "TEXT", "from": "--from", "to": "--to", "category": "--category", "site": "--site",
             "author": "--author", "sort": "--sort", "limit": "--limit", "page": "--page", "since": "--since",
             "k": "-k", "interval": "--interval"}


def _bad_parameter(exc: QueryError) -> click.BadParameter:
    return click.BadParameter(exc.message, param_hint=CLI_NAMES.get(exc.parameter, exc.parameter))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newssearch")
def cli() -> None:
    """Full-text search over news archives.

    \b
    newssearch index corpus/            read an archive into ./newssearch-index
    newssearch query "oil prices"       search it
    newssearch related ID               related posts of one article
    newssearch extract page.html        see what would be indexed from a page
    newssearch serve                    the search page and JSON API on :8000
    """


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Parser processes [default: one per core].")
@click.option("--batch-size", type=click.IntRange(1), default=BATCH_SIZE, show_default=True, metavar="N",
              help="Articles per commit: a crash loses at most this much work.")
@click.option("--follow-symlinks", is_flag=True,
              help="Follow symlinks met in directories wherever they point [default: only inside PATHS].")
@click.option("--shards", type=click.IntRange(1, 100_000), default=None, metavar="N",
              help="Write a sharded archive of about this many shards (the size cap is chosen to fit).")
@click.option("--shard-by", type=click.Choice(["year", "month", "none"]), default=None,
              help="Split a sharded archive by the articles' year or month [default: month].")
@click.option("--shard-size", type=click.IntRange(1), default=None, metavar="N",
              help="Articles per shard before a period is split by id hash (instead of --shards).")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Build on Ray: 'local' starts one here, 'auto' or ray://HOST:PORT joins a cluster.")
@json_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def index_cmd(paths: tuple[str, ...], index_dir: str, workers: int | None, batch_size: int,
              follow_symlinks: bool, shards: int | None, shard_by: str | None, shard_size: int | None,
              cluster: str | None, as_json: bool, quiet: bool) -> None:
    """Read the articles under PATHS into the index (created if needed).

    PATHS are files or directories, searched recursively: JSON Lines (.jsonl), JSON (.json), CSV (.csv,
    .tsv), HTML pages (.html), text page dumps (.txt) and Reuters SGML (.sgm), each optionally gzipped
    (.gz). Re-running updates changed articles, skips unchanged ones and never drops what is indexed.
    Bad input is reported (file and line) and skipped; the exit status is 1 if anything failed.

    With --shards, --shard-by, --shard-size or --cluster (or into a directory that is already sharded) it
    writes a sharded archive: one index per period (and id-hash bucket) and a manifest, searched as one.
    """
    bar = None
    if not quiet and not as_json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=0, unit="B", unit_scale=True, desc="indexing", file=sys.stderr)

    def progress(done: int, total: int, articles: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix(articles=articles, refresh=False)
            bar.refresh()

    from newssearch.indexer.build import build_index

    sharded = bool(shards or shard_by or shard_size or cluster) or (Path(index_dir) / "shards.json").is_file()
    runner = None
    try:
        if sharded:
            from newssearch.indexer.shards import LocalRunner, build_sharded

            if cluster:
                from newssearch.indexer.distributed import RayRunner

                runner = RayRunner(cluster, workers)
            report = build_sharded(paths, index_dir, shard_by=shard_by, shards=shards, shard_size=shard_size,
                                   runner=runner or LocalRunner(workers), batch_size=batch_size, progress=progress,
                                   follow_symlinks=follow_symlinks)
        else:
            report = build_index(paths, index_dir, workers=workers, batch_size=batch_size, progress=progress,
                                 follow_symlinks=follow_symlinks)
    except (IndexUnusable, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
        if runner is not None:
            runner.close()
    if as_json:
        _print_json(report.to_dict())
    else:
        for p in report.problems[:MAX_PROBLEM_LINES]:
            click.echo(f"error: {printable(p)}", err=True)
        if len(report.problems) > MAX_PROBLEM_LINES:
            click.echo(f"… and {len(report.problems) - MAX_PROBLEM_LINES} more problems (--json lists all)",
                       err=True)
        for n in report.notices[:MAX_PROBLEM_LINES]:
            click.echo(f"note: {n}", err=True)
        click.echo(report.summary())
    sys.exit(1 if report.failed else 0)


def _highlight(snippet_html: str) -> str:
    import html

    parts = re.split(r"(<b>.*?</b>)", snippet_html)
    return "".join(click.style(printable(html.unescape(p[3:-4])), bold=True, fg="yellow") if p.startswith("<b>")
                   else printable(html.unescape(p)) for p in parts)


@cli.command("query")
@click.argument("text", default="")
@index_option
@click.option("-c", "--category", "categories", multiple=True, metavar="NAME",
              help="Only this category; repeatable (any of). A path (World/Europe), case-blind, or a leaf name "
                   "(europe).")
@click.option("--from", "date_from", metavar="DATE",
              help="Published on or after: YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601.")
@click.option("--to", "date_to", metavar="DATE", help="Published on or before, inclusive: 1987-03 is through March.")
@click.option("--site", metavar="NAME", help="Only articles from this site (exact, case-blind).")
@click.option("--author", metavar="NAME", help="Only articles by this author (exact, case-blind).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True, help="Order of the hits.")
@click.option("-n", "--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True, metavar="N",
              help="Hits per page.")
@click.option("-p", "--page", type=click.IntRange(1), default=1, show_default=True, metavar="N", help="Page.")
@click.option("--interval", type=click.Choice(["month", "year"]), default=None,
              help="The date histogram's step [default: month when the matches fall within three calendar "
                   "years, else year].")
@click.option("--no-facets", is_flag=True, help="Skip category and date counts.")
@click.option("--recency", metavar="HALF_LIFE", default=None,
              help="Rank relevant-and-recent: scores halve per HALF_LIFE of age (30d, 2w, 6m, 1y).")
@click.option("--no-fold", is_flag=True, help="List every copy of a story (syndicated near-duplicates) "
                                               "instead of one hit per story.")
@json_option
def query_cmd(text: str, index_dir: str, categories: tuple[str, ...], date_from: str | None,
              date_to: str | None, site: str | None, author: str | None, sort: str, limit: int, page: int,
              interval: str | None, no_facets: bool, recency: str | None, no_fold: bool,
              as_json: bool) -> None:
    """Search the index. TEXT is read as a search box reads it: a question or keywords (articles with
    more of the words, rarer ones and closer together rank first; misspelt words are corrected);
    +word and "exact phrases" must match, -word must not; AND/OR/NOT formulas; field:value for title,
    body, author, site and category. An empty TEXT lists everything.

    Options go before `--`; everything after it is TEXT, so a query that starts with '-' follows it:
    newssearch query -n 5 -- '-sport'
    """
    archive = _open(index_dir)
    try:
        result = archive.search(text, categories=list(categories), date_from=date_from, date_to=date_to,
                                site=site, author=author, sort=sort, limit=limit, page=page,
                                facets=not no_facets, interval=interval, recency=recency, fold=not no_fold)
    except QueryError as exc:
        raise _bad_parameter(exc) from None
    if as_json:
        _print_json(result.to_dict())
        return
    for w in result.warnings:
        click.echo(f"note: {w}", err=True)
    if result.did_you_mean:
        click.echo("Did you mean: " + click.style(result.did_you_mean, bold=True) + "?")
    shown = f"{(page - 1) * limit + 1}–{(page - 1) * limit + len(result.hits)}" if result.hits else "none"
    stories = f" in {result.stories:,} stories" if result.folded and result.stories != result.total else ""
    click.echo(f"{result.total:,} results{stories} ({result.took_ms:.1f} ms) · showing {shown} · page {page} of "
               f"{result.pages} · sorted by {result.sort}\n")
    for i, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo(f"{i:>3}. " + click.style(printable(hit.title), bold=True))
        meta = [hit.date[:10] if hit.date else "undated", ", ".join(hit.categories) or "uncategorised"]
        meta += [x for x in (hit.site, ", ".join(hit.authors)) if x]
        click.echo("     " + click.style(printable(" · ".join(meta)), dim=True))
        where = f"id: {hit.id}" + (f"  url: {hit.url}" if hit.url and hit.url != hit.id else "")
        click.echo("     " + click.style(printable(where),
                                         dim=True))
        click.echo("     " + _highlight(hit.snippet))
        if hit.copies:
            click.echo("     " + click.style(f"+{hit.copies} {'copy' if hit.copies == 1 else 'copies'}: "
                                             + ", ".join(hit.copy_ids) + (" …" if hit.copies > len(hit.copy_ids)
                                                                          else ""), dim=True))
        click.echo()
    if result.facets:
        _print_facets(result.facets)


FACET_CATEGORIES = 12  # categories on the query's facet line; stats shows STATS_CATEGORIES
STATS_CATEGORIES = 40


def _category_line(counts: list[tuple[str, int]], uncategorised: int, shown: int) -> str:
    """"a (3) · b (2) · uncategorised (4) · … 7 more": the counts of what a person can filter by, and
    how much is not shown."""
    parts = [f"{name} ({count:,})" for name, count in counts[:shown]]
    if uncategorised:
        parts.append(f"uncategorised ({uncategorised:,})")
    if len(counts) > shown:
        parts.append(f"… {len(counts) - shown} more")
    return " · ".join(parts)


def _print_facets(facets: Any) -> None:
    if facets.categories or facets.uncategorised:
        click.echo("Categories: " + _category_line([(c.category, c.count) for c in facets.categories],
                                                   facets.uncategorised, FACET_CATEGORIES))
    buckets = facets.dates
    if buckets or facets.undated:
        click.echo(f"By {facets.date_interval}:")
        rows = [(b.start, b.count) for b in buckets] + ([("undated", facets.undated)] if facets.undated else [])
        top = max(count for _, count in rows) or 1
        for label, count in rows:
            click.echo(f"  {label:>7}  {'█' * max(0, round(30 * count / top)):<30} {count:,}")


@cli.command("extract")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["html", "pagedump"]), default=None,
              help="Page kind [default: by extension, as `index` decides; by content for other names].")
@click.option("--url", default=None, help="The page's URL, if known (used as its id).")
@json_option
def extract_cmd(files: tuple[str, ...], kind: str | None, url: str | None, as_json: bool) -> None:
    """Show the article the indexer would store for each page (HTML or a text page dump)."""
    from newssearch.indexer.extract import extract
    from newssearch.indexer.formats import BY_NAME, PAGE, SNIFF_BYTES, decide_format
    from newssearch.indexer.pagedump import template_for
    from newssearch.indexer.sources import read_bytes

    failed = False
    out = []
    for f in files:
        try:
            data = read_bytes(Path(f))
            # The rule `index` reads files by; --kind overrides it.
            fmt = BY_NAME[kind] if kind else decide_format(f, data[:SNIFF_BYTES])
            if fmt.family != PAGE:
                raise ValueError(f"a {fmt.label} holds many articles, and `extract` shows one page (HTML or a "
                                 f"text page dump); index it (`newssearch index {f}`) and search it instead")
            # As the indexer does: a dump's site template is learnt from the dumps beside it.
            template = template_for(f) if fmt.name == "pagedump" else frozenset()
            article = extract(data, url=url, kind=fmt.name, source=f, template=template)
        except (OSError, ValueError) as exc:
            click.echo(f"error: {printable(f)}: {printable(exc)}", err=True)
            failed = True
            continue
        if as_json:
            out.append(article.to_dict())
            continue
        d = article.to_dict()
        if d["date"] and d["local_date"] and not d["date"].startswith(d["local_date"]):
            d["date"] += f" ({d['local_date']} on the page)"  # the page's own day, a different one in UTC
        for key in ("title", "date", "authors", "categories", "site", "url", "id"):
            value = ", ".join(d[key]) if isinstance(d[key], list) else d[key]
            click.echo(f"{key:>10}: {printable(value) if value else '—'}")
        body = "\n".join(map(printable, article.body.split("\n")))
        click.echo(f"{'body':>10}: {len(article.body.split())} words\n\n{body}\n")
    if as_json:
        _print_json(out)
    sys.exit(1 if failed else 0)


@cli.command("related")
@click.argument("article_id", required=False)
@index_option
@click.option("-k", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True, metavar="N", help="How many.")
@click.option("--same-category", is_flag=True, help="Only articles sharing one of its categories.")
@click.option("--since", metavar="DATE", help="Only articles published on or after this date.")
@click.option("--all", "all_articles", is_flag=True, help="Every article's related posts, as JSON Lines.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="With --all: the JSON Lines file.")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="With --all on a sharded archive: a Ray task per shard ('local', 'auto' or ray://HOST:PORT).")
@json_option
def related_cmd(article_id: str | None, index_dir: str, k: int, same_category: bool, since: str | None,
                all_articles: bool, out: str | None, cluster: str | None, as_json: bool) -> None:
    """Related posts: the articles most like ARTICLE_ID by BM25 (never itself or its copies).

    With --all --out FILE, computes them for the whole archive at once and writes one JSON line per
    article: {"id", "related": [ids], "scores": [BM25]}.
    """
    archive = _open(index_dir)
    if all_articles:
        if article_id or not out:
            raise click.UsageError("use either ARTICLE_ID or --all --out FILE")
        runner = None
        if cluster:
            from newssearch.indexer.distributed import RayRunner

            try:
                runner = RayRunner(cluster)
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None
        try:
            _write_all_related(archive, k, out, runner)
        finally:
            if runner is not None:
                runner.close()
        return
    if not article_id:
        raise click.UsageError("give an ARTICLE_ID (from `newssearch query`), or --all --out FILE")
    from newssearch.query.related import compile_notice

    try:
        with compile_notice(_say_compiling):
            hits = archive.related(article_id, k=k, same_category=same_category, since=since)
    except ArticleNotFound as exc:
        raise click.BadParameter(f"{exc} in {index_dir}", param_hint="ARTICLE_ID") from None
    except QueryError as exc:
        raise _bad_parameter(exc) from None
    if as_json:
        _print_json([plain(h) for h in hits])
        return
    for i, h in enumerate(hits, 1):
        meta = " · ".join([h.date[:10] if h.date else "undated", ", ".join(h.categories) or "uncategorised"])
        click.echo(f"{i:>3}. {click.style(printable(h.title), bold=True)}  {click.style(f'{h.score:.2f}', dim=True)}")
        click.echo("     " + click.style(printable(f"{meta} · id: {h.id}"), dim=True))


def _say_compiling() -> None:
    click.echo("compiling the related-posts kernel, once after installing (seconds to a minute, by the "
               "machine); later runs load it from numba's cache…", err=True)


def _write_all_related(archive: Archive, k: int, out: str, runner: Any = None) -> None:
    import time

    from newssearch.query.related import compile_notice

    started = time.perf_counter()
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=len(archive), desc="related posts", unit="article", file=sys.stderr)
    progress = (lambda done: bar.update(done - bar.n)) if bar else None
    with compile_notice(_say_compiling):
        if runner is not None:
            if not hasattr(archive, "manifest"):
                raise click.UsageError("--cluster needs a sharded archive (newssearch index … --shards N)")
            ids, rows, scores = archive.related_all(k, progress=progress, runner=runner)
        else:
            ids, rows, scores = archive.related_all(k, progress=progress)
    if bar:
        bar.close()
    computed = time.perf_counter() - started
    with open(out, "w", encoding="utf-8") as fh:
        for i in range(len(ids)):
            keep = rows[i] >= 0
            fh.write(json.dumps({"id": ids[i], "related": [ids[j] for j in rows[i][keep]],
                                 "scores": [round(float(s), 4) for s in scores[i][keep]]}, ensure_ascii=False)
                     + "\n")
    click.echo(f"related posts of {len(ids):,} articles computed in {computed:.2f} s, written to {out}")


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, metavar="N")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="URL",
              help="A site origin allowed to call the API from its pages (repeatable), e.g. https://news.example.")
@click.option("--workers", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default="one per core",
              metavar="N",
              help="Server processes (each uses about one core).")
@click.option("--cache-size", type=click.IntRange(0, 1_000_000), default=4096, show_default=True, metavar="N",
              help="Answers to /search and /suggest each worker keeps until the index changes (0: none).")
@click.option("--threads", type=click.IntRange(1, 1000), default=2, show_default=True, metavar="N",
              help="Requests each worker works on at once; the rest wait in line.")
@click.option("--header-timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds a client has to send a request's line and headers (slow clients are cut off).")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="A sharded archive's shards held by Ray actors ('local', 'auto', ray://HOST:PORT); one worker.")
def serve_cmd(index_dir: str, host: str, port: int, cors_origins: tuple[str, ...], workers: int,
              cache_size: int, threads: int, header_timeout: float, cluster: str | None) -> None:
    """Serve the search page and the JSON API (read-only) over HTTP.

    \b
    GET /                                the search page
    GET /search?q=&category=&from=&to=&sort=&page=&limit=
    GET /suggest?q=                      search-as-you-type
    GET /articles/ID, /articles/ID/related?k=
    GET /categories, /health, /openapi.json
    """
    from newssearch.cli.server import serve

    if cluster:  # the one server process joins the cluster; its shard actors do the searching
        from newssearch.indexer.shards import is_sharded
        from newssearch.query.sharded import CLUSTER_ENV

        if not is_sharded(index_dir):
            raise click.UsageError("--cluster serves a sharded archive (newssearch index … --shards N)")
        os.environ[CLUSTER_ENV] = cluster
        workers = 1
    else:
        _open(index_dir)  # a clear message now rather than a failing server
    click.echo(f"newssearch serving {index_dir} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    serve(index_dir, host=host, port=port, cors_origins=list(cors_origins), workers=workers,
          cache_size=cache_size, threads=threads, header_timeout_s=header_timeout)


@cli.command("stats")
@index_option
@click.option("--all", "show_all", is_flag=True, help=f"Every category [default: the {STATS_CATEGORIES} largest].")
@json_option
def stats_cmd(index_dir: str, show_all: bool, as_json: bool) -> None:
    """What the index holds: articles, years (and how many are undated), categories (and how many
    articles have none)."""
    stats = _open(index_dir).stats()
    if as_json:
        _print_json(stats)
        return
    click.echo(f"{stats['index']}: {stats['articles']:,} articles in {stats['segments']} segments")
    years = [f"{y['start']} ({y['count']:,})" for y in stats["years"] if y["count"]]
    if stats["undated"]:
        years.append(f"undated ({stats['undated']:,})")
    click.echo("Years: " + (" · ".join(years) or "none"))
    cats = [(c["category"], c["count"]) for c in stats["categories"]]
    shown = len(cats) if show_all else STATS_CATEGORIES
    click.echo(f"Categories ({len(cats)}): " + _category_line(cats, stats["uncategorised"], shown)
               + (" (--all lists every one)" if len(cats) > shown else ""))


def main() -> None:
    cli(prog_name="newssearch")


if __name__ == "__main__":
    main()
