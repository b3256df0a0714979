"""The HTTP API over real HTTP: `newssearch serve` on 127.0.0.1, started by the tests."""
from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from conftest import CORPUS, Server, newssearch, query_json
from newssearch.cli.server import RELOAD_CHECK_S


def _raw(server, request: bytes, timeout: float = 30) -> tuple[bytes, float]:
    """Send raw bytes on a new connection; (everything answered until the server closes, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end: what it answered is read below
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks), time.monotonic() - started


def _status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


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
    # typed, "pr" stands for its completions (prices, production…), all required with "oil"; as a finished
    # word it is just a word, and "oil" alone matches more
    assert 10 < typed["total"] < plain["total"]
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


@pytest.mark.parametrize("path,parameter", [
    ("/search?q=%E0%A4%A", "q"),  # truncated UTF-8 sequence
    ("/search?q=%FF", "q"),  # not UTF-8 once decoded
    ("/search?q=oil%zz%", "q"),  # not percent-encoding at all
    ("/search?q=oil&category=%C3%28", "category"),
    ("/suggest?q=%ff%fe", "q"),
    ("/articles/%zz", "article_id"),
    ("/articles/%FF/related", "article_id"),
])
def test_malformed_percent_encoding_is_a_400(server, path, parameter):
    """The README promises 400: decoding with U+FFFD in place would search for what was never asked."""
    status, body, headers = server.get(path)
    assert status == 400, body
    assert body["parameter"] == parameter and body["error"].startswith(f"{parameter}: not valid percent-encoding")


@pytest.mark.parametrize("path,status", [
    ("/search?q=%00%01%02oil", 200),  # control characters: valid UTF-8, read as spaces
    ("/search?q=%22unbalanced", 200),
    ("/search?q=AND%20OR%20(", 200),
    ("/search?q=title%3A", 200),
    ("/search?q=nosuchfield%3Aoil", 200),
    ("/suggest?q=%22oil%20(", 200),
    ("/search?q=caf%C3%A9+au+lait", 200),
])
def test_odd_but_valid_queries_are_answered(server, path, status):
    got, body, _ = server.get(path)
    assert got == status, body
    assert isinstance(body["total" if path.startswith("/search") else "completions"], (int, list))


def test_concurrent_requests_all_answer(server):
    paths = ["/search?" + urlencode({"q": q}) for q in ("oil", "coffee prices", "bank rates", "gold", "wheat")]
    paths += ["/suggest?q=ba", "/articles/reuters-21578:2", "/health"]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda p: server.get(p)[0], paths * 8))
    assert statuses == [200] * len(statuses)


def test_requests_beyond_the_pool_wait_their_turn(corpus_index, server):
    """One worker working on one request at a time: 16 clients at once are all answered, each as alone, one
    after the other: the times the server spent on them add up to no more than the time they all took (with
    requests worked on at once, each one's time would include the others' and the sum exceed it)."""
    srv = Server(corpus_index, "--workers", "1", "--threads", "1", "--cache-size", "0")
    try:
        queries = ("", "oil", "coffee prices", "bank rates")
        paths = ["/search?" + urlencode({"q": q, "interval": "month"}) for q in queries] * 8
        srv.get(paths[0])  # warm
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(srv.get, paths))
        wall_ms = (time.perf_counter() - started) * 1000
        assert [status for status, _, _ in answers] == [200] * len(paths)
        for path, (_, body, _) in zip(paths, answers):
            assert body["hits"] == server.get(path)[1]["hits"]
        busy_ms = sum(body["took_ms"] for _, body, _ in answers)
        assert busy_ms <= wall_ms, f"{busy_ms:.0f} ms of work in {wall_ms:.0f} ms: requests overlapped"
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


def test_the_page_and_answers_carry_security_headers(server):
    for path in ("/", "/search?q=oil", "/static/app.js", "/no/such/route"):
        _, _, headers = server.get(path)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    csp = server.get("/")[2]["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp and "default-src 'none'" in csp


def test_head_of_the_page(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("HEAD", "/")
        res = conn.getresponse()
        assert res.status == 200 and res.getheader("content-type").startswith("text/html")
        assert res.read() == b"" and int(res.getheader("content-length")) > 1000
    finally:
        conn.close()


def test_api_docs_need_no_cdn(server):
    """/docs and /redoc loaded their scripts from a CDN: removed; /openapi.json describes the API."""
    assert server.get("/docs")[0] == 404 and server.get("/redoc")[0] == 404
    status, spec, _ = server.get("/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    page = server.get("/")[1]["_text"]
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]*)"', page)), "the page loads nothing from elsewhere"


def test_hits_and_articles_do_not_expose_server_paths(server, corpus_index):
    body = server.get("/search?q=oil&limit=5")[1]
    assert body["hits"] and all("source" not in h for h in body["hits"])
    hit = body["hits"][0]
    article = server.get("/articles/" + quote(hit["id"], safe=""))[1]
    assert article["id"] == hit["id"] and "source" not in article
    assert str(corpus_index.parent) not in json.dumps(body) + json.dumps(article)
    assert all("source" not in t for t in server.get("/suggest?q=oil")[1]["titles"])


def test_a_huge_request_head_is_refused_as_it_arrives(server):
    answer, seconds = _raw(server, b"GET /search?q=oil HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 << 20) + b"\r\n\r\n")
    status, body = _status_and_json(answer)
    assert status == 431 and "64 KB" in body["error"]
    assert server.get("/health")[0] == 200  # and the worker goes on serving


def test_uvicorns_own_errors_are_json(server):
    status, body = _status_and_json(_raw(server, b"NOT HTTP AT ALL\r\n\r\n")[0])
    assert status == 400 and body["status"] == 400 and body["error"]


def test_slow_request_heads_are_cut_off(corpus_index):
    srv = Server(corpus_index, "--workers", "1", "--header-timeout", "1")
    try:
        answer, seconds = _raw(srv, b"GET /search?q=oil HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        status, body = _status_and_json(answer)
        assert status == 408 and 0.9 < seconds < 5
        answer, seconds = _raw(srv, b"")  # connects, sends nothing
        assert answer == b"" and 0.9 < seconds < 5
        assert srv.get("/health")[0] == 200
    finally:
        srv.stop()


def test_answers_never_go_back_across_workers(tmp_path):
    """Two workers while an index run commits batch after batch: each answer holds at least as many
    articles as the one before it, whichever worker gives it."""
    index = tmp_path / "index"
    newssearch("index", CORPUS / "bbc", "--index", index)
    srv = Server(index, "--workers", "2")
    exe = shutil.which("newssearch") or str(Path(sys.executable).with_name("newssearch"))
    try:
        proc = subprocess.Popen([exe, "index", str(CORPUS / "reuters"), "--index", str(index), "--batch-size", "50"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen = []
        while proc.poll() is None:
            seen.append(srv.get("/health")[1]["articles"])
        assert proc.wait() == 0, proc.stderr.read()
        seen.append(srv.get("/health")[1]["articles"])
        back = [(a, b) for a, b in zip(seen, seen[1:]) if b < a]
        assert not back, f"went back {len(back)} times in {len(seen)} answers: {back[:5]}"
        assert len(set(seen)) > 3  # commits were seen as they landed
    finally:
        srv.stop()
