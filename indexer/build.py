"""Index an archive: parse files in parallel, write through one Tantivy writer, commit in batches, upsert."""
from __future__ import annotations

import errno
import multiprocessing as mp
import multiprocessing.pool
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tantivy

from newssearch.errors import DiskFull
from newssearch.limits import BATCH_SIZE

from .article import Article, Notice, Problem, indexed_title
from .copies import CopyGroups, Sketch, sketches
from .copies import compact as compact_copies
from .faults import failpoint
from .schema import IndexBusy, has_grouped, id_hash, open_index
from .dispatch import read_part
from .sources import Part, find_files, plan_parts
from .terms import TermRows, TermWriter, compact, indexed_fingerprints, term_rows, tokenise

WRITER_HEAP = 256 * 1024 * 1024
LOW_DISK_BYTES = 64 * 1024 * 1024  # a write that fails with less free than this failed for want of space


def _disk_full(exc: BaseException, index_dir: str | Path) -> DiskFull | None:
    """A DiskFull for `exc` when the disk holding the index is (nearly) full: Tantivy reports a failed
    write as 'an index writer was killed', without the errno, so the free space decides."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = 0
    elif isinstance(exc, (OSError, ValueError)):
        try:
            free = shutil.disk_usage(index_dir).free
        except OSError:
            return None
        if free >= LOW_DISK_BYTES:
            return None
    else:
        return None
    return DiskFull(index_dir, f"{index_dir}: the disk is full ({free // 1024 // 1024} MB free); free some "
                    "space and run the same command again: what was committed is kept, and unchanged "
                    "articles are skipped")


@dataclass
class IndexReport:
    """What an index run did; `failed` > 0 means some input could not be indexed."""

    index: str
    files: int = 0
    articles: int = 0  # read from the files
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same article (same id) met again in this run
    failed: int = 0  # files or records that could not be indexed (see problems)
    total: int = 0  # articles in the index afterwards
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # a sharded build's seconds per step
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # said about the input, not failures

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("problems", "notices")}
        d["problems"] = [{"source": p.source, "message": p.message} for p in self.problems]
        d["notices"] = [{"source": p.source, "message": p.message} for p in self.notices]
        return d

    def summary(self) -> str:
        return (f"{self.files} files, {self.articles} articles read: {self.added} added, {self.updated} updated, "
                f"{self.unchanged} unchanged, "
                + (f"{self.duplicates} duplicates, " if self.duplicates else "") + f"{self.failed} failed"
                + f"; index holds {self.total} articles ({self.seconds:.1f} s)")


def article_document(a: Article, hash_: int | None = None, fingerprint: int | None = None, group: int | None = None,
                     copy: bool = False, grouped: bool | None = None) -> tantivy.Document:
    """The Tantivy document of an article (`hash_`, `fingerprint`: its id_hash and fingerprint if known;
    `group`: its near-duplicate group, indexer/copies.py, its id hash when not given; `grouped`: a member
    of a group with copies, None for an index without the flag)."""
    doc = tantivy.Document()
    doc.add_text("id", a.id)
    doc.add_integer("id_hash", id_hash(a.id) if hash_ is None else hash_)
    doc.add_integer("fingerprint", a.fingerprint() if fingerprint is None else fingerprint)
    if a.url:
        doc.add_text("url", a.url)
    doc.add_text("shown_title" if a.title_from_body else "title", a.title)
    if not a.title_from_body:
        # The body field is searched as headline + text (one BM25 field, as a single-field engine scores an
        # article); the title field adds a small boost on top. The stored body is its last value.
        doc.add_text("body", a.title)
    doc.add_text("body", a.body)
    doc.add_text("words", a.title)
    doc.add_text("words", a.body)
    paths: set[str] = set()
    for c in a.categories:
        doc.add_facet("category", tantivy.Facet.from_string("/" + c))
        doc.add_text("categories", c)
        parts = c.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    for p in sorted(paths):
        doc.add_text("category_path", p)
    for name in a.authors:
        doc.add_text("author", name)
    if a.site:
        doc.add_text("site", a.site)
    if a.date:
        doc.add_date("date", a.date)
        doc.add_integer("published", int(a.date.timestamp()))
    doc.add_text("source", a.source)
    doc.add_integer("group", (id_hash(a.id) if hash_ is None else hash_) if group is None else group)
    doc.add_boolean("copy", copy)
    if grouped is not None:
        doc.add_boolean("grouped", grouped)
    return doc


Parsed = tuple[Article, int, int, Sketch] | Problem | Notice  # (article, id_hash, fingerprint, sketch)


def _parse(part: Part) -> tuple[Part, list[Parsed], TermRows]:
    """Read one file (or part of one), hash and tokenise its articles (in the worker: all CPU-bound).
    The term rows hold one row per article, in order."""
    items = list(read_part(part))
    articles = [a for a in items if isinstance(a, Article)]
    tokens = tokenise([(indexed_title(a), a.body) for a in articles])  # one analyser pass for both
    rows = term_rows(tokens)
    sks = iter(sketches(tokens, [a.date for a in articles]))
    return part, [a if not isinstance(a, Article) else (a, id_hash(a.id), a.fingerprint(), next(sks))
                  for a in items], rows


def _die_with_parent() -> None:
    """Pool worker initializer: exit as soon as the process that started the pool is gone, even killed
    with SIGKILL (which runs no cleanup): orphans would keep parsing for nobody."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel pipe closes, i.e. when it has died
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def start_pool(workers: int) -> multiprocessing.pool.Pool:
    """Parser processes, started BEFORE the index writer is opened (build_index does): neither started by
    fork, so they inherit none of this process's descriptors (the writer's lock among them) nor its
    threads, and each exits when this process dies."""
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # Imported once, in the fork server, rather than by every worker of every run.
        ctx.set_forkserver_preload(["newssearch.indexer.build", "newssearch.indexer.records",
                                    "newssearch.indexer.extract", "newssearch.indexer.pagedump"])
    return ctx.Pool(workers, initializer=_die_with_parent)


def parse_files(files: list[Part], pool: multiprocessing.pool.Pool | None, workers: int
                ) -> Iterator[tuple[Part, list[Parsed], TermRows]]:
    """Parse files in the pool's processes (HTML extraction is CPU-bound), yielding results in file order;
    in this process when there is no pool."""
    if pool is None:
        yield from map(_parse, files)
        return
    # A window of files in flight, not pool.imap: imap would let the workers run ahead and queue every
    # parsed file in this process's memory when the writer is the slower side.
    window: deque = deque()
    for part in files:
        window.append(pool.apply_async(_parse, (part,)))
        if len(window) > workers:
            yield window.popleft().get()
    while window:
        yield window.popleft().get()


def open_writer(index: tantivy.Index, index_dir: str | Path) -> tantivy.IndexWriter:
    try:
        return index.writer(WRITER_HEAP, min(2, os.cpu_count() or 1))
    except ValueError as exc:
        if "Lock" in str(exc):
            raise IndexBusy(index_dir, f"{index_dir}: another process is writing to this index "
                            "(one `newssearch index` at a time); try again when it has finished") from None
        raise


def build_index(paths: Iterable[str | Path], index_dir: str | Path, *, workers: int | None = None,
                batch_size: int = BATCH_SIZE, progress: Callable[[int, int, int], None] | None = None,
                follow_symlinks: bool = False) -> IndexReport:
    """Read the archive at `paths` into the index at `index_dir` (created if needed); returns the report.

    Upserts by article id: a changed article replaces its old version, an unchanged one is skipped, so
    running it twice gives the same index. Bad input becomes a Problem in the report, never an exception.
    `progress(bytes_done, bytes_total, articles_read)` is called as files finish. Symlinks under a
    directory are followed only inside the given paths unless `follow_symlinks`.
    """
    started = time.perf_counter()
    report = IndexReport(index=str(index_dir))
    files, problems = find_files(paths, follow_symlinks)
    report.problems.extend(problems)
    report.failed += len(problems)
    report.files = len(files)
    workers = workers or os.cpu_count() or 1
    parts = plan_parts(files, workers)
    pool = start_pool(min(workers, len(parts))) if workers > 1 and len(parts) > 1 else None
    try:
        _write(parts, pool, workers, index_dir, batch_size, progress, report)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    report.seconds = time.perf_counter() - started
    return report


def _write(parts: list[Part], pool: multiprocessing.pool.Pool | None, workers: int, index_dir: str | Path,
           batch_size: int, progress: Callable[[int, int, int], None] | None, report: IndexReport) -> None:
    """Parse `parts` (in `pool`) and write them through one writer, committing every `batch_size`."""
    upserter = Upserter(index_dir, report, batch_size)
    try:
        total_bytes, done_bytes = sum(p.size for p in parts), 0
        for part, items, rows in parse_files(parts, pool, workers):
            failpoint("file")
            upserter.add_all(items, rows)
            done_bytes += part.size
            if progress:
                progress(done_bytes, total_bytes, report.articles)
        upserter.finish()
    except BaseException as exc:
        upserter.abort(exc)
        raise


class Upserter:
    """One index's writer: upserts parsed articles by id, commits every `batch_size`, counts into `report`.

    build_index feeds it parsed files; a sharded build (indexer/shards.py) one per shard. `delete_hashes`
    removes articles by id hash (an article that moved to another shard).
    """

    def __init__(self, index_dir: str | Path, report: IndexReport, batch_size: int = BATCH_SIZE):
        self.index_dir, self.report, self.batch_size = index_dir, report, batch_size
        self.index = open_index(index_dir, create=True)
        self.writer = open_writer(self.index, index_dir)
        try:
            # A commit killed midway can leave files no commit refers to (a delete bitset, say), and the next
            # commit of the same operations would find their names taken: clear them first.
            self.writer.garbage_collect_files()
            self.known = indexed_fingerprints(self.index)
            self.terms = TermWriter(index_dir)
            self.groups = CopyGroups(index_dir, self.index, self.known)
        except BaseException as exc:
            self.abort(exc)
            raise
        self.pending = 0
        self.seen: set[int] = set()
        self.flagging = has_grouped(self.index.schema)  # a version 4 index has no `grouped` flag
        # This batch's articles, written at its commit, when it is known which founders their copies joined.
        self.batch: dict[int, tuple[Article, int, int, int, bool]] = {}  # id_hash -> (article, hash, fp, group, copy)

    def add_all(self, items: Iterable[Parsed], rows: TermRows) -> None:
        """Upsert parsed articles; `rows` holds their term rows, one per article (problems have none)."""
        report, writer, known = self.report, self.writer, self.known
        row = -1
        for parsed in items:
            if isinstance(parsed, Notice):
                report.notices.append(parsed)
                continue
            if isinstance(parsed, Problem):
                report.problems.append(parsed)
                report.failed += 1
                continue
            item, h, fp, sk = parsed
            row += 1
            report.articles += 1
            old = known.get(h)
            if h in self.seen:  # met earlier in this run: the later version wins
                report.duplicates += 1
                if old == fp:
                    continue
                writer.delete_documents_by_term("id", item.id)
                self.batch.pop(h, None)
            else:
                self.seen.add(h)
                if old == fp:
                    report.unchanged += 1
                    continue
                if old is None:
                    report.added += 1
                else:
                    writer.delete_documents_by_term("id", item.id)
                    report.updated += 1
            self.batch[h] = (item, h, fp, *self.groups.place(item.id, h, fp, sk))
            failpoint("add")
            self.terms.add(item.id, h, fp, rows, row)
            known[h] = fp
            self.pending += 1
            if self.pending >= self.batch_size:
                self._commit()

    def delete_hashes(self, hashes: Iterable[int]) -> int:
        """Delete the articles with these id hashes (those this index holds); committed with the next batch."""
        n = 0
        for h in hashes:
            if self.known.pop(h, None) is not None:
                self.writer.delete_documents_by_term("id_hash", h)
                self.batch.pop(h, None)
                self.groups.forget(h)
                self.pending += 1
                n += 1
        return n

    def _commit(self) -> None:
        self._write_batch()
        _commit(self.writer, self.terms, self.groups)
        self.pending = 0

    def _write_batch(self) -> None:
        """Add this batch's articles to the writer: copies, and founders whose group a copy joined in the same
        batch, flagged `grouped`. (A founder committed before its first copy stays as it is: written again it
        would count twice in BM25's statistics until a merge drops the old version, and scores would hang on
        where batches fell. Search finds such founders with a second, small search: query/fold.py.)"""
        batch, self.batch = self.batch, {}
        joined = {group for _, _, _, group, copy in batch.values() if copy} if self.flagging else set()
        for a, h, fp, group, copy in batch.values():
            flag = (copy or group in joined) if self.flagging else None
            self.writer.add_document(article_document(a, h, fp, group, copy, flag))

    def finish(self) -> None:
        if self.pending:
            self._commit()
        failpoint("merge", during=True)
        self.writer.wait_merging_threads()
        compact(self.index_dir, self.known)
        compact_copies(self.index_dir, self.known)
        self.index.reload()
        self.report.total = self.index.searcher().num_docs

    def abort(self, exc: BaseException | None = None) -> None:
        """Roll back the unfinished batch (the last commit stays intact); a full disk becomes DiskFull."""
        try:
            self.writer.rollback()
        except Exception:
            pass
        full = _disk_full(exc, self.index_dir) if exc is not None else None
        if full is not None:
            raise full from exc


def _commit(writer: tantivy.IndexWriter, terms: TermWriter, groups: CopyGroups) -> None:
    terms.flush()  # before the commit: the index never holds an article without its terms
    groups.flush()
    failpoint("flushed")
    failpoint("commit", during=True)
    writer.commit()
