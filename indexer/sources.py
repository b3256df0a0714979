"""Find the files of an archive and open them (plain or gzip); dispatch.py hands each to its reader."""
from __future__ import annotations

import errno
import gzip
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .article import Problem
from .formats import BY_NAME, decide_format, known_extensions


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
                    if decide_format(f) and not name.startswith("."):
                        _add(found, problems, f)
        elif decide_format(p):
            _add(found, problems, p)
        else:
            problems.append(Problem(str(p), f"unknown format (expected {known_extensions()}, optionally .gz)"))
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
    fmt = decide_format(path)
    if fmt is not None and fmt.ranges:  # a web crawl: ranges of whole records, read in parallel
        return [Part(path, start, end) for start, end in fmt.load(fmt.ranges)(path)]
    if decide_format(path) is not BY_NAME["jsonl"] or size <= part_bytes or str(path).lower().endswith(".gz"):
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
