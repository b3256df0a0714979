"""Find the files of an archive and open them (plain, or gzip decompressed as it is read, within bounds);
dispatch.py hands each to its reader."""
from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from newssearch.limits import GZIP_RATIO_FROM, MAX_FILE_BYTES, MAX_GZIP_RATIO, MiB

from .article import Problem
from .formats import BLOCK, BY_NAME, TooLarge, decide_format, known_extensions


def find_files(paths: Iterable[str | Path], follow_symlinks: bool = False) -> tuple[list[Path], list[Problem]]:
    """Every file of a known format under the given paths, sorted, each once.

    Directories are walked recursively. A symlink met in the walk is followed only when it stays inside the
    given paths (a link out of the tree, say to /etc/passwd, is a Problem and is not read), and directory
    links are not walked (no loops), unless `follow_symlinks`. Paths given by name are read whatever they
    are. Only regular files are read (a FIFO or device never is). A missing or unreadable path is a
    Problem, not an exception.
    """
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    given = [Path(raw) for raw in paths]
    roots = [_real(p) for p in given if p.exists()]
    for p in given:
        if not p.exists():
            problems.append(Problem(str(p), "no such file or directory"))
        elif p.is_dir():
            _walk(p, roots, follow_symlinks, found, problems)
        elif decide_format(p):
            _add(found, problems, p)
        else:
            problems.append(Problem(str(p), f"unknown format (expected {known_extensions()}, optionally .gz)"))
    return sorted(found.values()), problems


def _real(p: Path) -> str:
    return os.path.realpath(p)


def _inside(target: str, roots: list[str]) -> bool:
    return any(target == r or target.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _walk(top: Path, roots: list[str], follow: bool, found: dict[str, Path], problems: list[Problem]) -> None:
    def onerror(err: OSError) -> None:
        problems.append(Problem(str(err.filename or top), f"cannot read directory: {err.strerror}"))

    walked: set[str] = set()  # real paths of the directories walked: followed links never loop
    for root, dirs, files in os.walk(top, onerror=onerror, followlinks=follow):
        real_root = _real(Path(root))
        if real_root in walked:
            dirs[:] = []
            continue
        walked.add(real_root)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            f = Path(root, name)
            if name.startswith(".") or not decide_format(f):
                continue
            if f.is_symlink() and not follow:
                target = _real(f)
                if os.path.exists(target) and not _inside(target, roots):
                    problems.append(Problem(str(f), "symlink to a file outside the given paths: not followed "
                                                    "(--follow-symlinks follows it)"))
                    continue
            _add(found, problems, f)


PART_BYTES = 4 * 1024 * 1024  # JSON Lines files larger than this are read and parsed in parts of about this size
MIN_PART_BYTES = 1024 * 1024  # ... or smaller, down to this, so that each worker gets PARTS_PER_WORKER of them
PARTS_PER_WORKER = 4  # with one or two parts a worker, the last part leaves the other workers idle


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


def plan_parts(files: list[Path], workers: int) -> list[Part]:
    """The parts of `files` for `workers` parallel workers: JSON Lines cut small enough (within
    MIN_PART_BYTES..PART_BYTES) that each worker gets several, so none waits long on another's last part."""
    total = 0
    for f in files:
        try:
            total += f.stat().st_size
        except OSError:
            pass
    part_bytes = max(MIN_PART_BYTES, min(PART_BYTES, total // max(1, workers * PARTS_PER_WORKER) + 1))
    return [part for f in files for part in split_parts(f, part_bytes)]


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
            newlines = fh.read(part_bytes).count(b"\n")
            end = min(start + part_bytes, size)
            if end < size:  # finish the line the chunk cut, a block at a time (a line may be huge)
                while block := fh.read(BLOCK):
                    cut = block.find(b"\n")
                    if cut >= 0:
                        end, newlines = end + cut + 1, newlines + 1
                        break
                    end += len(block)
            parts.append(Part(path, start, end, line))
            line += newlines
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
    try:
        regular = stat.S_ISREG(os.stat(key).st_mode)
    except OSError as exc:
        problems.append(Problem(str(f), f"cannot read it ({exc.strerror})"))
        return
    if not regular:  # a FIFO would block the run, a device never end
        problems.append(Problem(str(f), "not a regular file"))
        return
    found.setdefault(key, f)


class _Gunzip(io.RawIOBase):
    """A gzip stream decompressed as it is read, a block at a time, that refuses to inflate more than
    MAX_GZIP_RATIO times what it has read (a bomb)."""

    def __init__(self, raw: io.BufferedReader):
        self._raw = raw
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            n = self._gz.readinto(buffer)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"corrupt or truncated gzip ({exc})") from None
        self._out += n
        if self._out > GZIP_RATIO_FROM and self._out > MAX_GZIP_RATIO * max(1, self._raw.tell()):
            raise TooLarge(f"gzip inflates over {MAX_GZIP_RATIO}x its size (a decompression bomb?): "
                           f"not read past {self._out // MiB} MB")
        return n

    def close(self) -> None:
        self._gz.close()
        self._raw.close()
        super().close()


def open_input(path: str | Path) -> io.BufferedReader:
    """The file as a binary stream, gunzipped as it is read when it is gzip (whatever its name)."""
    fh = open(path, "rb")
    if fh.peek(2)[:2] != b"\x1f\x8b":
        return fh
    return io.BufferedReader(_Gunzip(fh), BLOCK)


def read_limited(stream: io.BufferedIOBase, limit: int, what: str) -> bytes:
    """All of the stream, or TooLarge when it holds more than `limit` bytes (never more read)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{what} over the {limit // MiB} MB limit for files read whole: not read "
                       "(JSON Lines and CSV are streamed: export those)")
    return data


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, gunzipped when it is gzip, at most `limit` of them. Raises OSError/ValueError
    (TooLarge over the limit) with a readable message."""
    with open_input(path) as stream:
        return read_limited(stream, limit, "file is")
