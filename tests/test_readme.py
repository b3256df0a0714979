"""README sections that cannot drift: the command-line synopsis and the query options are generated from the
CLI's own help (`python tests/test_readme.py` rewrites them; the test fails until it has), and every bound
the README states is checked against the constant that sets it."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ORDER = ("index", "query", "related", "extract", "stats", "serve")


def _contexts():
    from newssearch.cli.main import cli

    top = click.Context(cli, info_name="newssearch")
    for name in ORDER:
        cmd = cli.commands[name]
        yield name, cmd, click.Context(cmd, info_name=name, parent=top)


def synopsis() -> str:
    lines = []
    for name, cmd, ctx in _contexts():
        usage = f"newssearch {name} " + " ".join(cmd.collect_usage_pieces(ctx))
        lines.append(f"{usage:<42} # {cmd.get_short_help_str(limit=200)}")
    return "```sh\n" + "\n".join(lines) + "\n```"


def query_options() -> str:
    rows = ["| option | |", "|---|---|"]
    for name, cmd, ctx in _contexts():
        if name == "query":
            for param in cmd.get_params(ctx):
                record = param.get_help_record(ctx)
                if isinstance(param, click.Option) and record and record[0] != "--help":
                    rows.append(f"| `{record[0]}` | {record[1]} |".replace("|newest|", "\\|newest\\|")
                                .replace("[month|year]", "[month\\|year]"))
    return "\n".join(rows)


SECTIONS = {"cli": synopsis, "query-options": query_options}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN generated: {name} [^\n]*-->\n)(.*?)(<!-- END generated: {name} -->)", re.S)


def rewrite(text: str) -> str:
    for name, make in SECTIONS.items():
        text, found = _block(name).subn(lambda m: m.group(1) + make() + "\n" + m.group(3), text)
        assert found == 1, f"README has no generated block {name!r}"
    return text


def test_cli_sections_are_generated_from_help():
    text = README.read_text()
    assert rewrite(text) == text, "README's CLI sections differ from --help: run `python tests/test_readme.py`"


def _words(text: str) -> str:
    return " ".join(text.split())


def test_stated_bounds_are_the_code_s():
    from newssearch.cli.server import CACHE_SIZE, THREADS, WORKER_HEALTHCHECK_S
    from newssearch.indexer.schema import TITLE_BOOST
    from newssearch.query.textquery import TITLE_WEIGHT
    from newssearch.indexer.sources import PART_BYTES
    from newssearch.limits import (BATCH_SIZE, GZIP_RATIO_FROM, HEAD_TIMEOUT_S, MAX_BODY_CHARS, MAX_FILE_BYTES,
                                   MAX_GZIP_RATIO, MAX_HEAD_BYTES, MAX_LIMIT, MAX_RECORD_BYTES, MAX_TITLE_CHARS,
                                   MAX_URL_CHARS)
    from newssearch.query.archive import MAX_OFFSET
    from newssearch.query.parse import MAX_QUERY_CHARS, MAX_QUERY_TERMS, MAX_SLOP
    from newssearch.query.recency import RECENCY_WINDOW
    from newssearch.query.textquery import MAX_PHRASE_WORDS, MAX_RANKED_WORDS
    from newssearch.query.typos import MAX_CORRECTIONS
    from newssearch.query.related import RelatedParams

    text = _words(README.read_text())
    related = RelatedParams()
    assert PART_BYTES % (1 << 20) == 0
    stated = [
        f"over {PART_BYTES >> 20} MiB is read and parsed in line-aligned parts",
        f"big JSON Lines files in {PART_BYTES >> 20} MiB parts",
        f"commits every {BATCH_SIZE:,} articles", f"(`--batch-size`, {BATCH_SIZE:,} by default)",
        f"Queries over {MAX_QUERY_CHARS:,} characters or {MAX_QUERY_TERMS} terms",
        f"pages past {MAX_OFFSET:,} results", f"`limit` over {MAX_LIMIT}",
        f"phrase slop is cut to ~{MAX_SLOP}", f"a phrase to its first {MAX_PHRASE_WORDS} words",
        f"the first {MAX_RANKED_WORDS} distinct ones", f"its {MAX_CORRECTIONS} nearest corrections",
        f"re-ranks the best {RECENCY_WINDOW} matches", f"best {RECENCY_WINDOW} matches are re-ranked",
        f"answers to its last {CACHE_SIZE:,} distinct", f"(`--threads`, {THREADS};",
        f"title field adds its own score × {TITLE_WEIGHT:g}", f"title terms counted {TITLE_BOOST:g}×", f"its {related.max_query_terms} highest tf·idf terms",
        f"in more than {related.max_doc_freq_ratio:.0%} of articles", f"≥ {related.dup_ratio:.0%} of its score",
        f"| {MAX_RECORD_BYTES >> 20} MiB |", f"| {MAX_FILE_BYTES >> 20} MiB after decompression |",
        f"inflates over {MAX_GZIP_RATIO}× its size (checked past the first {GZIP_RATIO_FROM >> 20} MiB)",
        f"| {MAX_BODY_CHARS:,} characters |", f"| {MAX_TITLE_CHARS:,} characters / {MAX_URL_CHARS:,} |",
        f"| {MAX_HEAD_BYTES >> 10} KiB, counted as they arrive |", f"| {HEAD_TIMEOUT_S:g} s (`--header-timeout`)",
        f"| {WORKER_HEALTHCHECK_S} s (uvicorn's default",
    ]
    missing = [s for s in stated if s not in text]
    assert not missing, f"README no longer states these as the code has them: {missing}"


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text()))
    print(f"rewrote the generated sections of {README}", file=sys.stderr)
