"""newssearch: full-text search over news archives, on Tantivy.

    from newssearch import Archive, build_index
    build_index(["corpus/"], "newssearch-index")
    result = Archive.open("newssearch-index").search("oil prices", categories=["crude"], sort="newest")

Names are imported on first use, so `import newssearch` (and the CLI's start) stays light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from newssearch.errors import (ArticleNotFound, IndexBusy, IndexNotFound, IndexUnusable, NewssearchError,
                               QueryError)
from newssearch.lazy import lazy_attributes

_LAZY = {
    "Archive": "newssearch.query.archive", "Hit": "newssearch.query.archive",
    "SearchResult": "newssearch.query.archive",
    "Article": "newssearch.indexer.article", "Problem": "newssearch.indexer.article",
    "IndexReport": "newssearch.indexer.build", "build_index": "newssearch.indexer.build",
    "extract": "newssearch.indexer.extract",
}

if TYPE_CHECKING:
    from newssearch.indexer.article import Article, Problem
    from newssearch.indexer.build import IndexReport, build_index
    from newssearch.indexer.extract import extract
    from newssearch.query.archive import Archive, Hit, SearchResult


__getattr__ = lazy_attributes(globals(), _LAZY)

__all__ = ["Archive", "Article", "Problem", "IndexReport", "build_index", "extract", "Hit", "SearchResult",
           "NewssearchError", "IndexUnusable", "IndexNotFound", "IndexBusy", "QueryError", "ArticleNotFound"]
__version__ = "0.1.0"
