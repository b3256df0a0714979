"""Find the files of an archive, open them (plain or gzip) and hand each to the reader for its format."""
from __future__ import annotations

import errno
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .article import Article, Notice, Problem

# Format by extension (after any .gz). Files with other extensions are not articles (READMEs, scripts).
FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv", ".tsv": "csv",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".txt": "pagedump",
    ".sgm": "reuters", ".sgml": "reuters",
    ".warc": "warc",
    ".xml": "xml", ".rss": "xml", ".atom": "xml",  # a WordPress export or a feed, told by content
}


def detect_format(path: str | Path) -> str | None:
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return FORMATS.get(os.path.splitext(name)[1])


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Every file of a known format under the given paths, sorted, each once.

    Directories are walked recursively without following directory symlinks (no loops);
    a missing or unreadable path is a Problem, not an exception.
    """
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            problems.append(Problem(str(p), "no such file or directory"))
        elif p.is_dir():
            def onerror(err: OSError) -> None:
                problems.append(Problem(str(err.filename or p), f"cannot read directory: {err.strerror}"))
            for root, dirs, files in os.walk(p, onerror=onerror):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    f = Path(root, name)
                    if detect_format(f) and not name.startswith("."):
                        _add(found, problems, f)
        elif detect_format(p):
            _add(found, problems, p)
        else:
            problems.append(Problem(str(p), "unknown format (expected .jsonl .json .csv .html .txt .sgm "
                                            ".warc .xml .rss .atom, optionally .gz)"))
    return sorted(found.values()), problems


PART_BYTES = 4 * 1024 * 1024  # JSON Lines files larger than this are read and parsed in parts of about this size


@dataclass(frozen=True)
class Part:
    """A file, or a line-aligned byte range of a large JSON Lines file: the unit of parallel parsing."""

    path: Path
    start: int = 0
    end: int | None = None  # None: to the end of the file
    first_line: int = 1  # the line number `start` is on, for problems

    @property
    def size(self) -> int:
        if self.end is not None:
            return self.end - self.start
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


def split_parts(path: Path, part_bytes: int = PART_BYTES) -> list[Part]:
    """Plain JSON Lines files bigger than `part_bytes` become line-aligned parts, so one huge export is
    parsed on every core and never held in memory whole; any other file is one part."""
    try:
        size = path.stat().st_size
    except OSError:
        return [Part(path)]
    if detect_format(path) == "warc":  # record-aligned ranges, read in parallel (indexer/warc.py)
        from .warc import warc_parts

        return [Part(path, start, end) for start, end in warc_parts(path)]
    if detect_format(path) != "jsonl" or size <= part_bytes or str(path).lower().endswith(".gz"):
        return [Part(path)]
    with open(path, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":  # gzip whatever its name: one stream, one part
            return [Part(path)]
        parts, start, line = [], 0, 1
        while start < size:
            fh.seek(start)
            chunk = fh.read(part_bytes)
            end = start + len(chunk)
            if end < size:
                tail = fh.readline()  # finish the line the chunk cut
                chunk += tail
                end += len(tail)
            parts.append(Part(path, start, end, line))
            line += chunk.count(b"\n")
            start = end
    return parts


def _add(found: dict[str, Path], problems: list[Problem], f: Path) -> None:
    """Each file once, however it is reached (symlinks resolved); a link that cannot be resolved is a Problem."""
    try:
        key = str(f.resolve(strict=True))
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, on Python < 3.13
        loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
        problems.append(Problem(str(f), "symlink loop" if loop else "broken symlink or unreadable path "
                                f"({getattr(exc, 'strerror', None) or exc})"))
        return
    found.setdefault(key, f)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip. Raises OSError/ValueError with a readable message."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"corrupt or truncated gzip ({exc})") from None
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM). Raises ValueError naming the byte offset otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 at byte {exc.start}") from None


def read_part(part: Part) -> Iterator[Article | Problem]:
    """Articles (and problems) from one part of a large JSON Lines file, or from a whole file."""
    if detect_format(part.path) == "warc":
        from .warc import read_warc

        yield from read_warc(part.path, part.start, part.end)
        return
    if part.end is None:
        yield from read_file(part.path)
        return
    from .records import read_jsonl

    try:
        with open(part.path, "rb") as fh:
            fh.seek(part.start)
            data = fh.read(part.end - part.start)
    except OSError as exc:
        yield Problem(str(part.path), exc.strerror or str(exc))
        return
    yield from read_jsonl(data, str(part.path), first_line=part.first_line)


def read_xml(data: bytes, source: str) -> Iterator[Article | Problem | Notice]:
    """A WordPress export or an RSS/Atom feed, told by its content; other XML is skipped with a notice."""
    from .feeds import is_feed, read_feed
    from .wxr import is_wxr, read_wxr

    head = data[:4096]
    if is_wxr(head):
        yield from read_wxr(data, source)
    elif is_feed(head):
        yield from read_feed(data, source)
    else:
        yield Notice(source, "XML that is neither a WordPress export nor an RSS/Atom feed: skipped")


def read_file(path: str | Path) -> Iterator[Article | Problem]:
    """Articles (and problems) from one file, dispatched on its format. Never raises for bad content."""
    from .extract import read_html
    from .pagedump import read_pagedump
    from .records import read_csv, read_json, read_jsonl
    from .reuters import read_sgml

    path = Path(path)
    source = str(path)
    fmt = detect_format(path)
    if fmt == "warc":  # streamed, never read whole
        from .warc import read_warc

        yield from read_warc(path)
        return
    try:
        data = read_bytes(path)
    except (OSError, ValueError) as exc:
        yield Problem(source, getattr(exc, "strerror", None) or str(exc))
        return
    if not data.strip():
        yield Problem(source, "empty file")
        return
    readers = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv, "html": read_html,
               "pagedump": read_pagedump, "reuters": read_sgml, "xml": read_xml}
    try:
        yield from readers[fmt](data, source)
    except Exception as exc:  # a reader bug must not abort a whole archive run
        yield Problem(source, f"{type(exc).__name__}: {exc}")
