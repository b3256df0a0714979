"""What one input file may take, through the real `newssearch index`: a gzip bomb, a huge JSON line and a
huge CSV field are refused with a problem naming the file and line, in bounded memory (peak RSS of the
process, from wait4); a huge body is cut; symlinks out of the tree are not read; only http(s) URLs are
kept; file names are printed escaped; a full disk is one line saying what to do."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

from conftest import newssearch

from newssearch import Archive, build_index
from newssearch.indexer.sources import find_files
from newssearch.limits import MAX_BODY_CHARS, MAX_RECORD_BYTES, MiB

GOOD = {"id": "good", "title": "Harbour strike ends",
        "body": "Dock workers returned to the harbour on Friday after a week-long strike."}
# A newssearch index process starts at about 130 MB (tantivy, numpy, the writer); reading one of the
# inputs below whole took 2-15x its size on top (README, "Reliability and bounds").
RSS_BOUND_MB = 400


def index_measured(*args) -> tuple[int, dict, str, float]:
    """Run `newssearch index ... --json --workers 1` (one process): (exit status, report, stderr, peak RSS MB)."""
    exe = shutil.which("newssearch") or str(Path(sys.executable).with_name("newssearch"))
    with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        proc = subprocess.Popen([exe, "index", *map(str, args), "--json", "--workers", "1"], stdout=o, stderr=e)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not all children's
        proc.returncode = os.waitstatus_to_exitcode(status)
        o.seek(0), e.seek(0)
        report, stderr = json.loads(o.read() or b"{}"), e.read().decode()
    return proc.returncode, report, stderr, usage.ru_maxrss / 1024  # KB on Linux


def problems(report: dict) -> dict[str, str]:
    return {p["source"]: p["message"] for p in report["problems"]}


def test_a_gzip_bomb_is_refused_in_bounded_memory(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip
    zeros = b"0" * MiB  # 512 MB of zeros in one line
    with open(src / "bomb.jsonl.gz", "wb") as fh:
        for _ in range(512):
            fh.write(deflate.compress(zeros))
        fh.write(deflate.flush())
    assert (src / "bomb.jsonl.gz").stat().st_size < MiB
    (src / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    rc, report, _, rss = index_measured(src, "--index", tmp_path / "index")
    assert rc == 1 and report["added"] == 1
    assert "decompression bomb" in problems(report)[str(src / "bomb.jsonl.gz")]
    assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"


def test_a_huge_json_line_is_refused_on_its_line(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    huge = {**GOOD, "id": "huge", "body": "word " * (40 * MiB // 5)}  # a 40 MB line
    with open(src / "export.jsonl", "w") as fh:
        fh.write(json.dumps(GOOD) + "\n" + json.dumps(huge) + "\n" + json.dumps({**GOOD, "id": "after"}) + "\n")
    rc, report, _, rss = index_measured(src, "--index", tmp_path / "index")
    assert rc == 1 and report["added"] == 2  # the lines before and after it
    assert problems(report) == {f"{src / 'export.jsonl'}:2": f"line over the {MAX_RECORD_BYTES // MiB} MB "
                                                             "record limit: skipped"}
    assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"


def test_a_huge_csv_field_is_refused_on_its_row(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "export.csv", "w") as fh:
        fh.write("id,title,body\nfirst,First,A first short article body.\n")
        fh.write('huge,Huge,"' + "word " * (40 * MiB // 5) + '"\n')
        fh.write("after,After,An article after the huge one.\n")
    rc, report, _, rss = index_measured(src, "--index", tmp_path / "index")
    assert rc == 1 and report["added"] == 2
    [(where, message)] = problems(report).items()
    assert where == f"{src / 'export.csv'}:3" and "record limit" in message
    assert rss < RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"


def test_a_huge_body_is_stored_cut(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    body = "Harbour " + "word " * (3 * MiB // 5)  # 3 MB: under the record bound, over the stored body's
    (src / "long.jsonl").write_text(json.dumps({"id": "long", "title": "Long", "body": body}) + "\n")
    build_index([src], tmp_path / "index", workers=1)
    archive = Archive.open(tmp_path / "index")
    stored = archive.article("long").body
    assert MAX_BODY_CHARS // 2 < len(stored) <= MAX_BODY_CHARS + 2 and stored.endswith(" …")
    assert archive.search("harbour").hits[0].id == "long"


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.jsonl").write_text(json.dumps({**GOOD, "id": "private"}) + "\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    (tree / "inside.jsonl").symlink_to(tree / "sub" / "good.jsonl")  # inside: read (once)
    (tree / "private.jsonl").symlink_to(outside / "private.jsonl")
    (tree / "passwd.txt").symlink_to("/etc/passwd")
    (tree / "out").symlink_to(outside, target_is_directory=True)
    os.mkfifo(tree / "pipe.jsonl")  # would block the run
    proc = newssearch("index", tree, "--index", tmp_path / "index", "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["added"] == 1 and report["files"] == 1
    found = problems(report)
    assert "outside the given paths" in found[str(tree / "private.jsonl")]
    assert "outside the given paths" in found[str(tree / "passwd.txt")]
    assert found[str(tree / "pipe.jsonl")] == "not a regular file"
    assert "root:" not in proc.stdout + proc.stderr
    assert Archive.open(tmp_path / "index").article("private") is None
    # Asked for, links are followed wherever they point (directory links too); still each file once.
    (tree / "pipe.jsonl").unlink()
    files, _ = find_files([tree], follow_symlinks=True)
    assert sorted(f.resolve() for f in files) == sorted([(tree / "sub" / "good.jsonl").resolve(),
                                                        Path("/etc/passwd").resolve(),
                                                        (outside / "private.jsonl").resolve()])
    report = json.loads(newssearch("index", tree, "--index", tmp_path / "index", "--json", "--follow-symlinks",
                                   check=False).stdout)
    assert report["added"] == 1 and Archive.open(tmp_path / "index").article("private") is not None


def test_only_http_urls_are_kept(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    records = [{**GOOD, "id": f"r{i}", "url": url} for i, url in enumerate(
        ["javascript:alert(document.domain)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
         "data:text/html,<script>alert(1)</script>", "//evil.example/x", "https://ok.example/a?b=c",
         'http://ok.example/"><script>'])]
    (src / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (src / "page.html").write_text(
        '<html><head><title>Harbour strike ends</title><link rel="canonical" href="javascript:alert(1)">'
        '<meta property="og:url" content="javascript:alert(2)"></head><body><article><h1>Harbour strike ends</h1>'
        + "<p>Dock workers returned to the harbour on Friday after a week-long strike over pay.</p>" * 5
        + "</article></body></html>")
    build_index([src], tmp_path / "index", workers=1)
    archive = Archive.open(tmp_path / "index")
    urls = {r["id"]: archive.article(r["id"]).url for r in records}
    assert urls == {"r0": None, "r1": None, "r2": None, "r3": None, "r4": None, "r5": "https://ok.example/a?b=c",
                    "r6": None}
    [page] = [h for h in archive.search("harbour", limit=20, fold=False).hits if h.id not in urls]
    assert page.url is None and not page.id.startswith("javascript")


def test_file_names_are_printed_escaped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "x\nerror: all articles lost\x1b[2J.jsonl").write_text("{not json\n")
    proc = newssearch("index", src, "--index", tmp_path / "index", check=False)
    assert proc.returncode == 1
    assert "\x1b" not in proc.stderr and "\nerror: all articles lost" not in proc.stderr
    assert "x\\nerror: all articles lost\\x1b[2J.jsonl:1: malformed JSON line" in proc.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare (a tmpfs in a namespace)")
def test_a_full_disk_is_one_line_saying_what_to_do(tmp_path):
    """On a 1 MB tmpfs (mounted in a user namespace) the corpus does not fit."""
    from conftest import CORPUS

    disk = tmp_path / "disk"
    disk.mkdir()
    exe = shutil.which("newssearch") or str(Path(sys.executable).with_name("newssearch"))
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.decode().strip()}")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" index '
                           '"$3" --index "$1/index"', "sh", str(disk), exe, str(CORPUS)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line
    assert "disk is full" in proc.stderr and "run the same command again" in proc.stderr
