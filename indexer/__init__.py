"""Everything that writes: read archives, extract articles, build the Tantivy index."""
from typing import TYPE_CHECKING

from newssearch.lazy import lazy_attributes

if TYPE_CHECKING:
    from .article import Article, Problem
    from .build import IndexReport, build_index
    from .extract import extract

__getattr__ = lazy_attributes(globals(), {"Article": ".article", "Problem": ".article", "IndexReport": ".build",
                                          "build_index": ".build", "extract": ".extract"})
__all__ = ["Article", "Problem", "IndexReport", "build_index", "extract"]
