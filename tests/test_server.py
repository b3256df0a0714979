"""The HTTP API over real HTTP: `newssearch serve` on 127.0.0.1, started by the tests."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode

import pytest

from conftest import CORPUS, Server, newssearch, query_json
from newssearch.cli.server import RELOAD_CHECK_S


def test_health_and_openapi(server, corpus_index):
    status, body, headers = server.get("/health")
    assert status == 200 and body["status"] == "ok"
    assert body["articles"] == query_json(corpus_index, "")["total"]
    status, spec, _ = server.get("/openapi.json")
    assert status == 200
    assert {"/search", "/suggest", "/health", "/articles/{article_id}",
            "/articles/{article_id}/related"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert {"q", "category", "from", "to", "sort", "page", "limit"} <= params


def test_search_matches_the_library_and_cli(server, corpus_index):
    args = {"q": "oil prices", "category": "crude", "from": "1987-03", "sort": "newest", "limit": "5", "page": "2"}
    status, body, headers = server.get("/search?" + urlencode(args))
    assert status == 200 and headers["content-type"].startswith("application/json")
    cli = query_json(corpus_index, "oil prices", "-c", "crude", "--from", "1987-03", "--sort", "newest",
                     "-n", "5", "-p", "2")
    assert body["total"] == cli["total"] > 5
    assert [h["id"] for h in body["hits"]] == [h["id"] for h in cli["hits"]]
    assert body["facets"]["categories"] == cli["facets"]["categories"]
    assert body["facets"]["dates"] == cli["facets"]["dates"]
    hit = body["hits"][0]
    assert {"id", "title", "url", "date", "categories", "snippet"} <= set(hit)
    assert "<b>" in "".join(h["snippet"] for h in body["hits"])
    dates = [h["date"] for h in body["hits"]]
    assert dates == sorted(dates, reverse=True) and all(d >= "1987-03" for d in dates)


def test_repeated_queries_are_answered_from_the_cache(server, corpus_index):
    path = "/search?" + urlencode({"q": "coffee exports", "category": "coffee", "limit": "3"})
    # Two workers each keep their own cache: ask until both have answered it once.
    answers = [server.get(path)[1] for _ in range(6)]
    first, cached = answers[0], [a for a in answers if a.get("cached")]
    assert "cached" not in first and cached
    for a in cached:
        assert {k: v for k, v in a.items() if k not in ("cached", "took_ms")} == \
               {k: v for k, v in first.items() if k != "took_ms"}
    other = server.get("/search?" + urlencode({"q": "coffee exports", "category": "coffee", "limit": "4"}))[1]
    assert "cached" not in other and len(other["hits"]) == 4  # other parameters, another answer
    srv = Server(corpus_index, "--cache-size", "0", "--workers", "1")
    try:
        assert not any(srv.get(path)[1].get("cached") for _ in range(3))
    finally:
        srv.stop()


def test_repeated_category_means_any_of(server):
    one = server.get("/search?category=crude&facets=false")[1]["total"]
    two = server.get("/search?category=crude&category=coffee&facets=false")[1]["total"]
    coffee = server.get("/search?category=coffee&facets=false")[1]["total"]
    assert max(one, coffee) < two <= one + coffee


def test_suggest_completes_in_context(server):
    status, body, _ = server.get("/suggest?" + urlencode({"q": "oil pr"}))
    assert status == 200
    texts = [c["text"] for c in body["completions"]]
    assert texts and all(t.startswith("oil pr") for t in texts)
    assert "oil prices" in texts
    counts = [c["count"] for c in body["completions"]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    # Each count is the number of articles holding both words.
    top = body["completions"][0]
    assert server.get("/search?" + urlencode({"q": top["text"], "facets": "false"}))[1]["total"] >= top["count"]
    assert body["titles"] and all(t["id"] and t["title"] for t in body["titles"])
    empty = server.get("/suggest?q=")[1]
    assert empty["completions"] == [] and empty["titles"] == []


def test_prefix_search_follows_typing(server):
    plain = server.get("/search?" + urlencode({"q": "oil pr", "facets": "false"}))[1]
    typed = server.get("/search?" + urlencode({"q": "oil pr", "prefix": "true", "facets": "false"}))[1]
    assert plain["total"] == 0 and typed["total"] > 10
    assert server.get("/search?" + urlencode({"q": "oil prices", "prefix": "true"}))[1]["total"] >= \
        server.get("/search?" + urlencode({"q": "oil prices"}))[1]["total"]


def test_article_and_related(server):
    hits = server.get("/search?" + urlencode({"q": "coffee", "limit": "3", "facets": "false"}))[1]["hits"]
    article_id = hits[0]["id"]
    status, article, _ = server.get("/articles/" + quote(article_id, safe=""))
    assert status == 200 and article["id"] == article_id and len(article["body"]) > 100
    status, related, _ = server.get(f"/articles/{quote(article_id, safe='')}/related?k=4")
    assert status == 200 and related["id"] == article_id
    assert 0 < len(related["related"]) <= 4 and article_id not in [r["id"] for r in related["related"]]
    scores = [r["score"] for r in related["related"]]
    assert scores == sorted(scores, reverse=True)


def test_url_ids_with_slashes(server):
    hits = server.get("/search?" + urlencode({"q": "", "limit": "100", "sort": "newest", "facets": "false"}))[1]["hits"]
    url_ids = [h["id"] for h in hits if h["id"].startswith("http")]
    assert url_ids, "the corpus holds web pages whose ids are their URLs"
    for article_id in url_ids[:3]:
        status, article, _ = server.get("/articles/" + quote(article_id, safe=""))
        assert status == 200 and article["id"] == article_id
        status, related, _ = server.get("/articles/" + quote(article_id, safe="") + "/related?k=3")
        assert status == 200 and related["id"] == article_id


BAD_REQUESTS = [
    ("/search?" + urlencode({"q": "x" * 10_000}), 400, "q"),
    ("/search?page=-1", 400, "page"),
    ("/search?page=0", 400, "page"),
    ("/search?page=abc", 400, "page"),
    ("/search?page=99999999999999999999999", 400, "page"),
    ("/search?limit=1000000", 400, "limit"),
    ("/search?limit=0", 400, "limit"),
    ("/search?category=no-such-category", 400, "category"),
    ("/search?from=32/13/2025", 400, "from"),
    ("/search?to=10000-01-01", 400, "to"),
    ("/search?from=1988&to=1987", 400, None),
    ("/search?sort=best", 400, "sort"),
    ("/search?interval=week", 400, "interval"),
    ("/search?facets=maybe", 400, "facets"),
    ("/suggest?limit=1000", 400, "limit"),
    ("/suggest?" + urlencode({"q": "y" * 10_000}), 400, "q"),
    ("/articles/no-such-article", 404, "article_id"),
    ("/articles/no-such-article/related", 404, "article_id"),
    ("/articles/reuters-21578:2/related?k=0", 400, "k"),
    ("/articles/reuters-21578:2/related?since=yesterday", 400, "since"),
    ("/no/such/route", 404, None),
]


@pytest.mark.parametrize("path,status,parameter", BAD_REQUESTS)
def test_bad_input_is_a_clear_4xx(server, path, status, parameter):
    got, body, headers = server.get(path)
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert body["error"] and "Traceback" not in body["error"]
    if parameter:
        assert body["parameter"] == parameter
        assert body["error"].startswith(parameter) if status == 400 else "no article" in body["error"]


@pytest.mark.parametrize("path", [
    "/search?q=%E0%A4%A",  # truncated UTF-8 sequence
    "/search?q=%zz%",  # not percent-encoding at all
    "/search?q=%00%01%02oil",  # control characters
    "/search?q=%22unbalanced",
    "/search?q=AND%20OR%20(",
    "/search?q=title%3A",
    "/search?q=nosuchfield%3Aoil",
    "/suggest?q=%ff%fe",
    "/suggest?q=%22oil%20(",
    "/articles/%zz",
])
def test_malformed_input_never_fails_the_server(server, path):
    status, body, _ = server.get(path)
    assert status in (200, 404), body
    assert "error" not in body or "Traceback" not in body["error"]


def test_concurrent_requests_all_answer(server):
    paths = ["/search?" + urlencode({"q": q}) for q in ("oil", "coffee prices", "bank rates", "gold", "wheat")]
    paths += ["/suggest?q=ba", "/articles/reuters-21578:2", "/health"]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda p: server.get(p)[0], paths * 8))
    assert statuses == [200] * len(statuses)


def test_requests_beyond_the_pool_wait_their_turn(corpus_index, server):
    """One worker working on one request at a time: 16 clients at once are all answered, each as alone."""
    srv = Server(corpus_index, "--workers", "1", "--threads", "1", "--cache-size", "0")
    try:
        paths = ["/search?" + urlencode({"q": q}) for q in ("oil", "coffee prices", "bank rates", "gold")] * 8
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(srv.get, paths))
        assert [status for status, _, _ in answers] == [200] * len(paths)
        for path, (_, body, _) in zip(paths, answers):
            assert body["hits"] == server.get(path)[1]["hits"]
    finally:
        srv.stop()


def test_cors_only_for_the_configured_origin(corpus_index):
    srv = Server(corpus_index, "--cors-origin", "https://news.example")
    try:
        _, _, headers = srv.get("/search?q=oil", {"Origin": "https://news.example"})
        assert headers.get("access-control-allow-origin") == "https://news.example"
        _, _, headers = srv.get("/search?q=oil", {"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in headers
    finally:
        srv.stop()


def test_a_commit_during_a_workers_start_is_not_missed(tmp_path, monkeypatch):
    """A worker that opens the index while an `index` run commits must still reload afterwards."""
    from newssearch import build_index
    from newssearch.cli import server

    index = tmp_path / "index"
    build_index([CORPUS / "bbc"], index)
    opened = server.Archive.open

    def open_then_commit(path):
        archive = opened(path)
        build_index([CORPUS / "reuters"], index)  # commits after the open, before the worker serves
        return archive

    monkeypatch.setattr(server.Archive, "open", open_then_commit)
    monkeypatch.setattr(server, "RELOAD_CHECK_S", 0.0)
    live = server.LiveArchive(index)
    assert live.get().search("coffee", facets=False).total > 0


def test_an_answer_computed_across_a_reload_is_not_served_after_it(tmp_path, monkeypatch):
    """A request that began on the old index and finishes after another request reloaded it must not leave
    its answer in the cache for the new index."""
    from starlette.requests import Request

    from newssearch import build_index
    from newssearch.cli import server

    index = tmp_path / "index"
    build_index([CORPUS / "bbc"], index)
    monkeypatch.setattr(server, "RELOAD_CHECK_S", 0.0)
    live = server.LiveArchive(index, cache_size=16)
    request = Request({"type": "http", "method": "GET", "path": "/search", "query_string": b"q=coffee",
                       "headers": []})

    def across_a_reload(archive):
        total = archive.search("coffee", facets=False).total  # the old index: no coffee
        build_index([CORPUS / "reuters"], index)
        live.get()  # meanwhile another request sees the commit and reloads
        return {"total": total}

    def now(archive):
        return {"total": archive.search("coffee", facets=False).total}

    assert json.loads(server._cached(live, request, across_a_reload).body)["total"] == 0
    assert json.loads(server._cached(live, request, now).body)["total"] > 0


def test_serve_sees_new_commits(tmp_path):
    index = tmp_path / "index"
    newssearch("index", CORPUS / "bbc", "--index", index)
    srv = Server(index)
    try:
        before = srv.get("/health")[1]["articles"]
        assert srv.get("/search?q=coffee&facets=false")[1]["total"] == 0
        newssearch("index", CORPUS / "reuters", "--index", index)
        deadline = time.monotonic() + 10
        while srv.get("/search?q=coffee&facets=false")[1]["total"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        # One worker has seen the commit; each looks at most once a second, on its next request after that.
        time.sleep(RELOAD_CHECK_S + 0.5)
        assert all(srv.get("/search?q=coffee&facets=false")[1]["total"] > 0 for _ in range(6))
        assert srv.get("/health")[1]["articles"] > before
        assert srv.get("/search?category=coffee&facets=false")[0] == 200  # categories re-read too
    finally:
        srv.stop()


def test_serve_without_an_index_says_so(tmp_path):
    proc = newssearch("serve", "--index", tmp_path / "missing", check=False)
    assert proc.returncode != 0 and "no index at" in proc.stderr


def test_the_page_and_its_assets_are_served(server):
    status, body, headers = server.get("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'role="search"' in body["_text"] and "/static/app.js" in body["_text"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert server.get(asset)[0] == 200
