"""Kill `newssearch index` with SIGKILL at chosen steps and at random moments; nothing committed is lost.

Each run indexes the same input (the corpus's Reuters articles plus a generated JSON Lines export, about
3,400 articles) with small batches, so there are many commits to be killed between. After each
kill: the index opens, holds exactly the articles of some prefix of completed batches, each once, and
re-running `index` converges to the index an uninterrupted run builds (same ids, same search results).
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import asdict
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPUS, newssearch

BATCH = 100
QUERIES = ["oil prices", "coffee", "bank interest rates", "wheat OR corn", '"trade deficit"']


def _exe() -> str:
    return shutil.which("newssearch") or str(Path(sys.executable).with_name("newssearch"))


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The input: the corpus's Reuters JSONL files plus a 2 MB JSON Lines export."""
    root = tmp_path_factory.mktemp("input")
    shutil.copytree(CORPUS / "reuters", root / "reuters")
    records = [json.loads(line) for f in sorted((CORPUS / "reuters").glob("*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(root / "big-export.jsonl", "w", encoding="utf-8") as fh:
        i = 0
        while fh.tell() < 2 * 1024 * 1024:
            r = dict(records[i % len(records)])
            r["id"] = f"big-{i}"
            r["body"] = r.get("body", "") + f" (copy {i})"
            fh.write(json.dumps(r) + "\n")
            i += 1
    return root


@pytest.fixture(scope="module")
def reference(archive, tmp_path_factory) -> dict:
    """What an uninterrupted run gives."""
    index = tmp_path_factory.mktemp("reference") / "index"
    started = time.monotonic()
    newssearch("index", archive, "--index", index, "--batch-size", BATCH)
    return {**snapshot(index), "seconds": time.monotonic() - started}


def without_time(reference: dict) -> dict:
    return {k: v for k, v in reference.items() if k != "seconds"}


def all_ids(index: Path) -> list[str]:
    """Every stored id, read through the library (the CLI pages only the first 10,000)."""
    import tantivy

    from newssearch import Archive

    searcher = Archive.open(index).searcher()
    if searcher.num_docs == 0:
        return []
    hits = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs).hits
    return [searcher.doc(addr)["id"][0] for _, addr in hits]


def snapshot(index: Path) -> dict:
    from newssearch import Archive

    archive = Archive.open(index)
    results = {q: ranking([asdict(h) for h in archive.search(q, limit=100, facets=False).hits]) for q in QUERIES}
    totals = {q: archive.search(q, facets=False).total for q in QUERIES}
    return {"articles": len(archive), "results": results, "totals": totals}


def ranking(hits: list[dict]) -> list[tuple[float, list[str]]]:
    """Scores with the ids at each, best first. Equal scores (copies) may come in either order, and the group
    at the cut-off may be cut anywhere, so it is left out."""
    groups: dict[float, list[str]] = {}
    for h in hits:
        groups.setdefault(round(h["score"], 3), []).append(h["id"])
    last = min(groups) if len(hits) == 100 else None
    return [(score, sorted(ids)) for score, ids in sorted(groups.items(), reverse=True) if score != last]


def run_killed(archive: Path, index: Path, failpoint: str | None = None, after_s: float | None = None,
               batch: int = BATCH) -> int:
    """Start an index run; kill it at the failpoint (it kills itself) or after `after_s` seconds."""
    env = dict(os.environ)
    if failpoint:
        env["NEWSSEARCH_FAILPOINTS"] = failpoint
    proc = subprocess.Popen([_exe(), "index", str(archive), "--index", str(index), "--batch-size", str(batch),
                             "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if after_s is not None:
        try:
            proc.wait(timeout=after_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    return proc.returncode


def check_consistent(index: Path) -> int:
    """The index opens, every article is there once, and the related-posts terms match it."""
    if not (index / "newssearch.json").exists():
        return 0  # killed before the index was created: nothing to lose
    ids = all_ids(index)
    assert len(ids) == len(set(ids)), "an article is indexed twice"
    stats = json.loads(newssearch("stats", "--index", index, "--json").stdout)  # the CLI opens it too
    assert stats["articles"] == len(ids)
    if ids:  # every live article has its term row: related posts work for each
        from newssearch import Archive

        assert set(Archive.open(index).related_model().ids) == set(ids)
    return stats["articles"]


KILL_POINTS = [
    "file:1",  # after the first file is parsed, before anything is written
    "add:450",  # in the middle of the third batch
    "flushed:3",  # terms of batch 3 written, its commit not started
    "commit:4",  # while Tantivy commits batch 4
    "commit:20",  # later, with segments to merge
    "merge:1",  # while the final merges run
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_at_a_step_loses_nothing_committed(archive, reference, tmp_path, point):
    index = tmp_path / "index"
    rc = run_killed(archive, index, failpoint=point)
    assert rc == -signal.SIGKILL, f"the failpoint {point} was never reached (exit {rc})"
    count = check_consistent(index)
    n = int(point.split(":")[1])
    if point.startswith(("add", "flushed", "commit")):
        # Only whole batches survive: the killed batch is rolled back by construction.
        committed = {"add": (n - 1) // BATCH, "flushed": n - 1, "commit": n - 1}[point.split(":")[0]]
        assert count in (committed * BATCH, (committed + 1) * BATCH) if point.startswith("commit") \
            else count == committed * BATCH
    if point.startswith(("merge", "compact")):
        assert count == reference["articles"]  # everything was committed before the kill
    newssearch("index", archive, "--index", index, "--batch-size", BATCH)
    assert snapshot(index) == without_time(reference)


def test_kill_while_compacting_term_chunks(archive, reference, tmp_path):
    index = tmp_path / "index"
    # Batches of 40 leave more than 64 term chunks, which the end of the run compacts into one.
    assert run_killed(archive, index, failpoint="compact:1", batch=40) == -signal.SIGKILL
    assert check_consistent(index) == reference["articles"]
    assert len(list((index / "terms").glob("chunk-*.npz"))) > 64  # the old chunks and the new one
    newssearch("index", archive, "--index", index, "--batch-size", BATCH)
    assert snapshot(index) == without_time(reference)


@pytest.mark.parametrize("fraction", [0.3, 0.55, 0.8])
def test_kill_at_random_moments_then_converge(archive, reference, tmp_path, fraction):
    """Killed from outside once a share of the batches is committed (a term chunk is written per batch),
    a random few milliseconds later: the run must really have been killed, not have finished first."""
    index = tmp_path / "index"
    batches = reference["articles"] // BATCH
    proc = subprocess.Popen([_exe(), "index", str(archive), "--index", str(index), "--batch-size", str(BATCH)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and len(list(index.glob("terms/chunk-*.npz"))) < fraction * batches:
            time.sleep(0.005)
        time.sleep(random.Random(int(fraction * 100)).uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
    finally:
        rc = proc.wait(timeout=300)
    assert rc == -signal.SIGKILL, f"the run ended ({rc}) before it was killed"
    count = check_consistent(index)
    assert count % BATCH == 0 and 0 < count < reference["articles"]  # whole batches, killed mid-run
    newssearch("index", archive, "--index", index, "--batch-size", BATCH)
    assert snapshot(index) == without_time(reference)


def test_repeated_kills_then_converge(archive, reference, tmp_path):
    """Killed again and again while resuming: every run keeps what the earlier ones committed."""
    index = tmp_path / "index"
    counts = []
    for point in ("commit:3", "commit:5", "add:300", "commit:9"):
        run_killed(archive, index, failpoint=point)
        counts.append(check_consistent(index))
    assert counts == sorted(counts) and counts[-1] > counts[0]
    newssearch("index", archive, "--index", index, "--batch-size", BATCH)
    assert snapshot(index) == without_time(reference)


def test_searches_answer_while_an_index_run_commits(archive, tmp_path):
    """Readers see the old or the new state, never an error, while a writer commits batch after batch."""
    from newssearch import Archive

    index = tmp_path / "index"
    newssearch("index", CORPUS / "bbc", "--index", index)
    reader = Archive.open(index)
    start = len(reader)
    proc = subprocess.Popen([_exe(), "index", str(archive), "--index", str(index), "--batch-size", str(BATCH)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, totals = [], []
    try:
        while proc.poll() is None:
            reader.reload()
            result = reader.search("prices", limit=5)
            seen.append(len(reader))
            totals.append(result.total)
            # BBC articles say "prices" from the start; the page holds the first five of them
            assert 0 < result.total <= seen[-1] and len(result.hits) == min(5, result.total)
            time.sleep(0.02)
    finally:
        proc.communicate(timeout=300)
    assert proc.returncode == 0
    reader.reload()
    assert seen and seen == sorted(seen) and seen[0] >= start  # never goes back, never fails
    assert totals == sorted(totals) and totals[-1] > totals[0]  # articles are only added: matches too
    assert len(reader) > start and len(set(seen)) > 2  # and commits were seen as they landed


@pytest.fixture(scope="module")
def busy_archive(tmp_path_factory) -> Path:
    """A small export first, then two gzipped ones of about 12 MB (a gzip file is one part, parsed by one
    process): when the first is done, both parser processes are busy for seconds."""
    import gzip

    root = tmp_path_factory.mktemp("busy")
    shutil.copy(CORPUS / "cms" / "reuters-1987-04-export.json", root / "a-first.json")
    records = [json.loads(line) for f in sorted((CORPUS / "reuters").glob("*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    for n in range(2):
        lines = [json.dumps({**records[i % len(records)], "id": f"busy-{n}-{i}"}) for i in range(12_000)]
        (root / f"b-export-{n}.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode(), 1))
    return root


def test_rerun_right_after_a_kill_gets_the_writer(busy_archive, tmp_path):
    """`kill -9` of an index run while its parser processes are busy, then an index run at once: the
    parsers were started before the writer (by the fork server, not forked from the writer's process), so
    they never hold its lock, and they exit with the run. Forked after the writer, they outlived it holding
    the lock, and the re-run failed with "another process is writing to this index"."""
    index = tmp_path / "index"
    env = {**os.environ, "NEWSSEARCH_FAILPOINTS": "file:1"}
    for attempt in range(2):
        # Not run_killed: waiting for its output pipes to close would wait for orphans holding them too.
        proc = subprocess.Popen([_exe(), "index", str(busy_archive), "--index", str(index), "--batch-size", "10"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert proc.wait(timeout=300) == -signal.SIGKILL
        # At once, a small input (the writer's lock is the index's, whatever is read into it).
        again = newssearch("index", CORPUS / "cms", "--index", index, check=False)
        assert again.returncode == 0, f"re-run {attempt + 1} after the kill: {again.stderr}"
    assert check_consistent(index) >= 200
