"""The embedding API: build_index and Archive, as the README shows them."""
from __future__ import annotations

import time

import pytest

from newssearch import Archive, QueryError, SearchResult, build_index
from conftest import CORPUS


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Archive:
    index = tmp_path_factory.mktemp("lib") / "index"
    report = build_index([CORPUS / "pages", CORPUS / "cms"], index)
    assert report.failed == 0 and report.added == report.total == 212  # 200 CMS posts + 8 HTML + 4 dumps
    return Archive.open(index)


def test_search_returns_typed_result(archive):
    started = time.perf_counter()
    res = archive.search("sanctions", sort="relevance", limit=3)
    wall_ms = (time.perf_counter() - started) * 1000
    assert isinstance(res, SearchResult)
    assert res.total >= 1 and len(res.hits) == min(3, res.total)
    assert res.hits[0].title == "United States to Lift Sudan Sanctions"
    assert res.facets is not None and 0 < res.took_ms <= wall_ms  # the search's own time, measured
    assert res.to_dict()["hits"][0]["id"] == res.hits[0].id


def test_article_by_id(archive):
    hit = archive.search('"peace talks"', limit=1).hits[0]
    article = archive.article(hit.id)
    assert article is not None and article.title == hit.title and article.date.year == 2025
    assert archive.article("no-such-id") is None


def test_cms_export_html_bodies_and_sections(archive):
    res = archive.search("", categories=["grain"], limit=100)
    assert res.total > 0 and all("grain" in h.categories for h in res.hits)
    assert "<p>" not in archive.article(res.hits[0].id).body


@pytest.mark.parametrize("kwargs,param", [
    ({"limit": 0}, "limit"), ({"limit": 1000}, "limit"), ({"page": 0}, "page"), ({"sort": "random"}, "sort"),
    ({"date_from": "yesterday"}, "from"), ({"date_from": "2020", "date_to": "2019"}, "from"),
    ({"categories": ["nope"]}, "category"), ({"q": "x" * 5000}, "q"), ({"page": 5000}, "page"),
])
def test_bad_parameters_raise_query_error(archive, kwargs, param):
    with pytest.raises(QueryError) as err:
        archive.search(**kwargs)
    assert err.value.parameter == param and str(err.value) == f"{param}: {err.value.message}"
