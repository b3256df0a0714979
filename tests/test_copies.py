"""Near-duplicate groups: syndicated copies of corpus articles (bench/syndicate.py: another site's
boilerplate, an edited headline, cut paragraphs) join their original's group at index time, keep it
through upserts and re-runs, and fold into one hit in search (CLI and HTTP)."""
from __future__ import annotations

import json
import random
import shutil
import sys
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
import tantivy

from conftest import CORPUS, Server, newssearch, query_json
from newssearch import Archive

sys.path.insert(0, str(CORPUS.parent / "bench"))
from syndicate import boilerplate_lines, syndicate  # noqa: E402

SITES = ["wire-a.example", "wire-b.example", "wire-c.example"]


def originals(n: int) -> list[dict]:
    """Reuters articles of the corpus with some length to them (at least 80 words)."""
    rows = [json.loads(line) for line in (CORPUS / "reuters" / "reuters-1987-02.jsonl").read_text().splitlines()]
    seen: set[str] = set()  # Reuters repeats some stories word for word (e.g. :4 and :16): one of each
    out = [r for r in rows if len(r["body"].split()) >= 80
           and r["body"][:300] not in seen and not seen.add(r["body"][:300])]
    return out[:n]


def write_copies(path: Path, picked: list[dict], seed: int = 5) -> dict[str, list[str]]:
    """JSON Lines of 1-3 syndicated copies of each picked article; original id -> its copies' ids."""
    rng, furniture, family = random.Random(seed), boilerplate_lines(), {}
    with open(path, "w", encoding="utf-8") as fh:
        for r in picked:
            family[r["id"]] = []
            for k in range(rng.randint(1, 3)):
                title, body = syndicate(r["headline"], r["body"], rng, furniture)
                cid = f"https://{SITES[k]}/story/{r['id'].split(':')[1]}"
                family[r["id"]].append(cid)
                fh.write(json.dumps({"id": cid, "title": title, "body": body, "published": r["published"],
                                     "site": SITES[k]}) + "\n")
    return family


def groups(index: Path) -> dict[str, int]:
    archive = Archive.open(index)
    s = archive.searcher()
    addrs = [a for _, a in s.search(tantivy.Query.all_query(), limit=100_000).hits]
    return {s.doc(a).to_dict()["id"][0]: g for a, g in zip(addrs, s.fast_field_values("group", addrs))}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    data = root / "data"
    shutil.copytree(CORPUS / "reuters", data / "reuters")
    picked = originals(12)
    family = write_copies(data / "copies.jsonl", picked)
    index = root / "index"
    newssearch("index", data, "--index", index)
    return index, data, picked, family


def test_copies_join_their_originals_group(planted):
    index, _, _, family = planted
    g = groups(index)
    for orig, copies in family.items():
        assert {g[c] for c in copies} == {g[orig]}, orig
        members = {i for i, x in g.items() if x == g[orig]}
        others = {c for o, cs in family.items() if o != orig for c in [o, *cs]}
        # the family, and at most Reuters' own repeats of the story (reuters-21578:4 and :16 are one text)
        assert members >= {orig, *copies} and not members & others, orig


def test_search_shows_one_hit_with_its_copies(planted):
    index, _, picked, family = planted
    r = picked[0]
    query = " ".join(r["headline"].split()[:6])
    folded = query_json(index, query, "--no-facets")
    top = folded["hits"][0]
    story = {r["id"], *family[r["id"]]}
    assert {top["id"], *top["copy_ids"]} >= story and top["copies"] == len(top["copy_ids"])
    assert not any(h["id"] in story for h in folded["hits"][1:])
    flat = query_json(index, query, "--no-facets", "--no-fold")
    assert flat["folded"] is False and {h["id"] for h in flat["hits"]} >= story
    assert flat["total"] == folded["total"] and folded["stories"] <= folded["total"] - top["copies"]
    human = newssearch("query", query, "--index", index, "--no-facets").stdout
    assert f"+{top['copies']} cop" in human and f"{folded['total']} results in {folded['stories']} stories" in human


def test_paging_folded_results_is_consistent(planted):
    archive, g = Archive.open(planted[0]), groups(planted[0])
    for q, sort in (("oil", "relevance"), ("", "newest")):
        whole = archive.search(q, sort=sort, limit=100, facets=False)
        ids = []
        for p in range(1, min(whole.stories, 100) // 7 + 1):
            page = archive.search(q, sort=sort, limit=7, page=p, facets=False)
            assert (page.total, page.stories, page.pages) == (whole.total, whole.stories, -(-whole.stories // 7))
            ids += [h.id for h in page.hits]
        assert ids == [h.id for h in whole.hits][: len(ids)] and len(ids) >= 14
        assert len({g[i] for i in ids}) == len(ids)  # one hit per story on every page


def test_folded_total_counts_stories_exactly(planted):
    archive, g = Archive.open(planted[0]), groups(planted[0])
    checked = 0
    for q in ("oil", "bank", "debt", "analysts", "coffee"):
        flat = archive.search(q, limit=100, facets=False, fold=False)
        if flat.total <= 100:
            folded = archive.search(q, limit=100, facets=False)
            assert folded.stories == len({g[h.id] for h in flat.hits}) == len(folded.hits), q
            assert folded.total == flat.total
            checked += folded.stories < flat.total
    assert checked  # some of them did fold


def test_groups_survive_upserts_and_reruns(planted, tmp_path):
    index, data, picked, family = planted
    work = tmp_path / "index"
    shutil.copytree(index, work)
    before = groups(work)
    report = json.loads(newssearch("index", data, "--index", work, "--json").stdout)
    assert report["added"] == report["updated"] == 0 and groups(work) == before  # a re-run changes nothing
    # one copy rewritten as another story: it leaves the group; the others stay
    lines = (data / "copies.jsonl").read_text().splitlines()
    changed = json.loads(lines[0])
    other = originals(40)[-1]
    changed.update(title=other["headline"], body=other["body"] + "\n\nA local note closes the story.")
    edited = tmp_path / "edited"
    shutil.copytree(data, edited)
    (edited / "copies.jsonl").write_text("\n".join([json.dumps(changed), *lines[1:]]) + "\n")
    report = json.loads(newssearch("index", edited, "--index", work, "--json").stdout)
    assert report["updated"] == 1
    after = groups(work)
    assert after[changed["id"]] == after[other["id"]] != before[changed["id"]]
    assert {k: v for k, v in after.items() if k != changed["id"]} == {
        k: v for k, v in before.items() if k != changed["id"]}
    # a fresh index of the same input groups the same articles together
    fresh = tmp_path / "fresh"
    newssearch("index", edited, "--index", fresh)
    partition = lambda g: sorted(sorted(k for k in g if g[k] == v) for v in set(g.values()))  # noqa: E731
    assert partition(groups(fresh)) == partition(after)


def test_related_posts_skip_copies(planted):
    index, _, picked, family = planted
    out = newssearch("related", picked[0]["id"], "--index", index, "--json").stdout
    related = {r["id"] for r in json.loads(out)}
    assert related and not related & set(family[picked[0]["id"]])


def test_http_fold_parameter(planted):
    index, _, picked, family = planted
    srv = Server(index)
    try:
        q = urllib.parse.quote(" ".join(picked[1]["headline"].split()[:6]))
        status, folded, _ = srv.get(f"/search?q={q}&facets=false")
        top = folded["hits"][0]
        assert status == 200 and folded["folded"] and top["copies"] == len(top["copy_ids"])
        assert {top["id"], *top["copy_ids"]} >= {picked[1]["id"], *family[picked[1]["id"]]}
        status, flat, _ = srv.get(f"/search?q={q}&facets=false&fold=false")
        assert status == 200 and not flat["folded"] and flat["total"] == folded["total"] > folded["stories"]
        assert srv.get(f"/search?q={q}&fold=maybe")[0] == 400
    finally:
        srv.stop()


def flagged(index: Path) -> dict[str, bool]:
    """id -> whether the article carries the `grouped` flag (the members of groups with copies)."""
    s = Archive.open(index).searcher()
    q = tantivy.Query.term_query(Archive.open(index).schema, "grouped", True)
    return {s.doc(a).to_dict()["id"][0]: True for _, a in s.search(q, limit=100_000).hits}


FOLD_QUERIES = ("oil", "bank", "debt prices", "analysts said", "coffee", "", "trade deficit japan", "grain")


def folded_answers(index: Path, legacy: bool = False) -> list[dict]:
    """Folded answers to FOLD_QUERIES (pages 1-2, by relevance and by date), through the `grouped` flag
    or, `legacy`, as an index without it folds (the copies, then their founders)."""
    import newssearch.query.fold as fold

    saved = fold.has_grouped
    if legacy:
        fold.has_grouped = lambda schema: False
    try:
        archive, out = Archive.open(index), []
        for q in FOLD_QUERIES:
            for kw in ({}, {"page": 2}, {"sort": "newest"}, {"limit": 50}):
                d = archive.search(q, **kw).to_dict()
                d.pop("took_ms")
                out.append(d)
        return out
    finally:
        fold.has_grouped = saved


def test_group_members_are_flagged_and_fold_as_without_the_flag(planted):
    index, _, _, family = planted
    g, flags = groups(index), flagged(index)
    sizes = Counter(g.values())
    assert {i for i in g if sizes[g[i]] > 1} == set(flags)  # every member of a group with copies, nothing else
    assert set(family) <= set(flags)  # the founders, flagged with their copies (one batch)
    assert folded_answers(index) == folded_answers(index, legacy=True)


def test_founders_committed_before_their_copies_fold_alike(planted, tmp_path):
    """Originals indexed in one run, their copies in a later one, in small batches: the founders stay as they
    were written (unflagged: no article is written twice), search finds them with its second search, and
    the index answers as one built at once."""
    _, data, _, family = planted
    index = tmp_path / "index"
    newssearch("index", data / "reuters", "--index", index)
    alone = set(family) - set(flagged(index))  # no copies yet (Reuters' own repeats aside)
    assert len(alone) >= len(family) - 2
    from newssearch import build_index

    build_index([data / "copies.jsonl"], index, batch_size=3, workers=1)
    flags = flagged(index)
    assert not alone & set(flags) and {c for cs in family.values() for c in cs} <= set(flags)
    from newssearch.query.fold import CopyIndex

    archive = Archive.open(index)
    g = groups(index)
    assert {g[o] for o in alone} <= CopyIndex.read(archive.searcher(), archive.schema).unfounded
    assert folded_answers(index) == folded_answers(index, legacy=True) == folded_answers(planted[0])


def test_an_index_of_schema_version_4_is_read_and_folded(planted, tmp_path):
    """An index written before the `grouped` flag (schema version 4) opens, takes upserts as it is, and
    folds (two searches instead of one) to the same answers."""
    _, data, _, _ = planted
    index = tmp_path / "v4"
    index.mkdir()
    (index / "newssearch.json").write_text(json.dumps({"schema_version": 4, "analyzer": "news"}) + "\n")
    newssearch("index", data, "--index", index)
    assert json.loads((index / "newssearch.json").read_text())["schema_version"] == 4
    from newssearch.indexer.schema import has_grouped

    assert not has_grouped(Archive.open(index).schema)
    assert folded_answers(index) == folded_answers(planted[0])
    (index / "newssearch.json").write_text(json.dumps({"schema_version": 3, "analyzer": "news"}) + "\n")
    refused = newssearch("query", "oil", "--index", index, check=False)
    assert refused.returncode != 0 and "schema version 3" in refused.stderr and "re-index" in refused.stderr


def test_folding_reads_a_bounded_number_of_members(planted, monkeypatch):
    """Past MAX_GROUPS stories with copies matching, those with the most matching members are counted and the answer
    says that `stories` may count some twice; the page and the totals of articles are unchanged."""
    import newssearch.query.fold as fold

    archive = Archive.open(planted[0])
    exact = archive.search("oil", facets=False)
    assert not any("stories with copies" in w for w in exact.warnings)
    monkeypatch.setattr(fold, "MAX_GROUPS", 3)
    bounded = Archive.open(planted[0]).search("oil", facets=False)
    assert fold.PARTIAL_WARNING in bounded.warnings
    assert bounded.total == exact.total and bounded.stories >= exact.stories
    g = groups(planted[0])
    for page in (1, 2):  # full pages, one hit per story, the same stories as when every member is read
        got = Archive.open(planted[0]).search("oil", facets=False, page=page)
        want = archive.search("oil", facets=False, page=page)
        assert len(got.hits) == len(want.hits) == 10 and len({g[h.id] for h in got.hits}) == 10
        assert [h.id for h in got.hits] == [h.id for h in want.hits]
