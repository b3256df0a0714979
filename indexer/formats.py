"""Which format a file is in and which reader reads it: the one decision `index` and `extract` share.

Readers import what they share from here (decode_text), never from the modules that find files or hand
them out (sources.py, dispatch.py). Adding a format is one line in FORMATS.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from newssearch.limits import MAX_RECORD_BYTES, MiB

if TYPE_CHECKING:
    from .article import Article, Problem

    Reader = Callable[[bytes, str], Iterator[Article | Problem]]

SNIFF_BYTES = 2048  # the start of a file its content is judged by


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]  # lower case, after any .gz
    reader: str  # "module:function" in newssearch.indexer: reader(data, source) -> Articles and Problems
    label: str  # for people: "JSON Lines export"
    # Formats of one family share extensions or are told apart by content (see decide_format); in table
    # order, the first whose `sniff` accepts the file's start wins (no sniff: accepts anything).
    family: str = ""
    sniff: Callable[[bytes], bool] | None = None
    # A format too big to read whole (a web crawl): `ranges(path)` cuts a file into byte ranges of whole
    # records, read in parallel, each streamed from the file by `stream(path, start, end)`.
    ranges: str | None = None
    stream: str | None = None

    def load_reader(self) -> Reader:
        return self.load(self.reader)

    @staticmethod
    def load(spec: str) -> Callable:
        module, _, function = spec.partition(":")
        return getattr(importlib.import_module(f"newssearch.indexer.{module}"), function)


def looks_like_markup(head: bytes) -> bool:
    """The file starts like HTML/XML (after a BOM and blank space), not like a page saved as text."""
    head = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<meta", b"<!--"))


def looks_like_wxr(head: bytes) -> bool:
    """A WordPress export: RSS with WordPress's export namespace."""
    return b"<rss" in head and b"wordpress.org/export/" in head


def looks_like_feed(head: bytes) -> bool:
    """An RSS (0.9x, 1.0, 2.0) or Atom document."""
    return re.search(rb"<(?:rss|feed|rdf:RDF)\b", head) is not None


PAGE = "page"  # one article per file: the family `extract` shows
XML = "xml"  # .xml: a WordPress export, a feed, or neither (a sitemap), told by content

FORMATS: tuple[Format, ...] = (
    Format("jsonl", (".jsonl", ".ndjson"), "records:read_jsonl", "JSON Lines export"),
    Format("json", (".json",), "records:read_json", "JSON export"),
    Format("csv", (".csv", ".tsv"), "records:read_csv", "CSV export"),
    Format("reuters", (".sgm", ".sgml"), "reuters:read_sgml", "Reuters SGML archive"),
    Format("html", (".html", ".htm", ".xhtml"), "extract:read_html", "HTML page", PAGE, looks_like_markup),
    Format("pagedump", (".txt",), "pagedump:read_pagedump", "text page dump", PAGE),
    Format("warc", (".warc",), "warc:read_warc_data", "WARC web crawl", ranges="warc:warc_parts",
           stream="warc:read_warc"),
    Format("wxr", (".xml",), "wxr:read_wxr", "WordPress export", XML, looks_like_wxr),
    Format("feed", (".xml", ".rss", ".atom"), "feeds:read_feed", "RSS/Atom feed", XML, looks_like_feed),
    Format("otherxml", (".xml",), "feeds:skip_xml", "other XML", XML),
)
BY_NAME = {f.name: f for f in FORMATS}


def extension(path: str | Path | None) -> str:
    """The extension that names the format: lower case, after any `.gz` ("a.JSONL.gz" -> ".jsonl")."""
    name = Path(path).name.lower() if path else ""
    name = name.removesuffix(".gz")
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def decide_format(path: str | Path | None, head: bytes | None = None) -> Format | None:
    """The format of a file: its extension names it; its content (`head`, the start of the gunzipped
    bytes) decides only where the name does not, between formats of one family.

    Without `head` (walking a directory), a name no format claims is None: not an article file. With
    `head` (a file given to read), such a name is read as a page, HTML or a text dump by its content.
    """
    ext = extension(path)
    named = [f for f in FORMATS if ext in f.extensions]
    if len(named) == 1:
        return named[0]
    if head is None:
        return named[0] if named else None
    family = named[0].family if named else PAGE
    for f in (named or [f for f in FORMATS if f.family == family]):
        if f.sniff is None or f.sniff(head[:SNIFF_BYTES]):
            return f
    return named[0] if named else None


BLOCK = MiB  # the unit files are read and decompressed in


class TooLarge(ValueError):
    """An input over one of the bounds in newssearch.limits: reported as a problem naming the file (and line)."""


def bounded_lines(stream: BinaryIO, end: int | None = None, limit: int = MAX_RECORD_BYTES) -> Iterator[bytes | None]:
    """The stream's lines (with their b"\\n"), up to offset `end`; None in place of a line over `limit`
    bytes, which is skipped a block at a time and never held whole."""
    while end is None or stream.tell() < end:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(BLOCK)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM). Raises ValueError naming the byte offset otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 at byte {exc.start}") from None


def known_extensions() -> str:
    """For messages: ".jsonl .ndjson .json …"."""
    return " ".join(e for f in FORMATS for e in f.extensions)
