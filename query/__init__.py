"""Everything that reads: search, facets, articles (and related posts) from an index."""
from typing import TYPE_CHECKING

from newssearch.errors import QueryError
from newssearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from .archive import Archive, Hit, SearchResult
    from .sharded import ShardedArchive

__getattr__ = lazy_attributes(globals(), {"Archive": ".archive", "Hit": ".archive", "SearchResult": ".archive",
                                          "ShardedArchive": ".sharded"})
__all__ = ["Archive", "Hit", "SearchResult", "ShardedArchive", "QueryError"]
