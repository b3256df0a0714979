"""Search the bundled corpus through the real CLI: ranking, phrases, filters, facets, sorting, paging."""
from __future__ import annotations

import json

from conftest import CORPUS, newssearch, query_json


def test_index_reports_what_it_read(corpus_index, tmp_path):
    report = json.loads(newssearch("index", CORPUS, "--index", corpus_index, "--json").stdout)
    # every corpus format is read: JSONL, JSONL.gz, JSON, CSV, HTML.gz, page dumps
    assert report["files"] == 16
    assert report["failed"] == 0
    assert report["added"] == 0 and report["updated"] == 0  # the fixture already indexed it all
    assert report["unchanged"] == report["total"] == 1804


def test_phrase_from_body_finds_the_article(corpus_index):
    res = query_json(corpus_index, '"spot bean prices rose to 340 to 350 cruzados"')
    assert res["total"] == 1
    hit = res["hits"][0]
    assert hit["id"] == "reuters-21578:1"
    assert hit["title"] == "BAHIA COCOA REVIEW"
    assert hit["date"].startswith("1987-02-26")
    assert hit["categories"] == ["cocoa"]
    assert "<b>" in hit["snippet"]


def test_relevance_prefers_title_matches(corpus_index):
    res = query_json(corpus_index, "cocoa", "-n", "5")
    assert res["total"] > 5
    assert all("cocoa" in h["title"].lower() for h in res["hits"][:3])
    scores = [h["score"] for h in res["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_category_facet_counts_what_the_filter_returns(corpus_index):
    res = query_json(corpus_index, "oil")
    counts = {c["category"]: c["count"] for c in res["facets"]["categories"]}
    assert counts["crude"] > 3
    for cat in ("crude", "earn"):
        filtered = query_json(corpus_index, "oil", "--category", cat)
        assert filtered["total"] == counts[cat]
        assert all(cat in h["categories"] for h in filtered["hits"])
    # disjunctive: the category counts do not shrink when a category is picked
    filtered = query_json(corpus_index, "oil", "--category", "crude")
    assert {c["category"]: c["count"] for c in filtered["facets"]["categories"]} == counts
    # several categories: any of them
    both = query_json(corpus_index, "oil", "-c", "crude", "-c", "earn")
    assert both["total"] <= counts["crude"] + counts["earn"]
    assert both["total"] >= max(counts["crude"], counts["earn"])


def test_date_histogram_counts_what_the_date_filter_returns(corpus_index):
    res = query_json(corpus_index, "", "--category", "earn")
    assert res["facets"]["date_interval"] == "month"
    buckets = {b["start"]: b["count"] for b in res["facets"]["dates"]}
    assert sum(buckets.values()) == res["total"]
    month = max(buckets, key=buckets.get)
    filtered = query_json(corpus_index, "", "--category", "earn", "--from", month, "--to", month)
    assert filtered["total"] == buckets[month]


def test_histogram_is_yearly_over_long_spans(corpus_index):
    res = query_json(corpus_index, "")
    assert res["facets"]["date_interval"] == "year"
    years = {b["start"]: b["count"] for b in res["facets"]["dates"]}
    assert years["1987"] == 1400 and years["2025"] == 1 and years["2000"] == 0


def test_date_filter_excludes_what_it_should(corpus_index):
    res = query_json(corpus_index, "", "--to", "1987-02", "--sort", "newest", "-n", "100")
    assert res["total"] > 0
    assert all(h["date"] < "1987-03-01" for h in res["hits"])
    later = query_json(corpus_index, "", "--from", "2015", "-n", "100")
    assert 0 < later["total"] < 20
    assert all(h["date"] >= "2015-01-01" for h in later["hits"])
    assert res["total"] + later["total"] + query_json(
        corpus_index, "", "--from", "1987-03", "--to", "2014")["total"] == query_json(
        corpus_index, "", "--from", "1900")["total"]


def test_sort_by_date_and_paging(corpus_index):
    newest = query_json(corpus_index, "oil", "--sort", "newest", "-n", "20")
    dates = [h["date"] for h in newest["hits"]]
    assert dates == sorted(dates, reverse=True)
    oldest = query_json(corpus_index, "oil", "--sort", "oldest", "-n", "20")
    assert [h["date"] for h in oldest["hits"]] == sorted(h["date"] for h in oldest["hits"])
    p1 = query_json(corpus_index, "oil", "-n", "5", "--page", "1")
    p2 = query_json(corpus_index, "oil", "-n", "5", "--page", "2")
    ids1, ids2 = {h["id"] for h in p1["hits"]}, {h["id"] for h in p2["hits"]}
    assert len(ids1) == len(ids2) == 5 and not ids1 & ids2
    assert p1["total"] == p2["total"] and p1["pages"] == -(-p1["stories"] // 5)  # copies folded: pages of stories


def test_query_syntax(corpus_index):
    total = query_json(corpus_index, "cocoa")["total"]
    without = query_json(corpus_index, "cocoa -buffer")
    assert 0 < without["total"] < total
    either = query_json(corpus_index, "cocoa OR coffee")["total"]
    assert either > total
    titled = query_json(corpus_index, "title:cocoa", "-n", "100")
    assert titled["total"] < total and all("cocoa" in h["title"].lower() for h in titled["hits"])
    inline = query_json(corpus_index, "category:cocoa buffer")
    assert inline["total"] == query_json(corpus_index, "buffer", "-c", "cocoa")["total"] > 0
    # a query that starts with '-' follows '--', as for any command
    only_excluded = json.loads(newssearch("query", "--index", corpus_index, "--json", "--", "-cocoa").stdout)
    assert only_excluded["total"] == 1804 - total


def test_syntax_errors_never_crash(corpus_index):
    """Read leniently: what can be read is searched, and the answer says what was not."""
    def total(text: str) -> int:
        return json.loads(newssearch("query", "--index", corpus_index, "--json", "--", text).stdout)["total"]

    for text, same_as in [("election AND (", "election"), ("nosuchfield:x oil", "oil"), ("\x07oil", "oil"),
                          ('"unbalanced quote', None), (")))", None), ("title:", None)]:
        proc = newssearch("query", "--index", corpus_index, "--json", "--", text)
        answer = json.loads(proc.stdout)
        assert proc.returncode == 0 and answer["total"] <= 1804 and len(answer["hits"]) == min(10, answer["total"])
        if same_as is not None:
            assert answer["total"] == total(same_as) > 0, text
    assert any("Syntax Error" in w for w in
               json.loads(newssearch("query", "--index", corpus_index, "--json", "--", "election AND (").stdout)
               ["warnings"]), "a syntax error read leniently says so"


def test_bad_parameters_name_the_parameter(corpus_index):
    proc = newssearch("query", "oil", "--index", corpus_index, "-c", "nosuchcategory", check=False)
    assert proc.returncode == 2 and "category" in proc.stderr and "nosuchcategory" in proc.stderr
    proc = newssearch("query", "oil", "--index", corpus_index, "--from", "32/13/2025", check=False)
    assert proc.returncode == 2 and "from" in proc.stderr
    proc = newssearch("query", "oil", "--index", corpus_index / "missing", check=False)
    assert proc.returncode == 1 and "newssearch index" in proc.stderr


def test_human_output_is_readable(corpus_index):
    out = newssearch("query", "cocoa", "--index", corpus_index, "-n", "2").stdout
    assert "results" in out and "COCOA" in out and "Categories:" in out and "By " in out
    assert "<b>" not in out  # highlights are rendered, not shown as HTML


def test_stats(corpus_index):
    stats = json.loads(newssearch("stats", "--index", corpus_index, "--json").stdout)
    assert stats["articles"] == 1804
    cats = {c["category"]: c["count"] for c in stats["categories"]}
    assert cats["sport"] == 80 and cats["World"] == 1
    assert stats["undated"] == 1804 - sum(y["count"] for y in stats["years"]) == 392
    assert stats["uncategorised"] == query_json(corpus_index, "")["facets"]["uncategorised"] > 0


def test_stats_for_people_hides_nothing_silently(corpus_index):
    stats = json.loads(newssearch("stats", "--index", corpus_index, "--json").stdout)
    out = newssearch("stats", "--index", corpus_index).stdout
    assert "undated (392)" in out and f"uncategorised ({stats['uncategorised']:,})" in out
    hidden = len(stats["categories"]) - 40
    assert f"… {hidden} more (--all lists every one)" in out
    every = newssearch("stats", "--index", corpus_index, "--all").stdout
    assert all(f"{c['category']} ({c['count']:,})" in every for c in stats["categories"]) and "more" not in every


def test_facets_count_the_uncategorised_and_undated(corpus_index):
    res = query_json(corpus_index, "strike", "-n", "100", "--no-fold")  # facets count articles, not stories
    assert res["total"] <= 100
    facets = res["facets"]
    assert facets["uncategorised"] == sum(1 for h in res["hits"] if not h["categories"]) > 0
    assert facets["undated"] == sum(1 for h in res["hits"] if not h["date"]) > 0
    assert facets["undated"] + sum(b["count"] for b in facets["dates"]) == res["total"]
    out = newssearch("query", "strike", "--index", corpus_index).stdout
    assert f"uncategorised ({facets['uncategorised']})" in out.split("Categories:")[1].splitlines()[0]
    everything = query_json(corpus_index, "")["facets"]
    assert everything["undated"] == 392
    assert "  undated  " in newssearch("query", "", "--index", corpus_index).stdout
