"""Hand each file (or part of a large JSON Lines file) to the reader for its format (formats.py decides).

JSON Lines and CSV are streamed to their readers a line at a time (a line over MAX_RECORD_BYTES is a problem
on its line); the other formats are one document each, read whole up to their bound.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from newssearch.limits import MAX_FILE_BYTES, MAX_RECORD_BYTES, MiB

from .article import Article, Problem
from .formats import BLOCK, BY_NAME, SNIFF_BYTES, TooLarge, bounded_lines, decide_format
from .sources import Part, open_input, read_limited

STREAMED = ("jsonl", "csv")
# The most bytes a format read whole may hold (after decompression): a page is one record.
WHOLE_FILE_LIMITS = {"json": MAX_FILE_BYTES, "reuters": MAX_FILE_BYTES,
                     "html": MAX_RECORD_BYTES, "pagedump": MAX_RECORD_BYTES}


def read_part(part: Part) -> Iterator[Article | Problem]:
    """Articles (and problems) from one part of a large JSON Lines file, or from a whole file."""
    fmt = decide_format(part.path)
    if fmt is not None and fmt.stream:  # streamed from the file, never read whole
        yield from fmt.load(fmt.stream)(part.path, part.start, part.end)
        return
    if part.end is None:
        yield from read_file(part.path)
        return
    try:
        with open(part.path, "rb") as fh:
            fh.seek(part.start)
            yield from read_jsonl_stream(fh, str(part.path), part.first_line, part.end)
    except OSError as exc:
        yield Problem(str(part.path), exc.strerror or str(exc))


def read_file(path: str | Path) -> Iterator[Article | Problem]:
    """Articles (and problems) from one file, dispatched on its format. Never raises for bad content."""
    path = Path(path)
    source = str(path)
    fmt = decide_format(path)
    if fmt is not None and fmt.stream:
        yield from read_part(Part(path))
        return
    try:
        with open_input(path) as stream:
            yield from _read_stream(stream, path, source)
    except (OSError, ValueError) as exc:  # unreadable, corrupt gzip, a bound hit (TooLarge)
        yield Problem(source, getattr(exc, "strerror", None) or str(exc))


def _read_stream(stream: io.BufferedReader, path: Path, source: str) -> Iterator[Article | Problem]:
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]
    if not head:
        yield Problem(source, "empty file")
        return
    fmt = decide_format(path, head)
    if fmt.name in STREAMED:
        items = read_jsonl_stream(stream, source) if fmt.name == "jsonl" else fmt.load_reader()(stream, source)
    else:
        data = read_limited(stream, WHOLE_FILE_LIMITS.get(fmt.name, MAX_FILE_BYTES), "file is")
        if not data.strip():
            yield Problem(source, "empty file")
            return
        items = fmt.load_reader()(data, source)
    try:
        yield from items
    except (OSError, ValueError):  # the stream's own (corrupt gzip, a bomb): read_file reports them
        raise
    except Exception as exc:  # a reader bug must not abort a whole archive run
        yield Problem(source, f"{type(exc).__name__}: {exc}")


def read_jsonl_stream(stream: io.BufferedIOBase, source: str, first_line: int = 1,
                      end: int | None = None) -> Iterator[Article | Problem]:
    """JSON Lines handed to the reader a batch of lines at a time; a line over MAX_RECORD_BYTES is a problem
    on its line, skipped without being held."""
    read_jsonl = BY_NAME["jsonl"].load_reader()
    batch: list[bytes] = []
    size, start, text = 0, first_line, False
    for lineno, line in enumerate(bounded_lines(stream, end), start=first_line):
        text = text or line is None or bool(line.strip())
        if line is None:
            yield from read_jsonl(b"".join(batch), source, first_line=start)
            batch, size, start = [], 0, lineno + 1
            yield Problem(f"{source}:{lineno}", f"line over the {MAX_RECORD_BYTES // MiB} MB record limit: skipped")
            continue
        batch.append(line)
        size += len(line)
        if size >= BLOCK:
            yield from read_jsonl(b"".join(batch), source, first_line=start)
            batch, size, start = [], 0, lineno + 1
    if batch:
        yield from read_jsonl(b"".join(batch), source, first_line=start)
    if not text and first_line == 1 and end is None:
        yield Problem(source, "empty file")
