"""Related posts: single call and batch agree, the article and its copies are excluded, upserts count."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import needs_shared, newssearch
from newssearch import Archive, build_index

STORIES = {
    "quake-1": ("Earthquake strikes coastal city", "A strong earthquake struck the coastal city on Monday, "
                "damaging buildings and cutting power. Rescue teams searched collapsed buildings for survivors "
                "as aftershocks shook the region.", "World", "2024-01-10"),
    "quake-1-syndicated": ("Earthquake strikes coastal city (wire copy)", "A strong earthquake struck the coastal "
                           "city on Monday, damaging buildings and cutting power. Rescue teams searched collapsed "
                           "buildings for survivors as aftershocks shook the region.", "World", "2024-01-10"),
    "quake-2": ("Aftershocks hamper earthquake rescue", "Aftershocks hampered rescue teams searching collapsed "
                "buildings for earthquake survivors, as power returned to parts of the coastal city.",
                "World", "2024-01-12"),
    "quake-3": ("Earthquake insurance claims rise", "Insurers said claims from the earthquake that damaged "
                "buildings in the coastal city would be large.", "Business", "2024-02-01"),
    "football": ("Cup final goes to penalties", "The cup final went to penalties after a goalless draw, and the "
                 "home side won the shootout in front of a full stadium.", "Sport", "2024-01-11"),
    "budget": ("Budget raises fuel duty", "The finance minister raised fuel duty and income tax thresholds in a "
               "budget that markets had expected.", "Business", "2024-01-15"),
}


def _write(path, stories):
    path.write_text("".join(json.dumps({"id": i, "title": t, "body": b, "section": c, "date": d}) + "\n"
                            for i, (t, b, c, d) in stories.items()), encoding="utf-8")


@pytest.fixture()
def small(tmp_path):
    _write(tmp_path / "news.jsonl", STORIES)
    build_index([tmp_path / "news.jsonl"], tmp_path / "index")
    return tmp_path


def test_excludes_itself_and_its_copies(small):
    archive = Archive.open(small / "index")
    ids = [h.id for h in archive.related("quake-1", k=5)]
    assert "quake-1" not in ids and "quake-1-syndicated" not in ids
    assert ids[:2] == ["quake-2", "quake-3"]
    assert "quake-1" not in [h.id for h in archive.related("quake-1-syndicated", k=5)]


def test_filters(small):
    archive = Archive.open(small / "index")
    assert [h.id for h in archive.related("quake-1", k=5, same_category=True)] == ["quake-2"]
    assert [h.id for h in archive.related("quake-1", k=5, since="2024-01-20")] == ["quake-3"]
    with pytest.raises(KeyError):
        archive.related("no-such-id")


def test_upsert_changes_related_lists(small):
    archive = Archive.open(small / "index")
    assert "quake-2" in [h.id for h in archive.related("quake-1")]
    changed = dict(STORIES)
    changed["quake-2"] = ("Parliament debates pensions", "Members of parliament debated pension reform late "
                          "into the night.", "Politics", "2024-01-12")
    changed["quake-4"] = ("Coastal city counts earthquake damage", "The coastal city counted the damage to "
                          "buildings after the earthquake and aftershocks; survivors were housed.", "World",
                          "2024-01-13")
    _write(small / "news.jsonl", changed)
    report = build_index([small / "news.jsonl"], small / "index")
    assert (report.added, report.updated) == (1, 1)
    archive.reload()
    ids = [h.id for h in archive.related("quake-1")]
    assert "quake-2" not in ids and ids[0] == "quake-4"


def test_batch_agrees_with_single_calls(corpus_index):
    archive = Archive.open(corpus_index)
    ids, rows, scores = archive.related_all(k=10)
    assert len(ids) == len(archive) == rows.shape[0] and rows.shape[1] == 10
    model = archive.related_model()
    kernel_rows, kernel_scores = model.related_all(10)  # the kernel's batch, before copies are dropped
    for i in range(0, len(ids), 37):
        single = model.related_rows(i, 10)
        assert [r for r, _ in single] == [r for r in kernel_rows[i] if r >= 0]
        assert np.allclose([s for _, s in single], kernel_scores[i][: len(single)])
        assert i not in rows[i]
        # the library's related() is the batch's list (its copies dropped, as related_all drops them), with
        # stored fields
        assert [h.id for h in archive.related(ids[i], k=10)] == [ids[r] for r in rows[i] if r >= 0]


def test_lists_are_the_exact_bm25_ranking(corpus_index):
    """The kernel (prefetching, block-skipping scan, heap) ranks as a plain sum of the query terms' BM25
    weights over every doc does, with the article and its copies (>= 90% of its self-score) left out."""
    archive = Archive.open(corpus_index)
    model = archive.related_model()
    rows, scores = model.related_all(10)
    for r in range(0, model.n, 23):
        exact = np.zeros(model.n, np.float64)
        for t in model.q_terms[model.q_ptr[r]:model.q_ptr[r + 1]]:
            lo, hi = model.post_ptr[t], model.post_ptr[t + 1]
            exact[model.post_docs[lo:hi]] += model.post_weights[lo:hi]
        exact[exact >= model.params.dup_ratio * exact[r]] = 0
        cand = np.flatnonzero(exact > 0)
        top = cand[np.lexsort((cand, -exact[cand]))][:10]
        got = rows[r][rows[r] >= 0]
        assert np.allclose(scores[r][:len(got)], exact[got], rtol=1e-5)
        # ties may fall either way in float32; the scores at each rank must agree
        assert np.allclose(np.sort(exact[got])[::-1], exact[top], rtol=1e-5)


def test_partitioned_accumulation_gives_the_same_lists(corpus_index, monkeypatch):
    """The kernel takes docs a partition at a time (to keep its accumulator in cache at 200k articles):
    with many small partitions the lists, scores and exclusions are those of one pass over every doc."""
    from newssearch.query import related

    archive = Archive.open(corpus_index)
    one_pass = archive.related_model()
    assert one_pass.part_ptr.shape[1] == 2  # the corpus fits one partition
    monkeypatch.setattr(related, "PART", 97)
    archive = Archive.open(corpus_index)
    parted = archive.related_model()
    assert parted.part_ptr.shape[1] - 1 == -(-parted.n // 97)
    idx1, s1 = one_pass.related_all(10)
    idx2, s2 = parted.related_all(10)
    assert np.array_equal(idx1, idx2) and np.array_equal(s1, s2)


def test_cli_related_one_and_all(corpus_index, tmp_path):
    out = json.loads(newssearch("related", "reuters-21578:1", "--index", corpus_index, "--json", "-k", "3").stdout)
    assert len(out) == 3 and any("cocoa" in h["categories"] for h in out)
    path = tmp_path / "related.jsonl"
    proc = newssearch("related", "--all", "--out", path, "--index", corpus_index, "-k", "5")
    assert "related posts of 1,804 articles" in proc.stdout
    lines = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1804 and all(len(l["related"]) == len(l["scores"]) <= 5 for l in lines)
    first = next(l for l in lines if l["id"] == "reuters-21578:1")
    assert first["related"][:3] == [h["id"] for h in out]


def test_bbc_related_posts_stay_in_category(tmp_path):
    rows = []
    for name in ("train", "val", "test"):
        with open(needs_shared("bbc", f"{name}.csv"), encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    with open(tmp_path / "bbc.jsonl", "w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"bbc-{i}", "text": r["text"]}) + "\n")
    build_index([tmp_path / "bbc.jsonl"], tmp_path / "index")
    ids, related, _ = Archive.open(tmp_path / "index").related_all(k=10)
    cat = {f"bbc-{i}": r["category"] for i, r in enumerate(rows)}
    precision = np.mean([np.mean([cat[ids[j]] == cat[ids[i]] for j in related[i] if j >= 0])
                         for i in range(len(ids))])
    assert precision >= 0.856  # Tantivy's MoreLikeThis on the same set
