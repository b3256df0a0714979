"""Hand each file (or part of a large JSON Lines file) to the reader for its format (formats.py decides)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .article import Article, Problem
from .formats import BY_NAME, SNIFF_BYTES, decide_format
from .sources import Part, read_bytes


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
            data = fh.read(part.end - part.start)
    except OSError as exc:
        yield Problem(str(part.path), exc.strerror or str(exc))
        return
    yield from BY_NAME["jsonl"].load_reader()(data, str(part.path), first_line=part.first_line)


def read_file(path: str | Path) -> Iterator[Article | Problem]:
    """Articles (and problems) from one file, dispatched on its format. Never raises for bad content."""
    path = Path(path)
    source = str(path)
    fmt = decide_format(path)
    if fmt is not None and fmt.stream:
        yield from read_part(Part(path))
        return
    try:
        data = read_bytes(path)
    except (OSError, ValueError) as exc:
        yield Problem(source, getattr(exc, "strerror", None) or str(exc))
        return
    if not data.strip():
        yield Problem(source, "empty file")
        return
    fmt = decide_format(path, data[:SNIFF_BYTES])
    try:
        yield from fmt.load_reader()(data, source)
    except Exception as exc:  # a reader bug must not abort a whole archive run
        yield Problem(source, f"{type(exc).__name__}: {exc}")
