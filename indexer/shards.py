"""A sharded archive: several ordinary newssearch indexes (shards) in one directory, and a manifest.

Layout of `DIR`:
    shards.json          the manifest (written atomically): how articles are split, each shard's period,
                         hash bucket, date range, article count and what last wrote it
    shards/NAME/         one ordinary index directory per shard (tantivy/ + terms/)
    staging/             a build's parsed articles between reading and writing (removed when it ends)
    moves.json           present only while articles whose date changed are moved between shards

Articles are split by time (`year` or `month` of their date; undated ones go to `undated`), the natural key
of a news archive: searches with a date filter skip the shards outside it. A period with more articles than
the size cap is split further into hash buckets of the article id (the bucket count of a period is fixed
when the period is first written, so an id always maps to the same shard). An id is unique across shards:
an upsert that changes an article's date moves it (added to its new shard, then deleted from the old one,
with the move journalled so a killed run finishes it on the next).

A build runs in three steps, each a set of independent tasks (local processes here, Ray tasks in
`indexer/distributed.py`): parse each file (or part of a big one) into per-period staging files; write each
shard from its staging files with one writer per shard (the ordinary upserting writer, so a retried task
neither loses nor doubles an article); delete the articles that moved out of their old shards.
"""
from __future__ import annotations

import base64
import fcntl
import multiprocessing as mp
import json
import math
import os
import shutil
import signal
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


import numpy as np

from newssearch.errors import IndexUnusable

from .article import Article, Problem
from .build import BATCH_SIZE, IndexReport, Upserter, _die_with_parent, _parse
from .copies import _day, article_sketch
from .shard_groups import (AssignedGroups, decode_sketch, encode_sketch, load_assigned, place_archive,
                           read_cross_groups, write_cross_groups, write_part_sketches)
from .schema import open_index
from .sources import Part, find_files, plan_parts
from .terms import Numbering, TermRows

MANIFEST = "shards.json"
FORMAT = "newssearch-shards/1"
SHARD_BY = ("year", "month", "none")
UNDATED = "undated"
ALL = "all"  # the one period when shard_by is "none"
DEFAULT_SHARD_SIZE = 1_000_000  # articles per shard before a period is split by id hash


class ShardedIndexError(IndexUnusable):
    """A sharded archive directory is not in a state this run can use (named in the message)."""


@dataclass
class ShardInfo:
    name: str
    period: str  # "1987", "1987-03", "undated" or "all"
    bucket: int = 0
    buckets: int = 1
    articles: int = 0
    date_min: str | None = None  # ISO 8601, the earliest article's date (None: no dated article)
    date_max: str | None = None
    writer: dict[str, Any] = field(default_factory=dict)  # host, pid, run, via, at

    @property
    def path_name(self) -> str:
        return f"shards/{self.name}"


@dataclass
class Manifest:
    shard_by: str
    shard_size: int
    periods: dict[str, int] = field(default_factory=dict)  # period -> its number of hash buckets (fixed)
    shards: list[ShardInfo] = field(default_factory=list)
    updated: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "shard_by": self.shard_by, "shard_size": self.shard_size,
                "periods": self.periods, "updated": self.updated, "shards": [asdict(s) for s in self.shards]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Manifest":
        return cls(shard_by=d["shard_by"], shard_size=int(d["shard_size"]), periods=dict(d.get("periods", {})),
                   shards=[ShardInfo(**s) for s in d.get("shards", [])], updated=d.get("updated", ""))

    def shard_dir(self, root: str | Path, shard: ShardInfo) -> Path:
        return Path(root) / shard.path_name


def is_sharded(index_dir: str | Path) -> bool:
    return (Path(index_dir) / MANIFEST).is_file()


def load_manifest(index_dir: str | Path) -> Manifest:
    path = Path(index_dir) / MANIFEST
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShardedIndexError(path, f"{path}: cannot read the shard manifest ({exc})") from None
    if d.get("format") != FORMAT:
        raise ShardedIndexError(path, f"{path}: manifest format {d.get('format')!r}, this newssearch reads {FORMAT!r}")
    return Manifest.from_dict(d)


def save_manifest(index_dir: str | Path, manifest: Manifest) -> None:
    """Write the manifest atomically (a reader sees the old one or the new one, never half of one)."""
    manifest.updated = _now()
    _write_json_atomic(Path(index_dir) / MANIFEST, manifest.to_dict())


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- routing -------------------------------------------------------------------------------------------
def period_of(date: datetime | None, shard_by: str) -> str:
    if shard_by == "none":
        return ALL
    if date is None:
        return UNDATED
    return f"{date.year:04d}" if shard_by == "year" else f"{date.year:04d}-{date.month:02d}"


def bucket_of(h: int, buckets: int) -> int:
    """The hash bucket of an id hash (fixed for a period once its bucket count is chosen)."""
    return (h >> 11) % buckets if buckets > 1 else 0


def shard_name(period: str, bucket: int, buckets: int) -> str:
    return period if buckets == 1 else f"{period}.{bucket}"


def period_bounds(period: str) -> tuple[datetime, datetime] | None:
    """[start, end) of a period, None for `undated` and `all` (no bound)."""
    if period in (UNDATED, ALL):
        return None
    y = int(period[:4])
    if len(period) == 4:
        return datetime(y, 1, 1, tzinfo=timezone.utc), datetime(y + 1, 1, 1, tzinfo=timezone.utc)
    m = int(period[5:7])
    return (datetime(y, m, 1, tzinfo=timezone.utc),
            datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc))


def shards_in_range(manifest: Manifest, date_from: datetime | None, date_to: datetime | None) -> list[ShardInfo]:
    """The shards that can hold an article dated in [date_from, date_to); all of them without a bound.

    Decided by each shard's period, not the dates it holds, so a shard being written is never skipped
    wrongly. A date filter never matches undated articles, so `undated` is skipped under one.
    """
    if date_from is None and date_to is None:
        return list(manifest.shards)
    out = []
    for s in manifest.shards:
        bounds = period_bounds(s.period)
        if bounds is None:
            if s.period == ALL:
                out.append(s)
            continue
        lo, hi = bounds
        if (date_to is None or lo < date_to) and (date_from is None or hi > date_from):
            out.append(s)
    return out


def choose_shard_size(counts: dict[str, int], shards: int) -> int:
    """The smallest size cap that splits these periods into at most `shards` shards (one per period at
    least: with more periods than `shards`, every period gets one shard)."""
    if not counts:
        return DEFAULT_SHARD_SIZE
    lo, hi = 1, max(counts.values())
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(math.ceil(c / mid) for c in counts.values()) <= shards:
            hi = mid
        else:
            lo = mid + 1
    return lo


# --- staging: parsed articles between reading and writing ---------------------------------------------
@dataclass
class PartResult:
    """What parsing one part found: the id hashes per period (in file order) and the problems."""

    number: int
    size: int
    articles: int
    periods: dict[str, list[int]]
    problems: list[Problem]


def staging_file(staging: Path, period: str, number: int) -> Path:
    return staging / period / f"{number:07d}.jsonl"


def parse_to_staging(part: Part, number: int, staging: str | Path, shard_by: str) -> PartResult:
    """Read and tokenise one part; write its articles, grouped by period, to staging files (atomically,
    so a retried task rewrites the same files and nothing is doubled)."""
    staging = Path(staging)
    _, items, rows = _parse(part)
    failpoint_once("shard-parse")
    by_period: dict[str, list[str]] = defaultdict(list)
    hashes: dict[str, list[int]] = defaultdict(list)
    sketches: list[tuple] = []  # (id, id hash, fingerprint, sketch) in input order: the archive-wide grouping's
    problems, n = [], 0
    vocab = np.asarray(rows.vocab, dtype=object)
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        if not isinstance(item, tuple):  # a notice: nothing to index
            continue
        article, h, fp, sk = item
        a, b = rows.indptr[n], rows.indptr[n + 1]
        # The term row as its terms (one string: analyser tokens hold no space) and their counts (float32,
        # base64): decoded at a fraction of the cost of a {term: count} object, in the writer's serial read.
        terms = " ".join(vocab[rows.indices[a:b]])
        counts = base64.b64encode(rows.data[a:b].astype(np.float32).tobytes()).decode("ascii")
        n += 1
        p = period_of(article.date, shard_by)
        # The id hash leads the line: a shard's writer skips the other shards' articles without parsing them.
        by_period[p].append(f"{h}\t" + json.dumps({"a": article.to_dict(), "t": terms, "n": counts,
                                                   **encode_sketch(sk)}, ensure_ascii=False))
        hashes[p].append(h)
        sketches.append((article.id, h, fp, sk))
    for p, lines in by_period.items():
        path = staging_file(staging, p, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    if sketches:
        write_part_sketches(staging, number, sketches)
    return PartResult(number=number, size=part.size, articles=n, periods=dict(hashes), problems=problems)


def read_staging(path: Path, keep: Callable[[int], bool]) -> tuple[list[tuple], TermRows]:
    """The articles of a staging file whose id hash `keep` accepts, as the writer takes them: (article,
    id_hash, fingerprint) and their term rows (each row's terms in the order they were counted)."""
    items, vocab, indptr, indices, data = [], Numbering(), [0], [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            head, _, record = line.partition("\t")
            h = int(head)
            if not keep(h):
                continue
            d = json.loads(record)
            a = d["a"]
            date = datetime.fromisoformat(a["date"].replace("Z", "+00:00")) if a["date"] else None
            article = Article(**{**a, "date": date})
            sk = decode_sketch(d, _day(date)) or article_sketch(article)
            items.append((article, h, article.fingerprint(), sk))
            if d["t"]:
                indices.extend(map(vocab.__getitem__, d["t"].split(" ")))
                data.append(np.frombuffer(base64.b64decode(d["n"]), dtype=np.float32))
            indptr.append(len(indices))
    return items, TermRows(vocab=list(vocab), indptr=np.asarray(indptr, dtype=np.int64),
                           indices=np.asarray(indices, dtype=np.int32),
                           data=np.concatenate(data) if data else np.zeros(0, dtype=np.float32))


# --- writing one shard -----------------------------------------------------------------------------------
@dataclass
class ShardJob:
    shard_dir: str
    files: list[str]  # staging files of its period, in part order
    bucket: int
    buckets: int
    skip: set[int] = field(default_factory=set)  # id hashes whose last version in this run is in another shard
    delete: list[int] = field(default_factory=list)  # id hashes that moved out (step 3 only)
    batch_size: int = BATCH_SIZE
    groups: str | None = None  # the archive-wide placement's groups for this shard (indexer/shard_groups.py)


@dataclass
class ShardResult:
    shard_dir: str
    report: dict[str, Any]
    articles: int
    date_min: str | None
    date_max: str | None


def write_shard(job: ShardJob) -> ShardResult:
    """Upsert this shard's articles from the staging files (and delete the moved-out ones). Safe to run
    again after a kill: the last commit stands and unchanged articles are skipped."""
    report = IndexReport(index=job.shard_dir)
    up = Upserter(job.shard_dir, report, job.batch_size)
    if job.groups:
        up.groups = AssignedGroups(job.shard_dir, up.index, up.known, load_assigned(job.groups))
    try:
        for f in job.files:
            up.add_all(*read_staging(Path(f), lambda h: bucket_of(h, job.buckets) == job.bucket and h not in job.skip))
            failpoint_once("shard-write")
        up.delete_hashes(job.delete)
        up.finish()
    except BaseException as exc:
        up.abort(exc)
        raise
    lo, hi = date_span(up.index)
    return ShardResult(shard_dir=job.shard_dir, report=report.to_dict(), articles=report.total,
                       date_min=lo, date_max=hi)


def date_span(index) -> tuple[str | None, str | None]:
    import tantivy

    searcher = index.searcher()
    if searcher.num_docs == 0:
        return None, None
    res = searcher.aggregate(tantivy.Query.all_query(),
                             {"lo": {"min": {"field": "date"}}, "hi": {"max": {"field": "date"}}})

    def iso(v: float | None) -> str | None:
        if v is None:
            return None
        return datetime.fromtimestamp(v / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")

    return iso(res["lo"].get("value")), iso(res["hi"].get("value"))


def live_hashes(shard_dir: str | Path) -> dict[int, int]:
    """id_hash -> fingerprint of every article a shard holds."""
    from .terms import indexed_fingerprints

    return indexed_fingerprints(open_index(shard_dir))


# --- test hook -----------------------------------------------------------------------------------------
FAIL_ONCE_ENV = "NEWSSEARCH_FAIL_ONCE"


def failpoint_once(name: str) -> None:
    """`NEWSSEARCH_FAIL_ONCE=shard-parse:/tmp/m1,shard-write:/tmp/m2` SIGKILLs the first process to pass
    each named point (its marker file records that it happened), so the retried task then runs through: a
    worker lost mid-task."""
    spec = os.environ.get(FAIL_ONCE_ENV)
    if not spec:
        return
    armed = dict(part.partition(":")[::2] for part in spec.split(","))
    marker = armed.get(name)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


# --- running tasks: local processes or (indexer/distributed.py) Ray ---------------------------------------
class LocalRunner:
    """Runs a build's tasks in local worker processes: one pool for the whole build (started on the first
    step with more than one task, closed by `close`), not one per step: a worker's start-up (a fork server,
    newssearch's imports) is paid once."""

    via = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def parallelism(self) -> int:
        """The tasks it runs at once."""
        return self.workers

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Started by a fork server, as build_index's parsers are (no inherited locks or threads), in an
            # executor that fails the build if a worker dies (a plain Pool would wait for it forever).
            methods = mp.get_all_start_methods()
            ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                ctx.set_forkserver_preload(["newssearch.indexer.shards", "newssearch.indexer.records",
                                            "newssearch.indexer.extract", "newssearch.indexer.pagedump"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_die_with_parent)
        return self._pool

    def map(self, fn: Callable, args: list[tuple], done: Callable[[Any], None] | None = None) -> list[Any]:
        """fn(*a) for each a, in any order; `done(result)` as each finishes; results in the order of args."""
        results: list[Any] = [None] * len(args)
        if self.workers <= 1 or len(args) <= 1:
            for i, a in enumerate(args):
                results[i] = fn(*a)
                if done:
                    done(results[i])
            return results
        pool = self._executor()
        futures = {pool.submit(fn, *a): i for i, a in enumerate(args)}
        try:
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if done:
                    done(results[futures[fut]])
        except BaseException:
            self.close()  # a failed step: no task of it goes on writing
            raise
        return results


# --- the build ------------------------------------------------------------------------------------------
class _BuildLock:
    """One build of a sharded archive at a time (an flock, released if the process dies)."""

    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self.fh = open(index_dir / ".build.lock", "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            from .schema import IndexBusy

            raise IndexBusy(index_dir, f"{index_dir}: another process is writing to this sharded archive "
                            "(one `newssearch index` at a time); try again when it has finished") from None

    def release(self) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def build_sharded(paths: Iterable[str | Path], index_dir: str | Path, *, shard_by: str | None = None,
                  shards: int | None = None, shard_size: int | None = None, runner: Any = None,
                  batch_size: int = BATCH_SIZE, progress: Callable[[int, int, int], None] | None = None,
                  follow_symlinks: bool = False) -> IndexReport:
    """Read the archive at `paths` into the sharded archive at `index_dir` (created if needed).

    `shard_by` (year, month or none) and the size cap (`shard_size` articles, or the cap that makes at
    most `shards` shards of this run's articles) are fixed when the archive is created; later runs use the
    manifest's. `runner` runs the tasks: LocalRunner (default) or distributed.RayRunner. Upserts by id
    across shards, as build_index does within one index.
    """
    started = time.perf_counter()
    root = Path(index_dir).absolute()
    if (root / "newssearch.json").exists():
        raise ShardedIndexError(root, f"{root} is a single (unsharded) index; shard into a new directory")
    runner = runner or LocalRunner()
    lock = _BuildLock(root)
    try:
        report = _build(paths, root, shard_by, shards, shard_size, runner, batch_size, progress, follow_symlinks)
    finally:
        lock.release()
        if isinstance(runner, LocalRunner):  # its pool; a Ray runner is its caller's to close
            runner.close()
    report.seconds = time.perf_counter() - started
    report.index = str(index_dir)
    return report


def _build(paths, root: Path, shard_by, shards, shard_size, runner, batch_size, progress,
           follow_symlinks: bool = False) -> IndexReport:
    report = IndexReport(index=str(root))
    manifest = load_manifest(root) if is_sharded(root) else None
    if manifest is None:
        if shard_by is not None and shard_by not in SHARD_BY:
            raise ShardedIndexError(root, f"shard-by: {shard_by!r} is not one of {', '.join(SHARD_BY)}")
        manifest = Manifest(shard_by=shard_by or "month", shard_size=shard_size or 0)
    elif shard_by and shard_by != manifest.shard_by:
        raise ShardedIndexError(root, f"{root} is sharded by {manifest.shard_by}, not {shard_by}: "
                                "shard into a new directory to change it")
    run = uuid.uuid4().hex[:12]
    writer = {"host": socket.gethostname(), "pid": os.getpid(), "run": run, "via": runner.via}
    clock = [time.perf_counter()]

    def step(name: str) -> None:  # seconds per step in the report: what limits scaling shows there
        now = time.perf_counter()
        report.steps[name] = round(report.steps.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    _finish_moves(root, manifest, runner)  # a killed run's moves first

    # 1. parse every part into per-period staging files
    files, problems = find_files(paths, follow_symlinks)
    report.problems.extend(problems)
    report.failed += len(problems)
    report.files = len(files)
    staging = root / "staging"
    shutil.rmtree(staging, ignore_errors=True)  # what a killed run left: this run parses its input again
    staging.mkdir(parents=True)
    parts = plan_parts(files, runner.parallelism())
    if runner.via != "local":  # tasks run in other working directories, on other nodes
        parts = [replace(p, path=p.path.absolute()) for p in parts]
    total_bytes, done = sum(p.size for p in parts), [0, 0]

    def parsed(r: PartResult) -> None:
        done[0] += r.size
        done[1] += r.articles
        if progress:
            progress(done[0], total_bytes, done[1])

    step("start")
    results: list[PartResult] = runner.map(parse_to_staging, [(p, i, str(staging), manifest.shard_by)
                                                            for i, p in enumerate(parts)], parsed)
    step("parse")
    # The last version of an id in this run wins, wherever earlier ones went.
    final: dict[int, str] = {}
    for r in results:
        report.problems.extend(r.problems)
        report.failed += len(r.problems)
        for p, hashes in r.periods.items():
            for h in hashes:
                final[h] = p
    counts = Counter(final.values())
    report.articles = sum(r.articles for r in results)

    # 2. plan: bucket counts for new periods, the target shard of each id, the moves
    new = {p: c for p, c in counts.items() if p not in manifest.periods}
    if not manifest.shard_size:
        manifest.shard_size = (choose_shard_size(new, shards) if shards else DEFAULT_SHARD_SIZE)
    for p, c in new.items():
        manifest.periods[p] = max(1, math.ceil(c / manifest.shard_size))
    by_name = {s.name: s for s in manifest.shards}
    for p, buckets in manifest.periods.items():
        for b in range(buckets):
            name = shard_name(p, b, buckets)
            if name not in by_name:
                by_name[name] = ShardInfo(name=name, period=p, bucket=b, buckets=buckets)
    manifest.shards = sorted(by_name.values(), key=lambda s: (s.period, s.bucket))

    def target(h: int, p: str) -> str:
        return shard_name(p, bucket_of(h, manifest.periods[p]), manifest.periods[p])

    existing = [s for s in manifest.shards if manifest.shard_dir(root, s).joinpath("newssearch.json").exists()]
    holders = runner.map(live_hashes, [(str(manifest.shard_dir(root, s)),) for s in existing])
    moves: list[tuple[int, str, str]] = []  # (id hash, from shard, to shard)
    for s, held in zip(existing, holders):
        for h in held.keys() & final.keys():
            t = target(h, final[h])
            if t != s.name:
                moves.append((h, s.name, t))
    for s in manifest.shards:
        open_index(manifest.shard_dir(root, s), create=True)  # every listed shard opens, if only as empty
    save_manifest(root, manifest)  # lists every shard that may receive articles before any is written
    step("plan")

    # near-duplicate groups placed archive-wide (indexer/shard_groups.py), cross-shard groups noted first
    live_of = dict(zip((s.name for s in existing), holders))
    group_files, cross = place_archive(
        staging, [r.number for r in results],
        {s.name: (manifest.shard_dir(root, s), live_of.get(s.name, {})) for s in manifest.shards},
        lambda h: target(h, final[h]) if h in final else None)
    for s in manifest.shards:
        if s.name in cross:
            d = manifest.shard_dir(root, s)
            write_cross_groups(d, np.union1d(read_cross_groups(d), cross[s.name]))
    step("group")

    # 3. write each shard that receives articles, one writer per shard
    skip: dict[tuple[str, int], set[int]] = defaultdict(set)  # (period, bucket) -> ids to leave out
    for r in results:
        for p, hashes in r.periods.items():
            for h in hashes:
                if final[h] != p:
                    skip[(p, bucket_of(h, manifest.periods[p]))].add(h)
                    report.duplicates += 1
    jobs = []
    for s in manifest.shards:
        pfiles = [str(staging_file(staging, s.period, r.number)) for r in results if s.period in r.periods]
        if pfiles:
            jobs.append((s, ShardJob(shard_dir=str(manifest.shard_dir(root, s)), files=pfiles, bucket=s.bucket,
                                     buckets=s.buckets, skip=skip.get((s.period, s.bucket), set()),
                                     batch_size=batch_size,
                                     groups=str(group_files[s.name]) if s.name in group_files else None)))
    if moves:
        _write_json_atomic(root / "moves.json", [list(m) for m in moves])
    # the biggest shards first (about their period's staged articles over its buckets): a big one started
    # last would keep one worker writing while the others wait
    staged = {s.name: sum(len(r.periods.get(s.period, ())) for r in results) / max(1, s.buckets) for s, _ in jobs}
    jobs.sort(key=lambda sj: -staged[sj[0].name])
    written = runner.map(write_shard, [(j,) for _, j in jobs])
    info = {s.name: s for s in manifest.shards}
    for (s, _), res in zip(jobs, written):
        _record(info[s.name], res, writer)
        for k in ("added", "updated", "unchanged", "duplicates", "failed"):
            setattr(report, k, getattr(report, k) + res.report[k])
        report.problems.extend(Problem(p["source"], p["message"]) for p in res.report["problems"])
    step("write")

    # 4. the moved articles leave their old shards
    if moves:
        report.added -= len(moves)
        report.updated += len(moves)
        _finish_moves(root, manifest, runner, writer)
    for s in manifest.shards:  # every shard written: the cross-shard groups exactly
        if s.name in cross:
            write_cross_groups(manifest.shard_dir(root, s), cross[s.name])
    shutil.rmtree(staging, ignore_errors=True)
    report.total = sum(s.articles for s in manifest.shards)
    save_manifest(root, manifest)
    step("finish")
    return report


def _record(shard: ShardInfo, res: ShardResult, writer: dict[str, Any]) -> None:
    shard.articles, shard.date_min, shard.date_max = res.articles, res.date_min, res.date_max
    shard.writer = {**writer, "at": _now()}


def _finish_moves(root: Path, manifest: Manifest, runner: Any, writer: dict[str, Any] | None = None) -> None:
    """Delete moved articles from their old shards, where the new shard has them (a run killed before
    writing the new shard leaves the old copy: the article is never lost)."""
    journal = root / "moves.json"
    if not journal.exists():
        return
    moves = json.loads(journal.read_text(encoding="utf-8"))
    info = {s.name: s for s in manifest.shards}
    targets = sorted({t for _, _, t in moves if t in info})
    held = dict(zip(targets, runner.map(live_hashes, [(str(manifest.shard_dir(root, info[t])),) for t in targets])))
    out: dict[str, list[int]] = defaultdict(list)
    for h, src, t in moves:
        if src in info and h in held.get(t, {}):
            out[src].append(h)
    jobs = [(info[src], ShardJob(shard_dir=str(manifest.shard_dir(root, info[src])), files=[], bucket=0,
                                 buckets=1, delete=hashes)) for src, hashes in out.items()]
    for (s, _), res in zip(jobs, runner.map(write_shard, [(j,) for _, j in jobs])):
        _record(s, res, writer or s.writer)
    save_manifest(root, manifest)
    journal.unlink()
