"""Everything that writes: read archives, extract articles, build the Tantivy index."""
from .article import Article, Problem
from .build import IndexReport, build_index
from .extract import extract

__all__ = ["Article", "Problem", "IndexReport", "build_index", "extract"]
