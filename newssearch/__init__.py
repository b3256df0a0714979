"""newssearch: full-text search over news archives, on Tantivy.

    from newssearch import Archive, build_index
    build_index(["corpus/"], "newssearch-index")
    result = Archive.open("newssearch-index").search("oil prices", categories=["crude"], sort="newest")
"""
from newssearch.indexer.article import Article, Problem
from newssearch.indexer.build import IndexReport, build_index
from newssearch.indexer.extract import extract
from newssearch.indexer.schema import IndexBusy, IndexNotFound
from newssearch.query.archive import Archive, Hit, SearchResult
from newssearch.query.parse import QueryError

__all__ = ["Archive", "Article", "Problem", "IndexReport", "build_index", "extract", "IndexBusy",
           "IndexNotFound", "Hit", "SearchResult", "QueryError"]
__version__ = "0.1.0"
