"""Indexing through the real CLI: upsert, idempotence, bad input reported and skipped, nothing lost."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import newssearch, query_json


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


ARTICLES = [
    {"id": "a1", "headline": "Harbour strike ends", "published": "2024-03-01T10:00:00Z", "section": "Business/Ports",
     "byline": "Ann Lee", "body": "Dock workers returned to the harbour on Friday after a week-long strike."},
    {"id": "a2", "headline": "Orchestra opens season", "published": "2024-04-02", "section": "Culture",
     "body": "The city orchestra opened its season with a programme of Sibelius symphonies."},
]


def test_upsert_replaces_and_never_duplicates(tmp_path):
    src, index = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    _jsonl(src / "feed.jsonl", ARTICLES)
    first = json.loads(newssearch("index", src, "--index", index, "--json").stdout)
    assert (first["added"], first["total"]) == (2, 2)
    again = json.loads(newssearch("index", src, "--index", index, "--json").stdout)
    assert (again["added"], again["updated"], again["unchanged"], again["total"]) == (0, 0, 2, 2)

    changed = [dict(ARTICLES[0], body="Dock workers voted to accept the pay offer, ending the strike."), ARTICLES[1]]
    _jsonl(src / "feed.jsonl", changed)
    third = json.loads(newssearch("index", src, "--index", index, "--json").stdout)
    assert (third["added"], third["updated"], third["unchanged"], third["total"]) == (0, 1, 1, 2)
    assert query_json(index, "pay offer")["hits"][0]["id"] == "a1"
    assert query_json(index, "returned Friday")["total"] == 0  # words only the old body had

    # indexing another file never drops what is already there
    _jsonl(src / "more.jsonl", [{"title": "Library reopens", "text": "The central library reopened its doors."}])
    fourth = json.loads(newssearch("index", src / "more.jsonl", "--index", index, "--json").stdout)
    assert (fourth["added"], fourth["total"]) == (1, 3)
    assert query_json(index, "sibelius")["total"] == 1


def test_hierarchical_categories_and_metadata(tmp_path):
    index = tmp_path / "index"
    newssearch("index", _jsonl(tmp_path / "f.jsonl", ARTICLES), "--index", index)
    res = query_json(index, "", "--category", "business")
    assert [h["id"] for h in res["hits"]] == ["a1"]
    assert res["hits"][0]["categories"] == ["Business/Ports"]
    assert res["hits"][0]["authors"] == ["Ann Lee"]
    assert query_json(index, "", "--category", "Business/Ports")["total"] == 1
    assert query_json(index, "", "--category", "ports")["total"] == 1  # a leaf name works too
    counts = {c["category"]: c["count"] for c in query_json(index, "")["facets"]["categories"]}
    assert counts == {"Business": 1, "Business/Ports": 1, "Culture": 1}
    assert query_json(index, "", "--author", "ann lee")["total"] == 1


def test_bad_input_is_reported_and_skipped(tmp_path):
    src, index = tmp_path / "src", tmp_path / "index"
    src.mkdir()
    _jsonl(src / "good.jsonl", ARTICLES)
    (src / "mixed.jsonl").write_text(
        json.dumps({"title": "Ferry timetable changes", "body": "New ferry times start on Monday."}) + "\n"
        "{not json\n"
        + json.dumps({"title": "No body here"}) + "\n"
        + json.dumps({"title": "Bad date", "body": "Council meets.", "date": "32/13/2025"}) + "\n"
        + json.dumps({"title": ["wrong", "type"], "body": {"nested": 1}}) + "\n")
    (src / "truncated.jsonl.gz").write_bytes(gzip.compress(b'{"title": "x", "body": "y"}\n' * 50)[:40])
    (src / "latin1.csv").write_bytes("title,body\nCaf\xe9,Le caf\xe9 ouvre.\n".encode("latin-1"))
    (src / "ragged.csv").write_text("title,body\nOne,Body one.\nTwo,Body two,extra\n", encoding="utf-8")
    (src / "empty.html").write_text("", encoding="utf-8")
    (src / "nobody.html").write_text("<html><head><title>x</title></head><body></body></html>")
    proc = newssearch("index", src, "--index", index, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "mixed.jsonl:2: malformed JSON line" in err
    assert "mixed.jsonl:3: no article text" in err
    assert "mixed.jsonl:4: not a date: '32/13/2025'" in err
    assert "mixed.jsonl:5:" in err and "should be text" in err
    assert "truncated.jsonl.gz: corrupt or truncated gzip" in err
    assert "latin1.csv: not valid UTF-8 at byte" in err
    assert "ragged.csv:3: row has 3 fields, header has 2" in err
    assert "empty.html: empty file" in err
    assert "nobody.html: no article text" in err
    # everything good is indexed: 2 + ferry + bad-date article? (no: its date is an error) + ragged row 1
    ids = {h["title"] for h in query_json(index, "", "-n", "50")["hits"]}
    assert {"Harbour strike ends", "Orchestra opens season", "Ferry timetable changes", "One"} <= ids
    assert "Two" not in ids
    # a failed run loses nothing: re-running with a broken file leaves the index as it was
    (src / "worse.json").write_text("[{\"title\": \"half", encoding="utf-8")
    proc = newssearch("index", src, "--index", index, "--json", check=False)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["total"] == len(ids)
    assert any(p["source"].endswith("worse.json:1") for p in report["problems"])


def test_missing_path_and_unknown_format(tmp_path):
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    proc = newssearch("index", tmp_path / "nope", tmp_path / "notes.docx", "--index", tmp_path / "ix", check=False)
    assert proc.returncode == 1
    assert "nope: no such file or directory" in proc.stderr
    assert "notes.docx: unknown format" in proc.stderr


def test_parts_are_cut_so_every_worker_gets_several(tmp_path):
    """A JSON Lines export is cut into parts of at most 4 MiB, smaller (down to 1 MiB) when that leaves each
    worker fewer than four: with two parts a worker, one worker's last part would keep the other idle."""
    from newssearch.indexer.sources import MIN_PART_BYTES, PART_BYTES, plan_parts

    path = tmp_path / "export.jsonl"
    line = json.dumps({"id": "x", "title": "T", "body": "word " * 200}) + "\n"
    path.write_text(line * (9 * 1024 * 1024 // len(line)), encoding="utf-8")  # about 9 MiB
    size = path.stat().st_size
    for workers, expected in ((1, -(-size // PART_BYTES)), (2, -(-size // (size // 8 + 1))), (8, -(-size // MIN_PART_BYTES))):
        parts = plan_parts([path], workers)
        assert abs(len(parts) - expected) <= 1, (workers, len(parts), expected)
        assert parts[0].start == 0 and parts[-1].end == size and all(a.end == b.start for a, b in zip(parts, parts[1:]))
    small = tmp_path / "small.jsonl"
    small.write_text(line * 10, encoding="utf-8")
    assert len(plan_parts([small, path], 2)) == 1 + len(plan_parts([path], 2))  # a small file stays whole


def test_second_writer_gets_a_clear_error(tmp_path):
    from newssearch.indexer.build import open_writer
    from newssearch.indexer.schema import IndexBusy, open_index

    index_dir = tmp_path / "ix"
    idx = open_index(index_dir, create=True)
    writer = open_writer(idx, index_dir)
    try:
        proc = newssearch("index", _jsonl(tmp_path / "f.jsonl", ARTICLES), "--index", index_dir, check=False)
        assert proc.returncode == 1
        assert "another process is writing to this index" in proc.stderr
        try:
            open_writer(open_index(index_dir), index_dir)
            raise AssertionError("expected IndexBusy")
        except IndexBusy:
            pass
    finally:
        writer.rollback()
        del writer


def test_large_jsonl_is_read_in_parts_with_the_same_result(tmp_path):
    """A big JSON Lines export is parsed in line-aligned parts; articles and problem lines are unchanged."""
    from newssearch.indexer.dispatch import read_file, read_part
    from newssearch.indexer.sources import split_parts

    lines = []
    for i in range(400):
        if i in (57, 233):
            lines.append('{"id": "broken", "title": "unterminated')
        elif i == 300:
            lines.append("")
        else:
            lines.append(json.dumps({"id": f"a{i}", "title": f"Article {i}",
                                     "body": f"Body of article number {i} with enough words to index it. " * 3}))
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parts = split_parts(path, part_bytes=4096)
    assert len(parts) > 5 and parts[0].start == 0 and parts[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(parts, parts[1:]))

    def summary(items):
        return [getattr(x, "id", None) or f"{x.source}: {x.message[:20]}" for x in items]

    whole = summary(read_file(path))
    assert summary(x for p in parts for x in read_part(p)) == whole
    assert [w for w in whole if ": malformed" in w] == [f"{path}:58: malformed JSON line ", f"{path}:234: malformed JSON line "]
