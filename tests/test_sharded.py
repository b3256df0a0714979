"""A sharded archive (indexer/shards.py, query/sharded.py) against one index over the same articles."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from newssearch.indexer.schema import id_hash
from newssearch.indexer.shards import load_manifest, period_bounds
from newssearch.query.archive import Archive
from newssearch.query.sharded import ShardedArchive

from conftest import CORPUS, Server, newssearch, query_json

REUTERS = CORPUS / "reuters"
QUERIES = ["oil prices", "bank interest rates", "coffee", '"trade deficit"', "opec -saudi", "wheat OR corn",
           "japan", "gold", "merger acquisition", "dollar yen", "title:grain", "crude oil output", "sugar",
           "shares profit", "tax", "strike"]
FILTERS = [{}, {"date_from": "1987-03-05", "date_to": "1987-03-10"}, {"categories": ["crude"]},
           {"sort": "newest"}, {"date_from": "2015", "categories": ["earn"]}]


def build(src: Path, index: Path, *args: str) -> dict:
    return json.loads(newssearch("index", src, "--index", index, "--json", *args).stdout)


@pytest.fixture(scope="session")
def sharded_corpus(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("sharded") / "index"
    report = build(CORPUS, index, "--shards", "14")
    assert report["failed"] == 0, report["problems"]
    return index


@pytest.fixture(scope="session")
def reuters_pair(tmp_path_factory) -> tuple[Path, Path]:
    """corpus/reuters (1,200 articles, Feb-Mar 1987) in one index and in 4 shards."""
    d = tmp_path_factory.mktemp("reuters")
    build(REUTERS, d / "one")
    build(REUTERS, d / "sharded", "--shards", "4", "--workers", "2")
    return d / "one", d / "sharded"


def overlap(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / max(len(a), len(b), 1)


def test_manifest_describes_the_shards(sharded_corpus, corpus_index):
    m = load_manifest(sharded_corpus)
    assert m.shard_by == "month" and len(m.shards) >= 12
    assert sum(s.articles for s in m.shards) == len(Archive.open(corpus_index))
    for s in m.shards:
        assert s.writer["via"] == "local" and s.writer["run"]
        bounds = period_bounds(s.period)
        if bounds and s.articles:  # every article of a shard is dated inside its period
            assert bounds[0].isoformat() <= s.date_min.replace("Z", "+00:00") < bounds[1].isoformat()
            assert s.date_max.replace("Z", "+00:00") < bounds[1].isoformat()
        if s.period == "undated":
            assert s.date_min is None and s.articles > 0  # the BBC set has no dates
    busy = [s for s in m.shards if s.buckets > 1]  # March 1987 is over the cap: split by id hash
    assert busy and all(s.articles <= m.shard_size for s in busy)
    assert isinstance(Archive.open(sharded_corpus), ShardedArchive)


def same_copies(a, b) -> None:
    """The hits both show have the same copies (folded: the same story is the same group everywhere)."""
    mine = {h.id: (h.copies, sorted(h.copy_ids)) for h in a.hits}
    for h in b.hits:
        if h.id in mine:
            assert (h.copies, sorted(h.copy_ids)) == mine[h.id], h.id


@pytest.mark.parametrize("fold", [True, False])
def test_totals_and_facets_equal_one_index(sharded_corpus, corpus_index, fold):
    one, sharded = Archive.open(corpus_index), Archive.open(sharded_corpus)
    assert len(sharded) == len(one)
    checked = folded = 0
    for q in QUERIES + [""]:
        for f in FILTERS:
            a, b = one.search(q, fold=fold, **f), sharded.search(q, fold=fold, **f)
            assert (b.total, b.stories, b.folded) == (a.total, a.stories, a.folded), (q, f)
            folded += fold and a.stories < a.total
            same_copies(a, b)
            assert [(c.category, c.count) for c in b.facets.categories] == \
                [(c.category, c.count) for c in a.facets.categories], (q, f)
            assert b.facets.date_interval == a.facets.date_interval
            assert [(d.start, d.count) for d in b.facets.dates] == [(d.start, d.count) for d in a.facets.dates], (q, f)
            if f.get("sort") == "newest" or not q:  # sorted by date: ties by id hash (query/ties.py), as one index
                assert [h.id for h in b.hits] == [h.id for h in a.hits], (q, f)
            checked += a.total > 0
    assert checked > 40 and folded >= 10 * fold  # folding had copies to fold
    assert sharded.stats()["categories"] == one.stats()["categories"]
    assert sharded.stats()["years"] == one.stats()["years"]
    assert [c.count for c in sharded.categories()] == [c.count for c in one.categories()]


TIED = [("", {}), ("", {"categories": ["crude"]}), ("", {"date_from": "1987-03-05", "date_to": "1987-03-10"}),
        ("", {"sort": "oldest"}), ("", {"categories": ["sport"]}), ("-oil", {}), ("-oil", {"sort": "newest"})]


@pytest.mark.parametrize("fold", [True, False])
def test_tied_hits_follow_one_rule(sharded_corpus, corpus_index, fold):
    """Hits that tie are listed by one archive-wide rule (query/ties.py), so one index and the shards give
    the same pages: the empty query newest first, equal dates (the BBC set is undated) and equal scores
    by id hash."""
    one, sharded = Archive.open(corpus_index), Archive.open(sharded_corpus)
    for q, f in TIED:
        for page in (1, 2, 9):
            a = one.search(q, page=page, facets=False, fold=fold, **f)
            b = sharded.search(q, page=page, facets=False, fold=fold, **f)
            assert [h.id for h in b.hits] == [h.id for h in a.hits], (q, f, page)
    # the rule itself, over every page of the empty query and of a query that scores every article alike
    assert one.search("").sort == sharded.search("").sort == "newest"  # what the hits' order is, said
    if fold:
        assert "sorted by newest" in newssearch("query", "", "--index", sharded_corpus).stdout
    browse = [h for p in range(1, 20) for h in one.search("", limit=100, page=p, facets=False, fold=False).hits]
    assert len(browse) == len(one) and all(h.score is None for h in browse)
    dated = [h.date for h in browse if h.date]
    assert dated == sorted(dated, reverse=True) and not any(h.date for h in browse[len(dated):])  # undated last
    undated = [id_hash(h.id) for h in browse[len(dated):]]
    assert len(undated) > 300 and undated == sorted(undated)
    same = [i for i in range(len(dated) - 1) if dated[i] == dated[i + 1]]  # two articles of one second
    assert same and all(id_hash(browse[i].id) < id_hash(browse[i + 1].id) for i in same)
    for i in (same[0], same[0] + 1):  # a page cut between them
        for archive in (one, sharded):
            assert [h.id for h in archive.search("", limit=1, page=i + 1, facets=False, fold=False).hits] == [browse[i].id]
    alike = [h for p in range(1, 20) for h in one.search("-oil", limit=100, page=p, facets=False, fold=False).hits]
    assert len(alike) > 1000 and len({h.score for h in alike}) == 1
    assert [id_hash(h.id) for h in alike] == sorted(id_hash(h.id) for h in alike)


def test_ranking_with_global_statistics(reuters_pair):
    """Top-10 overlap with one index over the same articles, and scores within a few percent (each shard
    keeps its own average document length, which the idf correction cannot carry)."""
    one, sharded = (Archive.open(p) for p in reuters_pair)
    overlaps = []
    for q in QUERIES:
        a, b = one.search(q, limit=10, facets=False), sharded.search(q, limit=10, facets=False)
        if a.total:
            overlaps.append(overlap([h.id for h in a.hits], [h.id for h in b.hits]))
            assert b.hits[0].score == pytest.approx(a.hits[0].score, rel=0.05), q
    assert sum(overlaps) / len(overlaps) >= 0.95, overlaps


def test_idf_correction_is_what_ranks_like_one_index(reuters_pair):
    """Without archive-wide statistics the same shards rank worse: the hook is what does the work."""
    one, sharded = (Archive.open(p) for p in reuters_pair)
    with_stats, without = [], []
    plain_weights = sharded.term_weights
    for q in QUERIES:
        a = one.search(q, limit=10, facets=False)
        if not a.total:
            continue
        with_stats.append(overlap([h.id for h in a.hits], [h.id for h in sharded.search(q, facets=False).hits]))
        sharded.term_weights = lambda text: {}
        without.append(overlap([h.id for h in a.hits], [h.id for h in sharded.search(q, facets=False).hits]))
        sharded.term_weights = plain_weights
    assert sum(with_stats) > sum(without)


def test_date_filter_touches_only_shards_in_range(sharded_corpus):
    sharded = Archive.open(sharded_corpus)
    m = load_manifest(sharded_corpus)
    march = {s.name for s in m.shards if s.period == "1987-03"}
    r = sharded.search("oil", date_from="1987-03-01", date_to="1987-03-31", facets=False)
    assert set(r.shards["searched"]) == march and not r.shards["facets_only"]
    assert r.total > 0 and all(h.date.startswith("1987-03") for h in r.hits)
    # With facets, hits still come from those shards only; the date histogram (which by design ignores the
    # date filter) asks the others for their counts.
    r = sharded.search("oil", date_from="1987-03-01", date_to="1987-03-31")
    assert set(r.shards["searched"]) == march
    assert not set(r.shards["facets_only"]) & march
    r = sharded.search("oil", date_from="1987-02-26", date_to="1987-02-26", facets=False)
    assert r.shards["searched"] == ["1987-02"] and "undated" in r.shards["skipped"]


def test_paging_is_exact(reuters_pair):
    _, path = reuters_pair
    sharded = Archive.open(path)
    whole = sharded.search("", sort="oldest", limit=100, page=2, facets=False)  # hits 100..199
    parts = [sharded.search("", sort="oldest", limit=25, page=p, facets=False) for p in (5, 6, 7, 8)]
    assert [h.id for r in parts for h in r.hits] == [h.id for h in whole.hits]
    deep = sharded.search("", sort="oldest", limit=50, page=20, facets=False)  # past 100 per shard
    dates = [h.date for h in deep.hits]
    assert dates == sorted(dates) and deep.page == 20 and len(deep.hits) == 50
    one = Archive.open(reuters_pair[0]).search("", sort="oldest", limit=50, page=20, facets=False)
    assert [h.date for h in one.hits] == dates
    assert (deep.total, deep.stories) == (one.total, one.stories) and one.stories < one.total  # folded


def test_related_across_shards_matches_one_index(reuters_pair):
    one, sharded = (Archive.open(p) for p in reuters_pair)
    ids_a, rows_a, _ = one.related_all(10)
    ids_b, rows_b, _ = sharded.related_all(10)
    assert sorted(ids_a) == sorted(ids_b)
    pos = {a: i for i, a in enumerate(ids_b)}
    scores = []
    for i, a in enumerate(ids_a):
        la = [ids_a[j] for j in rows_a[i] if j >= 0]
        lb = [ids_b[j] for j in rows_b[pos[a]] if j >= 0]
        if la or lb:
            scores.append(overlap(la, lb))
    assert sum(scores) / len(scores) >= 0.95
    for aid in ids_a[:: len(ids_a) // 5]:
        a, b = one.related(aid, k=5), sharded.related(aid, k=5)
        assert [round(h.score, 2) for h in b] == [round(h.score, 2) for h in a]
        a, b = one.related(aid, k=5, same_category=True), sharded.related(aid, k=5, same_category=True)
        assert overlap([h.id for h in a], [h.id for h in b]) >= 0.8


def _monthly_stories_then_one_moves(tmp_path, body: str, *build_args: str):
    """Five January 2020 stories built into monthly shards; then the export dates story 2 in June 2021
    (written, not yet indexed). Returns (export, index)."""
    src = tmp_path / "a.jsonl"
    rows = [{"id": f"a{i}", "title": f"story {i}", "body": body.format(i=i), "date": "2020-01-15"} for i in range(5)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = tmp_path / "idx"
    build(src, index, "--shard-by", "month", *build_args)
    rows[2]["date"] = "2021-06-01"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return src, index


def test_upsert_that_changes_the_date_moves_the_article(tmp_path):
    src, index = _monthly_stories_then_one_moves(tmp_path, "body of story {i} about grain")
    report = build(src, index)  # the manifest says how it is sharded
    assert (report["updated"], report["unchanged"], report["total"]) == (1, 4, 5)
    archive = Archive.open(index)
    counts = {s.name: s.articles for s in archive.manifest.shards}
    assert counts == {"2020-01": 4, "2021-06": 1}
    assert archive.search("grain").total == 5
    assert archive.article("a2").date.year == 2021
    assert not (index / "moves.json").exists()


def test_move_killed_midway_is_finished_by_the_next_run(tmp_path):
    """Killed while deleting a moved article's old copy: the journal stays, and the next run finishes it."""
    import subprocess

    src, index = _monthly_stories_then_one_moves(tmp_path, "story {i} about grain", "--workers", "1")
    exe = shutil.which("newssearch") or str(Path(os.sys.executable).with_name("newssearch"))
    env = {**os.environ, "NEWSSEARCH_FAILPOINTS": "commit:2"}  # 1: the new shard, 2: the old copy's deletion
    proc = subprocess.run([exe, "index", src, "--index", index, "--workers", "1", "-q"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and (index / "moves.json").exists()
    new_shard = Archive.open(index).shards.archives["2021-06"]
    assert new_shard.article("a2").date.year == 2021  # written to its new shard before the old copy goes
    build(src, index, "--workers", "1")
    archive = Archive.open(index)
    assert not (index / "moves.json").exists()
    assert archive.search("grain").total == 5 and len(archive) == 5
    assert {s.name: s.articles for s in archive.manifest.shards} == {"2020-01": 4, "2021-06": 1}


WIRE = ("The central bank raised its benchmark interest rate by half a point on {day}, its third increase this "
        "year, saying inflation in food and fuel prices had not eased as it expected. The governor told reporters "
        "that the board would watch wages and the currency closely over the coming months and was ready to act "
        "again if prices kept rising faster than its target range of two to three percent. Economists had "
        "expected a smaller move.")


def test_copies_fold_across_shards_like_one_index(tmp_path):
    """A wire story and its copies dated either side of a month's end (so in two monthly shards), one of
    them added by a later run: one group archive-wide, folded to one hit and counted once, as in one index."""
    first, later = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rows = [{"id": "wire", "title": "Bank raises rates", "body": WIRE.format(day="Friday"), "date": "2020-01-31"},
            {"id": "paper", "title": "Rates up again", "body": WIRE.format(day="Friday") + " Shares fell.",
             "date": "2020-02-01"},
            {"id": "other", "title": "Grain exports", "body": "Wheat and corn exports rose in January.",
             "date": "2020-02-01"}]
    first.write_text("".join(json.dumps(r) + "\n" for r in rows))
    later.write_text(json.dumps({"id": "site", "title": "Bank lifts rate", "date": "2020-02-02",
                                 "body": WIRE.format(day="Friday").replace("Economists", "Most analysts")}) + "\n")
    sharded, one = tmp_path / "sharded", tmp_path / "one"
    for index, args in ((sharded, ("--shard-by", "month")), (one, ())):
        build(first, index, *args)
        assert build(first, index)["unchanged"] == 3  # a re-run places nothing
        build(later, index)  # placed among every shard's articles
    a, b = Archive.open(one), Archive.open(sharded)
    assert {s.name for s in b.manifest.shards} == {"2020-01", "2020-02"}
    for q in ("interest rate", "bank", ""):
        ra, rb = a.search(q), b.search(q)
        assert (rb.total, rb.stories) == (ra.total, ra.stories), q
        # the same stories (which copy shows may differ: each shard keeps its own BM25 length norm)
        assert [(h.copies, sorted([h.id, *h.copy_ids])) for h in rb.hits] == \
            [(h.copies, sorted([h.id, *h.copy_ids])) for h in ra.hits], q
    r = b.search("interest rate")
    assert (r.total, r.stories, len(r.hits), r.hits[0].copies) == (3, 1, 1, 2)
    # an upsert that moves the copy into January keeps the story one group
    rows[1]["date"] = "2020-01-30"
    first.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build(first, sharded)
    r = Archive.open(sharded).search("interest rate")
    assert (r.total, r.stories, r.hits[0].copies) == (3, 1, 2)


def test_killed_build_resumes_to_the_same_archive(tmp_path, reuters_pair):
    index = tmp_path / "idx"
    env = {**os.environ, "NEWSSEARCH_FAILPOINTS": "commit:1"}
    exe = shutil.which("newssearch") or str(Path(os.sys.executable).with_name("newssearch"))
    import subprocess

    proc = subprocess.run([exe, "index", REUTERS, "--index", index, "--shards", "4", "--workers", "2",
                           "--batch-size", "100", "-q"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0  # a shard writer was killed at its first commit
    partial = Archive.open(index)  # the manifest and every shard open
    assert len(partial) < 1200
    build(REUTERS, index)  # the same command again resumes
    again = Archive.open(index)
    expected = Archive.open(reuters_pair[1])
    assert len(again) == 1200
    assert {s.name: s.articles for s in again.manifest.shards} == \
        {s.name: s.articles for s in expected.manifest.shards}
    for q in QUERIES[:5]:  # the same articles, and the same stories (copies placed as in a build not killed)
        a, b = again.search(q), expected.search(q)
        assert (a.total, a.stories) == (b.total, b.stories), q


def test_missing_shard_is_reported_not_fatal(tmp_path, reuters_pair):
    index = tmp_path / "idx"
    shutil.copytree(reuters_pair[1], index)
    m = load_manifest(index)
    gone = m.shards[0]
    shutil.rmtree(index / gone.path_name)
    archive = Archive.open(index)
    r = archive.search("oil")
    assert r.shards["missing"] == [gone.name]
    assert any(gone.name in w for w in r.warnings)
    assert r.total > 0


def test_cli_and_http_work_on_a_sharded_archive(sharded_corpus):
    data = query_json(sharded_corpus, "oil prices", "--from", "1987-03")
    assert data["total"] > 0 and data["shards"]["searched"]
    top = data["hits"][0]["id"]
    related = json.loads(newssearch("related", top, "--index", sharded_corpus, "--json").stdout)
    assert related and all(r["id"] != top for r in related)
    stats = json.loads(newssearch("stats", "--index", sharded_corpus, "--json").stdout)
    assert stats["articles"] == sum(s["articles"] for s in stats["shards"])
    srv = Server(sharded_corpus, "--workers", "1")
    try:
        status, body, _ = srv.get("/search?q=oil%20prices&from=1987-03&limit=5")
        assert status == 200 and body["total"] == data["total"]
        assert [h["id"] for h in body["hits"]] == [h["id"] for h in data["hits"][:5]]
        status, body, _ = srv.get("/suggest?q=oil%20pr")
        assert status == 200 and body["completions"]
        status, body, _ = srv.get("/health")
        assert body["articles"] == stats["articles"]
    finally:
        srv.stop()


def test_bad_shard_options(tmp_path, corpus_index):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "x", "title": "t", "body": "grain", "date": "2020-01-15"}) + "\n")
    proc = newssearch("index", src, "--index", corpus_index, "--shards", "4", check=False)
    assert proc.returncode != 0 and "single (unsharded) index" in proc.stderr
    index = tmp_path / "idx"
    build(src, index, "--shard-by", "year")
    proc = newssearch("index", src, "--index", index, "--shard-by", "month", check=False)
    assert proc.returncode != 0 and "sharded by year" in proc.stderr
    proc = newssearch("index", src, "--index", index, "--shards", "0", check=False)
    assert proc.returncode == 2 and "--shards" in proc.stderr
