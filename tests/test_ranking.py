"""Query semantics: questions degrade gracefully, constraints still constrain, typos are forgiven, recency."""
from __future__ import annotations

import json
import re
import time

import pytest

from conftest import needs_shared, newssearch, query_json
from newssearch import Archive, build_index


@pytest.fixture(scope="module")
def archive(corpus_index) -> Archive:
    return Archive.open(corpus_index)


def _text(archive: Archive, hit_id: str) -> str:
    a = archive.article(hit_id)
    return f"{a.title}\n{a.body}".lower()


def test_a_long_question_finds_its_article(archive):
    # Reuters 1: "BAHIA COCOA REVIEW" (showers in the Bahia cocoa zone, the temporao crop). As AND, a
    # question this long matches nothing.
    res = archive.search("What did the showers in the Bahia cocoa zone mean for the temporao crop this year?")
    assert res.total > 1
    assert res.hits[0].id == "reuters-21578:1"
    assert not res.warnings


def test_question_stopwords_do_not_decide_the_ranking(archive):
    asked = archive.search("what is the latest on the price of coffee in brazil", limit=5)
    keywords = archive.search("latest price coffee brazil", limit=5)
    assert [h.id for h in asked.hits] == [h.id for h in keywords.hits]


def test_keywords_match_as_and_when_that_fills_a_page_else_any_word_after_them(archive):
    both = archive.search("oil AND prices", limit=1).total
    res = archive.search("oil prices", limit=100)
    assert res.total == both > 10  # a page's worth hold both words: only they match, as an AND would
    assert all("oil" in (t := _text(archive, h.id)) and "pric" in t for h in res.hits)
    # "gold mine": 8 articles hold both, too few for a page, so articles with one word follow them
    few = archive.search("gold AND mine", limit=1).total
    res = archive.search("gold mine", limit=50, fold=False)
    assert 0 < few < 10 < res.total
    held = ["gold" in (t := _text(archive, h.id)) and "mine" in t for h in res.hits]
    assert all(held[:few])

def test_more_of_the_words_rank_higher(archive):
    # Five words: any may match, but the articles holding most of them come first.
    res = archive.search("coffee quota talks brazil producers", limit=20)
    words = ("coffee", "quota", "talk", "brazil", "producer")
    held = [sum(w in _text(archive, h.id) for w in words) for h in res.hits]
    assert held[0] == 5
    assert sum(held[:5]) / 5 > sum(held[-5:]) / 5
    assert res.total > len(res.hits)


def test_the_bonus_goes_to_exactly_the_articles_holding_enough_of_the_words(archive):
    # The bonus query is built as a union of intersections (2 of 3 words, 3 of 4), for speed: it must match
    # what "at least n-1 of the n words" means, a minimum-should-match union.
    import tantivy

    from newssearch.query.textquery import _Word, analyse

    builder, searcher = archive.queries, archive.searcher()

    def addresses(query):
        return {(a.segment_ord, a.doc) for _, a in searcher.search(query, limit=searcher.num_docs).hits}

    for text in ("oil prices opec", "coffee quota talks brazil"):
        words = [_Word(w, analyse(w)) for w in text.split()]
        enough = len(words) - 1
        held = [(tantivy.Occur.Should, builder._held(w)) for w in words]
        expected = addresses(tantivy.Query.boolean_query(held, minimum_number_should_match=enough))
        any_word = addresses(tantivy.Query.boolean_query(held))
        assert 10 < len(expected) < len(any_word)
        assert addresses(builder._most(words, enough)) == expected


def test_a_query_comes_back_empty_only_when_no_word_matches(archive):
    res = archive.search("cocoa zanzibarian")  # the second word is in no article and too far from any
    assert res.total == archive.search("cocoa").total > 0
    assert archive.search("zanzibarian quixotically").total == 0
    # a required phrase that matches nothing falls back to its words, and says so
    res = archive.search('"cocoa zanzibarian" prices')
    assert res.total > 0 and any("some of the words" in w for w in res.warnings)


def test_plus_minus_and_phrases_still_constrain(archive):
    res = archive.search("+opec -saudi output", limit=100)
    assert res.total > 3
    for h in res.hits:
        text = _text(archive, h.id)
        assert "opec" in text and "saudi" not in text
    phrase = archive.search('"crude oil" prices', limit=100)
    assert phrase.total > 3
    assert all("crude oil" in re.sub(r"\s+", " ", _text(archive, h.id)) for h in phrase.hits)
    formula = archive.search("coffee AND (brazil OR colombia) NOT quota", limit=100)
    assert formula.total > 0
    for h in formula.hits:
        text = _text(archive, h.id)
        assert "coffee" in text and ("brazil" in text or "colombia" in text) and "quota" not in text


def test_a_misspelt_word_finds_the_articles_below_exact_matches(archive):
    exact = archive.search("government spending", limit=10)
    typo = archive.search("goverment spending", limit=10)
    assert typo.did_you_mean == "government spending"
    assert exact.did_you_mean is None
    assert typo.total >= exact.total  # the corrections (government, governments…) find as much
    assert len({h.id for h in typo.hits} & {h.id for h in exact.hits}) >= 6
    assert "<b>government</b>" in " ".join(h.snippet for h in typo.hits).lower()
    # both words typed right rank above a corrected one: the corrected word counts less
    assert typo.hits[0].score < exact.hits[0].score


def test_typos_are_bounded_by_word_length(archive):
    assert archive.search("brazl").did_you_mean == "brazil"  # 5 letters: one edit
    assert archive.search("goverrnmnt").did_you_mean == "government"  # 10 letters: two edits
    assert archive.search("oli").did_you_mean is None  # under 5 letters: taken as typed
    # never inside a phrase or a field
    phrase = archive.search('"goverment spending"', limit=100)  # matches nothing, falls back to its words…
    assert phrase.did_you_mean is None
    texts = [_text(archive, h.id) for h in phrase.hits]
    assert texts and not any("government" in t and "spend" not in t for t in texts)  # …taken as typed
    assert archive.search("title:goverment").total == 0


def test_phrase_slop_is_bounded(archive):
    started = time.perf_counter()
    res = archive.search('"the of to and a in said for on it is that s by mln with at from be was"~100000')
    assert time.perf_counter() - started < 2
    assert any("slop" in w for w in res.warnings)


def test_recency_ranks_relevant_and_recent(archive):
    plain = archive.search("oil prices", limit=10)
    recent = archive.search("oil prices", limit=10, recency="2d")
    assert recent.total == plain.total
    assert [h.id for h in recent.hits] != [h.id for h in plain.hits]
    newest = lambda hits: sorted(h.date for h in hits if h.date)[-1]  # noqa: E731
    assert recent.hits[0].date >= sorted(h.date for h in plain.hits)[len(plain.hits) // 2]
    assert newest(recent.hits) >= newest(plain.hits)
    with pytest.raises(ValueError, match="recency"):
        archive.search("oil", recency="soon")


def test_a_made_up_title_is_shown_but_not_searched(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "x1", "body": "Walruses gather on the beach. The colony grew."}) + "\n"
                   + json.dumps({"id": "x2", "title": "Walruses", "body": "Walruses gather on ice floes."}) + "\n")
    build_index([src], tmp_path / "idx", workers=1)
    archive = Archive.open(tmp_path / "idx")
    assert archive.article("x1").title == "Walruses gather on the beach."
    assert [h.id for h in archive.search("title:walruses").hits] == ["x2"]
    assert {h.id for h in archive.search("walruses").hits} == {"x1", "x2"}


def test_cli_says_did_you_mean_and_takes_recency(corpus_index):
    out = newssearch("query", "goverment", "--index", corpus_index, "-n", "1").stdout
    assert "Did you mean: government?" in out
    res = query_json(corpus_index, "oil", "--recency", "30d", "-n", "3")
    assert res["did_you_mean"] is None and len(res["hits"]) == 3


def _smart_queries(path) -> list[str]:
    """The `.W` text of each record of a SMART query file."""
    return [" ".join(m.group(1).split()) for m in
            re.finditer(r"^\.W\n(.*?)(?=^\.[A-Z]\b|\Z)", path.read_text(encoding="latin-1"), re.M | re.S)]


@pytest.mark.parametrize("name,docs,queries", [("med", "MED.ALL", "MED.QRY"), ("cran", "cran.all", "cran.qry")])
def test_no_dev_query_comes_back_empty(tmp_path, name, docs, queries):
    root = needs_shared("relevance", name)
    records = re.split(r"^\.I ", (root / docs).read_text(encoding="latin-1"), flags=re.M)[1:]
    src = tmp_path / "docs.jsonl"
    with src.open("w") as f:
        for rec in records:
            rid, _, rest = rec.partition("\n")
            f.write(json.dumps({"id": rid.strip(), "body": rest}) + "\n")
    build_index([src], tmp_path / "idx", workers=1)
    archive = Archive.open(tmp_path / "idx")
    asked = _smart_queries(root / queries)
    assert len(asked) > 25
    empty = [q for q in asked if archive.search(q, limit=1, facets=False).total == 0]
    assert not empty
