"""The `newssearch` command: each subcommand is a thin call into the library."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from newssearch.indexer.build import BATCH_SIZE, build_index
from newssearch.indexer.schema import IndexError_
from newssearch.query.archive import MAX_LIMIT, SORTS, Archive
from newssearch.query.parse import QueryError
from newssearch.query.plain import plain

DEFAULT_INDEX = os.environ.get("NEWSSEARCH_INDEX", "newssearch-index")
MAX_PROBLEM_LINES = 50

index_option = click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True,
                            type=click.Path(file_okay=False),
                            help="Index directory (or set NEWSSEARCH_INDEX).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _open(index_dir: str) -> Archive:
    try:
        return Archive.open(index_dir)
    except IndexError_ as exc:
        raise click.ClickException(str(exc)) from None


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
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Parser processes [default: one per core].")
@click.option("--batch-size", type=click.IntRange(1), default=BATCH_SIZE, show_default=True,
              help="Articles per commit: a crash loses at most this much work.")
@json_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def index_cmd(paths: tuple[str, ...], index_dir: str, workers: int | None, batch_size: int, as_json: bool,
              quiet: bool) -> None:
    """Read the articles under PATHS into the index (created if needed).

    PATHS are files or directories, searched recursively: JSON Lines (.jsonl), JSON (.json), CSV (.csv,
    .tsv), HTML pages (.html), text page dumps (.txt) and Reuters SGML (.sgm), each optionally gzipped
    (.gz). Re-running updates changed articles, skips unchanged ones and never drops what is indexed.
    Bad input is reported (file and line) and skipped; the exit status is 1 if anything failed.
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

    try:
        report = build_index(paths, index_dir, workers=workers, batch_size=batch_size, progress=progress)
    except IndexError_ as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        _print_json(report.to_dict())
    else:
        for p in report.problems[:MAX_PROBLEM_LINES]:
            click.echo(f"error: {p}", err=True)
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
    return "".join(click.style(html.unescape(p[3:-4]), bold=True, fg="yellow") if p.startswith("<b>")
                   else html.unescape(p) for p in parts)


@cli.command("query")
@click.argument("text", default="")
@index_option
@click.option("-c", "--category", "categories", multiple=True, help="Only this category (repeatable: any of).")
@click.option("--from", "date_from", help="Published on or after (YYYY, YYYY-MM, YYYY-MM-DD).")
@click.option("--to", "date_to", help="Published on or before (inclusive: 1987-03 means through March).")
@click.option("--site", help="Only articles from this site.")
@click.option("--author", help="Only articles by this author.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("-n", "--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True)
@click.option("-p", "--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--interval", type=click.Choice(["month", "year"]), default=None,
              help="Date histogram interval [default: chosen from the span].")
@click.option("--no-facets", is_flag=True, help="Skip category and date counts.")
@click.option("--no-fold", is_flag=True, help="List every copy of a story (syndicated near-duplicates) "
                                               "instead of one hit per story.")
@json_option
def query_cmd(text: str, index_dir: str, categories: tuple[str, ...], date_from: str | None,
              date_to: str | None, site: str | None, author: str | None, sort: str, limit: int, page: int,
              interval: str | None, no_facets: bool, no_fold: bool, as_json: bool) -> None:
    """Search the index. TEXT takes words (all must match), "exact phrases", -exclude, OR,
    and field:value for title, body, author, site and category. An empty TEXT lists everything.
    A query that starts with '-' goes after '--': newssearch query -- "-sport"""
    archive = _open(index_dir)
    try:
        result = archive.search(text, categories=list(categories), date_from=date_from, date_to=date_to,
                                site=site, author=author, sort=sort, limit=limit, page=page,
                                facets=not no_facets, interval=interval, fold=not no_fold)
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        _print_json(result.to_dict())
        return
    for w in result.warnings:
        click.echo(f"note: query read leniently ({w})", err=True)
    shown = f"{(page - 1) * limit + 1}–{(page - 1) * limit + len(result.hits)}" if result.hits else "none"
    stories = f" in {result.stories:,} stories" if result.folded and result.stories != result.total else ""
    click.echo(f"{result.total:,} results{stories} ({result.took_ms:.1f} ms) · showing {shown} · page {page} of "
               f"{result.pages} · sorted by {sort}\n")
    for i, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        click.echo(f"{i:>3}. " + click.style(hit.title, bold=True))
        meta = [hit.date[:10] if hit.date else "undated", ", ".join(hit.categories) or "uncategorised"]
        meta += [x for x in (hit.site, ", ".join(hit.authors)) if x]
        click.echo("     " + click.style(" · ".join(meta), dim=True))
        click.echo("     " + click.style(f"id: {hit.id}" + (f"  url: {hit.url}" if hit.url and hit.url != hit.id else ""),
                                         dim=True))
        click.echo("     " + _highlight(hit.snippet))
        if hit.copies:
            click.echo("     " + click.style(f"+{hit.copies} {'copy' if hit.copies == 1 else 'copies'}: "
                                             + ", ".join(hit.copy_ids) + (" …" if hit.copies > len(hit.copy_ids)
                                                                          else ""), dim=True))
        click.echo()
    if result.facets:
        cats = result.facets.categories[:12]
        if cats:
            click.echo("Categories: " + " · ".join(f"{c.category} ({c.count:,})" for c in cats))
        buckets = result.facets.dates
        if buckets:
            click.echo(f"By {result.facets.date_interval}:")
            top = max(b.count for b in buckets) or 1
            for b in buckets:
                click.echo(f"  {b.start:>7}  {'█' * max(0, round(30 * b.count / top)):<30} {b.count:,}")


@cli.command("extract")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["html", "pagedump"]), default=None,
              help="Page kind [default: guessed from the content].")
@click.option("--url", default=None, help="The page's URL, if known (used as its id).")
@json_option
def extract_cmd(files: tuple[str, ...], kind: str | None, url: str | None, as_json: bool) -> None:
    """Show the article the indexer would store for each page (HTML or a text page dump)."""
    from newssearch.indexer.extract import extract, guess_kind
    from newssearch.indexer.pagedump import template_for
    from newssearch.indexer.sources import read_bytes

    failed = False
    out = []
    for f in files:
        try:
            data = read_bytes(Path(f))
            page_kind = kind or guess_kind(data)
            # As the indexer does: a dump's site template is learnt from the dumps beside it.
            template = template_for(f) if page_kind == "pagedump" else frozenset()
            article = extract(data, url=url, kind=page_kind, source=f, template=template)
        except (OSError, ValueError) as exc:
            click.echo(f"error: {f}: {exc}", err=True)
            failed = True
            continue
        if as_json:
            out.append(article.to_dict())
            continue
        d = article.to_dict()
        for key in ("title", "date", "authors", "categories", "site", "url", "id"):
            value = ", ".join(d[key]) if isinstance(d[key], list) else d[key]
            click.echo(f"{key:>10}: {value if value else '—'}")
        click.echo(f"{'body':>10}: {len(article.body.split())} words\n\n{article.body}\n")
    if as_json:
        _print_json(out)
    sys.exit(1 if failed else 0)


@cli.command("related")
@click.argument("article_id", required=False)
@index_option
@click.option("-k", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True, help="How many.")
@click.option("--same-category", is_flag=True, help="Only articles sharing one of its categories.")
@click.option("--since", help="Only articles published on or after this date.")
@click.option("--all", "all_articles", is_flag=True, help="Every article's related posts, as JSON Lines.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="With --all: the JSON Lines file.")
@json_option
def related_cmd(article_id: str | None, index_dir: str, k: int, same_category: bool, since: str | None,
                all_articles: bool, out: str | None, as_json: bool) -> None:
    """Related posts: the articles most like ARTICLE_ID by BM25 (never itself or its copies).

    With --all --out FILE, computes them for the whole archive at once and writes one JSON line per
    article: {"id", "related": [ids], "scores": [BM25]}.
    """
    archive = _open(index_dir)
    if all_articles:
        if article_id or not out:
            raise click.UsageError("use either ARTICLE_ID or --all --out FILE")
        _write_all_related(archive, k, out)
        return
    if not article_id:
        raise click.UsageError("give an ARTICLE_ID (from `newssearch query`), or --all --out FILE")
    try:
        hits = archive.related(article_id, k=k, same_category=same_category, since=since)
    except KeyError:
        raise click.BadParameter(f"no article with id {article_id!r} in {index_dir}",
                                 param_hint="ARTICLE_ID") from None
    except QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        _print_json([plain(h) for h in hits])
        return
    for i, h in enumerate(hits, 1):
        meta = " · ".join([h.date[:10] if h.date else "undated", ", ".join(h.categories) or "uncategorised"])
        click.echo(f"{i:>3}. {click.style(h.title, bold=True)}  {click.style(f'{h.score:.2f}', dim=True)}")
        click.echo("     " + click.style(f"{meta} · id: {h.id}", dim=True))


def _write_all_related(archive: Archive, k: int, out: str) -> None:
    import time

    started = time.perf_counter()
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=len(archive), desc="related posts", unit="article", file=sys.stderr)
    ids, rows, scores = archive.related_all(k, progress=(lambda done: bar.update(done - bar.n)) if bar else None)
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
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="A site origin allowed to call the API from its pages (repeatable), e.g. https://news.example.")
@click.option("--workers", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default=True,
              help="Server processes (each uses about one core).")
@click.option("--cache-size", type=click.IntRange(0, 1_000_000), default=4096, show_default=True,
              help="Answers to /search and /suggest each worker keeps until the index changes (0: none).")
@click.option("--threads", type=click.IntRange(1, 1000), default=2, show_default=True,
              help="Requests each worker works on at once; the rest wait in line.")
def serve_cmd(index_dir: str, host: str, port: int, cors_origins: tuple[str, ...], workers: int,
              cache_size: int, threads: int) -> None:
    """Serve the search page and the JSON API (read-only) over HTTP.

    \b
    GET /                                the search page
    GET /search?q=&category=&from=&to=&sort=&page=&limit=
    GET /suggest?q=                      search-as-you-type
    GET /articles/ID, /articles/ID/related?k=
    GET /categories, /health, /openapi.json
    """
    from newssearch.cli.server import serve

    _open(index_dir)  # a clear message now rather than a failing server
    click.echo(f"newssearch serving {index_dir} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    serve(index_dir, host=host, port=port, cors_origins=list(cors_origins), workers=workers,
          cache_size=cache_size, threads=threads)


@cli.command("stats")
@index_option
@json_option
def stats_cmd(index_dir: str, as_json: bool) -> None:
    """What the index holds: articles, categories, years."""
    stats = _open(index_dir).stats()
    if as_json:
        _print_json(stats)
        return
    click.echo(f"{stats['index']}: {stats['articles']:,} articles in {stats['segments']} segments")
    click.echo("Years: " + " · ".join(f"{y['start']} ({y['count']:,})" for y in stats["years"] if y["count"]))
    click.echo(f"Categories ({len(stats['categories'])}): "
               + " · ".join(f"{c['category']} ({c['count']:,})" for c in stats["categories"][:40]))


def main() -> None:
    cli(prog_name="newssearch")


if __name__ == "__main__":
    main()
