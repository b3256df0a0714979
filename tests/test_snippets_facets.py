"""Snippets (our own highlighter) and the date histogram's calendar periods, on small crafted inputs."""
from __future__ import annotations

import json
from pathlib import Path

from newssearch import Archive, build_index
from newssearch.query.snippets import QueryTerms


def test_snippet_highlights_every_form_of_the_terms():
    body = "Happiness rose. Prices were priced at a happy price, said the Price Commission."
    html = QueryTerms.of("happy prices").snippet(body, 240)
    for word in ("Happiness", "Prices", "priced", "happy", "price", "Price"):
        assert f"<b>{word}</b>" in html
    assert "<b>said</b>" not in html and html.count("<b>") == 6


def test_snippet_leaves_out_negated_and_other_field_terms():
    body = "Oil prices fell as the bank cut rates; the bank's chief spoke."
    html = QueryTerms.of('oil -bank title:rates NOT chief author:"Jane Doe"').snippet(body, 240)
    assert "<b>Oil</b>" in html
    for word in ("bank", "rates", "chief", "Jane"):
        assert f"<b>{word}" not in html


def test_snippet_is_escaped_and_shows_the_window_with_most_terms():
    filler = "Nothing to see in this sentence at all. " * 20
    body = f"Gold <rose> early. {filler}Gold and silver & copper rallied together. {filler}"
    html = QueryTerms.of("gold silver copper").snippet(body, 120)
    assert "<b>Gold</b> and <b>silver</b> &amp; <b>copper</b> rallied" in html
    assert html.startswith("… ") and html.endswith(" …")
    assert len(html.replace("<b>", "").replace("</b>", "")) < 140
    assert "&lt;rose&gt;" in QueryTerms.of("gold").snippet(body, 60)


def test_snippet_is_empty_without_a_body_match():
    assert QueryTerms.of("zebra").snippet("Nothing about it here.", 240) == ""
    assert QueryTerms.of("").snippet("Anything.", 240) == ""
    assert QueryTerms.of("-zebra").snippet("A zebra.", 240) == ""


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_histogram_counts_dates_outside_the_years_first_read(tmp_path):
    """The periods are set out from the archive's years, read once: an article from a later commit, dated
    outside them, is still counted (and the interval follows the new span)."""
    index = tmp_path / "index"
    _jsonl(tmp_path / "a.jsonl", [{"id": f"a{i}", "title": f"Harbour report {i}", "date": f"1987-0{i}-02",
                                   "text": "The harbour reopened after the storm."} for i in range(1, 4)])
    build_index([tmp_path / "a.jsonl"], index)
    archive = Archive.open(index)
    first = archive.search("harbour")
    assert first.facets.date_interval == "month"
    assert [(b.start, b.count) for b in first.facets.dates] == [("1987-01", 1), ("1987-02", 1), ("1987-03", 1)]

    _jsonl(tmp_path / "b.jsonl", [{"id": "b1", "title": "Harbour rebuilt", "date": "2020-06-01",
                                   "text": "The harbour was rebuilt."}])
    build_index([tmp_path / "b.jsonl"], index)
    archive.index.reload()  # the reader sees the commit; the archive's years are still 1987's
    later = archive.search("harbour")
    assert later.facets.date_interval == "year"
    years = {b.start: b.count for b in later.facets.dates}
    assert (years["1987"], years["2020"], years["2000"], len(years)) == (3, 1, 0, 34)
    narrow = archive.search("harbour", date_from="2020")  # the histogram ignores the date filter
    assert sum(b.count for b in narrow.facets.dates) == 4
    months = archive.search("rebuilt").facets  # narrow matches in a wide archive: monthly
    assert months.date_interval == "month" and [(b.start, b.count) for b in months.dates] == [("2020-06", 1)]
    assert archive.search("rebuilt", interval="year").facets.dates[0].start == "2020"


def test_undated_from_the_search_count_equals_the_value_counts(corpus_index):
    """The facets' fast path (the page's own count less the histogram's dated ones) counts the undated
    as the two value-count aggregations it replaces do, the corpus's 392 undated BBC articles included."""
    from newssearch.query.facets import facets

    archive = Archive.open(corpus_index)
    searcher = archive.searcher()
    for q in ("", "oil prices", "film", "election labour", "music awards"):
        query = archive.queries.build(q, searcher).query
        total = searcher.search(query, limit=1).count
        fast = facets(searcher, archive._dates, query, query, None, total)
        assert fast == facets(searcher, archive._dates, query, query, None), q
        assert fast.undated > 0 or q, q
