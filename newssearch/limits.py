"""Bounds and defaults the library and its faces (CLI, HTTP) share; a module of constants, so the CLI can
build its options without importing the index machinery. The README states each bound."""

SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 100  # hits (or related posts) per request
BATCH_SIZE = 5000  # articles per commit: a crash costs at most one batch of work
