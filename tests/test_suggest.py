"""Search-as-you-type completes phrases the archive holds ("oil pr" -> "oil prices"), not words that merely
appear in the same articles ("oil president"), on the bundled corpus."""
from __future__ import annotations

import pytest

from newssearch import Archive


@pytest.fixture(scope="module")
def archive(corpus_index) -> Archive:
    return Archive.open(corpus_index)


def texts(archive: Archive, q: str) -> list[str]:
    return [c.text for c in archive.suggest(q, titles=0).completions]


def test_completes_what_people_type(archive):
    got = texts(archive, "oil pr")
    assert got[0] == "oil prices" and "oil production" in got
    assert not {"oil previous", "oil president"} & set(got)  # in articles about oil, never after "oil"
    assert texts(archive, "bank of en")[0] == "bank of england"
    assert texts(archive, "prime mi")[0] == "prime minister"
    assert texts(archive, "interest ra")[0] == "interest rates"
    assert texts(archive, "new y")[0] == "new york"  # one letter: candidates by frequency, kept by phrase


@pytest.mark.parametrize("q", ["oil pr", "crude oil pr", "bank of en", "wall st", "stock ma"])
def test_each_count_is_the_articles_holding_the_phrase(archive, q):
    completions = archive.suggest(q, titles=0).completions
    assert completions
    counts = [c.count for c in completions]
    assert counts == sorted(counts, reverse=True)
    for c in completions:
        assert c.text.startswith(q) and archive.search(f'"{c.text}"', facets=False).total == c.count > 0


def test_long_input_backs_off_to_the_last_words(archive):
    # the last two typed words and the completion make the phrase; earlier words must also be in the article
    (top, *_) = archive.suggest("opec crude oil pr", titles=0).completions
    assert top.text == "opec crude oil prices"
    assert top.count == archive.search('+opec +"crude oil prices"', facets=False).total > 0


def test_no_phrase_no_completion(archive):
    assert texts(archive, "oil zz") == []
    assert texts(archive, "cocoa ") == []  # nothing being typed


def test_one_word_completes_by_document_frequency(archive):
    completions = archive.suggest("pr", titles=0).completions
    assert [c.text for c in completions][:2] == ["president", "price"]
    # counted over the unstemmed words: a search (stemmed: "price" finds "prices") finds at least as many
    assert all(archive.search(c.text, facets=False).total >= c.count > 0 for c in completions)
