"""The HTTP face: a JSON API (OpenAPI at /openapi.json) and the search page, each route a call into Archive.

Read-only: no route writes to the index. Routes are plain `def`s, so FastAPI runs them on a small pool of
threads per worker process (`THREADS`) and a slow query does not hold up the rest.
"""
from __future__ import annotations

import gc
import json
import os
import threading
from contextlib import asynccontextmanager
from collections import OrderedDict
import time
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from newssearch import __version__
from newssearch.cli.apimodels import Article as ApiArticle
from newssearch.cli.apimodels import (CategoryCount, Health, RelatedAnswer, SearchAnswer, SuggestAnswer,
                                      answers)
from newssearch.cli.httpguard import HEAD_TIMEOUT_S, PAGE_CSP, GuardedHttpToolsProtocol, GuardMiddleware
from newssearch.indexer.article import safe_url
from newssearch.errors import ArticleNotFound, IndexBusy, IndexUnusable, NewssearchError, QueryError
from newssearch.query.archive import MAX_LIMIT, SORTS, Archive
from newssearch.query.plain import plain
from newssearch.query.suggest import MAX_SUGGESTIONS

STATIC = Path(__file__).parent / "static"
# How often a request may look for a newer commit of the index: every request (one stat of meta.json).
# Then an answer never goes back across workers: once any worker has answered from a commit, the next
# request to any worker sees meta.json changed and reloads first (each looking once a second, two workers
# took turns showing the old and the new article count while an index run committed).
RELOAD_CHECK_S = 0.0
CACHE_SIZE = 4096  # answers kept per worker: a few KB each
# Requests each worker works on at once; the rest wait in line. Two keep the core busy (one thread's Python
# runs while the other's Tantivy call has released the GIL), and a slow request holds up only its own. Forty
# (anyio's default) share a core among all of them, so every request, a slow one most, takes several times
# its own time: bench/serve.py's no-cache p99 at 200k was 57 ms with --threads 40, 43 ms with 2.
THREADS = 2
WORKER_HEALTHCHECK_S = 60


class ResponseCache:
    """Answers to /search and /suggest by their exact parameters, least recently used out, all dropped when
    the index changes: a site's search box sends the same popular queries and the same typed prefixes over
    and over (Solr's queryResultCache, Elasticsearch's request cache)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        if not self.size:
            return None
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple, value: bytes) -> None:
        if not self.size:
            return
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class LiveArchive:
    """One Archive shared by every request, reloaded when an `index` run commits (meta.json changes)."""

    def __init__(self, index_dir: str | Path, cache_size: int = 0):
        self.cache = ResponseCache(cache_size)
        # A sharded archive's manifest is rewritten when an `index` run has written its shards.
        sharded = Path(index_dir) / "shards.json"
        self._meta = sharded if sharded.exists() else Path(index_dir) / "tantivy" / "meta.json"
        # The stamp before the open: a commit landing between the two is then seen as a change. Read after,
        # it would be taken for the state opened, and this worker would serve the old index until the next.
        self._stamp = self._meta_stamp()
        self.archive = Archive.open(index_dir)
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self.generation = 0  # reloads so far: answers are cached under the generation they were computed in

    def _meta_stamp(self) -> tuple:
        # Inode and size too: two commits within the clock's tick share an mtime, never a new file's inode.
        try:
            st = self._meta.stat()
        except OSError:
            return ()
        return st.st_mtime_ns, st.st_ino, st.st_size

    def get(self) -> Archive:
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            if self._meta_stamp() != self._stamp:
                with self._lock:
                    stamp = self._meta_stamp()
                    if stamp != self._stamp:
                        self._stamp = stamp
                        self.archive.reload()
                        self.generation += 1
                        self.cache.clear()
        return self.archive


# The library's errors (newssearch.errors) as HTTP answers: the one place they are mapped, most specific first.
HTTP_STATUS: tuple[tuple[type[NewssearchError], int], ...] = (
    (QueryError, 400), (ArticleNotFound, 404), (IndexBusy, 503), (IndexUnusable, 503))


def _library_error(_: Request, exc: NewssearchError) -> JSONResponse:
    status = next((code for cls, code in HTTP_STATUS if isinstance(exc, cls)), 500)
    parameter = exc.parameter if isinstance(exc, QueryError) else "article_id" if isinstance(
        exc, ArticleNotFound) else None
    return _error(status, str(exc), parameter)


def _dumps(data: Any) -> bytes:
    # Serialised here rather than by FastAPI's jsonable_encoder, which walks every value in Python and
    # cost more than the search itself (measured with bench/serve.py).
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _json(data: Any) -> Response:
    return Response(_dumps(data), media_type="application/json")


def _cached(live: LiveArchive, request: Request, compute) -> Response:
    """compute() -> dict, or the answer already given to the same parameters since the index last changed.
    A cached answer says so ("cached": true) and its took_ms is the lookup's."""
    started = time.perf_counter()
    archive = live.get()  # may reload the index, and so empty the cache, first
    # Keyed by generation too: an answer still being computed when another request reloads the index is
    # stored under the old generation, where no later request looks, not served as the new index's.
    key = (live.generation, request.url.path, tuple(sorted(request.query_params.multi_items())))
    found = live.cache.get(key)
    if found is None:
        answer = compute(archive)
        took_ms = answer.pop("took_ms", None) or round((time.perf_counter() - started) * 1000, 2)
        # Kept serialised, less its closing brace: one bytes object per answer is nothing for the garbage
        # collector to walk, where thousands of nested dicts made its full passes pause every worker for
        # tens of milliseconds (bench/serve.py's p99 was worse with the cache than without).
        found = _dumps(answer)[:-1]
        live.cache.put(key, found)
        return _closed(found, b"", took_ms)
    return _closed(found, b',"cached":true', round((time.perf_counter() - started) * 1000, 2))


def _closed(open_answer: bytes, extra: bytes, took_ms: float) -> Response:
    """A cached answer (serialised less its closing brace) with `extra` fields and its time, closed."""
    return Response(open_answer + extra + b',"took_ms":%s}' % str(took_ms).encode(), media_type="application/json")


def _error(status: int, message: str, parameter: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "status": status}
    if parameter:
        body["parameter"] = parameter
    return JSONResponse(body, status_code=status)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """A hit, headline or article as clients see it: without `source` (a path on this server) and with its
    url only if a page may link to it (an index built before URLs were checked may hold others)."""
    item.pop("source", None)
    if "url" in item:
        item["url"] = safe_url(item["url"])
    return item


def create_app(index_dir: str | Path, cors_origins: list[str] | None = None,
               cache_size: int = CACHE_SIZE, threads: int = THREADS) -> FastAPI:
    """The ASGI app serving the index at `index_dir` (raises IndexNotFound if there is none); cache_size
    answers to /search and /suggest are kept until the index changes (0: none); `threads` requests at most
    are worked on at once, the rest wait their turn."""
    live = LiveArchive(index_dir, cache_size)
    # No /docs or /redoc: FastAPI's load their scripts from a CDN (blank offline, unchecked code on our
    # origin). /openapi.json describes the API for any viewer or client generator.
    app = FastAPI(title="newssearch", version=__version__, lifespan=_lifespan(threads), docs_url=None,
                  redoc_url=None,
                  description="Search a news archive: ranked full-text search with facets, "
                              "search-as-you-type, articles and their related posts. Read-only.")
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET"],
                           allow_headers=["*"])
    app.add_middleware(GuardMiddleware)  # added last: outermost, so every answer gets its headers
    _add_error_handlers(app)
    _add_search_routes(app, live)
    _add_article_routes(app, live)
    _add_page(app)
    return app


def _lifespan(threads: int):
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        # What startup built (the app, its models, the modules) lives as long as the worker: out of the
        # garbage collector's full passes, which otherwise walk it again and again under load.
        gc.freeze()
        yield

    return lifespan


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answers as JSON: {"error", "status", "parameter"?}, never a traceback."""

    app.add_exception_handler(NewssearchError, _library_error)

    @app.exception_handler(RequestValidationError)
    def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path")]
        param = loc[0] if loc else None
        value = first.get("input")
        return _error(400, f"{param}: {value!r} is not valid ({first.get('msg', 'invalid')})", param)

    @app.exception_handler(StarletteHTTPException)
    def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never a traceback to the client; the server log has it.
        return _error(500, f"internal error ({type(exc).__name__})")


def _add_search_routes(app: FastAPI, live: LiveArchive) -> None:
    @app.get("/health", summary="Liveness and what is served", responses=answers(Health))
    def health() -> Response:
        archive = live.get()
        return _json({"status": "ok", "articles": len(archive), "version": __version__})

    @app.get("/search", summary="Ranked search with facets", responses=answers(SearchAnswer, 400))
    def search(
        request: Request,
        q: Annotated[str, Query(description="A question or keywords (misspellings corrected); +word and "
                                            "\"phrases\" must match, -exclude, AND/OR/NOT, "
                                            "title:/body:/author:/site:/category:")] = "",
        category: Annotated[list[str], Query(description="Category path or leaf name; repeat for any of")] = [],
        from_: Annotated[str | None, Query(alias="from", description="YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601")] = None,
        to: Annotated[str | None, Query(description="Inclusive: 1987-03 means through March")] = None,
        site: str | None = None,
        author: str | None = None,
        sort: Annotated[str, Query(description=" | ".join(SORTS))] = "relevance",
        page: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
        interval: Annotated[str | None, Query(description="month | year (default: from the span)")] = None,
        facets: bool = True,
        prefix: Annotated[bool, Query(description="search-as-you-type: the last word is a prefix")] = False,
        recency: Annotated[str | None, Query(description="half-life (30d, 2w, 6m, 1y): rank relevant-and-recent")] = None,
        fold: Annotated[bool, Query(description="one hit per story, its near-duplicates as copies")] = True,
    ) -> Response:
        if interval not in (None, "month", "year"):
            raise QueryError("interval", f"{interval!r} is not one of month, year")

        def compute(archive: Archive) -> dict:
            answer = archive.search(q, categories=category, date_from=from_, date_to=to, site=site,
                                    author=author, sort=sort, page=page, limit=limit, facets=facets,
                                    interval=interval, prefix=prefix, recency=recency, fold=fold).to_dict()
            answer["hits"] = [_public(h) for h in answer["hits"]]
            return answer

        return _cached(live, request, compute)

    @app.get("/suggest", summary="Search-as-you-type: completions and headlines",
             responses=answers(SuggestAnswer, 400))
    def suggest(request: Request, q: str = "",
                limit: Annotated[int, Query(description="completions", ge=0, le=MAX_SUGGESTIONS)] = 8,
                titles: Annotated[int, Query(description="headlines", ge=0, le=MAX_SUGGESTIONS)] = 5,
                ) -> Response:
        def compute(archive: Archive) -> dict:
            answer = plain(archive.suggest(q, limit=limit, titles=titles))
            answer["titles"] = [_public(t) for t in answer["titles"]]
            return answer

        return _cached(live, request, compute)

    @app.get("/categories", summary="Every category with its article count",
             responses=answers(list[CategoryCount]))
    def categories() -> Response:
        return _json([plain(c) for c in live.get().categories()])


def _add_article_routes(app: FastAPI, live: LiveArchive) -> None:
    # Ids are often URLs: the id is the rest of the path, percent-encoded by the client.
    @app.get("/articles/{article_id:path}/related", summary="Related posts of an article",
             responses=answers(RelatedAnswer, 400, 404))
    def related(article_id: str, k: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
                same_category: bool = False, since: str | None = None) -> Response:
        archive = live.get()
        try:
            hits = archive.related(article_id, k=k, same_category=same_category, since=since)
        except ArticleNotFound:
            if archive.article(article_id + "/related") is not None:
                return article(article_id + "/related")  # an id that itself ends in /related
            raise
        return _json({"id": article_id, "related": [_public(plain(h)) for h in hits]})

    @app.get("/articles/{article_id:path}", summary="One article", responses=answers(ApiArticle, 404))
    def article(article_id: str) -> Response:
        found = live.get().article(article_id)
        if found is None:
            raise ArticleNotFound(article_id)
        return _json(_public(found.to_dict()))


def _add_page(app: FastAPI) -> None:
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_CSP})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def app_from_env() -> FastAPI:
    """The app for one uvicorn worker process: the settings come from `serve` through the environment."""
    settings = json.loads(os.environ["NEWSSEARCH_SERVE"])
    return create_app(settings["index"], settings["cors_origins"], settings.get("cache_size", CACHE_SIZE),
                      settings.get("threads", THREADS))


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 8000,
          cors_origins: list[str] | None = None, workers: int = 1, cache_size: int = CACHE_SIZE,
          threads: int = THREADS, header_timeout_s: float = HEAD_TIMEOUT_S) -> None:
    """Run the app on uvicorn until interrupted. Several workers (processes) use several cores: Python
    holds one process to about one core, and bench/serve.py shows that is the bottleneck."""
    import uvicorn

    os.environ["NEWSSEARCH_SERVE"] = json.dumps({"index": str(index_dir), "cors_origins": cors_origins or [],
                                                 "cache_size": cache_size, "threads": threads,
                                                 "head_timeout_s": header_timeout_s})
    # uvicorn restarts a worker that leaves its health ping unanswered for timeout_worker_healthcheck (5 s by
    # default), dropping its connections: the first related-posts request loads the compiled kernel and
    # holds the GIL for about 5 s on a busy machine, so the worker was killed mid-request (found by
    # tests/test_api_fuzz.py). A hung worker is still replaced, after 60 s.
    uvicorn.run("newssearch.cli.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, http=GuardedHttpToolsProtocol,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
