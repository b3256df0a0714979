"""WARC (`.warc`, `.warc.gz`): web crawls such as Common Crawl's CC-NEWS, read record by record with warcio.

Only HTML `response` records (and `resource` records holding HTML) are pages: each is extracted as an
HTML file is (indexer/extract.py), with the record's WARC-Target-URI as its url and WARC-Date as the
date when the page states none. `revisit` records (a crawler's "unchanged since") and non-HTML or
non-200 responses are skipped; `request`, `metadata` and `warcinfo` records are not pages.

A WARC is never held in memory: `warc_parts` walks the file once (record headers and offsets only)
and cuts it into byte ranges of whole records, which the indexer's worker processes read in parallel,
each streaming its own range. A record warcio cannot read is one problem; reading resumes at the next
record found after it. So is damage warcio reads past: a record shorter than its Content-Length, a block or
payload digest that does not match (when the record states one), and a cut-off record at the end of the file.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .article import Article, Problem

PART_BYTES = 4 * 1024 * 1024  # a range of about this many (compressed) bytes is one unit of parallel work
MAX_PAGE_BYTES = 16 * 1024 * 1024  # an HTML payload larger than this is not a news page: skipped, reported
HTML_TYPES = ("text/html", "application/xhtml+xml")
_RESYNC = {True: b"\x1f\x8b\x08", False: b"WARC/1."}  # where a record can start: a gzip member, a header


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def warc_parts(path: Path, part_bytes: int = PART_BYTES) -> list[tuple[int, int | None]]:
    """Byte ranges [start, end) of whole records, about `part_bytes` each (end None: to the end).

    A range that holds an unreadable record is kept as its own range, so that reading it reports it.
    A gzipped WARC that is one gzip stream, not a member per record, cannot be split: one range.
    """
    from warcio.archiveiterator import ArchiveIterator

    size = path.stat().st_size
    gz = _is_gzip(path)
    ranges: list[tuple[int, int | None]] = []
    start = pos = 0
    with open(path, "rb") as fh:
        while pos < size:
            fh.seek(pos)
            it = ArchiveIterator(fh)
            try:
                for record in it:
                    offset = it.get_record_offset()
                    if offset - start >= part_bytes:
                        ranges.append((start, offset))
                        start = offset
                    it.read_to_end(record)
                    pos = offset + it.get_record_length()
                break
            except Exception:  # an unreadable record: its own range, then scan on from the next record
                bad = pos
                nxt = _next_record_start(fh, bad + 1, gz)
                if start < bad:
                    ranges.append((start, bad))
                ranges.append((bad, nxt))
                if nxt is None:
                    return ranges
                start = pos = nxt
    if start < size or not ranges:
        ranges.append((start, None))
    return ranges


def _next_record_start(fh, pos: int, gz: bool) -> int | None:
    """The offset of the next gzip member or WARC header at or after `pos` (None: there is none)."""
    marker = _RESYNC[gz]
    fh.seek(pos)
    carry = b""
    base = pos
    while True:
        block = fh.read(1 << 20)
        if not block:
            return None
        data = carry + block
        i = data.find(marker)
        while i >= 0:
            if gz or i == 0 or data[i - 1:i] == b"\n":
                return base - len(carry) + i
            i = data.find(marker, i + 1)
        carry = data[-(len(marker) - 1):]
        base += len(block)


def read_warc(path: str | Path, start: int = 0, end: int | None = None) -> Iterator[Article | Problem]:
    """Articles (and problems) from the records starting in [start, end) of a WARC file, streamed.

    A record that cannot be read is one problem; reading goes on at the next record start after it.
    """
    from warcio.archiveiterator import ArchiveIterator

    path = Path(path)
    source = str(path)
    try:
        fh = open(path, "rb")
        gz = _is_gzip(path)
    except OSError as exc:
        yield Problem(source, exc.strerror or str(exc))
        return
    with fh:
        pos = start
        while True:
            fh.seek(pos)
            it = ArchiveIterator(fh, check_digests=True)
            try:
                for record in it:
                    at = it.offset  # where this record starts
                    if end is not None and at >= end:
                        return
                    item = _record_article(record, f"{source}@{at}")
                    it.read_to_end(record)  # the rest of the record: its digests are checked once it is all read
                    damage = _damage(record)
                    if damage:
                        yield Problem(f"{source}@{at}", f"damaged WARC record ({damage}), skipped")
                        after = it.offset
                        nxt = _next_record_start(fh, at + 1, gz)  # a wrong length may have swallowed the next start
                        pos = nxt if nxt is not None and nxt < after else after
                        break  # a new iterator from there: the search moved the file under this one
                    elif item is not None:
                        yield item
                else:
                    if end is None and _unread_tail(fh, it.offset):
                        # a gzip member cut off at the end of the file reads as no record at all
                        yield Problem(f"{source}@{it.offset}",
                                      "unreadable data at the end of the WARC (a truncated record?)")
                    return
            except Exception as exc:  # warcio's errors, zlib's, a bad length: this record, not the file
                bad = it.offset
                if end is not None and bad >= end:
                    return  # it starts the next range: reported there
                yield Problem(f"{source}@{bad}",
                              f"unreadable WARC record ({str(exc).strip()[:200] or type(exc).__name__})")
                pos = _next_record_start(fh, bad + 1, gz)
                if pos is None or (end is not None and pos >= end):
                    return


def _damage(record) -> str | None:
    """What is wrong with a record warcio read without an error: cut short, or not what its digest says."""
    left = getattr(record.raw_stream, "limit", 0)
    if left:
        return f"{left} bytes short of its Content-Length: the file is cut"
    if record.digest_checker.passed is False:
        return "; ".join(record.digest_checker.problems)[:200] or "digest mismatch"
    return None


def _unread_tail(fh, pos: int) -> bool:
    """Whether anything but blank lines follows `pos`, the end of the last record read."""
    fh.seek(pos)
    return bool(fh.read(64 * 1024).strip())


def _record_article(record, source: str) -> Article | Problem | None:
    """The page of one record, a problem, or None for a record that is not a page."""
    from .dates import parse_date
    from .extract import html_to_article

    kind = record.rec_type
    if kind not in ("response", "resource"):
        return None
    if kind == "response":
        if record.http_headers is None:
            return None
        status = record.http_headers.get_statuscode()
        if status != "200":
            return None
        ctype = record.http_headers.get_header("Content-Type") or ""
    else:
        ctype = record.rec_headers.get_header("Content-Type") or ""
    if not ctype.split(";")[0].strip().lower() in HTML_TYPES:
        return None
    payload = record.content_stream().read(MAX_PAGE_BYTES + 1)
    if len(payload) > MAX_PAGE_BYTES:
        return Problem(source, f"page over {MAX_PAGE_BYTES // (1024 * 1024)} MB, skipped")
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>") or None
    try:
        article = html_to_article(payload, url=url, source=source)
    except ValueError as exc:
        return Problem(source, f"{url or 'record'}: {exc}")
    if article.date is None:
        try:
            article.date = parse_date(record.rec_headers.get_header("WARC-Date"))
        except ValueError:
            pass
    return article



def read_warc_data(data: bytes, source: str) -> Iterator[Article | Problem]:
    """A WARC already in memory (the reader protocol's form; indexing streams the file instead)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".warc") as tmp:
        tmp.write(data)
        tmp.flush()
        for item in read_warc(tmp.name):
            if isinstance(item, (Article, Problem)):
                item.source = item.source.replace(tmp.name, source)
            yield item
