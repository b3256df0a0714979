"""Broken input, generated: the readers, the indexer and the query layer never crash, report each bad item
with its file, and keep every good one."""
from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newssearch import Archive, Article, Problem, build_index
from newssearch.indexer.dispatch import read_file
from newssearch.indexer.sources import find_files
from newssearch.query.parse import QueryError

EXTENSIONS = [".jsonl", ".json", ".csv", ".tsv", ".html", ".txt", ".sgm", ".jsonl.gz", ".csv.gz", ".html.gz"]
def fuzz(examples: int) -> settings:
    # Derandomized: the same examples on every run, so CI is deterministic; no example database on disk.
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

GOOD = {"id": "good-1", "title": "Central bank raises interest rates",
        "body": "The central bank raised its main interest rate by half a point on Tuesday, citing inflation "
                "that has stayed above its target for a year. Markets had expected the move.",
        "date": "2024-05-07", "category": "Business"}

# --- pieces of broken input ---------------------------------------------------------------------------
wrong_types = st.sampled_from([None, 5, -1.5, True, [], {}, ["a", 3], {"x": {"y": []}}, "", " ", "\x00"])
bad_dates = st.sampled_from(["32/13/2025", "10000-01-01", "0000-00-00", "yesterday", "2025-02-30", "99999999999999",
                             "-1", "1e308", "NaN", "2025-13-01T25:61:61Z", "", "\x00\x01"])


@st.composite
def json_records(draw) -> bytes:
    rec = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(["id", "title", "body", "date", "category", "author", "url", "tags"]),
                             max_size=4)):
        rec[key] = draw(st.one_of(wrong_types, bad_dates, st.text(max_size=50)))
    return json.dumps(rec).encode()


@st.composite
def broken_bytes(draw) -> bytes:
    """Invalid UTF-8, mixed encodings, NULs, binary, whitespace, nesting, ragged CSV, truncated JSON…"""
    kind = draw(st.sampled_from(["binary", "latin1", "mixed", "nul", "blank", "nested", "ragged", "truncated",
                                 "records", "wrong-array", "no-body"]))
    if kind == "binary":
        return draw(st.binary(max_size=2000))
    if kind == "latin1":
        return draw(st.text(max_size=300)).encode("utf-8", "replace") + "café déjà vu".encode("latin-1")
    if kind == "mixed":
        return json.dumps(GOOD).encode() + b"\n" + b"\xff\xfe\xfa" + draw(st.binary(max_size=100)) + b"\n"
    if kind == "nul":
        return draw(st.text(max_size=200)).replace("a", "\x00").encode() + b"\x00" * draw(st.integers(0, 50))
    if kind == "blank":
        return draw(st.sampled_from([b"", b" ", b"\n\n\n", b"\t \r\n", b"\xef\xbb\xbf"]))
    if kind == "nested":
        depth = draw(st.integers(100, 3000))
        tag = draw(st.sampled_from(["div", "span", "p", "table", "b"]))
        return ("<html><body>" + f"<{tag}>" * depth + "deep text" + f"</{tag}>" * (depth // 2)).encode()
    if kind == "ragged":
        rows = ["title,body,date"] + [",".join(draw(st.lists(st.text(alphabet="ab \"',\n", max_size=8), max_size=6)))
                                     for _ in range(draw(st.integers(1, 6)))]
        return "\n".join(rows).encode()
    if kind == "truncated":
        full = json.dumps([GOOD, GOOD]).encode()
        return full[: draw(st.integers(1, len(full) - 1))]
    if kind == "records":
        return b"\n".join(draw(st.lists(json_records(), min_size=1, max_size=4)))
    if kind == "wrong-array":
        return json.dumps(draw(st.sampled_from([[1, 2, 3], {"posts": 5}, "text", 7, [[GOOD]], {"posts": [None]}]))).encode()
    return b"<html><head><title>Only a title</title></head></html>"


def write(path: Path, data: bytes, gz_truncate: int | None = None) -> Path:
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
        if gz_truncate is not None:
            data = data[: max(1, min(gz_truncate, len(data) - 1))]
    path.write_bytes(data)
    return path


def check_items(items: list, path: Path) -> None:
    for item in items:
        assert isinstance(item, (Article, Problem)), item
        if isinstance(item, Problem):
            assert item.source.startswith(str(path)), item  # every problem names its file (and line)
            assert item.message.strip()
        else:
            assert item.id and item.body.strip()
            assert item.date is None or 1800 <= item.date.year <= 2200


@fuzz(1500)
@given(ext=st.sampled_from(EXTENSIONS), data=broken_bytes(), gz_cut=st.one_of(st.none(), st.integers(1, 200)))
def test_readers_never_crash_and_name_the_file(tmp_path_factory, ext, data, gz_cut):
    path = write(tmp_path_factory.mktemp("f") / f"input{ext}", data, gz_cut)
    check_items(list(read_file(path)), path)


@fuzz(300)
@given(records=st.lists(json_records(), min_size=1, max_size=20))
def test_json_records_with_wrong_types_keep_the_good_ones(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("j") / "export.jsonl"
    path.write_bytes(b"\n".join(records) + b"\n" + json.dumps({**GOOD, "id": "surely-good"}).encode() + b"\n")
    items = list(read_file(path))
    check_items(items, path)
    assert "surely-good" in [a.id for a in items if isinstance(a, Article)]
    assert len(items) == len(records) + 1  # one article or one problem per line


@fuzz(25)
@given(bad=st.lists(st.tuples(st.sampled_from(EXTENSIONS), broken_bytes()), min_size=1, max_size=6),
       seed=st.integers(0, 10**6))
def test_index_run_keeps_every_good_article(tmp_path_factory, bad, seed):
    """Good files among broken ones: every good article is indexed, every broken file is reported."""
    root = tmp_path_factory.mktemp("archive")
    rng = random.Random(seed)
    good_ids = []
    for i in range(3):
        rec = {**GOOD, "id": f"good-{seed}-{i}", "title": f"{GOOD['title']} {i}"}
        write(root / f"good-{i}.jsonl", json.dumps(rec).encode() + b"\n")
        good_ids.append(rec["id"])
    for i, (ext, data) in enumerate(bad):
        write(root / f"bad-{i}{ext}", data, rng.choice([None, 30]))
    report = build_index([root], root / "index", workers=1)
    archive = Archive.open(root / "index")
    for gid in good_ids:
        assert archive.article(gid) is not None
    for p in report.problems:
        assert p.source.startswith(str(root)), p
    assert report.total == len(archive) >= len(good_ids)


def test_ten_megabyte_single_line_and_paths(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    huge = {**GOOD, "id": "huge", "body": ("word " * 2_100_000).strip()}  # one 10 MB line
    (root / "huge.jsonl").write_text(json.dumps(huge) + "\n")
    (root / "loop.jsonl").symlink_to(root / "loop.jsonl")  # a symlink loop
    (root / "dangling.json").symlink_to(root / "missing.json")  # points nowhere
    (root / "sub").mkdir()
    (root / "sub" / "back").symlink_to(root, target_is_directory=True)  # a directory loop: not followed
    write(root / "sub" / "ok.jsonl", json.dumps(GOOD).encode())
    files, problems = find_files([root, tmp_path / "no-such-path"])
    assert any("no-such-path" in p.source for p in problems)
    report = build_index([root, tmp_path / "no-such-path"], tmp_path / "index")
    sources = " ".join(p.source for p in report.problems)
    assert "loop.jsonl" in sources and "dangling.json" in sources and "no-such-path" in sources
    archive = Archive.open(tmp_path / "index")
    assert archive.article("huge") is not None and archive.article("good-1") is not None
    assert report.total == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_reported(tmp_path):
    path = write(tmp_path / "secret.jsonl", json.dumps(GOOD).encode())
    path.chmod(0)
    items = list(read_file(path))
    assert len(items) == 1 and isinstance(items[0], Problem) and "ermission" in items[0].message


# --- the query layer ----------------------------------------------------------------------------------
query_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(['"', "(", ")", "AND", "OR", "NOT", "-", "+", ":", "title:", "body:", "nosuch:", "*",
                              "~", "^", "[", "]", "{", "}", "TO", "oil", "prices", "\x00", "\x1b", "\u202e", "category:",
                              "category:\"", "date:[2020 TO", "\\", "/", "%", "'"]), max_size=40).map(" ".join),
)


@fuzz(1000)
@given(q=query_text, limit=st.integers(-5, 200), page=st.integers(-3, 2000),
       sort=st.sampled_from(["relevance", "newest", "oldest", "best", ""]),
       date_from=st.one_of(st.none(), bad_dates, st.sampled_from(["1987", "1987-03", "2005-02-30"])),
       prefix=st.booleans())
def test_queries_give_results_or_a_clear_error(corpus_archive, q, limit, page, sort, date_from, prefix):
    try:
        result = corpus_archive.search(q, limit=limit, page=page, sort=sort, date_from=date_from, prefix=prefix)
    except QueryError as exc:
        assert str(exc).split(":")[0] in ("q", "limit", "page", "sort", "from", "to", "category"), exc
        return
    # The page holds what is left of the matches after the pages before it, each once, at most `limit`.
    assert 0 <= result.total <= len(corpus_archive)
    assert len(result.hits) == max(0, min(limit, result.total - (page - 1) * limit))
    assert len({h.id for h in result.hits}) == len(result.hits)


@fuzz(300)
@given(q=query_text)
def test_suggest_never_fails(corpus_archive, q):
    try:
        s = corpus_archive.suggest(q)
    except QueryError as exc:
        assert str(exc).startswith("q:")
        return
    assert all(c.count > 0 for c in s.completions)


def test_huge_queries_are_refused_clearly(corpus_archive):
    for q in ["oil " * 5000, "x" * 10_000, " OR ".join(["a"] * 10_000)]:
        with pytest.raises(QueryError, match=r"^q: query (is|has) \d+"):
            corpus_archive.search(q)


@pytest.fixture(scope="module")
def corpus_archive(corpus_index) -> Archive:
    return Archive.open(corpus_index)
