"""Everything that reads: search, facets, articles (and related posts) from an index."""
from .archive import Archive, Hit, SearchResult
from .parse import QueryError

__all__ = ["Archive", "Hit", "SearchResult", "QueryError"]
