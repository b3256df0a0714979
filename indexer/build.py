"""Index an archive: parse files in parallel, write through one Tantivy writer, commit in batches, upsert."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tantivy

from newssearch.limits import BATCH_SIZE

from .article import Article, Notice, Problem
from .copies import CopyGroups, Sketch, sketch
from .copies import compact as compact_copies
from .faults import failpoint
from .schema import IndexBusy, id_hash, open_index
from .dispatch import read_part
from .sources import Part, find_files, split_parts
from .terms import TermWriter, compact, indexed_fingerprints, term_counts

WRITER_HEAP = 256 * 1024 * 1024


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


def indexed_title(a: Article) -> str:
    """The title as ranking sees it: none when it was made up from the body."""
    return "" if a.title_from_body else a.title


def article_document(a: Article, group: int | None = None, copy: bool = False) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("id", a.id)
    doc.add_integer("id_hash", id_hash(a.id))
    doc.add_integer("fingerprint", a.fingerprint())
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
    doc.add_integer("group", id_hash(a.id) if group is None else group)
    doc.add_boolean("copy", copy)
    return doc


Parsed = tuple[Article, Counter, Sketch] | Problem | Notice


def _parse(part: Part) -> tuple[Part, list[Parsed]]:
    """Read one file (or part of one) and tokenise its articles (in the worker: both are CPU-bound)."""
    return part, [item if isinstance(item, (Problem, Notice))
                  else (item, term_counts(indexed_title(item), item.body), sketch(item.title, item.body, item.date))
                  for item in read_part(part)]


def parse_files(files: list[Part], workers: int) -> Iterator[tuple[Part, list[Parsed]]]:
    """Parse files in worker processes (HTML extraction is CPU-bound), yielding results in file order."""
    if workers <= 1 or len(files) <= 1:
        yield from map(_parse, files)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(workers) as pool:
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
                batch_size: int = BATCH_SIZE,
                progress: Callable[[int, int, int], None] | None = None) -> IndexReport:
    """Read the archive at `paths` into the index at `index_dir` (created if needed); returns the report.

    Upserts by article id: a changed article replaces its old version, an unchanged one is skipped, so
    running it twice gives the same index. Bad input becomes a Problem in the report, never an exception.
    `progress(bytes_done, bytes_total, articles_read)` is called as files finish.
    """
    started = time.perf_counter()
    report = IndexReport(index=str(index_dir))
    files, problems = find_files(paths)
    report.problems.extend(problems)
    report.failed += len(problems)
    report.files = len(files)

    index = open_index(index_dir, create=True)
    writer = open_writer(index, index_dir)
    try:
        known = indexed_fingerprints(index)
        terms = TermWriter(index_dir)
        groups = CopyGroups(index_dir, index, known)
        parts = [part for f in files for part in split_parts(f)]
        total_bytes, done_bytes = sum(p.size for p in parts), 0
        pending = 0
        seen: set[int] = set()
        workers = workers or os.cpu_count() or 1
        for part, items in parse_files(parts, workers):
            failpoint("file")
            for parsed in items:
                if isinstance(parsed, Notice):
                    report.notices.append(parsed)
                    continue
                if isinstance(parsed, Problem):
                    report.problems.append(parsed)
                    report.failed += 1
                    continue
                item, counts, sk = parsed
                report.articles += 1
                h, fp = id_hash(item.id), item.fingerprint()
                old = known.get(h)
                if h in seen:  # met earlier in this run: the later version wins
                    report.duplicates += 1
                    if old == fp:
                        continue
                    writer.delete_documents_by_term("id", item.id)
                else:
                    seen.add(h)
                    if old == fp:
                        report.unchanged += 1
                        continue
                    if old is None:
                        report.added += 1
                    else:
                        writer.delete_documents_by_term("id", item.id)
                        report.updated += 1
                writer.add_document(article_document(item, *groups.place(item.id, h, fp, sk)))
                failpoint("add")
                terms.add(item.id, h, fp, counts)
                known[h] = fp
                pending += 1
                if pending >= batch_size:
                    _commit(writer, terms, groups)
                    pending = 0
            done_bytes += part.size
            if progress:
                progress(done_bytes, total_bytes, report.articles)
        if pending:
            _commit(writer, terms, groups)
        failpoint("merge", during=True)
        writer.wait_merging_threads()
        compact(index_dir, known)
        compact_copies(index_dir, known)
    except BaseException:
        try:
            writer.rollback()  # keep the last commit intact; only the unfinished batch is lost
        except Exception:
            pass
        raise
    index.reload()
    report.total = index.searcher().num_docs
    report.seconds = time.perf_counter() - started
    return report


def _commit(writer: tantivy.IndexWriter, terms: TermWriter, groups: CopyGroups) -> None:
    terms.flush()  # before the commit: the index never holds an article without its terms
    groups.flush()
    failpoint("flushed")
    failpoint("commit", during=True)
    writer.commit()
